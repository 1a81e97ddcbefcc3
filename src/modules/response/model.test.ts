import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext, type RequestContext } from '#platform/context/index.js';
import { isAppError } from '#platform/errors/index.js';
import type { Core } from '#server/core.js';
import { createResponseService, type ResponseService } from './service.js';
import type { EmergencyRecorder, MeasureAuthorizer, MeasureSubmitter } from './ports.js';
import type { cast} from './test-support/fixtures.js';
import { responseCore } from './test-support/fixtures.js';

// Model-based test of the measure state machine: the real service on SQLite, the real Cedar policy,
// and a scripted oversight the commands drive (grant, expire, revoke, emergency review denied). Commands
// run in any order; whatever the order, no measure reaches `executing` without an approval or an open
// emergency review, none executes by the SDF without a PM order, none abroad without the MOFA record.

/** Oversight as the commands script it. */
class ScriptedOversight implements MeasureAuthorizer, MeasureSubmitter, EmergencyRecorder {
  /** measureId → the approval's agency and whether it is still in force. */
  readonly approvals = new Map<string, { id: string; agency: string; live: boolean }>();
  readonly emergencies = new Map<string, { id: string; agency: string; open: boolean }>();
  /** Every approval id ever granted per measure (a later grant replaces the one in force). */
  readonly granted = new Map<string, Set<string>>();
  private n = 0;
  async authorizationFor(_ctx: RequestContext, measureId: string) {
    const a = this.approvals.get(measureId);
    if (a?.live === true) return { approvalId: a.id, kind: 'prior' as const, conditions: [], agency: a.agency };
    const e = this.emergencies.get(measureId);
    if (e?.open === true) return { approvalId: e.id, kind: 'emergency' as const, conditions: [], agency: e.agency };
    return undefined;
  }
  async submit() { return { requestId: `req-${++this.n}` }; }
  async actFirst(_ctx: RequestContext, m: { measureId: string; agency: string }) {
    const id = `em-${++this.n}`;
    this.emergencies.set(m.measureId, { id, agency: m.agency, open: true });
    return { emergencyActionId: id, reviewDeadline: '2026-04-04T00:00:00.000Z' };
  }
  grant(measureId: string, agency: string) {
    const id = `ap-${++this.n}`;
    this.approvals.set(measureId, { id, agency, live: true });
    this.granted.set(measureId, (this.granted.get(measureId) ?? new Set<string>()).add(id));
  }
}

interface ModelMeasure { id: string; agency: 'police' | 'sdf'; abroad: boolean; groundsOk: boolean; consulted: boolean; ordered: boolean }
interface Model { measures: ModelMeasure[] }
interface Real { svc: ResponseService; oversight: ScriptedOversight; people: ReturnType<typeof cast>; ran: Map<string, number>; executed: { total: number } }

async function attempt(r: Real, name: string, p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    r.ran.set(`${name}:ok`, (r.ran.get(`${name}:ok`) ?? 0) + 1);
    return true;
  } catch (e) {
    if (!isAppError(e) || !['CONFLICT', 'FORBIDDEN'].includes(e.code)) throw e;
    r.ran.set(`${name}:refused`, (r.ran.get(`${name}:refused`) ?? 0) + 1);
    return false;
  }
}

type Cmd = fc.AsyncCommand<Model, Real>;
// Indices count from the newest measure, so a run works a few measures through many steps.
const pick = (m: Readonly<Model>, i: number): ModelMeasure | undefined => m.measures.length === 0 ? undefined : m.measures[m.measures.length - 1 - (i % m.measures.length)];
const base = (name: string, run: (m: Model, r: Real) => Promise<void>): Cmd => ({ check: () => true, run, toString: () => name });

const propose = (agency: 'police' | 'sdf', abroad: boolean, groundsOk: boolean): Cmd => base(`Propose(${agency},${abroad},${groundsOk})`, async (m, r) => {
  const created = await r.svc.proposeMeasure(r.people.analyst, {
    kind: 'dns_sinkhole', title: 'Sinkhole', target: { domains: [`c${m.measures.length}.bad.example`] }, justification: { findings: ['f'], reports: [], summary: 's' },
    expectedEffect: 'e', agency, targetCountry: abroad ? 'US' : 'JP',
    ...(agency === 'sdf' ? { sdfGrounds: { graveTarget: { kind: 'specified_important_computer', reference: 'SIC-1' }, attackerAssessment: groundsOk ? 'state_backed' : 'criminal', reasons: 'r' } } : {}),
  });
  m.measures.push({ id: created.id, agency, abroad, groundsOk: agency === 'police' || groundsOk, consulted: false, ordered: false });
});
const onMeasure = (name: string, i: number, run: (x: ModelMeasure, r: Real) => Promise<void>): Cmd => base(`${name}(${i})`, async (m, r) => {
  const x = pick(m, i);
  if (x !== undefined) await run(x, r);
});

