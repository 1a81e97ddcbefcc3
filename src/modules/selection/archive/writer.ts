/** @module The archive writer for streams: kept flows appended to a write-ahead segment, each sealed segment written as large Parquet files by basis and hour (in a thread of its own). */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { errorSummary, type DuckDb } from '#platform/duckdb/index.js';
import type { SelectedBatch } from '../minimize.js';
import { TMP_DIR, WAL_DIR } from './layout.js';
import type { SegmentWriteResult } from './segment-write.js';
import { deleteSegment, leftSegments, openSegment, segmentRows, type Segment } from './wal.js';
import { callerSegmentWriter, threadSegmentWriter, type SegmentWriter } from './write-thread.js';

/** Limits of the writer (`archive.*` in the configuration). */
export interface ArchiveWriterSettings {
  /** Staged rows that start a write (each partition's share becomes one file; row groups of 122,880 rows). */
  fileRows: number;
  /** Oldest staged row's age (s) that starts a write even when fewer rows are staged. */
  maxAgeSeconds: number;
  /** Rows staged and being written at most; beyond it `append` refuses (the pipeline counts the drop). */
  bufferRows: number;
  /** How often the write-ahead segment is synced to disk (ms): what a power loss may cost; a process crash costs nothing acknowledged. */
  walSyncMs: number;
  /**
   * Write Parquet in a worker thread of the writer's own (default in DEFAULT_WRITER_SETTINGS; the pipeline's thread
   * then only appends to the segment); false writes in the caller's thread with `deps.engine`.
   */
  thread?: boolean;
  /** The memory limit of the write thread's DuckDB (bytes; `archive.writeMemoryBytes`); DuckDB's default (80 % of the machine) without. */
  memoryBytes?: number;
}

/** Defaults of the writer's limits. */
export const DEFAULT_WRITER_SETTINGS: ArchiveWriterSettings = { fileRows: 1_048_576, maxAgeSeconds: 60, bufferRows: 3_145_728, walSyncMs: 1000, thread: true };

/** Why the writer refused a batch. */
export type ArchiveRefusal = 'archive_behind' | 'archive_failed';

/** What `append` did with a batch: taken (written within the limits, durable across a process crash now) or refused. */
export type AppendOutcome = { accepted: true; rows: number; droppedPurged: number } | { accepted: false; reason: ArchiveRefusal; rows: number };

/** The writer's counters. */
export interface ArchiveWriterStats {
  /** Rows taken and not yet in a Parquet file (in write-ahead segments). */
  stagedRows: number;
  writtenRows: number;
  filesWritten: number;
  writes: number;
  writeFailures: number;
  refusedRows: Record<ArchiveRefusal, number>;
  /** Rows of a purged basis dropped before they were written. */
  purgedRows: number;
  /** Rows read back from write-ahead segments at start (a previous process stopped without writing them). */
  recoveredRows: number;
  /** Bytes at the end of a segment that were cut by a crash mid-append (that batch was never acknowledged). */
  tornBytes: number;
}

/** The stream writer: a component (`start`/`stop`) with a quick, synchronous `append`. */
export interface ArchiveWriter {
  name: string;
  /** Writes what a previous process left in write-ahead segments, then starts the age and sync timers. */
  start(): Promise<void>;
  /** Writes everything staged, then stops the timers. */
  stop(): Promise<void>;
  /** Takes a minimized batch (copied into the segment before it returns: the caller may reuse it) or refuses it when the buffer is full. */
  append(batch: SelectedBatch): AppendOutcome;
  /** Writes everything staged now; resolves with the rows written. */
  flush(): Promise<number>;
  /** Resolves once `rows` more rows fit in the buffer (for producers that can wait, such as file imports). */
  whenRoom(rows: number): Promise<void>;
  /** Drops every staged row of a basis (left out when its segment is written) and refuses its rows from now on in this process. */
  purgeBasis(basisId: string): Promise<{ stagedRowsDropped: number }>;
  stats(): ArchiveWriterStats;
}

/** What the writer needs from the archive. */
export interface ArchiveWriterDeps {
  dir: string;
  /** The engine the caller's thread writes with when `settings.thread` is false (tests inject slow or failing ones). */
  engine: () => Promise<DuckDb>;
  /** The archive's chain: writes, compaction, purges and queries take turns on one engine. */
  serial: <T>(fn: () => Promise<T>) => Promise<T>;
  logger?: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
}

