/** @module The replica's on-demand archive cache against an in-memory bucket: what a read fetches, the byte bound, LRU eviction, pins, purges, merges, restarts. */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ArchiveBucket, ObjectInfo, ObjectWatchInfo } from './bucket.js';
import { createArchiveCache, type ArchiveCache } from './cache.js';

type Obj = { info: ObjectInfo; data: Buffer };

/** A bucket in memory: list, get (gated and counted), put, delete and a watch with history. */
function memoryBucket() {
  const objects = new Map<string, Obj>();
  const listeners = new Set<(i: ObjectWatchInfo) => void>();
  const io = { gets: [] as string[], inflight: 0, maxInflight: 0, gate: undefined as Promise<void> | undefined, down: false, listDown: false };
  const emit = (i: ObjectWatchInfo): void => { for (const l of listeners) l(i); };
  const put = (name: string, size = 100, metadata: Record<string, string> = {}): void => {
    const data = Buffer.alloc(size, name.length);
    const info = { name, size, metadata, deleted: false, digest: `SHA-256=${createHash('sha256').update(data).digest('base64url')}` } as unknown as ObjectInfo;
    objects.set(name, { info, data });
    emit({ ...info, isUpdate: true } as ObjectWatchInfo);
  };
  const del = (name: string): void => {
    const o = objects.get(name);
    if (o === undefined) return;
    objects.delete(name);
    emit({ ...o.info, deleted: true, isUpdate: true } as ObjectWatchInfo);
  };
  const bucket = {
    async getFile(name: string, path: string) {
      io.gets.push(name);
      io.inflight++;
      io.maxInflight = Math.max(io.maxInflight, io.inflight);
      await new Promise((r) => setTimeout(r, 5));
      await io.gate;
      io.inflight--;
      if (io.down) throw new Error('no responders');
      const o = objects.get(name);
      if (o === undefined) return false;
      writeFileSync(path, o.data);
      return true;
    },
    async list() {
      if (io.listDown) throw new Error('no responders');
      return [...objects.values()].map((o) => o.info);
    },
    async watch() {
      const q: ObjectWatchInfo[] = [...objects.values()].map((o, i, a) => ({ ...o.info, isUpdate: i === a.length - 1 }) as ObjectWatchInfo);
      let wake: (() => void) | undefined;
      let stopped = false;
      const l = (i: ObjectWatchInfo): void => { q.push(i); wake?.(); };
      listeners.add(l);
      return {
        stop() { stopped = true; listeners.delete(l); wake?.(); },
        async *[Symbol.asyncIterator]() {
          while (!stopped) {
            if (q.length > 0) yield q.shift()!;
            else await new Promise<void>((r) => { wake = r; });
          }
        },
      };
    },
  } as unknown as ArchiveBucket;
  return { bucket, put, del, io, watches: (): number => listeners.size };
}

const dirs: string[] = [];
const caches: ArchiveCache[] = [];
afterEach(async () => {
  for (const c of caches.splice(0)) await c.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const name = (basis: string, hour: string, file: string): string => `flows/basis=${basis}/hour=2026-05-01T${hour}/${file}`;
async function started(b: ArchiveBucket, options: { maxBytes?: number; fetchConcurrency?: number; waitMs?: number }, dir?: string): Promise<{ cache: ArchiveCache; dir: string }> {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'mamori-cache-test-'));
  if (dir === undefined) dirs.push(d);
  const cache = createArchiveCache({ bucket: b, dir: d, options: { maxBytes: 1000, fetchConcurrency: 2, waitMs: 2000, ...options } });
  caches.push(cache);
  await cache.start();
  await cache.ready();
  return { cache, dir: d };
}
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 20));
const files = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { recursive: true }) as string[] : []).filter((f) => f.endsWith('.parquet') || f.endsWith('.rollup')).sort();

