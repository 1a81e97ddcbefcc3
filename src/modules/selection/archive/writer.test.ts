import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { openDuckDb, type DuckDb } from '#platform/duckdb/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import { syntheticSelected } from '../test-support/selected.js';
import { createArchiveWriter, createFlowArchive, liveFiles, listPartitions, WAL_DIR, type ArchiveWriterSettings } from './index.js';

const dirs: string[] = [];
const engines: DuckDb[] = [];
const fresh = (): string => { const d = mkdtempSync(join(tmpdir(), 'mamori-archive-')); dirs.push(d); return d; };
afterEach(() => { for (const e of engines.splice(0)) e.close(); for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

async function engine(): Promise<DuckDb> { const e = await openDuckDb(); engines.push(e); return e; }
function chain() { let c: Promise<unknown> = Promise.resolve(); return <T>(fn: () => Promise<T>): Promise<T> => { const n = c.then(fn, fn); c = n.catch(() => undefined); return n; }; }
const settings = (over: Partial<ArchiveWriterSettings> = {}): ArchiveWriterSettings => ({ fileRows: 200_000, maxAgeSeconds: 3600, bufferRows: 1_000_000, walSyncMs: 1000, ...over });

/** Rows, byte sum and file sizes of the Parquet files under `dir` (as a reader takes them). */
async function holdings(dir: string): Promise<{ rows: number; bytes: number; files: number[] }> {
  const files = listPartitions(dir).flatMap((p) => liveFiles(p.dir));
  if (files.length === 0) return { rows: 0, bytes: 0, files: [] };
  const e = await engine();
  const list = `[${files.map((f) => `'${f}'`).join(', ')}]`;
  const [t] = await e.all(`SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b FROM read_parquet(${list})`);
  const per = await e.all(`SELECT num_rows FROM parquet_file_metadata(${list})`);
  return { rows: Number(t!['n']), bytes: Number(t!['b']), files: per.map((r) => Number(r['num_rows'])) };
}

describe('archive writer', () => {
  it('writes large files, one per partition per write, holding exactly the rows it took', async () => {
    const dir = fresh();
    const w = createArchiveWriter(settings(), { dir, engine, serial: chain() });
    // Two segments of fileRows, each written as one file per basis.
    for (let k = 0; k < 80; k++) expect(w.append(syntheticSelected(5000, { bases: ['b1', 'b2'], bytes: k + 1 })).accepted).toBe(true);
    await w.stop();
    const h = await holdings(dir);
    expect(h.rows).toBe(400_000);
    expect(h.bytes).toBe(Array.from({ length: 80 }, (_, k) => (k + 1) * 5000).reduce((a, b) => a + b, 0));
    expect(h.files).toEqual([100_000, 100_000, 100_000, 100_000]);
    const e = await engine();
    const files = listPartitions(dir).flatMap((p) => liveFiles(p.dir));
    const [rg] = await e.all(`SELECT max(row_group_num_rows) AS r FROM parquet_metadata([${files.map((f) => `'${f}'`).join(', ')}])`);
    expect(Number(rg!['r'])).toBe(100_000); // one row group of each file (at most 122,880 rows each)
    expect(existsSync(join(dir, WAL_DIR)) ? readdirSync(join(dir, WAL_DIR)) : []).toEqual([]);
    expect(w.stats()).toMatchObject({ writtenRows: 400_000, filesWritten: 4, writes: 2, stagedRows: 0, recoveredRows: 0 });
  });

  it('refuses beyond its buffer while a slow engine writes (reason archive_behind), then takes again, losing nothing it took', async () => {
    const dir = fresh();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => { release = r; });
    const slow = async (): Promise<DuckDb> => {
      const e = await engine();
      return { ...e, run: async (sql, params) => { if (sql.startsWith('COPY')) await gate; return e.run(sql, params); } };
    };
    const w = createArchiveWriter(settings({ fileRows: 10_000, bufferRows: 20_000 }), { dir, engine: slow, serial: chain() });
    let taken = 0;
    const refused: string[] = [];
    for (let k = 0; k < 8; k++) {
      const r = w.append(syntheticSelected(5000));
      if (r.accepted) taken += r.rows; else refused.push(r.reason);
      await new Promise((r2) => setImmediate(r2));
    }
    expect(taken).toBe(20_000);
    expect(refused).toEqual(['archive_behind', 'archive_behind', 'archive_behind', 'archive_behind']);
    expect(w.stats().refusedRows).toEqual({ archive_behind: 20_000, archive_failed: 0 });
    release();
    await w.flush();
    expect(w.append(syntheticSelected(5000)).accepted).toBe(true);
    taken += 5000;
    await w.stop();
    expect((await holdings(dir)).rows).toBe(taken);
  });

  it('keeps what it took in its segment when writing fails (reason archive_failed after that) and writes it once the engine works again', async () => {
    const dir = fresh();
    let broken = true;
    const flaky = async (): Promise<DuckDb> => {
      const e = await engine();
      return { ...e, run: async (sql, params) => { if (broken && sql.startsWith('COPY')) throw new Error('disk full'); return e.run(sql, params); } };
    };
    const w = createArchiveWriter(settings({ fileRows: 5000, bufferRows: 10_000 }), { dir, engine: flaky, serial: chain() });
    expect(w.append(syntheticSelected(5000)).accepted).toBe(true);
    await expect(w.flush()).rejects.toThrow('disk full');
    expect(readdirSync(join(dir, WAL_DIR)).length).toBe(1);
    expect(w.append(syntheticSelected(5000)).accepted).toBe(true);
    expect(w.append(syntheticSelected(5000))).toEqual({ accepted: false, reason: 'archive_failed', rows: 5000 });
    broken = false;
    await w.flush();
    expect((await holdings(dir)).rows).toBe(10_000);
    expect(w.stats()).toMatchObject({ stagedRows: 0, refusedRows: { archive_behind: 0, archive_failed: 5000 } });
    expect(w.stats().writeFailures).toBeGreaterThanOrEqual(1);
  });

  it('logs a failed write by the error\'s first line without quoted values: no path, no value, no statement echoed', async () => {
    const dir = fresh();
    // A real DuckDB error that quotes a value and echoes the statement (and the archive's path) on further lines.
    const leaky = async (): Promise<DuckDb> => {
      const e = await engine();
      return { ...e, run: async (sql, params) => (sql.startsWith('COPY') ? e.run(`SELECT CAST('198.51.100.7' AS INTEGER) AS x, '${dir}' AS d`) : e.run(sql, params)) };
    };
    const logged: Record<string, unknown>[] = [];
    const logger = { info: () => undefined, warn: () => undefined, error: (o: object) => { logged.push(o as Record<string, unknown>); } };
    const w = createArchiveWriter(settings({ fileRows: 5000 }), { dir, engine: leaky, serial: chain(), logger });
    expect(w.append(syntheticSelected(5000)).accepted).toBe(true);
    await expect(w.flush()).rejects.toThrow('198.51.100.7'); // the caller still gets the whole error
    expect(logged).toEqual([{ err: { type: 'Error', message: 'Conversion Error: Could not convert string … to INT32' }, rows: 5000, retryInMs: 1000 }]);
    expect(JSON.stringify(logged)).not.toContain(dir);
  });

  it('writes at start what a stopped process left in its segments, and only whole records of a cut one', async () => {
    const dir = fresh();
    const first = createArchiveWriter(settings(), { dir, engine, serial: chain() });
    for (let k = 0; k < 4; k++) first.append(syntheticSelected(1000, { bytes: k + 1 }));
    // No stop: as if the process died. A fifth record cut halfway by the crash:
    const [seg] = readdirSync(join(dir, WAL_DIR));
    const copy = join(dir, 'cut.wal');
    copyFileSync(join(dir, WAL_DIR, seg!), copy);
    appendFileSync(join(dir, WAL_DIR, seg!), Buffer.alloc(777, 1));
    rmSync(copy);
    const second = createArchiveWriter(settings(), { dir, engine, serial: chain() });
    await second.start();
    expect(second.stats()).toMatchObject({ recoveredRows: 4000, tornBytes: 777, writtenRows: 4000, stagedRows: 0 });
    const h = await holdings(dir);
    expect(h).toMatchObject({ rows: 4000, bytes: (1 + 2 + 3 + 4) * 1000 });
    expect(readdirSync(join(dir, WAL_DIR))).toEqual([]);
    await second.stop();
  });

  it('purges a basis it still stages: those rows never reach a file, and later rows of it are refused', async () => {
    const dir = fresh();
    const w = createArchiveWriter(settings(), { dir, engine, serial: chain() });
    w.append(syntheticSelected(4000, { bases: ['keep', 'gone'] }));
    expect(await w.purgeBasis('gone')).toEqual({ stagedRowsDropped: 2000 });
    expect(w.append(syntheticSelected(4000, { bases: ['keep', 'gone'] }))).toMatchObject({ accepted: true, rows: 2000, droppedPurged: 2000 });
    await w.stop();
    expect(listPartitions(dir).map((p) => p.basis)).toEqual(['keep']);
    expect((await holdings(dir)).rows).toBe(4000);
  });

  it('loses nothing acknowledged when its process is killed with SIGKILL mid-stream (whole batches, in order)', async () => {
    const dir = fresh();
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', fileURLToPath(new URL('../test-support/archive-child.ts', import.meta.url)), dir, '5000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let acked = 0;
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        for (const m of d.toString().matchAll(/acked (\d+)/g)) acked = Math.max(acked, Number(m[1]));
        if (acked >= 100_000 && child.exitCode === null && !child.killed) child.kill('SIGKILL');
      });
      child.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited without being killed (${signal})`))));
    });
    const w = createArchiveWriter(settings(), { dir, engine, serial: chain() });
    await w.start();
    const h = await holdings(dir);
    // Everything the child was told was taken is there; what it took after its last line may be too, in whole batches.
    expect(h.rows).toBeGreaterThanOrEqual(acked);
    expect(h.rows % 5000).toBe(0);
    const batches = h.rows / 5000;
    expect(h.bytes).toBe(5000 * (batches * (batches + 1)) / 2);
    await w.stop();
  }, 60_000);
});

describe('archive compaction and queries', () => {
  const allow = { require: () => undefined } as unknown as PolicyEngine;
  const audited: unknown[] = [];
  const audit = { record: async (_ctx: unknown, e: unknown) => { audited.push(e); } } as unknown as AuditRecorder;

  it('merges the small files of finished hours into one; queries before, during and after the swap see every row once', async () => {
    const dir = fresh();
    const clock = new ManualClock('2026-05-02T00:00:00Z');
    const archive = createFlowArchive({ dir, engine, audit, policy: allow, clock, retentionOf: async () => new Map(), writer: settings({ fileRows: 1000 }) });
    for (let k = 0; k < 5; k++) await archive.write(syntheticSelected(2000, { startMs: Date.parse('2026-05-01T10:00:00Z') + k * 10_000 }));
    const [part] = listPartitions(dir);
    expect(liveFiles(part!.dir).length).toBe(5);
    const q = { purpose: 'compaction test: count every row', filters: { from: '2026-05-01T00:00:00Z', to: '2026-05-02T00:00:00Z' }, groupBy: ['basis' as const] };
    const ctx = systemContext('test');
    expect((await archive.queryFlows(ctx, q)).rows).toEqual([expect.objectContaining({ basis: 'b1', flows: '10000' })]);
    // A swap interrupted after the merged file went in: readers already skip its sources.
    const sources = readdirSync(part!.dir).slice(0, 2);
    writeFileSync(join(part!.dir, 'cmanual.replaces'), JSON.stringify(sources));
    copyFileSync(join(part!.dir, sources[0]!), join(part!.dir, 'cmanual.parquet'));
    expect(liveFiles(part!.dir).map((f) => f.split('/').pop()).sort()).toEqual([...readdirSync(part!.dir).filter((f) => f.endsWith('.parquet') && !sources.includes(f))].sort());
    rmSync(join(part!.dir, 'cmanual.replaces'));
    rmSync(join(part!.dir, 'cmanual.parquet'));
    const r = await archive.compact({ minRows: 100_000 });
    expect(r).toEqual({ partitions: 1, filesMerged: 5, rows: 10_000 });
    expect(liveFiles(part!.dir).length).toBe(1);
    // Beside the merged file only its minute rollup (rollup.ts) and the partition's port rollup (port-rollup.ts): no manifest, no source's rollup.
    expect(readdirSync(part!.dir).filter((f) => !f.endsWith('.parquet') && !f.endsWith('.ports'))).toEqual([liveFiles(part!.dir)[0]!.split('/').pop()!.replace(/\.parquet$/, '.rollup')]);
    expect(readdirSync(part!.dir).filter((f) => f.endsWith('.ports'))).toHaveLength(1);
    expect((await archive.queryFlows(ctx, q)).rows).toEqual([expect.objectContaining({ flows: '10000' })]);
    // The current hour is left alone.
    expect(await archive.compact({ minRows: 100_000, graceMs: 86_400_000 })).toEqual({ partitions: 0, filesMerged: 0, rows: 0 });
    await archive.close();
  });

  it('filters IPv6 prefixes exactly (128-bit halves, no rounding) and shows addresses and pseudonyms as text', async () => {
    const dir = fresh();
    const archive = createFlowArchive({ dir, engine, audit, policy: allow, clock: new ManualClock('2026-05-02T00:00:00Z'), retentionOf: async () => new Map() });
    await archive.write(syntheticSelected(7000));
    const ctx = systemContext('test');
    const q = (filters: Record<string, unknown>) => archive.queryFlows(ctx, { purpose: 'prefix test of the archive', filters: { from: '2026-05-01T00:00:00Z', to: '2026-05-02T00:00:00Z', ...filters }, groupBy: ['foreignAddress'], limit: 10_000 });
    const v6 = await q({ foreignPrefix: '2001:db8::/64' });
    expect(v6.rows.reduce((a, r) => a + Number(r['flows']), 0)).toBe(1000);
    expect(v6.rows.filter((r) => !String(r['foreignAddress']).startsWith('2001:db8:'))).toEqual([]);
    // One host of the /64 (2001:db8::7 is row 7's source): exact, not its neighbours.
    const one = await q({ foreignAddress: '2001:db8::7' });
    expect(one.rows).toEqual([expect.objectContaining({ foreignAddress: '2001:db8::7', flows: '1' })]);
    const v4 = await q({ foreignPrefix: '198.51.100.0/30' });
    expect(v4.rows.map((r) => r['foreignAddress']).sort()).toEqual(['198.51.100.0', '198.51.100.1', '198.51.100.2', '198.51.100.3']);
    const raw = await archive.queryFlows(ctx, { purpose: 'raw rows of the archive', filters: { from: '2026-05-01T00:00:00Z', to: '2026-05-02T00:00:00Z', foreignAddress: '198.51.100.1' }, limit: 1 });
    expect(raw.rows[0]).toMatchObject({ src_addr: '198.51.100.1', dst_addr: null, basis: 'b1', category: 'inbound', pseudonym_period: '2026-05' });
    expect(String(raw.rows[0]!['dst_pseudonym'])).toMatch(/^[0-9a-f]{32}$/);
    // By pseudonym, as a finding names it: row 1's destination bytes are 31…46 (as every 256th row's after it: 28 rows).
    const hex = Buffer.from(Array.from({ length: 16 }, (_, k) => (31 + k) & 255)).toString('hex');
    const byPseudonym = await archive.queryFlows(ctx, { purpose: 'flows of one pseudonymous host', filters: { from: '2026-05-01T00:00:00Z', to: '2026-05-02T00:00:00Z', pseudonym: hex }, groupBy: ['minute'] });
    expect(byPseudonym.rows).toEqual([expect.objectContaining({ minute: '2026-05-01T10:00', flows: '28' })]);
    await archive.close();
  });
});
