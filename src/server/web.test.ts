import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from './app.js';
import { createTestCore } from './test-support/harness.js';
import type { Core } from './core.js';

describe('dashboard routes', () => {
  let core: Core;
  let app: App;
  let bare: App;
  const root = mkdtempSync(join(tmpdir(), 'mamori-web-'));
  beforeAll(async () => {
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><script type="module" src="/assets/index-abc.js"></script>');
    writeFileSync(join(root, 'assets', 'index-abc.js'), 'console.log(1)');
    core = await createTestCore();
    app = await buildApp(core, { webRoot: root });
    bare = await buildApp(core, { webRoot: join(root, 'missing') });
  });
  afterAll(async () => {
    await app.fastify.close();
    await bare.fastify.close();
    await core.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves the page at / and at every client route, under the strict CSP, uncached', async () => {
    for (const url of ['/', '/app', '/app/incidents/new', '/app/measures/0190-x']) {
      const res = await app.fastify.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(String(res.headers['content-security-policy'])).toContain("script-src 'self'");
      expect(res.body).toContain('/assets/index-abc.js');
    }
  });

  it('serves hashed assets as immutable with their media type', async () => {
    const res = await app.fastify.inject({ url: '/assets/index-abc.js' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/javascript/);
    expect(res.headers['cache-control']).toContain('immutable');
  });

  it('refuses paths out of the assets folder and unknown files with the API error shape', async () => {
    for (const url of ['/assets/..%2Findex.html', '/assets/../../package.json', '/assets/sub/x.js', '/assets/nope.js']) {
      const res = await app.fastify.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect((res.json() as { code: string }).code).toBe('NOT_FOUND');
    }
  });

  it('leaves unknown API paths to the JSON 404', async () => {
    const res = await app.fastify.inject({ url: '/api/v1/no-such-route' });
    expect(res.statusCode).toBe(404);
    expect((res.json() as { code: string }).code).toBe('NOT_FOUND');
  });

  it('says how to build the dashboard when it is not built', async () => {
    const res = await bare.fastify.inject({ url: '/app' });
    expect(res.statusCode).toBe(503);
    expect((res.json() as { message: string }).message).toContain('npm run build:web');
  });
});
