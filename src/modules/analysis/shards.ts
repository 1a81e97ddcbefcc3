/** @module Detectors in worker threads: kept flows handed over as shared typed arrays, each detector kind in one thread, findings merged in the in-thread order. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { HostTable, type AnalysisBatch, type HostTableShare } from './batch.js';
import type { Indicator } from './indicators.js';
import { DETECTOR_KINDS, type DetectorKind, type DetectorsConfig } from './pipeline.js';
import type { FindingUpdate } from './schema.js';

/**
 * Kept flows as an AnalysisBatch whose columns are views over one SharedArrayBuffer: what crosses to a
 * detector thread. Hosts are ids of the pool's shared HostTable, interned once by the pipeline's thread;
 * a thread reads the batch in place, so handing it over copies nothing.
 * @see docs/detection.md#threads
 */
export interface SlotBatch extends AnalysisBatch {
  readonly capacity: number;
  readonly buffer: SharedArrayBuffer;
}

/** Bytes one row takes in a SlotBatch. */
const ROW_BYTES = 8 * 4 + 4 * 3 + 2 * 3 + 2;

/** Lays a SlotBatch of `capacity` rows over `buffer` (a new one when absent), its hosts ids of `hosts`. */
export function createSlotBatch(capacity: number, hosts: HostTable, buffer = new SharedArrayBuffer(Math.max(1, capacity) * ROW_BYTES)): SlotBatch {
  if (buffer.byteLength < capacity * ROW_BYTES) throw new RangeError(`a SlotBatch of ${capacity} rows needs ${capacity * ROW_BYTES} bytes`);
  let at = 0;
  const take = <T>(make: (b: SharedArrayBuffer, o: number, n: number) => T, width: number): T => { const v = make(buffer, at, capacity); at += width * capacity; return v; };
  const f64 = (b: SharedArrayBuffer, o: number, n: number): Float64Array => new Float64Array(b, o, n);
  const u32 = (b: SharedArrayBuffer, o: number, n: number): Uint32Array => new Uint32Array(b, o, n);
  const u16 = (b: SharedArrayBuffer, o: number, n: number): Uint16Array => new Uint16Array(b, o, n);
  const u8 = (b: SharedArrayBuffer, o: number, n: number): Uint8Array => new Uint8Array(b, o, n);
  return {
    length: 0, capacity, buffer,
    start: take(f64, 8), end: take(f64, 8), bytes: take(f64, 8), packets: take(f64, 8),
    src: take(u32, 4), dst: take(u32, 4), samplingRate: take(u32, 4),
    srcPort: take(u16, 2), dstPort: take(u16, 2), basis: take(u16, 2),
    proto: take(u8, 1), tcpFlags: take(u8, 1),
    bases: [], hosts,
  };
}

/**
 * Which kinds each of `threads` threads runs: every kind of `kinds` in exactly one thread, so each
 * detector sees every flow in order and its findings are those of the in-thread detectors. Split by
 * measured cost (bench/detectors: beacon > scan > DDoS > indicators, beacon about as much as the other
 * three together); more threads than kinds gain nothing.
 */
export function assignKinds(threads: number, kinds: readonly DetectorKind[] = DETECTOR_KINDS): DetectorKind[][] {
  const ordered = DETECTOR_KINDS.filter((k) => kinds.includes(k));
  const n = Math.max(1, Math.min(threads, ordered.length));
  if (n === 1) return [ordered];
  if (n === 2 && ordered.length === 4) return [['beacon'], ['scan', 'ddos', 'indicators']];
  // The costliest kinds get a thread each; the last thread takes the rest.
  return Array.from({ length: n }, (_, g) => (g < n - 1 ? [ordered[g]!] : ordered.slice(g)));
}

/** Messages to a detector thread. */
export type ToShard =
  | { t: 'batch'; slot: number; buffer?: SharedArrayBuffer; capacity: number; length: number; bases: string[]; hostCount: number; generation: number }
  | { t: 'flush'; id: number; nowMs: number; final: boolean }
  | { t: 'indicators'; id: number; indicators: Indicator[] }
  | { t: 'stats'; id: number };

/** Messages from a detector thread. */
export type FromShard =
  | { t: 'done'; slot: number }
  | { t: 'flushed'; id: number; byKind: Partial<Record<DetectorKind, FindingUpdate[]>> }
  | { t: 'ok'; id: number; value?: unknown }
  | { t: 'failed'; id: number; message: string };

/** What a detector thread starts with. */
export interface ShardInit {
  kinds: DetectorKind[];
  config: DetectorsConfig;
  indicators: Indicator[];
  /** The pool's host table, interned by the pipeline's thread and read by every detector thread. */
  hosts: HostTableShare;
}