// Steps on the way to execution are listed twice, so runs reach execution often (and refusals still happen).
const submitCmd = fc.nat(2).map((i) => onMeasure('Submit', i, async (x, r) => { await attempt(r, 'submit', r.svc.submitMeasure(r.people.director, x.id, { reason: 'r' })); }));
const grantCmd = fc.tuple(fc.nat(2), fc.constantFrom(true, true, true, false)).map(([i, right]) => onMeasure('Grant', i, async (x, r) => { r.oversight.grant(x.id, right ? x.agency : x.agency === 'police' ? 'sdf' : 'police'); }));
const commands = fc.commands([
  submitCmd, grantCmd,
  fc.tuple(fc.constantFrom<'police' | 'sdf'>('police', 'sdf'), fc.constantFrom(false, false, true), fc.constantFrom(true, true, false)).map(([a, b, g]) => propose(a, b, g)),
  submitCmd,
  // The commission approves, sometimes naming the wrong agency (that approval must not count).
  grantCmd,
  fc.nat(2).map((i) => onMeasure('Expire', i, async (x, r) => { const a = r.oversight.approvals.get(x.id); if (a !== undefined) a.live = false; })),
  fc.nat(2).map((i) => onMeasure('Revoke', i, async (x, r) => {
    const a = r.oversight.approvals.get(x.id);
    if (a === undefined) return;
    a.live = false;
    await r.svc.haltMeasure(systemContext('oversight'), x.id, 'approval revoked');
  })),
  fc.nat(2).map((i) => onMeasure('DenyReview', i, async (x, r) => {
    const e = r.oversight.emergencies.get(x.id);
    if (e === undefined) return;
    e.open = false;
    await r.svc.haltMeasure(systemContext('oversight'), x.id, 'emergency action denied by the commission');
  })),
  fc.nat(2).map((i) => onMeasure('Order', i, async (x, r) => { if (await attempt(r, 'order', r.svc.orderMeasure(r.people.pm, x.id, { reference: 'PMO', reason: 'r' }))) x.ordered = true; })),
  fc.nat(2).map((i) => onMeasure('Order', i, async (x, r) => { if (await attempt(r, 'order', r.svc.orderMeasure(r.people.pm, x.id, { reference: 'PMO', reason: 'r' }))) x.ordered = true; })),
  fc.nat(2).map((i) => onMeasure('Consult', i, async (x, r) => { if (await attempt(r, 'consult', r.svc.recordConsultation(r.people.mofa, x.id, { reference: 'M', outcome: 'no_objection', summary: 's' }))) x.consulted = true; })),
  fc.tuple(fc.nat(2), fc.constantFrom('police', 'police', 'sdf')).map(([i, who]) => onMeasure(`Execute-${who}`, i, async (x, r) => {
    const auth = await r.oversight.authorizationFor(r.people.police, x.id);
    if (await attempt(r, 'execute', r.svc.executeMeasure(who === 'police' ? r.people.police : r.people.sdf, x.id, { reason: 'r' }))) {
      r.executed.total += 1;
      expect(auth?.agency, 'executed without an approval for its agency').toBe(x.agency);
      expect(auth?.kind).toBe('prior');
      expect(who).toBe(x.agency);
      if (x.agency === 'sdf') expect(x.ordered && x.groundsOk, 'SDF execution without a PM order or its conditions').toBe(true);
      if (x.abroad) expect(x.consulted, 'execution abroad without the MOFA record').toBe(true);
    }
  })),
  fc.nat(2).map((i) => onMeasure('Emergency', i, async (x, r) => {
    if (await attempt(r, 'emergency', r.svc.actFirst(r.people.police, x.id, { reason: 'r' }))) {
      r.executed.total += 1;
      expect(r.oversight.emergencies.get(x.id)?.open, 'emergency execution without an open review').toBe(true);
      expect(x.agency).toBe('police');
      if (x.abroad) expect(x.consulted).toBe(true);
    }
  })),
  fc.tuple(fc.nat(2), fc.boolean()).map(([i, ok]) => onMeasure('Complete', i, async (x, r) => { await attempt(r, 'complete', r.svc.completeMeasure(x.agency === 'police' ? r.people.police : r.people.sdf, x.id, { outcome: ok ? 'executed' : 'failed', reason: 'r' })); })),
], { maxCommands: 40, size: 'max' });

