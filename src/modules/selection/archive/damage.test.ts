/** @module Damaged archive files: a broken Parquet frame is found, set aside in its partition, named in answers and removed with its partition. */
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { openDuckDb, type DuckDb } from '#platform/duckdb/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import { syntheticSelected, WHOLE_FRAME_BAD_FOOTER } from '../test-support/selected.js';
import { parquetDamage } from './damage.js';
import { createFlowArchive, liveFiles, listPartitions } from './index.js';

const dirs: string[] = [];
const engines: DuckDb[] = [];
afterEach(() => { for (const e of engines.splice(0)) e.close(); for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
async function engine(): Promise<DuckDb> { const e = await openDuckDb(); engines.push(e); return e; }
const tmp = (name: string): string => { const d = mkdtempSync(join(tmpdir(), `mamori-damage-${name}-`)); dirs.push(d); return d; };

type Recorded = { action: string; outcome: string; legalBasis?: string | null; object?: { id: string }; details?: Record<string, unknown> };
function setup(now = '2026-05-01T11:00:00Z') {
  const dir = tmp('archive');
  const recorded: Recorded[] = [];
  const errors: Record<string, unknown>[] = [];
  const audit = { record: async (_ctx: unknown, e: Recorded) => { recorded.push(e); } } as unknown as AuditRecorder;
  const allow = { require: () => undefined } as unknown as PolicyEngine;
  const logger = { info: () => undefined, warn: () => undefined, error: (o: object) => { errors.push(o as Record<string, unknown>); } };
  const clock = new ManualClock(now);
  const archive = createFlowArchive({ dir, engine, audit, policy: allow, clock, retentionOf: async () => new Map([['b1', 1]]), logger });
  return { dir, archive, recorded, errors, clock };
}

/** Three files of one partition (basis b1, hour 10): 300, 200 and 100 rows, bytes 1, 2 and 3 a row. */
async function threeFiles(archive: ReturnType<typeof setup>['archive']): Promise<string[]> {
  for (const [k, n] of [300, 200, 100].entries()) {
    await archive.write(syntheticSelected(n, { startMs: Date.parse('2026-05-01T10:00:00Z') + k * 60_000, bytes: k + 1 }));
  }
  const [p] = listPartitions(archive.dir);
  const files = liveFiles(p!.dir);
  expect(files).toHaveLength(3);
  return files;
}

const question = { purpose: 'damage test: flows and bytes of the hour', filters: { from: '2026-05-01T10:00:00Z', to: '2026-05-01T11:00:00Z' }, groupBy: ['basis' as const] };

describe('parquetDamage', () => {
  it('passes a whole file and names what is broken in a cut or overwritten one', async () => {
    const { archive } = setup();
    const [file] = await threeFiles(archive);
    expect(parquetDamage(file!)).toBeUndefined();
    const d = tmp('frames');
    const bytes = readFileSync(file!);
    const at = (n: string, b: Buffer | string): string => { const f = join(d, n); writeFileSync(f, b); return f; };
    expect(parquetDamage(at('cut.parquet', bytes.subarray(0, bytes.length - 100)))).toMatch(/no Parquet magic .* at the end/);
    expect(parquetDamage(at('tiny.parquet', 'PAR1'))).toMatch(/shorter than/);
    const head = Buffer.from(bytes);
    head.fill(0, 0, 4);
    expect(parquetDamage(at('head.parquet', head))).toMatch(/at the start/);
    const footer = Buffer.from(bytes);
    footer.writeUInt32LE(bytes.length, bytes.length - 8);
    expect(parquetDamage(at('footer.parquet', footer))).toMatch(/a footer of \d+ bytes in a file of \d+/);
    expect(parquetDamage(at('inside.parquet', WHOLE_FRAME_BAD_FOOTER))).toBeUndefined(); // not certain: tried again, never set aside
    expect(parquetDamage(join(d, 'gone.parquet'))).toBeUndefined();
    await archive.close();
  }, 60_000);
});

describe('a damaged archive file', () => {
  it('no longer fails every question over its hour: set aside, audited, and named in each answer, which lacks its flows', async () => {
    const { archive, recorded, errors, dir } = setup();
    const files = await threeFiles(archive);
    const cut = files.find((f) => statSync(f).size === Math.min(...files.map((x) => statSync(x).size)))!; // the 100-row file
    truncateSync(cut, statSync(cut).size - 64); // a disk that lost the end of the file
    const ctx = systemContext('test');

    const first = await archive.queryFlows(ctx, question);
    expect(first.rows).toEqual([expect.objectContaining({ basis: 'b1', flows: '500', bytes: 300 * 1 + 200 * 2 })]);
    const name = basename(cut);
    expect(first.damaged).toEqual([{ basis: 'b1', hour: '2026-05-01T10', file: name, bytes: statSync(join(dir, 'basis=b1', 'hour=2026-05-01T10', 'damaged', name)).size,
      reason: expect.stringContaining('at the end'), at: '2026-05-01T11:00:00.000Z' }]);
    expect(existsSync(cut)).toBe(false);
    expect(liveFiles(listPartitions(dir)[0]!.dir)).toHaveLength(2);
    expect(recorded.filter((r) => r.action === 'archive:set-aside')).toEqual([expect.objectContaining({
      outcome: 'success', legalBasis: 'b1', object: { type: 'archive_partition', id: 'basis=b1/hour=2026-05-01T10' }, details: expect.objectContaining({ file: name }),
    })]);
    expect(recorded.filter((r) => r.action === 'flows:query').map((r) => [r.outcome, r.details?.['damagedFiles']])).toEqual([['success', 1]]);
    expect(errors).toEqual([expect.objectContaining({ basisId: 'b1', hour: '2026-05-01T10', file: name })]);
    expect(JSON.stringify(errors)).not.toContain(dir);
    expect(archive.rollupStats().setAside).toBe(1);

    // Every later answer over the hour names it too; nothing more is set aside.
    const again = await archive.queryFlows(ctx, question);
    expect(again.rows).toEqual(first.rows);
    expect(again.damaged).toEqual(first.damaged);
    expect(recorded.filter((r) => r.action === 'archive:set-aside')).toHaveLength(1);
    // The inventory counts what can be read.
    expect(await archive.inventory(ctx)).toEqual([expect.objectContaining({ basisId: 'b1', partitions: 1, rows: 500 })]);
    await archive.close();
  }, 60_000);

  it('a question that fails for another reason still fails, and nothing is set aside', async () => {
    const { archive, recorded } = setup();
    const files = await threeFiles(archive);
    writeFileSync(files[0]!, WHOLE_FRAME_BAD_FOOTER);
    await expect(archive.queryFlows(systemContext('test'), question)).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(files.every((f) => existsSync(f))).toBe(true);
    expect(recorded.map((r) => [r.action, r.outcome])).toEqual([['flows:query', 'failure']]);
    await archive.close();
  }, 60_000);

  it('goes with its partition at retention (counted in the audit entry), leaving nothing of the basis behind', async () => {
    const { archive, recorded, dir, clock } = setup();
    const files = await threeFiles(archive);
    truncateSync(files[1]!, 10);
    clock.set(Date.parse('2026-05-03T00:00:00Z')); // past one day's retention
    // The count before the deletion sets the broken file aside first (it would fail the count, and the deletion with it).
    expect(await archive.enforceRetention(systemContext('retention'))).toEqual({ deleted: [{ basis: 'b1', hour: '2026-05-01T10' }] });
    const del = recorded.find((r) => r.action === 'retention:delete')!;
    expect(del).toMatchObject({ outcome: 'success', details: { flows: 400, partitions: 1, damagedFiles: 1 } });
    expect(recorded.filter((r) => r.action === 'archive:set-aside')).toHaveLength(1);
    expect(existsSync(join(dir, 'basis=b1'))).toBe(false);
    await archive.close();
  }, 60_000);
});
