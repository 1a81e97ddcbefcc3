import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InjectOptions } from 'fastify';
import { systemContext } from '#platform/context/index.js';
import { createTestApp } from './test-support/harness.js';
import { findingMatches, parseEntity, targetMatches } from './entity-routes.js';

const PSEUDONYM = '9f86d081884c7d659a2feaa0c55ad015';

interface EntityAnswer {
  entity: { kind: string; value: string };
  findings: { status: string; items?: { id: string; subject: { value: string } }[] };
  cases: { status: string; items?: { id: string; title: string; findingIds: string[] }[] };
  measures: { status: string; items?: { id: string }[] };
  intel: { status: string; indicators?: { value: string }[]; sightings?: unknown[] };
}

describe('the entity pivot', () => {
  let t: Awaited<ReturnType<typeof createTestApp>>;
  let beacon: string;
  let scan: string;
  const call = async (token: string, o: InjectOptions) => t.app.fastify.inject({ ...o, headers: { ...(o.headers ?? {}), authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    t = await createTestApp();
    const sys = systemContext('test');
    const base = { level: 'alert' as const, score: 0.9, scoreDetail: { method: 'test', components: {} }, firstSeen: Date.parse('2026-03-31T00:00:00Z'), lastSeen: Date.parse('2026-03-31T06:00:00Z'), bases: [] };
    [beacon, scan] = await t.core.analysis.recordFindings(sys, [
      { ...base, kind: 'beacon', subject: { kind: 'address', value: '203.0.113.45' }, evidence: { intervalS: 60 }, hosts: [PSEUDONYM], hostCount: 1 },
      { ...base, kind: 'scan-horizontal', subject: { kind: 'address', value: '198.51.100.23' }, evidence: {}, hosts: [], hostCount: 0 },
    ]) as [string, string];
    const opened = await call(t.users.tokens.analyst, { method: 'POST', url: '/api/v1/cases', payload: { title: 'C2 at 203.0.113.45', findingIds: [beacon] } });
    expect(opened.statusCode, opened.body).toBe(201);
  });
  afterAll(async () => t.close());

  it('gathers the findings and cases of an address, and of the prefix holding it', async () => {
    for (const url of ['/api/v1/entities/address/203.0.113.45', '/api/v1/entities/prefix/203.0.113.0%2F24']) {
      const res = await call(t.users.tokens.analyst, { url });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json() as EntityAnswer;
      expect(body.findings.items?.map((f) => f.id)).toEqual([beacon]);
      expect(body.cases.items?.map((c) => [c.title, c.findingIds])).toEqual([['C2 at 203.0.113.45', [beacon]]]);
      expect(body.measures.status).toBe('ok');
      expect(body.intel.status).toBe('ok');
    }
    const other = (await call(t.users.tokens.analyst, { url: '/api/v1/entities/address/198.51.100.23' })).json() as EntityAnswer;
    expect(other.findings.items?.map((f) => f.id)).toEqual([scan]);
    expect(other.cases.items).toEqual([]);
  });

  it('finds a domestic host by its pseudonym among a finding\'s hosts', async () => {
    const body = (await call(t.users.tokens.commissioner, { url: `/api/v1/entities/pseudonym/${PSEUDONYM}` })).json() as EntityAnswer;
    expect(body.findings.items?.map((f) => f.id)).toEqual([beacon]);
  });

  it('audits the read by a hash of the entity, never the value itself', async () => {
    await call(t.users.tokens.nco_director, { url: '/api/v1/entities/address/203.0.113.45' });
    const entries = await t.core.audit.entries({ from: 0, to: (await t.core.audit.head()).size });
    const reads = entries.filter((e) => e.action === 'entity:read');
    expect(reads.length).toBeGreaterThan(0);
    expect(JSON.stringify(reads)).not.toContain('203.0.113.45');
    expect(reads.at(-1)!.object?.type).toBe('entity:address');
  });

  it('refuses roles that do not read findings, and bad values with what to write', async () => {
    for (const role of ['operator', 'council_member', 'admin', 'police'] as const) {
      const res = await call(t.users.tokens[role], { url: '/api/v1/entities/address/203.0.113.45' });
      expect(res.statusCode, role).toBe(403);
    }
    const bad = await call(t.users.tokens.analyst, { url: '/api/v1/entities/address/203.0.113.0%2F24' });
    expect(bad.statusCode).toBe(400);
    expect((bad.json() as { message: string }).message).toContain('without a prefix length');
    expect((await call(t.users.tokens.analyst, { url: '/api/v1/entities/planet/earth' })).statusCode).toBe(400);
  });

  it('matches findings and measure targets by containment, domains by suffix', () => {
    const f = { subject: { kind: 'address' as const, value: '203.0.113.45' }, hosts: [PSEUDONYM], evidence: { domains: ['stage.kumo-c2.example'] } };
    expect(findingMatches(parseEntity('prefix', '203.0.113.0/24'), f)).toBe(true);
    expect(findingMatches(parseEntity('prefix', '203.0.114.0/24'), f)).toBe(false);
    expect(findingMatches(parseEntity('domain', 'stage.kumo-c2.example'), f)).toBe(true);
    expect(findingMatches(parseEntity('pseudonym', PSEUDONYM.toUpperCase()), f)).toBe(true);
    expect(targetMatches(parseEntity('address', '198.51.100.66'), { prefixes: ['198.51.100.0/24'] })).toBe(true);
    expect(targetMatches(parseEntity('domain', 'a.kumo-c2.example'), { domains: ['kumo-c2.example'] })).toBe(true);
    expect(targetMatches(parseEntity('domain', 'kumo-c2.example.org'), { domains: ['kumo-c2.example'] })).toBe(false);
  });
});
