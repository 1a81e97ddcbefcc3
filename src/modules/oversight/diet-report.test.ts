import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '#platform/context/index.js';
import { isAppError } from '#platform/errors/index.js';
import type { AuditEntry } from '#modules/audit/index.js';
import type { Core } from '#server/core.js';
import type { ManualClock } from '#platform/clock/index.js';
import { acquisitionDraft, acquisitionScope, cast, measureDraft, oversightCore } from './test-support/fixtures.js';
import { renderDietReportHtml, StreamingRoot } from './diet-report.js';
import { hashLeaf } from '#modules/audit/index.js';

describe('report to the Diet', () => {
  let core: Core;
  let clock: ManualClock;
  const c = cast();
  const sys = systemContext('test');

  beforeAll(async () => {
    ({ core, clock } = await oversightCore());
    const o = core.oversight;
    const decide = async (draftId: string, votes: ('approve' | 'deny')[]) => {
      await o.submitRequest(c.director, draftId);
      for (const [i, v] of votes.entries()) await o.castVote(c.members[i]!, draftId, { vote: v, reasons: 'r' });
      return o.decideRequest(c.members[4]!, draftId);
    };
    await decide((await o.draftRequest(c.analyst, acquisitionDraft())).id, ['approve', 'approve', 'deny']);
    await decide((await o.draftRequest(c.analyst, acquisitionDraft())).id, ['deny', 'deny', 'approve']);
    await decide((await o.draftRequest(c.analyst, measureDraft('m1', 'police'))).id, ['approve', 'approve', 'approve']);
    await decide((await o.draftRequest(c.analyst, measureDraft('m2', 'sdf'))).id, ['deny', 'deny', 'deny']);
    const w = await o.draftRequest(c.analyst, measureDraft('m3'));
    await o.withdrawRequest(c.director, w.id);
    const acquisition = acquisitionScope('2026-04-01T00:00:00.000Z', 20);
    await o.recordEmergencyAction(c.director, { kind: 'acquisition', title: 'DDoS', justification: 'j', evidence: [], acquisition });
    await o.recordEmergencyAction(c.police, { kind: 'measure', title: 'Block', justification: 'j', evidence: [], measure: { measureId: 'm4', measureKind: 'block', agency: 'police', summary: 's' } });
    // Entries other parts write, in the shapes the report counts.
    await core.audit.record(sys, { action: 'selection:counters', object: null, outcome: 'success', details: { kept_transit: 120, dropped_transit: 30, kept_inbound: 40, dropped_domestic: 5000 } });
    await core.audit.record(sys, { action: 'retention:delete', object: { type: 'partition', id: 'p1' }, outcome: 'success', details: { flows: 77, partitions: 2 } });
    await core.audit.record(c.analyst, { action: 'pseudonym:reidentify', object: { type: 'pseudonym', id: 'aa' }, outcome: 'denied' });
    await core.audit.record(c.analyst, { action: 'leak:trace', object: null, outcome: 'success' });
    await core.audit.record(sys, { action: 'lifecycle:certificate', object: { type: 'legal_basis', id: 'b1' }, outcome: 'success', details: { basisId: 'b1', cause: 'revoked', findingsDeleted: 3, findingsWithdrawn: 1, recallNotices: 2 } });
    await core.audit.record(sys, { action: 'flows:purge', object: { type: 'archive_partition', id: 'basis=b1/hour=x' }, outcome: 'success', details: { flows: 55, partitions: 1 } });
    await core.audit.record(sys, { action: 'keys:destroy', object: { type: 'pseudonym_key', id: '2026-03' }, outcome: 'success' });
    await o.listRequests(c.members[0]!);
    clock.set('2026-04-05T00:00:00.000Z');
    await o.sweep(sys);
  });
  afterAll(async () => { await core.close(); });

  /** Independent recount: plain filters over the entries, written without the report's code. */
  function recount(entries: AuditEntry[], from: string, to: string) {
    const win = entries.filter((e) => e.time >= from && e.time < to);
    const ok = win.filter((e) => e.outcome === 'success');
    const n = (pred: (e: AuditEntry) => boolean) => ok.filter(pred).length;
    return {
      acqApproved: n((e) => e.action === 'request:decide' && e.details['kind'] === 'acquisition' && e.details['result'] === 'approved'),
      acqDenied: n((e) => e.action === 'request:decide' && e.details['kind'] === 'acquisition' && e.details['result'] === 'denied'),
      submittedMeasures: n((e) => e.action === 'request:submit' && e.details['kind'] === 'measure'),
      withdrawn: n((e) => e.action === 'request:withdraw'),
      policeApproved: n((e) => e.action === 'request:decide' && e.details['kind'] === 'measure' && e.details['agency'] === 'police' && e.details['result'] === 'approved'),
      sdfDenied: n((e) => e.action === 'request:decide' && e.details['kind'] === 'measure' && e.details['agency'] === 'sdf' && e.details['result'] === 'denied'),
      emergencyActs: n((e) => e.action === 'emergency:act'),
      haltedDeadline: n((e) => e.action === 'emergency:halt' && e.details['reason'] === 'deadline'),
      lapsed: n((e) => e.action === 'request:lapse'),
      halted: ok.filter((e) => e.action === 'emergency:halt').map((e) => e.object!.id).sort(),
      keptTransit: ok.filter((e) => e.action === 'selection:counters').reduce((s, e) => s + Number(e.details['kept_transit'] ?? 0), 0),
      droppedDomestic: ok.filter((e) => e.action === 'selection:counters').reduce((s, e) => s + Number(e.details['dropped_domestic'] ?? 0), 0),
      retentionFlows: ok.filter((e) => e.action === 'retention:delete').reduce((s, e) => s + Number(e.details['flows'] ?? 0), 0),
      reidRefused: win.filter((e) => e.action === 'pseudonym:reidentify' && e.outcome !== 'success').length,
      leaks: win.filter((e) => e.action === 'leak:trace').length,
      reads: win.filter((e) => /:(read|read-all|read-own|query|export|download)$/.test(e.action)).length,
    };
  }

  it('names the signed checkpoint, and every figure equals an independent recount from the audit entries', async () => {
    const report = await core.oversight.dietReport(c.members[0]!, { from: '2026-04-01', to: '2026-07-01' });
    const entries = await core.audit.entries({ from: 0, to: report.checkpoint.size });
    expect(report.checkpoint.note).toContain(core.config.audit.origin);
    expect(report.verified).toEqual({ entriesHashed: report.checkpoint.size, rootMatches: true });
    const want = recount(entries, report.window.from, report.window.to);
    const f = report.figures;
    expect(f.requests['acquisition']).toMatchObject({ approved: want.acqApproved, denied: want.acqDenied });
    expect(f.requests['measure']!.submitted).toBe(want.submittedMeasures);
    expect(f.requests['measure']!.withdrawn).toBe(want.withdrawn);
    expect(f.measures['police']!.approved).toBe(want.policeApproved);
    expect(f.measures['sdf']!.denied).toBe(want.sdfDenied);
    expect(f.requests['emergency_review']!.submitted).toBe(want.emergencyActs);
    expect(f.requests['emergency_review']!.lapsed).toBe(want.lapsed);
    expect(Object.values(f.emergency.byKindAndAgency).reduce((s, r) => s + r.haltedDeadline, 0)).toBe(want.haltedDeadline);
    expect([...f.emergency.flagged].sort()).toEqual(want.halted);
    expect(f.flows['transit']!.kept).toBe(want.keptTransit);
    expect(f.flows['domestic']!.dropped).toBe(want.droppedDomestic);
    expect(f.deletions.retentionFlows).toBe(want.retentionFlows);
    expect(f.reidentifications.refused).toBe(want.reidRefused);
    expect(f.leakInvestigations.total).toBe(want.leaks);
    expect(f.reads.total).toBe(want.reads);
    // And the numbers are the ones the scenario produced.
    expect(want).toMatchObject({ acqApproved: 1, acqDenied: 1, policeApproved: 1, sdfDenied: 1, emergencyActs: 2, haltedDeadline: 2, keptTransit: 120, droppedDomestic: 5000, retentionFlows: 77, reidRefused: 1, leaks: 1 });
    expect(want.halted).toHaveLength(2);
    // The report is itself audited, after the checkpoint it names.
    const after = await core.audit.entries({ from: report.checkpoint.size, to: report.checkpoint.size + 10 });
    expect(after.find((e) => e.action === 'diet-report:create')?.details).toMatchObject({ checkpointSize: report.checkpoint.size, figuresSha256: report.figuresSha256 });
  });

  it('reconciles exactly with the checkpoint it names: every entry before, in or after the period, counted or explained', async () => {
    // A failed deletion in the period, and entries after it: the period leaves entries out on both sides
    // (the "260 counted, checkpoint of 272" case).
    clock.set('2026-04-06T00:00:00.000Z');
    await core.audit.record(sys, { action: 'retention:delete', object: { type: 'archive_partition', id: 'p2' }, outcome: 'failure', details: { flows: 9, partitions: 1 } });
    clock.set('2026-04-07T00:00:00.000Z');
    await core.audit.record(sys, { action: 'reporting:remind', object: null, outcome: 'success' });
    const report = await core.oversight.dietReport(c.members[0]!, { from: '2026-04-04T12:00:00Z', to: '2026-04-06T12:00:00Z' });
    const entries = await core.audit.entries({ from: 0, to: report.checkpoint.size });
    const x = report.reconciliation;
    const win = entries.filter((e) => e.time >= report.window.from && e.time < report.window.to);
    expect(x).toMatchObject({ checkpointSize: report.checkpoint.size, inPeriod: win.length, beforePeriod: entries.filter((e) => e.time < report.window.from).length, afterPeriod: entries.filter((e) => e.time >= report.window.to).length });
    expect(x.beforePeriod).toBeGreaterThan(0);
    expect(x.afterPeriod).toBeGreaterThan(0);
    expect(x.beforePeriod + x.inPeriod + x.afterPeriod).toBe(x.checkpointSize);
    expect(x.counted + x.notCounted + x.notSuccessful).toBe(x.inPeriod);
    expect(report.figures.entries).toBe(x.inPeriod);
    // By action, recounted independently: the columns add up, and the failed retention entry is "not successful".
    for (const [action, v] of Object.entries(x.byAction)) {
      expect(v.entries, action).toBe(win.filter((e) => e.action === action).length);
      expect(v.counted + v.notCounted + v.notSuccessful, action).toBe(v.entries);
    }
    expect(x.byAction['retention:delete']).toMatchObject({ notSuccessful: 1 });
    expect(x.byAction['diet-report:create']).toMatchObject({ counted: 0, notCounted: x.byAction['diet-report:create']!.entries });
    expect(x.byAction['emergency:halt']!.counted).toBe(2);
    expect(report.figures.deletions.retentionFlows).toBe(0);
    // Every entry left out is explained, in both languages, with its number.
    const explained = x.differences.reduce((s, d) => s + (d.entries ?? 0), 0);
    expect(explained).toBe(x.checkpointSize - x.counted);
    for (const d of x.differences) { expect(d.ja).toMatch(/[ぁ-ん]/); expect(d.en.length).toBeGreaterThan(20); if (d.entries !== null) expect(d.en).toContain(String(d.entries)); }
    expect(x.differences.map((d) => d.key)).toEqual(['beforePeriod', 'afterPeriod', 'notCounted', 'notSuccessful', 'sums', 'afterCheckpoint']);
    // The printed report shows it.
    const html = renderDietReportHtml(report);
    expect(html).toContain('Reconciliation with the checkpoint');
    expect(html).toContain(x.differences[0]!.en);
  });

  it('counts the data lifecycle: certificates by cause, purged flows, keys destroyed, leak traces', async () => {
    const f = (await core.oversight.dietReport(c.members[0]!, { from: '2026-04-01', to: '2026-07-01' })).figures;
    expect(f.lifecycle).toMatchObject({ certificates: { revoked: 1 }, findingsDeleted: 3, findingsWithdrawn: 1, recallNotices: 2, keysDestroyed: 1 });
    expect(f.deletions).toMatchObject({ basisPurgeFlows: 55, basisPurgePartitions: 1, retentionFlows: 77 });
    expect(f.leakInvestigations.total).toBe(1);
  });

  it('counts only the window it is asked for', async () => {
    const report = await core.oversight.dietReport(c.members[0]!, { from: '2026-04-04T12:00:00Z', to: '2026-07-01' });
    expect(report.figures.requests['acquisition']).toMatchObject({ approved: 0, denied: 0 });
    expect(Object.values(report.figures.emergency.byKindAndAgency).reduce((s, r) => s + r.haltedDeadline, 0)).toBe(2);
  });

  it('renders bilingual HTML that escapes what it prints', async () => {
    const report = await core.oversight.dietReport(c.members[0]!, { from: '2026-04-01', to: '2026-07-01' });
    const html = renderDietReportHtml({ ...report, figures: { ...report.figures, emergency: { ...report.figures.emergency, flagged: ['<script>x</script>'] } } });
    expect(html).toContain('国会報告');
    expect(html).toContain('Report to the Diet');
    expect(html).toContain('外外通信');
    expect(html).toContain(report.checkpoint.root);
    expect(html).not.toContain('<script>x');
  });

  it('refuses bad windows and non-commissioners', async () => {
    for (const [who, w, code] of [[c.members[0]!, { from: 'x', to: '2026-01-01' }, 'VALIDATION_FAILED'], [c.members[0]!, { from: '2026-05-01', to: '2026-04-01' }, 'VALIDATION_FAILED'], [c.analyst, { from: '2026-04-01', to: '2026-05-01' }, 'FORBIDDEN']] as const) {
      try {
        await core.oversight.dietReport(who, w);
        expect.unreachable();
      } catch (e) {
        expect(isAppError(e) && e.code).toBe(code);
      }
    }
  });

  it('computes RFC 9162 roots as the audit log does', async () => {
    const { size, root } = await core.audit.head();
    const t = new StreamingRoot();
    const { canonicalize } = await import('#modules/audit/index.js');
    for (const e of await core.audit.entries({ from: 0, to: size })) t.push(hashLeaf(new TextEncoder().encode(canonicalize(e))));
    expect(Buffer.from(t.root()).toString('base64')).toBe(root);
  });
});