/** Options of the detector threads. */
export interface DetectorThreadsOptions {
  /** Worker threads (1–4); the detector kinds are split among them (assignKinds). */
  threads: number;
  /** The kinds the threads run (default all; the caller runs the others over the pool's host table). */
  kinds?: readonly DetectorKind[];
  config?: DetectorsConfig;
  indicators?: Indicator[];
  /** Rows per shared batch; larger batches get a buffer of their own. Default 8192. */
  batchRows?: number;
  /**
   * Shared batches in flight before `acquire` waits for the threads (bounds memory: 52 bytes a row, so
   * ≈ 54 MB at 8,192 rows). Default 128: deep enough that a detector thread's flush (tens of ms of
   * scoring) or a GC pause does not stall the pipeline's thread — bench/pipeline, recurring workload, one
   * thread: 0.87 M flows/s with 8, 0.99 M with 64, 1.04 M with 128 (means of 3–6 runs).
   */
  inFlight?: number;
  /** Hosts the pool's shared host table holds before it starts over (HostTable's maxHosts; default 4,000,000). */
  maxHosts?: number;
  /**
   * Called once, when a thread fails (an error, or an exit that `close` did not ask for, code 0 included),
   * with the flows of the batches it had not finished: from then on every call is refused.
   */
  onFailure?: (error: Error, unanalysedFlows: number) => void;
}

/** Detectors running in worker threads; the same findings as createDetectors over the same batches. */
export interface DetectorThreads {
  /** The shared host table the batches' host ids belong to: the caller interns into it (adaptSelectedBatch). */
  readonly hosts: HostTable;
  /** Resolves once no batch is being analysed and no call is pending: the host table may then be cleared. */
  idle(): Promise<void>;
  /** A free shared batch to fill; waits while `inFlight` batches are still being analysed. */
  acquire(rows: number): Promise<SlotBatch>;
  /** Hands a filled batch (from `acquire`) to every thread with the host table's count and generation; it returns to the pool once all have ingested it. */
  submit(batch: SlotBatch): void;
  /** Findings that changed, in createDetectors' order (beacon, scan, DDoS, indicators); waits for submitted batches first. */
  flush(nowMs: number, final?: boolean): Promise<FindingUpdate[]>;
  /** The same findings by kind (only the kinds the threads run). */
  flushByKind(nowMs: number, final?: boolean): Promise<Partial<Record<DetectorKind, FindingUpdate[]>>>;
  /** Replaces the indicator set in the thread that matches indicators. */
  setIndicators(indicators: Indicator[]): Promise<void>;
  /** Each thread's detector statistics, by kind. */
  stats(): Promise<Partial<Record<DetectorKind, unknown>>>;
  /** Stops the threads (pending calls fail). */
  close(): Promise<void>;
}

interface Pending { resolve(v: unknown): void; reject(e: Error): void }

/**
 * How to start a detector thread: the compiled shard-worker.js next to this file, or, when running from
 * the TypeScript sources (tests, benchmarks), a small bootstrap that registers tsx in the thread and
 * imports shard-worker.ts (a loader given by execArgv does not reach a worker's entry module in Node 20).
 */
