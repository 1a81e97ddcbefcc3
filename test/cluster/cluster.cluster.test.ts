/**
 * @module The cluster end to end, as separate OS processes on loopback: a three-node NATS cluster of its own, a fresh
 * PostgreSQL database, two edges (`mamori collect --publish`) and two analysis workers (`mamori analyze`). Flows go over
 * UDP into both edges; a worker and a NATS node are killed with -9 mid-stream, then all of NATS is gone for 10 s. Checked: the findings equal a single
 * process's on the same flows, nothing acknowledged is lost, and no byte that left an edge holds a raw domestic address.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeIpfix, writeAddress, type FlowRecord } from '#modules/collection/index.js';
import { FLOW_FIELDS } from '#modules/selection/index.js';
import { loadConfig } from '#platform/config/index.js';
import { systemContext } from '#platform/context/index.js';
import { createJetStreamTransport } from '#platform/transport/index.js';
import { freePort, startNatsCluster, type NatsTestCluster } from '#platform/transport/test-support/nats-cluster.js';
import { createCore } from '#server/core.js';
import { edgeStateJobs } from '#server/edge-state-wiring.js';
import { createPipeline } from '#server/pipeline.js';
import { createFreshPgDatabase } from '#server/test-support/pg.js';
import { listPartitions } from '#modules/selection/index.js';
import { openArchiveBucket } from '#cluster/archive-store/index.js';
import { openDuckDb } from '#platform/duckdb/index.js';
import { attackRecords, batchesOf } from '#cluster/test-support/fixtures.js';
import { parsePrometheusText } from '#cli/commands/collection.js';

const ENTRY = "import('./src/cli/main.ts').then((m) => m.main(['node', 'mamori', ...process.argv.slice(1)]))";
const KEY = 'cluster-test-pseudonym-key-0123456789abcdef';
const PARTITIONS = '4';
const DOMESTIC = ['133.1.17.21', '133.1.17.35', '133.1.17.48', '133.1.18.12', '133.1.18.77', '133.1.19.140', '133.3.16.80', ...Array.from({ length: 254 }, (_, i) => `133.2.17.${i + 1}`)];

let nats: NatsTestCluster;
let db: { url: string; drop(): Promise<void> };
const procs: ChildProcess[] = [];
const dirs: string[] = [];
const logs = new Map<ChildProcess, string>();

let wrapFile: string;

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const dir = mkdtempSync(join(tmpdir(), 'mamori-cluster-'));
  dirs.push(dir);
  return {
    ...process.env, MAMORI_DATA_DIR: dir, MAMORI_LOG_LEVEL: 'warn', MAMORI_DATABASE_URL: db.url, MAMORI_SECRETS_PSEUDONYM_KEY: KEY,
    MAMORI_CLUSTER_SERVERS: nats.urls.join(','), MAMORI_CLUSTER_PARTITIONS: PARTITIONS, MAMORI_CLUSTER_REPLICAS: '3', MAMORI_COLLECTOR_ENABLED: 'false', ...extra,
  };
}

function start(args: string[], e: NodeJS.ProcessEnv): ChildProcess {
  const p = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', '-e', ENTRY, ...args], { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
  logs.set(p, '');
  const keep = (d: Buffer): void => { logs.set(p, (logs.get(p)! + d.toString()).slice(-20_000)); };
  p.stdout!.on('data', keep);
  p.stderr!.on('data', keep);
  procs.push(p);
  return p;
}

async function metrics(url: string): Promise<ReturnType<typeof parsePrometheusText>> {
  try {
    const r = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) });
    return parsePrometheusText(await r.text());
  } catch {
    return [];
  }
}
const value = (s: ReturnType<typeof parsePrometheusText>, name: string, labels: Record<string, string> = {}): number =>
  s.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)).reduce((a, x) => a + x.value, 0);

async function until(what: string, cond: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not reached within ${ms} ms\n${[...logs.values()].map((l) => l.slice(-2000)).join('\n---\n')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function sendUdp(port: number, records: readonly FlowRecord[], domainId: number, sequence: number): Promise<number> {
  const sock = createSocket('udp4');
  const out = encodeIpfix(records, { exportTimeMs: Date.now(), sequence, domainId });
  for (const [i, d] of out.datagrams.entries()) {
    await new Promise<void>((r, j) => sock.send(d, port, '127.0.0.1', (e) => (e ? j(e) : r())));
    if (i % 20 === 19) await new Promise((r) => setTimeout(r, 2)); // paced: loopback UDP drops bursts
  }
  sock.close();
  return sequence + records.length;
}

const findingKey = (r: { kind: string; subject_kind: string; subject_value: string; level: string }): string => `${r.kind} ${r.subject_kind}:${r.subject_value} ${r.level}`;

beforeAll(async () => {
  nats = await startNatsCluster(3);
  db = await createFreshPgDatabase();
  // The edge key-wrapping key: the centre wraps the pseudonym keys it publishes under it, the edges open them.
  const keysDir = mkdtempSync(join(tmpdir(), 'mamori-cluster-keys-'));
  dirs.push(keysDir);
  wrapFile = join(keysDir, 'edge-key-wrap');
  writeFileSync(wrapFile, randomBytes(32), { mode: 0o600 });
}, 120_000);

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await nats?.stop();
  await db?.drop().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}, 60_000);

describe('cluster: edges, JetStream, workers, PostgreSQL', () => {
  it('finds what one process finds through a worker and a NATS node killed with -9 and the broker gone 10 s; archived rows equal kept flows; a revoked basis stops at the edge within seconds; no raw domestic address leaves an edge', async () => {
    const now = Date.now();
    const records = attackRecords(now - 60_000);
    const basis = { kind: 'cross_border_approval' as const, title: 'cluster test', selectors: { foreignPrefixes: ['8.0.0.0/8', '36.0.0.0/8', '5.0.0.0/8'] }, validFrom: new Date(now - 86_400_000).toISOString(), validUntil: new Date(now + 30 * 86_400_000).toISOString(), allowedFields: [...FLOW_FIELDS], retentionDays: 30, createdBy: 'request-cluster-test' };

    // The single process: the same flows through the embedded pipeline on SQLite.
    const single = await createCore(loadConfig({ env: { MAMORI_DATABASE_URL: ':memory:', MAMORI_SECRETS_PSEUDONYM_KEY: KEY, MAMORI_DATA_DIR: mkdtempSync(join(tmpdir(), 'mamori-single-')) } }).config);
    await single.selection.createBasis(systemContext('test'), basis);
    const pipeline = createPipeline(single);
    for (const b of batchesOf(records)) await pipeline.sink.write(b);
    await pipeline.flush(true);
    const want = ((await single.db.kysely.selectFrom('findings').selectAll().execute()) as { kind: string; subject_kind: string; subject_value: string; level: string }[]).map(findingKey).sort();
    await single.close();
    expect(want.some((k) => k.startsWith('beacon '))).toBe(true);
    expect(want.some((k) => k.startsWith('scan-horizontal '))).toBe(true);
    expect(want.some((k) => k.startsWith('ddos-'))).toBe(true);

    // The centre's database: migrated, with the basis.
    const centre = await createCore(loadConfig({ env: {
      MAMORI_DATABASE_URL: db.url, MAMORI_SECRETS_PSEUDONYM_KEY: KEY, MAMORI_DATA_DIR: mkdtempSync(join(tmpdir(), 'mamori-centre-')),
      MAMORI_CLUSTER_SERVERS: nats.urls.join(','), MAMORI_CLUSTER_REPLICAS: '3', MAMORI_CLUSTER_KEY_WRAP_FILE: wrapFile,
    } }).config);
    const basisId = (await centre.selection.createBasis(systemContext('test'), basis)).id;
    // The centre's leader jobs for the edges: the selection state in the KV bucket, the edges' counters into the audit.
    const centreJobs = edgeStateJobs(centre);
    expect(centreJobs.map((j) => j.name)).toEqual(['selection-state-publisher', 'edge-counters-recorder']);
    for (const j of centreJobs) await j.start();

    const workerEnv = { MAMORI_CLUSTER_WORKER_FLUSH_EVERY_SECONDS: '1', MAMORI_CLUSTER_WORKER_REBALANCE_EVERY_SECONDS: '1', MAMORI_CLUSTER_WORKER_ACK_WAIT_SECONDS: '5', MAMORI_CLUSTER_WORKER_FINAL_AFTER_IDLE_SECONDS: '4', MAMORI_CLUSTER_WORKER_REPLAY_TIMEOUT_SECONDS: '20' };
    const wm = [await freePort(), await freePort()];
    const w1 = start(['analyze', '--worker-id', 'w1', '--metrics', `127.0.0.1:${wm[0]}`], env(workerEnv));
    const w2 = start(['analyze', '--worker-id', 'w2', '--metrics', `127.0.0.1:${wm[1]}`], env(workerEnv));
    // The archiver: the leader writes the stream into its archive; a second one waits as a standby.
    const archiverEnv = env({});
    const archiver = start(['archiver'], archiverEnv);
    const standbyEnv = env({});
    const standby = start(['archiver'], standbyEnv);
    const udp = [await freePort(), await freePort()];
    const em = [await freePort(), await freePort()];
    // Edges hold no database link and no pseudonym secret: only the key-wrapping key (what the centre publishes, they follow).
    const edgeEnv = (): NodeJS.ProcessEnv => {
      const e = env({ MAMORI_CLUSTER_KEY_WRAP_FILE: wrapFile });
      delete e['MAMORI_DATABASE_URL'];
      delete e['MAMORI_SECRETS_PSEUDONYM_KEY'];
      return e;
    };
    for (const i of [0, 1]) start(['collect', '--publish', nats.urls.join(','), '--edge-id', `e${i + 1}`, '--listen', `127.0.0.1:${udp[i]}`, '--metrics', `127.0.0.1:${em[i]}`, '--interval', '60'], edgeEnv());
    const edgeUrl = (i: number): string => `http://127.0.0.1:${em[i]}`;
    const workerUrl = (i: number): string => `http://127.0.0.1:${wm[i]}`;
    await until('edges and workers up', async () => (await Promise.all([edgeUrl(0), edgeUrl(1), workerUrl(0), workerUrl(1)].map(metrics))).every((s) => s.length > 0), 90_000);
    await until('edges hold the centre\'s selection state', async () => (await Promise.all([0, 1].map(async (i) => value(await metrics(edgeUrl(i)), 'mamori_edge_state_current')))).every((v) => v === 1), 30_000);
    await until('partitions split between the workers', async () => {
      const owned = await Promise.all([0, 1].map(async (i) => value(await metrics(workerUrl(i)), 'mamori_worker_partitions')));
      return owned[0]! === 4 && owned[1]! === 4;
    }, 30_000);

    // A quarter of the flows into both edges (split by flow), then a worker dies, then a NATS node, then the broker is
    // gone for 10 s while the last quarter arrives.
    const q = (k: number): number => Math.floor((k * records.length) / 4);
    const thirds = [records.slice(0, q(1)), records.slice(q(1), q(2)), records.slice(q(2), q(3)), records.slice(q(3))];
    const seq = [0, 0];
    const sendPart = async (part: FlowRecord[]): Promise<void> => {
      for (const i of [0, 1]) seq[i] = await sendUdp(udp[i]!, part.filter((_, k) => k % 2 === i), 10 + i, seq[i]!);
    };
    const received = async (): Promise<number> => (await Promise.all([0, 1].map(async (i) => value(await metrics(edgeUrl(i)), 'mamori_edge_flows_total', { outcome: 'received' })))).reduce((a, b) => a + b, 0);
    await sendPart(thirds[0]!);
    await until('first third received', async () => (await received()) === thirds[0]!.length, 30_000);
    w2.kill('SIGKILL');
    await sendPart(thirds[1]!);
    await until('second third received', async () => (await received()) === thirds[0]!.length + thirds[1]!.length, 30_000);
    await nats.kill(1);
    await sendPart(thirds[2]!);
    await until('third quarter received', async () => (await received()) === q(3), 30_000);
    await Promise.all([nats.kill(0), nats.kill(2)]);
    const goneAt = Date.now();
    await sendPart(thirds[3]!);
    await until('all flows received by the edges', async () => (await received()) === records.length, 30_000);
    const waiting = async (): Promise<number> => (await Promise.all([0, 1].map(async (i) => value(await metrics(edgeUrl(i)), 'mamori_edge_waiting_flows')))).reduce((a, b) => a + b, 0);
    expect(await waiting()).toBeGreaterThan(0); // buffered at the edges, not lost
    await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - goneAt))));
    await Promise.all([0, 1, 2].map((i) => nats.restart(i)));

    const published = async (): Promise<{ kept: number; published: number; dropped: number }> => {
      const s = await Promise.all([0, 1].map((i) => metrics(edgeUrl(i))));
      const v = (o: string): number => s.reduce((a, x) => a + value(x, 'mamori_edge_flows_total', { outcome: o }), 0);
      return { kept: v('kept'), published: v('published'), dropped: v('dropped_outbox_full') };
    };
    await until('every kept flow acknowledged by the stream', async () => { const p = await published(); return p.kept > 0 && p.published === p.kept; }, 60_000);
    expect((await published()).dropped).toBe(0);
    await until('the surviving worker owns every partition', async () => value(await metrics(workerUrl(0)), 'mamori_worker_partitions') === 8, 60_000);

    // The findings: once the survivor went idle and closed its windows, they equal the single process's.
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      let got: string[] = [];
      await until('findings equal the single process\'s', async () => {
        got = (await client.query<{ kind: string; subject_kind: string; subject_value: string; level: string }>('select kind, subject_kind, subject_value, level from findings')).rows.map(findingKey).sort();
        return JSON.stringify(got) === JSON.stringify(want);
      }, 90_000).catch((e: Error) => { expect(got).toEqual(want); throw e; });
    } finally {
      await client.end();
    }

    // Archived rows equal kept flows: the leader wrote every one once; the standby wrote nothing.
    const keptTotal = (await published()).kept;
    await until('leader elected', async () => logs.get(archiver)!.includes('archiver: leader') !== logs.get(standby)!.includes('archiver: leader'), 30_000);
    const leader = logs.get(archiver)!.includes('archiver: leader') ? archiver : standby;
    const leaderDir = (leader === archiver ? archiverEnv : standbyEnv)['MAMORI_DATA_DIR']!;
    await new Promise((r) => setTimeout(r, 3000));
    const exited = new Promise((r) => leader.once('exit', r));
    leader.kill('SIGTERM');
    await exited;
    expect(logs.get(leader)).toContain(`archiver: ${keptTotal} flows handed to the archive`);
    expect(logs.get(leader)).toContain(`${keptTotal} stored in the bucket and acknowledged`);
    {
      // Archived rows are in the replicated bucket (decision 0010), each file's count from its Parquet footer; the leader's
      // directory only staged them.
      const bucket = await openArchiveBucket({ servers: nats.urls, bucket: 'mamori-archive', replicas: 3, name: 'test-scan' });
      const objects = (await bucket.list()).filter((o) => o.name.startsWith('flows/'));
      const dir = mkdtempSync(join(tmpdir(), 'mamori-bucket-'));
      dirs.push(dir);
      const files: string[] = [];
      for (const [i, o] of objects.entries()) { const f = join(dir, `${i}.parquet`); expect(await bucket.getFile(o.name, f)).toBe(true); files.push(f); }
      await bucket.close();
      const duck = await openDuckDb();
      const rows = await duck.all(`select count(*)::integer as n from read_parquet([${files.map((f) => `'${f}'`).join(',')}])`);
      duck.close();
      expect(Number(rows[0]!['n'])).toBe(keptTotal);
      expect(objects.reduce((a, o) => a + Number(o.metadata?.['rows']), 0)).toBe(keptTotal);
      expect(listPartitions(join(leaderDir, 'archive'))).toEqual([]);
    }

    // A revoked basis stops matching at the edges within seconds: flows keep arriving, kept stops growing.
    const kept = async (): Promise<number> => value(await metrics(edgeUrl(0)), 'mamori_edge_flows_total', { outcome: 'kept' });
    const probe = records.slice(0, 40).map((r) => ({ ...r, start: Date.now() - 1000, end: Date.now() }));
    const revokedAt = Date.now();
    await centre.selection.revokeBasis(systemContext('test'), basisId, { reason: 'cluster test: revocation reaches the edges' });
    // Every edge holds the revocation (its bases gauge), measured from the call; then flows stop being kept.
    const heldAfterMs = await Promise.all([0, 1].map(async (i) => {
      for (;;) {
        if (value(await metrics(edgeUrl(i)), 'mamori_edge_state_bases', { status: 'revoked' }) === 1) return Date.now() - revokedAt;
        if (Date.now() - revokedAt > 10_000) return Infinity;
        await new Promise((r) => setTimeout(r, 20));
      }
    }));
    process.stdout.write(`revocation held by the edges ${heldAfterMs.join(' ms, ')} ms after the revoke call (its purge included)\n`);
    expect(Math.max(...heldAfterMs)).toBeLessThan(5000);
    let stoppedAfterMs = -1;
    for (let round = 0; round < 40 && stoppedAfterMs < 0; round++) {
      const before = await kept();
      const sentAt = Date.now();
      seq[0] = await sendUdp(udp[0]!, probe, 10, seq[0]!);
      const r0 = await received();
      await until('probe received', async () => (await received()) >= r0, 5000);
      await new Promise((r) => setTimeout(r, 300));
      if ((await kept()) === before) stoppedAfterMs = sentAt - revokedAt;
    }
    for (const j of [...centreJobs].reverse()) await j.stop();
    await centre.close();
    expect(stoppedAfterMs).toBeGreaterThanOrEqual(0);
    expect(stoppedAfterMs).toBeLessThan(5000);
    process.stdout.write(`revocation reached the edge after at most ${stoppedAfterMs} ms\n`);

    // Every byte that left the edges: the stream's messages hold no raw domestic address.
    const t = await createJetStreamTransport({ servers: [nats.urls[0]!, nats.urls[2]!], name: 'scan' });
    const total = await t.streamMessages('MAMORI_FLOWS');
    const chunks: Uint8Array[] = [];
    const c = await t.consume('MAMORI_FLOWS', { filterSubject: 'mamori.flows.>', maxAckPending: 256 }, async (d) => { chunks.push(d.data); d.ack(); });
    await until('stream read', async () => chunks.length >= total, 30_000);
    await c.stop();
    await t.close();
    const all = Buffer.concat(chunks);
    for (const a of DOMESTIC) {
      const slot = new Uint8Array(16);
      writeAddress(slot, 0, a);
      expect(all.includes(Buffer.from(slot.subarray(12))), a).toBe(false);
      expect(all.includes(Buffer.from(a)), a).toBe(false);
    }
    expect(all.includes(Buffer.from([8, 66, 0, 66]))).toBe(true); // the C2 is there: the scan reads real bytes
    expect(w1.exitCode).toBeNull();
  }, 300_000);
});
