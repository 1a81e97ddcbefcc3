import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ManualClock } from '#platform/clock/index.js';
import type { Core } from '#server/core.js';
import type { cast} from './test-support/fixtures.js';
import { block, commissionDecides, responseCore, sinkhole } from './test-support/fixtures.js';

describe('response service wired to oversight', () => {
  let core: Core;
  let clock: ManualClock;
  let p: ReturnType<typeof cast>;
  beforeEach(async () => { ({ core, clock, people: p } = await responseCore()); });
  afterEach(async () => { await core.close(); });

  async function approved(input = sinkhole(['c2.bad.example'], 'JP')) {
    const m = await core.response.proposeMeasure(p.analyst, input);
    const s = await core.response.submitMeasure(p.director, m.id, { reason: 'Evidence sufficient.' });
    expect(s.state).toBe('submitted');
    expect(s.requestId).not.toBeNull();
    await commissionDecides(core, p, s.requestId!);
    return s;
  }

  it('proposed → submitted → approved → executing → executed → reviewed, each transition audited with who and why', async () => {
    const s = await approved();
    const request = await core.oversight.getRequest(p.members[0]!, s.requestId!);
    expect(request).toMatchObject({ kind: 'measure', status: 'approved', scope: { measureId: s.id, agency: 'police', measureKind: 'dns_sinkhole' } });
    const a = await core.response.getMeasure(p.police, s.id);
    expect(a.state).toBe('approved');
    expect(a.approvalId).toBe(request.approvalId);
    // The approval is the commission's, carried over by the system — not the police officer who happened to read it.
    expect(a.events.find((x) => x.transition === 'approve')).toMatchObject({ actor: 'commission-decision', roles: [] });
    const e = await core.response.executeMeasure(p.police, s.id, { reason: 'Resolvers updated.' });
    expect(e).toMatchObject({ state: 'executing', authorization: 'prior' });
    const rpz = await core.response.artifact(p.operator, 'rpz');
    expect(rpz.artifact.body).toContain('c2.bad.example CNAME .');
    expect(rpz.artifact.body).toContain('*.c2.bad.example CNAME .');
    await core.response.completeMeasure(p.police, s.id, { outcome: 'executed', reason: 'Zone loaded by all resolvers.' });
    const r = await core.response.reviewMeasure(p.director, s.id, { reason: 'C2 lookups stopped.' });
    expect(r.events.map((x) => [x.transition, x.from, x.to])).toEqual([
      ['propose', null, 'proposed'], ['submit', 'proposed', 'submitted'], ['approve', 'submitted', 'approved'],
      ['execute', 'approved', 'executing'], ['complete', 'executing', 'executed'], ['review', 'executed', 'reviewed'],
    ]);
    expect(r.events.every((x) => x.actor.length > 0 && x.reason.length > 0)).toBe(true);
    const { size } = await core.audit.head();
    const entries = await core.audit.entries({ from: 0, to: size });
    const actions = entries.filter((x) => x.object?.type === 'measure' && x.object.id === s.id && x.outcome === 'success').map((x) => x.action);
    expect(actions).toEqual(expect.arrayContaining(['measure:propose', 'measure:submit', 'measure:approve', 'measure:execute', 'measure:complete', 'measure:review']));
    expect(entries.some((x) => x.action === 'measure:submit' && typeof x.details?.['reasonSha256'] === 'string')).toBe(true);
    // reviewed is not in force: the zone no longer lists it.
    expect((await core.response.artifact(p.operator, 'rpz')).artifact.body).not.toContain('c2.bad.example');
  });

  it('refuses execution before approval, by the wrong agency, and audits the refusal', async () => {
    const m = await core.response.proposeMeasure(p.analyst, sinkhole(['x.bad.example'], 'JP'));
    await expect(core.response.executeMeasure(p.police, m.id, { reason: 'go' })).rejects.toMatchObject({ code: 'CONFLICT' });
    await core.response.submitMeasure(p.director, m.id, { reason: 'ok' });
    await expect(core.response.executeMeasure(p.police, m.id, { reason: 'go' })).rejects.toMatchObject({ code: 'CONFLICT' });
    await commissionDecides(core, p, (await core.response.getMeasure(p.director, m.id)).requestId!);
    await expect(core.response.executeMeasure(p.sdf, m.id, { reason: 'go' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const { size } = await core.audit.head();
    const denied = (await core.audit.entries({ from: 0, to: size })).filter((x) => x.action === 'measure:execute' && x.outcome === 'denied');
    expect(denied.length).toBe(3);
  });

  it('a target abroad needs the MOFA consultation before execution; a domestic one refuses it', async () => {
    const s = await approved(sinkhole(['c2.foreign.example'], 'US'));
    expect((await core.response.getMeasure(p.police, s.id)).location).toMatchObject({ abroad: true, source: 'declared' });
    await expect(core.response.executeMeasure(p.police, s.id, { reason: 'go' })).rejects.toMatchObject({ code: 'CONFLICT', details: [{ message: 'NO_MOFA_CONSULTATION' }] });
    await core.response.recordConsultation(p.mofa, s.id, { reference: 'MOFA-2026-11', outcome: 'no_objection', summary: 'Consulted; no objection.' });
    expect((await core.response.executeMeasure(p.police, s.id, { reason: 'go' })).state).toBe('executing');
    const dom = await approved(sinkhole(['c2.home.example'], 'JP'));
    await expect(core.response.recordConsultation(p.mofa, dom.id, { reference: 'x', outcome: 'no_objection', summary: 'x' })).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('locates addresses with selection\'s locator; an unknown location counts as abroad', async () => {
    const foreign = await core.response.proposeMeasure(p.analyst, block(['8.8.8.0/24']));
    expect(foreign.location).toMatchObject({ abroad: true, source: 'locator', countries: ['US'] });
    const doc = await core.response.proposeMeasure(p.analyst, block(['192.0.2.0/24']));
    expect(doc.location.abroad).toBe(true);
    const noCountry = await core.response.proposeMeasure(p.analyst, { ...sinkhole(['a.bad.example']), targetCountry: undefined } as never);
    expect(noCountry.location).toMatchObject({ abroad: true, source: 'unknown' });
  });

  it('SDF: needs the conditions and the PM order; the PM orders only SDF measures', async () => {
    await expect(core.response.proposeMeasure(p.analyst, { ...block(['8.8.4.0/24']), agency: 'sdf' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const weak = block(['8.8.4.0/24'], 'sdf') as { sdfGrounds: { attackerAssessment: string } };
    weak.sdfGrounds.attackerAssessment = 'criminal';
    const w = await core.response.proposeMeasure(p.analyst, weak as never);
    await expect(core.response.submitMeasure(p.director, w.id, { reason: 'x' })).rejects.toMatchObject({ details: [{ message: 'SDF_CONDITIONS' }] });
    const s = await approved(block(['8.8.4.0/24'], 'sdf'));
    await core.response.recordConsultation(p.mofa, s.id, { reference: 'MOFA-1', outcome: 'concerns_noted', summary: 'Notify the host country.' });
    await expect(core.response.executeMeasure(p.sdf, s.id, { reason: 'go' })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(core.response.orderMeasure(p.police, s.id, { reference: 'x', reason: 'x' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const o = await core.response.orderMeasure(p.pm, s.id, { reference: 'PMO-2026-3', reason: 'Grave threat.' });
    expect(o).toMatchObject({ state: 'ordered', order: { reference: 'PMO-2026-3' } });
    await expect(core.response.executeMeasure(p.police, s.id, { reason: 'go' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect((await core.response.executeMeasure(p.sdf, s.id, { reason: 'go' })).state).toBe('executing');
    const police = await approved(block(['203.0.113.0/24']));
    await expect(core.response.orderMeasure(p.pm, police.id, { reference: 'x', reason: 'x' })).rejects.toMatchObject({ details: [{ message: 'NOT_SDF' }] });
  });

  it('emergency path: police act first, the review is denied, the measure halts and leaves the artifacts', async () => {
    const m = await core.response.proposeMeasure(p.analyst, block(['8.8.8.0/24']));
    await expect(core.response.actFirst(p.police, m.id, { reason: 'Ongoing attack.' })).rejects.toMatchObject({ details: [{ message: 'NO_MOFA_CONSULTATION' }] });
    await core.response.recordConsultation(p.mofa, m.id, { reference: 'MOFA-9', outcome: 'no_objection', summary: 'ok' });
    const e = await core.response.actFirst(p.police, m.id, { reason: 'Ongoing attack on a power grid operator.' });
    expect(e).toMatchObject({ state: 'executing', authorization: 'emergency' });
    expect((await core.response.artifact(p.police, 'cidr')).artifact.body).toContain('8.8.8.0/24');
    const [action] = (await core.oversight.listEmergencyActions(p.members[0]!, {})).items;
    expect(action).toMatchObject({ measureId: m.id, status: 'awaiting_review' });
    await commissionDecides(core, p, action!.reviewRequestId, 'deny');
    const h = await core.response.getMeasure(p.police, m.id);
    expect(h.state).toBe('halted');
    expect(h.haltReason).toContain('denied');
    expect((await core.response.artifact(p.police, 'cidr')).artifact.body).not.toContain('8.8.8.0/24');
    await expect(core.response.recordStep(p.police, m.id, { action: 'x' })).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('emergency review past its deadline halts the measure through the sweep; revocation halts an approved one', async () => {
    const m = await core.response.proposeMeasure(p.analyst, block(['203.0.113.0/24']));
    await core.response.recordConsultation(p.mofa, m.id, { reference: 'MOFA-9', outcome: 'no_objection', summary: 'ok' }).catch(() => undefined);
    const loc = (await core.response.getMeasure(p.police, m.id)).location;
    if (loc.abroad && (await core.response.getMeasure(p.police, m.id)).consultations.length === 0) throw new Error('consultation expected');
    await core.response.actFirst(p.police, m.id, { reason: 'Ongoing.' });
    clock.advance(73 * 3_600_000);
    await core.oversight.sweep({ actor: { kind: 'system', id: 'sweep', username: 'system:sweep', roles: [], orgId: null, sectors: [] }, requestId: 'sweep' });
    expect((await core.response.getMeasure(p.police, m.id)).state).toBe('halted');
    const s = await approved(sinkhole(['c2.bad.example'], 'JP'));
    await core.response.executeMeasure(p.police, s.id, { reason: 'go' });
    await core.oversight.revokeApproval(p.members[1]!, (await core.response.getMeasure(p.police, s.id)).approvalId!, { reason: 'Disproportionate.' });
    expect((await core.response.getMeasure(p.police, s.id)).state).toBe('halted');
  });

  it('an expired approval leaves the artifacts at once (fail closed, before any sweep)', async () => {
    const s = await approved(sinkhole(['c2.bad.example'], 'JP'));
    await core.response.executeMeasure(p.police, s.id, { reason: 'go' });
    expect((await core.response.artifact(p.police, 'rpz')).artifact.body).toContain('c2.bad.example');
    clock.advance(31 * 86_400_000);
    expect((await core.response.artifact(p.police, 'rpz')).artifact.body).not.toContain('c2.bad.example');
  });

  it('access-and-neutralize: officers record steps while executing; takedown notices in Japanese and English', async () => {
    const s = await approved({ kind: 'access_neutralize', title: 'Neutralize the C2', target: { address: '203.0.113.9', ports: [443], description: 'C2 panel' }, justification: { findings: ['f1'], reports: [], summary: 's' }, expectedEffect: 'Bots lose their C2.' });
    if (s.location.abroad) await core.response.recordConsultation(p.mofa, s.id, { reference: 'M', outcome: 'no_objection', summary: 'ok' });
    await core.response.executeMeasure(p.police, s.id, { reason: 'go' });
    await core.response.recordStep(p.police, s.id, { action: 'Connected to the C2 panel with the seized credentials.', result: 'ok' });
    const m = await core.response.recordStep(p.police, s.id, { action: 'Disabled the task queue.' });
    expect(m.steps.map((x) => x.seq)).toEqual([1, 2]);
    await expect(core.response.recordStep(p.sdf, s.id, { action: 'x' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const t = await approved({ kind: 'takedown_notice', title: 'Takedown', target: { addresses: ['203.0.113.9'], domains: ['c2.bad.example'], hostingNetwork: { name: 'Example Hosting', asn: 64500, abuseContact: 'abuse@hoster.example' } }, justification: { findings: ['f1'], reports: [], summary: 's' }, expectedEffect: 'Server taken down.', targetCountry: 'JP' });
    await expect(core.response.takedownNotice(p.police, t.id, 'ja')).rejects.toMatchObject({ code: 'CONFLICT' });
    if (t.location.abroad) await core.response.recordConsultation(p.mofa, t.id, { reference: 'M', outcome: 'no_objection', summary: 'ok' });
    await core.response.executeMeasure(p.police, t.id, { reason: 'send' });
    const ja = await core.response.takedownNotice(p.police, t.id, 'ja');
    expect(ja.artifact.body).toContain('To: abuse@hoster.example');
    expect(ja.artifact.body).toContain('テイクダウン');
    expect(ja.artifact.body).toContain('c2[.]bad[.]example');
    const en = await core.response.takedownNotice(p.police, t.id, 'en');
    expect(en.artifact.body).toContain('AS64500');
    expect(en.artifact.etag).not.toBe(ja.artifact.etag);
  });

  it('effect: the justifying finding before and after execution', async () => {
    await core.db.kysely.insertInto('findings').values({
      id: 'finding-beacon-1', kind: 'beacon', subject_kind: 'address', subject_value: '203.0.113.9', level: 'alert', score: 0.9, score_detail: '{}', evidence: '{}',
      first_seen: '2026-03-30T00:00:00.000Z', last_seen: '2026-03-31T23:00:00.000Z', hosts: '[]', host_count: 40, legal_bases: '[]', revision: 3, created_at: '2026-03-30T00:00:00.000Z', updated_at: '2026-03-31T23:00:00.000Z',
    }).execute();
    const s = await approved(sinkhole(['c2.bad.example'], 'JP'));
    expect((await core.response.measureEffect(p.analyst, s.id)).verdict).toBe('pending');
    clock.advance(3_600_000);
    await core.response.executeMeasure(p.police, s.id, { reason: 'go' });
    clock.advance(86_400_000);
    const quiet = await core.response.measureEffect(p.analyst, s.id);
    expect(quiet.verdict).toBe('effective');
    expect(quiet.findings[0]!.samples.map((x) => x.phase)).toContain('before');
    expect(quiet.findings[0]!.samples.map((x) => x.phase)).toContain('after');
    await core.db.kysely.updateTable('findings').set({ last_seen: new Date(clock.nowMs()).toISOString(), host_count: 41 }).where('id', '=', 'finding-beacon-1').execute();
    clock.advance(60_000);
    expect((await core.response.measureEffect(p.analyst, s.id)).verdict).toBe('not_effective');
  });

  it('artifacts: ETag is the SHA-256 of the body; If-None-Match answers not modified; roles without the right are refused', async () => {
    const a = await core.response.artifact(p.operator, 'nft');
    const again = await core.response.artifact(p.operator, 'nft', a.artifact.etag);
    expect(again.notModified).toBe(true);
    const s = await approved(block(['203.0.113.0/24', '203.0.113.128/25', '198.51.100.7', '2001:db8::/32']));
    if (s.location.abroad) await core.response.recordConsultation(p.mofa, s.id, { reference: 'M', outcome: 'no_objection', summary: 'ok' });
    await core.response.executeMeasure(p.police, s.id, { reason: 'go' });
    const b = await core.response.artifact(p.operator, 'nft', a.artifact.etag);
    expect(b.notModified).toBe(false);
    expect((await core.response.artifact(p.operator, 'cidr')).artifact.body.split('\n').filter((l) => l !== '' && !l.startsWith('#'))).toEqual(['198.51.100.7/32', '203.0.113.0/24', '2001:db8::/32']);
    const stix = JSON.parse((await core.response.artifact(p.council, 'stix')).artifact.body) as { objects: { type: string; object_marking_refs?: string[] }[] };
    expect(stix.objects.filter((o) => o.type === 'course-of-action')).toHaveLength(1);
    await expect(core.response.artifact(p.council, 'rpz')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(core.response.artifact(p.admin, 'rpz')).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});
