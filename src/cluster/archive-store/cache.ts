/**
 * @module An API replica's cache of the archive bucket, fetched on demand: the bucket's object list (names carry basis
 * and hour) is followed without downloading; a read takes a lease on the objects its partitions need, which fetches the
 * missing ones (in parallel, bounded), pins them and links them into a snapshot directory in the local archive's layout
 * for the embedded DuckDB. Local copies are bounded in bytes, evicted least recently used, never while a lease pins them.
 */
import { existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AppError } from '#platform/errors/index.js';
import type { ArchiveBucket, ObjectInfo, ObjectWatchInfo } from './bucket.js';
import { rollupsAnswering } from '#modules/selection/index.js';
import { flowObjectName, META, parseArchiveObject, parsePurged, portRollupOfObject, rollupObjectName, type ArchiveObjectName } from './names.js';

/** Where a download is written before it is renamed into its partition (never a half file in a partition). */
const CACHE_TMP = '_cache_tmp';
/** Where leases' snapshot directories are (hard links to the cached files). */
const LEASES = '_leases';

/** How much the cache may hold and how it fetches. */
export interface ArchiveCacheOptions {
  /** Bytes of local copies at most (`cluster.archive.cacheMaxBytes`); a read that needs more is refused. */
  maxBytes: number;
  /** Downloads at once for one read (`cluster.archive.cacheFetchConcurrency`). */
  fetchConcurrency: number;
  /** How long a read waits for room while other reads pin the cache, and for the bucket's list at start (ms). */
  waitMs: number;
}

export const DEFAULT_CACHE_OPTIONS: ArchiveCacheOptions = { maxBytes: 256 * 2 ** 30, fetchConcurrency: 4, waitMs: 30_000 };

/** The cache's counters (a lease's misses are the downloads it started; its other objects are hits: local, or being fetched by another read). */
export interface ArchiveCacheStats {
  /** Live flow files the bucket holds (this replica's list). */
  objects: number;
  /** Local copies and their bytes (downloads under way included); bytes pinned by running reads. */
  cachedFiles: number; cachedBytes: number; pinnedBytes: number; maxBytes: number;
  hits: number; misses: number; downloads: number; downloadedBytes: number;
  evictions: number; evictedBytes: number;
  /** Local copies removed because the bucket deleted them (retention, purge, compaction). */
  removed: number;
  /** Reads refused: more than the cache can hold, or no room within the wait. */
  refused: number;
  failures: number;
}

/**
 * A read's pinned objects, linked under `dir` as `basis=<id>/hour=<h>/<file>`; `release` once the read is done.
 * `flowFiles(partitionDir)` lists the partition's flow files the read takes — with `rollupsOnly`, also those of which
 * only the rollup was fetched (their path is named, not present: the read must take them from their rollups alone).
 */
export interface CacheLease { dir: string; files: number; bytes: number; fetched: number; flowFiles(partitionDir: string): string[]; release(): void }

/** A running cache. */
export interface ArchiveCache {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Resolves once the bucket's list at start is read (and local copies it no longer holds are gone). */
  ready(): Promise<void>;
  isReady(): boolean;
  /** The live flow objects as this replica knows them (for retention, purge, inventory and key reports). */
  objects(): ObjectInfo[];
  /** The live objects of a partition: flow files and rollups (what deleting a partition deletes). */
  partitionObjects(): ObjectInfo[];
  /**
   * Fetches and pins the flow files `want` picks (and their rollups), linked into a snapshot directory; with
   * `rollupsOnly`, a file that has a rollup is represented by its rollup alone.
   */
  acquire(want: (n: ArchiveObjectName) => boolean, options?: { rollupsOnly?: boolean; port?: PortQuestion }): Promise<CacheLease>;
  /** Drops the local copies of these objects now (the purging replica does not wait for the watch). */
  drop(names: readonly string[]): void;
  stats(): ArchiveCacheStats;
}

/** A question queryFlows may read from port rollups (readsPortRollups): its port and range. */
export interface PortQuestion { port: number; fromMs: number; toMs: number }

interface Entry {
  name: string;
  info: ObjectInfo;
  path: string;
  size: number;
  state: 'absent' | 'fetching' | 'local';
  pins: number;
  lastUsed: number;
  fetch?: Promise<boolean> | undefined;
  /** The bucket deleted it while pinned: its bytes count until the last lease ends. */
  detached: boolean;
}

type Log = { warn(o: object, m: string): void; error(o: object, m: string): void };

