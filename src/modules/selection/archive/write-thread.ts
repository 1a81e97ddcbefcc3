/**
 * @module Where the archive writer's Parquet writing runs: a worker thread of its own (the default — the DuckDB scan
 * is fed by JavaScript, and on the pipeline's thread it waited for that busy thread chunk by chunk), or the caller's
 * thread with a given engine (tests that slow or break the engine).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DuckDb } from '#platform/duckdb/index.js';
import { claimSpillDir } from './spill.js';
import { writeSegment, type SegmentWriteOptions, type SegmentWriteResult } from './segment-write.js';

/** What the thread is started with. */
export interface WriteThreadInit {
  dir: string;
  /** The thread's DuckDB: its memory limit (bytes; DuckDB's default, 80 % of the machine, without) and where it spills past it. */
  memoryLimitBytes?: number;
  spillDir: string;
}
/** The engine's own account of its memory limit and spill directory (DuckDB's `memory_limit` and `temp_directory`). */
export interface EngineSettings { memoryLimit: string; spillDir: string }
/** Messages to the thread. */
export type ToWriteThread = { t: 'write'; id: number; segment: string; options: SegmentWriteOptions } | { t: 'warm'; id: number } | { t: 'close' };
/** Messages from the thread. */
export type FromWriteThread = { t: 'written'; id: number; result: SegmentWriteResult } | { t: 'warm'; id: number; settings: EngineSettings } | { t: 'failed'; id: number; message: string };

/** Writes sealed segments, one at a time (callers hold the archive's chain). */
export interface SegmentWriter {
  /** Gets ready before the first write (the thread starts and opens its engine), so flows do not wait for that; says how it is bounded. */
  warm(): Promise<EngineSettings>;
  write(segment: string, options: SegmentWriteOptions): Promise<SegmentWriteResult>;
  close(): Promise<void>;
}

/** The caller's thread, with the archive's engine. */
export function callerSegmentWriter(dir: string, engine: () => Promise<DuckDb>): SegmentWriter {
  return { warm: async () => engineSettings(await engine()), write: async (segment, options) => writeSegment(await engine(), dir, segment, options), close: () => Promise.resolve() };
}

/** What `e` says its memory limit and spill directory are. */
export async function engineSettings(e: DuckDb): Promise<EngineSettings> {
  const [r] = await e.all(`SELECT current_setting('memory_limit') AS m, current_setting('temp_directory') AS t`);
  return { memoryLimit: String(r?.['m']), spillDir: String(r?.['t']) };
}

/**
 * How to start the thread: the compiled write-worker.js next to this file, or, from the TypeScript sources (tests,
 * benchmarks), a bootstrap that registers tsx in the thread first (as the detector threads do: shards.ts).
 */
function workerEntry(): { entry: URL | string; eval: boolean; execArgv: string[] } {
  const js = new URL('./write-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { entry: js, eval: false, execArgv: [] };
  const ts = new URL('./write-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  return { entry: `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(ts)}); });`, eval: true, execArgv: ['--conditions=source'] };
}

/**
 * A worker thread that writes segments. It starts on the first write; if it dies (an exception outside a write, a
 * native crash it survives), the pending write fails — the writer keeps the segment and retries — and the next write
 * starts a fresh thread.
 */
export function threadSegmentWriter(dir: string, engine: { memoryLimitBytes?: number | undefined } = {}): SegmentWriter {
  let worker: Worker | undefined;
  let nextId = 1;
  const pending = new Map<number, { resolve(r: SegmentWriteResult | EngineSettings): void; reject(e: Error): void }>();
  const failAll = (e: Error): void => { for (const p of pending.values()) p.reject(e); pending.clear(); };

  function start(): Worker {
    const entry = workerEntry();
    // An empty environment: the thread needs none of the process's secrets.
    // The thread's spill directory is held here and removed once the thread (and its DuckDB) ended.
    const spill = claimSpillDir(dir, 'writer');
    const init: WriteThreadInit = { dir, spillDir: spill.dir, ...(engine.memoryLimitBytes !== undefined ? { memoryLimitBytes: engine.memoryLimitBytes } : {}) };
    let w: Worker;
    try {
      w = new Worker(entry.entry, { eval: entry.eval, workerData: init, execArgv: entry.execArgv, env: {} });
    } catch (e) {
      spill.release();
      throw e;
    }
    w.once('exit', () => spill.release());
    w.on('message', (m: FromWriteThread) => {
      const p = pending.get(m.id);
      if (p === undefined) return;
      pending.delete(m.id);
      if (m.t === 'failed') p.reject(new Error(m.message));
      else p.resolve(m.t === 'written' ? m.result : m.settings);
    });
    w.on('error', (e) => { if (worker === w) worker = undefined; failAll(e instanceof Error ? e : new Error(String(e))); });
    w.on('exit', (code) => { if (worker === w) worker = undefined; failAll(new Error(`the archive write thread exited (code ${code})`)); });
    return w;
  }

  function call(m: { t: 'write'; segment: string; options: SegmentWriteOptions }): Promise<SegmentWriteResult>;
  function call(m: { t: 'warm' }): Promise<EngineSettings>;
  function call(m: { t: 'write'; segment: string; options: SegmentWriteOptions } | { t: 'warm' }): Promise<SegmentWriteResult | EngineSettings> {
    worker ??= start();
    const w = worker;
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      w.postMessage({ ...m, id } satisfies ToWriteThread);
    });
  }

  return {
    warm: () => call({ t: 'warm' }),
    write: (segment, options) => call({ t: 'write', segment, options }),
    async close() {
      const w = worker;
      worker = undefined;
      if (w === undefined) return;
      const exited = new Promise<void>((r) => w.once('exit', () => r()));
      w.postMessage({ t: 'close' } satisfies ToWriteThread);
      // A thread that does not close its engine in time is stopped (its writes are over: callers wait for them first).
      const timer = setTimeout(() => { void w.terminate(); }, 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
