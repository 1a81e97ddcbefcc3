/** @module The archive's audited flow queries: the query schema, its group keys, the SQL one question becomes, and reading a snapshot of live files. */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { z } from 'zod';
import type { RequestContext } from '#platform/context/index.js';
import type { DuckDb } from '#platform/duckdb/index.js';
import { AppError, parseOrThrow } from '#platform/errors/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import { formatAddress } from '#modules/collection/index.js';
import { parsePrefix } from '../ranges.js';
import { damagedFiles, type DamagedFile } from './damage.js';
import { foreignHalf, hourOf, listPartitions, liveFiles, slotBytes, slotHalves, sqlString, type Partition } from './layout.js';
import { planPortRollups } from './port-rollup.js';
import { ROLLUP_KEYS, rollupOf } from './rollup.js';

/** An address group key reads two UBIGINT halves; the others one column (`text` formats a group's value once, after grouping). */
type GroupKey = { sql: string; text?: (v: unknown) => unknown } | { hi: string; lo: string; pseudonym?: true };

/** `YYYY-MM-DDTHH:MM` of a minute number since the epoch (the minute key groups on the number: no timestamp is truncated per row). */
const minuteText = (v: unknown): unknown => (v === null || v === undefined ? v : new Date(Number(v) * 60_000).toISOString().slice(0, 16));

/** Group-by keys of a flow query and the columns each reads. */
export const GROUP_KEYS: Readonly<Record<'hour' | 'minute' | 'basis' | 'category' | 'srcAddr' | 'dstAddr' | 'foreignAddress' | 'srcPort' | 'dstPort' | 'proto' | 'exporter', GroupKey>> = {
  hour: { sql: 'hour' }, minute: { sql: 'epoch_ms(start) // 60000', text: minuteText }, basis: { sql: 'basis' }, category: { sql: 'category' },
  srcAddr: { hi: 'src_ip_hi', lo: 'src_ip_lo' }, dstAddr: { hi: 'dst_ip_hi', lo: 'dst_ip_lo' },
  foreignAddress: { hi: foreignHalf('hi'), lo: foreignHalf('lo') },
  srcPort: { sql: 'src_port' }, dstPort: { sql: 'dst_port' }, proto: { sql: 'proto' }, exporter: { sql: 'exporter' },
};

