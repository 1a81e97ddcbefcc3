/**
 * @module The process harness of the test:cluster suites: `mamori` commands started as OS processes with their output
 * kept, waits on a condition (never on a fixed time) that fail with every process's last output, /metrics reads, and a
 * teardown that kills what is still running, waits for it to exit, then runs the suite's cleanups and removes the
 * temporary directories.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parsePrometheusText } from '#cli/commands/collection.js';
import { releasePorts } from '#platform/transport/test-support/ports.js';

/** The repository's root (the processes run there, on the TypeScript sources). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const ENTRY = `import(${JSON.stringify(pathToFileURL(join(ROOT, 'src/cli/main.ts')).href)}).then((m) => m.main(['node', 'mamori', ...process.argv.slice(1)]))`;

/** Output kept per process (its last characters): enough for the end of a failure, bounded for long runs. */
const KEEP_CHARS = 20_000;

/** One Prometheus sample. */
export type Sample = ReturnType<typeof parsePrometheusText>[number];

/** A started `mamori` process. */
export interface MamoriProcess {
  readonly proc: ChildProcess;
  /** What it was started with (named in failures). */
  readonly args: readonly string[];
  /** Its MAMORI_DATA_DIR (a fresh temporary directory unless the environment gave one). */
  readonly dataDir: string;
  /** Its stdout and stderr so far (the last KEEP_CHARS characters). */
  log(): string;
  running(): boolean;
  /** Resolves with its exit code (null when ended by a signal) once it has exited. */
  exited(): Promise<number | null>;
  /** Sends `signal` (default SIGKILL) and waits until it has exited. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The harness of one suite file. */
export interface ClusterHarness {
  /**
   * Starts `mamori <args>` on the sources with `env` over the test's own environment (a variable given as undefined is
   * removed) and a fresh data directory unless `env` names one.
   */
  start(args: readonly string[], env?: Readonly<Record<string, string | undefined>>): MamoriProcess;
  /** A temporary directory removed at teardown. */
  tempDir(prefix?: string): string;
  /**
   * Polls `cond` every `everyMs` (default 250) until it holds and returns the milliseconds it took; past `ms` it fails
   * with `what` and the end of every process's output.
   */
  until(what: string, cond: () => Promise<boolean> | boolean, ms: number, everyMs?: number): Promise<number>;
  /** The end of every process's output, each under its arguments. */
  logs(chars?: number): string;
  /** Runs `fn` at teardown, after the processes are gone (last registered, first run). */
  defer(fn: () => Promise<unknown> | unknown): void;
  /**
   * Kills every process still running and waits for them, runs the deferred cleanups, removes the temporary directories
   * and gives back the ports this test process claimed (freePort).
   */
  teardown(): Promise<void>;
}

/** Creates the harness; call `teardown` in afterAll. */
export function createHarness(prefix = 'mamori-cluster-'): ClusterHarness {
  const procs: MamoriProcess[] = [];
  const dirs: string[] = [];
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  // A test process that dies without teardown still takes its children with it (they would hold ports and the database).
  const onExit = (): void => { for (const p of procs) if (p.running()) p.proc.kill('SIGKILL'); };
  process.once('exit', onExit);

  const tempDir = (p = prefix): string => {
    const d = mkdtempSync(join(tmpdir(), p));
    dirs.push(d);
    return d;
  };

  const logs = (chars = 3000): string => procs.map((p) => `--- mamori ${p.args.join(' ')} (${p.running() ? 'running' : `exited ${p.proc.exitCode ?? p.proc.signalCode}`})\n${p.log().slice(-chars)}`).join('\n');

  return {
    start(args, env = {}) {
      const dataDir = env['MAMORI_DATA_DIR'] ?? tempDir();
      const full: NodeJS.ProcessEnv = { ...process.env, MAMORI_DATA_DIR: dataDir };
      for (const [k, v] of Object.entries(env)) {
        if (v === undefined) delete full[k];
        else full[k] = v;
      }
      const proc = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', '-e', ENTRY, ...args], { cwd: ROOT, env: full, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      const keep = (d: Buffer): void => { out = (out + d.toString()).slice(-KEEP_CHARS); };
      proc.stdout!.on('data', keep);
      proc.stderr!.on('data', keep);
      const exit = new Promise<number | null>((r) => {
        proc.once('exit', (code) => r(code));
        // A spawn that failed never exits: its error is kept with the output and ends its story.
        proc.once('error', (e) => { keep(Buffer.from(`spawn failed: ${e.message}\n`)); r(null); });
      });
      const running = (): boolean => proc.exitCode === null && proc.signalCode === null;
      const p: MamoriProcess = {
        proc, args, dataDir,
        log: () => out,
        running,
        exited: () => exit,
        async kill(signal = 'SIGKILL') {
          if (running()) proc.kill(signal);
          return exit;
        },
      };
      procs.push(p);
      return p;
    },
    tempDir,
    async until(what, cond, ms, everyMs = 250) {
      const t0 = Date.now();
      while (!(await cond())) {
        if (Date.now() - t0 > ms) throw new Error(`${what}: not reached within ${ms} ms\n${logs()}`);
        await new Promise((r) => setTimeout(r, everyMs));
      }
      return Date.now() - t0;
    },
    logs,
    defer(fn) { cleanups.push(fn); },
    async teardown() {
      process.removeListener('exit', onExit);
      await Promise.all(procs.map((p) => p.kill('SIGKILL')));
      const errors: unknown[] = [];
      for (const fn of cleanups.splice(0).reverse()) {
        try {
          await fn();
        } catch (e) {
          errors.push(e);
        }
      }
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
      // Everything that listened is gone: the ports this test process claimed are given back now (vitest ends its workers
      // with a signal, so the claims' exit hook would not run and they would wait for the next freePort to find them dead).
      releasePorts();
      if (errors.length > 0) throw new AggregateError(errors, 'cluster harness: a cleanup failed');
    },
  };
}

/** The samples a `/metrics` endpoint serves now; none when it does not answer (not up yet, or gone). */
export async function scrape(url: string): Promise<Sample[]> {
  try {
    const r = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) });
    return r.ok ? parsePrometheusText(await r.text()) : [];
  } catch {
    return [];
  }
}

/** The sum of the samples named `name` whose labels include `labels` (0 when there are none). */
export function sum(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>> = {}): number {
  return samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)).reduce((a, x) => a + x.value, 0);
}

/** One metric of an endpoint (summed over the matching samples); undefined when the endpoint does not answer or serves none. */
export async function metric(url: string, name: string, labels: Readonly<Record<string, string>> = {}): Promise<number | undefined> {
  const s = (await scrape(url)).filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s.length === 0 ? undefined : s.reduce((a, x) => a + x.value, 0);
}
