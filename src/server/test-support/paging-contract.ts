/** @module The paging contract: keyset pages and streamed exports give every row once, in order, on SQLite and PostgreSQL alike. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext, type RequestContext } from '#platform/context/index.js';
import { isAppError } from '#platform/errors/index.js';
import { encodeCursor } from '#platform/paging/index.js';
import { seedReportRows } from '#modules/reporting/test-support/bulk.js';
import type { Core } from '../core.js';
import { createTestCore } from './harness.js';

/** Registers the paging contract against databases produced by `open` (a fresh one per suite). */
export function describePagingContract(name: string, open: () => Promise<{ url: string; cleanup(): Promise<void> }>): void {
  describe(`paging contract: ${name}`, () => {
    let core: Core;
    let cleanup: () => Promise<void>;
    const sys = systemContext('paging-contract');
    let gasIds: string[] = [];
    let waterIds: string[] = [];
    let operator: RequestContext;
    let ministry: RequestContext;

    beforeAll(async () => {
      const db = await open();
      cleanup = db.cleanup;
      core = await createTestCore({ url: db.url });
      const gas = await core.identity.createOrg(sys, { name: 'Paging Gas Co.', kind: 'operator', sectors: ['gas'] });
      const water = await core.identity.createOrg(sys, { name: 'Paging Water Co.', kind: 'operator', sectors: ['water'] });
      // Three reports share each creation time, so pages must break ties by id to lose or repeat none.
      gasIds = await seedReportRows(core.db.kysely, { orgId: gas.id, sector: 'gas', count: 23, startMs: Date.parse('2026-04-01T00:00:00Z'), tie: 3, batch: 7 });
      waterIds = await seedReportRows(core.db.kysely, { orgId: water.id, sector: 'water', count: 5, startMs: Date.parse('2026-04-01T00:00:00Z'), tie: 3 });
      operator = { actor: { kind: 'user', id: 'paging-op', username: 'paging-op', roles: ['operator'], orgId: gas.id, sectors: ['gas'] }, requestId: 'paging' };
      ministry = { actor: { kind: 'user', id: 'paging-min', username: 'paging-min', roles: ['ministry'], orgId: null, sectors: ['water'] }, requestId: 'paging' };
    });
    afterAll(async () => {
      await core?.close();
      await cleanup?.();
    });

    async function walk(ctx: RequestContext, limit: number): Promise<{ ids: string[]; pages: number }> {
      const ids: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await core.reporting.listIncidents(ctx, { limit, ...(cursor !== undefined ? { cursor } : {}) });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        ids.push(...page.items.map((i) => i.id));
        cursor = page.nextCursor ?? undefined;
        pages++;
      } while (cursor !== undefined && pages < 100);
      return { ids, pages };
    }

    it('pages through every report once, newest first, ties broken by id', async () => {
      const all = await walk(sys, 4);
      expect(all.pages).toBe(Math.ceil(28 / 4));
      expect(new Set(all.ids).size).toBe(28);
      const sorted = await core.db.kysely.selectFrom('incident_reports').select(['id']).orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
      expect(all.ids).toEqual(sorted.map((r) => (r as { id: string }).id));
    });

    it('keeps each caller to its scope on every page', async () => {
      expect((await walk(operator, 5)).ids.sort()).toEqual([...gasIds].sort());
      expect((await walk(ministry, 2)).ids.sort()).toEqual([...waterIds].sort());
    });

    it('pages the inbox by the same rule', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await core.reporting.listInbox(ministry, { limit: 3, ...(cursor !== undefined ? { cursor } : {}) });
        seen.push(...page.items.map((i) => i.reportId ?? ''));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      expect(seen.sort()).toEqual([...waterIds].sort());
    });

    it('streams the export in bounded chunks, oldest first, each chunk audited', async () => {
      const before = (await core.audit.head()).size;
      const chunks: string[][] = [];
      for await (const c of core.reporting.exportIncidents(operator, 'json', { chunk: 6 })) chunks.push(c.map((r) => r.id));
      expect(chunks.map((c) => c.length)).toEqual([6, 6, 6, 5]);
      expect(chunks.flat()).toEqual(gasIds);
      expect((await core.audit.head()).size - before).toBe(4);
    });

    it('stops an export whose signal aborted with an error, never as if it were complete', async () => {
      const ctrl = new AbortController();
      const got: string[] = [];
      await expect((async () => {
        for await (const c of core.reporting.exportIncidents(sys, 'csv', { chunk: 5, signal: ctrl.signal })) {
          got.push(...c.map((r) => r.id));
          ctrl.abort();
        }
      })()).rejects.toSatisfy((e: unknown) => isAppError(e) && e.code === 'UNAVAILABLE');
      expect(got).toHaveLength(5);
    });

    it('pages findings and cases by the same rule', async () => {
      const analyst: RequestContext = { actor: { kind: 'user', id: 'paging-analyst', username: 'paging-analyst', roles: ['analyst'], orgId: null, sectors: [] }, requestId: 'paging' };
      const at = Date.parse('2026-04-01T00:00:00Z');
      const ids = await core.analysis.recordFindings(sys, Array.from({ length: 7 }, (_, i) => ({
        kind: 'beacon' as const, subject: { kind: 'address' as const, value: `198.51.100.${i + 1}` }, level: 'suspect' as const, score: 0.5,
        scoreDetail: { method: 'paging', components: {} }, evidence: {}, firstSeen: at, lastSeen: at + Math.floor(i / 2) * 60_000, hosts: [], hostCount: 0, bases: [],
      })));
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await core.analysis.listFindings(analyst, { limit: 3, ...(cursor !== undefined ? { cursor } : {}) });
        expect(page.total).toBe(7);
        seen.push(...page.items.map((f) => f.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      expect(seen.sort()).toEqual([...ids].sort());
      for (let i = 0; i < 5; i++) await core.analysis.createCase(analyst, { title: `Paging case ${i}`, findingIds: [] });
      const first = await core.analysis.listCases(analyst, { limit: 2 });
      const rest = await core.analysis.listCases(analyst, { limit: 10, cursor: first.nextCursor! });
      expect(new Set([...first.items, ...rest.items].map((c) => c.id)).size).toBe(5);
      expect(rest.nextCursor).toBeNull();
    });

    it('refuses a cursor of another shape with a clear error', async () => {
      for (const cursor of ['garbage', encodeCursor([1, 2]), encodeCursor(['2026-04-01T00:00:00.000Z'])]) {
        await expect(core.reporting.listIncidents(sys, { limit: 5, cursor })).rejects.toSatisfy((e: unknown) => isAppError(e) && e.code === 'VALIDATION_FAILED' && e.message.includes('cursor'));
      }
    });
  });
}
