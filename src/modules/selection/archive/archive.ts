/** @module The flow archive: kept, minimized flows as Parquet partitioned by basis and hour, its stream writer, compaction, retention, purge and audited queries. */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { Clock } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import type { DuckDb } from '#platform/duckdb/index.js';
import { AppError, parseOrThrow } from '#platform/errors/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import { formatAddress } from '#modules/collection/index.js';
import type { SelectedBatch } from '../minimize.js';
import { parsePrefix } from '../ranges.js';
import { compactPartition } from './compaction.js';
import { hourOf, listPartitions, liveFiles, slotBytes, slotHalves, sqlString, type Partition } from './layout.js';
import { createArchiveWriter, DEFAULT_WRITER_SETTINGS, type ArchiveWriter, type ArchiveWriterSettings } from './writer.js';

/** What the archive needs; the engine is the embedded DuckDB driver (src/platform/duckdb) or a stand-in. */
export interface ArchiveDeps {
  /** `<dataDir>/archive` holds `basis=<id>/hour=<YYYY-MM-DDTHH>/*.parquet`, and the writer's `_wal/` and `_tmp/`. */
  dir: string;
  /** Opens an engine (called once for writing and compaction, once for queries: a long query never holds up writing). */
  engine: () => Promise<DuckDb>;
  audit: AuditRecorder;
  policy: PolicyEngine;
  clock: Clock;
  /** Retention in days of each basis id; undefined for an unknown basis (its partitions are purged). */
  retentionOf: (basisIds: readonly string[]) => Promise<Map<string, number>>;
  /** The stream writer's limits (`archive.*`); defaults in DEFAULT_WRITER_SETTINGS. */
  writer?: Partial<ArchiveWriterSettings>;
  logger?: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
}

/** An address group key reads two UBIGINT halves; the others one column (`text` formats a group's value once, after grouping). */
type GroupKey = { sql: string; text?: (v: unknown) => unknown } | { hi: string; lo: string; pseudonym?: true };
const foreign = (half: 'hi' | 'lo'): string => `CASE WHEN category = 'outbound' THEN dst_ip_${half} ELSE src_ip_${half} END`;

/** Group-by keys of a flow query and the columns each reads. */
export const GROUP_KEYS: Readonly<Record<'hour' | 'minute' | 'basis' | 'category' | 'srcAddr' | 'dstAddr' | 'foreignAddress' | 'srcPort' | 'dstPort' | 'proto' | 'exporter', GroupKey>> = {
  hour: { sql: 'hour' }, minute: { sql: `date_trunc('minute', start)`, text: (v) => (typeof v === 'string' ? `${v.slice(0, 10)}T${v.slice(11, 16)}` : v) }, basis: { sql: 'basis' }, category: { sql: 'category' },
  srcAddr: { hi: 'src_ip_hi', lo: 'src_ip_lo' }, dstAddr: { hi: 'dst_ip_hi', lo: 'dst_ip_lo' },
  foreignAddress: { hi: foreign('hi'), lo: foreign('lo') },
  srcPort: { sql: 'src_port' }, dstPort: { sql: 'dst_port' }, proto: { sql: 'proto' }, exporter: { sql: 'exporter' },
};

const iso = z.string().datetime({ offset: true, message: 'use ISO 8601 with a time zone' });

/** A flow query: a stated purpose, a bounded time range, filters and optional grouping. */
export const FlowQuerySchema = z.object({
  purpose: z.string().trim().min(10, 'state the purpose in at least 10 characters').max(500),
  filters: z.object({
    from: iso,
    to: iso,
    basisIds: z.array(z.string().min(1).max(100)).max(100).optional(),
    foreignAddress: z.string().min(2).max(64).optional(),
    foreignPrefix: z.string().min(2).max(64).optional(),
    /** A domestic endpoint's keyed pseudonym (hex), as findings name it. */
    pseudonym: z.string().regex(/^[0-9a-f]{8,64}$/, 'a pseudonym is the hex a finding shows').optional(),
    port: z.number().int().min(0).max(65535).optional(),
    proto: z.number().int().min(0).max(255).optional(),
    category: z.enum(['transit', 'inbound', 'outbound']).optional(),
  }).strict(),
  groupBy: z.array(z.enum(Object.keys(GROUP_KEYS) as [keyof typeof GROUP_KEYS, ...(keyof typeof GROUP_KEYS)[]])).max(5).default([]),
  limit: z.number().int().min(1).max(10_000).default(1000),
}).strict().refine((q) => Date.parse(q.filters.to) > Date.parse(q.filters.from), { path: ['filters', 'to'], message: 'must be after from' });

/** Input of queryFlows. */
export type FlowQuery = z.input<typeof FlowQuerySchema>;

