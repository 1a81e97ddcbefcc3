/** @module A throw-away three-node NATS JetStream cluster for tests: own processes on free loopback ports and temp store dirs, never the machine's 4222. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

/** Where Debian installs nats-server; override with MAMORI_TEST_NATS_SERVER. */
export function natsServerBinary(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env['MAMORI_TEST_NATS_SERVER'] ?? '/usr/sbin/nats-server';
}

/** Free loopback ports (ports.ts), also here for the suites that start processes beside the cluster. */
export { freePort };

interface NodeSpec { name: string; client: number; route: number; monitor: number; dir: string; conf: string }

/** A running test cluster. */
export interface NatsTestCluster {
  /** Client URLs of every node (nats://127.0.0.1:port). */
  urls: string[];
  /** Kills node `i` (SIGKILL by default) and waits for it to exit. */
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts node `i` again with its store (after kill) and waits until it is healthy (`until: 'healthy'`, the default:
   * every stream and consumer on it current) or only serving (`'serving'`: it takes clients, JetStream on and current
   * with the meta leader; its streams and consumers may still be catching up, which after every node of a loaded
   * cluster restarted can take longer than a test should wait for a node when its own checks follow).
   */
  restart(i: number, until?: 'healthy' | 'serving'): Promise<void>;
  /** Process id of node `i` (undefined when not running). */
  pid(i: number): number | undefined;
  /** Whether node `i` is running. */
  running(i: number): boolean;
  /** Stops every node and removes the store directories. */
  stop(): Promise<void>;
}

/**
 * Starts `size` nats-server processes (default three) routed to each other, JetStream on, each with a
 * temp store dir, and waits until JetStream answers healthy on each. Fails loudly when the binary is missing.
 * @see https://docs.nats.io/running-a-nats-service/configuration/clustering/jetstream_clustering
 */
export async function startNatsCluster(size = 3): Promise<NatsTestCluster> {
  const root = mkdtempSync(join(tmpdir(), 'mamori-nats-'));
  const nodes: NodeSpec[] = [];
  for (let i = 0; i < size; i++) {
    nodes.push({ name: `n${i + 1}`, client: await freePort(), route: await freePort(), monitor: await freePort(), dir: join(root, `n${i + 1}`), conf: join(root, `n${i + 1}.conf`) });
  }
  for (const n of nodes) {
    const routes = nodes.filter((o) => o !== n).map((o) => `nats-route://127.0.0.1:${o.route}`);
    writeFileSync(n.conf, [
      `server_name: ${n.name}`,
      `listen: 127.0.0.1:${n.client}`,
      `http: 127.0.0.1:${n.monitor}`,
      `jetstream { store_dir: "${n.dir}", max_memory_store: 64MB, max_file_store: 2GB }`,
      size > 1 ? `cluster { name: mamori-test, listen: 127.0.0.1:${n.route}, routes: [${routes.join(', ')}] }` : '',
      '',
    ].join('\n'));
  }
  const procs: (ChildProcess | undefined)[] = nodes.map(() => undefined);
  const launch = (i: number): void => {
    const p = spawn(natsServerBinary(), ['-c', nodes[i]!.conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    p.stderr?.resume();
    p.once('error', () => undefined);
    procs[i] = p;
  };
  const healthy = async (i: number, deadlineMs: number, serving = false): Promise<void> => {
    const url = `http://127.0.0.1:${nodes[i]!.monitor}/healthz${serving ? '?js-server-only=true' : ''}`;
    let last = '';
    while (Date.now() < deadlineMs) {
      if (procs[i]?.exitCode !== null && procs[i]?.exitCode !== undefined) throw new Error(`nats-server ${nodes[i]!.name} exited with ${procs[i]!.exitCode}`);
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
        last = await res.text();
      } catch (e) {
        last = (e as Error).message;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`nats-server ${nodes[i]!.name} not healthy: ${last}`);
  };
  const stopOne = async (i: number, signal: NodeJS.Signals): Promise<void> => {
    const p = procs[i];
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    await exited;
  };
  try {
    for (let i = 0; i < size; i++) launch(i);
    const deadline = Date.now() + 30_000;
    for (let i = 0; i < size; i++) await healthy(i, deadline);
  } catch (e) {
    await Promise.all(nodes.map((_, i) => stopOne(i, 'SIGKILL')));
    rmSync(root, { recursive: true, force: true });
    throw new Error(`cannot start a NATS test cluster with ${natsServerBinary()} (apt-get install nats-server, or set MAMORI_TEST_NATS_SERVER): ${(e as Error).message}`, { cause: e });
  }
  // A test process that dies without stop() still takes its servers with it.
  const onExit = (): void => { for (const p of procs) p?.kill('SIGKILL'); };
  process.once('exit', onExit);
  return {
    urls: nodes.map((n) => `nats://127.0.0.1:${n.client}`),
    kill: (i, signal = 'SIGKILL') => stopOne(i, signal),
    async restart(i, until = 'healthy') {
      await stopOne(i, 'SIGKILL');
      launch(i);
      await healthy(i, Date.now() + 60_000, until === 'serving');
    },
    pid: (i) => procs[i]?.pid,
    running: (i) => procs[i] !== undefined && procs[i]!.exitCode === null && procs[i]!.signalCode === null,
    async stop() {
      process.removeListener('exit', onExit);
      await Promise.all(nodes.map((_, i) => stopOne(i, 'SIGTERM')));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
