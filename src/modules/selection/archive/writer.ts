/** @module The archive writer for streams: kept flows staged in memory and a write-ahead segment, written as large Parquet files by basis and hour. */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { DuckDb, ScanSource, ScanType } from '#platform/duckdb/index.js';
import { CATEGORIES } from '../classify.js';
import type { SelectedBatch } from '../minimize.js';
import { FIELD_BIT } from '../schema.js';
import { listPartitions, sqlString, swapSlots, TMP_DIR, WAL_DIR } from './layout.js';
import { deleteSegment, leftSegments, openSegment, readSegment, type Segment } from './wal.js';

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
}

/** Defaults of the writer's limits. */
export const DEFAULT_WRITER_SETTINGS: ArchiveWriterSettings = { fileRows: 1_048_576, maxAgeSeconds: 60, bufferRows: 3_145_728, walSyncMs: 1000 };

/** Why the writer refused a batch. */
export type ArchiveRefusal = 'archive_behind' | 'archive_failed';

/** What `append` did with a batch: taken (written within the limits, durable across a process crash now) or refused. */
export type AppendOutcome = { accepted: true; rows: number; droppedPurged: number } | { accepted: false; reason: ArchiveRefusal; rows: number };

/** The writer's counters. */
export interface ArchiveWriterStats {
  /** Rows taken and not yet in a Parquet file (memory and write-ahead segment). */
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
  /** Takes a minimized batch (the writer keeps it: do not reuse it) or refuses it when the buffer is full. */
  append(batch: SelectedBatch): AppendOutcome;
  /** Writes everything staged now; resolves with the rows written. */
  flush(): Promise<number>;
  /** Resolves once `rows` more rows fit in the buffer (for producers that can wait, such as file imports). */
  whenRoom(rows: number): Promise<void>;
  /** Drops every staged row of a basis (memory and segment) and refuses its rows from now on in this process. */
  purgeBasis(basisId: string): Promise<{ stagedRowsDropped: number }>;
  stats(): ArchiveWriterStats;
}

/** What the writer needs from the archive. */
export interface ArchiveWriterDeps {
  dir: string;
  engine: () => Promise<DuckDb>;
  /** The archive's chain: writes, compaction, purges and queries take turns on one engine. */
  serial: <T>(fn: () => Promise<T>) => Promise<T>;
  logger?: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
}

// The scan's columns: numeric, copied from the batches' typed arrays (names are the staging names).
const SCAN_COLUMNS: readonly (readonly [string, ScanType])[] = [
  ['basis_i', 'u32'], ['hour_i', 'u32'], ['category_i', 'u8'], ['fields', 'u16'], ['start_ms', 'double'], ['end_ms', 'double'],
  ['src_kind', 'u8'], ['src_hi', 'u64'], ['src_lo', 'u64'], ['dst_kind', 'u8'], ['dst_hi', 'u64'], ['dst_lo', 'u64'], ['period_i', 'u32'],
  ['src_port', 'u16'], ['dst_port', 'u16'], ['proto', 'u8'], ['tcp_flags', 'u8'], ['bytes', 'double'], ['packets', 'double'],
  ['sampling_rate', 'u32'], ['in_if', 'u32'], ['out_if', 'u32'], ['exporter_i', 'u32'],
];
const SCAN_NAME = 'mamori_archive_scan';

/** One unit of writing: the batches of one write-ahead segment. */
interface Unit { segment: string; batches: SelectedBatch[]; rows: number }

const list = (xs: readonly string[]): string => (xs.length === 0 ? '[NULL]' : `[${xs.map(sqlString).join(', ')}]`);
const masked = (bit: number, col: string): string => `CASE WHEN fields & ${bit} <> 0 THEN ${col} END`;

