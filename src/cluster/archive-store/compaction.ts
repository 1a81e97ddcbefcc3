/**
 * @module Compaction of the archive bucket (on the leader): a partition's small files merged into one object that names
 * the files it replaces, then the sources deleted; and each live file of a closed partition given its minute rollup
 * object, as the local archive's compaction writes them beside its files (decision 0014).
 */
import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Clock } from '#platform/clock/index.js';
import type { DuckDb } from '#platform/duckdb/index.js';
import {
  FOREIGN_ORDER, PARQUET_OPTIONS, PORT_ROLLUP_SUFFIX, portRollupChunks, portRollupMeta, portRollupPartition, readPortRollups, usableRollups, writeRollup,
} from '#modules/selection/index.js';
import type { ArchiveBucket, ObjectInfo } from './bucket.js';
import { replacesOf } from './cache.js';
import { flowObjectName, META, parseArchiveObject, parseFlowObject, portRollupOfObject, purgedObjectName, rollupObjectName } from './names.js';

/** What one compaction round did (the shape of the local archive's, and the minute and port rollups it stored). */
export interface BucketCompaction { partitions: number; filesMerged: number; rows: number; rollups: number; portRollups: number }

/** A step of a round that failed for some objects (the rest of the round goes on; the next round tries them again). */
export interface BucketCompactionFailure { step: 'merge' | 'minute' | 'port'; basis: string; hour: string; objects: readonly string[]; err: unknown }

const sql = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const rowsOf = (o: ObjectInfo): number => Number(o.metadata?.[META.rows] ?? 0) || 0;

/**
 * In every partition whose hour ended more than `graceMs` ago: merges the files of fewer than `minRows` rows into one
 * object `c<id>.parquet` (foreign-address order, as the writer's) whose metadata names the files it replaces, then
 * deletes those and their rollups; then stores the rollup `<stem>.rollup` of every live file that has none, and deletes
 * rollups whose file is gone. Caches put the merged file in its sources' place in their list at once, so no reader
 * counts a row twice; a rollup is of one immutable file, so it is exact for as long as that file is live. A crash
 * between the steps leaves sources (or rollups) the next round deletes. The files are downloaded to a directory of the
 * job's own, one merge or one file at a time, and deleted after: the leader needs no complete copy. With `onFailure`, an
 * object DuckDB cannot read (or a step that cannot be stored) fails alone, as the local archive's rollups do: an unreadable
 * object is left out of its partition's merge and port rollup, a merge, a file's rollup or a chunk's port rollup that
 * fails is handed to it, and the round goes on with the rest; the next round tries them again.
 * @see docs/decisions/0010-replicated-archive.md
 * @see docs/decisions/0014-archive-minute-rollups.md
 */
