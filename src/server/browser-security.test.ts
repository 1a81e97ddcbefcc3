/** @module What the browser is told and checked for: CSP without an https upgrade on plain HTTP, and cookie writes from the site's own origin only. */
import type { InjectOptions } from 'light-my-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from './test-support/harness.js';

type T = Awaited<ReturnType<typeof createTestApp>>;

describe('browser security', () => {
  let t: T;
  let cookie: string;
  const inject = (o: InjectOptions) => t.app.fastify.inject(o);
  beforeAll(async () => {
    t = await createTestApp({ config: { server: { trustProxy: ['127.0.0.1'], publicUrl: 'https://mamori.example.go.jp' } } });
    const login = await inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin', password: 'correct horse admin battery' } });
    cookie = String(login.headers['set-cookie']).split(';')[0]!;
  });
  afterAll(async () => { await t.close(); });

  it('asks browsers to upgrade to https only when served over TLS', async () => {
    const plain = await inject({ method: 'GET', url: '/healthz', headers: { host: '10.1.2.3:8080' } });
    expect(plain.headers['content-security-policy']).toContain("default-src 'self'");
    expect(plain.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    const docs = await inject({ method: 'GET', url: '/api/docs' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-security-policy']).toContain("script-src 'self'");
    expect(docs.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    const tls = await inject({ method: 'GET', url: '/healthz', headers: { 'x-forwarded-proto': 'https' } });
    expect(tls.headers['content-security-policy']).toContain('upgrade-insecure-requests');
  });

  const createOrg = (headers: Record<string, string>, name: string) => inject({ method: 'POST', url: '/api/v1/orgs', headers: { cookie, ...headers }, payload: { name, kind: 'operator' } });

  it('refuses a cookie-authenticated write from another site, by Sec-Fetch-Site or by Origin', async () => {
    const bySite = await createOrg({ 'sec-fetch-site': 'same-site', origin: 'https://evil.example.go.jp' }, 'Cross Site One');
    expect(bySite.statusCode).toBe(403);
    expect(bySite.json()).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('Cross-site request refused') as string });
    expect((await createOrg({ 'sec-fetch-site': 'cross-site' }, 'Cross Site Two')).statusCode).toBe(403);
    expect((await createOrg({ origin: 'http://attacker.example' }, 'Cross Site Three')).statusCode).toBe(403);
    // Logging someone out from another site is refused as well.
    expect((await inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie, 'sec-fetch-site': 'cross-site' } })).statusCode).toBe(403);
    const orgs = (await inject({ method: 'GET', url: '/api/v1/orgs', headers: { cookie, 'sec-fetch-site': 'cross-site' } })).json() as { items: { name: string }[] };
    expect(orgs.items.map((o) => o.name).filter((n) => n.startsWith('Cross Site'))).toEqual([]);
  });

  it('lets the dashboard write: same-origin fetches, its own or the public origin, and non-browser clients', async () => {
    // What web/src/lib/api.ts sends from the dashboard: a same-origin fetch with the cookie.
    expect((await createOrg({ 'sec-fetch-site': 'same-origin', origin: 'http://localhost:80' }, 'Same Origin Co.')).statusCode).toBe(201);
    expect((await createOrg({ origin: 'http://localhost:80' }, 'Own Origin Co.')).statusCode).toBe(201);
    expect((await createOrg({ origin: 'https://mamori.example.go.jp' }, 'Public Origin Co.')).statusCode).toBe(201);
    expect((await createOrg({}, 'Curl Co.')).statusCode).toBe(201);
    // A bearer token is no ambient credential: no origin check.
    const r = await inject({ method: 'POST', url: '/api/v1/orgs', headers: { authorization: `Bearer ${t.users.tokens.admin}`, 'sec-fetch-site': 'cross-site' }, payload: { name: 'Token Co.', kind: 'operator' } });
    expect(r.statusCode).toBe(201);
  });
});
