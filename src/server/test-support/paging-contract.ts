/** @module The paging contract: keyset pages and streamed exports give every row once, in order, on SQLite and PostgreSQL alike. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext, type RequestContext } from '#platform/context/index.js';
import { isAppError } from '#platform/errors/index.js';
import { encodeCursor } from '#platform/paging/index.js';
import { seedReportRows } from '#modules/reporting/test-support/bulk.js';
import { newId } from '#platform/ids/index.js';
import { seedDemo } from '../../demo/seed.js';
import { buildApp, type App } from '../app.js';
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

  describe(`paging contract, every other API list: ${name}`, () => {
    let core: Core;
    let app: App;
    let cleanup: () => Promise<void>;
    const sys = systemContext('paging-contract');
    const tokens: Record<string, string> = {};

    /** Copies a stored row `n` times under new ids, its other columns (its sort time included) unchanged: ties to break by id. */
    async function cloneRows(table: string, n: number): Promise<void> {
      const k = core.db.kysely as unknown as { selectFrom(t: string): { selectAll(): { limit(n: number): { execute(): Promise<Record<string, unknown>[]> } } }; insertInto(t: string): { values(v: unknown): { execute(): Promise<unknown> } } };
      const [row] = await k.selectFrom(table).selectAll().limit(1).execute();
      expect(row, table).toBeDefined();
      for (let i = 0; i < n; i++) await k.insertInto(table).values({ ...row, id: newId() }).execute();
    }

    beforeAll(async () => {
      const db = await open();
      cleanup = db.cleanup;
      core = await createTestCore({ url: db.url });
      await seedDemo(core);
      for (const username of ['operator', 'analyst', 'director', 'chair', 'police', 'admin']) tokens[username] = (await core.identity.createToken(sys, { name: 'paging', expiresInDays: 1 }, username)).token;
      // Several rows of each list, many at the same (manual) clock time.
      for (let i = 0; i < 3; i++) {
        await core.sharing.createGroup(sys, { name: `Paging group ${i}`, description: 'paging' });
        await core.sharing.addFeed(sys, { name: `paging-feed-${i}`, url: `https://feed${i}.example/taxii2/api/collections/c${i}/`, auth: { kind: 'none' }, intervalSeconds: 3600, defaultConfidence: 50 });
        await core.identity.createToken(sys, { name: `paging ${i}`, expiresInDays: 1 }, 'analyst');
      }
      const orgs = await core.identity.listOrgs(sys);
      for (const o of orgs.slice(0, 3)) await core.sharing.addCouncilMember(sys, { orgId: o.id, clients: [] });
      for (const table of ['oversight_requests', 'oversight_approvals', 'oversight_emergency_actions', 'response_measures', 'sharing_drafts', 'legal_bases']) await cloneRows(table, 3);
      const chair = { actor: (await core.identity.authenticateToken(tokens['chair']!))!, requestId: 'paging' };
      for (let i = 0; i < 3; i++) await core.oversight.publishDietReport(chair, { from: '2026-01-01T00:00:00Z', to: '2027-01-01T00:00:00Z' });
      app = await buildApp(core);
    }, 120_000);
    afterAll(async () => {
      await app?.fastify.close();
      await core?.close();
      await cleanup?.();
    });

    // Each list, a role that sees all of it, and the table (and how to count it) the walk must match.
    const lists: { url: string; who: string | null; table: string; count?: string }[] = [
      { url: '/api/v1/oversight/requests', who: 'chair', table: 'oversight_requests' },
      { url: '/api/v1/oversight/approvals', who: 'chair', table: 'oversight_approvals' },
      { url: '/api/v1/oversight/emergency-actions', who: 'chair', table: 'oversight_emergency_actions' },
      { url: '/api/v1/oversight/published-reports', who: null, table: 'oversight_published_reports' },
      { url: '/api/v1/response/measures', who: 'police', table: 'response_measures' },
      { url: '/api/v1/sharing/drafts', who: 'director', table: 'sharing_drafts' },
      { url: '/api/v1/sharing/groups', who: 'director', table: 'sharing_groups' },
      { url: '/api/v1/sharing/council', who: 'analyst', table: 'sharing_council_members' },
      { url: '/api/v1/sharing/feeds', who: 'analyst', table: 'sharing_feeds' },
      { url: '/api/v1/legal-bases', who: 'chair', table: 'legal_bases' },
      { url: '/api/v1/users', who: 'admin', table: 'users' },
      { url: '/api/v1/orgs', who: 'admin', table: 'orgs' },
      { url: '/api/v1/tokens', who: 'admin', table: 'api_tokens' },
      { url: '/api/v1/registry/operators', who: 'analyst', table: 'registry_operators' },
      { url: '/api/v1/forms', who: 'operator', table: '' },
    ];
    const get = (url: string, who: string | null) => app.fastify.inject({ method: 'GET', url, headers: who === null ? {} : { authorization: `Bearer ${tokens[who]}` } });
    const keyOf = (item: Record<string, unknown>) => String(item['id'] ?? item['orgId'] ?? `${String(item['form'])}@${String(item['version'])}`);

    it.each(lists)('$url pages 2 at a time through every row once, in a stable order', async ({ url, who, table }) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await get(`${url}?limit=2${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`, who);
        expect(res.statusCode, res.body).toBe(200);
        const page = res.json<{ items: Record<string, unknown>[]; nextCursor: string | null }>();
        expect(Object.keys(page).sort()).toEqual(['items', 'nextCursor']);
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map(keyOf));
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== null && pages < 200);
      expect(new Set(seen).size).toBe(seen.length);
      const rows = table === '' ? core.reporting.listForms(sys, { limit: 500 }).items.length : Number(((await (core.db.kysely as unknown as { selectFrom(t: string): { select(f: unknown): { executeTakeFirstOrThrow(): Promise<{ n: unknown }> } } }).selectFrom(table).select((eb: { fn: { countAll(): { as(a: string): unknown } } }) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow())).n);
      expect(seen.length).toBe(rows);
      if (table !== '') expect(rows, `${table}: the walk needs several pages`).toBeGreaterThanOrEqual(3);
      // One page of everything gives the same rows in the same order.
      const whole = (await get(`${url}?limit=500`, who)).json<{ items: Record<string, unknown>[]; nextCursor: string | null }>();
      expect(whole.items.map(keyOf)).toEqual(seen);
      expect(whole.nextCursor).toBeNull();
    });

    it.each(lists)('$url refuses a bad limit or cursor with 400 naming it', async ({ url, who }) => {
      for (const [q, field] of [['limit=0', 'limit'], ['limit=501', 'limit'], ['limit=ten', 'limit'], ['cursor=garbage', 'cursor'], [`cursor=${encodeCursor([1])}`, 'cursor']] as const) {
        const res = await get(`${url}?${q}`, who);
        expect(res.statusCode, `${url}?${q}`).toBe(400);
        const body = res.json<{ code: string; message: string; details?: { path: string }[] }>();
        expect(body.code).toBe('VALIDATION_FAILED');
        expect(body.message.includes(field) || body.details?.some((d) => d.path === field), `${url}?${q}: ${body.message}`).toBe(true);
      }
    });
  });
}
