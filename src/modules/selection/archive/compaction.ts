/**
 * @module Compaction of one archive partition: which files to merge so that every file ends with at least `minRows`
 * rows, and the merge itself with the swap rule of liveFiles (layout.ts). Callers hold the archive's chain.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { DuckDb } from '#platform/duckdb/index.js';
import { FOREIGN_ORDER, liveFiles, PARQUET_OPTIONS, REPLACES_SUFFIX, sqlString, TMP_DIR, type Partition } from './layout.js';

/** One live file of a partition and its rows (from the Parquet footer). */
export interface FileRows { file: string; rows: number }

/**
 * The files to merge into one so that no file of the partition keeps fewer than `minRows` rows: every small file, and
 * when they hold fewer than `minRows` together (a lone small file — the last segment's share, or an hour's first or
 * last minutes — beside files of a million rows), the smallest large files too, until the merged file reaches
 * `minRows`. A partition of fewer than `minRows` rows in all becomes one file. Nothing to do: an empty list.
 */
export function filesToMerge(files: readonly FileRows[], minRows: number): string[] {
  const byRows = [...files].sort((a, b) => a.rows - b.rows || (a.file < b.file ? -1 : 1));
  const small = byRows.filter((f) => f.rows < minRows);
  if (small.length === 0) return [];
  const total = byRows.reduce((a, f) => a + f.rows, 0);
  if (total < minRows) return byRows.length < 2 ? [] : byRows.map((f) => f.file);
  const pick = [...small];
  let rows = small.reduce((a, f) => a + f.rows, 0);
  // The smallest large files first: the least rewritten to lift the merged file to minRows.
  for (const f of byRows.slice(small.length)) {
    if (rows >= minRows) break;
    pick.push(f);
    rows += f.rows;
  }
  return pick.map((f) => f.file);
}

const fileList = (files: readonly string[]): string => `[${files.map(sqlString).join(', ')}]`;

/** Finishes a swap a crash interrupted: a merged file that is in makes its sources go, then its manifest. */
function finishSwaps(p: Partition): void {
  for (const n of readdirSync(p.dir).filter((f) => f.endsWith(REPLACES_SUFFIX))) {
    const merged = `${n.slice(0, -REPLACES_SUFFIX.length)}.parquet`;
    if (existsSync(join(p.dir, merged))) {
      const live = new Set(liveFiles(p.dir).map((f) => basename(f)));
      for (const f of readdirSync(p.dir)) if (f.endsWith('.parquet') && !live.has(f)) unlinkSync(join(p.dir, f));
    }
    unlinkSync(join(p.dir, n));
  }
}

/**
 * Rows of each file from its Parquet footer: one read for the partition, or with `unreadable` file by file once that
 * fails, handing each file whose footer DuckDB cannot read to it (left out: it stays as it is, and the next pass tries it again).
 */
async function rowsOfFiles(e: DuckDb, files: readonly string[], unreadable?: (file: string, err: unknown) => void): Promise<FileRows[]> {
  const read = async (fs: readonly string[]): Promise<FileRows[]> =>
    (await e.all(`SELECT file_name, num_rows FROM parquet_file_metadata(${fileList(fs)})`)).map((r) => ({ file: String(r['file_name']), rows: Number(r['num_rows']) }));
  try {
    return await read(files);
  } catch (err) {
    if (unreadable === undefined) throw err;
  }
  const out: FileRows[] = [];
  for (const f of files) {
    try {
      out.push(...(await read([f])));
    } catch (err) {
      unreadable(f, err);
    }
  }
  return out;
}

/**
 * Merges the files filesToMerge picks in partition `p` of the archive at `archiveDir` into one file, in foreign-address
 * order, with the swap rule of liveFiles: a reader never sees a row twice or misses one. With `onError`, a file whose
 * footer cannot be read is handed to it and left out, and a merge that fails before its swap is handed to it with its
 * files, which stay live and untouched (nothing is deleted before the swap); without it, both throw.
 */
export async function compactPartition(e: DuckDb, archiveDir: string, p: Partition, minRows: number,
  onError?: (files: readonly string[], err: unknown) => void): Promise<{ files: number; rows: number }> {
  finishSwaps(p);
  const files = liveFiles(p.dir);
  if (files.length < 2) return { files: 0, rows: 0 };
  const counts = await rowsOfFiles(e, files, onError === undefined ? undefined : (f, err) => onError([f], err));
  const merge = filesToMerge(counts, minRows);
  if (merge.length < 2) return { files: 0, rows: 0 };
  const rows = counts.filter((c) => merge.includes(c.file)).reduce((a, c) => a + c.rows, 0);
  const id = `c${Date.now().toString(36).padStart(9, '0')}-${randomBytes(4).toString('hex')}`;
  const tmp = join(archiveDir, TMP_DIR, `${id}.parquet`);
  const manifest = join(p.dir, `${id}${REPLACES_SUFFIX}`);
  try {
    mkdirSync(join(archiveDir, TMP_DIR), { recursive: true });
    // In foreign-address order, as the writer orders each file (FOREIGN_ORDER), so address filters skip row groups.
    await e.run(`COPY (SELECT * EXCLUDE (basis, hour) FROM read_parquet(${fileList(merge)}, hive_partitioning = true, union_by_name = true) ORDER BY ${FOREIGN_ORDER})
      TO ${sqlString(tmp)} (${PARQUET_OPTIONS})`);
    writeFileSync(`${manifest}.tmp`, JSON.stringify(merge.map((f) => basename(f))));
    renameSync(`${manifest}.tmp`, manifest);
  } catch (err) {
    // Before the swap the sources are the live files: drop what the merge wrote, so the next pass starts clean.
    for (const f of [tmp, `${manifest}.tmp`, manifest]) rmSync(f, { force: true });
    if (onError === undefined) throw err;
    onError(merge, err);
    return { files: 0, rows: 0 };
  }
  renameSync(tmp, join(p.dir, `${id}.parquet`)); // the swap: from here readers take the merged file, not the sources
  for (const f of merge) unlinkSync(f);
  unlinkSync(manifest);
  return { files: merge.length, rows };
}