/** The columns of a port rollup (port-rollup.ts) each group key it can answer reads, named as the rows' path names them. */
const PORT_ROLLUP_COLUMNS: Partial<Record<keyof typeof GROUP_KEYS, string>> = {
  hour: 'hour AS "hour"', basis: 'basis AS "basis"', category: 'category AS "category"', proto: 'proto AS "proto"',
  foreignAddress: 'foreign_hi AS "foreignAddress__hi", foreign_lo AS "foreignAddress__lo"',
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

/** What a flow query answers: its rows, the bases and the number of partitions it read. */
export interface FlowQueryResult {
  rows: Record<string, unknown>[];
  bases: string[];
  partitions: number;
  /** Files of the partitions read that were set aside as damaged (damage.ts): their flows are not in `rows`. */
  damaged: DamagedFile[];
}

/**
 * What queryFlows needs: the archive directory, an engine for queries only, the audit log and the policy; `rollups: false`
 * reads rows only (tests); `files` lists a partition's Parquet files as the read sees them (default liveFiles: a cluster
 * replica lists files of which it fetched only the rollup, for a question readsRollupsOnly says needs no row of them).
 */
export interface FlowQueryDeps {
  dir: string; engine: () => Promise<DuckDb>; audit: AuditRecorder; policy: PolicyEngine; rollups?: boolean;
  files?: (partitionDir: string) => string[];
  /** Sets aside those of `files` whose Parquet frame is broken (the local archive); returns how many (a failed read is run again). */
  setAside?: (files: readonly string[]) => Promise<number>;
}

/** Whether rollups can answer a question: grouped and filtered by their keys alone (time, bases, proto, category). */
function rollupable(q: z.output<typeof FlowQuerySchema>): boolean {
  const f = q.filters;
  return q.groupBy.length > 0 && q.groupBy.every((g) => ROLLUP_KEYS.has(g))
    && f.foreignAddress === undefined && f.foreignPrefix === undefined && f.pseudonym === undefined && f.port === undefined;
}

/**
 * Whether queryFlows reads a file that has a rollup from its rollup alone: a question rollups answer, over whole minutes
 * (no minute cut by `from` or `to`, which rows would answer).
 */
export function readsRollupsOnly(input: FlowQuery): boolean {
  const q = parseOrThrow(FlowQuerySchema, input, 'flow query');
  const from = Date.parse(q.filters.from), to = Date.parse(q.filters.to);
  return rollupable(q) && from % 60_000 === 0 && to % 60_000 === 0;
}

/** Whether port rollups can answer a question: filtered by a port, grouped by their keys, no address, prefix or pseudonym. */
function portRollupShape(q: z.output<typeof FlowQuerySchema>): boolean {
  const f = q.filters;
  return f.port !== undefined && q.groupBy.length > 0 && q.groupBy.every((g) => PORT_ROLLUP_COLUMNS[g] !== undefined)
    && f.foreignAddress === undefined && f.foreignPrefix === undefined && f.pseudonym === undefined;
}

/**
 * The port a question may read from port rollups (planPortRollups decides which, by the rollups beside the files), or
 * undefined: a cluster replica fetches a usable rollup instead of the files it covers only for such a question.
 */
export function readsPortRollups(input: FlowQuery): number | undefined {
  const q = parseOrThrow(FlowQuerySchema, input, 'flow query');
  return portRollupShape(q) ? q.filters.port : undefined;
}

/** How a grouped question reads a snapshot with rollups: whole minutes [m0, m1) from rollups, the cut edges and the rest from rows. */
interface RollupPlan { rolled: string[]; unrolled: string[]; m0: number; m1: number; edges: [number, number][] }

/** Splits a snapshot's files by whether a rollup lies beside them; undefined when rollups cannot help (none, or no whole minute in range). */
function planRollups(files: readonly string[], from: number, to: number): RollupPlan | undefined {
  const m0 = Math.ceil(from / 60_000), m1 = Math.floor(to / 60_000);
  const rolled = files.filter((f) => existsSync(rollupOf(f)));
  if (m0 >= m1 || rolled.length === 0) return undefined;
  const edges: [number, number][] = [];
  if (from < m0 * 60_000) edges.push([from, m0 * 60_000]);
  if (m1 * 60_000 < to) edges.push([m1 * 60_000, to]);
  const has = new Set(rolled);
  return { rolled, unrolled: files.filter((f) => !has.has(f)), m0, m1, edges };
}

/** A DuckDB list literal of file paths. */
export const fileList = (files: readonly string[]): string => `[${files.map(sqlString).join(', ')}]`;
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

/**
 * Runs a read over a snapshot of live files, again (at most three times) if a file went away under it:
 * compaction deleted its sources after the snapshot was taken, so the next snapshot holds their merged file.
 */
export async function readSnapshot<T>(parts: readonly Partition[], read: (files: string[]) => Promise<T>, list: (dir: string) => string[] = liveFiles): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const files = parts.flatMap((p) => list(p.dir));
    try {
      return await read(files);
    } catch (e) {
      const gone = files.some((f) => !existsSync(f));
      if (!gone || attempt >= 2) throw e;
    }
  }
}

/**
 * Answers a filtered, grouped question over the archive (what the writer has written; staged rows follow
 * within `archive.maxAgeSeconds`); every query is audited with its purpose and the bases it read.
 * @see docs/selection.md "Query speed"
 */
