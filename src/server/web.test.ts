import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from './app.js';
import { acceptedEncodings } from './web.js';
import { createTestCore } from './test-support/harness.js';
import type { Core } from './core.js';

const BIG = `${'console.log("mamori");\n'.repeat(200)}`;

describe('dashboard routes', () => {
  let core: Core;
  let app: App;
  let bare: App;
  const root = mkdtempSync(join(tmpdir(), 'mamori-web-'));
  beforeAll(async () => {
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><script type="module" src="/assets/index-abc.js"></script>');
    writeFileSync(join(root, 'assets', 'index-abc.js'), 'console.log(1)');
    writeFileSync(join(root, 'assets', 'big-def.js'), BIG);
    writeFileSync(join(root, 'assets', 'big-def.js.br'), brotliCompressSync(BIG));
    writeFileSync(join(root, 'assets', 'big-def.js.gz'), gzipSync(BIG));
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

  it('sends the precompressed copy the browser accepts (Brotli first, then gzip), else the file as it is', async () => {
    const br = await app.fastify.inject({ url: '/assets/big-def.js', headers: { 'accept-encoding': 'gzip, deflate, br, zstd' } });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['vary']).toBe('accept-encoding');
    expect(brotliDecompressSync(br.rawPayload).toString()).toBe(BIG);
    const gz = await app.fastify.inject({ url: '/assets/big-def.js', headers: { 'accept-encoding': 'gzip, br;q=0' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.rawPayload).toString()).toBe(BIG);
    const plain = await app.fastify.inject({ url: '/assets/big-def.js' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe(BIG);
    // A small file has no copies: sent as it is even to a browser that accepts Brotli.
    const small = await app.fastify.inject({ url: '/assets/index-abc.js', headers: { 'accept-encoding': 'br' } });
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(small.body).toBe('console.log(1)');
  });

  it('reads Accept-Encoding with its q-values', () => {
    expect([...acceptedEncodings('gzip, deflate, br')]).toEqual(['gzip', 'deflate', 'br']);
    expect([...acceptedEncodings('br;q=0, gzip;q=0.5')]).toEqual(['gzip']);
    expect([...acceptedEncodings(undefined)]).toEqual([]);
  });

  it('answers who is signed in with 200 either way (no failed request on a signed-out page load)', async () => {
    const anon = await app.fastify.inject({ url: '/api/v1/auth/session' });
    expect(anon.statusCode).toBe(200);
    expect(anon.json()).toEqual({ actor: null, sessionExpiresAt: null });
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
