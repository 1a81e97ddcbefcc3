import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InjectOptions } from 'fastify';
import { systemContext } from '#platform/context/index.js';
import { createTestApp } from './test-support/harness.js';
import { addressIndicator, findingIndicators, reportIndicators } from './intel-wiring.js';

const PSEUDONYM = '9f86d081884c7d659a2feaa0c55ad015';
const PSEUDONYM_2 = 'a3f1c2b4d5e6f708192a3b4c5d6e7f80';
const OPERATOR = 'Test Electric Power Co.';

describe('intelligence drafts from findings, cases and incident reports', () => {
  let t: Awaited<ReturnType<typeof createTestApp>>;
  let findingId: string;
  let pseudoFindingId: string;
  let reportId: string;
  const call = async (token: string, o: InjectOptions) => t.app.fastify.inject({ ...o, headers: { ...(o.headers ?? {}), authorization: `Bearer ${token}` } });
  const analyst = () => t.users.tokens.analyst;

  beforeAll(async () => {
    t = await createTestApp();
    const sys = systemContext('test');
    const orgId = t.users.orgs[OPERATOR]!;
    await t.core.registry.designate(sys, { orgId, sector: 'electricity', designatedOn: '2026-01-15', contacts: [{ name: 'SOC desk', email: 'soc@example.jp', phone: '+81 3 0000 0000' }], regimes: [] });
    await t.core.registry.addRange(sys, orgId, { cidr: '192.0.2.0/24' });
    const base = { level: 'alert' as const, score: 0.9, scoreDetail: { method: 'test', components: {} }, firstSeen: Date.parse('2026-03-31T00:00:00Z'), lastSeen: Date.parse('2026-03-31T06:00:00Z'), bases: [] };
    [findingId, pseudoFindingId] = await t.core.analysis.recordFindings(sys, [
      { ...base, kind: 'beacon', subject: { kind: 'address', value: '203.0.113.45' }, evidence: { intervalS: 60, hosts: [PSEUDONYM] }, hosts: [PSEUDONYM, PSEUDONYM_2], hostCount: 2 },
      { ...base, kind: 'scan-horizontal', subject: { kind: 'pseudonym', value: PSEUDONYM_2 }, evidence: {}, hosts: [PSEUDONYM_2], hostCount: 1 },
    ]) as [string, string];
    const filed = await call(t.users.tokens.operator, {
      method: 'POST', url: '/api/v1/incidents',
      payload: {
        awareAt: '2026-03-31T12:00:00.000Z',
        items: { category: 'malware', operatorOverview: 'Electricity transmission operator', summary: `${OPERATOR}: beaconing from 192.0.2.10 to evil-c2[.]example`, affectedComputer: { description: 'EWS-3' }, technicalDetails: 'Dropper sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', response: 'Isolated', other: '' },
        indicators: [{ kind: 'ipv4', value: '198.51.100.7' }],
      },
    });
    expect(filed.statusCode, filed.body).toBe(201);
    reportId = (filed.json() as { report: { id: string } }).report.id;
  });
  afterAll(async () => { await t.close(); });

  it('a finding with a foreign subject and pseudonymous hosts becomes a draft whose bundle holds the address and no pseudonym', async () => {
    const res = await call(analyst(), { method: 'POST', url: `/api/v1/sharing/drafts/from-finding/${findingId}`, payload: { tlp: 'green' } });
    expect(res.statusCode, res.body).toBe(201);
    const draft = (res.json() as { draft: { id: string; status: string; tlp: string; sourceRef: unknown; objects: { type: string; pattern?: string }[] } }).draft;
    expect(draft).toMatchObject({ status: 'draft', tlp: 'green', sourceRef: { type: 'finding', id: findingId } });
    expect(draft.objects.filter((o) => o.type === 'indicator').map((o) => o.pattern)).toEqual(["[ipv4-addr:value = '203.0.113.45']"]);
    const text = JSON.stringify(draft);
    expect(text).not.toContain(PSEUDONYM);
    expect(text).not.toContain(PSEUDONYM_2);

    // The NCO director releases it (the existing route) and the group's bundle carries the address, still no pseudonym.
    const director = t.users.tokens.nco_director;
    const group = await call(director, { method: 'POST', url: '/api/v1/sharing/groups', payload: { name: 'Electricity ISAC' } });
    expect(group.statusCode, group.body).toBe(201);
    const groupId = (group.json() as { group: { id: string } }).group.id;
    const rel = await call(director, { method: 'POST', url: `/api/v1/sharing/drafts/${draft.id}/release`, payload: { groupIds: [groupId] } });
    expect(rel.statusCode, rel.body).toBe(200);
    const bundle = await call(director, { method: 'GET', url: `/api/v1/sharing/groups/${groupId}/bundle` });
    expect(bundle.statusCode, bundle.body).toBe(200);
    expect(bundle.body).toContain('203.0.113.45');
    expect(bundle.body).not.toContain(PSEUDONYM);
    expect(bundle.body).not.toContain(PSEUDONYM_2);
  });

  it('refuses a finding whose subject is a pseudonym: nothing shareable', async () => {
    const res = await call(analyst(), { method: 'POST', url: `/api/v1/sharing/drafts/from-finding/${pseudoFindingId}`, payload: {} });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.body).not.toContain(PSEUDONYM_2);
  });

  it('a report draft hides the operator (and its own addresses) unless it consented to be named', async () => {
    const anon = await call(analyst(), { method: 'POST', url: `/api/v1/sharing/drafts/from-report/${reportId}`, payload: {} });
    expect(anon.statusCode, anon.body).toBe(201);
    const a = JSON.stringify((anon.json() as { draft: unknown }).draft);
    expect(a).not.toContain(OPERATOR);
    expect(a).toContain('a designated operator');
    expect(a).toContain('198.51.100.7');
    expect(a).toContain('evil-c2.example');
    expect(a).toContain('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(a).not.toContain('192.0.2.10');

    const consent = await call(t.users.tokens.operator, { method: 'PUT', url: `/api/v1/incidents/${reportId}/naming-consent`, payload: { operatorNamed: true } });
    expect(consent.statusCode, consent.body).toBe(200);
    const named = await call(analyst(), { method: 'POST', url: `/api/v1/sharing/drafts/from-report/${reportId}`, payload: {} });
    expect(named.statusCode, named.body).toBe(201);
    expect(JSON.stringify((named.json() as { draft: unknown }).draft)).toContain(OPERATOR);
    await call(t.users.tokens.operator, { method: 'PUT', url: `/api/v1/incidents/${reportId}/naming-consent`, payload: { operatorNamed: false } });
  });

  it('a case draft gathers its findings and reports, without pseudonyms or the unconsented operator', async () => {
    const c = await t.core.analysis.createCase(t.users.ctx.analyst, { title: 'Beaconing to 203.0.113.45', findingIds: [findingId, pseudoFindingId] });
    await t.core.analysis.addCaseItem(t.users.ctx.analyst, c.id, { type: 'report', id: reportId });
    const res = await call(analyst(), { method: 'POST', url: `/api/v1/sharing/drafts/from-case/${c.id}`, payload: { tlp: 'amber' } });
    expect(res.statusCode, res.body).toBe(201);
    const draft = (res.json() as { draft: { sourceRef: unknown; objects: { type: string; pattern?: string }[] } }).draft;
    expect(draft.sourceRef).toEqual({ type: 'case', id: c.id });
    expect(draft.objects.filter((o) => o.type === 'indicator')).toHaveLength(4);
    const text = JSON.stringify(draft);
    for (const v of ['203.0.113.45', '198.51.100.7', 'evil-c2.example']) expect(text).toContain(v);
    for (const v of [PSEUDONYM, PSEUDONYM_2, OPERATOR, '192.0.2.10']) expect(text).not.toContain(v);
  });

  it('only analysts and the NCO director draft; others get 403; unknown sources 404; stray fields 400', async () => {
    for (const role of ['operator', 'council_member', 'commissioner', 'ministry', 'admin'] as const) {
      const res = await call(t.users.tokens[role], { method: 'POST', url: `/api/v1/sharing/drafts/from-finding/${findingId}`, payload: {} });
      expect(res.statusCode, role).toBe(403);
    }
    expect((await call(analyst(), { method: 'POST', url: '/api/v1/sharing/drafts/from-finding/00000000-0000-7000-8000-000000000000', payload: {} })).statusCode).toBe(404);
    expect((await call(analyst(), { method: 'POST', url: `/api/v1/sharing/drafts/from-finding/${findingId}`, payload: { indicators: [{ kind: 'pseudonym', value: PSEUDONYM }] } })).statusCode).toBe(400);
  });

  it('keeps only public addresses and prefixes; drops private ones and the operator\'s ranges', () => {
    expect(addressIndicator('203.0.113.0/24')).toEqual({ kind: 'ipv4', value: '203.0.113.0/24' });
    expect(addressIndicator('2001:DB8::1')).toEqual({ kind: 'ipv6', value: '2001:db8::1' });
    for (const v of ['10.1.2.3', '192.168.0.1', '127.0.0.1', 'fe80::1', '1.2.3.4/33', 'not-an-ip', PSEUDONYM]) expect(addressIndicator(v), v).toBeUndefined();
    expect(findingIndicators({ subject: { kind: 'pseudonym', value: PSEUDONYM } })).toEqual([]);
    expect(findingIndicators({ subject: { kind: 'asn', value: 'AS64500' } })).toEqual([]);
    expect(findingIndicators({ subject: { kind: 'prefix', value: '198.51.100.0/24' } })).toEqual([{ kind: 'ipv4', value: '198.51.100.0/24' }]);
    expect(reportIndicators({ indicators: [{ kind: 'ipv4', value: '192.0.2.10' }, { kind: 'ipv4', value: '198.51.100.7' }, { kind: 'domain', value: 'evil.example' }] }, ['192.0.2.0/24']))
      .toEqual([{ kind: 'ipv4', value: '198.51.100.7' }, { kind: 'domain', value: 'evil.example' }]);
  });
});
