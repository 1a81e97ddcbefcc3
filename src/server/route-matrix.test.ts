import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES } from '#platform/context/index.js';
import { createTestApp } from './test-support/harness.js';
import { ROUTE_MATRIX } from './route-matrix.js';

const DUMMY_ID = '00000000-0000-7000-8000-000000000000';

describe('role × route', () => {
  let t: Awaited<ReturnType<typeof createTestApp>>;
  beforeAll(async () => { t = await createTestApp(); });
  afterAll(async () => { await t.close(); });

  const key = (r: { method: string; url: string }) => `${r.method} ${r.url}`;
  const apiRoutes = () => t.app.routes.filter((r) => !r.url.startsWith('/api/docs'));

  it('covers every registered route, and names no route that does not exist', () => {
    const registered = new Set(apiRoutes().map(key));
    expect([...registered].filter((k) => !(k in ROUTE_MATRIX)), 'routes missing from ROUTE_MATRIX').toEqual([]);
    expect(Object.keys(ROUTE_MATRIX).filter((k) => !registered.has(k)), 'ROUTE_MATRIX entries with no route').toEqual([]);
  });

  it('every route declares an access rule', () => {
    expect(apiRoutes().filter((r) => r.auth === undefined).map(key)).toEqual([]);
  });

  it('rejects anonymous callers on every non-public route with 401, and a bad token too', async () => {
    for (const r of apiRoutes()) {
      if (ROUTE_MATRIX[key(r)] === 'public') continue;
      const url = r.url.replace(/:[a-zA-Z]+/g, DUMMY_ID);
      const anon = await t.app.fastify.inject({ method: r.method as 'GET', url, ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { payload: {} }) });
      expect(anon.statusCode, `${key(r)} anonymous`).toBe(401);
      // TAXII routes answer with the TAXII error message, whose code is `error_code` (TAXII 2.1 §3.6.1).
      const body = anon.json() as { code?: string; error_code?: string };
      expect(body.code ?? body.error_code, `${key(r)} anonymous error code`).toBe('UNAUTHENTICATED');
      const forged = await t.app.fastify.inject({ method: r.method as 'GET', url, headers: { authorization: 'Bearer mmr_forged_token' }, ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { payload: {} }) });
      expect(forged.statusCode, `${key(r)} forged token`).toBe(401);
    }
  });

  it('answers each role as the table says: allowed roles pass authorization, others get 403', async () => {
    const failures: string[] = [];
    for (const r of apiRoutes()) {
      const expectation = ROUTE_MATRIX[key(r)]!;
      if (expectation === 'public') continue;
      const url = r.url.replace(/:[a-zA-Z]+/g, DUMMY_ID);
      for (const role of ROLES) {
        const allowed = expectation === 'signed-in' || expectation.includes(role);
        const res = await t.app.fastify.inject({ method: r.method as 'GET', url, headers: { authorization: `Bearer ${t.users.tokens[role]}` }, ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { payload: {} }) });
        const denied = res.statusCode === 403;
        if (res.statusCode === 401) failures.push(`${key(r)} as ${role}: 401 with a valid token`);
        else if (allowed === denied) failures.push(`${key(r)} as ${role}: expected ${allowed ? 'allowed' : '403'}, got ${res.statusCode} ${res.body.slice(0, 120)}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
