/** @module The flow archive: kept, minimized flows as Parquet partitioned by basis and hour, its stream writer, compaction, retention, purge and audited queries. */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Clock } from '#platform/clock/index.js';
import { systemContext, type RequestContext } from '#platform/context/index.js';
import { errorSummary, lazyDuckDb, type DuckDb } from '#platform/duckdb/index.js';
import { AppError } from '#platform/errors/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import type { SelectedBatch } from '../minimize.js';
import { compactPartition } from './compaction.js';
import { damagedFiles, parquetDamage, setAsideDamaged } from './damage.js';
import { portRollupPartition } from './port-rollup.js';
import { rollupPartition } from './rollup.js';
import { checkPurgeRequest, hourOf, listPartitions, liveFiles, type Partition } from './layout.js';
import { fileList, queryFlows, readSnapshot, type FlowQuery, type FlowQueryResult } from './query.js';
import { createArchiveWriter, DEFAULT_WRITER_SETTINGS, type ArchiveWriter, type ArchiveWriterSettings } from './writer.js';

/** What the archive needs; the engine is the embedded DuckDB driver (src/platform/duckdb) or a stand-in. */
export interface ArchiveDeps {
  /** `<dataDir>/archive` holds `basis=<id>/hour=<YYYY-MM-DDTHH>/*.parquet`, and the writer's `_wal/` and `_tmp/`. */
  dir: string;
  /** Opens an engine (called once for writing and compaction, and once for queries unless `queryEngine` is given: a long query never holds up writing). */
  engine: () => Promise<DuckDb>;
  /** Opens the engine queries run on (the server gives it every core: a whole-hour question is a scan of every row); default `engine`. */
  queryEngine?: () => Promise<DuckDb>;
  /** Opens the engine rollup passes run on (the server bounds its memory by `archive.rollupMemoryBytes`); default `engine`. */
  rollupEngine?: () => Promise<DuckDb>;
  audit: AuditRecorder;
  policy: PolicyEngine;
  clock: Clock;
  /** Retention in days of each basis id; undefined for an unknown basis (its partitions are purged). */
  retentionOf: (basisIds: readonly string[]) => Promise<Map<string, number>>;
  /** `false`: queries read rows only, never the minute rollups compaction writes (tests compare both ways). */
  rollups?: boolean;
  /** The stream writer's limits (`archive.*`); defaults in DEFAULT_WRITER_SETTINGS. */
  writer?: Partial<ArchiveWriterSettings>;
  logger?: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
}


/** Basis ids are path components of the archive: nothing that could leave it. */

/** One basis's holdings in the archive (counts only). */
export interface BasisInventory {
  basisId: string;
  partitions: number;
  rows: number;
  bytes: number;
  /** First and last hour held, `YYYY-MM-DDTHH` (UTC). */
  firstHour: string;
  lastHour: string;
}

/** Holdings by basis from each partition's rows and bytes, sorted by basis: a single node's and a cluster's inventory. */
export function inventoryByBasis(parts: Iterable<{ basis: string; hour: string; rows: number; bytes: number }>): BasisInventory[] {
  const byBasis = new Map<string, BasisInventory>();
  for (const p of parts) {
    const cur = byBasis.get(p.basis);
    if (cur === undefined) byBasis.set(p.basis, { basisId: p.basis, partitions: 1, rows: p.rows, bytes: p.bytes, firstHour: p.hour, lastHour: p.hour });
    else {
      cur.partitions += 1;
      cur.rows += p.rows;
      cur.bytes += p.bytes;
      if (p.hour < cur.firstHour) cur.firstHour = p.hour;
      if (p.hour > cur.lastHour) cur.lastHour = p.hour;
    }
  }
  return [...byBasis.values()].sort((a, b) => a.basisId.localeCompare(b.basisId));
}

/** What one compaction round did. */
export interface CompactionResult { partitions: number; filesMerged: number; rows: number }