/** One unit of writing: a sealed write-ahead segment. */
interface Unit { segment: string; rows: number; recovered: boolean }

/** Creates the writer. @see ../../../../shared/DESIGN.md "Scale" (large row groups, never a file per batch) */
export function createArchiveWriter(settings: ArchiveWriterSettings, deps: ArchiveWriterDeps): ArchiveWriter {
  const { dir } = deps;
  const walDir = join(dir, WAL_DIR);
  const tmpDir = join(dir, TMP_DIR);
  const run = randomBytes(4).toString('hex');
  let seq = 0;
  let segment: Segment | undefined;
  let oldestAt = 0;
  // Rows taken and not yet written (the open segment, sealed segments waiting, being written or to retry).
  let buffered = 0;
  const sealed: Unit[] = [];
  let failing = false;
  let backoffMs = 1000;
  let retryAt = 0;
  let scheduled = false;
  let timer: ReturnType<typeof setInterval> | undefined;
  const waiters: { rows: number; resolve: () => void }[] = [];
  const purged = new Set<string>();
  let purgedStaged = 0; // rows already taken, dropped by a purge when written (those refused at append are the caller's to count)
  const stats: ArchiveWriterStats = { stagedRows: 0, writtenRows: 0, filesWritten: 0, writes: 0, writeFailures: 0, refusedRows: { archive_behind: 0, archive_failed: 0 }, purgedRows: 0, recoveredRows: 0, tornBytes: 0 };
  const backend: SegmentWriter = settings.thread === true ? threadSegmentWriter(dir, { memoryLimitBytes: settings.memoryBytes }) : callerSegmentWriter(dir, deps.engine);

  // Segment ids sort by time and never repeat (a recovered segment's files are found by its id alone).
  const nextSegmentId = (): string => `${Date.now().toString(36).padStart(9, '0')}-${run}-${(seq++).toString(36)}`;

  function wake(): void {
    while (waiters.length > 0 && buffered + waiters[0]!.rows <= settings.bufferRows) waiters.shift()!.resolve();
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      flush().catch(() => undefined); // failures are counted and logged by the write itself
    });
  }

  /** Closes the open segment and queues it for writing (its rows are all in the file: nothing stays in memory). */
  function seal(): void {
    if (segment === undefined) return;
    const s = segment;
    segment = undefined;
    s.close();
    if (s.rows > 0) sealed.push({ segment: s.id, rows: s.rows, recovered: false });
    else deleteSegment(walDir, s.id);
  }

  function append(batch: SelectedBatch): AppendOutcome {
    const n = batch.length;
    if (n === 0) return { accepted: true, rows: 0, droppedPurged: 0 };
    if (buffered + n > settings.bufferRows) {
      const reason: ArchiveRefusal = failing ? 'archive_failed' : 'archive_behind';
      stats.refusedRows[reason] += n;
      return { accepted: false, reason, rows: n };
    }
    const droppedPurged = purged.size === 0 ? 0 : dropBases(batch, purged);
    stats.purgedRows += droppedPurged;
    if (batch.length === 0) return { accepted: true, rows: 0, droppedPurged };
    try {
      if (segment === undefined) {
        mkdirSync(walDir, { recursive: true });
        segment = openSegment(walDir, nextSegmentId());
        oldestAt = performance.now();
      }
      segment.append(batch);
    } catch (e) {
      deps.logger?.error({ err: errorSummary(e) }, 'flow archive: cannot append to the write-ahead segment; batch refused');
      stats.refusedRows.archive_failed += batch.length;
      return { accepted: false, reason: 'archive_failed', rows: batch.length };
    }
    buffered += batch.length;
    stats.stagedRows = buffered;
    if (segment.rows >= settings.fileRows) {
      seal();
      // While writes fail, the timer retries after the backoff; appends do not hammer the engine meanwhile.
      if (!failing) schedule();
    }
    return { accepted: true, rows: batch.length, droppedPurged };
  }

  /** Writes the sealed segments in order (in the archive's chain); the first failure stops the round and is retried later. */
  async function flush(): Promise<number> {
    return deps.serial(async () => {
      let written = 0;
      seal();
      while (sealed.length > 0) {
        const u = sealed[0]!;
        let r: SegmentWriteResult;
        try {
          r = await backend.write(u.segment, { excluded: [...purged], recovered: u.recovered });
        } catch (e) {
          stats.writeFailures++;
          if (!failing) deps.logger?.error({ err: errorSummary(e), rows: u.rows, retryInMs: backoffMs }, 'flow archive write failed; the rows stay in the write-ahead segment and are retried');
          failing = true;
          retryAt = performance.now() + backoffMs;
          backoffMs = Math.min(60_000, backoffMs * 2);
          throw e;
        }
        sealed.shift();
        written += r.rows;
        stats.writtenRows += r.rows;
        stats.filesWritten += r.files;
        stats.purgedRows += r.purgedRows;
        purgedStaged += r.purgedRows;
        stats.tornBytes += r.tornBytes;
        stats.writes++;
        buffered -= u.rows;
        stats.stagedRows = buffered;
        if (failing) deps.logger?.info({}, 'flow archive writes again');
        failing = false;
        backoffMs = 1000;
        wake();
      }
      return written;
    });
  }

  function tick(): void {
    const now = performance.now();
    segment?.sync();
    if (failing) { if (now >= retryAt) schedule(); return; }
    if (segment !== undefined && now - oldestAt >= settings.maxAgeSeconds * 1000) schedule();
    else if (sealed.length > 0) schedule();
  }

  async function recover(): Promise<void> {
    rmSync(tmpDir, { recursive: true, force: true });
    const ids = leftSegments(walDir);
    if (ids.length === 0) return;
    await deps.serial(async () => {
      for (const id of ids) {
        const rows = segmentRows(walDir, id);
        stats.recoveredRows += rows;
        buffered += rows;
        sealed.push({ segment: id, rows, recovered: true });
      }
      stats.stagedRows = buffered;
    });
    deps.logger?.warn({ segments: ids.length, rows: stats.recoveredRows }, 'flow archive: writing the rows a previous process left in its write-ahead segments');
    await flush();
  }

  return {
    name: 'archive-writer',
    async start() {
      if (timer !== undefined) return;
      // A thread that cannot start now is started again by the first write (which fails and is retried).
      await backend.warm().then((s) => deps.logger?.info({ duckdbMemoryLimit: s.memoryLimit, spillDir: s.spillDir }, 'flow archive: writer ready'),
        (e: unknown) => deps.logger?.error({ err: errorSummary(e) }, 'flow archive: the write thread did not start; writes will try again'));
      await recover();
      timer = setInterval(tick, Math.max(50, Math.min(1000, settings.walSyncMs)));
      timer.unref();
    },
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      try {
        await flush();
      } finally {
        await backend.close();
      }
    },
    append,
    flush,
    whenRoom(rows) {
      if (buffered + rows <= settings.bufferRows || rows > settings.bufferRows) return Promise.resolve();
      if (!failing) schedule();
      return new Promise((resolve) => waiters.push({ rows, resolve }));
    },
    async purgeBasis(basisId) {
      const before = purgedStaged;
      purged.add(basisId);
      await flush();
      return { stagedRowsDropped: purgedStaged - before };
    },
    stats: () => ({ ...stats, refusedRows: { ...stats.refusedRows } }),
  };
}

/** Removes the rows of `bases` from a batch in place; returns how many went. */
function dropBases(b: SelectedBatch, bases: ReadonlySet<string>): number {
  const drop = b.basisIds.map((id) => bases.has(id));
  if (!drop.includes(true)) return 0;
  const n = b.length;
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (drop[b.basisIndex[i]!] === true) continue;
    if (k !== i) {
      for (const c of ['basisIndex', 'category', 'fields', 'start', 'end', 'srcKind', 'dstKind', 'periodIndex', 'srcPort', 'dstPort', 'proto', 'tcpFlags', 'bytes', 'packets', 'samplingRate', 'inIf', 'outIf', 'exporterIndex'] as const) b[c][k] = b[c][i]!;
      b.srcAddr.copyWithin(k * 16, i * 16, i * 16 + 16);
      b.dstAddr.copyWithin(k * 16, i * 16, i * 16 + 16);
    }
    k++;
  }
  b.length = k;
  return n - k;
}

/** Whether a directory holds write-ahead segments (a writer stopped without writing them). */
export function hasLeftSegments(dir: string): boolean {
  return existsSync(join(dir, WAL_DIR)) && leftSegments(join(dir, WAL_DIR)).length > 0;
}
