import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { openDuckDb, type DuckDb } from '#platform/duckdb/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import { formatAddress, writeAddress } from '#modules/collection/index.js';
import { CAT_INBOUND, CAT_OUTBOUND } from '../classify.js';
import { ADDR_FOREIGN, ADDR_PSEUDONYM, createSelectedBatch, type SelectedBatch } from '../minimize.js';
import { FIELD_BIT } from '../schema.js';
import { syntheticSelected } from '../test-support/selected.js';
import { createArchiveWriter, createFlowArchive, liveFiles, listPartitions, WAL_DIR, type ArchiveWriterSettings } from './index.js';

const dirs: string[] = [];
const engines: DuckDb[] = [];
const fresh = (): string => { const d = mkdtempSync(join(tmpdir(), 'mamori-archive-thread-')); dirs.push(d); return d; };
afterEach(() => { for (const e of engines.splice(0)) e.close(); for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
async function engine(): Promise<DuckDb> { const e = await openDuckDb(); engines.push(e); return e; }
function chain() { let c: Promise<unknown> = Promise.resolve(); return <T>(fn: () => Promise<T>): Promise<T> => { const n = c.then(fn, fn); c = n.catch(() => undefined); return n; }; }
const threaded = (over: Partial<ArchiveWriterSettings> = {}): ArchiveWriterSettings => ({ fileRows: 200_000, maxAgeSeconds: 3600, bufferRows: 1_000_000, walSyncMs: 1000, thread: true, ...over });
const fileList = (files: readonly string[]): string => `[${files.map((f) => `'${f}'`).join(', ')}]`;

async function holdings(dir: string): Promise<{ rows: number; bytes: number; files: string[] }> {
  const files = listPartitions(dir).flatMap((p) => liveFiles(p.dir));
  if (files.length === 0) return { rows: 0, bytes: 0, files };
  const [t] = await (await engine()).all(`SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b FROM read_parquet(${fileList(files)})`);
  return { rows: Number(t!['n']), bytes: Number(t!['b']), files };
}

const ALL_FIELDS = Object.values(FIELD_BIT).reduce((a, b) => a | b, 0);
/**
 * `n` flows of one hour, half inbound (foreign source), half outbound (foreign destination); foreign addresses from
 * 203.0.113.0/24, 198.51.100.0/24 and 2001:db8::/112 in a scrambled order; bytes = the row's index + 1.
 */
function mixed(n: number, offset = 0): { batch: SelectedBatch; foreign: string[] } {
  const b = createSelectedBatch(n);
  b.length = n;
  b.basisIds = ['b1'];
  b.periods = ['2026-05'];
  b.exporters = [''];
  const foreign: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = ((i + offset) * 7919) % 1000;
    const addr = k % 10 === 0 ? `2001:db8::${(k * 13).toString(16)}` : `${k % 3 === 0 ? '203.0.113' : '198.51.100'}.${k % 256}`;
    const out = (i + offset) % 2 === 0;
    const [fa, pa] = out ? [b.dstAddr, b.srcAddr] : [b.srcAddr, b.dstAddr];
    writeAddress(fa, i * 16, addr);
    for (let j = 0; j < 16; j++) pa[i * 16 + j] = (i * 31 + j) & 255;
    b.srcKind[i] = out ? ADDR_PSEUDONYM : ADDR_FOREIGN;
    b.dstKind[i] = out ? ADDR_FOREIGN : ADDR_PSEUDONYM;
    b.category[i] = out ? CAT_OUTBOUND : CAT_INBOUND;
    b.fields[i] = ALL_FIELDS;
    b.start[i] = Date.parse('2026-05-01T10:00:00Z') + ((i + offset) % 3_000_000);
    b.end[i] = b.start[i]! + 100;
    b.bytes[i] = i + offset + 1;
    b.packets[i] = 1;
    b.proto[i] = 6;
    foreign.push(formatAddress(fa, i * 16));
  }
  return { batch: b, foreign };
}

describe('archive writer thread', () => {
  it('writes in its own thread exactly the rows it took', async () => {
    const dir = fresh();
    const w = createArchiveWriter(threaded({ fileRows: 60_000 }), { dir, engine, serial: chain() });
    await w.start();
    let sum = 0;
    for (let k = 0; k < 12; k++) {
      const { batch } = mixed(10_000, k * 10_000);
      for (let i = 0; i < batch.length; i++) sum += batch.bytes[i]!;
      expect(w.append(batch).accepted).toBe(true);
    }
    await w.stop();
    const h = await holdings(dir);
    expect(h).toMatchObject({ rows: 120_000, bytes: sum });
    expect(h.files.length).toBe(2);
    expect(readdirSync(join(dir, WAL_DIR))).toEqual([]);
    expect(w.stats()).toMatchObject({ writtenRows: 120_000, writes: 2, stagedRows: 0 });
  });

  it('bounds its thread\'s DuckDB by the memory it is given, spilling inside the archive (never the working directory)', async () => {
    const dir = fresh();
    const infos: [object, string][] = [];
    const logger = { info: (o: object, m: string) => { infos.push([o, m]); }, warn: () => undefined, error: () => undefined };
    const w = createArchiveWriter(threaded({ fileRows: 5000, memoryBytes: 96 * 2 ** 20 }), { dir, engine, serial: chain(), logger });
    await w.start();
    try {
      expect(infos).toContainEqual([{ duckdbMemoryLimit: '96.0 MiB', spillDir: expect.stringMatching(new RegExp(`^${join(dir, '_spill')}/writer-${process.pid}-[0-9a-f]{8}$`)) },
        'flow archive: writer ready']);
      expect(w.append(syntheticSelected(5000, { bytes: 1 })).accepted).toBe(true);
      await w.flush();
      expect(await holdings(dir)).toMatchObject({ rows: 5000 });
    } finally {
      await w.stop();
    }
    expect(readdirSync(join(dir, '_spill'))).toEqual([]); // the thread's directory went with it
  });

  it('keeps the rows in their segment while the thread cannot write, refuses as archive_failed when full, then writes them once it can', async () => {
    const dir = fresh();
    const w = createArchiveWriter(threaded({ fileRows: 5000, bufferRows: 10_000 }), { dir, engine, serial: chain() });
    await w.start();
    // A file where the thread puts its temporary files: every write fails until it goes.
    writeFileSync(join(dir, '_tmp'), 'in the way');
    expect(w.append(syntheticSelected(5000, { bytes: 1 })).accepted).toBe(true);
    await expect(w.flush()).rejects.toThrow();
    expect(readdirSync(join(dir, WAL_DIR)).length).toBe(1);
    expect(w.append(syntheticSelected(5000, { bytes: 2 })).accepted).toBe(true);
    expect(w.append(syntheticSelected(5000, { bytes: 3 }))).toEqual({ accepted: false, reason: 'archive_failed', rows: 5000 });
    rmSync(join(dir, '_tmp'));
    await w.flush();
    expect(await holdings(dir)).toMatchObject({ rows: 10_000, bytes: 15_000 });
    expect(w.stats()).toMatchObject({ stagedRows: 0, refusedRows: { archive_behind: 0, archive_failed: 5000 } });
    expect(w.stats().writeFailures).toBeGreaterThanOrEqual(1);
    await w.stop();
  });

  it('loses nothing acknowledged and writes nothing twice when killed with SIGKILL while its thread writes', async () => {
    const dir = fresh();
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', fileURLToPath(new URL('../test-support/archive-child.ts', import.meta.url)), dir, '5000', 'thread'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let acked = 0;
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        let writes = 0;
        for (const m of d.toString().matchAll(/acked (\d+) writes (\d+)/g)) { acked = Math.max(acked, Number(m[1])); writes = Number(m[2]); }
        if (writes >= 3 && child.exitCode === null && !child.killed) child.kill('SIGKILL');
      });
      child.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited without being killed (${signal})`))));
    });
    const w = createArchiveWriter(threaded(), { dir, engine, serial: chain() });
    await w.start();
    const h = await holdings(dir);
    expect(h.rows).toBeGreaterThanOrEqual(acked);
    expect(h.rows % 5000).toBe(0);
    const batches = h.rows / 5000;
    // Batch k carries bytes k + 1 on each row: the sum is exact only if every batch is there once.
    expect(h.bytes).toBe(5000 * (batches * (batches + 1)) / 2);
    expect(readdirSync(join(dir, WAL_DIR))).toEqual([]);
    await w.stop();
  }, 60_000);
});

describe('address filters on address-ordered files', () => {
  const allow = { require: () => undefined } as unknown as PolicyEngine;
  const audit = { record: async () => undefined } as unknown as AuditRecorder;

  it('return exactly the rows whose foreign address matches (ground truth from the input), by address and by prefix', async () => {
    const dir = fresh();
    const archive = createFlowArchive({ dir, engine, audit, policy: allow, clock: new ManualClock('2026-05-02T00:00:00Z'), retentionOf: async () => new Map(), writer: threaded({ fileRows: 40_000 }) });
    await archive.writer.start();
    const truth = new Map<string, { flows: number; bytes: number }>();
    for (let k = 0; k < 4; k++) {
      const { batch, foreign } = mixed(25_000, k * 25_000);
      foreign.forEach((a, i) => { const t = truth.get(a) ?? { flows: 0, bytes: 0 }; t.flows++; t.bytes += batch.bytes[i]!; truth.set(a, t); });
      expect(archive.writer.append(batch).accepted).toBe(true);
    }
    await archive.writer.flush();
    expect(listPartitions(dir).flatMap((p) => liveFiles(p.dir)).length).toBeGreaterThan(1);
    const ctx = systemContext('test');
    const hour = { from: '2026-05-01T10:00:00Z', to: '2026-05-01T11:00:00Z' };
    const ask = (filters: Record<string, string>) => archive.queryFlows(ctx, { purpose: 'pruning test of the archive', filters: { ...hour, ...filters }, groupBy: ['foreignAddress'], limit: 10_000 });
    for (const a of ['198.51.100.7', '203.0.113.0', '2001:db8::d', '2001:db8::32c8', '198.51.100.255']) {
      const got = (await ask({ foreignAddress: a })).rows.map((r) => ({ a: r['foreignAddress'], flows: Number(r['flows']), bytes: Number(r['bytes']) }));
      const t = truth.get(a);
      expect(got).toEqual(t === undefined ? [] : [{ a, ...t }]);
    }
    for (const [prefix, match] of [['203.0.113.0/24', (a: string) => a.startsWith('203.0.113.')], ['2001:db8::/64', (a: string) => a.includes(':')], ['198.51.100.128/25', (a: string) => a.startsWith('198.51.100.') && Number(a.split('.')[3]) >= 128]] as const) {
      const got = (await ask({ foreignPrefix: prefix })).rows;
      const want = [...truth].filter(([a]) => match(a));
      expect(got.length).toBe(want.length);
      expect(got.reduce((s, r) => s + Number(r['flows']), 0)).toBe(want.reduce((s, [, t]) => s + t.flows, 0));
      expect(got.reduce((s, r) => s + Number(r['bytes']), 0)).toBe(want.reduce((s, [, t]) => s + t.bytes, 0));
    }
    // Raw rows of one address: every one of them, whichever side it is on.
    const raw = await archive.queryFlows(ctx, { purpose: 'pruning test: raw rows', filters: { ...hour, foreignAddress: '198.51.100.7' }, limit: 10_000 });
    expect(raw.rows.length).toBe(truth.get('198.51.100.7')!.flows);
    expect(raw.rows.every((r) => r['src_addr'] === '198.51.100.7' || r['dst_addr'] === '198.51.100.7')).toBe(true);
    await archive.close();
  });

  it('lets one address skip row groups: the statistics of an address-ordered file name few row groups for it', async () => {
    const dir = fresh();
    const w = createArchiveWriter(threaded({ fileRows: 500_000, bufferRows: 1_000_000 }), { dir, engine, serial: chain() });
    await w.start();
    for (let k = 0; k < 5; k++) w.append(mixed(100_000, k * 100_000).batch);
    await w.stop();
    const [f] = listPartitions(dir).flatMap((p) => liveFiles(p.dir));
    const e = await engine();
    const groups = await e.all(`SELECT row_group_id, path_in_schema AS col, stats_min_value AS lo, stats_max_value AS hi FROM parquet_metadata('${f}') WHERE path_in_schema IN ('dst_ip_lo', 'src_ip_lo')`);
    const ids = new Set(groups.map((g) => g['row_group_id']));
    expect(ids.size).toBe(5); // 500,000 rows in groups of 122,880
    // Each address (as the low half of ::ffff:a.b.c.d) falls in the min/max range of at most two row groups, either side.
    for (const a of [0xc6336407, 0xcb007100, 0xc63364ff, 0xcb0071c8]) {
      const x = 0xffff_0000_0000n + BigInt(a);
      const holding = new Set(groups.filter((g) => g['lo'] !== null && BigInt(String(g['lo'])) <= x && x <= BigInt(String(g['hi']))).map((g) => g['row_group_id']));
      expect(holding.size).toBeGreaterThanOrEqual(1);
      expect(holding.size).toBeLessThanOrEqual(2);
    }
  });
});
