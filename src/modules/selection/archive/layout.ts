/** @module The archive's layout on disk: hive partitions by basis and hour, which files a reader takes (compaction's swap rule), 128-bit addresses as two UBIGINT columns, and what a purge request must name. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isoUtc } from '#platform/clock/index.js';
import { AppError } from '#platform/errors/index.js';

/** One partition directory: `basis=<id>/hour=<YYYY-MM-DDTHH>`. */
export interface Partition { basis: string; hour: string; dir: string }

/** Where the writer keeps its write-ahead segments, inside the archive directory (no reader looks there). */
export const WAL_DIR = '_wal';
/** Where files are written before they are renamed into their partition (a reader never sees half a file). */
export const TMP_DIR = '_tmp';
/** Where the archive's DuckDB instances spill what exceeds their memory limit (spill.ts). */
export const SPILL_DIR = '_spill';

/** A compaction's manifest beside its merged file: the names of the files that file replaces. */
export const REPLACES_SUFFIX = '.replaces';

/** `YYYY-MM-DDTHH` (UTC) of a time in ms. */
export const hourOf = (ms: number): string => isoUtc(ms).slice(0, 13);

/** Every partition directory under `dir`. */
export function listPartitions(dir: string): Partition[] {
  if (!existsSync(dir)) return [];
  const out: Partition[] = [];
  for (const b of readdirSync(dir)) {
    if (!b.startsWith('basis=')) continue;
    for (const h of readdirSync(join(dir, b))) {
      if (!h.startsWith('hour=')) continue;
      out.push({ basis: b.slice(6), hour: h.slice(5), dir: join(dir, b, h) });
    }
  }
  return out;
}

/**
 * The Parquet files a reader takes in a partition: every `.parquet` file except those a merged file
 * replaces. Compaction writes the manifest `c<id>.replaces` first, renames `c<id>.parquet` in (from then on
 * readers skip the sources), deletes the sources, then the manifest: a reader never counts a row twice,
 * and a source deleted under a reader that listed it earlier makes the read fail and retry, never miss.
 */
export function liveFiles(partitionDir: string): string[] {
  if (!existsSync(partitionDir)) return [];
  const names = readdirSync(partitionDir);
  const present = new Set(names);
  const replaced = new Set<string>();
  for (const n of names) {
    if (!n.endsWith(REPLACES_SUFFIX)) continue;
    const merged = `${n.slice(0, -REPLACES_SUFFIX.length)}.parquet`;
    if (!present.has(merged)) continue; // the swap has not happened: the sources are still the live files
    try {
      for (const s of JSON.parse(readFileSync(join(partitionDir, n), 'utf8')) as string[]) replaced.add(s);
    } catch {
      // Written by rename from a complete temporary file, so never partial; unreadable means gone meanwhile.
    }
  }
  return names.filter((n) => n.endsWith('.parquet') && !replaced.has(n)).map((n) => join(partitionDir, n));
}

/** A SQL string literal. */
export const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** Splits a 16-byte big-endian slot into its high and low 64-bit halves (as decimal strings for SQL parameters). */
export function slotHalves(n: bigint): [string, string] {
  return [(n >> 64n).toString(), (n & 0xffff_ffff_ffff_ffffn).toString()];
}

/** The 16 bytes of an address or pseudonym from its two UBIGINT halves as DuckDB returns them (strings or numbers). */
export function slotBytes(hi: unknown, lo: unknown): Uint8Array | undefined {
  if (hi === null || hi === undefined || lo === null || lo === undefined) return undefined;
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(hi as string), false);
  view.setBigUint64(8, BigInt(lo as string), false);
  return out;
}

/** A 32-bit word with its bytes reversed. */
export const bswap32 = (x: number): number => ((x << 24) | ((x << 8) & 0xff0000) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;

/**
 * One half (`hi`, `lo`) of a flow's foreign address in SQL: the destination of outbound flows, the source otherwise —
 * the query's `foreignAddress` key and the port rollups' (port-rollup.ts), which must group by the same expression.
 */
export const foreignHalf = (half: 'hi' | 'lo'): string => `CASE WHEN category = 'outbound' THEN dst_ip_${half} ELSE src_ip_${half} END`;

/**
 * The row order of a merged file in SQL: foreign address (the source's when it is foreign or neither end is), IPv4
 * (`::ffff:0:0/96`) before IPv6, then time — the writer's order (segment-write.ts `foreignKey`) made exact.
 */
export const FOREIGN_ORDER = `CASE WHEN src_ip_hi IS NOT NULL OR dst_ip_hi IS NULL THEN src_ip_hi ELSE dst_ip_hi END <> 0,
  CASE WHEN src_ip_hi IS NOT NULL OR dst_ip_hi IS NULL THEN src_ip_hi ELSE dst_ip_hi END,
  CASE WHEN src_ip_hi IS NOT NULL OR dst_ip_hi IS NULL THEN src_ip_lo ELSE dst_ip_lo END, start`;

/**
 * Parquet settings of every file the archive writes (the stream writer's and compaction's). Format v2 (delta encodings
 * of integers and times) and dictionaries only for columns of few distinct values: on bench/archive-writer's inputs
 * together they cut DuckDB's writing CPU and the bytes on disk (decision 0013). DuckDB, Arrow and Spark read v2 pages.
 */
export const PARQUET_OPTIONS = 'FORMAT PARQUET, ROW_GROUP_SIZE 122880, PARQUET_VERSION v2, DICTIONARY_SIZE_LIMIT 1000';

const SAFE_BASIS_ID = /^[A-Za-z0-9_-]{1,100}$/;

/**
 * A purge request's basis id and reason, checked before anything is deleted (the id names folders and objects): the
 * reason trimmed and cut to 500 characters, or an error saying what to fix. The local archive and the cluster's bucket
 * take the same requests.
 */
export function checkPurgeRequest(basisId: string, reason: string): string {
  if (!SAFE_BASIS_ID.test(basisId)) throw new AppError('VALIDATION_FAILED', 'basisId: a legal basis id (letters, digits, "-" and "_").');
  const why = reason.trim().slice(0, 500);
  if (why === '') throw new AppError('VALIDATION_FAILED', 'reason: say why the data is purged.');
  return why;
}