export async function queryFlows(deps: FlowQueryDeps, ctx: RequestContext, input: FlowQuery): Promise<FlowQueryResult> {
  const { dir, audit, policy } = deps;
  policy.require(ctx, 'flows:query');
  const q = parseOrThrow(FlowQuerySchema, input, 'flow query');
  const from = Date.parse(q.filters.from);
  const to = Date.parse(q.filters.to);
  const fromHour = hourOf(from);
  const toHour = hourOf(to - 1);
  const parts = listPartitions(dir).filter((p) => p.hour >= fromHour && p.hour <= toHour && (q.filters.basisIds === undefined || q.filters.basisIds.includes(p.basis)));
  const bases = [...new Set(parts.map((p) => p.basis))].sort();
  // The range as literals (whole ms from Date.parse): a statement must use every parameter it is given, and the rollup
  // path's statements read rows of only part of the range.
  const during = (a: number, b: number): string[] => [`start >= epoch_ms(CAST(${a} AS BIGINT))`, `start < epoch_ms(CAST(${b} AS BIGINT))`];
  const where: string[] = during(from, to);
  const params: (string | number)[] = [];
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
  // Rollups hold (category, minute, proto, exporter) per file: they answer questions grouped and filtered by those alone.
  const byRollups = deps.rollups !== false && rollupable(q);
  // Port rollups hold (category, foreign address, port, proto) of the service ports on either side (port-rollup.ts).
  const portRollupable = deps.rollups !== false && portRollupShape(q);
  const present = (got: Record<string, unknown>[]): Record<string, unknown>[] => got.map((r) => {
    const out: Record<string, unknown> = {};
    for (const g of q.groupBy) {
      const k = GROUP_KEYS[g];
      if ('sql' in k) out[g] = k.text === undefined ? r[g] : k.text(r[g]);
      else { const b = slotBytes(r[`${g}__hi`], r[`${g}__lo`]); out[g] = b === undefined ? null : formatAddress(b, 0); }
    }
    return { ...out, flows: r['flows'], bytes: r['bytes'], packets: r['packets'], first: r['first'], last: r['last'] };
  });
  const filterHash = createHash('sha256').update(JSON.stringify(q.filters)).digest('hex');
  const event = { action: 'flows:query', object: { type: 'flow_archive', id: 'flows' }, legalBasis: bases.join(',').slice(0, 1000) || null };
  let rows: Record<string, unknown>[];
  const read = (): Promise<Record<string, unknown>[]> => readSnapshot(parts, async (files) => {
    if (files.length === 0) return [];
    const e = await deps.engine();
    const scan = (list: readonly string[]): string => `read_parquet(${fileList(list)}, hive_partitioning = true, union_by_name = true)`;
    const scanOf = (list: readonly string[]): string => (sides === undefined ? scan(list)
      : `(SELECT * FROM ${scan(list)} WHERE ${sides.src} UNION ALL SELECT * FROM ${scan(list)} WHERE ${sides.dst} AND (${sides.src}) IS NOT TRUE)`);
    const source = scanOf(files);
    if (q.groupBy.length === 0) {
      return (await e.all(`SELECT * FROM ${source} WHERE ${where.join(' AND ')} ORDER BY start LIMIT ${q.limit}`, params)).map(presentRow);
    }
    const cols = q.groupBy.flatMap((g) => { const k = GROUP_KEYS[g]; return 'sql' in k ? [`${k.sql} AS "${g}"`] : [`${k.hi} AS "${g}__hi"`, `${k.lo} AS "${g}__lo"`]; });
    // Ties broken by the keys: an answer cut by the limit is the same on every run and from rollups or rows alike.
    const order = `ORDER BY flows DESC, ${cols.map((_, i) => i + 1).join(', ')} LIMIT ${q.limit}`;
    const sums = 'count(*) AS flows, sum(bytes) AS bytes, sum(packets) AS packets, min(start) AS first, max(start) AS last';
    const grouped = (list: string[], cond: string): string => `SELECT ${cols.join(', ')}, ${sums} FROM ${scanOf(list)} WHERE ${cond} GROUP BY ALL`;
    const ports = portRollupable ? await planPortRollups(e, files, q.filters.port!, from, to) : undefined;
    if (ports !== undefined && ports.rollups.length > 0) {
      // The port's rows of each usable rollup, and rows for the files none covers; summed by the question's keys.
      const conds = [`port = ${q.filters.port!}`];
      if (q.filters.proto !== undefined) conds.push(`proto = ${q.filters.proto}`);
      if (q.filters.category !== undefined) conds.push(`category = ${sqlString(q.filters.category)}`);
      const pieces = [`SELECT ${q.groupBy.map((g) => PORT_ROLLUP_COLUMNS[g]).join(', ')}, flows, bytes, packets, first, last
        FROM ${scan(ports.rollups)} WHERE ${conds.join(' AND ')}`];
      if (ports.rows.length > 0) pieces.push(grouped(ports.rows, where.join(' AND ')));
      const outer = cols.map((c) => c.slice(c.lastIndexOf(' AS ') + 4)).join(', ');
      return e.all(`SELECT ${outer}, CAST(sum(flows) AS BIGINT) AS flows, sum(bytes) AS bytes, sum(packets) AS packets, min(first) AS first, max(last) AS last
        FROM (${pieces.join(' UNION ALL ')}) GROUP BY ALL ${order}`, ports.rows.length > 0 ? params : []).then(present);
    }
    const plan = byRollups ? planRollups(files, from, to) : undefined;
    if (plan === undefined) return e.all(`${grouped(files, where.join(' AND '))} ${order}`, params).then(present);
    // Whole minutes of files with a rollup from the rollup; the minutes cut by from/to, and files without one, from rows.
    const rest = where.slice(2);
    const keys = q.groupBy.map((g) => `"${g}"`).join(', ');
    const pieces = [`SELECT ${keys}, flows, bytes, packets, first, last FROM ${scanOf(plan.rolled.map(rollupOf))}
      WHERE ${[`minute >= ${plan.m0}`, `minute < ${plan.m1}`, ...rest].join(' AND ')}`];
    for (const [a, b] of plan.edges) {
      pieces.push(grouped(plan.rolled, [...during(a, b), ...rest].join(' AND ')));
    }
    if (plan.unrolled.length > 0) pieces.push(grouped(plan.unrolled, where.join(' AND ')));
    return e.all(`SELECT ${keys}, CAST(sum(flows) AS BIGINT) AS flows, sum(bytes) AS bytes, sum(packets) AS packets, min(first) AS first, max(last) AS last
      FROM (${pieces.join(' UNION ALL ')}) GROUP BY ALL ${order}`, params).then(present);
  }, deps.files);
  try {
    try {
      rows = await read();
    } catch (e) {
      // A damaged file fails every read of its hour: set aside, the question is asked again without it (and says so).
      const setAside = deps.setAside;
      if (setAside === undefined || await setAside(parts.flatMap((p) => (deps.files ?? liveFiles)(p.dir))) === 0) throw e;
      rows = await read();
    }
  } catch (e) {
    await audit.record(ctx, { ...event, outcome: 'failure', details: { purpose: q.purpose, bases: bases.join(','), filters: filterHash } });
    throw new AppError('INTERNAL', 'The flow query failed.', { cause: e });
  }
  const damaged = parts.flatMap((p) => damagedFiles(p.dir));
  const details = { purpose: q.purpose, bases: bases.join(','), filters: filterHash, groupBy: q.groupBy.join(','), rows: rows.length, partitions: parts.length };
  await audit.record(ctx, { ...event, outcome: 'success', details: { ...details, ...(damaged.length > 0 ? { damagedFiles: damaged.length } : {}) } });
  return { rows, bases, partitions: parts.length, damaged };
}
