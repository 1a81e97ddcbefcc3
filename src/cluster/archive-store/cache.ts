/** @module An API replica's local copy of the archive bucket, in the local archive's layout, so the embedded DuckDB queries it as it queries a single node's archive. */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ArchiveBucket, ObjectInfo, ObjectWatchInfo } from './bucket.js';
import { flowObjectName, META, parseFlowObject, parsePurged, type FlowObjectName } from './names.js';

/** Where a download is written before it is renamed into its partition (never a half file in a partition). */
const CACHE_TMP = '_cache_tmp';
/** The local archive's compaction manifest (layout.ts `REPLACES_SUFFIX`): a merged file's sources are skipped by readers. */
const REPLACES_SUFFIX = '.replaces';

/** The cache's counters. */
export interface ArchiveCacheStats { objects: number; downloads: number; downloadedBytes: number; removed: number; failures: number }

/** A running cache. */
export interface ArchiveCache {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Resolves once the bucket's state at start is copied (and local files it no longer holds are gone). */
  ready(): Promise<void>;
  isReady(): boolean;
  /** The live flow objects as this replica knows them (for retention, purge and key reports). */
  objects(): ObjectInfo[];
  /** Drops the local copies of these objects now (the purging replica does not wait for the watch). */
  drop(names: readonly string[]): void;
  stats(): ArchiveCacheStats;
}

/**
 * Creates the cache of `bucket` under `dir` (`basis=<id>/hour=<h>/<file>.parquet`). It follows the bucket's
 * watch: a new object is downloaded, a deleted one removed, a tombstoned basis removed whole; a merged file
 * (metadata `replaces`) is swapped in by the local archive's rule (manifest, merged file, then its sources go),
 * so a query never counts a row twice or misses one. Changes are applied one at a time, in the watch's order.
 * @see docs/decisions/0010-replicated-archive.md
 */
