import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext, type RequestContext } from '#platform/context/index.js';
import type { Core } from '#server/core.js';
import { createTestCore } from '#server/test-support/harness.js';
import { createFreshPgDatabase } from '#server/test-support/pg.js';

// The triage state filter is SQL (EXISTS over dismissals and case items): PostgreSQL must answer it as SQLite does.
describe('findings triage on PostgreSQL', () => {
  let core: Core;
  let drop: () => Promise<void>;
  const analyst: RequestContext = { actor: { kind: 'user', id: 'triage-analyst', username: 'triage-analyst', roles: ['analyst'], orgId: null, sectors: [] }, requestId: 'triage' };
  let ids: string[] = [];

  beforeAll(async () => {
    const db = await createFreshPgDatabase();
    drop = db.drop;
    core = await createTestCore({ url: db.url });
    const at = Date.parse('2026-04-01T00:00:00Z');
    ids = await core.analysis.recordFindings(systemContext('test'), Array.from({ length: 5 }, (_, i) => ({
      kind: 'beacon' as const, subject: { kind: 'address' as const, value: `198.51.100.${i + 1}` }, level: 'suspect' as const, score: 0.5,
      scoreDetail: { method: 'triage', components: {} }, evidence: {}, firstSeen: at, lastSeen: at + i * 60_000, hosts: [], hostCount: 0, bases: [],
    })));
  });
  afterAll(async () => {
    await core?.close();
    await drop?.();
  });

  it('filters by state, pages within a state, and reopens', async () => {
    await core.analysis.triageFinding(analyst, ids[0]!, 'dismiss', { reason: 'duplicate' });
    await core.analysis.triageFinding(analyst, ids[1]!, 'dismiss', { reason: 'other', note: 'Lab traffic.' });
    await core.analysis.createCase(analyst, { title: 'Held', findingIds: [ids[2]!, ids[1]!] });
    const state = async (s: 'new' | 'in-case' | 'dismissed') => (await core.analysis.listFindings(analyst, { state: s, limit: 10 })).items.map((f) => f.id).sort();
    expect(await state('dismissed')).toEqual([ids[0]!, ids[1]!].sort());
    expect(await state('in-case')).toEqual([ids[2]!]);
    expect(await state('new')).toEqual([ids[3]!, ids[4]!].sort());
    const first = await core.analysis.listFindings(analyst, { state: 'dismissed', limit: 1 });
    const rest = await core.analysis.listFindings(analyst, { state: 'dismissed', limit: 1, cursor: first.nextCursor! });
    expect([...first.items, ...rest.items].map((f) => f.id).sort()).toEqual([ids[0]!, ids[1]!].sort());
    expect(first.total).toBe(2);
    const back = await core.analysis.triageFinding(analyst, ids[1]!, 'reopen', { note: 'Not lab traffic.' });
    expect(back.triage.state).toBe('in-case');
    expect(back.triageHistory.map((e) => e.op)).toEqual(['dismiss', 'reopen']);
  });
});
