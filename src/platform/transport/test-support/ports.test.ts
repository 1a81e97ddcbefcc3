import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
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

describe('freePort across processes', () => {
  /** A port-claimer process (its own claims, as another test run's) and its next line of output. */
  function claimer(env: NodeJS.ProcessEnv, count: number): { child: ChildProcess; next: () => Promise<string> } {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', fileURLToPath(new URL('./port-claimer.ts', import.meta.url)), String(count)],
      { env, stdio: ['pipe', 'pipe', 'inherit'] });
    const queued: string[] = [];
    const waiting: ((l: string) => void)[] = [];
    createInterface({ input: child.stdout! }).on('line', (l) => { const w = waiting.shift(); if (w !== undefined) w(l); else queued.push(l); });
    return { child, next: () => new Promise((r) => { const l = queued.shift(); if (l !== undefined) r(l); else waiting.push(r); }) };
  }

  it('gives each claim of a dead process to one of several processes taking it over at once', async () => {
    const claims = mkdtempSync(join(tmpdir(), 'mamori-port-claims-'));
    const [lo, hi] = [27_700, 27_763];
    const env = { ...process.env, MAMORI_TEST_PORT_CLAIMS: claims, MAMORI_TEST_PORTS: `${lo}-${hi}` };
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    // Four processes take 12 ports each of 64, every one claimed by the dead process: they meet on the same stale claims.
    const procs = Array.from({ length: 4 }, () => claimer(env, 12));
    try {
      for (const p of procs) expect(await p.next()).toBe('ready');
      for (let round = 0; round < 20; round++) {
        for (let port = lo; port <= hi; port++) writeFileSync(join(claims, String(port)), dead);
        for (const p of procs) p.child.stdin!.write('claim\n');
        const got = await Promise.all(procs.map(async (p) => JSON.parse(await p.next()) as (number | string)[]));
        const holders = new Map<number, number>();
        got.forEach((ports, i) => {
          for (const port of ports) {
            expect(typeof port, `round ${round}: ${String(port)}`).toBe('number');
            expect(holders.has(port as number), `round ${round}: port ${port} handed to two processes`).toBe(false);
            holders.set(port as number, procs[i]!.child.pid!);
          }
        });
        expect(holders.size).toBe(48);
        for (const [port, pid] of holders) expect(readFileSync(join(claims, String(port)), 'utf8')).toBe(String(pid));
        for (const p of procs) p.child.stdin!.write('release\n');
        for (const p of procs) expect(await p.next()).toBe('released');
        expect(readdirSync(claims).filter((n) => !/^\d+$/.test(n))).toEqual([]); // no takeover marker or temporary file left
      }
    } finally {
      for (const p of procs) p.child.stdin!.end();
      await Promise.all(procs.map((p) => new Promise((r) => (p.child.exitCode !== null ? r(undefined) : p.child.once('exit', r)))));
      rmSync(claims, { recursive: true, force: true });
    }
  }, 120_000);
});
