/** @module Who may read /metrics (it names every exporter address): the configured scraper token, or this host when none is set. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from './test-support/harness.js';

type T = Awaited<ReturnType<typeof createTestApp>>;
const TOKEN = 'scrape-0123456789abcdef0123456789abcdef';

describe('/metrics access', () => {
  let open: T;
  let guarded: T;
  beforeAll(async () => {
    open = await createTestApp();
    guarded = await createTestApp({ config: { secrets: { metricsToken: TOKEN } } });
  });
  afterAll(async () => { await open.close(); await guarded.close(); });

  it('without a token, answers loopback clients only', async () => {
    expect((await open.app.fastify.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' })).statusCode).toBe(200);
    expect((await open.app.fastify.inject({ method: 'GET', url: '/metrics', remoteAddress: '::1' })).statusCode).toBe(200);
    const far = await open.app.fastify.inject({ method: 'GET', url: '/metrics', remoteAddress: '203.0.113.5' });
    expect(far.statusCode).toBe(403);
    expect(far.json()).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('secrets.metricsToken') as string });
    expect(far.body).not.toContain('mamori_http_requests_total');
  });

  it('with a token, demands it from everyone and redacts it from the printed configuration', async () => {
    const none = await guarded.app.fastify.inject({ method: 'GET', url: '/metrics' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toContain('Bearer');
    expect((await guarded.app.fastify.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}x` } })).statusCode).toBe(401);
    const ok = await guarded.app.fastify.inject({ method: 'GET', url: '/metrics', remoteAddress: '203.0.113.5', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('# TYPE mamori_http_requests_total counter');
    const cfg = await guarded.app.fastify.inject({ method: 'GET', url: '/api/v1/config', headers: { authorization: `Bearer ${guarded.users.tokens.admin}` } });
    expect(cfg.body).not.toContain(TOKEN);
  });
});
