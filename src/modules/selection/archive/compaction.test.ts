/** @module Compaction: every file of a closed partition ends with ≥ minRows rows (a lone small file too), exact and in foreign-address order. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { openDuckDb, type DuckDb } from '#platform/duckdb/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import { syntheticSelected } from '../test-support/selected.js';
import { filesToMerge } from './compaction.js';
import { createFlowArchive, damagedFiles, liveFiles, listPartitions } from './index.js';

const dirs: string[] = [];
const engines: DuckDb[] = [];
afterEach(() => { for (const e of engines.splice(0)) e.close(); for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
async function engine(): Promise<DuckDb> { const e = await openDuckDb(); engines.push(e); return e; }

describe('filesToMerge', () => {
  const f = (...rows: number[]) => rows.map((r, i) => ({ file: `f${i}`, rows: r }));
  it('takes a lone small file with the smallest large file(s) until the merged file reaches minRows', () => {
    expect(filesToMerge(f(1_000_000, 4_110, 600_000), 100_000)).toEqual(['f1', 'f2']);
    expect(filesToMerge(f(50_000, 30_000, 40_000, 900_000), 100_000)).toEqual(['f1', 'f2', 'f0']);
    expect(filesToMerge(f(10, 60, 70, 900_000), 100)).toEqual(['f0', 'f1', 'f2']);
  });
  it('merges every file of a partition smaller than minRows in all, and leaves a partition without small files alone', () => {
    expect(filesToMerge(f(10, 20, 30), 100_000)).toEqual(['f0', 'f1', 'f2']);
    expect(filesToMerge(f(10), 100_000)).toEqual([]);
    expect(filesToMerge(f(100_000, 2_000_000), 100_000)).toEqual([]);
    expect(filesToMerge([], 100_000)).toEqual([]);
  });
});

describe('archive compaction', () => {
  it('leaves no file under minRows when a lone small file sits beside large ones; exact, in foreign-address order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mamori-compaction-'));
    dirs.push(dir);
    const allow = { require: () => undefined } as unknown as PolicyEngine;
    const audit = { record: async () => undefined } as unknown as AuditRecorder;
    const archive = createFlowArchive({ dir, engine, audit, policy: allow, clock: new ManualClock('2026-05-02T00:00:00Z'), retentionOf: async () => new Map() });
    // Two files of 3,000 rows and the last write's 200 (bench/ingest's pattern, minRows scaled down).
    for (const [k, n] of [3000, 3000, 200].entries()) await archive.write(syntheticSelected(n, { startMs: Date.parse('2026-05-01T10:00:00Z') + k * 10_000, bytes: k + 1 }));
    const [part] = listPartitions(dir);
    expect(liveFiles(part!.dir)).toHaveLength(3);
    expect(await archive.compact({ minRows: 1000 })).toEqual({ partitions: 1, filesMerged: 2, rows: 3200 });
    const files = liveFiles(part!.dir);
    expect(readdirSync(part!.dir).filter((n) => !n.endsWith('.parquet') && !n.endsWith('.rollup') && !n.endsWith('.ports'))).toEqual([]); // rollups: rollup.ts, port-rollup.ts
    const e = await engine();
    const list = `[${files.map((x) => `'${x}'`).join(', ')}]`;
    const sizes = (await e.all(`SELECT num_rows FROM parquet_file_metadata(${list}) ORDER BY num_rows`)).map((r) => Number(r['num_rows']));
    expect(sizes).toEqual([3000, 3200]);
    const [t] = await e.all(`SELECT count(*) AS n, sum(bytes) AS b FROM read_parquet(${list})`);
    expect([Number(t!['n']), Number(t!['b'])]).toEqual([6200, 3000 * 1 + 3000 * 2 + 200 * 3]);
    // The merged file's rows in foreign-address order (IPv4 before IPv6, then address, then time).
    const merged = files.find((x) => x.split('/').pop()!.startsWith('c'))!;
    const [o] = await e.all(`SELECT count(*) AS n FROM (SELECT (src_ip_hi <> 0) AS v6, src_ip_hi AS h, src_ip_lo AS l, start,
      lag((src_ip_hi <> 0)) OVER w AS pv6, lag(src_ip_hi) OVER w AS ph, lag(src_ip_lo) OVER w AS pl, lag(start) OVER w AS ps
      FROM (SELECT *, file_row_number AS r FROM read_parquet('${merged}', file_row_number = true)) WINDOW w AS (ORDER BY r))
      WHERE pv6 IS NOT NULL AND (pv6, ph, pl, ps) > (v6, h, l, start)`);
    expect(Number(o!['n'])).toBe(0);
    const q = await archive.queryFlows(systemContext('test'), { purpose: 'compaction test: count every row', filters: { from: '2026-05-01T00:00:00Z', to: '2026-05-02T00:00:00Z' }, groupBy: ['basis'] });
    expect(q.rows).toEqual([expect.objectContaining({ basis: 'b1', flows: '6200' })]);
    // Nothing left to merge.
    expect(await archive.compact({ minRows: 1000 })).toEqual({ partitions: 0, filesMerged: 0, rows: 0 });
    await archive.close();
  }, 60_000);

  it('a merge that fails leaves its files as they are and the others go on: counted, logged without paths, tried again next pass; '
    + 'a file whose Parquet frame is broken is set aside', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mamori-compaction-fail-'));
    dirs.push(dir);
    const warned: Record<string, unknown>[] = [];
    const logger = { info: () => undefined, error: () => undefined, warn: (o: object) => { warned.push(o as Record<string, unknown>); } };
    const allow = { require: () => undefined } as unknown as PolicyEngine;
    const audit = { record: async () => undefined } as unknown as AuditRecorder;
    const archive = createFlowArchive({ dir, engine, audit, policy: allow, clock: new ManualClock('2026-05-02T00:00:00Z'), retentionOf: async () => new Map(), logger });
    // Three partitions (bases b1, b2, b3 of one hour), three files of 400 rows each.
    for (const k of [0, 1, 2]) await archive.write(syntheticSelected(1200, { bases: ['b1', 'b2', 'b3'], startMs: Date.parse('2026-05-01T10:00:00Z') + k * 10_000 }));
    const part = (b: string) => listPartitions(dir).find((p) => p.basis === b)!.dir;
    // b1: a file DuckDB cannot read at all (not even its frame: cut short, a disk error).
    const unreadable = join(part('b1'), 'a-bad.parquet');
    writeFileSync(unreadable, 'not a Parquet file');
    const b1Before = liveFiles(part('b1'));
    // b2: a file whose footer reads but whose pages do not: its partition's merge fails when it reads the rows.
    const damaged = liveFiles(part('b2'))[0]!;
    const original = readFileSync(damaged);
    const bytes = Buffer.from(original);
    const footer = bytes.readUInt32LE(bytes.length - 8);
    bytes.fill(0xab, 4, bytes.length - 8 - footer);
    writeFileSync(damaged, bytes);
    const b2Before = liveFiles(part('b2')).sort();
    const contents = (files: readonly string[]) => files.map((f) => readFileSync(f).toString('base64'));
    const b2Bytes = contents(b2Before);

    // b1's three good files and b3's are merged; b2's merge fails and its files stay as they were.
    expect(await archive.compact({ minRows: 1000 })).toEqual({ partitions: 2, filesMerged: 6, rows: 2400 });
    // b1's broken file is out of the partition's live files, kept in its damaged/ folder with why.
    expect(liveFiles(part('b1')).map((f) => basename(f))).toEqual([expect.stringMatching(/^c.*\.parquet$/)]);
    expect(damagedFiles(part('b1'))).toEqual([{ basis: 'b1', hour: '2026-05-01T10', file: 'a-bad.parquet', bytes: 18, reason: expect.stringContaining('at the start'), at: '2026-05-02T00:00:00.000Z' }]);
    expect(archive.rollupStats().setAside).toBe(1);
    expect(b1Before).toHaveLength(4);
    expect(liveFiles(part('b3'))).toHaveLength(1);
    expect(liveFiles(part('b2')).sort()).toEqual(b2Before);
    expect(contents(b2Before)).toEqual(b2Bytes);
    expect(readdirSync(join(dir, '_tmp'))).toEqual([]); // nothing of the failed merge left behind
    expect(archive.rollupStats().mergeFailures).toBe(2);
    const merges = warned.filter((w) => w['step'] === 'merge');
    expect(merges).toHaveLength(2);
    const err = expect.objectContaining({ type: 'Error' });
    expect(merges.find((w) => w['basisId'] === 'b1')).toMatchObject({ hour: '2026-05-01T10', files: 1, file: 'a-bad.parquet', err }); // left out
    expect(merges.find((w) => w['basisId'] === 'b2')).toMatchObject({ hour: '2026-05-01T10', files: 3, err }); // the merge of its three files
    expect(JSON.stringify(warned)).not.toContain(dir); // DuckDB's message quotes the paths

    // The next pass tries again: once b2's file reads, it is merged (its frame was whole: never set aside); b1's file is
    // no longer read (set aside), so nothing fails.
    writeFileSync(damaged, original);
    utimesSync(damaged, new Date(Date.now() + 5_000), new Date(Date.now() + 5_000)); // DuckDB's file cache knows a file by its mtime (in seconds)
    expect(await archive.compact({ minRows: 1000 })).toEqual({ partitions: 1, filesMerged: 3, rows: 1200 });
    expect(liveFiles(part('b2'))).toHaveLength(1);
    expect(archive.rollupStats()).toMatchObject({ mergeFailures: 2, setAside: 1 });
    expect(readFileSync(join(part('b1'), 'damaged', 'a-bad.parquet'), 'utf8')).toBe('not a Parquet file');
    await archive.close();
  }, 60_000);

  it('opens its engine again when opening it failed, instead of failing every later compaction', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mamori-compaction-open-'));
    dirs.push(dir);
    let opens = 0;
    const flaky = async (): Promise<DuckDb> => {
      if (++opens === 1) throw new Error('cannot open'); // a full disk, a spill directory that could not be made
      return engine();
    };
    const allow = { require: () => undefined } as unknown as PolicyEngine;
    const audit = { record: async () => undefined } as unknown as AuditRecorder;
    const archive = createFlowArchive({ dir, engine: flaky, audit, policy: allow, clock: new ManualClock('2026-05-02T00:00:00Z'), retentionOf: async () => new Map() });
    try {
      await archive.write(syntheticSelected(100, { startMs: Date.parse('2026-05-01T10:00:00Z') }));
      await expect(archive.compact({ minRows: 1000 })).rejects.toThrow('cannot open');
      await archive.write(syntheticSelected(100, { startMs: Date.parse('2026-05-01T10:10:00Z') }));
      expect(await archive.compact({ minRows: 1000 })).toEqual({ partitions: 1, filesMerged: 2, rows: 200 });
      expect(opens).toBe(3); // the failed open, compaction's, its rollup passes' (their own engine, `engine` by default)
    } finally {
      await archive.close();
    }
  }, 60_000);
});
