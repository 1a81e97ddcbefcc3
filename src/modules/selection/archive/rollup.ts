/**
 * @module Per-file minute rollups: beside each Parquet file of a closed partition, `<name>.rollup` holds that file's
 * flows, bytes, packets, first and last start by (category, minute, proto, exporter), so whole-hour questions over
 * those keys read a few thousand rows instead of every flow. Written at compaction, deleted with their file.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { DuckDb } from '#platform/duckdb/index.js';
import { liveFiles, sqlString, TMP_DIR, type Partition } from './layout.js';

/** The suffix of a rollup beside its file: `w0001_0.parquet` → `w0001_0.rollup` (not `.parquet`: readers of the archive's files never take it for flows). */
export const ROLLUP_SUFFIX = '.rollup';

/** The group keys a rollup holds (as columns of the same names; basis and hour come from the partition's path). */
export const ROLLUP_KEYS: ReadonlySet<string> = new Set(['hour', 'minute', 'basis', 'category', 'proto', 'exporter']);

/** The rollup beside a Parquet file. */
export const rollupOf = (file: string): string => `${file.slice(0, -'.parquet'.length)}${ROLLUP_SUFFIX}`;

/** Writes the rollup of one Parquet file to `dest` (the local archive's compaction and the cluster's bucket compaction alike). */
export async function writeRollup(e: DuckDb, file: string, dest: string): Promise<void> {
  await e.run(`COPY (SELECT category, epoch_ms(start) // 60000 AS minute, proto, exporter, count(*) AS flows, sum(bytes) AS bytes,
    sum(packets) AS packets, min(start) AS first, max(start) AS last FROM read_parquet(${sqlString(file)}) GROUP BY ALL) TO ${sqlString(dest)} (FORMAT PARQUET)`);
}

/**
 * Writes the rollup of every live file of `p` that has none, and deletes the rollups whose file is no longer live
 * (compaction merged it). A file is immutable once renamed in, so its rollup stays exact for as long as both exist;
 * each rollup is written to `_tmp/` and renamed in whole. Runs off the archive's chain (archive.ts rollupPass). Returns the rollups written.
 * With `onError`, a file whose rollup cannot be written is handed to it and the other files' rollups are still written.
 */
export async function rollupPartition(e: DuckDb, archiveDir: string, p: Partition, onError?: (file: string, err: unknown) => void): Promise<number> {
  const live = liveFiles(p.dir);
  const liveNames = new Set(live.map((f) => basename(f)));
  for (const n of readdirSync(p.dir)) {
    if (n.endsWith(ROLLUP_SUFFIX) && !liveNames.has(`${n.slice(0, -ROLLUP_SUFFIX.length)}.parquet`)) unlinkSync(join(p.dir, n));
  }
  let written = 0;
  for (const f of live) {
    if (existsSync(rollupOf(f))) continue;
    mkdirSync(join(archiveDir, TMP_DIR), { recursive: true });
    const tmp = join(archiveDir, TMP_DIR, `r${Date.now().toString(36)}-${randomBytes(4).toString('hex')}${ROLLUP_SUFFIX}`);
    try {
      await writeRollup(e, f, tmp);
      renameSync(tmp, rollupOf(f));
      written++;
    } catch (err) {
      if (onError === undefined) throw err;
      onError(f, err);
    } finally {
      rmSync(tmp, { force: true }); // nothing of a purged partition stays behind when the rename failed
    }
  }
  return written;
}