async function checkInvariants(m: Model, r: Real): Promise<void> {
  for (const x of m.measures) {
    const real = await r.svc.getMeasure(r.people.director, x.id);
    const started = real.events.find((e) => e.to === 'executing');
    if (started !== undefined) {
      expect(['execute', 'act-emergency']).toContain(started.transition);
      expect(real.authorization).not.toBeNull();
      const granted = started.transition === 'execute' ? [...(r.oversight.granted.get(x.id) ?? [])] : [r.oversight.emergencies.get(x.id)?.id];
      expect(granted, 'the execution names the approval or emergency action it ran under').toContain(real.approvalId);
      if (real.agency === 'sdf') {
        expect(real.order, 'SDF execution without a recorded PM order').not.toBeNull();
        expect(real.events.findIndex((e) => e.transition === 'order')).toBeLessThan(real.events.indexOf(started));
      }
      if (real.location.abroad) expect(real.consultations.length, 'execution abroad without the MOFA record').toBeGreaterThan(0);
    } else {
      expect(['executing', 'executed', 'failed'], `${real.state} without an execution`).not.toContain(real.state);
    }
  }
  // Artifacts carry only measures whose authority is in force now.
  for (const inForce of await r.svc.measuresInForce(r.people.police)) {
    expect(await r.oversight.authorizationFor(r.people.police, inForce.id)).toBeDefined();
    expect(['executing', 'executed']).toContain(inForce.state);
  }
}

describe('measure state machine (model-based)', () => {
  let core: Core;
  let real: Real;
  beforeAll(async () => {
    const c = await responseCore();
    core = c.core;
    const oversight = new ScriptedOversight();
    const svc = createResponseService({ db: core.db, policy: core.policy, audit: core.audit, clock: c.clock, ports: { authorizer: oversight, submitter: oversight, emergency: oversight } });
    real = { svc, oversight, people: c.people, ran: new Map(), executed: { total: 0 } };
  });
  afterAll(async () => { await core.close(); });

  it('replays what a run found (seed 1008801295): the emergency path, refused while an approval is in force, records nothing at '
    + 'oversight, and an approved measure never executes under an emergency action alone', async () => {
    const m = await real.svc.proposeMeasure(real.people.analyst, {
      kind: 'dns_sinkhole', title: 'Sinkhole', target: { domains: ['replay.bad.example'] }, justification: { findings: ['f'], reports: [], summary: 's' },
      expectedEffect: 'e', agency: 'police', targetCountry: 'JP',
    });
    real.oversight.grant(m.id, 'police');
    await expect(real.svc.actFirst(real.people.police, m.id, { reason: 'r' })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(real.oversight.emergencies.has(m.id), 'an emergency action recorded for a measure that was not taken').toBe(false);
    await real.svc.submitMeasure(real.people.director, m.id, { reason: 'r' });
    expect((await real.svc.getMeasure(real.people.director, m.id)).state).toBe('approved');
    real.oversight.approvals.get(m.id)!.live = false; // the approval expires
    // An emergency action open for review (however oversight came to hold one) is no approval for the approved path.
    await real.oversight.actFirst(systemContext('test'), { measureId: m.id, agency: 'police' });
    await expect(real.svc.executeMeasure(real.people.police, m.id, { reason: 'r' })).rejects.toMatchObject({ code: 'CONFLICT', details: [{ message: 'NO_APPROVAL' }] });
    expect((await real.svc.getMeasure(real.people.director, m.id)).state).toBe('approved');
  });

  it('no path to executing without an approval or an open emergency review, none to SDF execution without a PM order, none abroad without the MOFA record', async () => {
    const outcomes = ['execute:ok', 'execute:refused', 'emergency:ok', 'emergency:refused', 'order:ok', 'order:refused', 'consult:ok', 'submit:ok'];
    const covered = (): boolean => real.executed.total > 5 && outcomes.every((k) => (real.ran.get(k) ?? 0) > 0);
    // Random runs (a new seed each time) until every outcome was reached, at most three rounds of 150: one
    // round can miss a successful prior execution (seen once in CI); three misses in a row are far rarer.
    for (let round = 0; round < 3 && !covered(); round++) {
      await fc.assert(fc.asyncProperty(commands, async (cmds) => {
        const model: Model = { measures: [] };
        const wrapped = [...cmds].map((cmd) => ({ check: () => true, run: async (m: Model, r: Real) => { await cmd.run(m, r); await checkInvariants(m, r); }, toString: () => cmd.toString() }));
        await fc.asyncModelRun(() => ({ model, real }), wrapped);
      }), { numRuns: 150 });
    }
    // The generator reaches executions and refusals of each kind (a vacuous run would prove nothing).
    expect(real.executed.total).toBeGreaterThan(5);
    for (const k of outcomes) expect(real.ran.get(k) ?? 0, k).toBeGreaterThan(0);
  }, 180_000);
});
