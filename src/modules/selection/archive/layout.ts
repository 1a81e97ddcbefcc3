/** @module The archive's layout on disk: hive partitions by basis and hour, which files a reader takes (compaction's swap rule), and 128-bit addresses as two UBIGINT columns. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isoUtc } from '#platform/clock/index.js';

/** One partition directory: `basis=<id>/hour=<YYYY-MM-DDTHH>`. */
export interface Partition { basis: string; hour: string; dir: string }

/** Where the writer keeps its write-ahead segments, inside the archive directory (no reader looks there). */
export const WAL_DIR = '_wal';
/** Where files are written before they are renamed into their partition (a reader never sees half a file). */
export const TMP_DIR = '_tmp';
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

/**
 * The byte-swapped halves of `n` slots of `src` (16 bytes each, network order) into `hi` and `lo` as
 * little-endian u64 (DuckDB's in-memory UBIGINT). Hot loop of the archive writer: bench/ingest.
 */
export function swapSlots(src: Uint8Array, from: number, n: number, hi: Uint8Array, lo: Uint8Array): void {
  for (let r = 0; r < n; r++) {
    const s = (from + r) * 16;
    const d = r * 8;
    for (let k = 0; k < 8; k++) {
      hi[d + k] = src[s + 7 - k]!;
      lo[d + k] = src[s + 15 - k]!;
    }
  }
}
