/** @module Port rollups: questions filtered by a port answered from them equal the same questions read from every row; they follow compaction and purge. */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { openDuckDb, type DuckDb } from '#platform/duckdb/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import { writeAddress } from '#modules/collection/index.js';
import { ADDR_FOREIGN, ADDR_PSEUDONYM } from '../minimize.js';
import { FIELD_BIT } from '../schema.js';
import { syntheticSelected } from '../test-support/selected.js';
import { createFlowArchive, liveFiles, listPartitions, type FlowArchive, type FlowQuery } from './index.js';
import { PORT_ROLLUP_SUFFIX, portListHas, portRollupFiles, portRollupPartition, readPortRollups, ROLLUP_PORTS } from './port-rollup.js';

const T0 = Date.parse('2026-05-01T10:00:00Z');
const N = 6000;
const ctx = systemContext('test');
const allow = { require: () => undefined } as unknown as PolicyEngine;
const audit = { record: async () => undefined } as unknown as AuditRecorder;
let dir: string;
let archive: FlowArchive;
let rowsOnly: FlowArchive;
const engines: DuckDb[] = [];
const engine = async (): Promise<DuckDb> => { const e = await openDuckDb({ threads: 2 }); engines.push(e); return e; };

const SRC_PORTS = [53, 443, -1, 8443, 123, 80];
const DST_PORTS = [53, 80, 443, -2, 3389, 443, 22];

/**
 * Flows over 10:00–12:30, two bases, three categories (outbound: the foreign end is the destination), three protocols;
 * ports covered on both ends, on one, on neither (ephemeral), the same on both (53 → 53), and missing (NULL) on either.
 */
function flows(part: number) {
  const b = syntheticSelected(N, { bases: ['b1', 'b2'] });
  for (let i = 0; i < N; i++) {
    const k = part * N + i;
    b.start[i] = T0 + Math.floor((k * 7_919) % 9_000_000);
    b.end[i] = b.start[i]! + 100;
    b.category[i] = k % 3; // transit, inbound, outbound
    const foreign = `203.0.113.${k % 37}`;
    if (b.category[i] === 2) {
      writeAddress(b.dstAddr, i * 16, foreign);
      b.dstKind[i] = ADDR_FOREIGN;
      for (let x = 0; x < 16; x++) b.srcAddr[i * 16 + x] = (k * 13 + x) & 255;
      b.srcKind[i] = ADDR_PSEUDONYM;
    } else writeAddress(b.srcAddr, i * 16, foreign);
    const s = SRC_PORTS[k % SRC_PORTS.length]!, d = DST_PORTS[k % DST_PORTS.length]!;
    b.srcPort[i] = s === -1 ? 40_000 + (k % 5_000) : s;
    b.dstPort[i] = d === -2 ? 50_000 + (k % 3_000) : d;
    b.proto[i] = [6, 17, 1][k % 5 % 3]!;
    b.bytes[i] = 40 + (k % 1_460);
    b.packets[i] = 1 + (k % 9);
    if (k % 13 === 0) b.fields[i] = b.fields[i]! & ~FIELD_BIT.srcPort; // NULL source port: counted under its destination's
    if (k % 17 === 0) b.fields[i] = b.fields[i]! & ~FIELD_BIT.dstPort;
    if (k % 11 === 0) b.fields[i] = b.fields[i]! & ~FIELD_BIT.bytes;
  }
  return b;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mamori-port-rollup-'));
  const clock = new ManualClock('2026-05-02T00:00:00Z');
  archive = createFlowArchive({ dir, engine, audit, policy: allow, clock, retentionOf: async () => new Map([['b1', 30], ['b2', 30]]) });
  rowsOnly = createFlowArchive({ dir, engine, audit, policy: allow, clock, retentionOf: async () => new Map(), rollups: false });
  for (let p = 0; p < 4; p++) await archive.write(flows(p));
  await archive.compact({ minRows: 1 }); // nothing merged: each partition gets one port rollup of its files
}, 120_000);
afterAll(async () => {
  await archive.close();
  await rowsOnly.close();
  for (const e of engines.splice(0)) e.close();
  rmSync(dir, { recursive: true, force: true });
});

