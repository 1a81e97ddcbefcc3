import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { freePort, portPool, releasePorts } from './ports.js';

describe('portPool', () => {
  it('lies below the kernel\'s ephemeral range, from 10,000', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mamori-ports-'));
    try {
      writeFileSync(join(dir, 'range'), '32768\t60999\n');
      expect(portPool({}, join(dir, 'range'))).toEqual([10_000, 32_767]);
      writeFileSync(join(dir, 'range'), '8000 60999\n');
      expect(portPool({}, join(dir, 'range'))).toEqual([1024, 7999]);
      expect(portPool({}, join(dir, 'missing'))).toEqual([10_000, 32_767]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes MAMORI_TEST_PORTS and refuses a range that is not one', () => {
    expect(portPool({ MAMORI_TEST_PORTS: '27000-27999' })).toEqual([27_000, 27_999]);
    for (const bad of ['27000', '27000-27010', '80-1000', '60000-70000', 'a-b']) expect(() => portPool({ MAMORI_TEST_PORTS: bad }), bad).toThrow(/MAMORI_TEST_PORTS/);
  });
});

describe('freePort', () => {
  let claims: string;
  const held: Server[] = [];
  beforeEach(() => {
    claims = mkdtempSync(join(tmpdir(), 'mamori-port-claims-'));
    vi.stubEnv('MAMORI_TEST_PORT_CLAIMS', claims);
    vi.stubEnv('MAMORI_TEST_PORTS', '27900-27963'); // 64 ports: draws collide often, which is what is tested
  });
  afterEach(async () => {
    releasePorts(claims);
    for (const s of held.splice(0)) await new Promise((r) => s.close(r));
    vi.unstubAllEnvs();
    rmSync(claims, { recursive: true, force: true });
  });

  it('never hands out one port twice, even when asked all at once, and claims each for this process', async () => {
    const ports = await Promise.all(Array.from({ length: 40 }, () => freePort()));
    expect(new Set(ports).size).toBe(40);
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(27_900);
      expect(p).toBeLessThanOrEqual(27_963);
      expect(readFileSync(join(claims, String(p)), 'utf8')).toBe(String(process.pid));
    }
    releasePorts(claims);
    expect(readdirSync(claims)).toEqual([]);
  });

  it('skips ports someone listens on (TCP or UDP) and ports a living process claimed; takes over a dead one\'s claim', async () => {
    // Everything but four ports taken: two by listeners, one claimed by a living process (this test's parent), one claimed
    // by a process that has exited; the rest claimed by this process.
    const tcp = createServer();
    await new Promise<void>((r) => tcp.listen(27_900, '127.0.0.1', r));
    held.push(tcp);
    const udp = createSocket('udp4');
    await new Promise<void>((r) => udp.bind(27_901, '127.0.0.1', r));
    writeFileSync(join(claims, '27902'), String(process.ppid));
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    writeFileSync(join(claims, '27903'), dead);
    try {
      const got = new Set(await Promise.all(Array.from({ length: 61 }, () => freePort())));
      expect(got.size).toBe(61);
      for (const p of [27_900, 27_901, 27_902]) expect(got.has(p), String(p)).toBe(false);
      expect(got.has(27_903)).toBe(true);
      expect(readFileSync(join(claims, '27903'), 'utf8')).toBe(String(process.pid));
      await expect(freePort()).rejects.toThrow(/no free loopback port found in 27900-27963/);
    } finally {
      await new Promise<void>((r) => udp.close(() => r()));
    }
    // A listener's port was not left claimed by this process.
    expect(readdirSync(claims).sort()).not.toContain('27900');
  }, 30_000);
});