export async function compactBucket(deps: { bucket: ArchiveBucket; dir: string; engine: () => Promise<DuckDb>; clock: Clock; onFailure?: (f: BucketCompactionFailure) => void },
  options: { minRows?: number; graceMs?: number } = {}): Promise<BucketCompaction> {
  const minRows = options.minRows ?? 100_000;
  const before = new Date(deps.clock.nowMs() - (options.graceMs ?? 600_000) - 3_600_000).toISOString().slice(0, 13);
  const out: BucketCompaction = { partitions: 0, filesMerged: 0, rows: 0, rollups: 0, portRollups: 0 };
  const live = await deps.bucket.list();
  const names = new Set(live.map((o) => o.name));
  const gone = async (name: string): Promise<void> => { if (names.has(name)) { await deps.bucket.delete(name); names.delete(name); } };
  // Finish what a crash cut short: sources of a merged object (and their rollups) still in the bucket.
  for (const o of live) {
    const n = parseFlowObject(o.name);
    if (n === undefined) continue;
    for (const s of replacesOf(o)) {
      const src = flowObjectName({ ...n, file: s });
      await gone(src);
      await gone(rollupObjectName(src));
    }
  }
  const work = join(deps.dir, '_compact_tmp');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const fetch = async (o: ObjectInfo): Promise<string | undefined> => {
    const f = join(work, `${randomBytes(6).toString('hex')}.parquet`);
    return (await deps.bucket.getFile(o.name, f)) ? f : undefined;
  };
  try {
    const byPartition = new Map<string, ObjectInfo[]>();
    const portsOf = new Map<string, ObjectInfo[]>();
    for (const o of live) {
      const r = parseArchiveObject(o.name);
      if (r?.kind !== 'ports' || r.hour > before) continue;
      const k = `basis=${r.basis}/hour=${r.hour}`;
      portsOf.set(k, [...(portsOf.get(k) ?? []), o]);
    }
    for (const o of live) {
      const n = parseFlowObject(o.name);
      if (n === undefined || !names.has(o.name) || n.hour > before) continue;
      const k = `basis=${n.basis}/hour=${n.hour}`;
      byPartition.set(k, [...(byPartition.get(k) ?? []), o]);
    }
    for (const [key, files] of byPartition) {
      const [basisDir, hourDir] = key.split('/') as [string, string];
      // A step that fails for some objects: handed to onFailure (the round goes on), or thrown without it.
      const failed = (step: BucketCompactionFailure['step'], objects: readonly string[], err: unknown): void => {
        if (deps.onFailure === undefined) throw err;
        deps.onFailure({ step, basis: basisDir.slice('basis='.length), hour: hourDir.slice('hour='.length), objects, err });
      };
      // A purged basis (its tombstone) is not compacted, and what this round or a crashed one stored of it goes: the purge
      // lists the bucket once, after its tombstone, so an object stored after that listing is this job's to delete.
      const basis = key.slice('basis='.length, key.indexOf('/'));
      if (await dropIfPurged(deps.bucket, basis, `flows/${key}/`, names)) continue;
      const small = files.filter((o) => rowsOf(o) < minRows);
      let lives = files;
      if (small.length >= 2) {
        let merged: Awaited<ReturnType<typeof merge>> = undefined;
        try {
          merged = await merge(deps, small, fetch, work, (o, err) => failed('merge', [o.name], err));
        } catch (err) {
          failed('merge', small.map((o) => o.name), err);
        }
        if (merged !== undefined) {
          for (const o of merged.sources) { await gone(o.name); await gone(rollupObjectName(o.name)); }
          names.add(merged.info.name);
          names.add(rollupObjectName(merged.info.name));
          out.rollups++;
          lives = [...files.filter((o) => !merged.sources.includes(o)), merged.info];
          out.partitions++;
          out.filesMerged += merged.sources.length;
          out.rows += merged.rows;
        }
      }
      // Rollups of the partition's live files that have none (a late file of a closed hour gets one at the next round).
      for (const o of lives) {
        if (names.has(rollupObjectName(o.name))) continue;
        const f = await fetch(o);
        if (f === undefined) continue; // deleted meanwhile (retention, purge)
        const r = join(work, `${randomBytes(6).toString('hex')}.rollup`);
        try {
          await writeRollup(await deps.engine(), f, r);
          await deps.bucket.putFile(rollupObjectName(o.name), r, {});
          names.add(rollupObjectName(o.name));
          out.rollups++;
        } catch (err) {
          failed('minute', [o.name], err);
        } finally {
          rmSync(f, { force: true });
          rmSync(r, { force: true });
        }
      }
      out.portRollups += await portRollups(deps, key, lives, portsOf.get(key) ?? [], gone, fetch, work, names, deps.onFailure === undefined ? undefined : (objects, err) => failed('port', objects, err));
      await dropIfPurged(deps.bucket, basis, `flows/${key}/`, names);
    }
    // Rollups whose file is gone (a crash between a merge and its rollups' deletion).
    for (const name of [...names]) {
      const n = parseArchiveObject(name);
      if (n?.kind === 'rollup' && n.hour <= before && !names.has(`${name.slice(0, -'.rollup'.length)}.parquet`)) await gone(name);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return out;
}

/**
 * When `basis` has a purge tombstone, deletes every object under `prefix` (files, minute and port rollups, a merged file a
 * failed step left unnamed) and says so. One listing, only when a tombstone exists: purges are rare.
 */
async function dropIfPurged(bucket: ArchiveBucket, basis: string, prefix: string, names: Set<string>): Promise<boolean> {
  if ((await bucket.info(purgedObjectName(basis))) === null) return false;
  for (const o of await bucket.list()) {
    if (!o.name.startsWith(prefix)) continue;
    // The purge may delete the same object at the same moment: only a delete that left it in place is an error.
    try { await bucket.delete(o.name); } catch (e) { if ((await bucket.info(o.name)) !== null) throw e; }
    names.delete(o.name);
  }
  return true;
}

/**
 * Merges `small` (one partition's objects) into one stored object; undefined when a source went meanwhile. With
 * `unreadable`, an object whose Parquet footer DuckDB cannot read is handed to it and the others are merged (if two or more).
 */
async function merge(deps: { bucket: ArchiveBucket; engine: () => Promise<DuckDb> }, all: ObjectInfo[], fetch: (o: ObjectInfo) => Promise<string | undefined>, work: string,
  unreadable?: (o: ObjectInfo, err: unknown) => void): Promise<{ info: ObjectInfo; rows: number; sources: ObjectInfo[] } | undefined> {
  const first = parseFlowObject(all[0]!.name)!;
  const id = `c${Date.now().toString(36).padStart(9, '0')}-${randomBytes(4).toString('hex')}`;
  const local: string[] = [];
  const tmp = join(work, `${id}.parquet`);
  const rollup = join(work, `${id}.rollup`);
  try {
    const e = await deps.engine();
    const small: ObjectInfo[] = [];
    for (const o of all) {
      const f = await fetch(o);
      if (f === undefined) return undefined;
      local.push(f);
      if (unreadable !== undefined) {
        try {
          await e.all(`SELECT num_rows FROM parquet_file_metadata(${sql(f)})`);
        } catch (err) {
          unreadable(o, err);
          rmSync(local.pop()!, { force: true });
          continue;
        }
      }
      small.push(o);
    }
    if (small.length < 2) return undefined;
    await e.run(`COPY (SELECT * FROM read_parquet([${local.map(sql).join(', ')}], hive_partitioning = false, union_by_name = true) ORDER BY ${FOREIGN_ORDER})
      TO ${sql(tmp)} (${PARQUET_OPTIONS})`);
    const rows = small.reduce((a, o) => a + rowsOf(o), 0);
    const sources = small.map((o) => parseFlowObject(o.name)!.file);
    const info = await deps.bucket.putFile(flowObjectName({ ...first, file: `${id}.parquet` }), tmp, { [META.rows]: String(rows), [META.replaces]: JSON.stringify(sources) });
    // Its rollup from the copy at hand (the next step skips files that have one).
    await writeRollup(e, tmp, rollup);
    await deps.bucket.putFile(rollupObjectName(info.name), rollup, {});
    return { info, rows, sources: small };
  } finally {
    for (const f of [...local, tmp, rollup]) rmSync(f, { force: true });
  }
}

/**
 * Brings one closed partition's port rollups (decision 0016) up to date, by the local archive's own code: the rollups
 * its objects' metadata says a reader could no longer take (a covered file merged away or gone, or covered by an
 * earlier rollup) are deleted; the live files no kept rollup covers are downloaded into a partition directory of the
 * job's own one chunk of ~8 M flows at a time (portRollupChunks), portRollupPartition writes its rollup there, and each is stored with its
 * metadata (what it covers, its ports and span) on the object too, so a replica plans a read without downloading it.
 */
async function portRollups(deps: { bucket: ArchiveBucket; engine: () => Promise<DuckDb> }, key: string, lives: readonly ObjectInfo[],
  stored: readonly ObjectInfo[], gone: (name: string) => Promise<void>, fetch: (o: ObjectInfo) => Promise<string | undefined>, work: string,
  names: Set<string>, onError?: (objects: readonly string[], err: unknown) => void): Promise<number> {
  const liveNames = new Set(lives.map((o) => parseFlowObject(o.name)!.file));
  const read = stored.filter((o) => names.has(o.name)).sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((o) => ({ o, r: portRollupOfObject(o) }));
  const kept = usableRollups(read.flatMap(({ r }) => (r === undefined ? [] : [r])), liveNames);
  for (const { o, r } of read) if (r === undefined || !kept.includes(r)) await gone(o.name);
  const covered = new Set(kept.flatMap((r) => r.covers));
  const todo = lives.filter((o) => !covered.has(parseFlowObject(o.name)!.file)).sort((a, b) => (a.name < b.name ? -1 : 1));
  if (todo.length === 0) return 0;
  const [b, h] = key.split('/') as [string, string];
  const prefix = todo[0]!.name.slice(0, todo[0]!.name.lastIndexOf('/') + 1);
  let made = 0;
  // The single node's chunks (by the rows each object's metadata counts), one chunk's files on the leader's disk at a time.
  for (const chunk of portRollupChunks(todo, rowsOf)) {
    const archiveDir = join(work, 'ports');
    const dir = join(archiveDir, b, h);
    mkdirSync(dir, { recursive: true });
    try {
      for (const o of chunk) {
        const f = await fetch(o);
        if (f === undefined) return made; // deleted meanwhile (retention, purge, a merge): the next round
        renameSync(f, join(dir, parseFlowObject(o.name)!.file));
      }
      const e = await deps.engine();
      // With onError, a file DuckDB cannot read is left out of the chunk (reported by object name), as on a single node.
      const objectsOf = (files: readonly string[]): string[] => files.map((f) => `${prefix}${basename(f)}`);
      await portRollupPartition(e, archiveDir, { basis: b.slice('basis='.length), hour: h.slice('hour='.length), dir },
        { chunkRows: Infinity, ...(onError !== undefined ? { onError: (files: readonly string[], err: unknown) => onError(objectsOf(files), err) } : {}) });
      const written = readdirSync(dir).filter((n) => n.endsWith(PORT_ROLLUP_SUFFIX)).map((n) => join(dir, n));
      for (const r of await readPortRollups(e, written)) {
        const name = `${prefix}${basename(r.file)}`;
        await deps.bucket.putFile(name, r.file, portRollupMeta(r));
        names.add(name);
        made++;
      }
    } catch (err) {
      if (onError === undefined) throw err;
      onError(chunk.map((o) => o.name), err);
    } finally {
      rmSync(archiveDir, { recursive: true, force: true });
    }
  }
  return made;
}
