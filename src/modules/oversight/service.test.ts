import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemContext } from '#platform/context/index.js';
import { isAppError } from '#platform/errors/index.js';
import type { Core } from '#server/core.js';
import type { ManualClock } from '#platform/clock/index.js';
import { acquisitionDraft, acquisitionScope, cast, measureDraft, oversightCore, person, type FakeNeighbours } from './test-support/fixtures.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    if (isAppError(e)) return e.code;
    throw e;
  }
}

describe('oversight service', () => {
  let core: Core;
  let clock: ManualClock;
  let fake: FakeNeighbours;
  const c = cast();
  const sys = systemContext('test');
  beforeEach(async () => ({ core, clock, fake } = await oversightCore()));
  afterEach(async () => { await core.close(); });

  async function submitted(draft = acquisitionDraft()) {
    const r = await core.oversight.draftRequest(c.analyst, draft);
    return core.oversight.submitRequest(c.director, r.id);
  }

  it('approves an acquisition with quorum and majority, narrowed, and issues its legal basis', async () => {
    const r = await submitted();
    expect(r.status).toBe('submitted');
    await core.oversight.castVote(c.members[0]!, r.id, { vote: 'approve', reasons: 'Necessary and proportionate.' });
    await core.oversight.castVote(c.members[1]!, r.id, { vote: 'approve', reasons: 'Agreed, with a narrower scope.' });
    expect(await codeOf(core.oversight.decideRequest(c.members[0]!, r.id))).toBe('CONFLICT'); // two of three
    await core.oversight.castVote(c.members[2]!, r.id, { vote: 'deny', reasons: 'Too broad.' });
    const d = await core.oversight.decideRequest(c.members[0]!, r.id, {
      narrowing: { selectors: { foreignPrefixes: ['203.0.113.128/25'], ports: [443] }, periodEnd: '2026-05-01T00:00:00.000Z' },
      conditions: ['Report the findings to the commission monthly.'],
    });
    expect(d.status).toBe('approved');
    expect(d.decision).toMatchObject({ result: 'approved', tally: { approve: 2, deny: 1, abstain: 0 }, narrowed: true });
    const approval = await core.oversight.getApproval(c.members[1]!, d.approvalId!);
    expect(approval).toMatchObject({ kind: 'acquisition', state: 'active', validUntil: '2026-05-01T00:00:00.000Z', basisId: 'basis-1' });
    expect(fake.bases.get('basis-1')!.approval.selectors).toEqual({ foreignPrefixes: ['203.0.113.128/25'], ports: [443] });
    const check = await core.oversight.isApprovalValid(c.analyst, d.approvalId!, 'acquisition');
    expect(check.valid).toBe(true);
    expect((await core.oversight.isApprovalValid(c.analyst, d.approvalId!, 'measure')).valid).toBe(false);
    // Every vote and the decision are audit entries.
    const entries = await core.audit.entries({ from: 0, to: 10_000 });
    expect(entries.filter((e) => e.action === 'request:vote' && e.object?.id === r.id)).toHaveLength(3);
    const decide = entries.find((e) => e.action === 'request:decide' && e.outcome === 'success');
    expect(decide?.details).toMatchObject({ kind: 'acquisition', result: 'approved', approve: 2, deny: 1 });
    expect(JSON.stringify(entries)).not.toContain('Too broad.'); // reasons only as hashes
  });

  it('edits a draft before it is submitted: its author or a director, the checks of drafting, audited; never once submitted', async () => {
    const draft = await core.oversight.draftRequest(c.analyst, acquisitionDraft());
    const wider = { kind: 'acquisition' as const, title: 'Botnet C2 acquisition, ports narrowed', evidence: [{ type: 'finding' as const, id: 'f-2' }, { type: 'case' as const, id: 'c-9' }], acquisition: acquisitionScope('2026-04-01T00:00:00.000Z', 60) };
    const edited = await core.oversight.editDraft(c.analyst, draft.id, wider);
    expect(edited).toMatchObject({ id: draft.id, status: 'draft', title: 'Botnet C2 acquisition, ports narrowed', evidence: wider.evidence });
    // A director may edit it too; another analyst may not, and the refusal is audited.
    expect((await core.oversight.editDraft(c.director, draft.id, { ...wider, title: 'Edited by the director' })).title).toBe('Edited by the director');
    const other = person('analyst-2', ['analyst']);
    expect(await codeOf(core.oversight.editDraft(other, draft.id, wider))).toBe('FORBIDDEN');
    // The checks of drafting: a period past the legal maximum is refused and changes nothing.
    expect(await codeOf(core.oversight.editDraft(c.analyst, draft.id, acquisitionDraft('2026-04-01T00:00:00.000Z', 200)))).toBe('VALIDATION_FAILED');
    expect((await core.oversight.getRequest(c.analyst, draft.id)).title).toBe('Edited by the director');
    const entries = await core.audit.entries({ from: 0, to: 10_000 });
    expect(entries.filter((e) => e.action === 'request:edit' && e.object?.id === draft.id).map((e) => e.outcome)).toEqual(['success', 'success', 'denied']);
    // Once submitted, what the commission decides on no longer changes.
    await core.oversight.submitRequest(c.director, draft.id);
    expect(await codeOf(core.oversight.editDraft(c.director, draft.id, wider))).toBe('CONFLICT');
    expect((await core.oversight.getRequest(c.analyst, draft.id)).title).toBe('Edited by the director');
  });

  it('refuses narrowings that widen the request and periods beyond the legal maximum', async () => {
    expect(await codeOf(core.oversight.draftRequest(c.analyst, acquisitionDraft('2026-04-01T00:00:00.000Z', 200)))).toBe('VALIDATION_FAILED');
    const cross = { ...acquisitionScope('2026-04-01T00:00:00.000Z', 100), basisKind: 'cross_border_approval' as const };
    expect(await codeOf(core.oversight.draftRequest(c.analyst, { kind: 'acquisition', title: 'Cross-border', evidence: [], acquisition: cross }))).toBe('VALIDATION_FAILED');
    expect((await core.oversight.draftRequest(c.analyst, { kind: 'acquisition', title: 'Cross-border', evidence: [], acquisition: { ...cross, periodEnd: '2026-07-01T00:00:00.000Z' } })).status).toBe('draft');
    const r = await submitted();
    for (const m of c.members.slice(0, 3)) await core.oversight.castVote(m, r.id, { vote: 'approve', reasons: 'ok' });
    expect(await codeOf(core.oversight.decideRequest(c.members[0]!, r.id, { narrowing: { selectors: { foreignPrefixes: ['192.0.2.0/24'] } } }))).toBe('VALIDATION_FAILED');
    expect(await codeOf(core.oversight.decideRequest(c.members[0]!, r.id, { narrowing: { periodEnd: '2026-12-01T00:00:00.000Z' } }))).toBe('VALIDATION_FAILED');
    expect((await core.oversight.getRequest(c.members[0]!, r.id)).status).toBe('submitted');
  });

  it('lets no one vote on or decide a request they raised, submitted or declared a conflict on', async () => {
    const both = person('director-member', ['nco_director', 'commissioner']);
    const draft = await core.oversight.draftRequest(c.analyst, acquisitionDraft());
    await core.oversight.submitRequest(both, draft.id);
    expect(await codeOf(core.oversight.castVote(both, draft.id, { vote: 'approve', reasons: 'mine' }))).toBe('FORBIDDEN');
    await core.oversight.declareConflict(c.members[0]!, draft.id, { reason: 'Former employer of the operator.' });
    expect(await codeOf(core.oversight.castVote(c.members[0]!, draft.id, { vote: 'approve', reasons: 'x' }))).toBe('FORBIDDEN');
    for (const m of c.members.slice(1, 4)) await core.oversight.castVote(m, draft.id, { vote: 'approve', reasons: 'ok' });
    expect(await codeOf(core.oversight.decideRequest(both, draft.id))).toBe('FORBIDDEN');
    expect(await codeOf(core.oversight.decideRequest(c.members[0]!, draft.id))).toBe('FORBIDDEN');
    expect(await codeOf(core.oversight.castVote(c.members[1]!, draft.id, { vote: 'deny', reasons: 'again' }))).toBe('CONFLICT');
    const denied = (await core.audit.entries({ from: 0, to: 10_000 })).filter((e) => e.outcome === 'denied' && e.object?.id === draft.id);
    expect(denied.map((e) => e.details['reason'])).toContain('party_to_request');
    expect((await core.oversight.decideRequest(c.members[1]!, draft.id)).status).toBe('approved');
  });

  it('denies on a tie and leaves no approval', async () => {
    const r = await submitted();
    await core.oversight.castVote(c.members[0]!, r.id, { vote: 'approve', reasons: 'a' });
    await core.oversight.castVote(c.members[1]!, r.id, { vote: 'deny', reasons: 'b' });
    await core.oversight.castVote(c.members[2]!, r.id, { vote: 'abstain', reasons: 'c' });
    const d = await core.oversight.decideRequest(c.members[3]!, r.id);
    expect(d).toMatchObject({ status: 'denied', approvalId: null });
    expect(fake.bases.size).toBe(0);
  });

  it('expires approvals by time and revokes them at once, with the basis revoked and the measure halted', async () => {
    const r = await submitted();
    for (const m of c.members.slice(0, 3)) await core.oversight.castVote(m, r.id, { vote: 'approve', reasons: 'ok' });
    const a = (await core.oversight.decideRequest(c.members[0]!, r.id)).approvalId!;
    clock.set('2026-05-31T00:00:00.000Z');
    expect(await core.oversight.isApprovalValid(c.analyst, a, 'acquisition')).toEqual({ valid: false, reason: 'EXPIRED' }); // before any sweep
    expect((await core.oversight.sweep(sys)).expired).toBe(1);
    expect((await core.audit.entries({ from: 0, to: 10_000 })).some((e) => e.action === 'approval:expire' && e.object?.id === a)).toBe(true);

    const m = await core.oversight.draftRequest(c.analyst, measureDraft('measure-7'));
    await core.oversight.submitRequest(c.director, m.id);
    for (const x of c.members.slice(0, 3)) await core.oversight.castVote(x, m.id, { vote: 'approve', reasons: 'ok' });
    const ma = (await core.oversight.decideRequest(c.members[0]!, m.id, { conditions: ['Police only.'] })).approvalId!;
    expect(await core.oversight.measureAuthorization(c.police, 'measure-7')).toMatchObject({ authorized: true, via: 'approval', approvalId: ma, conditions: ['Police only.'], agency: 'police' });
    await core.oversight.revokeApproval(c.members[4]!, ma, { reason: 'The target changed hands.' });
    expect(fake.halted.has('measure-7')).toBe(true);
    expect(await core.oversight.measureAuthorization(c.police, 'measure-7')).toEqual({ authorized: false, reason: 'REVOKED' });
    expect(await core.oversight.isApprovalValid(c.police, ma, 'measure')).toEqual({ valid: false, reason: 'REVOKED' });
    expect(await core.oversight.measureAuthorization(c.police, 'measure-unknown')).toEqual({ authorized: false, reason: 'NO_APPROVAL' });
  });

  it('halts an emergency acquisition whose review deadline passes, purges its data and flags it', async () => {
    const acquisition = acquisitionScope('2026-04-01T00:00:00.000Z', 30);
    const e = await core.oversight.recordEmergencyAction(c.director, { kind: 'acquisition', title: 'Ongoing DDoS', justification: 'Attack in progress on a railway operator.', evidence: [], acquisition });
    expect(e).toMatchObject({ status: 'awaiting_review', basisId: 'basis-1', reviewDeadline: '2026-04-04T00:00:00.000Z' });
    fake.acquire('basis-1', 1234);
    expect(await codeOf(core.oversight.recordEmergencyAction(c.analyst, { kind: 'measure', title: 't', justification: 'j', evidence: [], measure: { measureId: 'm', measureKind: 'block', agency: 'police', summary: 's' } }))).toBe('FORBIDDEN');
    clock.set('2026-04-03T23:59:59.000Z');
    expect((await core.oversight.sweep(sys)).halted).toBe(0);
    clock.set('2026-04-04T00:00:00.000Z');
    expect(await core.oversight.sweep(sys)).toMatchObject({ lapsed: 1, halted: 1 });
    const [after] = (await core.oversight.listEmergencyActions(c.members[0]!)).items;
    expect(after).toMatchObject({ status: 'halted', haltReason: 'deadline', purgedFlows: 1234, flagged: true });
    expect(fake.bases.get('basis-1')).toMatchObject({ revoked: true, flows: 0 });
    const review = await core.oversight.getRequest(c.members[0]!, e.reviewRequestId);
    expect(review.status).toBe('lapsed');
    expect(await codeOf(core.oversight.castVote(c.members[0]!, e.reviewRequestId, { vote: 'approve', reasons: 'late' }))).toBe('CONFLICT');
    const entries = await core.audit.entries({ from: 0, to: 10_000 });
    expect(entries.find((x) => x.action === 'emergency:purge')?.details).toMatchObject({ basisId: 'basis-1', flows: 1234 });
  });

  it('halts an emergency measure at once when the commission denies it, and keeps a ratified one going', async () => {
    const act = (id: string) => core.oversight.recordEmergencyAction(c.police, { kind: 'measure', title: `Block ${id}`, justification: 'Imminent harm.', evidence: [{ type: 'finding', id: 'f' }], measure: { measureId: id, measureKind: 'block', agency: 'police', summary: 'Block the C2.' } });
    const denied = await act('m-denied');
    const ratified = await act('m-ratified');
    expect(await core.oversight.measureAuthorization(c.police, 'm-denied')).toMatchObject({ authorized: true, via: 'emergency' });
    for (const m of c.members.slice(0, 3)) {
      await core.oversight.castVote(m, denied.reviewRequestId, { vote: 'deny', reasons: 'no' });
      await core.oversight.castVote(m, ratified.reviewRequestId, { vote: 'approve', reasons: 'yes' });
    }
    // Whoever acted may not vote on or decide its review.
    const both = person('police-member', ['police', 'commissioner']);
    const own = await core.oversight.recordEmergencyAction(both, { kind: 'measure', title: 'Own', justification: 'j', evidence: [], measure: { measureId: 'm-own', measureKind: 'block', agency: 'police', summary: 's' } });
    expect(await codeOf(core.oversight.castVote(both, own.reviewRequestId, { vote: 'approve', reasons: 'mine' }))).toBe('FORBIDDEN');
    expect(await codeOf(core.oversight.decideRequest(both, own.reviewRequestId))).toBe('FORBIDDEN');
    await core.oversight.decideRequest(c.members[3]!, denied.reviewRequestId);
    expect(fake.halted.has('m-denied')).toBe(true);
    expect(await core.oversight.measureAuthorization(c.police, 'm-denied')).toEqual({ authorized: false, reason: 'EMERGENCY_HALTED' });
    const ok = await core.oversight.decideRequest(c.members[3]!, ratified.reviewRequestId);
    expect(ok.status).toBe('approved');
    expect(await core.oversight.measureAuthorization(c.police, 'm-ratified')).toMatchObject({ authorized: true, via: 'approval' });
    clock.set('2026-04-10T00:00:00.000Z');
    await core.oversight.sweep(sys);
    expect(fake.halted.has('m-ratified')).toBe(false);
  });

  it('lets commissioners inspect holdings, discards and who read what, and never the administrator', async () => {
    await core.oversight.listRequests(c.analyst);
    const inv = await core.oversight.inspectInventory(c.members[0]!);
    expect(inv).toMatchObject({ connected: true, discards: [{ category: 'domestic', count: 42 }] });
    const { size } = await core.audit.head();
    const reads = await core.oversight.inspectReads(c.members[0]!, { from: 0, to: size });
    expect(reads.reads.some((x) => x.action === 'request:read' && x.actor === 'analyst')).toBe(true);
    expect(await codeOf(core.oversight.inspectInventory(c.admin))).toBe('FORBIDDEN');
    expect(await codeOf(core.oversight.listRequests(c.admin))).toBe('FORBIDDEN');
    expect(await codeOf(core.oversight.inspectInventory(c.analyst))).toBe('FORBIDDEN');
  });

  it('approves a re-identification only for the pseudonyms it names', async () => {
    const r = await core.oversight.draftRequest(c.analyst, { kind: 'reidentification', title: 'Victim notification', evidence: [], reidentification: { pseudonyms: ['aa11', 'bb22'], basisId: 'basis-x', purpose: 'Notify the victim operator.' } });
    await core.oversight.submitRequest(c.director, r.id);
    for (const m of c.members.slice(0, 3)) await core.oversight.castVote(m, r.id, { vote: 'approve', reasons: 'ok' });
    const a = (await core.oversight.decideRequest(c.members[0]!, r.id, { narrowing: { pseudonyms: ['aa11'] } })).approvalId!;
    expect(await core.oversight.reidentificationApproved(c.analyst, a, 'aa11')).toBe(true);
    expect(await core.oversight.reidentificationApproved(c.analyst, a, 'bb22')).toBe(false);
    clock.advance(73 * 3_600_000);
    expect(await core.oversight.reidentificationApproved(c.analyst, a, 'aa11')).toBe(false);
  });
});
