import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InjectOptions } from 'fastify';
import { systemContext } from '#platform/context/index.js';
import { createTestApp } from '#server/test-support/harness.js';

interface Triaged { id: string; subject: { value: string }; triage: { state: string; reason: string | null; note: string | null; byName: string | null; caseIds: string[] } }
interface Detail extends Triaged { triageHistory: { op: string; reason: string | null; note: string | null; byName: string | null }[] }

describe('findings triage over HTTP: new, in a case, dismissed with a reason', () => {
  let t: Awaited<ReturnType<typeof createTestApp>>;
  const ids: Record<string, string> = {};
  const call = async (token: string, o: InjectOptions) => t.app.fastify.inject({ ...o, headers: { ...(o.headers ?? {}), authorization: `Bearer ${token}` } });
  const list = async (qs: string) => {
    const r = await call(t.users.tokens.analyst, { method: 'GET', url: `/api/v1/findings?${qs}` });
    expect(r.statusCode, r.body).toBe(200);
    return r.json() as { items: Triaged[]; nextCursor: string | null; total: number };
  };

  beforeAll(async () => {
    t = await createTestApp();
    const base = Date.parse('2026-04-01T00:00:00Z');
    const written = await t.core.analysis.recordFindings(systemContext('test'), ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4'].map((value, i) => ({
      kind: 'scan-horizontal' as const, subject: { kind: 'address' as const, value }, level: i === 0 ? 'alert' as const : 'info' as const, score: 0.5,
      scoreDetail: { method: 'test', components: {} }, evidence: {}, hosts: [], hostCount: 1, firstSeen: base, lastSeen: base + i * 3_600_000, bases: [],
    })));
    ['a', 'b', 'c', 'd'].forEach((k, i) => { ids[k] = written[i]!; });
  });
  afterAll(async () => { await t.close(); });

  it('lists every finding as new at first, with the state filter and the time bounds', async () => {
    const all = await list('limit=10');
    expect(all.items.map((f) => f.triage.state)).toEqual(['new', 'new', 'new', 'new']);
    expect((await list('state=new')).total).toBe(4);
    const window = await list('since=2026-04-01T01:00:00Z&until=2026-04-01T03:00:00Z');
    expect(window.items.map((f) => f.subject.value).sort()).toEqual(['198.51.100.2', '198.51.100.3']);
  });

  it('dismisses with a reason (audited, note kept out of the entry), moves a finding in a case, and filters by state', async () => {
    const d = await call(t.users.tokens.analyst, { method: 'POST', url: `/api/v1/findings/${ids['a']}/dismiss`, payload: { reason: 'false_positive', note: 'Our own scanner.' } });
    expect(d.statusCode, d.body).toBe(200);
    expect((d.json() as Detail).triage).toMatchObject({ state: 'dismissed', reason: 'false_positive', note: 'Our own scanner.', byName: 'Test analyst' });
    const c = await call(t.users.tokens.analyst, { method: 'POST', url: '/api/v1/cases', payload: { title: 'Scans', findingIds: [ids['b']] } });
    expect(c.statusCode, c.body).toBe(201);

    expect((await list('state=dismissed')).items.map((f) => f.id)).toEqual([ids['a']]);
    const inCase = await list('state=in-case');
    expect(inCase.items.map((f) => f.id)).toEqual([ids['b']]);
    expect(inCase.items[0]!.triage.caseIds).toEqual([(c.json() as { id: string }).id]);
    expect((await list('state=new')).items.map((f) => f.id).sort()).toEqual([ids['c'], ids['d']].sort());
    expect((await list('state=dismissed&level=info')).total).toBe(0);

    const entries = await t.core.audit.entries({ from: 0, to: 1_000_000, actions: ['findings:triage'] });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ object: { type: 'finding', id: ids['a'] }, details: { op: 'dismiss', reason: 'false_positive' } });
    expect(JSON.stringify(entries[0])).not.toContain('Our own scanner');
  });

  it('refuses a dismissal without a valid reason, or "other" without a note, and a second dismissal, changing nothing', async () => {
    const bad = await call(t.users.tokens.analyst, { method: 'POST', url: `/api/v1/findings/${ids['c']}/dismiss`, payload: { reason: 'boring' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    const other = await call(t.users.tokens.analyst, { method: 'POST', url: `/api/v1/findings/${ids['c']}/dismiss`, payload: { reason: 'other' } });
    expect(other.statusCode).toBe(400);
    expect(JSON.stringify(other.json())).toContain('note');
    const again = await call(t.users.tokens.analyst, { method: 'POST', url: `/api/v1/findings/${ids['a']}/dismiss`, payload: { reason: 'benign' } });
    expect(again.statusCode).toBe(409);
    const missing = await call(t.users.tokens.analyst, { method: 'POST', url: '/api/v1/findings/nope/dismiss', payload: { reason: 'benign' } });
    expect(missing.statusCode).toBe(404);
    expect((await list('state=dismissed')).total).toBe(1);
    expect((await list('state=new')).total).toBe(2);
  });

  it('reopens with a note (the history keeps both steps), refuses reopening what is not dismissed, and keeps other roles out', async () => {
    const noNote = await call(t.users.tokens.nco_director, { method: 'POST', url: `/api/v1/findings/${ids['a']}/reopen`, payload: {} });
    expect(noNote.statusCode).toBe(400);
    const r = await call(t.users.tokens.nco_director, { method: 'POST', url: `/api/v1/findings/${ids['a']}/reopen`, payload: { note: 'The scanner is not ours after all.' } });
    expect(r.statusCode, r.body).toBe(200);
    const d = r.json() as Detail;
    expect(d.triage.state).toBe('new');
    expect(d.triageHistory).toEqual([
      expect.objectContaining({ op: 'dismiss', reason: 'false_positive', byName: 'Test analyst' }),
      expect.objectContaining({ op: 'reopen', reason: null, note: 'The scanner is not ours after all.', byName: 'Test nco_director' }),
    ]);
    expect((await call(t.users.tokens.analyst, { method: 'POST', url: `/api/v1/findings/${ids['a']}/reopen`, payload: { note: 'x' } })).statusCode).toBe(409);
    expect((await call(t.users.tokens.commissioner, { method: 'POST', url: `/api/v1/findings/${ids['c']}/dismiss`, payload: { reason: 'benign' } })).statusCode).toBe(403);
    expect((await call(t.users.tokens.admin, { method: 'POST', url: `/api/v1/findings/${ids['c']}/dismiss`, payload: { reason: 'benign' } })).statusCode).toBe(403);
    const one = (await call(t.users.tokens.commissioner, { method: 'GET', url: `/api/v1/findings/${ids['a']}` })).json() as Detail;
    expect(one.triageHistory).toHaveLength(2);
  });

  it('filters cases by "closed" and finds the closed one', async () => {
    const c = await call(t.users.tokens.analyst, { method: 'POST', url: '/api/v1/cases', payload: { title: 'Done with' } });
    const id = (c.json() as { id: string }).id;
    expect((await call(t.users.tokens.analyst, { method: 'PATCH', url: `/api/v1/cases/${id}`, payload: { status: 'closed' } })).statusCode).toBe(200);
    const closed = (await call(t.users.tokens.analyst, { method: 'GET', url: '/api/v1/cases?status=closed' })).json() as { items: { id: string }[] };
    expect(closed.items.map((x) => x.id)).toEqual([id]);
    const open = (await call(t.users.tokens.analyst, { method: 'GET', url: '/api/v1/cases?status=open' })).json() as { items: { id: string }[] };
    expect(open.items.map((x) => x.id)).not.toContain(id);
  });
});
