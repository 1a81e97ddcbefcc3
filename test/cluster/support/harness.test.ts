import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '#platform/transport/test-support/ports.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHarness, metric, scrape, sum } from './harness.js';

describe('cluster harness', () => {
  afterEach(() => { vi.unstubAllEnvs(); });

  it('runs mamori on the sources with the environment given over the test\'s (undefined removes one), in a fresh data directory, keeping its output; teardown cleans up after it', async () => {
    const h = createHarness();
    vi.stubEnv('MAMORI_CLUSTER_API_ID', 'inherited');
    const p = h.start(['config', '--json'], { MAMORI_LOG_LEVEL: 'error', MAMORI_CLUSTER_API_ID: undefined });
    expect(await p.exited()).toBe(0);
    expect(p.running()).toBe(false);
    const out = p.log();
    expect(out).toMatch(/# from: defaults, .*MAMORI_LOG_LEVEL/);
    expect(out).not.toContain('MAMORI_CLUSTER_API_ID');
    const json = JSON.parse(out.slice(out.indexOf('{'))) as { dataDir: string; log: { level: string } };
    expect(json.log.level).toBe('error');
    expect(json.dataDir).toBe(p.dataDir);
    expect(existsSync(p.dataDir)).toBe(true);
    const order: string[] = [];
    h.defer(() => { order.push('first registered'); });
    h.defer(() => { order.push('last registered'); });
    const claims = mkdtempSync(join(tmpdir(), 'mamori-port-claims-'));
    vi.stubEnv('MAMORI_TEST_PORT_CLAIMS', claims);
    try {
      const port = await freePort();
      expect(readdirSync(claims)).toEqual([String(port)]);
      await h.teardown();
      expect(readdirSync(claims)).toEqual([]);
    } finally {
      rmSync(claims, { recursive: true, force: true });
    }
    expect(order).toEqual(['last registered', 'first registered']);
    expect(existsSync(p.dataDir)).toBe(false);
  }, 120_000);

  it('until returns how long a condition took, and fails past its time with what it waited for and every process\'s output', async () => {
    const h = createHarness();
    try {
      let n = 0;
      expect(await h.until('three polls', () => ++n >= 3, 5000, 10)).toBeGreaterThanOrEqual(0);
      expect(n).toBe(3);
      const p = h.start(['version']);
      await p.exited();
      await expect(h.until('never', () => false, 50, 10)).rejects.toThrow(/^never: not reached within 50 ms\n--- mamori version \(exited 0\)\nmamori \d/);
    } finally {
      await h.teardown();
    }
  }, 120_000);

  it('reads /metrics: sums by name and labels; nothing from an endpoint that does not answer', async () => {
    const server: Server = createServer((_, res) => { res.end('# TYPE x counter\nx{family="d"} 2\nx{family="s"} 3\ny 1\n'); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const s = await scrape(url);
      expect(sum(s, 'x')).toBe(5);
      expect(sum(s, 'x', { family: 's' })).toBe(3);
      expect(sum(s, 'z')).toBe(0);
      expect(await metric(url, 'x', { family: 'd' })).toBe(2);
      expect(await metric(url, 'z')).toBeUndefined();
    } finally {
      await new Promise((r) => server.close(r));
    }
    expect(await scrape(url)).toEqual([]);
    expect(await metric(url, 'x')).toBeUndefined();
  });
});
