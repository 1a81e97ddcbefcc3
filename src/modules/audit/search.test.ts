import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InjectOptions } from 'fastify';
import { systemContext } from '#platform/context/index.js';
import { createTestApp } from '#server/test-support/harness.js';

interface Entry { index: number; actor: { kind: string; username: string }; action: string; object: { type: string; id: string } | null; outcome: string; time: string }
interface SearchPage { items: Entry[]; nextCursor: string | null }

describe('the audit search: actor, action, object, outcome, time, system writes hidden on request, paged', () => {
  let t: Awaited<ReturnType<typeof createTestApp>>;
  let findingId = '';
  const call = async (token: string, o: InjectOptions) => t.app.fastify.inject({ ...o, headers: { ...(o.headers ?? {}), authorization: `Bearer ${token}` } });
  const search = async (qs: string) => {
    const r = await call(t.users.tokens.commissioner, { method: 'GET', url: `/api/v1/audit/search?${qs}` });
    expect(r.statusCode, r.body).toBe(200);
    return r.json() as SearchPage;
  };

  beforeAll(async () => {
    t = await createTestApp();
    const at = Date.parse('2026-04-01T00:00:00Z');
    [findingId] = await t.core.analysis.recordFindings(systemContext('pipeline'), [{
      kind: 'beacon', subject: { kind: 'address', value: '198.51.100.7' }, level: 'alert', score: 0.9, scoreDetail: { method: 't', components: {} },
      evidence: {}, hosts: [], hostCount: 1, firstSeen: at, lastSeen: at, bases: [],
    }]) as [string];
    for (let i = 0; i < 3; i++) expect((await call(t.users.tokens.analyst, { method: 'GET', url: `/api/v1/findings/${findingId}` })).statusCode).toBe(200);
    expect((await call(t.users.tokens.analyst, { method: 'GET', url: '/api/v1/findings/missing' })).statusCode).toBe(404);
  });
  afterAll(async () => { await t.close(); });

  it('finds a person by username, an action, an object and an outcome, newest first', async () => {
    const byAnalyst = await search('actor=analyst&action=findings:read&objectType=finding');
    expect(byAnalyst.items.map((e) => e.object?.id)).toEqual(['missing', findingId, findingId, findingId]);
    expect(byAnalyst.items.every((e) => e.actor.username === 'analyst')).toBe(true);
    expect(byAnalyst.items.map((e) => e.index)).toEqual([...byAnalyst.items.map((e) => e.index)].sort((a, b) => b - a));
    expect((await search(`objectId=${findingId}&outcome=failure`)).items).toEqual([]);
    expect((await search('objectId=missing&outcome=failure')).items).toHaveLength(1);
    const family = await search('action=findings:&actor=analyst');
    expect(family.items.length).toBe(4);
  });

  it('hides the system and pipeline writes when asked, shows them alone, and finds one system component', async () => {
    const all = await search('limit=500');
    expect(all.items.some((e) => e.actor.kind === 'system')).toBe(true);
    const people = await search('system=exclude&limit=500');
    expect(people.items.length).toBeGreaterThan(0);
    expect(people.items.some((e) => e.actor.kind === 'system')).toBe(false);
    const only = await search('system=only&limit=500');
    expect(only.items.every((e) => e.actor.kind === 'system')).toBe(true);
    // Each search appends its own (a person's) entry: compare within what the first search saw.
    const top = all.items[0]!.index;
    const within = (p: SearchPage) => p.items.filter((e) => e.index <= top).length;
    expect(within(people) + within(only)).toBe(all.items.length);
    const pipeline = await search('actor=system:pipeline&action=findings:write');
    expect(pipeline.items.map((e) => e.object?.id)).toEqual([findingId]);
  });

  it('bounds by time and pages through the cursor, losing and repeating nothing', async () => {
    const all = await search('limit=500');
    const walked: number[] = [];
    let cursor: string | null = null;
    do {
      const page: SearchPage = await search(`limit=7${cursor !== null ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      walked.push(...page.items.map((e) => e.index));
      cursor = page.nextCursor;
    } while (cursor !== null);
    // The search's own reads are appended while paging: the walk covers at least what the first search saw.
    expect(new Set(walked).size).toBe(walked.length);
    for (const e of all.items) expect(walked).toContain(e.index);
    const first = all.items[all.items.length - 1]!;
    expect((await search(`until=${encodeURIComponent(first.time)}`)).items).toEqual([]);
    expect((await search(`since=${encodeURIComponent(first.time)}&limit=500`)).items.length).toBeGreaterThanOrEqual(all.items.length);
  });

  it('refuses bad filters with a clear error and keeps other roles out', async () => {
    const bad = await call(t.users.tokens.commissioner, { method: 'GET', url: '/api/v1/audit/search?system=maybe&since=yesterday' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(JSON.stringify(bad.json())).toContain('since');
    expect((await call(t.users.tokens.analyst, { method: 'GET', url: '/api/v1/audit/search' })).statusCode).toBe(403);
    expect((await call(t.users.tokens.admin, { method: 'GET', url: '/api/v1/audit/search' })).statusCode).toBe(403);
  });
});
