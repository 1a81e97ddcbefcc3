/**
 * @module The replicated archive on a NATS server of its own: the archiver stores rounds in the bucket and only then
 * acknowledges; a replica that never saw the flows answers a query over all of them from its cache; a purge and
 * retention delete cluster-wide, audited once, and every cache follows; compaction's merged
 * file replaces its sources in every cache.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { openDuckDb, type DuckDb } from '#platform/duckdb/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import { createJetStreamTransport, type Transport } from '#platform/transport/index.js';
import { startNatsCluster, type NatsTestCluster } from '#platform/transport/test-support/nats-cluster.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import { createArchiveWriter, type SelectedBatch } from '#modules/selection/index.js';
import { syntheticSelected } from '#modules/selection/test-support/selected.js';
import { encodeWireBatch, partitionSubject, splitByPartition } from '../wire/index.js';
import { createArchiver } from '../archiver/index.js';
import { compactBucket, createArchiveCache, createArchiveHub, createClusterArchive, createReplicaQueries, createRoundStore, OBJECT_CHUNK_BYTES, openArchiveBucket, type ArchiveBucket, type ArchiveCacheOptions } from './index.js';

const PARTS = 2;
let nats: NatsTestCluster;
const dirs: string[] = [];
const engines: DuckDb[] = [];
const fresh = (): string => { const d = mkdtempSync(join(tmpdir(), 'mamori-archive-store-')); dirs.push(d); return d; };
async function engine(): Promise<DuckDb> { const e = await openDuckDb(); engines.push(e); return e; }
function chain() { let c: Promise<unknown> = Promise.resolve(); return <T>(fn: () => Promise<T>): Promise<T> => { const n = c.then(fn, fn); c = n.catch(() => undefined); return n; }; }
const allow = { require: () => undefined } as unknown as PolicyEngine;
const ctx = systemContext('test');

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Publishes kept flows of two bases over two hours, split by `d` partition, under message ids `run.k.p`. */
async function publish(t: Transport, run: string, batches: SelectedBatch[]): Promise<number> {
  let n = 0;
  for (const [k, b] of batches.entries()) {
    for (const [p, part] of splitByPartition(b, 'd', PARTS).entries()) {
      if (part === undefined) continue;
      await t.publish(partitionSubject('mamori.flows', 'd', p), encodeWireBatch({ edge: 'e1', seq: k, family: 'd', partition: p, selectedAtMs: Date.now() }, part), { msgId: `${run}.${k}.${p}` });
      n += part.length;
    }
  }
  return n;
}

function replica(bucket: ArchiveBucket, clock: ManualClock, retention: Map<string, number>, options?: Partial<ArchiveCacheOptions>) {
  const dir = fresh();
  const audited: { action: string; outcome?: string; object: { id: string }; details: Record<string, unknown> }[] = [];
  const audit = { record: async (_c: unknown, e: (typeof audited)[number]) => { audited.push(e); } } as unknown as AuditRecorder;
  const cache = createArchiveCache({ bucket, dir, ...(options !== undefined ? { options } : {}) });
  const queries = createReplicaQueries({ cache, audit, policy: allow, engine });
  const rowsOnly = createReplicaQueries({ cache, audit, policy: allow, engine, rollups: false });
  const cluster = createClusterArchive({ bucket, cache, dir, audit, policy: allow, clock, retentionOf: async () => retention });
  // `rows`: read from rows only (then every file is fetched); otherwise whole-minute counts by basis need only rollups.
  const count = async (basisIds?: string[], from = '2026-05-01T00:00:00Z', to = '2026-05-02T00:00:00Z', rows = false): Promise<number> => {
    const r = await (rows ? rowsOnly : queries).queryFlows(ctx, { purpose: 'archive store test: count flows', filters: { from, to, ...(basisIds !== undefined ? { basisIds } : {}) }, groupBy: ['basis'] });
    return r.rows.reduce((a, x) => a + Number(x['flows']), 0);
  };
  return { dir, cache, queries, rowsOnly, cluster, audited, count };
}

beforeAll(async () => { nats = await startNatsCluster(1); }, 60_000);
afterAll(async () => {
  await nats?.stop();
  for (const e of engines.splice(0)) e.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}, 60_000);

