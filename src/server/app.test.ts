import type { InjectOptions } from 'light-my-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManualClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { createTestApp } from './test-support/harness.js';

describe('HTTP app', () => {
  let t: Awaited<ReturnType<typeof createTestApp>>;
  beforeAll(async () => {
    t = await createTestApp({ config: { auth: { loginRateLimitPerMinute: 1000, maxFailedLogins: 3 } } });
  });
  afterAll(async () => { await t.close(); });
  const inject = (o: InjectOptions) => t.app.fastify.inject(o);

  it('answers health, readiness and metrics', async () => {
    expect((await inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await inject({ method: 'GET', url: '/readyz' })).json()).toMatchObject({ status: 'ready' });
    const m = await inject({ method: 'GET', url: '/metrics' });
    expect(m.headers['content-type']).toContain('text/plain');
    expect(m.body).toContain('# TYPE mamori_http_requests_total counter');
  });

  it('puts a request id and security headers on every response, errors included', async () => {
    const r = await inject({ method: 'GET', url: '/nope' });
    expect(r.statusCode).toBe(404);
    expect(r.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.json()).toEqual({ code: 'NOT_FOUND', message: expect.stringContaining('/api/docs') as string, requestId: r.headers['x-request-id'] });
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['content-security-policy']).toContain("default-src 'self'");
    expect(r.headers['strict-transport-security']).toContain('max-age');
    expect(r.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(r.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(r.headers['referrer-policy']).toBe('no-referrer');
  });

  it('serves the OpenAPI document and UI', async () => {
    const doc = await inject({ method: 'GET', url: '/api/docs/json' });
    expect(doc.statusCode).toBe(200);
    expect(doc.json()).toMatchObject({ openapi: '3.1.0', paths: { '/api/v1/users': {} } });
    expect((await inject({ method: 'GET', url: '/api/docs' })).statusCode).toBeLessThan(400);
  });

  it('signs in with a cookie that is httpOnly, SameSite=Strict, and ends it on logout', async () => {
    const login = await inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'analyst', password: 'correct horse analyst battery' } });
    expect(login.statusCode).toBe(200);
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(/mamori_session=[^;]+;/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    const cookie = setCookie.split(';')[0]!;
    const me = await inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie } });
    expect(me.json()).toMatchObject({ actor: { username: 'analyst', roles: ['analyst'] } });
    await inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie } });
    expect((await inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie } })).statusCode).toBe(401);
  });

  it('answers wrong credentials alike, slows repeated failures without locking, and leaks no detail', async () => {
    const bad = await inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'operator', password: 'wrong password!!' } });
    expect(bad.statusCode).toBe(401);
    expect(bad.json()).toMatchObject({ code: 'INVALID_CREDENTIALS', message: 'Wrong username or password.' });
    const unknown = await inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'nobody-here', password: 'wrong password!!' } });
    expect(unknown.json()).toMatchObject({ code: 'INVALID_CREDENTIALS', message: 'Wrong username or password.' });
    await inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'operator', password: 'wrong password!!' } });
    await inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'operator', password: 'wrong password!!' } });
    const fourth = await inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'operator', password: 'correct horse operator battery' } });
    expect(fourth.json()).toMatchObject({ code: 'RATE_LIMITED' });
    expect(fourth.headers['retry-after']).toBe('1');
    (t.core.clock as ManualClock).advance(1000);
    const right = await inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'operator', password: 'correct horse operator battery' } });
    expect(right.statusCode).toBe(200);
  });

  it('rejects bad bodies with a clear error and changes nothing', async () => {
    const admin = { authorization: `Bearer ${t.users.tokens.admin}` };
    const before = (await inject({ method: 'GET', url: '/api/v1/users', headers: admin })).json().items.length as number;
    const r = await inject({ method: 'POST', url: '/api/v1/users', headers: admin, payload: { username: 'X', displayName: 'x', password: 'short', roles: ['wizard'], extra: 1 } });
    expect(r.statusCode).toBe(400);
    const body = r.json();
    expect(body.code).toBe('VALIDATION_FAILED');
    expect([...new Set(body.details.map((d: { path: string }) => d.path))].sort()).toEqual(['extra', 'password', 'roles.0', 'username']);
    expect(JSON.stringify(body)).not.toContain('short');
    const malformed = await inject({ method: 'POST', url: '/api/v1/users', headers: { ...admin, 'content-type': 'application/json' }, payload: '{"username":' });
    expect(malformed.json()).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('not valid JSON') as string });
    const wrongType = await inject({ method: 'POST', url: '/api/v1/users', headers: { ...admin, 'content-type': 'application/xml' }, payload: '<user/>' });
    expect(wrongType.statusCode).toBe(415);
    expect((await inject({ method: 'GET', url: '/api/v1/users', headers: admin })).json().items.length).toBe(before);
  });

  it('refuses bodies over the size limit', async () => {
    const r = await inject({ method: 'POST', url: '/api/v1/orgs', headers: { authorization: `Bearer ${t.users.tokens.admin}` }, payload: { name: 'x'.repeat(2 * 1024 * 1024), kind: 'operator' } });
    expect(r.statusCode).toBe(413);
    expect(r.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('creates, uses and revokes an API token; a token cannot exceed its owner\'s roles', async () => {
    const login = await inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'police', password: 'correct horse police battery' } });
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const tooMuch = await inject({ method: 'POST', url: '/api/v1/tokens', headers: { cookie }, payload: { name: 'x', roles: ['sdf'] } });
    expect(tooMuch.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    const created = await inject({ method: 'POST', url: '/api/v1/tokens', headers: { cookie }, payload: { name: 'ci', expiresInDays: 7 } });
    expect(created.statusCode).toBe(201);
    const { token, meta } = created.json();
    expect((await inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${token}` } })).json()).toMatchObject({ actor: { kind: 'token', roles: ['police'] } });
    expect((await inject({ method: 'DELETE', url: `/api/v1/tokens/${meta.id}`, headers: { cookie } })).statusCode).toBe(200);
    expect((await inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(401);
    // Someone else's token cannot be revoked by a non-administrator.
    const other = await t.core.identity.createToken(systemContext('test'), { name: 'other' }, 'sdf');
    expect((await inject({ method: 'DELETE', url: `/api/v1/tokens/${other.meta.id}`, headers: { cookie } })).statusCode).toBe(403);
  });

  it('prints the configuration to admins with secrets redacted', async () => {
    const r = await inject({ method: 'GET', url: '/api/v1/config', headers: { authorization: `Bearer ${t.users.tokens.admin}` } });
    expect(r.json().config.server.host).toBe('127.0.0.1');
  });

  it('publishes the policy and its hash', async () => {
    const r = (await inject({ method: 'GET', url: '/api/v1/policy' })).json();
    expect(r.hash).toBe(t.core.policy.hash);
    expect(r.policy).toContain('permit');
  });

  it('audits sign-ins and administrative changes', async () => {
    const entries = await t.core.audit.entries({ from: 0, to: 1_000_000 });
    const actions = new Set(entries.map((e) => e.action));
    expect(actions).toContain('session:login');
    expect(actions).toContain('user:create');
    expect(actions).toContain('token:revoke');
    for (const e of entries) expect(e.policyHash).toBe(t.core.policy.hash);
    expect(JSON.stringify(entries)).not.toContain('correct horse');
  });
});
