/**
 * @module The replicated archive as separate OS processes: a NATS server of its own, a fresh PostgreSQL database, two
 * `mamori archiver` (a leader and a standby) and an API replica (`mamori serve`) that never saw a flow. The leader is
 * killed with -9 mid-stream; the standby takes over. Checked: every published flow is in the bucket exactly once (nothing
 * acknowledged lost, nothing archived twice), and the replica, its cache bound below the archive's size, answers
 * `POST /api/v1/flows/query` over each basis exactly, fetching only what each query reads, audited.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '#platform/config/index.js';
import { systemContext } from '#platform/context/index.js';
import { openDuckDb } from '#platform/duckdb/index.js';
import { createJetStreamTransport } from '#platform/transport/index.js';
import { freePort, startNatsCluster, type NatsTestCluster } from '#platform/transport/test-support/nats-cluster.js';
import { FLOW_FIELDS } from '#modules/selection/index.js';
import { syntheticSelected } from '#modules/selection/test-support/selected.js';
import { openArchiveBucket } from '#cluster/archive-store/index.js';
import { encodeWireBatch, partitionSubject, splitByPartition } from '#cluster/wire/index.js';
import { flowStreamSpec } from '#cluster/streams.js';
import { createCore } from '#server/core.js';
import { createFreshPgDatabase } from '#server/test-support/pg.js';
import { createHarness, metric, type MamoriProcess } from './support/harness.js';

const PARTITIONS = 4;
const h = createHarness('mamori-archive-cluster-');
let nats: NatsTestCluster;
let db: { url: string; drop(): Promise<void> };
let keys: string;

function sharedEnv(): Record<string, string> {
  return {
    MAMORI_DATABASE_URL: db.url, MAMORI_CLUSTER_SERVERS: nats.urls.join(','), MAMORI_CLUSTER_REPLICAS: '1', MAMORI_CLUSTER_PARTITIONS: String(PARTITIONS),
    MAMORI_CLUSTER_ARCHIVE_STORE_EVERY_SECONDS: '1', MAMORI_SECRETS_PSEUDONYM_KEY: 'archive-cluster-test-pseudonym-key-0123456789',
    MAMORI_AUDIT_KEY_FILE: join(keys, 'audit-log.key'), MAMORI_REPORTING_RECEIPT_KEY_FILE: join(keys, 'receipts.key'), MAMORI_SHARING_FINGERPRINT_KEY_FILE: join(keys, 'fingerprint.key'),
    MAMORI_LOG_LEVEL: 'warn', MAMORI_COLLECTOR_ENABLED: 'false',
  };
}
const start = (args: string[], extra: Record<string, string> = {}): MamoriProcess => h.start(args, { ...sharedEnv(), ...extra });

beforeAll(async () => {
  nats = await startNatsCluster(1);
  h.defer(() => nats.stop());
  db = await createFreshPgDatabase();
  h.defer(() => db.drop().catch(() => undefined));
  keys = h.tempDir();
}, 120_000);

afterAll(() => h.teardown(), 60_000);

describe('cluster: the replicated archive', () => {
  it('loses nothing acknowledged and archives nothing twice through a kill -9 of the archiver; a replica that never saw the flows, its cache smaller than the archive, answers each basis fetching only what it reads', async () => {
    const centre = await createCore(loadConfig({ env: { ...sharedEnv(), MAMORI_DATA_DIR: h.tempDir() } }).config);
    const sys = systemContext('test');
    const analyst = await centre.identity.createUser(sys, { username: 'bunseki', displayName: 'Analyst', password: 'correct horse battery staple', roles: ['analyst'], orgId: null });
    const { token } = await centre.identity.createToken(sys, { name: 'test', expiresInDays: 1 }, analyst.id);
    // Two bases the flows are kept under (a partition of an unknown basis is deleted by the leader's retention sweep).
    const now = Date.now();
    const basis = { kind: 'cross_border_approval' as const, title: 'archive cluster test', selectors: { foreignPrefixes: ['198.51.100.0/24'] }, validFrom: new Date(now - 86_400_000).toISOString(), validUntil: new Date(now + 30 * 86_400_000).toISOString(), allowedFields: [...FLOW_FIELDS], retentionDays: 30, createdBy: 'request-archive-test' };
    const bases = [(await centre.selection.createBasis(sys, basis)).id, (await centre.selection.createBasis(sys, basis)).id];
    const t0 = now - 3 * 3_600_000;

    const t = await createJetStreamTransport({ servers: nats.urls, name: 'test-publisher' });
    const config = loadConfig({ env: sharedEnv() }).config;
    await t.ensureStream(flowStreamSpec(config.cluster));
    const [ma, mb] = [await freePort(), await freePort()];
    const a = start(['archiver', '--metrics', `127.0.0.1:${ma}`]);
    await h.until('archiver a leads', () => a.log().includes('archiver: leader'), 60_000);
    const b = start(['archiver', '--metrics', `127.0.0.1:${mb}`]);

    // 60 batches of 1,000 flows, each batch's flows at distinct times (so a flow archived twice would show).
    let sent = 0;
    // The stream sequence of each partition's last message (0: none yet): its archive consumer's floor must reach it.
    const lastSeq = Array.from({ length: PARTITIONS }, () => 0);
    const publish = async (from: number, to: number): Promise<void> => {
      for (let k = from; k < to; k++) {
        const batch = syntheticSelected(1000, { bases, startMs: t0 + k * 60_000 });
        // Destinations spread over every partition (the synthetic ones' bytes step together and all hash to one): each
        // partition's archive consumer takes a share.
        for (let i = 0; i < batch.length; i++) batch.dstAddr[i * 16] = i % 251;
        for (const [p, part] of splitByPartition(batch, 'd', PARTITIONS).entries()) {
          if (part === undefined) continue;
          const ack = await t.publish(partitionSubject(config.cluster.subjectPrefix, 'd', p), encodeWireBatch({ edge: 'e1', seq: k, family: 'd', partition: p, selectedAtMs: Date.now() }, part), { msgId: `e1.test.${k}.${p}` });
          lastSeq[p] = Math.max(lastSeq[p]!, ack.seq);
          sent += part.length;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await publish(0, 30);
    await h.until('a stored a round', async () => ((await metric(`http://127.0.0.1:${ma}`, 'mamori_archiver_stored_flows_total')) ?? 0) > 0, 30_000);
    await publish(30, 40);
    // Killed with flows taken and not yet stored (and so not acknowledged): they must come again to the standby.
    const waiting = await metric(`http://127.0.0.1:${ma}`, 'mamori_archiver_waiting_messages');
    await a.kill('SIGKILL');
    await publish(40, 60);
    await h.until('b leads', () => b.log().includes('archiver: leader'), 60_000);
    await h.until('every flow stored', async () => {
      const bucket = await openArchiveBucket({ servers: nats.urls, bucket: 'mamori-archive', replicas: 1, name: 'test-count' });
      try {
        return (await bucket.list()).filter((o) => o.name.startsWith('flows/')).reduce((s, o) => s + Number(o.metadata?.['rows']), 0) >= sent;
      } finally {
        await bucket.close();
      }
    }, 120_000);
    process.stdout.write(`archiver a killed with ${waiting} messages waiting for their round\n`);

    // Exactly once: the bucket's files hold every flow, none twice.
    const bucket = await openArchiveBucket({ servers: nats.urls, bucket: 'mamori-archive', replicas: 1, name: 'test-scan' });
    const objects = (await bucket.list()).filter((o) => o.name.startsWith('flows/'));
    const files: string[] = [];
    const dir = h.tempDir();
    for (const [i, o] of objects.entries()) { const f = join(dir, `${i}.parquet`); await bucket.getFile(o.name, f); files.push(f); }
    const duck = await openDuckDb();
    const [c] = await duck.all(`select count(*)::integer as n, count(distinct (start, dst_port))::integer as d from read_parquet([${files.map((f) => `'${f}'`).join(',')}])`);
    duck.close();
    expect(sent).toBe(60_000);
    expect(Number(c!['n'])).toBe(sent);
    expect(Number(c!['d'])).toBe(sent);
    // Every message is acknowledged (stored first), and no round record is left pending: each partition's consumer has acknowledged in order at least up to that partition's own last message (0 for a
    // partition without one). Comparing the highest floor with the stream's end checked only the partition holding the
    // last message; a floor may also pass its partition's last message (nats-server 2.9 moves a caught-up filtered
    // consumer's floor on to the stream's end).
    const streamEnd = await t.streamMessages(config.cluster.stream);
    expect(Math.max(...lastSeq)).toBe(streamEnd);
    expect(lastSeq.every((q) => q > 0), `partitions' last sequences ${lastSeq.join(' ')}`).toBe(true);
    let floors: number[] = [];
    await h.until('every message acknowledged', async () => {
      floors = await Promise.all(lastSeq.map((_, p) => t.ackFloor(config.cluster.stream, `archive-d-${p}`)));
      return floors.every((f, p) => f >= lastSeq[p]! && f <= streamEnd);
    }, 30_000).catch((e: Error) => { throw new Error(`${e.message.slice(0, 200)}; floors ${floors.join(' ')}, partitions' last ${lastSeq.join(' ')}, stream end ${streamEnd}`); });
    process.stdout.write(`archive consumers' floors ${floors.join(' ')}; partitions' last sequences ${lastSeq.join(' ')}\n`);
    for (const o of (await bucket.list()).filter((x) => x.name.startsWith('rounds/'))) expect(JSON.parse(new TextDecoder().decode((await bucket.getBytes(o.name))!)).state).toBe('committed');
    await bucket.close();

    // An API replica that never saw a flow, with a cache smaller than the archive (decision 0015): it answers a query
    // over one basis exactly, fetching only that basis's files; then the other basis (evicting); a query over both is
    // refused with what to narrow; every query audited.
    const listed = (await (async () => {
      const b = await openArchiveBucket({ servers: nats.urls, bucket: 'mamori-archive', replicas: 1, name: 'test-sizes' });
      try { return (await b.list()).filter((o) => o.name.startsWith('flows/')); } finally { await b.close(); }
    })());
    const ofBasis = (id: string) => listed.filter((o) => o.name.startsWith(`flows/basis=${id}/`));
    const bytesOf = (os: typeof listed): number => os.reduce((s, o) => s + o.size, 0);
    const bound = Math.max(bytesOf(ofBasis(bases[0]!)), bytesOf(ofBasis(bases[1]!)), 65_536) + 1;
    expect(bytesOf(listed)).toBeGreaterThan(bound);
    const port = await freePort();
    start(['serve', '--host', '127.0.0.1', '--port', String(port)], { MAMORI_CLUSTER_API_ID: 'r1', MAMORI_CLUSTER_ARCHIVE_CACHE_MAX_BYTES: String(bound), MAMORI_CLUSTER_ARCHIVE_CACHE_WAIT_SECONDS: '5' });
    const url = `http://127.0.0.1:${port}`;
    const query = (basisIds?: string[]) => fetch(`${url}/api/v1/flows/query`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, signal: AbortSignal.timeout(30_000),
      body: JSON.stringify({ purpose: 'archive cluster test: every flow', filters: { from: new Date(t0 - 3_600_000).toISOString(), to: new Date(now).toISOString(), ...(basisIds !== undefined ? { basisIds } : {}) }, groupBy: ['basis'] }),
    });
    const flowsOf = async (r: Response): Promise<number> => ((await r.json()) as { rows: { flows: number }[] }).rows.reduce((s, x) => s + Number(x.flows), 0);
    const each = [0, 1].map((i) => ofBasis(bases[i]!).reduce((s, o) => s + Number(o.metadata?.['rows']), 0));
    expect(each[0]! + each[1]!).toBe(sent);
    let total = -1;
    await h.until('the replica answers over one basis', async () => {
      const r = await query([bases[0]!]).catch(() => undefined);
      if (r === undefined || !r.ok) return false;
      total = await flowsOf(r);
      return total === each[0];
    }, 90_000).catch((e: Error) => { expect(total, e.message.slice(-3000)).toBe(each[0]); throw e; });
    expect(await metric(url, 'mamori_archive_cache_misses_total')).toBe(ofBasis(bases[0]!).length);
    expect(await metric(url, 'mamori_archive_cache_downloaded_bytes_total')).toBe(bytesOf(ofBasis(bases[0]!)));
    const other = await query([bases[1]!]);
    expect(other.status).toBe(200);
    expect(await flowsOf(other)).toBe(each[1]);
    expect(await metric(url, 'mamori_archive_cache_misses_total')).toBe(listed.length); // each file fetched once
    expect(await metric(url, 'mamori_archive_cache_evictions_total')).toBeGreaterThan(0);
    expect(await metric(url, 'mamori_archive_cache_bytes')).toBeLessThanOrEqual(bound);
    const both = await query();
    expect(both.status).toBe(413);
    expect(JSON.stringify(await both.json())).toContain('cluster.archive.cacheMaxBytes');
    // `mamori flows query` on a host of the cluster: the same answer, fetched into a cache of its own (then deleted).
    const cliData = h.tempDir();
    const cli = start(['flows', 'query', '--purpose', 'archive cluster test: the CLI', '--basis', bases[1]!, '--from', new Date(t0 - 3_600_000).toISOString(),
      '--to', new Date(now).toISOString(), '--group-by', 'basis', '--json'], { MAMORI_DATA_DIR: cliData });
    let out = '';
    cli.proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    const code = await cli.exited();
    expect(code, cli.log().slice(-3000)).toBe(0);
    const printed = JSON.parse(out.slice(out.indexOf('{\n'))) as { rows: { flows: number | string }[] };
    expect(printed.rows.reduce((s2, x) => s2 + Number(x.flows), 0)).toBe(each[1]);
    expect(readdirSync(cliData).filter((n) => n.startsWith('cli-archive-cache-'))).toEqual([]);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const audited = await client.query(`select count(*)::integer as n from audit_entries where action = 'flows:query' and outcome = 'success' and actor_user = $1`, [analyst.id]);
      expect(Number(audited.rows[0]!['n'])).toBeGreaterThan(0);
    } finally {
      await client.end();
    }
    await t.close();
    await centre.close();
  }, 300_000);
});
