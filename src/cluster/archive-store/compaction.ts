/** @module Compaction of the archive bucket (on the leader): a partition's small files merged into one object that names the files it replaces, then the sources deleted. */
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Clock } from '#platform/clock/index.js';
import type { DuckDb } from '#platform/duckdb/index.js';
import { FOREIGN_ORDER, PARQUET_OPTIONS } from '#modules/selection/index.js';
import type { ArchiveBucket, ObjectInfo } from './bucket.js';
import type { ArchiveCache } from './cache.js';
import { replacesOf } from './cache.js';
import { flowObjectName, META, parseFlowObject } from './names.js';

/** What one compaction round did (the shape of the local archive's). */
export interface BucketCompaction { partitions: number; filesMerged: number; rows: number }

const sql = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const rowsOf = (o: ObjectInfo): number => Number(o.metadata?.[META.rows] ?? 0) || 0;

/**
 * Merges, in every partition whose hour ended more than `graceMs` ago, the files of fewer than `minRows` rows into one
 * object `c<id>.parquet` (foreign-address order, as the writer's) whose metadata names the files it replaces, then
 * deletes those. Caches swap it in by the local archive's rule, so no reader counts a row twice; a crash between the two
 * steps leaves sources the next round deletes. Reads the leader's cache (nothing until it is complete).
 * @see docs/decisions/0010-replicated-archive.md
 */
export async function compactBucket(deps: { bucket: ArchiveBucket; cache: ArchiveCache; dir: string; engine: () => Promise<DuckDb>; clock: Clock }, options: { minRows?: number; graceMs?: number } = {}): Promise<BucketCompaction> {
  const minRows = options.minRows ?? 100_000;
  const before = new Date(deps.clock.nowMs() - (options.graceMs ?? 600_000) - 3_600_000).toISOString().slice(0, 13);
  const out: BucketCompaction = { partitions: 0, filesMerged: 0, rows: 0 };
  if (!deps.cache.isReady()) return out; // not yet a complete copy: the next round
  const live = await deps.bucket.list();
  const names = new Set(live.map((o) => o.name));
  // Finish what a crash cut short: sources of a merged object still in the bucket.
  for (const o of live) {
    const n = parseFlowObject(o.name);
    if (n === undefined) continue;
    for (const s of replacesOf(o)) {
      const src = flowObjectName({ ...n, file: s });
      if (names.has(src)) { await deps.bucket.delete(src); names.delete(src); }
    }
  }
  const byPartition = new Map<string, ObjectInfo[]>();
  for (const o of live) {
    const n = parseFlowObject(o.name);
    if (n === undefined || !names.has(o.name) || n.hour > before || rowsOf(o) >= minRows) continue;
    const k = `basis=${n.basis}/hour=${n.hour}`;
    byPartition.set(k, [...(byPartition.get(k) ?? []), o]);
  }
  for (const [k, small] of byPartition) {
    if (small.length < 2) continue;
    const local = small.map((o) => join(deps.dir, k, parseFlowObject(o.name)!.file));
    // Only what this replica holds whole (a download under way is left for the next round).
    if (local.some((f, i) => !existsSync(f) || statSync(f).size !== small[i]!.size)) continue;
    const first = parseFlowObject(small[0]!.name)!;
    const id = `c${Date.now().toString(36).padStart(9, '0')}-${randomBytes(4).toString('hex')}`;
    const tmpDir = join(deps.dir, '_compact_tmp');
    mkdirSync(tmpDir, { recursive: true });
    const tmp = join(tmpDir, `${id}.parquet`);
    try {
      const e = await deps.engine();
      await e.run(`COPY (SELECT * EXCLUDE (basis, hour) FROM read_parquet([${local.map(sql).join(', ')}], hive_partitioning = true, union_by_name = true) ORDER BY ${FOREIGN_ORDER})
        TO ${sql(tmp)} (${PARQUET_OPTIONS})`);
      const rows = small.reduce((a, o) => a + rowsOf(o), 0);
      const sources = small.map((o) => parseFlowObject(o.name)!.file);
      await deps.bucket.putFile(flowObjectName({ ...first, file: `${id}.parquet` }), tmp, { [META.rows]: String(rows), [META.replaces]: JSON.stringify(sources) });
      for (const o of small) await deps.bucket.delete(o.name);
      out.partitions++;
      out.filesMerged += small.length;
      out.rows += rows;
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  return out;
}