function workerEntry(): { entry: URL | string; eval: boolean; execArgv: string[] } {
  // `node --cpu-prof` profiles the detector threads too (a profile per thread in the same directory).
  const prof = process.execArgv.filter((a) => a.startsWith('--cpu-prof'));
  const js = new URL('./shard-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { entry: js, eval: false, execArgv: prof };
  const ts = new URL('./shard-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(ts)}); });`;
  return { entry: boot, eval: true, execArgv: ['--conditions=source', ...prof] };
}

/**
 * Starts detector threads. Each flow batch is written once into shared memory and read by every
 * thread; each thread interns hosts and runs its detector kinds; flush gathers every thread's findings
 * and lists them in the in-thread order.
 * @see docs/detection.md#threads, docs/decisions/0003-detector-threads.md
 */
export function createDetectorThreads(options: DetectorThreadsOptions): DetectorThreads {
  const threads = Math.min(4, Math.max(1, Math.floor(options.threads)));
  const rows = options.batchRows ?? 8192;
  const inFlight = Math.max(1, options.inFlight ?? 128);
  const groups = assignKinds(threads, options.kinds);
  const entry = workerEntry();
  const hosts = new HostTable(options.maxHosts ?? 4_000_000, true);
  const share = hosts.share();
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let failure: Error | undefined;
  // The pool: shared batches with how many threads still read each; `known` says which thread has which buffer.
  const pool: SlotBatch[] = [];
  const readers: number[] = [];
  const known: Array<Set<number>> = groups.map(() => new Set());
  const free: number[] = [];
  let waiters: Array<() => void> = [];
  // Callers of idle(), woken once every batch is back in the pool and no call is pending.
  let idlers: Array<() => void> = [];

  let closing = false;
  const fail = (e: Error): void => {
    if (failure === undefined && !closing) {
      let unanalysed = 0;
      for (let slot = 0; slot < pool.length; slot++) if (readers[slot]! > 0) unanalysed += pool[slot]!.length;
      options.onFailure?.(e, unanalysed);
    }
    failure ??= e;
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
    const w = [...waiters, ...idlers];
    waiters = [];
    idlers = [];
    for (const f of w) f();
  };

  const workers = groups.map((kinds, g) => {
    const init: ShardInit = { kinds, config: options.config ?? {}, indicators: kinds.includes('indicators') ? options.indicators ?? [] : [], hosts: share };
    // An empty environment: a detector thread needs none, and so holds none of the process's secrets.
    const w = new Worker(entry.entry, { eval: entry.eval, workerData: init, execArgv: entry.execArgv, env: {} });
    w.on('message', (m: FromShard) => {
      if (m.t === 'done') {
        if (--readers[m.slot]! === 0) {
          pool[m.slot]!.length = 0;
          free.push(m.slot);
          const f = waiters.shift();
          f?.();
          settle();
        }
        return;
      }
      const p = pending.get(m.id);
      if (p === undefined) return;
      pending.delete(m.id);
      queueMicrotask(settle);
      if (m.t === 'failed') p.reject(new Error(`detector thread ${g}: ${m.message}`));
      else if (m.t === 'flushed') p.resolve(m.byKind);
      else p.resolve(m.value);
    });
    w.on('error', (e) => fail(e instanceof Error ? e : new Error(String(e))));
    w.on('exit', (code) => { if (code !== 0 || !closing) fail(new Error(`detector thread ${g} exited with code ${code}${closing ? '' : ' without being closed'}`)); });
    return w;
  });

  const busy = (): boolean => free.length !== pool.length || pending.size > 0;
  function settle(): void {
    if (busy() || idlers.length === 0) return;
    const w = idlers;
    idlers = [];
    for (const f of w) f();
  }

  function call<T>(g: number, msg: ToShard & { id: number }): Promise<T> {
    if (failure !== undefined) return Promise.reject(failure);
    return new Promise<T>((resolve, reject) => {
      pending.set(msg.id, { resolve: resolve as (v: unknown) => void, reject });
      workers[g]!.postMessage(msg);
    });
  }

  async function acquire(n: number): Promise<SlotBatch> {
    for (;;) {
      if (failure !== undefined) throw failure;
      const slot = free.pop();
      if (slot !== undefined) {
        if (pool[slot]!.capacity >= n) return pool[slot]!;
        // Too small for this batch: replace it with one that fits (threads learn of it with the batch).
        pool[slot] = createSlotBatch(n, hosts);
        for (const k of known) k.delete(slot);
        return pool[slot];
      }
      if (pool.length < inFlight) {
        pool.push(createSlotBatch(Math.max(rows, n), hosts));
        readers.push(0);
        free.push(pool.length - 1);
        continue;
      }
      await new Promise<void>((r) => waiters.push(r));
    }
  }

  function submit(b: SlotBatch): void {
    if (failure !== undefined) throw failure;
    const slot = pool.indexOf(b);
    if (slot < 0) throw new Error('submit: the batch is not one of this pool');
    readers[slot] = workers.length;
    workers.forEach((w, g) => {
      const first = !known[g]!.has(slot);
      known[g]!.add(slot);
      const msg: ToShard = { t: 'batch', slot, capacity: b.capacity, length: b.length, bases: b.bases, hostCount: hosts.size, generation: hosts.generation, ...(first ? { buffer: b.buffer } : {}) };
      w.postMessage(msg);
    });
  }

  async function flushByKind(nowMs: number, final = false): Promise<Partial<Record<DetectorKind, FindingUpdate[]>>> {
    const parts = await Promise.all(workers.map((_, g) => call<Partial<Record<DetectorKind, FindingUpdate[]>>>(g, { t: 'flush', id: nextId++, nowMs, final })));
    return Object.assign({}, ...parts) as Partial<Record<DetectorKind, FindingUpdate[]>>;
  }

  return {
    hosts,
    async idle() {
      while (failure === undefined && busy()) await new Promise<void>((r) => idlers.push(r));
      if (failure !== undefined) throw failure;
    },
    acquire,
    submit,
    flushByKind,
    async flush(nowMs, final = false) {
      const byKind = await flushByKind(nowMs, final);
      return DETECTOR_KINDS.flatMap((k) => byKind[k] ?? []);
    },
    async setIndicators(indicators) {
      const g = groups.findIndex((k) => k.includes('indicators'));
      if (g < 0) throw new Error('no detector thread matches indicators');
      await call(g, { t: 'indicators', id: nextId++, indicators });
    },
    async stats() {
      const parts = await Promise.all(workers.map((_, g) => call<Partial<Record<DetectorKind, unknown>>>(g, { t: 'stats', id: nextId++ })));
      return Object.assign({}, ...parts) as Partial<Record<DetectorKind, unknown>>;
    },
    async close() {
      closing = true;
      fail(new Error('detector threads closed'));
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
