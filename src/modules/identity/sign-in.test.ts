/** @module Sign-in under attack: throttling that slows without locking, one answer and one scrypt run for every kind of user, Basic auth alike. */
import type { InjectOptions } from 'light-my-request';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ManualClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { createTestApp } from '#server/test-support/harness.js';
import * as password from './password.js';

// Counts every scrypt run behind the service's password checks.
vi.mock('./password.js', async (importOriginal) => {
  const m = await importOriginal<typeof password>();
  return { ...m, verifyPassword: vi.fn(m.verifyPassword), hashPassword: vi.fn(m.hashPassword) };
});

type T = Awaited<ReturnType<typeof createTestApp>>;
const login = (t: T, username: string, pass: string, headers: Record<string, string> = {}, remoteAddress = '127.0.0.1') =>
  t.app.fastify.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password: pass }, headers, remoteAddress } as InjectOptions);
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('sign-in throttling', () => {
  let t: T;
  let clock: ManualClock;
  beforeAll(async () => {
    t = await createTestApp({ config: { auth: { maxFailedLogins: 3, backoffMaxSeconds: 60, loginRateLimitPerMinute: 8 }, server: { trustProxy: ['127.0.0.1'] } } });
    clock = t.core.clock as ManualClock;
  });
  afterAll(async () => { await t.close(); });

  it('slows an attacker with exponential backoff but never locks the owner out of a client it has used', async () => {
    const owner = { 'x-forwarded-for': '192.0.2.10' };
    expect((await login(t, 'operator', 'correct horse operator battery', owner)).statusCode).toBe(200);
    const attacker = { 'x-forwarded-for': '198.51.100.66' };
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await login(t, 'operator', `guess number ${i}!`, attacker)).statusCode);
    expect(codes).toEqual([401, 401, 401, 429, 429]);
    const slowed = await login(t, 'operator', 'correct horse operator battery', { 'x-forwarded-for': '203.0.113.5' });
    expect(slowed.statusCode).toBe(429);
    expect(slowed.json()).toMatchObject({ code: 'RATE_LIMITED' });
    expect(Number(slowed.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // The owner, from the client that signed in before, is not kept out (five failures locked the account before).
    expect((await login(t, 'operator', 'correct horse operator battery', owner)).statusCode).toBe(200);
    // The wait ends; it doubles with each further failure.
    clock.advance(1000);
    expect((await login(t, 'operator', 'guess number 5!', attacker)).statusCode).toBe(401);
    const next = await login(t, 'operator', 'guess number 6!', attacker);
    expect(next.statusCode).toBe(429);
    expect(next.headers['retry-after']).toBe('2');
    clock.advance(120_000);
  });

  it('answers unknown, disabled and wrong-password users alike, throttles them alike, and runs scrypt once for each', async () => {
    const sys = systemContext('test');
    await t.core.identity.createUser(sys, { username: 'gone-user', displayName: 'Gone', password: 'correct horse gone battery', roles: ['operator'] });
    await t.core.identity.disableUser(sys, 'gone-user');
    const verify = vi.mocked(password.verifyPassword);
    const hash = vi.mocked(password.hashPassword);
    const answers: Record<string, unknown[]> = {};
    for (const [i, name] of ['analyst', 'nobody-at-all', 'gone-user'].entries()) {
      const from = { 'x-forwarded-for': `198.51.100.${10 + i}` };
      const pass = name === 'gone-user' ? 'correct horse gone battery' : 'wrong password!!';
      answers[name] = [];
      for (let k = 0; k < 4; k++) {
        verify.mockClear();
        hash.mockClear();
        const r = await login(t, name, pass, from);
        answers[name]!.push({ status: r.statusCode, code: r.json().code, message: r.json().message, retryAfter: r.headers['retry-after'] });
        // One scrypt run per checked attempt, none for a throttled one: the same for every kind of user.
        expect(verify.mock.calls.length + hash.mock.calls.length).toBe(r.statusCode === 429 ? 0 : 1);
      }
    }
    expect(answers['nobody-at-all']).toEqual(answers['analyst']);
    expect(answers['gone-user']).toEqual(answers['analyst']);
    expect(answers['analyst']![0]).toEqual({ status: 401, code: 'INVALID_CREDENTIALS', message: 'Wrong username or password.', retryAfter: undefined });
    expect(answers['analyst']![3]).toMatchObject({ status: 429, code: 'RATE_LIMITED', retryAfter: '1' });
    clock.advance(120_000);
  });

  it('limits failures per client address, taking the address from the trusted proxy only', async () => {
    const from = { 'x-forwarded-for': '203.0.113.77' };
    for (let i = 0; i < 8; i++) expect((await login(t, `spray-${i}`, 'wrong password!!', from)).statusCode).toBe(401);
    expect((await login(t, 'spray-99', 'wrong password!!', from)).statusCode).toBe(429);
    // Another client behind the same proxy is another address.
    expect((await login(t, 'spray-99', 'wrong password!!', { 'x-forwarded-for': '203.0.113.78' })).statusCode).toBe(401);
    // A hop the configuration does not trust cannot choose its address: 192.0.2.200 is not a trusted proxy.
    for (let i = 0; i < 9; i++) await login(t, `spoof-${i}`, 'wrong password!!', { 'x-forwarded-for': `198.18.0.${i}` }, '192.0.2.200');
    expect((await login(t, 'spoof-x', 'wrong password!!', { 'x-forwarded-for': '198.18.1.1' }, '192.0.2.200')).statusCode).toBe(429);
    clock.advance(120_000);
  });

  it('lets only the free failures through when guesses are sent at once', async () => {
    const from = { 'x-forwarded-for': '198.51.100.123' };
    const codes = await Promise.all(Array.from({ length: 10 }, (_, i) => login(t, 'parallel-target', `parallel guess ${i}!`, from).then((r) => r.statusCode)));
    expect(codes.filter((c) => c === 401)).toHaveLength(3);
    expect(codes.filter((c) => c === 429)).toHaveLength(7);
    clock.advance(120_000);
  });

  it('does not count a sign-in that failed with an error against the account (a database or hashing outage)', async () => {
    const from = { 'x-forwarded-for': '198.51.100.124' };
    vi.mocked(password.verifyPassword).mockRejectedValue(new Error('scrypt unavailable'));
    for (let i = 0; i < 5; i++) expect((await login(t, 'outage-target', `guess ${i}!`, from)).statusCode).toBe(500);
    vi.mocked(password.verifyPassword).mockReset();
    const actual = await vi.importActual<typeof password>('./password.js');
    vi.mocked(password.verifyPassword).mockImplementation(actual.verifyPassword);
    // The three free failures are still there after the errors.
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await login(t, 'outage-target', `wrong ${i}!`, from)).statusCode);
    expect(codes).toEqual([401, 401, 401, 429]);
    clock.advance(120_000);
  });

  it('throttles HTTP Basic on TAXII the same way', async () => {
    const headers = (p: string) => ({ authorization: basic('council-member', p), accept: 'application/taxii+json;version=2.1', 'x-forwarded-for': '198.51.100.200' });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await t.app.fastify.inject({ method: 'GET', url: '/taxii2/', headers: headers(`wrong guess ${i}!`) })).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    const r = await t.app.fastify.inject({ method: 'GET', url: '/taxii2/', headers: headers('correct horse council_member battery') });
    expect(r.statusCode).toBe(429);
    expect(r.headers['retry-after']).toBeDefined();
    expect(r.json()).toMatchObject({ http_status: '429' });
    clock.advance(120_000);
    expect((await t.app.fastify.inject({ method: 'GET', url: '/taxii2/', headers: headers('correct horse council_member battery') })).statusCode).toBe(200);
  });

  it('audits every throttled attempt and counts it in /metrics', async () => {
    const entries = await t.core.audit.entries({ from: 0, to: 1_000_000 });
    const throttled = entries.filter((e) => e.action === 'session:throttle');
    const metrics = (await t.app.fastify.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${t.users.tokens.admin}` } })).body;
    const counted = [...metrics.matchAll(/^mamori_auth_throttled_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(throttled.length).toBeGreaterThanOrEqual(8);
    expect(counted).toBe(throttled.length);
    expect(metrics).toMatch(/mamori_auth_throttled_total\{scheme="basic",scope="account"\} \d+/);
    expect(metrics).toMatch(/mamori_auth_throttled_total\{scheme="password",scope="address"\} \d+/);
    expect(JSON.stringify(throttled)).not.toContain('operator"');
  });

  it('does not take a user id for a username', async () => {
    const users = (await t.app.fastify.inject({ method: 'GET', url: '/api/v1/users', headers: { authorization: `Bearer ${t.users.tokens.admin}` } })).json().items as { id: string; username: string }[];
    const police = users.find((u) => u.username === 'police')!;
    const r = await login(t, police.id, 'correct horse police battery', { 'x-forwarded-for': '192.0.2.99' });
    expect(r.statusCode).toBe(401);
    expect(r.json()).toMatchObject({ code: 'INVALID_CREDENTIALS' });
    const taken = await t.app.fastify.inject({ method: 'POST', url: '/api/v1/users', headers: { authorization: `Bearer ${t.users.tokens.admin}` }, payload: { username: police.id, displayName: 'x', password: 'correct horse x battery', roles: ['police'] } });
    expect(taken.statusCode).toBe(400);
    expect(taken.json().details).toEqual([{ path: 'username', message: expect.stringContaining('shape of a user id') as string }]);
  });
});