/** Creates the writer. @see ../../../../shared/DESIGN.md "Scale" (large row groups, never a file per batch) */
export function createArchiveWriter(settings: ArchiveWriterSettings, deps: ArchiveWriterDeps): ArchiveWriter {
  const { dir } = deps;
  const walDir = join(dir, WAL_DIR);
  const tmpDir = join(dir, TMP_DIR);
  const run = randomBytes(4).toString('hex');
  let seq = 0;
  let segment: Segment | undefined;
  let pending: SelectedBatch[] = [];
  let pendingRows = 0;
  let oldestAt = 0;
  // Rows taken and not yet written (pending, being written, or waiting for a retry).
  let buffered = 0;
  const retry: Unit[] = [];
  let failing = false;
  let backoffMs = 1000;
  let retryAt = 0;
  let scheduled = false;
  let timer: ReturnType<typeof setInterval> | undefined;
  let scan: ScanSource = () => 0;
  const waiters: { rows: number; resolve: () => void }[] = [];
  const purged = new Set<string>();
  let purgedStaged = 0; // rows already taken, dropped by a purge when written (those refused at append are the caller's to count)
  const stats: ArchiveWriterStats = { stagedRows: 0, writtenRows: 0, filesWritten: 0, writes: 0, writeFailures: 0, refusedRows: { archive_behind: 0, archive_failed: 0 }, purgedRows: 0, recoveredRows: 0, tornBytes: 0 };

  let opened: Promise<DuckDb> | undefined;
  const engine = (): Promise<DuckDb> => (opened ??= deps.engine().then((e) => { e.registerScan(SCAN_NAME, SCAN_COLUMNS, () => scan); return e; }));

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
      }
      segment.append(batch);
    } catch (e) {
      deps.logger?.error({ err: e }, 'flow archive: cannot append to the write-ahead segment; batch refused');
      stats.refusedRows.archive_failed += batch.length;
      return { accepted: false, reason: 'archive_failed', rows: batch.length };
    }
    if (pending.length === 0) oldestAt = performance.now();
    pending.push(batch);
    pendingRows += batch.length;
    buffered += batch.length;
    stats.stagedRows = buffered;
    // While writes fail, the timer retries after the backoff; appends do not hammer the engine meanwhile.
    if (pendingRows >= settings.fileRows && !failing) schedule();
    return { accepted: true, rows: batch.length, droppedPurged };
  }

  /** Writes one unit as Parquet files into their partitions, then deletes its segment. Runs in the chain. */
  async function writeUnit(u: Unit): Promise<number> {
    const e = await engine();
    const out = join(tmpDir, u.segment);
    rmSync(out, { recursive: true, force: true });
    mkdirSync(tmpDir, { recursive: true });
    const plan = planUnit(u.batches, purged);
    let files = 0;
    if (plan.rows > 0) {
      scan = plan.source;
      try {
        const cat = list(CATEGORIES as unknown as string[]);
        const sql = `COPY (SELECT ${list(plan.bases)}[basis_i + 1] AS basis, ${list(plan.hours)}[hour_i + 1] AS hour, ${cat}[category_i + 1] AS category,
          epoch_ms(CAST(start_ms AS BIGINT)) AS start, ${masked(FIELD_BIT.end, 'epoch_ms(CAST(end_ms AS BIGINT))')} AS "end",
          CASE WHEN src_kind = 1 THEN src_hi END AS src_ip_hi, CASE WHEN src_kind = 1 THEN src_lo END AS src_ip_lo,
          CASE WHEN dst_kind = 1 THEN dst_hi END AS dst_ip_hi, CASE WHEN dst_kind = 1 THEN dst_lo END AS dst_ip_lo,
          CASE WHEN src_kind = 2 THEN src_hi END AS src_pseudonym_hi, CASE WHEN src_kind = 2 THEN src_lo END AS src_pseudonym_lo,
          CASE WHEN dst_kind = 2 THEN dst_hi END AS dst_pseudonym_hi, CASE WHEN dst_kind = 2 THEN dst_lo END AS dst_pseudonym_lo,
          CASE WHEN src_kind = 2 OR dst_kind = 2 THEN ${list(plan.periods)}[period_i + 1] END AS pseudonym_period,
          ${masked(FIELD_BIT.srcPort, 'src_port')} AS src_port, ${masked(FIELD_BIT.dstPort, 'dst_port')} AS dst_port,
          ${masked(FIELD_BIT.proto, 'proto')} AS proto, ${masked(FIELD_BIT.tcpFlags, 'tcp_flags')} AS tcp_flags,
          ${masked(FIELD_BIT.bytes, 'bytes')} AS bytes, ${masked(FIELD_BIT.packets, 'packets')} AS packets,
          ${masked(FIELD_BIT.samplingRate, 'sampling_rate')} AS sampling_rate, ${masked(FIELD_BIT.inIf, 'in_if')} AS in_if, ${masked(FIELD_BIT.outIf, 'out_if')} AS out_if,
          ${masked(FIELD_BIT.exporter, `${list(plan.exporters)}[exporter_i + 1]`)} AS exporter
          FROM ${SCAN_NAME}()${plan.excluded.length > 0 ? ` WHERE basis_i NOT IN (${plan.excluded.join(', ')})` : ''})
          TO ${sqlString(out)} (FORMAT PARQUET, PARTITION_BY (basis, hour), FILENAME_PATTERN ${sqlString(`w${u.segment}_{i}`)}, ROW_GROUP_SIZE 122880)`;
        await e.run(sql);
      } finally {
        scan = () => 0;
      }
      // Into place file by file (each rename atomic); a crash before the segment goes is undone at start.
      for (const p of listPartitions(out)) {
        const target = join(dir, `basis=${p.basis}`, `hour=${p.hour}`);
        mkdirSync(target, { recursive: true });
        for (const f of readdirSync(p.dir)) { renameSync(join(p.dir, f), join(target, f)); files++; }
      }
    }
    rmSync(out, { recursive: true, force: true });
    deleteSegment(walDir, u.segment);
    stats.writtenRows += plan.rows;
    stats.filesWritten += files;
    stats.purgedRows += plan.purgedRows;
    purgedStaged += plan.purgedRows;
    stats.writes++;
    return plan.rows;
  }

  async function flush(): Promise<number> {
    return deps.serial(async () => {
      let written = 0;
      if (pending.length > 0 && segment !== undefined) {
        segment.close();
        retry.push({ segment: segment.id, batches: pending, rows: pendingRows });
        segment = undefined;
        pending = [];
        pendingRows = 0;
      }
      while (retry.length > 0) {
        const u = retry[0]!;
        try {
          written += await writeUnit(u);
        } catch (e) {
          stats.writeFailures++;
          if (!failing) deps.logger?.error({ err: e, rows: u.rows, retryInMs: backoffMs }, 'flow archive write failed; the rows stay in the write-ahead segment and are retried');
          failing = true;
          retryAt = performance.now() + backoffMs;
          backoffMs = Math.min(60_000, backoffMs * 2);
          throw e;
        }
        retry.shift();
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
    if (retry.length > 0 && now >= retryAt) schedule();
    else if (pending.length > 0 && now - oldestAt >= settings.maxAgeSeconds * 1000) schedule();
  }

  async function recover(): Promise<void> {
    rmSync(tmpDir, { recursive: true, force: true });
    const ids = leftSegments(walDir);
    if (ids.length === 0) return;
    await deps.serial(async () => {
      for (const id of ids) {
        // Files of a write that stopped between its renames and deleting the segment: written again whole.
        for (const p of listPartitions(dir)) for (const f of readdirSync(p.dir)) if (f.startsWith(`w${id}_`)) unlinkSync(join(p.dir, f));
        const { batches, tornBytes } = readSegment(walDir, id);
        const rows = batches.reduce((a, b) => a + b.length, 0);
        stats.tornBytes += tornBytes;
        stats.recoveredRows += rows;
        buffered += rows;
        retry.push({ segment: id, batches, rows });
      }
    });
    deps.logger?.warn({ segments: ids.length, rows: stats.recoveredRows, tornBytes: stats.tornBytes }, 'flow archive: writing the rows a previous process left in its write-ahead segments');
    await flush();
  }

  return {
    name: 'archive-writer',
    async start() {
      if (timer !== undefined) return;
      await recover();
      timer = setInterval(tick, Math.max(50, Math.min(1000, settings.walSyncMs)));
      timer.unref();
    },
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await flush();
    },
    append,
    flush,
    whenRoom(rows) {
      if (buffered + rows <= settings.bufferRows || rows > settings.bufferRows) return Promise.resolve();
      if (retry.length === 0 && pending.length > 0) schedule();
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

/** The string tables of a unit (SQL lists), each batch's indexes into them, and the scan over its rows. */
function planUnit(batches: readonly SelectedBatch[], purged: ReadonlySet<string>) {
  const bases: string[] = [], hours: string[] = [], periods: string[] = [], exporters: string[] = [];
  const index = (table: string[], map: Map<string, number>, s: string): number => {
    let i = map.get(s);
    if (i === undefined) { i = table.length; table.push(s); map.set(s, i); }
    return i;
  };
  const bm = new Map<string, number>(), pm = new Map<string, number>(), em = new Map<string, number>(), hm = new Map<number, number>();
  let rows = 0;
  let purgedRows = 0;
  const per = batches.map((b) => {
    const basis = Uint32Array.from(b.basisIds, (s) => index(bases, bm, s));
    const period = Uint32Array.from(b.periods, (s) => index(periods, pm, s));
    const exporter = Uint32Array.from(b.exporters, (s) => index(exporters, em, s));
    const hour = new Uint32Array(b.length);
    let lastH = NaN, lastI = 0;
    for (let i = 0; i < b.length; i++) {
      const h = Math.floor(b.start[i]! / 3_600_000);
      if (h !== lastH) {
        lastH = h;
        let j = hm.get(h);
        if (j === undefined) { j = hours.length; hours.push(new Date(h * 3_600_000).toISOString().slice(0, 13)); hm.set(h, j); }
        lastI = j;
      }
      hour[i] = lastI;
    }
    rows += b.length;
    if (purged.size > 0) for (let i = 0; i < b.length; i++) if (purged.has(b.basisIds[b.basisIndex[i]!]!)) purgedRows++;
    return { basis, period, exporter, hour };
  });
  const excluded = [...purged].map((id) => bm.get(id)).filter((i) => i !== undefined);
  // Scratch columns of one chunk (at most the engine's vector size, 2,048 rows).
  const cap = 2048;
  const u32a = new Uint32Array(cap), u32b = new Uint32Array(cap), u32c = new Uint32Array(cap);
  const sh = new Uint8Array(cap * 8), sl = new Uint8Array(cap * 8), dh = new Uint8Array(cap * 8), dl = new Uint8Array(cap * 8);
  let bi = 0, at = 0;
  const source: ScanSource = (put, maxRows) => {
    while (bi < batches.length && at >= batches[bi]!.length) { bi++; at = 0; }
    if (bi >= batches.length) return 0;
    const b = batches[bi]!, m = per[bi]!;
    const n = Math.min(maxRows, cap, b.length - at);
    const from = at, to = at + n;
    for (let i = 0; i < n; i++) { u32a[i] = m.basis[b.basisIndex[from + i]!]!; u32b[i] = m.period[b.periodIndex[from + i]!] ?? 0; u32c[i] = m.exporter[b.exporterIndex[from + i]!] ?? 0; }
    swapSlots(b.srcAddr, from, n, sh, sl);
    swapSlots(b.dstAddr, from, n, dh, dl);
    put(0, u32a.subarray(0, n)); put(1, m.hour.subarray(from, to)); put(2, b.category.subarray(from, to)); put(3, b.fields.subarray(from, to));
    put(4, b.start.subarray(from, to)); put(5, b.end.subarray(from, to));
    put(6, b.srcKind.subarray(from, to)); put(7, sh.subarray(0, n * 8)); put(8, sl.subarray(0, n * 8));
    put(9, b.dstKind.subarray(from, to)); put(10, dh.subarray(0, n * 8)); put(11, dl.subarray(0, n * 8)); put(12, u32b.subarray(0, n));
    put(13, b.srcPort.subarray(from, to)); put(14, b.dstPort.subarray(from, to)); put(15, b.proto.subarray(from, to)); put(16, b.tcpFlags.subarray(from, to));
    put(17, b.bytes.subarray(from, to)); put(18, b.packets.subarray(from, to)); put(19, b.samplingRate.subarray(from, to));
    put(20, b.inIf.subarray(from, to)); put(21, b.outIf.subarray(from, to)); put(22, u32c.subarray(0, n));
    at = to;
    return n;
  };
  return { bases, hours, periods, exporters, excluded, rows: rows - purgedRows, purgedRows, source };
}

/** Whether a directory holds write-ahead segments (a writer stopped without writing them). */
export function hasLeftSegments(dir: string): boolean {
  return existsSync(join(dir, WAL_DIR)) && leftSegments(join(dir, WAL_DIR)).length > 0;
}