/**
 * Creates the cache of `bucket` under `dir`. It follows the bucket's watch (object metadata only): a new object enters
 * the list, a deleted one leaves it and its local copy goes, a tombstoned basis goes whole, a merged file (metadata
 * `replaces`) takes its sources' place in the list at once — the list never holds both, so a lease never counts a row
 * twice. A lease whose object the bucket deleted before it was fetched takes a fresh snapshot of the list.
 * @see docs/decisions/0015-replica-cache-on-demand.md
 */
export function createArchiveCache(deps: { bucket: ArchiveBucket; dir: string; options?: Partial<ArchiveCacheOptions>; logger?: Log; now?: () => number }): ArchiveCache {
  const { bucket, dir } = deps;
  const opts: ArchiveCacheOptions = { ...DEFAULT_CACHE_OPTIONS, ...deps.options };
  const now = deps.now ?? Date.now;
  /** Every live object of the bucket (flow files and rollups), by name. */
  const index = new Map<string, ObjectInfo>();
  /** Local copies (and downloads under way), by object name. */
  const entries = new Map<string, Entry>();
  /** Entries the bucket deleted while leases pinned them. */
  const detached = new Set<Entry>();
  const leases = new Set<string>();
  const purged = new Set<string>();
  const s = { hits: 0, misses: 0, downloads: 0, downloadedBytes: 0, evictions: 0, evictedBytes: 0, removed: 0, refused: 0, failures: 0 };
  let used = 0;
  let waiters: (() => void)[] = [];
  let watcher: (AsyncIterable<ObjectWatchInfo> & { stop(): void }) | undefined;
  let loop: Promise<void> | undefined;
  let stopped = false;
  let markReady: () => void = () => undefined;
  const readyP = new Promise<void>((r) => { markReady = r; });
  let isReady = false;

  const localPath = (n: ArchiveObjectName): string => join(dir, `basis=${n.basis}`, `hour=${n.hour}`, n.file);

  function removeEmptyDirs(n: ArchiveObjectName): void {
    for (const d of [join(dir, `basis=${n.basis}`, `hour=${n.hour}`), join(dir, `basis=${n.basis}`)]) {
      try { if (readdirSync(d).length === 0) rmSync(d, { recursive: true, force: true }); } catch { /* gone already */ }
    }
  }

  function wake(): void {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  }

  /** The bucket no longer holds `name`: out of the list; its local copy goes now, its bytes once no lease pins it. */
  function forget(name: string): void {
    index.delete(name);
    const e = entries.get(name);
    if (e === undefined) return;
    entries.delete(name);
    const n = parseArchiveObject(name)!;
    if (e.state === 'local') { rmSync(e.path, { force: true }); s.removed++; removeEmptyDirs(n); }
    if (e.pins > 0) { e.detached = true; detached.add(e); return; }
    if (e.state !== 'absent') used -= e.size;
    wake();
  }

  function dropBasis(basis: string): void {
    for (const name of [...index.keys(), ...entries.keys()]) if (parseArchiveObject(name)?.basis === basis) forget(name);
    rmSync(join(dir, `basis=${basis}`), { recursive: true, force: true });
    // Running reads lose it too (a read that already opened a file finishes it, as on a single node).
    for (const l of leases) rmSync(join(dir, LEASES, l, `basis=${basis}`), { recursive: true, force: true });
  }

  function apply(info: ObjectWatchInfo): void {
    const basis = parsePurged(info.name);
    if (basis !== undefined) {
      if (!info.deleted) { purged.add(basis); dropBasis(basis); }
      return;
    }
    const n = parseArchiveObject(info.name);
    if (n === undefined) return; // round records and anything else: not flows
    if (info.deleted || purged.has(n.basis)) { forget(info.name); return; }
    const old = entries.get(info.name);
    if (old !== undefined && old.state !== 'absent' && old.size !== info.size) forget(info.name); // stored again, other bytes
    index.set(info.name, info);
    // A merged file replaces its sources (and their rollups) in the list at once: no snapshot holds both.
    for (const src of replacesOf(info)) {
      const name = flowObjectName({ ...n, file: src });
      forget(name);
      forget(rollupObjectName(name));
    }
  }

  /** Local copies a previous run left: kept (least recently used first by their times) until the list says otherwise. */
  function adopt(): void {
    if (!existsSync(dir)) return;
    for (const b of readdirSync(dir)) {
      if (!b.startsWith('basis=')) continue;
      for (const h of readdirSync(join(dir, b))) {
        if (!h.startsWith('hour=')) continue;
        for (const f of readdirSync(join(dir, b, h))) {
          const name = `flows/${b}/${h}/${f}`;
          const n = parseArchiveObject(name);
          const path = join(dir, b, h, f);
          if (n === undefined) { rmSync(path, { recursive: true, force: true }); continue; }
          const st = statSync(path);
          entries.set(name, { name, info: { name, size: st.size } as ObjectInfo, path, size: st.size, state: 'local', pins: 0, lastUsed: st.mtimeMs, detached: false });
          used += st.size;
        }
      }
    }
  }

  /** Once the list is read: local copies the bucket does not hold (or holds with other bytes) go; then within the bound. */
  function becomeReady(): void {
    if (isReady) return;
    isReady = true;
    for (const [name, e] of entries) {
      const info = index.get(name);
      if (info === undefined || info.size !== e.size) forget(name);
      else e.info = info;
    }
    evict(opts.maxBytes);
    markReady();
  }

  /** Evicts unpinned local copies, least recently used first, until at most `limit` bytes are held. */
  function evict(limit: number): void {
    if (used <= limit) return;
    const idle = [...entries.values()].filter((e) => e.pins === 0 && e.state === 'local').sort((a, b) => a.lastUsed - b.lastUsed);
    for (const e of idle) {
      if (used <= limit) break;
      entries.delete(e.name);
      rmSync(e.path, { force: true });
      removeEmptyDirs(parseArchiveObject(e.name)!);
      used -= e.size;
      s.evictions++;
      s.evictedBytes += e.size;
    }
  }

  /**
   * Room for those of `list` still absent: evicts, or waits for leases to end; refuses after the wait. The check, the
   * count and the marking happen in one turn, so two reads waiting for one file count its bytes once. Returns how many
   * this read marked for download.
   */
  async function reserve(list: readonly Entry[]): Promise<number> {
    const end = now() + opts.waitMs;
    for (;;) {
      const absent = list.filter((e) => e.state === 'absent');
      const bytes = absent.reduce((a, e) => a + e.size, 0);
      evict(opts.maxBytes - bytes);
      if (used + bytes <= opts.maxBytes) {
        used += bytes;
        for (const e of absent) e.state = 'fetching';
        return absent.length;
      }
      const left = end - now();
      if (left <= 0) {
        s.refused++;
        throw new AppError('UNAVAILABLE', `The archive cache is busy: running queries hold ${pinnedBytes()} of its ${opts.maxBytes} bytes and this one needs ${bytes} more; try again shortly.`);
      }
      await new Promise<void>((r) => { const t = setTimeout(r, Math.min(left, 1000)); waiters.push(() => { clearTimeout(t); r(); }); });
    }
  }

  const pinnedBytes = (): number => [...entries.values(), ...detached].reduce((a, e) => a + (e.pins > 0 && e.state !== 'absent' ? e.size : 0), 0);

  /** Downloads one object into its place; false when the bucket deleted it (or did meanwhile). */
  function fetchOne(e: Entry): Promise<boolean> {
    if (e.state === 'local') return Promise.resolve(true);
    e.fetch ??= (async () => {
      const tmpDir = join(dir, CACHE_TMP);
      mkdirSync(tmpDir, { recursive: true });
      const tmp = join(tmpDir, `${randomBytes(6).toString('hex')}`);
      try {
        const got = await bucket.getFile(e.name, tmp);
        if (!got || e.detached) return false;
        mkdirSync(join(e.path, '..'), { recursive: true });
        renameSync(tmp, e.path);
        e.state = 'local';
        s.downloads++;
        s.downloadedBytes += e.size;
        return true;
      } finally {
        rmSync(tmp, { force: true });
        e.fetch = undefined;
      }
    })();
    return e.fetch;
  }

  async function fetchAll(list: Entry[]): Promise<boolean> {
    let next = 0;
    let ok = true;
    let failed: unknown;
    const worker = async (): Promise<void> => {
      while (next < list.length && failed === undefined) {
        const e = list[next++]!;
        try {
          if (!(await fetchOne(e))) ok = false;
        } catch (err) {
          failed ??= err;
        }
      }
    };
    // Every download settles before the lease gives its pins back (none lands in a place nobody counts).
    await Promise.all(Array.from({ length: Math.min(opts.fetchConcurrency, list.length) }, worker));
    if (failed !== undefined) throw failed;
    return ok;
  }

  function unpin(list: readonly Entry[]): void {
    const t = now();
    for (const e of list) {
      e.pins--;
      e.lastUsed = t;
      if (e.pins > 0) continue;
      if (e.detached) {
        detached.delete(e);
        if (e.state !== 'absent') used -= e.size;
      } else if (e.state === 'fetching') {
        used -= e.size; // a failed download: its room goes back
        e.state = 'absent';
      }
      if (e.state === 'absent' && !e.detached && entries.get(e.name) === e) entries.delete(e.name);
    }
    wake();
  }

  /** Pushes onto `picked` the port rollups a port question takes; returns the flow objects they cover. */
  function portCovered(want: (n: ArchiveObjectName) => boolean, q: PortQuestion, picked: ObjectInfo[]): Set<string> {
    const parts = new Map<string, { live: Set<string>; rollups: ObjectInfo[] }>();
    for (const [name, info] of index) {
      const n = parseArchiveObject(name)!;
      if (n.kind === 'rollup' || !want(n)) continue;
      const k = `flows/basis=${n.basis}/hour=${n.hour}/`;
      const p = parts.get(k) ?? { live: new Set<string>(), rollups: [] };
      if (n.kind === 'flows') p.live.add(n.file);
      else p.rollups.push(info);
      parts.set(k, p);
    }
    const covered = new Set<string>();
    for (const [k, p] of parts) {
      // In name order, as queryFlows reads them from the snapshot directory.
      const read = p.rollups.sort((a, b) => (a.name < b.name ? -1 : 1)).map(portRollupOfObject).filter((r) => r !== undefined);
      for (const r of rollupsAnswering(read, p.live, q.port, q.fromMs, q.toMs)) {
        picked.push(index.get(r.file)!);
        for (const f of r.covers) covered.add(`${k}${f}`);
      }
    }
    return covered;
  }

  async function waitReady(): Promise<void> {
    if (isReady) return;
    let t: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => { t = setTimeout(() => reject(new AppError('UNAVAILABLE', 'The archive bucket\'s list is not read yet (is NATS reachable?); try again shortly.')), opts.waitMs); });
    try { await Promise.race([readyP, late]); } finally { clearTimeout(t); }
  }

  /** One attempt: the list's snapshot of what `want` picks, pinned and fetched; undefined when the bucket changed under it. */
  async function attempt(want: (n: ArchiveObjectName) => boolean, rollupsOnly: boolean,
    port: PortQuestion | undefined): Promise<CacheLease | undefined> {
    const picked: ObjectInfo[] = [];
    const id = randomBytes(6).toString('hex');
    const snap = join(dir, LEASES, id);
    const listing = new Map<string, string[]>();
    // A port question: per partition, the port rollups queryFlows will take with this snapshot (the same rule,
    // rollupsAnswering, from the objects' metadata) are fetched instead of the files they cover.
    const byPort = port === undefined ? new Set<string>() : portCovered(want, port, picked);
    for (const [name, info] of index) {
      const n = parseArchiveObject(name)!;
      if (n.kind !== 'flows' || !want(n)) continue;
      const r = index.get(rollupObjectName(name));
      // A file a port rollup answers for is named for the read, not fetched.
      if (!byPort.has(name)) {
        if (!rollupsOnly || r === undefined) picked.push(info);
        if (r !== undefined) picked.push(r);
      }
      const part = join(snap, `basis=${n.basis}`, `hour=${n.hour}`);
      listing.set(part, [...(listing.get(part) ?? []), join(part, n.file)]);
    }
    const bytes = picked.reduce((a, o) => a + o.size, 0);
    if (bytes > opts.maxBytes) {
      s.refused++;
      throw new AppError('PAYLOAD_TOO_LARGE', `This query reads ${picked.length} archive files of ${bytes} bytes; this replica's archive cache holds at most ${opts.maxBytes} (cluster.archive.cacheMaxBytes). Narrow its time range or bases, or raise the bound.`);
    }
    const list: Entry[] = picked.map((info) => {
      let e = entries.get(info.name);
      if (e === undefined) {
        e = { name: info.name, info, path: localPath(parseArchiveObject(info.name)!), size: info.size, state: 'absent', pins: 0, lastUsed: now(), detached: false };
        entries.set(info.name, e);
      }
      e.pins++;
      return e;
    });
    let done = false;
    try {
      const marked = await reserve(list);
      s.hits += list.length - marked;
      s.misses += marked;
      let fetched: boolean;
      try {
        fetched = await fetchAll(list);
      } catch (e) {
        s.failures++;
        throw new AppError('UNAVAILABLE', 'The archive bucket cannot be reached to fetch what this query reads; try again shortly.', { cause: e });
      }
      if (!fetched) return undefined;
      leases.add(id);
      for (const e of list) {
        const n = parseArchiveObject(e.name)!;
        const to = join(snap, `basis=${n.basis}`, `hour=${n.hour}`);
        mkdirSync(to, { recursive: true });
        try { linkSync(e.path, join(to, n.file)); } catch { return undefined; } // deleted since (or purged): a fresh snapshot
      }
      done = true;
      let released = false;
      return {
        dir: snap, files: list.length, bytes, fetched: marked,
        flowFiles: (partitionDir) => listing.get(partitionDir) ?? [],
        release() {
          if (released) return;
          released = true;
          leases.delete(id);
          rmSync(snap, { recursive: true, force: true });
          unpin(list);
        },
      };
    } finally {
      if (!done) {
        leases.delete(id);
        rmSync(snap, { recursive: true, force: true });
        unpin(list);
      }
    }
  }

  return {
    name: 'archive-cache',
    async start() {
      stopped = false;
      mkdirSync(dir, { recursive: true });
      rmSync(join(dir, CACHE_TMP), { recursive: true, force: true });
      rmSync(join(dir, LEASES), { recursive: true, force: true });
      if (entries.size === 0) adopt();
      // A start retried after a failed one (the hub retries) must not leave that one's watch running beside its own.
      watcher?.stop();
      await loop?.catch(() => undefined);
      watcher = await bucket.watch();
      const w = watcher;
      loop = (async () => {
        for await (const info of w) {
          if (stopped) break;
          try { apply(info); } catch (e) { s.failures++; deps.logger?.error({ err: e, object: info.name }, 'archive cache: cannot apply a change'); }
          if (info.isUpdate) becomeReady();
        }
      })();
      // A bucket without history sends nothing: then the cache is ready at once.
      let empty: boolean;
      try {
        empty = (await bucket.list()).length === 0;
      } catch (e) {
        w.stop();
        await loop.catch(() => undefined);
        watcher = undefined;
        throw e;
      }
      if (empty && index.size === 0) becomeReady();
    },
    async stop() {
      stopped = true;
      watcher?.stop();
      await loop?.catch(() => undefined);
    },
    ready: () => readyP,
    isReady: () => isReady,
    objects: () => [...index.values()].filter((o) => parseArchiveObject(o.name)?.kind === 'flows'),
    partitionObjects: () => [...index.values()],
    async acquire(want, options) {
      await waitReady();
      for (let i = 0; i < 3; i++) {
        const l = await attempt(want, options?.rollupsOnly === true, options?.port);
        if (l !== undefined) return l;
      }
      throw new AppError('UNAVAILABLE', 'The archive changed under this query three times (compaction or retention running); try again.');
    },
    drop(names) { for (const name of names) forget(name); },
    stats: () => ({
      ...s, objects: [...index.keys()].filter((n) => parseArchiveObject(n)?.kind === 'flows').length,
      cachedFiles: [...entries.values()].filter((e) => e.state !== 'absent').length, cachedBytes: used, pinnedBytes: pinnedBytes(), maxBytes: opts.maxBytes,
    }),
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

/** The cache's counters and gauges on /metrics. */
export function archiveCacheMetrics(cache: Pick<ArchiveCache, 'stats'>, metrics: { collect(name: string, help: string, type: 'counter' | 'gauge', fn: () => { labels: Record<string, string>; value: number }[]): void }): void {
  const one = (k: keyof ArchiveCacheStats) => () => [{ labels: {}, value: cache.stats()[k] }];
  metrics.collect('mamori_archive_cache_hits_total', 'Archive files queries needed that this replica held already.', 'counter', one('hits'));
  metrics.collect('mamori_archive_cache_misses_total', 'Archive files queries needed that this replica fetched from the bucket.', 'counter', one('misses'));
  metrics.collect('mamori_archive_cache_downloaded_bytes_total', 'Bytes fetched from the archive bucket.', 'counter', one('downloadedBytes'));
  metrics.collect('mamori_archive_cache_evictions_total', 'Local copies evicted to stay within cluster.archive.cacheMaxBytes.', 'counter', one('evictions'));
  metrics.collect('mamori_archive_cache_evicted_bytes_total', 'Bytes evicted.', 'counter', one('evictedBytes'));
  metrics.collect('mamori_archive_cache_refused_total', 'Queries refused: more than the cache holds, or no room within cluster.archive.cacheWaitSeconds.', 'counter', one('refused'));
  metrics.collect('mamori_archive_cache_bytes', 'Bytes of local copies (downloads under way included).', 'gauge', one('cachedBytes'));
  metrics.collect('mamori_archive_cache_pinned_bytes', 'Bytes running queries pin (never evicted).', 'gauge', one('pinnedBytes'));
  metrics.collect('mamori_archive_cache_max_bytes', 'cluster.archive.cacheMaxBytes.', 'gauge', one('maxBytes'));
  metrics.collect('mamori_archive_cache_objects', 'Flow files the archive bucket holds (listed, not downloaded).', 'gauge', one('objects'));
}
