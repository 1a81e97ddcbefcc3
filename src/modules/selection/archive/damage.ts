/**
 * @module Damaged archive files: a Parquet file whose frame is broken (cut short, its footer overwritten) is set aside in
 * its partition's `damaged/` folder — kept for recovery, out of every read — and named in every answer over its hour.
 */
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** The folder inside a partition that holds its damaged files (not `.parquet`: readers never list it; retention and purge remove it with the partition). */
export const DAMAGED_DIR = 'damaged';
const WHY_SUFFIX = '.why.json';
const MAGIC = Buffer.from('PAR1');

/**
 * Why a file is not a whole Parquet file, or undefined when its frame is whole: "PAR1" at both ends and a footer length
 * that fits between them. Only such a broken frame is damage for certain; a file DuckDB cannot read for another reason
 * (memory, a missing file, a deeper fault) is left where it is and tried again.
 * @see https://parquet.apache.org/docs/file-format/ (file layout: magic, row groups, footer, footer length, magic)
 */
export function parquetDamage(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined; // gone (merged or purged meanwhile): nothing to set aside
  }
  try {
    const size = fstatSync(fd).size;
    if (size < 12) return `${size} bytes: shorter than the smallest Parquet file`;
    const head = Buffer.alloc(4), tail = Buffer.alloc(8);
    readSync(fd, head, 0, 4, 0);
    readSync(fd, tail, 0, 8, size - 8);
    if (!head.equals(MAGIC)) return 'no Parquet magic ("PAR1") at the start';
    if (!tail.subarray(4).equals(MAGIC)) return 'no Parquet magic ("PAR1") at the end: cut short or overwritten';
    const footer = tail.readUInt32LE(0);
    if (footer + 12 > size) return `a footer of ${footer} bytes in a file of ${size}`;
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** A file set aside. */
export interface DamagedFile { basis: string; hour: string; file: string; bytes: number; reason: string; at: string }

/**
 * Moves `file` (in a partition `…/basis=<id>/hour=<h>/`) into the partition's `damaged/` folder with a note of why and
 * when; returns what was set aside, or undefined when the file is gone. A rename within the partition: no copy.
 */
export function setAsideDamaged(file: string, reason: string, nowMs: number): DamagedFile | undefined {
  const dir = dirname(file), name = basename(file);
  const to = join(dir, DAMAGED_DIR);
  mkdirSync(to, { recursive: true });
  let bytes: number;
  try {
    bytes = statSync(file).size;
    renameSync(file, join(to, name));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const at = new Date(nowMs).toISOString();
  writeFileSync(join(to, `${name}${WHY_SUFFIX}`), `${JSON.stringify({ reason, at, bytes })}\n`);
  return { ...partitionOf(dir), file: name, bytes, reason, at };
}

const partitionOf = (dir: string): { basis: string; hour: string } =>
  ({ basis: basename(dirname(dir)).replace(/^basis=/, ''), hour: basename(dir).replace(/^hour=/, '') });

/** The files set aside in a partition directory. */
export function damagedFiles(partitionDir: string): DamagedFile[] {
  const d = join(partitionDir, DAMAGED_DIR);
  if (!existsSync(d)) return [];
  const out: DamagedFile[] = [];
  for (const n of readdirSync(d).filter((f) => f.endsWith('.parquet')).sort()) {
    let why: { reason?: string; at?: string; bytes?: number } = {};
    try {
      why = JSON.parse(readFileSync(join(d, `${n}${WHY_SUFFIX}`), 'utf8')) as typeof why;
    } catch {
      // The note is written after the rename: a crash between them leaves the file without one.
    }
    out.push({ ...partitionOf(partitionDir), file: n, bytes: why.bytes ?? statSync(join(d, n)).size, reason: why.reason ?? 'unknown', at: why.at ?? '' });
  }
  return out;
}
