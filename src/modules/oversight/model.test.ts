import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManualClock } from '#platform/clock/index.js';
import { systemContext, type RequestContext } from '#platform/context/index.js';
import { isAppError } from '#platform/errors/index.js';
import type { Core } from '#server/core.js';
import { cast, measureDraft, oversightCore, person, type FakeNeighbours } from './test-support/fixtures.js';

// Model-based test of the request state machine against the real service on SQLite.
// Members 0–4 are commissioners; member 5 is also an NCO director, so the requests it submits are its own.

type Status = 'submitted' | 'approved' | 'denied' | 'lapsed';
interface ModelRequest {
  id: string;
  kind: 'measure' | 'emergency_review';
  status: Status;
  parties: Set<number>;
  votes: Map<number, 'approve' | 'deny' | 'abstain'>;
  approvalId: string | null;
  validUntilMs: number;
  revoked: boolean;
  emergency?: { id: string; basisId: string; deadlineMs: number; halted: boolean };
}
interface Model {
  requests: ModelRequest[];
}
interface Real {
  core: Core;
  clock: ManualClock;
  fake: FakeNeighbours;
  members: RequestContext[];
  director: RequestContext;
}

const QUORUM = 3;
const DAY = 86_400_000;
let measureSeq = 0;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    if (isAppError(e)) return e.code;
    throw e;
  }
}

function pick(m: Model, i: number): ModelRequest | undefined {
  return m.requests.length === 0 ? undefined : m.requests[i % m.requests.length];
}

function open(r: ModelRequest, nowMs: number): boolean {
  return r.status === 'submitted' && (r.emergency === undefined || nowMs < r.emergency.deadlineMs);
}

class Submit implements fc.AsyncCommand<Model, Real> {
  constructor(readonly byDual: boolean) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const draft = await r.core.oversight.draftRequest(r.director, measureDraft(`measure-${++measureSeq}`));
    const sub = await r.core.oversight.submitRequest(this.byDual ? r.members[5]! : r.director, draft.id);
    m.requests.push({ id: sub.id, kind: 'measure', status: 'submitted', parties: new Set(this.byDual ? [5] : []), votes: new Map(), approvalId: null, validUntilMs: 0, revoked: false });
  }
  toString = () => `Submit(${this.byDual ? 'dual' : 'director'})`;
}

class ActInEmergency implements fc.AsyncCommand<Model, Real> {
  constructor(readonly flows: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const now = r.clock.nowMs();
    const e = await r.core.oversight.recordEmergencyAction(r.director, {
      kind: 'acquisition', title: 'Attack in progress', justification: 'Imminent harm.', evidence: [],
      acquisition: { basisKind: 'transit_approval', selectors: { foreignPrefixes: ['203.0.113.0/24'] }, periodStart: new Date(now).toISOString(), periodEnd: new Date(now + 20 * DAY).toISOString(), purpose: 'Find the C2.' },
    });
    expect(e.basisId).not.toBeNull();
    r.fake.acquire(e.basisId!, this.flows);
    m.requests.push({ id: e.reviewRequestId, kind: 'emergency_review', status: 'submitted', parties: new Set(), votes: new Map(), approvalId: null, validUntilMs: now + 20 * DAY, revoked: false, emergency: { id: e.id, basisId: e.basisId!, deadlineMs: Date.parse(e.reviewDeadline), halted: false } });
  }
  toString = () => `ActInEmergency(${this.flows})`;
}

class Vote implements fc.AsyncCommand<Model, Real> {
  constructor(readonly req: number, readonly member: number, readonly vote: 'approve' | 'deny' | 'abstain') {}
  check = () => true;
  async run(m: Model, r: Real) {
    const q = pick(m, this.req);
    if (q === undefined) return;
    const expected = q.parties.has(this.member) ? 'FORBIDDEN' : !open(q, r.clock.nowMs()) || q.votes.has(this.member) ? 'CONFLICT' : 'OK';
    expect(await codeOf(r.core.oversight.castVote(r.members[this.member]!, q.id, { vote: this.vote, reasons: 'reasons' }))).toBe(expected);
    if (expected === 'OK') q.votes.set(this.member, this.vote);
  }
  toString = () => `Vote(${this.req}, m${this.member}, ${this.vote})`;
}

class DeclareConflict implements fc.AsyncCommand<Model, Real> {
  constructor(readonly req: number, readonly member: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const q = pick(m, this.req);
    if (q === undefined) return;
    const expected = q.status !== 'submitted' || q.votes.has(this.member) ? 'CONFLICT' : 'OK';
    expect(await codeOf(r.core.oversight.declareConflict(r.members[this.member]!, q.id, { reason: 'conflict' }))).toBe(expected);
    if (expected === 'OK') q.parties.add(this.member);
  }
  toString = () => `DeclareConflict(${this.req}, m${this.member})`;
}

class Decide implements fc.AsyncCommand<Model, Real> {
  constructor(readonly req: number, readonly member: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const q = pick(m, this.req);
    if (q === undefined) return;
    const now = r.clock.nowMs();
    const tally = { approve: 0, deny: 0, abstain: 0 };
    for (const v of q.votes.values()) tally[v] += 1;
    const expected = q.parties.has(this.member) ? 'FORBIDDEN' : !open(q, now) || q.votes.size < QUORUM ? 'CONFLICT' : 'OK';
    let result: Awaited<ReturnType<Core['oversight']['decideRequest']>> | undefined;
    expect(await codeOf(r.core.oversight.decideRequest(r.members[this.member]!, q.id).then((x) => { result = x; }))).toBe(expected);
    if (expected !== 'OK') return;
    // No approval without quorum (checked above) and the majority of votes cast.
    const approved = tally.approve > tally.deny;
    expect(result!.status).toBe(approved ? 'approved' : 'denied');
    expect(result!.decision!.tally).toEqual(tally);
    q.status = approved ? 'approved' : 'denied';
    if (approved) {
      q.approvalId = result!.approvalId;
      if (q.kind === 'measure') q.validUntilMs = now + 30 * DAY;
    } else if (q.emergency !== undefined) {
      q.emergency.halted = true;
    }
  }
  toString = () => `Decide(${this.req}, m${this.member})`;
}