/** Basis ids are path components of the archive: nothing that could leave it. */
const SAFE_BASIS_ID = /^[A-Za-z0-9_-]{1,100}$/;

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

/** What one compaction round did. */
export interface CompactionResult { partitions: number; filesMerged: number; rows: number }

const fileList = (files: readonly string[]): string => `[${files.map(sqlString).join(', ')}]`;
const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A raw archive row in the query's shape: addresses as text, pseudonyms as hex (the files hold 128-bit halves). */
export function presentRow(r: Record<string, unknown>): Record<string, unknown> {
  const addr = (side: 'src' | 'dst'): string | null => { const b = slotBytes(r[`${side}_ip_hi`], r[`${side}_ip_lo`]); return b === undefined ? null : formatAddress(b, 0); };
  const pseudo = (side: 'src' | 'dst'): string | null => { const b = slotBytes(r[`${side}_pseudonym_hi`], r[`${side}_pseudonym_lo`]); return b === undefined ? null : hexOf(b); };
  return {
    basis: r['basis'], hour: r['hour'], category: r['category'], start: r['start'], end: r['end'],
    src_addr: addr('src'), dst_addr: addr('dst'), src_pseudonym: pseudo('src'), dst_pseudonym: pseudo('dst'), pseudonym_period: r['pseudonym_period'],
    src_port: r['src_port'], dst_port: r['dst_port'], proto: r['proto'], tcp_flags: r['tcp_flags'], bytes: r['bytes'], packets: r['packets'],
    sampling_rate: r['sampling_rate'], in_if: r['in_if'], out_if: r['out_if'], exporter: r['exporter'],
  };
}

