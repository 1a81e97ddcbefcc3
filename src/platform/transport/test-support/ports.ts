/**
 * @module Free loopback ports for tests that start servers as other processes. A port asked of the kernel (listen on 0,
 * then closed) stays free only until someone else binds it, and a child process binds it seconds later (longer on a
 * loaded machine): meanwhile the kernel may hand the same port to this process's next request, to any other process's
 * listen on 0, or to an outgoing connection. So ports come from below the kernel's ephemeral range (which it never hands
 * out by itself), are checked free for TCP and UDP, and are claimed machine-wide by a file per port (the claimant's pid),
 * so that neither this process nor another test run on the machine hands out the same port twice while it is claimed;
 * a dead claimant's claim goes to one process however many find it stale at once (takeOver).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Lowest port of the pool when the kernel's ephemeral range starts above it (ports below 10,000 hold well-known services). */
const POOL_FLOOR = 10_000;

/**
 * The pool ports are drawn from: MAMORI_TEST_PORTS (`from-to`), else from 10,000 up to just below the kernel's ephemeral
 * range (net.ipv4.ip_local_port_range; 32,768 when it cannot be read).
 */
export function portPool(env: Readonly<Record<string, string | undefined>> = process.env, rangeFile = '/proc/sys/net/ipv4/ip_local_port_range'): [number, number] {
  const given = env['MAMORI_TEST_PORTS'];
  if (given !== undefined) {
    const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(given);
    const [lo, hi] = m === null ? [NaN, NaN] : [Number(m[1]), Number(m[2])];
    if (!(lo >= 1024 && hi <= 65_535 && hi - lo >= 63)) throw new Error(`MAMORI_TEST_PORTS=${given}: expected from-to, at least 64 ports within 1024-65535`);
    return [lo, hi];
  }
  let ephemeralLow = 32_768;
  try {
    const n = Number(readFileSync(rangeFile, 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(n) && n > 1024) ephemeralLow = n;
  } catch {
    // Not Linux: the IANA dynamic range starts at 49,152 and the default 32,768 is below it.
  }
  const lo = ephemeralLow - 1 - POOL_FLOOR >= 1023 ? POOL_FLOOR : 1024;
  return [lo, ephemeralLow - 1];
}

/** Where claims live (one file per port holding the claimant's pid); MAMORI_TEST_PORT_CLAIMS overrides. */
export function claimDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env['MAMORI_TEST_PORT_CLAIMS'] ?? join(tmpdir(), 'mamori-test-ports');
}

// Ports this process claimed: released (their files removed) when it exits.
const mine = new Set<number>();
let exitHook = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The claim's holder: its pid, `writing` when it reads empty or not as a pid (another scheme's writer mid-write), undefined when absent. */
function holderOf(file: string): number | 'writing' | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const pid = Number(text);
  return Number.isInteger(pid) && pid > 0 ? pid : 'writing';
}

/** Writes this process's pid to a file of its own beside `file`, for `put` to link or rename into place whole; removes it after. */
function withPidFile(file: string, put: (tmp: string) => void): void {
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, String(process.pid));
  try {
    put(tmp);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Replaces the claim of `dead` (no longer running) on `file` with this process's. Two processes may both find it stale:
 * only the one that creates the takeover marker for that holder (O_EXCL) may replace it, and only while the file still
 * names that holder, so a claim taken over once is never taken again by a process that read the dead holder before.
 * A process killed between creating the marker and removing it leaves the port claimed for good (it is skipped).
 */
function takeOver(file: string, dead: number): boolean {
  const marker = `${file}.takeover-${dead}`;
  try {
    writeFileSync(marker, String(process.pid), { flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false; // another process is taking it over
    throw e;
  }
  try {
    if (holderOf(file) !== dead || alive(dead)) return false; // taken over meanwhile, or the pid lives again
    withPidFile(file, (tmp) => renameSync(tmp, file)); // a reader sees the dead claim or this one, never none
    return true;
  } finally {
    rmSync(marker, { force: true });
  }
}

/** Claims `port` for this process: true when no living process holds its claim file (a dead one's is taken over). */
function claim(dir: string, port: number): boolean {
  if (mine.has(port)) return false;
  const file = join(dir, String(port));
  for (let tries = 0; tries < 2; tries++) {
    let created = false;
    // A link fails when the claim exists, and a claim linked in is whole: nobody reads it empty.
    withPidFile(file, (tmp) => {
      try {
        linkSync(tmp, file);
        created = true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    });
    if (!created) {
      const holder = holderOf(file);
      if (holder === undefined) continue; // released meanwhile: try again
      if (holder === 'writing' || alive(holder) || !takeOver(file, holder)) return false;
    }
    mine.add(port);
    if (!exitHook) { exitHook = true; process.once('exit', () => releasePorts()); }
    return true;
  }
  return false;
}

/** Releases every port this process claimed (tests that start many servers in one long-lived process may call it in afterAll). */
export function releasePorts(dir = claimDir()): void {
  for (const p of mine) rmSync(join(dir, String(p)), { force: true });
  mine.clear();
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => { s.close(); resolve(false); });
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * A loopback port no one listens on for TCP or UDP, claimed for this process until it exits: never handed out again by
 * this function in any process on the machine while the claim holds (see the module's comment).
 */
export async function freePort(): Promise<number> {
  const [lo, hi] = portPool();
  const dir = claimDir();
  mkdirSync(dir, { recursive: true });
  // From a random port on through the whole pool: concurrent test runs start apart, and a full pool is told, not guessed.
  const size = hi - lo + 1;
  const from = randomInt(size);
  for (let k = 0; k < size; k++) {
    const port = lo + ((from + k) % size);
    if (!claim(dir, port)) continue;
    if ((await tcpFree(port)) && (await udpFree(port))) return port;
    // Someone outside this scheme holds it: give the claim back and draw again.
    mine.delete(port);
    rmSync(join(dir, String(port)), { force: true });
  }
  throw new Error(`no free loopback port found in ${lo}-${hi} (set MAMORI_TEST_PORTS=from-to)`);
}