class Revoke implements fc.AsyncCommand<Model, Real> {
  constructor(readonly req: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const withApproval = m.requests.filter((q) => q.approvalId !== null);
    const q = withApproval[this.req % Math.max(1, withApproval.length)];
    if (q === undefined) return;
    const expired = r.clock.nowMs() >= q.validUntilMs;
    const expected = !q.revoked && expired ? 'CONFLICT' : 'OK';
    expect(await codeOf(r.core.oversight.revokeApproval(r.members[0]!, q.approvalId!, { reason: 'revoked' }))).toBe(expected);
    if (expected === 'OK') q.revoked = true;
  }
  toString = () => `Revoke(${this.req})`;
}

class Advance implements fc.AsyncCommand<Model, Real> {
  constructor(readonly hours: number) {}
  check = () => true;
  async run(_m: Model, r: Real) {
    r.clock.advance(this.hours * 3_600_000);
  }
  toString = () => `Advance(${this.hours}h)`;
}

class Sweep implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real) {
    await r.core.oversight.sweep(systemContext('model'));
    const now = r.clock.nowMs();
    for (const q of m.requests) {
      if (q.emergency !== undefined && q.status === 'submitted' && now >= q.emergency.deadlineMs) {
        q.status = 'lapsed';
        q.emergency.halted = true;
      }
    }
  }
  toString = () => 'Sweep';
}

/** The invariants, checked after every command. */
async function checkInvariants(m: Model, r: Real): Promise<void> {
  const now = r.clock.nowMs();
  for (const q of m.requests) {
    if (q.approvalId !== null) {
      // Expired or revoked approvals never match.
      const kind = q.kind === 'measure' ? 'measure' : 'acquisition';
      const check = await r.core.oversight.isApprovalValid(r.director, q.approvalId, kind, now);
      expect(check.valid, `approval of ${q.id}`).toBe(!q.revoked && now < q.validUntilMs);
    }
    if (q.emergency?.halted === true) {
      // Past its deadline without approval, or denied: halted, basis revoked, data purged.
      const basis = r.fake.bases.get(q.emergency.basisId)!;
      expect(basis.revoked).toBe(true);
      expect(basis.flows).toBe(0);
      const [row] = (await r.core.db.kysely.selectFrom('oversight_emergency_actions').select('status').where('id', '=', q.emergency.id).execute()) as { status: string }[];
      expect(row!.status).toBe('halted');
    }
  }
}

const commands = (n: number) => fc.commands([
  fc.boolean().map((d) => new Submit(d)),
  fc.integer({ min: 0, max: 5000 }).map((f) => new ActInEmergency(f)),
  fc.tuple(fc.nat(20), fc.integer({ min: 0, max: 5 }), fc.constantFrom('approve', 'approve', 'deny', 'abstain') as fc.Arbitrary<'approve' | 'deny' | 'abstain'>).map(([q, mb, v]) => new Vote(q, mb, v)),
  fc.tuple(fc.nat(20), fc.integer({ min: 0, max: 5 })).map(([q, mb]) => new DeclareConflict(q, mb)),
  fc.tuple(fc.nat(20), fc.integer({ min: 0, max: 5 })).map(([q, mb]) => new Decide(q, mb)),
  fc.nat(20).map((q) => new Revoke(q)),
  fc.constantFrom(1, 12, 48, 24 * 20).map((h) => new Advance(h)),
  fc.constant(new Sweep()),
], { maxCommands: n, size: 'max' });

describe('oversight request state machine (model-based)', () => {
  let real: Real;
  beforeAll(async () => {
    const { core, clock, fake } = await oversightCore();
    const c = cast();
    real = { core, clock, fake, members: [...c.members, person('dual', ['commissioner', 'nco_director'])], director: c.director };
  });
  afterAll(async () => { await real.core.close(); });

  it('no approval without quorum, no self-decision, expired or revoked approvals never match, lapsed emergencies are halted and purged', async () => {
    const ran = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(commands(40), async (cmds) => {
        const model: Model = { requests: [] };
        const wrapped = [...cmds].map((cmd) => ({
          check: (m: Readonly<Model>) => cmd.check(m),
          run: async (m: Model, r: Real) => {
            await cmd.run(m, r);
            const name = cmd.toString().split('(')[0]!;
            ran.set(name, (ran.get(name) ?? 0) + 1);
            await checkInvariants(m, r);
          },
          toString: () => cmd.toString(),
        }));
        await fc.asyncModelRun(() => ({ model, real }), wrapped);
      }),
      { numRuns: 60 },
    );
    // The generator reaches every step, decisions included (a vacuous run would prove nothing).
    for (const name of ['Submit', 'ActInEmergency', 'Vote', 'DeclareConflict', 'Decide', 'Revoke', 'Advance', 'Sweep']) expect(ran.get(name) ?? 0, name).toBeGreaterThan(5);
    const decided = (await real.core.db.kysely.selectFrom('oversight_requests').select('status').where('status', 'in', ['approved', 'denied', 'lapsed']).execute()).length;
    expect(decided).toBeGreaterThan(10);
  }, 120_000);
});