/** Creates the archive. @see DESIGN.md "Chosen parts" (flow archive), "Scale" (large row groups) and invariants 2–5 */
export function createFlowArchive(deps: ArchiveDeps) {
  const dir = resolve(deps.dir);
  const { audit, policy, clock } = deps;
  const settings: ArchiveWriterSettings = { ...DEFAULT_WRITER_SETTINGS, ...deps.writer };
  // Each engine is opened on first use, and again after a failed open (lazyDuckDb).
  const writeDb = lazyDuckDb(() => deps.engine());
  const queryDb = lazyDuckDb(() => (deps.queryEngine ?? deps.engine)());
  const rollupDb = lazyDuckDb(() => (deps.rollupEngine ?? deps.engine)());
  const engine = (): Promise<DuckDb> => writeDb.get();
  const queryEngine = (): Promise<DuckDb> => queryDb.get();
  let chain: Promise<unknown> = Promise.resolve();
  // Writes, compaction, retention and purges take turns (a query reads without waiting: the swap rule keeps it exact).
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };
  // Rollups are written off the chain (a file is immutable once in its partition: writes need not wait for them), by
  // one pass at a time on an engine of their own; a file merged away or a partition deleted under a pass only makes that
  // partition wait for the next pass (a query never takes a rollup of a file it does not see live).
  let rollupChain: Promise<unknown> = Promise.resolve();
  // A rollup that cannot be written (a file DuckDB cannot read, a full disk) is counted and logged, and the pass goes on
  // with the others: what has no rollup is read from rows meanwhile, and the next pass tries it again.
  const rollupFailures = { minute: 0, port: 0 };
  const rollupFailed = (p: Partition, rollup: 'minute' | 'port', files: readonly string[], err: unknown): void => {
    if (files.some((f) => !existsSync(f))) return; // merged away or deleted under the pass: not a failure
    if (files.length === 1) suspects.add(files[0]!);
    rollupFailures[rollup]++;
    deps.logger?.warn({ basisId: p.basis, hour: p.hour, rollup, files: files.length, file: basename(files[0] ?? ''), err: errorSummary(err) },
      'flow archive rollup failed; queries read those files\' rows, and the next pass tries again');
  };
  const rollupPass = (pick: (p: Partition) => boolean): Promise<number> => {
    const next = rollupChain.then(async () => {
      const e = await rollupDb.get();
      let written = 0;
      for (const p of listPartitions(dir)) {
        if (!pick(p)) continue;
        const seen = liveFiles(p.dir);
        // Each kind on its own; within it a file or a chunk that fails is reported by the call, anything else here.
        const write = async (rollup: 'minute' | 'port', run: () => Promise<number>): Promise<void> => {
          try {
            const n = await run();
            written += n;
          } catch (err) {
            rollupFailed(p, rollup, seen, err);
          }
        };
        await write('minute', () => rollupPartition(e, dir, p, (f, err) => rollupFailed(p, 'minute', [f], err)));
        await write('port', () => portRollupPartition(e, dir, p, { onError: (files, err) => rollupFailed(p, 'port', files, err) }));
      }
      return written;
    });
    rollupChain = next.catch(() => undefined);
    return next;
  };
  // A merge that fails (a file DuckDB cannot read, a full disk) is counted and logged, its files stay live and untouched,
  // and compaction goes on with the other partitions (and the partition's other files): the next pass tries it again.
  let mergeFailures = 0;
  const mergeFailed = (p: Partition, files: readonly string[], err: unknown): void => {
    if (files.length === 1) suspects.add(files[0]!);
    mergeFailures++;
    deps.logger?.warn({ basisId: p.basis, hour: p.hour, step: 'merge', files: files.length, file: basename(files[0] ?? ''), err: errorSummary(err) },
      'flow archive merge failed; its files stay as they are, and the next pass tries again');
  };
  // Files a pass could not read alone: set aside after the pass when their frame is broken (damage.ts), else tried again.
  const suspects = new Set<string>();
  let setAsideCount = 0;
  /** Sets aside each of `files` whose Parquet frame is broken, audited as `archive:set-aside`; callers hold the chain. Returns how many. */
  async function setAsideBroken(files: Iterable<string>): Promise<number> {
    let n = 0;
    for (const f of files) {
      const reason = parquetDamage(f);
      const d = reason === undefined ? undefined : setAsideDamaged(f, reason, clock.nowMs());
      if (d === undefined) continue;
      n++;
      setAsideCount++;
      deps.logger?.error({ basisId: d.basis, hour: d.hour, file: d.file, bytes: d.bytes, reason: d.reason },
        'flow archive file damaged: set aside in its partition\'s damaged/ folder; answers over its hour name it and lack its flows');
      await audit.record(systemContext('archive'), {
        action: 'archive:set-aside', object: { type: 'archive_partition', id: `basis=${d.basis}/hour=${d.hour}` }, legalBasis: d.basis,
        outcome: 'success', details: { file: d.file, bytes: d.bytes, reason: d.reason },
      });
    }
    return n;
  }
  const setAsideSuspects = (): Promise<number> => {
    const files = [...suspects];
    suspects.clear();
    return files.length === 0 ? Promise.resolve(0) : serial(() => setAsideBroken(files));
  };
  /** The last hour compaction takes: hours that ended more than `graceMs` (default ten minutes) ago. */
  const closedBefore = (graceMs = 600_000): string => hourOf(clock.nowMs() - graceMs - 3_600_000);
  const writer: ArchiveWriter = createArchiveWriter(settings, { dir, engine, serial, ...(deps.logger !== undefined ? { logger: deps.logger } : {}) });

  // Row counts come from the Parquet footers.
  async function countRows(e: DuckDb, files: readonly string[]): Promise<number> {
    if (files.length === 0) return 0;
    const [r] = await e.all(`SELECT coalesce(sum(num_rows), 0) AS n FROM parquet_file_metadata(${fileList(files)})`);
    return Number(r?.['n'] ?? 0);
  }

  /** countRows of a partition's live files, setting aside a damaged one first when the count fails (callers hold the chain). */
  async function countPartition(e: DuckDb, p: Partition): Promise<number> {
    try {
      return await countRows(e, liveFiles(p.dir));
    } catch (err) {
      if (await setAsideBroken(liveFiles(p.dir)) === 0) throw err;
      return countRows(e, liveFiles(p.dir));
    }
  }


  /** Audits, then deletes one partition (a failed deletion is audited too); returns the flows it held. Callers hold the chain. */
  async function deletePartition(ctx: RequestContext, p: Partition, action: 'retention:delete' | 'flows:purge', extra: Record<string, string | number>): Promise<number> {
    const flows = await countPartition(await engine(), p);
    const files = readdirSync(p.dir, { withFileTypes: true }).filter((f) => f.isFile());
    const damaged = damagedFiles(p.dir);
    const bytes = files.reduce((a, f) => a + statSync(join(p.dir, f.name)).size, 0) + damaged.reduce((a, d) => a + d.bytes, 0);
    // Damaged files go with their partition; their flows are not counted (their footers cannot be read).
    const details = { ...extra, flows, partitions: 1, files: files.length, bytes, ...(damaged.length > 0 ? { damagedFiles: damaged.length } : {}) };
    const event = { action, object: { type: 'archive_partition', id: `basis=${p.basis}/hour=${p.hour}` }, legalBasis: p.basis, details };
    await audit.record(ctx, { ...event, outcome: 'success' });
    try {
      rmSync(p.dir, { recursive: true, force: true });
    } catch (e) {
      await audit.record(ctx, { ...event, outcome: 'failure' });
      throw e;
    }
    return flows;
  }

  function removeEmptyBasisDirs(): void {
    for (const b of existsSync(dir) ? readdirSync(dir) : []) if (b.startsWith('basis=') && readdirSync(join(dir, b)).length === 0) rmSync(join(dir, b), { recursive: true, force: true });
  }

  return {
    dir,
    /** The stream writer (a component: start it before flows come, stop it after). */
    writer,
    /** Rollups and merges that could not be written since start, by kind (each pass tries them again), and files set aside as damaged. */
    rollupStats: (): { minuteFailures: number; portFailures: number; mergeFailures: number; setAside: number } =>
      ({ minuteFailures: rollupFailures.minute, portFailures: rollupFailures.port, mergeFailures, setAside: setAsideCount }),
    /** Writes what is staged, then closes the engines it opened. */
    async close(): Promise<void> {
      try {
        await writer.stop();
        await rollupChain;
      } finally {
        for (const db of [writeDb, queryDb, rollupDb]) await db.close();
      }
    },
    /**
     * Appends a minimized batch and writes it out at once (file imports and tests; the pipeline appends and
     * lets the writer choose when): only allowed fields, foreign addresses, pseudonyms; never a raw
     * domestic address. Rows of a basis purged meanwhile are dropped and counted in `droppedPurged`.
     */
    async write(batch: SelectedBatch): Promise<{ rows: number; droppedPurged: number }> {
      const room = writer.whenRoom(batch.length);
      let r = writer.append(batch); // at once when there is room: a purge called after this write sees its rows
      if (!r.accepted && r.reason === 'archive_behind') { await room; r = writer.append(batch); }
      if (!r.accepted) throw new AppError('UNAVAILABLE', `The flow archive refused ${r.rows} flows (${r.reason}); see the log.`);
      await writer.flush();
      return { rows: r.rows, droppedPurged: r.droppedPurged };
    },

    /** The partitions on disk (basis, hour). */
    partitions: (): { basis: string; hour: string }[] => listPartitions(dir).map(({ basis, hour }) => ({ basis, hour })),

    /**
     * Merges files of every partition whose hour ended more than `graceMs` ago until none has fewer than `minRows`
     * rows (compaction.ts: a partition of fewer rows in all becomes one file); a query meanwhile sees every row
     * exactly once (liveFiles). A merge that fails is logged and counted (rollupStats) and the others go on; its files stay
     * live, and the next call tries again. Then writes those partitions' missing rollups, off the chain (rollupPass).
     */
    async compact(options: { minRows?: number; graceMs?: number } = {}): Promise<CompactionResult> {
      const minRows = options.minRows ?? 100_000;
      const before = closedBefore(options.graceMs);
      const out = await serial(async () => {
        const e = await engine();
        const r: CompactionResult = { partitions: 0, filesMerged: 0, rows: 0 };
        for (const p of listPartitions(dir)) {
          if (p.hour > before) continue;
          try {
            const m = await compactPartition(e, dir, p, minRows, (files, err) => mergeFailed(p, files, err));
            if (m.files > 0) { r.partitions++; r.filesMerged += m.files; r.rows += m.rows; }
          } catch (err) {
            mergeFailed(p, [], err); // a step outside the merge (finishing a swap, deleting sources, an unreadable directory)
          }
        }
        return r;
      });
      await rollupPass((p) => p.hour <= before); // after the merges: their sources' rollups go, the merged files get theirs
      await setAsideSuspects();
      return out;
    },

    /**
     * Writes the rollups of the files of hours compaction has not reached yet (the current hour, and the last for
     * `graceMs`), so that a question over them reads rows only of files written since the last call: the server calls
     * it every `archive.rollupEverySeconds`. Returns the rollups written.
     */
    rollupOpenHours: async (options: { graceMs?: number } = {}): Promise<number> => {
      const before = closedBefore(options.graceMs);
      const written = await rollupPass((p) => p.hour > before);
      await setAsideSuspects();
      return written;
    },

    /**
     * Deletes every partition past its basis's retention and writes each deletion to the audit log as
     * `retention:delete` (details `flows`, `partitions`: the names the Diet report counts).
     * @see DESIGN.md invariant 4
     */
    async enforceRetention(ctx: RequestContext): Promise<{ deleted: { basis: string; hour: string }[] }> {
      policy.require(ctx, 'flows:purge');
      const parts = listPartitions(dir);
      const retention = await deps.retentionOf([...new Set(parts.map((p) => p.basis))]);
      const now = clock.nowMs();
      const deleted: { basis: string; hour: string }[] = [];
      for (const p of parts) {
        const hourEnd = Date.parse(`${p.hour}:00:00.000Z`) + 3_600_000;
        const days = retention.get(p.basis) ?? 0; // no known basis: nothing allows keeping it
        if (!Number.isFinite(hourEnd) || hourEnd + days * 86_400_000 > now) continue;
        await serial(() => deletePartition(ctx, p, 'retention:delete', { retentionDays: days }));
        deleted.push({ basis: p.basis, hour: p.hour });
      }
      removeEmptyBasisDirs();
      return { deleted };
    },

    /**
     * Deletes every flow of one basis (an emergency acquisition the commission denied, or whose review
     * deadline passed): rows the writer still stages (memory and write-ahead segment) are dropped, then each
     * partition is deleted and audited as `flows:purge` with the reason and the flows deleted.
     * @see DESIGN.md invariant 6 (purge if denied)
     */
    async purgeBasis(ctx: RequestContext, basisId: string, reason: string): Promise<{ flows: number; partitions: number; staged: number; deleted: { basis: string; hour: string }[] }> {
      policy.require(ctx, 'flows:purge');
      const why = checkPurgeRequest(basisId, reason);
      // From here the writer refuses the basis's rows; what it staged is written without them and its segments go.
      const { stagedRowsDropped } = await writer.purgeBasis(basisId);
      return serial(async () => {
        const deleted: { basis: string; hour: string }[] = [];
        let flows = 0;
        for (const p of listPartitions(dir).filter((x) => x.basis === basisId)) {
          flows += await deletePartition(ctx, p, 'flows:purge', { reason: why });
          deleted.push({ basis: p.basis, hour: p.hour });
        }
        removeEmptyBasisDirs();
        return { flows, partitions: deleted.length, staged: stagedRowsDropped, deleted };
      });
    },

    /**
     * Holdings by basis, for inspection: partitions, rows, bytes, first and last hour (counts only).
     * @see DESIGN.md "Oversight" (inspection: data inventory by basis)
     */
    async inventory(ctx: RequestContext): Promise<BasisInventory[]> {
      policy.require(ctx, 'selection:counters');
      const e = await queryEngine();
      const parts = [];
      for (const p of listPartitions(dir)) {
        const count = (): Promise<{ rows: number; bytes: number }> =>
          readSnapshot([p], async (files) => ({ rows: await countRows(e, files), bytes: files.reduce((a, f) => a + statSync(f).size, 0) }));
        const { rows, bytes } = await count().catch(async (err: unknown) => {
          // A damaged file: set aside (on the chain), then counted without it.
          if (await serial(() => setAsideBroken(liveFiles(p.dir))) === 0) throw err;
          return count();
        });
        parts.push({ basis: p.basis, hour: p.hour, rows, bytes });
      }
      return inventoryByBasis(parts);
    },

    /**
     * Answers a filtered, grouped question over the archive (what the writer has written; staged rows follow
     * within `archive.maxAgeSeconds`); every query is audited with its purpose and the bases it read. @see query.ts
     */
    queryFlows: (ctx: RequestContext, input: FlowQuery): Promise<FlowQueryResult> => queryFlows({ dir, audit, policy, engine: queryEngine,
      setAside: (files) => serial(() => setAsideBroken(files)), ...(deps.rollups === false ? { rollups: false } : {}) }, ctx, input),

  };
}

/** The flow archive. */
export type FlowArchive = ReturnType<typeof createFlowArchive>;