const ask = (a: FlowArchive, from: string, to: string, groupBy: FlowQuery['groupBy'], filters: Partial<FlowQuery['filters']> = {}) =>
  a.queryFlows(ctx, { purpose: 'port rollup test: compare both reads', filters: { from, to, ...filters }, groupBy, limit: 10_000 });

describe('port lists', () => {
  it('hold ranges and single ports, and the default covers system ports and listed ones but no ephemeral port', () => {
    expect(portListHas('0-1023,8443', 0)).toBe(true);
    expect(portListHas('0-1023,8443', 1023)).toBe(true);
    expect(portListHas('0-1023,8443', 1024)).toBe(false);
    expect(portListHas('0-1023,8443', 8443)).toBe(true);
    for (const p of [22, 53, 443, 3389, 8080]) expect(portListHas(ROLLUP_PORTS, p)).toBe(true);
    for (const p of [1024, 40_000, 50_123, 65_535]) expect(portListHas(ROLLUP_PORTS, p)).toBe(false);
  });
});

describe('port rollups', () => {
  it('lie in every compacted partition, cover its live files and say which ports and times they hold', async () => {
    const e = await engine();
    for (const p of listPartitions(dir)) {
      const [r, ...more] = await readPortRollups(e, portRollupFiles(p.dir));
      expect(more).toEqual([]);
      expect(r!.covers.sort()).toEqual(liveFiles(p.dir).map((f) => f.split('/').pop()).sort());
      expect(r!.ports).toBe(ROLLUP_PORTS);
      expect(r!.span![0]).toBeGreaterThanOrEqual(BigInt(Date.parse(`${p.hour}:00:00Z`)) * 1000n);
    }
  });

  const whole = ['2026-05-01T10:00:00Z', '2026-05-01T13:00:00Z'] as const;
  const cases: [string, string, string, FlowQuery['groupBy'], Partial<FlowQuery['filters']>][] = [
    ['top foreign addresses on 443 over whole hours', ...whole, ['foreignAddress'], { port: 443 }],
    ['53 (the same port on both ends) by address, protocol and category', ...whole, ['foreignAddress', 'proto', 'category'], { port: 53 }],
    ['80 with protocol, category and basis filters', ...whole, ['foreignAddress', 'basis'], { port: 80, proto: 6, category: 'inbound', basisIds: ['b2'] }],
    ['a listed registered port by hour and basis', ...whole, ['hour', 'basis'], { port: 8443 }],
    ['a port only on destinations (22) by address', ...whole, ['foreignAddress', 'hour'], { port: 22 }],
    ['an ephemeral port (rows only)', ...whole, ['foreignAddress'], { port: 40_008 }],
    ['a range that cuts hours (the cut hours from rows)', '2026-05-01T10:17:23.456Z', '2026-05-01T12:00:00Z', ['foreignAddress'], { port: 443 }],
    ['a range ending a millisecond before the hour does', '2026-05-01T10:00:00Z', '2026-05-01T12:29:59.999Z', ['foreignAddress'], { port: 443 }],
  ];
  it.each(cases)('answers %s exactly as reading every row does', async (_label, from, to, groupBy, filters) => {
    const fromRollups = await ask(archive, from, to, groupBy, filters);
    const fromRows = await ask(rowsOnly, from, to, groupBy, filters);
    expect(fromRollups.rows.length).toBeGreaterThan(0);
    expect(fromRollups).toEqual(fromRows);
  }, 60_000);

  it('matches the ground truth of the generated flows (flows and bytes on 443 by foreign address)', async () => {
    const want = new Map<string, { flows: number; bytes: number }>();
    for (let p = 0; p < 4; p++) {
      const b = flows(p);
      for (let i = 0; i < N; i++) {
        const has = (bit: number): boolean => (b.fields[i]! & bit) !== 0;
        if (!((has(FIELD_BIT.srcPort) && b.srcPort[i] === 443) || (has(FIELD_BIT.dstPort) && b.dstPort[i] === 443))) continue;
        const a = `203.0.113.${(p * N + i) % 37}`;
        const w = want.get(a) ?? { flows: 0, bytes: 0 };
        w.flows++;
        if (has(FIELD_BIT.bytes)) w.bytes += b.bytes[i]!;
        want.set(a, w);
      }
    }
    const got = await ask(archive, ...whole, ['foreignAddress'], { port: 443 });
    expect(new Map(got.rows.map((r) => [r['foreignAddress'], { flows: Number(r['flows']), bytes: Number(r['bytes']) }]))).toEqual(want);
  });

  it('are read for the question (a doctored rollup shows through), and a file no rollup covers is read from rows', async () => {
    const [p] = listPartitions(dir).filter((x) => x.basis === 'b1' && x.hour === '2026-05-01T11');
    const q = ['2026-05-01T11:00:00Z', '2026-05-01T12:00:00Z'] as const;
    const honest = await ask(archive, ...q, ['basis'], { port: 443 });
    const e = await engine();
    const [r] = await readPortRollups(e, portRollupFiles(p!.dir));
    const f = r!.file;
    const kv = `{mamori_covers: '${JSON.stringify(r!.covers)}', mamori_ports: '${r!.ports}', mamori_first: '${r!.span![0]}', mamori_last: '${r!.span![1]}'}`;
    await e.run(`COPY (SELECT * REPLACE (flows + 1000 AS flows) FROM read_parquet('${f}')) TO '${f}.tmp' (FORMAT PARQUET, KV_METADATA ${kv})`);
    const n443 = Number((await e.all(`SELECT count(*) AS n FROM read_parquet('${f}') WHERE port = 443`))[0]!['n']);
    rmSync(f);
    await e.run(`COPY (SELECT * FROM read_parquet('${f}.tmp')) TO '${f}' (FORMAT PARQUET, KV_METADATA ${kv})`);
    rmSync(`${f}.tmp`);
    const doctored = await ask(archive, ...q, ['basis'], { port: 443 });
    expect(Number(doctored.rows.find((x) => x['basis'] === 'b1')!['flows']) - Number(honest.rows.find((x) => x['basis'] === 'b1')!['flows'])).toBe(1000 * n443);
    // A question with an address filter is not one a port rollup answers: it reads rows.
    expect(await ask(archive, ...q, ['basis'], { port: 443, foreignPrefix: '203.0.113.0/24' })).toEqual(await ask(rowsOnly, ...q, ['basis'], { port: 443, foreignPrefix: '203.0.113.0/24' }));
    rmSync(f); // a partition without a port rollup is read from rows
    expect(await ask(archive, ...q, ['basis'], { port: 443 })).toEqual(honest);
    await archive.compact({ minRows: 1 }); // written again
    expect(portRollupFiles(p!.dir)).toHaveLength(1);
    expect(await ask(archive, ...q, ['basis'], { port: 443 })).toEqual(honest);
  }, 60_000);

  it('in chunks of files: a range cutting a chunk reads only that chunk\'s files from rows', async () => {
    const [p] = listPartitions(dir).filter((x) => x.basis === 'b2' && x.hour === '2026-05-01T10');
    for (const f of portRollupFiles(p!.dir)) rmSync(f);
    const e = await engine();
    expect(await portRollupPartition(e, dir, p!, { chunkRows: 1 })).toBe(liveFiles(p!.dir).length); // one a file
    for (const [from, to] of [['2026-05-01T10:00:00Z', '2026-05-01T11:00:00Z'], ['2026-05-01T10:00:00Z', '2026-05-01T10:59:59.999Z'], ['2026-05-01T10:07:00Z', '2026-05-01T10:41:13.5Z']] as const) {
      const got = await ask(archive, from, to, ['foreignAddress', 'proto'], { port: 443, basisIds: ['b2'] });
      expect(got.rows.length).toBeGreaterThan(0);
      expect(got).toEqual(await ask(rowsOnly, from, to, ['foreignAddress', 'proto'], { port: 443, basisIds: ['b2'] }));
    }
  }, 60_000);

  it('are written for the hours compaction has not reached (rollupOpenHours), and those questions stay exact', async () => {
    const d = mkdtempSync(join(tmpdir(), 'mamori-port-rollup-open-'));
    const clock = new ManualClock('2026-05-01T10:40:00Z');
    const a = createFlowArchive({ dir: d, engine, audit, policy: allow, clock, retentionOf: async () => new Map() });
    const rows = createFlowArchive({ dir: d, engine, audit, policy: allow, clock, retentionOf: async () => new Map(), rollups: false });
    try {
      await a.write(flows(0)); // 10:00–12:30: hours 10, 11 and 12, none closed at 10:40
      expect(await a.compact({ minRows: 1 })).toEqual({ partitions: 0, filesMerged: 0, rows: 0 });
      expect(listPartitions(d).flatMap((x) => portRollupFiles(x.dir))).toEqual([]);
      const written = await a.rollupOpenHours();
      expect(written).toBeGreaterThan(0);
      for (const x of listPartitions(d)) expect(portRollupFiles(x.dir)).toHaveLength(1);
      await a.write(flows(1)); // a file written since: read from rows until the next run
      const q = ['2026-05-01T10:00:00Z', '2026-05-01T12:00:00Z'] as const;
      expect(await ask(a, ...q, ['foreignAddress'], { port: 443 })).toEqual(await ask(rows, ...q, ['foreignAddress'], { port: 443 }));
      await a.rollupOpenHours();
      for (const x of listPartitions(d)) expect(portRollupFiles(x.dir)).toHaveLength(2);
      expect(await ask(a, ...q, ['foreignAddress'], { port: 443 })).toEqual(await ask(rows, ...q, ['foreignAddress'], { port: 443 }));
      expect(await ask(a, ...q, ['minute', 'proto'])).toEqual(await ask(rows, ...q, ['minute', 'proto'])); // minute rollups too
    } finally {
      await a.close();
      await rows.close();
      rmSync(d, { recursive: true, force: true });
    }
  }, 120_000);

  it('follow compaction (a rollup naming a merged-away file goes; the live files get one again) and go with a purge', async () => {
    for (let k = 0; k < 2; k++) await archive.write(syntheticSelected(50, { bases: ['b1'], startMs: T0 + 3_000_000 + k * 1000, bytes: 7 }));
    const q = ['2026-05-01T10:00:00Z', '2026-05-01T11:00:00Z'] as const;
    const before = await ask(rowsOnly, ...q, ['foreignAddress', 'category'], { port: 443 });
    // The two late files are read from rows until compaction covers them.
    expect(await ask(archive, ...q, ['foreignAddress', 'category'], { port: 443 })).toEqual(before);
    await archive.compact({ minRows: 1000 });
    const [p] = listPartitions(dir).filter((x) => x.basis === 'b1' && x.hour === '2026-05-01T10');
    const e = await engine();
    const rollups = await readPortRollups(e, portRollupFiles(p!.dir));
    expect(rollups.flatMap((r) => r.covers).sort()).toEqual(liveFiles(p!.dir).map((f) => f.split('/').pop()).sort());
    expect(await ask(archive, ...q, ['foreignAddress', 'category'], { port: 443 })).toEqual(before);
    await archive.purgeBasis(ctx, 'b1', 'port rollup test: the basis was denied');
    expect(readdirSync(dir, { recursive: true }).map(String).filter((n) => n.includes('basis=b1'))).toEqual([]);
    expect(listPartitions(dir).every((x) => portRollupFiles(x.dir).every((f) => f.endsWith(PORT_ROLLUP_SUFFIX)))).toBe(true);
  }, 120_000);
});
