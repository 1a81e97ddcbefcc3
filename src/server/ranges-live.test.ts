import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { createUdpCollector, encodeNetflowV5, type FlowRecord } from '#modules/collection/index.js';
import { presentRow } from '#modules/selection/index.js';
import { createPipeline, type Pipeline } from './pipeline.js';
import { startServer, type RunningServer } from './run.js';
import { createTestCore, seedRoleUsers, type RoleUsers } from './test-support/harness.js';

// A block the bundled country data calls foreign (US): registered at run time as an operator's range.
const RANGE = '45.76.10.0/24';
const HOST_A = '45.76.10.21';
const HOST_B = '45.76.10.22';
const C2 = '45.33.32.156';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
}
const patterns = (a: string): Buffer[] => { const o = a.split('.').map(Number); return [Buffer.from(a), Buffer.from(o), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...o])]; };

describe('operator ranges take effect at once in the running server', () => {
  const start = Date.parse('2026-04-01T00:00:00.000Z');
  const clock = new ManualClock(start + 3_600_000);
  let dataDir: string;
  let server: RunningServer;
  let users: RoleUsers;
  let pipeline: Pipeline;
  let udpPort = 0;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'mamori-ranges-'));
    const core = await createTestCore({ url: `sqlite:${join(dataDir, 'mamori.db')}`, clock, config: { dataDir, server: { port: 0 }, log: { level: 'warn' } } });
    users = await seedRoleUsers(core);
    const collectorRef: { port: () => number } = { port: () => 0 };
    server = await startServer(core.config, {
      core,
      components: (c, metrics) => {
        pipeline = createPipeline(c, { metrics });
        const collector = createUdpCollector({ ...c.config.collector, listeners: [{ host: '127.0.0.1', port: 0 }] }, { sink: pipeline.sink, metrics, clock });
        collectorRef.port = () => collector.stats().listeners[0]!.port;
        return [pipeline.component, { name: 'collector', start: () => collector.start(), stop: () => collector.stop() }];
      },
    });
    udpPort = collectorRef.port();
    // Transit and cross-border approvals that would keep the block's flows if it were foreign.
    const sys = systemContext('test');
    const window = { validFrom: new Date(start - 86_400_000).toISOString(), validUntil: new Date(start + 30 * 86_400_000).toISOString(), retentionDays: 30, createdBy: 'request-test' };
    const fields = ['start', 'end', 'srcAddr', 'dstAddr', 'srcPort', 'dstPort', 'proto', 'bytes', 'packets'] as const;
    await core.selection.createBasis(sys, { kind: 'transit_approval', title: 'transit', selectors: { foreignPrefixes: ['45.76.0.0/16'] }, allowedFields: [...fields], ...window });
    await core.selection.createBasis(sys, { kind: 'cross_border_approval', title: 'C2', selectors: { foreignPrefixes: ['45.33.32.0/24'] }, allowedFields: [...fields], ...window });
  });
  afterAll(async () => { await server.stop(); });

  const api = (method: string, path: string, body?: unknown) => fetch(`${server.address}${path}`, {
    method, headers: { authorization: `Bearer ${users.tokens.admin}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? null : JSON.stringify(body),
  });

  async function send(records: FlowRecord[]): Promise<void> {
    const before = pipeline.stats().received;
    const sock = createSocket('udp4');
    for (const d of encodeNetflowV5(records, { exportTimeMs: start + 2 * 3_600_000, sequence: 0, sysUptimeMs: 3 * 3_600_000 }).datagrams) {
      await new Promise<void>((res, rej) => sock.send(d, udpPort, '127.0.0.1', (e) => (e ? rej(e) : res())));
    }
    sock.close();
    for (let i = 0; i < 200 && pipeline.stats().received < before + records.length; i++) await new Promise((r) => setTimeout(r, 25));
    expect(pipeline.stats().received).toBe(before + records.length);
  }

  const flow = (i: number, src: string, dst: string): FlowRecord => ({ start: start + i * 60_000, end: start + i * 60_000 + 300, srcAddr: src, dstAddr: dst, srcPort: 40000 + i, dstPort: 443, proto: 6, tcpFlags: 0x1b, bytes: 620, packets: 6, samplingRate: 1, inIf: 1, outIf: 2, exporter: '' });

  it('a range added through the API is domestic for the very next datagram: its hosts\' flows are dropped, its addresses never reach disk', async () => {
    expect(server.core.locator.current().describe(HOST_A).location).toBe('foreign');
    const seen: string[][] = [];
    const unsubscribe = server.core.locator.subscribe((c) => seen.push([...c.added]));
    const des = await api('POST', '/api/v1/registry/operators', { name: 'Run-time Range Co.', sector: 'electricity', designatedOn: '2026-01-10', contacts: [{ name: 'SOC', email: 'soc@range.example' }] });
    expect(des.status).toBe(201);
    const orgId = ((await des.json()) as { operator: { orgId: string } }).operator.orgId;
    const added = await api('POST', `/api/v1/registry/operators/${orgId}/ranges`, { cidr: RANGE });
    expect(added.status).toBe(201);
    // No wait: the call returned, so every selector has the range.
    expect(server.core.locator.current().describe(HOST_A).location).toBe('domestic');
    expect(seen).toEqual([[RANGE]]);
    unsubscribe();

    const records = [...Array.from({ length: 20 }, (_, i) => flow(i, HOST_A, HOST_B)), ...Array.from({ length: 20 }, (_, i) => flow(i, HOST_A, C2))];
    const keptBefore = pipeline.stats().kept;
    await send(records);
    await pipeline.flush(true);
    expect(pipeline.stats().kept - keptBefore).toBe(20); // the outbound flows to the C2, pseudonymized
    const domesticDrops = server.core.selection.counters(systemContext('test')).rows.filter((r) => r.category === 'domestic').reduce((a, r) => a + r.flows, 0);
    expect(domesticDrops).toBe(20);
    const transit = server.core.selection.counters(systemContext('test')).rows.filter((r) => r.category === 'transit' && r.outcome === 'kept');
    expect(transit).toEqual([]);

    const bad: string[] = [];
    for (const f of files(dataDir)) {
      const bytes = readFileSync(f);
      for (const a of [HOST_A, HOST_B]) for (const p of patterns(a)) if (bytes.includes(p)) bad.push(`${f}: ${a} as ${p.length} bytes`);
    }
    const duck = await DuckDBInstance.create(':memory:');
    const conn = await duck.connect();
    // Addresses and pseudonyms are stored as 128-bit halves: scan the values as stored and as text.
    const stored = (await conn.runAndReadAll(`select * from read_parquet('${join(dataDir, 'archive')}/**/*.parquet', hive_partitioning = true)`)).getRowObjectsJson();
    const decoded = JSON.stringify([stored, stored.map(presentRow)]);
    conn.closeSync();
    expect(decoded).toContain(C2);
    for (const a of [HOST_A, HOST_B]) if (decoded.includes(a)) bad.push(`parquet (decoded): ${a}`);
    expect(bad).toEqual([]);

    // Removing the range makes the block foreign again at once.
    const op = (await (await api('GET', `/api/v1/registry/operators/${orgId}`)).json()) as { operator: { ranges: { id: string; cidr: string }[] } };
    const removed = await api('DELETE', `/api/v1/registry/operators/${orgId}/ranges/${op.operator.ranges[0]!.id}`);
    expect(removed.status).toBe(200);
    expect(server.core.locator.current().describe(HOST_A).location).toBe('foreign');
    expect((await api('DELETE', `/api/v1/registry/operators/${orgId}/ranges/${op.operator.ranges[0]!.id}`)).status).toBe(404);
  }, 60_000); // a running server, UDP and an archive flush: ~18 s on a loaded 2-core machine

  it('while a change is applied its prefixes are held: their flows are dropped as unknown, never classified by country data', async () => {
    const core = server.core;
    const release = core.locator.hold(['45.77.0.0/16']);
    expect(core.locator.current().describe('45.77.1.2').location).toBe('unknown');
    expect(core.locator.current().describe(C2).location).toBe('foreign');
    const before = pipeline.stats().kept;
    await send([flow(1, '45.77.1.2', C2)]);
    await pipeline.flush(true);
    expect(pipeline.stats().kept).toBe(before);
    release();
    expect(core.locator.current().describe('45.77.1.2').location).toBe('foreign');
    expect(() => core.locator.hold(['not a prefix'])).toThrow(/not a prefix/);
  });

  it('a change written by another process reaches the running selectors by polling', async () => {
    const core = server.core;
    const sys = systemContext('test');
    const op = (await core.registry.listOperators(sys)).find((o) => o.name === 'Run-time Range Co.')!;
    // Written straight to the table, as `mamori registry import` in another process would.
    await core.db.kysely.insertInto('registry_ranges').values({ id: 'other-process', org_id: op.orgId, cidr: '45.78.0.0/16', note: null, created_at: new Date(start).toISOString() }).execute();
    for (let i = 0; i < 100 && core.locator.current().describe('45.78.0.1').location !== 'domestic'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(core.locator.current().describe('45.78.0.1').location).toBe('domestic');
  });
});
