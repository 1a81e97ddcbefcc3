import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '#platform/config/index.js';
import { createLogger } from '#platform/logger/index.js';
import { startServer, type Component } from './run.js';

describe('graceful shutdown', () => {
  it('finishes in-flight requests, refuses new ones, stops components, then closes the database', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mamori-run-'));
    const config = parseConfig({ dataDir, selection: { kekBesideData: true }, server: { host: '127.0.0.1', port: 0, shutdownGraceMs: 5000 }, collector: { enabled: false } });
    const events: string[] = [];
    const component: Component = { name: 'probe', start: async () => { events.push('start'); }, stop: async () => { events.push('stop'); } };
    const server = await startServer(config, {
      logger: createLogger({ level: 'silent' }),
      passwordCost: { logN: 10, r: 8, p: 1 },
      components: () => [component],
      routes: () => [(app) => {
        app.get('/slow', { config: { auth: { public: true } } }, async () => {
          await new Promise((r) => setTimeout(r, 400));
          events.push('slow done');
          return { ok: true };
        });
      }],
    });
    const inFlight = fetch(`${server.address}/slow`);
    await new Promise((r) => setTimeout(r, 100));
    const stopping = server.stop();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    await stopping;
    expect(events).toEqual(['start', 'slow done', 'stop']);
    await expect(fetch(`${server.address}/healthz`)).rejects.toThrow();
    expect(await server.core.db.ping()).toBe(false);
  });
});

describe('a taken port', () => {
  it('fails the start with a clear error, stopping what it had started', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    const events: string[] = [];
    try {
      const dataDir = mkdtempSync(join(tmpdir(), 'mamori-run-'));
      const config = parseConfig({ dataDir, selection: { kekBesideData: true }, server: { host: '127.0.0.1', port }, collector: { enabled: false } });
      await expect(startServer(config, {
        logger: createLogger({ level: 'silent' }), passwordCost: { logN: 10, r: 8, p: 1 },
        components: () => [{ name: 'probe', start: async () => { events.push('start'); }, stop: async () => { events.push('stop'); } }],
      })).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining(`127.0.0.1:${port}: the port is in use`) as string });
      expect(events).toEqual(['start', 'stop']);
    } finally {
      taken.close();
    }
  });
});