describe('replicated archive (JetStream object store)', () => {
  it('stores before it acknowledges; a replica that never saw the flows answers over all of them; purge and retention act cluster-wide, audited once', async () => {
    const t = await createJetStreamTransport({ servers: nats.urls, name: 'test-flows' });
    await t.ensureStream({ name: 'FLOWS_A', subjects: ['mamori.flows.>'], replicas: 1, maxAgeMs: 3_600_000, duplicateWindowMs: 60_000 });
    const bucketA = await openArchiveBucket({ servers: nats.urls, bucket: 'archive-a', replicas: 1, name: 'test-archiver' });
    const bucketR = await openArchiveBucket({ servers: nats.urls, bucket: 'archive-a', replicas: 1, name: 'test-replica' });
    const clock = new ManualClock('2026-05-01T13:00:00Z');
    const retention = new Map([['b1', 30], ['b2', 30]]);
    // A replica watching from the start, and one that starts only after everything was archived.
    const early = replica(bucketR, clock, retention);
    await early.cache.start();
    await early.cache.ready();

    const stage = fresh();
    const writer = createArchiveWriter({ fileRows: 1_000_000, maxAgeSeconds: 3600, bufferRows: 4_000_000, walSyncMs: 1000 }, { dir: stage, engine, serial: chain() });
    const rounds = createRoundStore({ bucket: bucketA, dir: stage, engine });
    const archiver = createArchiver({ stream: 'FLOWS_A', subjectPrefix: 'mamori.flows', partitions: PARTS, ackWaitMs: 30_000, storeEveryMs: 3_600_000 }, { transport: t, writer, rounds });
    await archiver.start();
    const batches = [0, 1, 2, 3].map((k) => syntheticSelected(5000, { bases: ['b1', 'b2'], startMs: Date.parse('2026-05-01T10:00:00Z') + k * 1_800_000 }));
    const sent = await publish(t, 'r1', batches);
    expect(sent).toBe(20_000);
    await until('all taken', () => archiver.stats().appendedFlows === sent);
    // Taken, in the write-ahead segment, not yet stored: nothing is acknowledged, the bucket holds nothing.
    expect(archiver.stats().ackedFlows).toBe(0);
    expect(await t.ackFloor('FLOWS_A', 'archive-d-0')).toBe(0);
    expect((await bucketA.list()).filter((o) => o.name.startsWith('flows/'))).toEqual([]);
    await archiver.storeNow();
    expect(archiver.stats()).toMatchObject({ storedFlows: sent, ackedFlows: sent, waiting: 0, rounds: 1 });
    expect(readdirSync(stage).filter((n) => n.startsWith('basis='))).toEqual([]); // the local copies went once stored
    await until('acknowledged', async () => (await t.ackFloor('FLOWS_A', 'archive-d-0')) + (await t.ackFloor('FLOWS_A', 'archive-d-1')) > 0);
    await archiver.stop();

    await until('the early replica copied every file', () => early.cache.stats().objects === 4);
    expect(await early.count()).toBe(sent);
    const late = replica(bucketR, clock, retention);
    await late.cache.start();
    await late.cache.ready();
    expect(await late.count()).toBe(sent);
    expect(await late.count(['b2'])).toBe(sent / 2);
    expect(late.cluster.partitions().map((p) => `${p.basis}/${p.hour}`).sort()).toEqual(['b1/2026-05-01T10', 'b1/2026-05-01T11', 'b2/2026-05-01T10', 'b2/2026-05-01T11']);

    // A purge on one replica: audited there once per partition with its flows, gone from the bucket and from every cache.
    const purged = await late.cluster.purgeBasis(ctx, 'b2', 'commission refused the emergency acquisition');
    expect(purged).toMatchObject({ flows: sent / 2, partitions: 2 });
    expect(late.audited.filter((e) => e.action === 'flows:purge').map((e) => e.details['flows'])).toEqual([5000, 5000]);
    expect(early.audited.filter((e) => e.action === 'flows:purge')).toEqual([]); // the others only drop their copies
    expect((await bucketA.list()).filter((o) => o.name.includes('basis=b2'))).toEqual([]);
    await until('the other replica dropped its copies', async () => (await early.count(['b2'])) === 0 && !readdirSync(early.dir).includes('basis=b2'));
    expect(await early.count()).toBe(sent / 2);
    // A late file of the purged basis is not stored (the tombstone), nor copied.
    const again = createArchiver({ stream: 'FLOWS_A', subjectPrefix: 'mamori.flows', partitions: PARTS, ackWaitMs: 30_000, storeEveryMs: 3_600_000 },
      { transport: t, writer: createArchiveWriter({ fileRows: 1_000_000, maxAgeSeconds: 3600, bufferRows: 4_000_000, walSyncMs: 1000 }, { dir: stage, engine, serial: chain() }), rounds: createRoundStore({ bucket: bucketA, dir: stage, engine }) });
    await again.start();
    const more = await publish(t, 'r2', [syntheticSelected(1000, { bases: ['b1', 'b2'], startMs: Date.parse('2026-05-01T10:45:00Z') })]);
    await until('late flows taken', () => again.stats().appendedFlows === more);
    await again.storeNow();
    expect(again.stats()).toMatchObject({ storedFlows: 500, purgedFlows: 500, ackedFlows: 1000 });
    await again.stop();
    await until('the late b1 file copied', async () => (await early.count()) === sent / 2 + 500);
    expect(await late.count(['b2'])).toBe(0);

    // Compaction (the leader's job): b1's hour 10 now has two small files; one merged object replaces them everywhere,
    // and every live file of a closed hour gets its minute rollup (hours 10 and 11: 13:00 is past 11:00 + 1 h + 10 min).
    const partFiles = (d: string): string[] => { try { return readdirSync(join(d, 'basis=b1', 'hour=2026-05-01T10')).sort(); } catch { return []; } };
    const hour10 = (c: typeof early.cache): string[] => c.objects().filter((o) => o.name.startsWith('flows/basis=b1/hour=2026-05-01T10/')).map((o) => o.name);
    await until('both files of hour 10 listed', () => hour10(early.cache).length === 2 && hour10(late.cache).length === 2);
    expect(partFiles(early.dir)).toHaveLength(2); // early queried them; late holds only what it read before
    let before = await early.count();
    expect(await compactBucket({ bucket: bucketR, dir: fresh(), engine, clock }, { minRows: 100_000 })).toEqual({ partitions: 1, filesMerged: 2, rows: 5500, rollups: 2, portRollups: 2 });
    const inBucket = (await bucketA.list()).filter((o) => o.name.startsWith('flows/'));
    expect(inBucket.filter((o) => o.name.startsWith('flows/basis=b1/hour=2026-05-01T10/') && o.name.endsWith('.parquet')).map((o) => o.metadata?.['rows'])).toEqual(['5500']);
    expect(inBucket.filter((o) => o.name.endsWith('.rollup')).map((o) => o.name.slice(0, 'flows/basis=b1/hour=2026-05-01T1x'.length)).sort()).toEqual(['flows/basis=b1/hour=2026-05-01T10', 'flows/basis=b1/hour=2026-05-01T11']);
    // A port rollup (decision 0016) for each closed partition, by the local archive's code, naming in its object's
    // metadata the live files it covers: the merged file of hour 10, hour 11's file.
    const portObjs = inBucket.filter((o) => o.name.endsWith('.ports'));
    expect(portObjs.map((o) => o.name.slice(0, 'flows/basis=b1/hour=2026-05-01T1x'.length)).sort()).toEqual(['flows/basis=b1/hour=2026-05-01T10', 'flows/basis=b1/hour=2026-05-01T11']);
    for (const o of portObjs) {
      const dirOf = o.name.slice(0, o.name.lastIndexOf('/') + 1);
      expect((JSON.parse(o.metadata?.['mamori_covers'] ?? '[]') as string[]).map((f) => `${dirOf}${f}`).sort())
        .toEqual(inBucket.filter((x) => x.name.startsWith(dirOf) && x.name.endsWith('.parquet')).map((x) => x.name).sort());
    }
    await until('every cache put the merged file in its sources\' place', () => hour10(early.cache).length === 1 && hour10(late.cache).length === 1 && partFiles(early.dir).length === 0);
    expect(await early.count()).toBe(before);
    expect(await late.count()).toBe(before);
    // The count by basis over whole minutes needs only the merged file's rollup: that is all the query fetched.
    expect(partFiles(early.dir).map((f) => f.replace(/^c[0-9a-z]+-[0-9a-f]+/, 'c'))).toEqual(['c.rollup']);
    expect(await early.count(undefined, undefined, undefined, true)).toBe(before);
    expect(partFiles(early.dir).map((f) => f.replace(/^c[0-9a-z]+-[0-9a-f]+/, 'c'))).toEqual(['c.parquet', 'c.rollup']);
    expect(await compactBucket({ bucket: bucketR, dir: fresh(), engine, clock }, { minRows: 100_000 })).toEqual({ partitions: 0, filesMerged: 0, rows: 0, rollups: 0, portRollups: 0 });

    // A port question on a cold replica: only the port rollups are fetched (no flow file), and the answer is the rows'.
    const cold = replica(bucketR, clock, retention);
    await cold.cache.start();
    await cold.cache.ready();
    const byPort = { purpose: 'archive store test: top foreign addresses on a port', filters: { from: '2026-05-01T10:00:00Z', to: '2026-05-01T12:00:00Z', port: 443 },
      groupBy: ['foreignAddress', 'proto'] as ('foreignAddress' | 'proto')[], limit: 10_000 };
    const fromPorts = await cold.queries.queryFlows(ctx, byPort);
    expect(cold.cache.stats()).toMatchObject({ downloads: 2, downloadedBytes: portObjs.reduce((a, o) => a + o.size, 0) });
    expect(fromPorts.rows.length).toBeGreaterThan(0);
    expect(fromPorts.rows.reduce((a, x) => a + Number(x['flows']), 0)).toBe(before);
    expect(fromPorts.rows).toEqual((await early.rowsOnly.queryFlows(ctx, byPort)).rows);
    // A range that cuts the rollups' span reads the files from rows, and still answers what the rows answer.
    const cut = { ...byPort, filters: { ...byPort.filters, from: '2026-05-01T10:00:01Z' } };
    expect((await cold.queries.queryFlows(ctx, cut)).rows).toEqual((await early.rowsOnly.queryFlows(ctx, cut)).rows);
    await cold.cache.stop();

    // A late file of the closed hour 10: the next round merges it with the merged file, and the port rollup naming
    // that file (now gone) is deleted, never used; one new rollup covers the new merged file.
    const oldPorts10 = portObjs.filter((o) => o.name.includes('hour=2026-05-01T10/')).map((o) => o.name);
    const third = createArchiver({ stream: 'FLOWS_A', subjectPrefix: 'mamori.flows', partitions: PARTS, ackWaitMs: 30_000, storeEveryMs: 3_600_000 },
      { transport: t, writer: createArchiveWriter({ fileRows: 1_000_000, maxAgeSeconds: 3600, bufferRows: 4_000_000, walSyncMs: 1000 }, { dir: stage, engine, serial: chain() }), rounds: createRoundStore({ bucket: bucketA, dir: stage, engine }) });
    await third.start();
    const late10 = await publish(t, 'r3', [syntheticSelected(200, { bases: ['b1'], startMs: Date.parse('2026-05-01T10:50:00Z') })]);
    await until('the late hour-10 flows taken', () => third.stats().appendedFlows === late10);
    await third.storeNow();
    await third.stop();
    await until('the late hour-10 file listed', () => hour10(early.cache).length === 2);
    expect(await compactBucket({ bucket: bucketR, dir: fresh(), engine, clock }, { minRows: 100_000 })).toEqual({ partitions: 1, filesMerged: 2, rows: 5700, rollups: 1, portRollups: 1 });
    const after = (await bucketA.list()).filter((o) => o.name.startsWith('flows/basis=b1/hour=2026-05-01T10/'));
    const ports10 = after.filter((o) => o.name.endsWith('.ports'));
    expect(ports10).toHaveLength(1);
    expect(oldPorts10).not.toContain(ports10[0]!.name);
    expect(JSON.parse(ports10[0]!.metadata?.['mamori_covers'] ?? '[]')).toEqual(after.filter((o) => o.name.endsWith('.parquet')).map((o) => o.name.split('/').pop()));
    await until('every cache put the new merged file in place', () => hour10(early.cache).length === 1 && hour10(late.cache).length === 1);
    before += late10;
    expect(await early.count()).toBe(before);
    const again443 = await late.queries.queryFlows(ctx, byPort);
    expect(again443.rows.reduce((a, x) => a + Number(x['flows']), 0)).toBe(before);
    expect(again443.rows).toEqual((await early.rowsOnly.queryFlows(ctx, byPort)).rows);

    // Questions by minute read the rollups on replicas too, and answer exactly what the rows answer (decision 0014),
    // over whole minutes and over a range whose first and last minutes are cut.
    for (const [from, to] of [['2026-05-01T10:00:00Z', '2026-05-01T12:00:00Z'], ['2026-05-01T10:00:30Z', '2026-05-01T11:59:30Z']] as const) {
      const q = { purpose: 'archive store test: traffic by minute', filters: { from, to }, groupBy: ['minute', 'proto', 'category'] as ('minute' | 'proto' | 'category')[], limit: 10_000 };
      const rolled = await early.queries.queryFlows(ctx, q);
      const plain = await early.rowsOnly.queryFlows(ctx, q);
      expect(rolled.rows.length).toBeGreaterThan(0);
      expect(rolled.rows).toEqual(plain.rows);
    }

    // Inventory and a deletion certificate's hashes come from the bucket's list, with nothing downloaded: the same
    // rows as a query, the same SHA-256 as the files' bytes.
    expect((await late.cluster.inventory(ctx)).map((x) => [x.basisId, x.rows, x.partitions])).toEqual([['b1', before, 2]]);
    const leased = await early.cache.acquire((n) => n.basis === 'b1');
    const digest = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
    const portsDir = fresh();
    const portsNow = (await bucketA.list()).filter((o) => o.name.startsWith('flows/basis=b1/') && o.name.endsWith('.ports'));
    const portCopies = await Promise.all(portsNow.map(async (o, i) => { const f = join(portsDir, `${i}.ports`); expect(await bucketR.getFile(o.name, f)).toBe(true); return f; }));
    expect((readdirSync(leased.dir, { recursive: true }) as string[]).filter((f) => /\.(parquet|rollup)$/.test(f)).map((f) => join(leased.dir, f)).concat(portCopies).map(digest).sort())
      .toEqual((await early.cluster.contentHashes('b1')).sort());
    // A replica whose cache has not read the list (just started, or cut off) certifies from the bucket all the same.
    const unread = replica(bucketR, clock, retention);
    expect(unread.cache.objects()).toEqual([]);
    expect((await unread.cluster.contentHashes('b1')).sort()).toEqual((await early.cluster.contentHashes('b1')).sort());
    expect(await unread.cluster.inventory(ctx)).toEqual(await early.cluster.inventory(ctx));
    leased.release();

    // A replica with a small cache: a query fetches only the partitions it names; one that needs more than the bound is
    // refused before anything is fetched; reading another hour evicts the first.
    const now = (await bucketA.list()).filter((o) => o.name.startsWith('flows/'));
    const part = (h: string): { bytes: number; objects: number } => {
      const of = now.filter((o) => o.name.startsWith(`flows/basis=b1/hour=2026-05-01T${h}/`) && !o.name.endsWith('.ports')); // what a read by rows fetches
      return { bytes: of.reduce((a, o) => a + o.size, 0), objects: of.length };
    };
    const [p10, p11] = [part('10'), part('11')];
    const small = replica(bucketR, clock, retention, { maxBytes: Math.max(p10.bytes, p11.bytes) + 1, fetchConcurrency: 2, waitMs: 1000 });
    await small.cache.start();
    await small.cache.ready();
    expect(small.cache.stats()).toMatchObject({ objects: 2, downloads: 0 });
    // Traffic by minute over the whole archive: the rollups alone are fetched (well within the bound), the answer exact.
    const rollupBytes = now.filter((o) => o.name.endsWith('.rollup')).reduce((a, o) => a + o.size, 0);
    const byMinute = { purpose: 'archive store test: traffic by minute', filters: { from: '2026-05-01T00:00:00Z', to: '2026-05-02T00:00:00Z' }, groupBy: ['minute', 'proto'] as ('minute' | 'proto')[], limit: 10_000 };
    expect((await small.queries.queryFlows(ctx, byMinute)).rows).toEqual((await early.rowsOnly.queryFlows(ctx, byMinute)).rows);
    expect(small.cache.stats()).toMatchObject({ downloads: 2, downloadedBytes: rollupBytes });
    process.stdout.write(`traffic by minute over the day on a cold replica: fetched ${rollupBytes} B of rollups; the files hold ${p10.bytes + p11.bytes - rollupBytes} B\n`);
    await small.cache.stop();
    // Reading rows: a replica whose bound holds one hour's files, not two.
    const sized = replica(bucketR, clock, retention, { maxBytes: Math.max(p10.bytes, p11.bytes) + 1, fetchConcurrency: 2, waitMs: 1000 });
    await sized.cache.start();
    await sized.cache.ready();
    expect(await sized.count(undefined, '2026-05-01T11:00:00Z', '2026-05-01T12:00:00Z', true)).toBe(5000);
    expect(sized.cache.stats()).toMatchObject({ downloads: p11.objects, downloadedBytes: p11.bytes, evictions: 0 });
    await expect(sized.count(undefined, undefined, undefined, true)).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(sized.audited.filter((e) => e.action === 'flows:query' && e.outcome === 'failure')).toHaveLength(1);
    expect(sized.cache.stats().downloads).toBe(p11.objects);
    expect(await sized.count(undefined, '2026-05-01T10:00:00Z', '2026-05-01T11:00:00Z', true)).toBe(5700);
    const st = sized.cache.stats();
    expect(st.downloads).toBe(p11.objects + p10.objects);
    expect(st.evictions).toBeGreaterThan(0); // just enough of hour 11 went to make room
    expect(st.cachedBytes).toBeGreaterThanOrEqual(p10.bytes);
    expect(st.cachedBytes).toBeLessThanOrEqual(st.maxBytes);
    await sized.cache.stop();

    // Retention: on the leader only; every partition past it deleted from the bucket, audited with its flows; the others follow.
    clock.set(Date.parse('2026-05-31T11:30:00Z')); // 30 days after the end of hour 10 has passed, not that of hours 11 and 12
    const kept = await early.count();
    const r = await early.cluster.enforceRetention(ctx);
    expect(r.deleted).toEqual([{ basis: 'b1', hour: '2026-05-01T10' }]);
    const deletions = early.audited.filter((e) => e.action === 'retention:delete');
    expect(deletions.map((e) => [e.object.id, e.details['flows'], e.details['partitions']])).toEqual([['basis=b1/hour=2026-05-01T10', 5700, 1]]);
    await until('retention reached the other replica', async () => (await late.count()) === kept - 5700);
    expect(late.audited.filter((e) => e.action === 'retention:delete')).toEqual([]);
    expect((await bucketA.list()).filter((o) => o.name.startsWith('flows/basis=b1/hour=2026-05-01T10/'))).toEqual([]); // its port rollup with it
    // A purge deletes the basis's port rollups with its files.
    expect((await bucketA.list()).some((o) => o.name.startsWith('flows/basis=b1/') && o.name.endsWith('.ports'))).toBe(true);
    await early.cluster.purgeBasis(ctx, 'b1', 'basis ended');
    expect((await bucketA.list()).filter((o) => o.name.startsWith('flows/basis=b1/'))).toEqual([]);
    await Promise.all([early.cache.stop(), late.cache.stop()]);
    await bucketA.close();
    await bucketR.close();
    await t.close();
  }, 120_000);

  it('compaction stores nothing of a purged basis: a tombstone before the round skips it, one during the round deletes what it stored', async () => {
    const bucket = await openArchiveBucket({ servers: nats.urls, bucket: 'archive-c', replicas: 1, name: 'test-compaction-purge' });
    const clock = new ManualClock('2026-05-01T13:00:00Z');
    // Two small files of each basis in the closed hour 10, written as the archive writes them, stored as the archiver does.
    const stage = fresh();
    for (let k = 0; k < 2; k++) {
      const w = createArchiveWriter({ fileRows: 1_000_000, maxAgeSeconds: 3600, bufferRows: 4_000_000, walSyncMs: 1000 }, { dir: stage, engine, serial: chain() });
      await w.start();
      expect(w.append(syntheticSelected(1000, { bases: ['p1', 'p2'], startMs: Date.parse('2026-05-01T10:00:00Z') + k * 600_000 })).accepted).toBe(true);
      await w.stop();
    }
    for (const b of ['p1', 'p2']) {
      const d = join(stage, `basis=${b}`, 'hour=2026-05-01T10');
      for (const f of readdirSync(d).filter((n) => n.endsWith('.parquet'))) {
        await bucket.putFile(`flows/basis=${b}/hour=2026-05-01T10/${f}`, join(d, f), { rows: '500' });
      }
    }
    const of = async (b: string): Promise<string[]> => (await bucket.list()).map((o) => o.name).filter((n) => n.startsWith(`flows/basis=${b}/`));
    expect(await of('p1')).toHaveLength(2);
    // p1's tombstone came before the round: p1 is neither merged nor rolled up, and what the purge had not yet deleted goes.
    await bucket.putBytes('purged/p1', new Uint8Array());
    // p2's tombstone comes while the round works on p2 (right after it stored p2's merged file), after the purge's listing.
    const racing: ArchiveBucket = {
      ...bucket,
      putFile: async (name, path, meta) => {
        const info = await bucket.putFile(name, path, meta);
        if (name.startsWith('flows/basis=p2/') && name.endsWith('.parquet')) await bucket.putBytes('purged/p2', new Uint8Array());
        return info;
      },
    };
    const done = await compactBucket({ bucket: racing, dir: fresh(), engine, clock }, { minRows: 100_000 });
    expect(done.partitions).toBe(1); // p2's merge happened, then its objects went
    expect(await of('p1')).toEqual([]);
    expect(await of('p2')).toEqual([]);
    await bucket.close();
  });

  it('stores a file in chunks of OBJECT_CHUNK_BYTES and reads back its exact bytes, under the digest of its content', async () => {
    const bucket = await openArchiveBucket({ servers: nats.urls, bucket: 'archive-c', replicas: 1, name: 'test-chunks' });
    const dir = fresh();
    const file = join(dir, 'big.parquet');
    const bytes = randomBytes(2 * OBJECT_CHUNK_BYTES + 12_345);
    writeFileSync(file, bytes);
    const info = await bucket.putFile('flows/basis=b1/hour=2026-05-01T10/big.parquet', file, { rows: '1' });
    expect(info.size).toBe(bytes.length);
    expect(info.options?.max_chunk_size).toBe(OBJECT_CHUNK_BYTES);
    expect(info.chunks).toBe(3);
    expect(info.digest).toBe(`SHA-256=${createHash('sha256').update(bytes).digest('base64url')}=`);
    const back = join(dir, 'back.parquet');
    expect(await bucket.getFile(info.name, back)).toBe(true);
    expect(readFileSync(back).equals(bytes)).toBe(true);
    await bucket.close();
  });

  it('compaction goes on past an object it cannot read: the others are merged and rolled up, the failures counted and logged without paths, and retried', async () => {
    const clock = new ManualClock('2026-05-01T13:00:00Z');
    const warned: Record<string, unknown>[] = [];
    const logger = { info: () => undefined, error: () => undefined, warn: (o: object) => { warned.push(o as Record<string, unknown>); } };
    const audit = { record: async () => undefined } as unknown as AuditRecorder;
    const work = fresh();
    const hub = createArchiveHub({ bucket: { servers: nats.urls, bucket: 'archive-e', replicas: 1, name: 'test-compaction-bad' }, dir: work, audit, policy: allow, clock,
      retentionOf: async () => new Map(), engine, logger });
    const { bucket } = hub;
    // Three small files of q1's hour 10 and one of its hour 11, as the archiver stores them.
    const stage = fresh();
    for (const startMs of [10, 10.2, 10.4, 11].map((h) => Date.parse('2026-05-01T00:00:00Z') + h * 3_600_000)) {
      const w = createArchiveWriter({ fileRows: 1_000_000, maxAgeSeconds: 3600, bufferRows: 4_000_000, walSyncMs: 1000 }, { dir: stage, engine, serial: chain() });
      await w.start();
      expect(w.append(syntheticSelected(1000, { bases: ['q1'], startMs })).accepted).toBe(true);
      await w.stop();
    }
    const good: string[] = [];
    for (const h of ['10', '11']) {
      const d = join(stage, 'basis=q1', `hour=2026-05-01T${h}`);
      for (const f of readdirSync(d).filter((n) => n.endsWith('.parquet'))) {
        good.push(join(d, f));
        await bucket.putFile(`flows/basis=q1/hour=2026-05-01T${h}/${f}`, join(d, f), { rows: '1000' });
      }
    }
    expect(good).toHaveLength(4);
    // An object DuckDB cannot read (cut short, a disk error), first of hour 10.
    const badFile = join(stage, 'bad.parquet');
    writeFileSync(badFile, 'not a Parquet file');
    const bad = 'flows/basis=q1/hour=2026-05-01T10/a-bad.parquet';
    await bucket.putFile(bad, badFile, { rows: '1000' });
    const objects = async (): Promise<string[]> => (await bucket.list()).map((o) => o.name).filter((n) => n.startsWith('flows/basis=q1/')).sort();

    // The good files of hour 10 are merged, every good file gets its minute rollup and each hour its port rollup.
    expect(await hub.compact({ minRows: 100_000 })).toEqual({ partitions: 1, filesMerged: 3, rows: 3000, rollups: 2, portRollups: 2 });
    const kinds = (await objects()).map((n) => n.replace(/\/c[0-9a-z]+-[0-9a-f]+\./, '/c.').replace(/\/w[^/]+\.(parquet|rollup)$/, '/f.$1').replace(/\/[^/]+\.ports$/, '/p.ports'));
    expect(kinds.sort()).toEqual([
      bad, 'flows/basis=q1/hour=2026-05-01T10/c.parquet', 'flows/basis=q1/hour=2026-05-01T10/c.rollup', 'flows/basis=q1/hour=2026-05-01T10/p.ports',
      'flows/basis=q1/hour=2026-05-01T11/f.parquet', 'flows/basis=q1/hour=2026-05-01T11/f.rollup', 'flows/basis=q1/hour=2026-05-01T11/p.ports',
    ].sort());
    expect(hub.rollupStats()).toEqual({ mergeFailures: 1, minuteFailures: 1, portFailures: 1 });
    expect(warned.map((w) => w['step'])).toEqual(['merge', 'minute', 'port']);
    for (const w of warned) expect(w).toMatchObject({ basisId: 'q1', hour: '2026-05-01T10', objects: 1, object: 'a-bad.parquet', err: { type: 'Error' } });
    expect(JSON.stringify(warned)).not.toContain(work); // DuckDB's message quotes the local copy's path

    // The next round tries the object again (and fails again); once it can be read, it is merged and rolled up.
    expect(await hub.compact({ minRows: 100_000 })).toEqual({ partitions: 0, filesMerged: 0, rows: 0, rollups: 0, portRollups: 0 });
    expect(hub.rollupStats()).toEqual({ mergeFailures: 2, minuteFailures: 2, portFailures: 2 });
    await bucket.putFile(bad, good[0]!, { rows: '1000' });
    expect(await hub.compact({ minRows: 100_000 })).toEqual({ partitions: 1, filesMerged: 2, rows: 4000, rollups: 1, portRollups: 1 });
    expect((await objects()).filter((n) => n.includes('hour=2026-05-01T10/'))).toHaveLength(3); // merged file, its rollup, its port rollup
    expect(hub.rollupStats()).toEqual({ mergeFailures: 2, minuteFailures: 2, portFailures: 2 });
    await hub.close();
  }, 120_000);

  it('at start, rolls back a round cut short (its files deleted: its messages were never acknowledged) and keeps what committed rounds hold', async () => {
    const bucket = await openArchiveBucket({ servers: nats.urls, bucket: 'archive-b', replicas: 1, name: 'test-rounds' });
    const enc = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o));
    const file = join(fresh(), 'x.parquet');
    writeFileSync(file, 'not read');
    const cut = 'flows/basis=b1/hour=2026-05-01T10/cut.parquet';
    const done = 'flows/basis=b1/hour=2026-05-01T10/done.parquet';
    await bucket.putFile(cut, file, { rows: '10' });
    await bucket.putFile(done, file, { rows: '20' });
    await bucket.putBytes('rounds/r-cut', enc({ id: 'r-cut', state: 'pending', files: [cut, 'flows/basis=b1/hour=2026-05-01T10/never.parquet'], seqs: { 'archive-d-0': [7, 8] }, ids: ['e1.x.7'] }));
    await bucket.putBytes('rounds/r-done', enc({ id: 'r-done', state: 'committed', files: [done], seqs: { 'archive-d-0': [3, 4], 'archive-d-1': [5] }, ids: ['e1.x.3'] }));
    const stage = fresh();
    mkdirSync(join(stage, '_wal'), { recursive: true });
    writeFileSync(join(stage, '_wal', 'left'), 'a segment a killed archiver left');
    const rounds = createRoundStore({ bucket, dir: stage, engine });
    const found = await rounds.recover();
    expect(found).toMatchObject({ committed: 1, rolledBack: 1, deletedFiles: 1, ids: ['e1.x.3'] });
    expect(Object.fromEntries(found.seqs)).toEqual({ 'archive-d-0': [3, 4], 'archive-d-1': [5] });
    expect((await bucket.list()).map((o) => o.name).sort()).toEqual([done, 'rounds/r-done']);
    rounds.clearStaging();
    expect(readdirSync(stage)).toEqual([]);
    // Pruned once every sequence is at or below its consumer's floor.
    expect(await rounds.prune(async (d) => (d === 'archive-d-0' ? 4 : 4))).toBe(0);
    expect(await rounds.prune(async () => 5)).toBe(1);
    expect((await bucket.list()).map((o) => o.name)).toEqual([done]);
    await bucket.close();
  });
});