describe('archive cache (on demand)', () => {
  it('lists the bucket without downloading; a read fetches only the partitions it names (with their rollups), within the concurrency bound', async () => {
    const m = memoryBucket();
    for (const b of ['b1', 'b2']) for (const h of ['10', '11', '12']) { m.put(name(b, h, 'w1.parquet')); m.put(name(b, h, 'w2.parquet')); }
    m.put(name('b1', '10', 'w1.rollup'), 10);
    const { cache } = await started(m.bucket, { fetchConcurrency: 2 });
    expect(cache.stats()).toMatchObject({ objects: 12, downloads: 0, cachedBytes: 0 });
    const lease = await cache.acquire((n) => n.hour === '2026-05-01T10');
    expect(files(lease.dir)).toEqual(['basis=b1/hour=2026-05-01T10/w1.parquet', 'basis=b1/hour=2026-05-01T10/w1.rollup', 'basis=b1/hour=2026-05-01T10/w2.parquet',
      'basis=b2/hour=2026-05-01T10/w1.parquet', 'basis=b2/hour=2026-05-01T10/w2.parquet']);
    expect(m.io.gets).toHaveLength(5);
    expect(m.io.maxInflight).toBe(2);
    expect(cache.stats()).toMatchObject({ misses: 5, hits: 0, downloads: 5, downloadedBytes: 410, cachedBytes: 410, pinnedBytes: 410 });
    lease.release();
    expect(existsSync(lease.dir)).toBe(false);
    // The same partitions again: all hits, nothing fetched.
    const again = await cache.acquire((n) => n.hour === '2026-05-01T10' && n.basis === 'b2');
    expect(again.fetched).toBe(0);
    expect(m.io.gets).toHaveLength(5);
    expect(cache.stats()).toMatchObject({ hits: 2, pinnedBytes: 200 });
    again.release();
  });

  it('for a port question, fetches a usable port rollup instead of the files it covers; never one naming a file gone (merged away) or out of range', async () => {
    const m = memoryBucket();
    const meta = (covers: string[], first = '1777629600000000', last = '1777630000000000', ports = '0-1023'): Record<string, string> =>
      ({ mamori_covers: JSON.stringify(covers), mamori_ports: ports, mamori_first: first, mamori_last: last });
    for (const f of ['w1', 'w2', 'w3', 'c1']) m.put(name('b1', '10', `${f}.parquet`));
    m.put(name('b1', '10', 'p1.ports'), 20, meta(['w1.parquet', 'w2.parquet']));
    m.put(name('b1', '10', 'p2.ports'), 20, meta(['w3.parquet', 'gone.parquet'])); // a file merged away: never taken
    m.put(name('b1', '10', 'p3.ports'), 20, meta(['c1.parquet'], '1777629600000000', '1777633199000000')); // span past the range's end
    m.put(name('b1', '10', 'p4.ports'), 20, { mamori_covers: '["w3.parquet"]' }); // metadata incomplete: never taken
    const { cache } = await started(m.bucket, {});
    const q = { port: 443, fromMs: Date.parse('2026-05-01T10:00:00Z'), toMs: Date.parse('2026-05-01T10:30:00Z') };
    const l = await cache.acquire(() => true, { port: q });
    expect(files(l.dir).concat((readdirSync(l.dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.ports')))).toEqual([
      'basis=b1/hour=2026-05-01T10/c1.parquet', 'basis=b1/hour=2026-05-01T10/w3.parquet', 'basis=b1/hour=2026-05-01T10/p1.ports']);
    const part = join(l.dir, 'basis=b1', 'hour=2026-05-01T10');
    expect(l.flowFiles(part).sort()).toEqual(['c1', 'w1', 'w2', 'w3'].map((f) => join(part, `${f}.parquet`)));
    l.release();
    // A port the rollups do not hold, or a range the span does not fit: the files, no rollup.
    const eph = await cache.acquire(() => true, { port: { ...q, port: 40_000 } });
    expect((readdirSync(eph.dir, { recursive: true }) as string[]).filter((f) => /\.(ports|parquet)$/.test(f))).toHaveLength(4);
    expect((readdirSync(eph.dir, { recursive: true }) as string[]).some((f) => f.endsWith('.ports'))).toBe(false);
    eph.release();
  });

  it('for a question rollups answer whole, fetches only the rollups of files that have one, and names those files for the read', async () => {
    const m = memoryBucket();
    m.put(name('b1', '10', 'w1.parquet'));
    m.put(name('b1', '10', 'w1.rollup'), 10);
    m.put(name('b1', '10', 'w2.parquet')); // no rollup yet (a late file): read from rows
    const { cache } = await started(m.bucket, {});
    const l = await cache.acquire(() => true, { rollupsOnly: true });
    expect(files(l.dir)).toEqual(['basis=b1/hour=2026-05-01T10/w1.rollup', 'basis=b1/hour=2026-05-01T10/w2.parquet']);
    const part = join(l.dir, 'basis=b1', 'hour=2026-05-01T10');
    expect(l.flowFiles(part).sort()).toEqual([join(part, 'w1.parquet'), join(part, 'w2.parquet')]);
    expect(cache.stats()).toMatchObject({ downloads: 2, downloadedBytes: 110 });
    l.release();
  });

  it('evicts the least recently used copies to stay within its bytes, never one a running read pins', async () => {
    const m = memoryBucket();
    for (const f of ['a', 'b', 'c', 'd']) m.put(name('b1', '10', `${f}.parquet`));
    const { cache, dir } = await started(m.bucket, { maxBytes: 300 });
    const pick = (...fs: string[]) => (n: { file: string }) => fs.includes(n.file);
    const held = await cache.acquire(pick('a.parquet', 'b.parquet'));
    (await cache.acquire(pick('c.parquet'))).release();
    expect(cache.stats()).toMatchObject({ cachedBytes: 300, evictions: 0 });
    const d = await cache.acquire(pick('d.parquet')); // room only by evicting c: a and b are pinned
    expect(cache.stats()).toMatchObject({ cachedBytes: 300, evictions: 1, evictedBytes: 100 });
    expect(files(join(dir, 'basis=b1'))).toEqual(['hour=2026-05-01T10/a.parquet', 'hour=2026-05-01T10/b.parquet', 'hour=2026-05-01T10/d.parquet']);
    expect(files(held.dir)).toHaveLength(2);
    held.release();
    d.release();
    // Now a was used longest ago (a read's use ends at its release): it goes first.
    (await cache.acquire(pick('c.parquet'))).release();
    expect(files(join(dir, 'basis=b1'))).toEqual(['hour=2026-05-01T10/b.parquet', 'hour=2026-05-01T10/c.parquet', 'hour=2026-05-01T10/d.parquet']);
  });

  it('refuses a read larger than the whole cache; a read that finds the cache pinned waits for room, and is refused after the wait', async () => {
    const m = memoryBucket();
    for (const f of ['a', 'b', 'c']) m.put(name('b1', '10', `${f}.parquet`));
    const { cache } = await started(m.bucket, { maxBytes: 250, waitMs: 300 });
    await expect(cache.acquire(() => true)).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE', message: expect.stringContaining('cluster.archive.cacheMaxBytes') });
    expect(m.io.gets).toEqual([]); // refused before fetching anything
    const held = await cache.acquire((n) => n.file !== 'c.parquet');
    await expect(cache.acquire((n) => n.file === 'c.parquet')).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('busy') });
    expect(cache.stats().refused).toBe(2);
    const waiting = cache.acquire((n) => n.file === 'c.parquet');
    await tick();
    held.release(); // the waiting read gets its room at once
    const c = await waiting;
    expect(files(c.dir)).toEqual(['basis=b1/hour=2026-05-01T10/c.parquet']);
    expect(cache.stats()).toMatchObject({ cachedBytes: 200, pinnedBytes: 100 });
    c.release();
  });

  it('two reads waiting for room for the same file count its bytes once; the count stays the bytes on disk', async () => {
    const m = memoryBucket();
    for (const f of ['a', 'b', 'c']) m.put(name('b1', '10', `${f}.parquet`));
    const { cache, dir } = await started(m.bucket, { maxBytes: 200 });
    const held = await cache.acquire((n) => n.file !== 'c.parquet');
    const one = cache.acquire((n) => n.file === 'c.parquet');
    const two = cache.acquire((n) => n.file === 'c.parquet');
    await tick();
    held.release();
    const [l1, l2] = await Promise.all([one, two]);
    expect(l1.fetched + l2.fetched).toBe(1);
    expect(m.io.gets.filter((g) => g.endsWith('c.parquet'))).toHaveLength(1);
    l1.release();
    l2.release();
    const onDisk = files(dir).filter((f) => !f.startsWith('_')).reduce((a, f) => a + statSync(join(dir, f)).size, 0);
    expect(cache.stats()).toMatchObject({ cachedBytes: onDisk, pinnedBytes: 0 });
    expect(onDisk).toBe(200);
  });

  it('a purge tombstone removes the basis\'s copies (and from running reads); a deletion removes its copy; a merged file replaces its sources at once', async () => {
    const m = memoryBucket();
    for (const b of ['b1', 'b2']) for (const f of ['a', 'b']) m.put(name(b, '10', `${f}.parquet`));
    const { cache, dir } = await started(m.bucket, {});
    const all = await cache.acquire(() => true);
    m.put('purged/b2', 10);
    await tick();
    expect(existsSync(join(dir, 'basis=b2'))).toBe(false);
    expect(existsSync(join(all.dir, 'basis=b2'))).toBe(false);
    expect(cache.objects().map((o) => o.name).sort()).toEqual([name('b1', '10', 'a.parquet'), name('b1', '10', 'b.parquet')]);
    all.release();
    expect(cache.stats()).toMatchObject({ cachedBytes: 200, pinnedBytes: 0 });
    // A late object of the purged basis is never listed.
    m.put(name('b2', '11', 'late.parquet'));
    await tick();
    expect(cache.stats().objects).toBe(2);
    // Compaction: the merged object names its sources; they leave the list before their deletions come.
    m.put(name('b1', '10', 'c1.parquet'), 150, { replaces: JSON.stringify(['a.parquet', 'b.parquet']) });
    await tick();
    expect(cache.objects().map((o) => o.name)).toEqual([name('b1', '10', 'c1.parquet')]);
    expect(files(dir)).toEqual([]);
    expect(cache.stats()).toMatchObject({ cachedBytes: 0, removed: 4 });
    const l = await cache.acquire(() => true);
    expect(files(l.dir)).toEqual(['basis=b1/hour=2026-05-01T10/c1.parquet']);
    l.release();
    m.del(name('b1', '10', 'c1.parquet'));
    await tick();
    expect(files(dir)).toEqual([]);
    expect(cache.stats()).toMatchObject({ objects: 0, cachedBytes: 0 });
  });

  it('a read whose file the bucket deleted before it was fetched takes a fresh snapshot (the merged file, never neither)', async () => {
    const m = memoryBucket();
    for (const f of ['a', 'b']) m.put(name('b1', '10', `${f}.parquet`));
    const { cache } = await started(m.bucket, {});
    let open: () => void = () => undefined;
    m.io.gate = new Promise((r) => { open = r; });
    const reading = cache.acquire(() => true);
    await tick();
    m.put(name('b1', '10', 'c1.parquet'), 200, { replaces: JSON.stringify(['a.parquet', 'b.parquet']) });
    m.del(name('b1', '10', 'a.parquet'));
    m.del(name('b1', '10', 'b.parquet'));
    m.io.gate = undefined;
    open();
    const l = await reading;
    expect(files(l.dir)).toEqual(['basis=b1/hour=2026-05-01T10/c1.parquet']);
    l.release();
    expect(cache.stats()).toMatchObject({ cachedBytes: 200, pinnedBytes: 0 });
  });

  it('a read while the bucket cannot be reached is refused as unavailable and gives its room back', async () => {
    const m = memoryBucket();
    for (const f of ['a', 'b']) m.put(name('b1', '10', `${f}.parquet`));
    const { cache } = await started(m.bucket, {});
    (await cache.acquire((n) => n.file === 'a.parquet')).release();
    m.io.down = true;
    await expect(cache.acquire(() => true)).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('cannot be reached') });
    expect(cache.stats()).toMatchObject({ cachedFiles: 1, cachedBytes: 100, pinnedBytes: 0 });
    // What it holds still answers.
    const l = await cache.acquire((n) => n.file === 'a.parquet');
    expect(l.fetched).toBe(0);
    l.release();
    m.io.down = false;
    (await cache.acquire(() => true)).release();
    expect(cache.stats()).toMatchObject({ cachedFiles: 2, cachedBytes: 200 });
  });

  it('a start whose listing fails stops the watch it began; started again, one watch runs', async () => {
    const m = memoryBucket();
    m.put(name('b1', '10', 'a.parquet'));
    const d = mkdtempSync(join(tmpdir(), 'mamori-cache-test-'));
    dirs.push(d);
    const cache = createArchiveCache({ bucket: m.bucket, dir: d, options: { maxBytes: 1000, fetchConcurrency: 2, waitMs: 2000 } });
    caches.push(cache);
    m.io.listDown = true;
    await expect(cache.start()).rejects.toThrow('no responders');
    expect(m.watches()).toBe(0);
    m.io.listDown = false;
    await cache.start();
    await cache.ready();
    expect(m.watches()).toBe(1);
    expect(cache.objects().map((o) => o.name)).toEqual([name('b1', '10', 'a.parquet')]);
  });

  it('after a restart keeps the copies the bucket still holds and drops the others', async () => {
    const m = memoryBucket();
    for (const f of ['a', 'b', 'c']) m.put(name('b1', '10', `${f}.parquet`));
    const first = await started(m.bucket, {});
    (await first.cache.acquire(() => true)).release();
    await first.cache.stop();
    m.del(name('b1', '10', 'b.parquet'));
    writeFileSync(join(first.dir, 'basis=b1', 'hour=2026-05-01T10', 'junk.txt'), 'not an object');
    const { cache } = await started(m.bucket, {}, first.dir);
    expect(cache.stats()).toMatchObject({ objects: 2, cachedFiles: 2, cachedBytes: 200 });
    expect(files(first.dir)).toEqual(['basis=b1/hour=2026-05-01T10/a.parquet', 'basis=b1/hour=2026-05-01T10/c.parquet']);
    const gets = m.io.gets.length;
    const l = await cache.acquire(() => true);
    expect(l.fetched).toBe(0);
    expect(m.io.gets.length).toBe(gets);
    l.release();
  });
});