/** Creates the archive. @see DESIGN.md "Chosen parts" (flow archive), "Scale" (large row groups) and invariants 2–5 */
export function createFlowArchive(deps: ArchiveDeps) {
  const dir = resolve(deps.dir);
  const { audit, policy, clock } = deps;
  const settings: ArchiveWriterSettings = { ...DEFAULT_WRITER_SETTINGS, ...deps.writer };
  let opened: Promise<DuckDb> | undefined;
  let queryOpened: Promise<DuckDb> | undefined;
  const engine = (): Promise<DuckDb> => (opened ??= deps.engine());
  const queryEngine = (): Promise<DuckDb> => (queryOpened ??= deps.engine());
  let chain: Promise<unknown> = Promise.resolve();
  // Writes, compaction, retention and purges take turns (a query reads without waiting: the swap rule keeps it exact).
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };
  const writer: ArchiveWriter = createArchiveWriter(settings, { dir, engine, serial, ...(deps.logger !== undefined ? { logger: deps.logger } : {}) });

  // Row counts come from the Parquet footers.
  async function countRows(e: DuckDb, files: readonly string[]): Promise<number> {
    if (files.length === 0) return 0;
    const [r] = await e.all(`SELECT coalesce(sum(num_rows), 0) AS n FROM parquet_file_metadata(${fileList(files)})`);
    return Number(r?.['n'] ?? 0);
  }

  /**
   * Runs a read over a snapshot of live files, again (at most three times) if a file went away under it:
   * compaction deleted its sources after the snapshot was taken, so the next snapshot holds their merged file.
   */
  async function readSnapshot<T>(parts: readonly Partition[], read: (files: string[]) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const files = parts.flatMap((p) => liveFiles(p.dir));
      try {
        return await read(files);
      } catch (e) {
        const gone = files.some((f) => !existsSync(f));
        if (!gone || attempt >= 2) throw e;
      }
    }
  }

  /** Audits, then deletes one partition (a failed deletion is audited too); returns the flows it held. Callers hold the chain. */
  async function deletePartition(ctx: RequestContext, p: Partition, action: 'retention:delete' | 'flows:purge', extra: Record<string, string | number>): Promise<number> {
    const files = readdirSync(p.dir);
    const bytes = files.reduce((a, f) => a + statSync(join(p.dir, f)).size, 0);
    const flows = await countRows(await engine(), liveFiles(p.dir));
    const event = { action, object: { type: 'archive_partition', id: `basis=${p.basis}/hour=${p.hour}` }, legalBasis: p.basis, details: { ...extra, flows, partitions: 1, files: files.length, bytes } };
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
    /** Writes what is staged, then closes the engines it opened. */
    async close(): Promise<void> {
      try {
        await writer.stop();
      } finally {
        for (const o of [opened, queryOpened]) if (o !== undefined) (await o).close();
        opened = undefined;
        queryOpened = undefined;
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
     * exactly once (liveFiles).
     */
    async compact(options: { minRows?: number; graceMs?: number } = {}): Promise<CompactionResult> {
      const minRows = options.minRows ?? 100_000;
      const before = hourOf(clock.nowMs() - (options.graceMs ?? 600_000) - 3_600_000);
      return serial(async () => {
        const e = await engine();
        const out: CompactionResult = { partitions: 0, filesMerged: 0, rows: 0 };
        for (const p of listPartitions(dir)) {
          if (p.hour > before) continue;
          const r = await compactPartition(e, dir, p, minRows);
          if (r.files > 0) { out.partitions++; out.filesMerged += r.files; out.rows += r.rows; }
        }
        return out;
      });
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
      if (!SAFE_BASIS_ID.test(basisId)) throw new AppError('VALIDATION_FAILED', 'basisId: a legal basis id (letters, digits, "-" and "_").');
      const why = reason.trim().slice(0, 500);
      if (why === '') throw new AppError('VALIDATION_FAILED', 'reason: say why the data is purged.');
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
      const byBasis = new Map<string, BasisInventory>();
      for (const p of listPartitions(dir)) {
        const { rows, bytes } = await readSnapshot([p], async (files) => ({ rows: await countRows(e, files), bytes: files.reduce((a, f) => a + statSync(f).size, 0) }));
        const cur = byBasis.get(p.basis);
        if (cur === undefined) byBasis.set(p.basis, { basisId: p.basis, partitions: 1, rows, bytes, firstHour: p.hour, lastHour: p.hour });
        else {
          cur.partitions += 1;
          cur.rows += rows;
          cur.bytes += bytes;
          if (p.hour < cur.firstHour) cur.firstHour = p.hour;
          if (p.hour > cur.lastHour) cur.lastHour = p.hour;
        }
      }
      return [...byBasis.values()].sort((a, b) => a.basisId.localeCompare(b.basisId));
    },

    /**
     * Answers a filtered, grouped question over the archive (what the writer has written; staged rows follow
     * within `archive.maxAgeSeconds`); every query is audited with its purpose and the bases it read.
     */
    async queryFlows(ctx: RequestContext, input: FlowQuery): Promise<{ rows: Record<string, unknown>[]; bases: string[]; partitions: number }> {
      policy.require(ctx, 'flows:query');
      const q = parseOrThrow(FlowQuerySchema, input, 'flow query');
      const from = Date.parse(q.filters.from);
      const to = Date.parse(q.filters.to);
      const fromHour = hourOf(from);
      const toHour = hourOf(to - 1);
      const parts = listPartitions(dir).filter((p) => p.hour >= fromHour && p.hour <= toHour && (q.filters.basisIds === undefined || q.filters.basisIds.includes(p.basis)));
      const bases = [...new Set(parts.map((p) => p.basis))].sort();
      const where: string[] = ['start >= epoch_ms(CAST($1 AS BIGINT))', 'start < epoch_ms(CAST($2 AS BIGINT))'];
      const params: (string | number)[] = [from, to];
      const add = (sql: string, ...vals: (string | number)[]): void => {
        let s = sql;
        vals.forEach((v) => { params.push(v); s = s.replace('?', `$${params.length}`); });
        where.push(s);
      };
      const range = (text: string, what: string): [bigint, bigint] => {
        const p = parsePrefix(text);
        if (p === undefined) throw new AppError('VALIDATION_FAILED', `${what}: write an address or a prefix (a.b.c.d/len, x:y::/len).`);
        const base = p.family === 4 ? 0xffff_0000_0000n : 0n;
        return [base + BigInt(p.start), base + BigInt(p.end)];
      };
      // (hi, lo) within [a, b] as 128-bit numbers; both halves are plain columns, so row-group statistics prune.
      const within = (side: 'src' | 'dst', a: bigint, b: bigint): string => {
        const [ah, al] = slotHalves(a);
        const [bh, bl] = slotHalves(b);
        const h = `${side}_ip_hi`, l = `${side}_ip_lo`;
        const p = (v: string): string => { params.push(v); return `CAST($${params.length} AS UBIGINT)`; };
        if (ah === bh) return al === bl ? `(${h} = ${p(ah)} AND ${l} = ${p(al)})` : `(${h} = ${p(ah)} AND ${l} BETWEEN ${p(al)} AND ${p(bl)})`;
        const [pah, pal, pbh, pbl] = [p(ah), p(al), p(bh), p(bl)];
        // The BETWEEN on the high half alone is what DuckDB can push into the scan (an OR it cannot).
        return `(${h} BETWEEN ${pah} AND ${pbh} AND (${h} > ${pah} OR (${h} = ${pah} AND ${l} >= ${pal})) AND (${h} < ${pbh} OR (${h} = ${pbh} AND ${l} <= ${pbl})))`;
      };
      // One address filter is read as two scans — rows whose source matches, then rows whose destination does and
      // whose source does not — so that each scan's filter names one side's columns and the row-group statistics
      // of the address-ordered files (segment-write.ts) skip the rest: DuckDB does not push an OR of two columns'
      // conditions into a Parquet scan. Both filters at once keep the plain OR (exact, not pruned).
      let sides: { src: string; dst: string } | undefined;
      const address = q.filters.foreignAddress !== undefined ? range(q.filters.foreignAddress, 'foreignAddress') : undefined;
      const prefix = q.filters.foreignPrefix !== undefined ? range(q.filters.foreignPrefix, 'foreignPrefix') : undefined;
      if (address !== undefined && prefix === undefined) sides = { src: within('src', address[0], address[0]), dst: within('dst', address[0], address[0]) };
      else if (prefix !== undefined && address === undefined) sides = { src: within('src', prefix[0], prefix[1]), dst: within('dst', prefix[0], prefix[1]) };
      else if (address !== undefined && prefix !== undefined) {
        where.push(`(${within('src', address[0], address[0])} OR ${within('dst', address[0], address[0])})`);
        where.push(`(${within('src', prefix[0], prefix[1])} OR ${within('dst', prefix[0], prefix[1])})`);
      }
      if (q.filters.pseudonym !== undefined) {
        // Stored as two halves of its 16 bytes; any other length names no stored pseudonym.
        const hex = q.filters.pseudonym;
        if (hex.length !== 32) where.push('false');
        else {
          const [h, l] = slotHalves(BigInt(`0x${hex}`));
          add('((src_pseudonym_hi = CAST(? AS UBIGINT) AND src_pseudonym_lo = CAST(? AS UBIGINT)) OR (dst_pseudonym_hi = CAST(? AS UBIGINT) AND dst_pseudonym_lo = CAST(? AS UBIGINT)))', h, l, h, l);
        }
      }
      if (q.filters.port !== undefined) add('(src_port = ? OR dst_port = ?)', q.filters.port, q.filters.port);
      if (q.filters.proto !== undefined) add('proto = ?', q.filters.proto);
      if (q.filters.category !== undefined) add('category = ?', q.filters.category);
      const filterHash = createHash('sha256').update(JSON.stringify(q.filters)).digest('hex');
      const event = { action: 'flows:query', object: { type: 'flow_archive', id: 'flows' }, legalBasis: bases.join(',').slice(0, 1000) || null };
      let rows: Record<string, unknown>[];
      try {
        rows = await readSnapshot(parts, async (files) => {
          if (files.length === 0) return [];
          const e = await queryEngine();
          const scan = `read_parquet(${fileList(files)}, hive_partitioning = true, union_by_name = true)`;
          const source = sides === undefined ? scan : `(SELECT * FROM ${scan} WHERE ${sides.src} UNION ALL SELECT * FROM ${scan} WHERE ${sides.dst} AND (${sides.src}) IS NOT TRUE)`;
          if (q.groupBy.length === 0) {
            return (await e.all(`SELECT * FROM ${source} WHERE ${where.join(' AND ')} ORDER BY start LIMIT ${q.limit}`, params)).map(presentRow);
          }
          const cols = q.groupBy.flatMap((g) => { const k = GROUP_KEYS[g]; return 'sql' in k ? [`${k.sql} AS "${g}"`] : [`${k.hi} AS "${g}__hi"`, `${k.lo} AS "${g}__lo"`]; });
          const got = await e.all(`SELECT ${cols.join(', ')}, count(*) AS flows, sum(bytes) AS bytes, sum(packets) AS packets, min(start) AS first, max(start) AS last FROM ${source} WHERE ${where.join(' AND ')} GROUP BY ALL ORDER BY flows DESC LIMIT ${q.limit}`, params);
          return got.map((r) => {
            const out: Record<string, unknown> = {};
            for (const g of q.groupBy) {
              const k = GROUP_KEYS[g];
              if ('sql' in k) out[g] = k.text === undefined ? r[g] : k.text(r[g]);
              else { const b = slotBytes(r[`${g}__hi`], r[`${g}__lo`]); out[g] = b === undefined ? null : formatAddress(b, 0); }
            }
            return { ...out, flows: r['flows'], bytes: r['bytes'], packets: r['packets'], first: r['first'], last: r['last'] };
          });
        });
      } catch (e) {
        await audit.record(ctx, { ...event, outcome: 'failure', details: { purpose: q.purpose, bases: bases.join(','), filters: filterHash } });
        throw new AppError('INTERNAL', 'The flow query failed.', { cause: e });
      }
      await audit.record(ctx, { ...event, outcome: 'success', details: { purpose: q.purpose, bases: bases.join(','), filters: filterHash, groupBy: q.groupBy.join(','), rows: rows.length, partitions: parts.length } });
      return { rows, bases, partitions: parts.length };
    },
  };
}

/** The flow archive. */
export type FlowArchive = ReturnType<typeof createFlowArchive>;