export function createArchiveCache(deps: { bucket: ArchiveBucket; dir: string; logger?: { warn(o: object, m: string): void; error(o: object, m: string): void } }): ArchiveCache {
  const { bucket, dir } = deps;
  const index = new Map<string, ObjectInfo>();
  const purged = new Set<string>();
  const stats: ArchiveCacheStats = { objects: 0, downloads: 0, downloadedBytes: 0, removed: 0, failures: 0 };
  let watcher: (AsyncIterable<ObjectWatchInfo> & { stop(): void }) | undefined;
  let loop: Promise<void> | undefined;
  let stopped = false;
  let markReady: () => void = () => undefined;
  const readyP = new Promise<void>((r) => { markReady = r; });
  let isReady = false;

  const partitionDir = (n: FlowObjectName): string => join(dir, `basis=${n.basis}`, `hour=${n.hour}`);
  const localPath = (n: FlowObjectName): string => join(partitionDir(n), n.file);

  function removeLocal(n: FlowObjectName): void {
    const p = localPath(n);
    if (existsSync(p)) { unlinkSync(p); stats.removed++; }
    const d = partitionDir(n);
    if (existsSync(d) && readdirSync(d).length === 0) rmSync(d, { recursive: true, force: true });
    const b = join(dir, `basis=${n.basis}`);
    if (existsSync(b) && readdirSync(b).length === 0) rmSync(b, { recursive: true, force: true });
  }

  function dropBasis(basis: string): void {
    for (const [name] of index) if (parseFlowObject(name)?.basis === basis) index.delete(name);
    rmSync(join(dir, `basis=${basis}`), { recursive: true, force: true });
  }

  async function download(info: ObjectInfo, n: FlowObjectName): Promise<void> {
    const target = localPath(n);
    if (existsSync(target) && statSync(target).size === info.size) {
      // Copied before a restart; sources a crash left in the bucket beside it still go.
      for (const s of replacesOf(info)) { index.delete(flowObjectName({ ...n, file: s })); removeLocal({ ...n, file: s }); }
      return;
    }
    const tmpDir = join(dir, CACHE_TMP);
    mkdirSync(tmpDir, { recursive: true });
    const tmp = join(tmpDir, `${randomBytes(6).toString('hex')}.parquet`);
    try {
      if (!(await bucket.getFile(info.name, tmp))) return; // deleted meanwhile: its deletion follows in the watch
      mkdirSync(partitionDir(n), { recursive: true });
      const sources = replacesOf(info);
      if (sources.length === 0) { renameSync(tmp, target); } else {
        // The swap of layout.ts liveFiles: the manifest, then the merged file (from here readers skip the sources), then the sources go.
        const manifest = join(partitionDir(n), `${n.file.slice(0, -'.parquet'.length)}${REPLACES_SUFFIX}`);
        writeFileSync(`${manifest}.tmp`, JSON.stringify(sources));
        renameSync(`${manifest}.tmp`, manifest);
        renameSync(tmp, target);
        for (const s of sources) { index.delete(flowObjectName({ ...n, file: s })); removeLocal({ ...n, file: s }); }
        unlinkSync(manifest);
      }
      stats.downloads++;
      stats.downloadedBytes += info.size;
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  async function apply(info: ObjectWatchInfo): Promise<void> {
    const basis = parsePurged(info.name);
    if (basis !== undefined) {
      if (!info.deleted) { purged.add(basis); dropBasis(basis); }
      return;
    }
    const n = parseFlowObject(info.name);
    if (n === undefined) return; // round records and anything else: not flows
    if (info.deleted || purged.has(n.basis)) {
      index.delete(info.name);
      removeLocal(n);
      return;
    }
    index.set(info.name, info);
    await download(info, n);
  }

  /** Removes local files the bucket does not hold (deleted while this replica was down). */
  function reconcile(): void {
    if (!existsSync(dir)) return;
    for (const b of readdirSync(dir)) {
      if (!b.startsWith('basis=')) continue;
      for (const h of readdirSync(join(dir, b))) {
        if (!h.startsWith('hour=')) continue;
        for (const f of readdirSync(join(dir, b, h))) {
          const n: FlowObjectName = { basis: b.slice(6), hour: h.slice(5), file: f };
          if (!index.has(flowObjectName(n))) removeLocal(n);
        }
      }
    }
  }

  function becomeReady(): void {
    if (isReady) return;
    isReady = true;
    try { reconcile(); } catch (e) { deps.logger?.error({ err: e }, 'archive cache: removing stale local files failed'); }
    markReady();
  }

  return {
    name: 'archive-cache',
    async start() {
      mkdirSync(dir, { recursive: true });
      rmSync(join(dir, CACHE_TMP), { recursive: true, force: true });
      watcher = await bucket.watch();
      const w = watcher;
      loop = (async () => {
        for await (const info of w) {
          if (stopped) break;
          for (let attempt = 0; ; attempt++) {
            try {
              await apply(info);
              break;
            } catch (e) {
              stats.failures++;
              if (attempt >= 4) { deps.logger?.error({ err: e, object: info.name }, 'archive cache: cannot apply a change; a restart copies it again'); break; }
              await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
            }
          }
          stats.objects = index.size;
          if (info.isUpdate) becomeReady();
        }
      })();
      // A bucket without history sends nothing: then the cache is ready at once.
      if ((await bucket.list()).length === 0 && index.size === 0) becomeReady();
    },
    async stop() {
      stopped = true;
      watcher?.stop();
      await loop?.catch(() => undefined);
    },
    ready: () => readyP,
    isReady: () => isReady,
    objects: () => [...index.values()],
    drop(names) {
      for (const name of names) {
        const n = parseFlowObject(name);
        index.delete(name);
        if (n !== undefined) removeLocal(n);
      }
      stats.objects = index.size;
    },
    stats: () => ({ ...stats }),
  };
}

/** The files (names in the same partition) a merged object replaces. */
export function replacesOf(info: ObjectInfo): string[] {
  const raw = info.metadata?.[META.replaces];
  if (raw === undefined) return [];
  try {
    const v = JSON.parse(raw) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && /^[A-Za-z0-9_.-]{1,200}\.parquet$/.test(x)) : [];
  } catch {
    return [];
  }
}
