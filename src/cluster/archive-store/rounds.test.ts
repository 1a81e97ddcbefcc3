/** @module The round store's engine: opened once for its rounds, opened again after a failed open, closed with the store. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDuckDb, type DuckDb } from '#platform/duckdb/index.js';
import type { ArchiveBucket } from './bucket.js';
import { createRoundStore, type Staged } from './rounds.js';

const dir = mkdtempSync(join(tmpdir(), 'mamori-rounds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A bucket that only records what is put: a round's files and records. */
function recordingBucket(): { bucket: ArchiveBucket; files: string[] } {
  const files: string[] = [];
  const info = { name: '', size: 0 } as unknown as Awaited<ReturnType<ArchiveBucket['info']>>;
  const bucket = {
    info: async () => null,
    putBytes: async () => info,
    putFile: async (name: string) => { files.push(name); return info; },
    delete: async () => undefined,
  } as unknown as ArchiveBucket;
  return { bucket, files };
}

/** A staged Parquet file of `rows` rows, as the archiver's writer leaves one. */
async function staged(e: DuckDb, name: string, rows: number): Promise<Staged> {
  const path = join(dir, `${name}.parquet`);
  await e.run(`COPY (SELECT range AS x FROM range(${rows})) TO '${path}' (FORMAT parquet)`);
  return { files: [{ path, name: { basis: 'b1', hour: '2026-12-06T10', file: `${name}.parquet` } }] };
}

describe('round store engine', () => {
  it('a round after one whose engine failed to open is stored; later rounds share the engine, closed with the store', async () => {
    const maker = await openDuckDb();
    const opened: { closed: boolean }[] = [];
    let fail = true;
    const engine = async (): Promise<DuckDb> => {
      // The first open fails, as on a full disk or with a spill directory that cannot be made.
      if (fail) { fail = false; throw new Error('cannot open: no space left on device'); }
      const e = await openDuckDb();
      const mark = { closed: false };
      opened.push(mark);
      return { ...e, close() { mark.closed = true; e.close(); } };
    };
    const { bucket, files } = recordingBucket();
    const rounds = createRoundStore({ bucket, dir, engine });
    await expect(rounds.store(await staged(maker, 'r1', 3), { 'archive-d-0': [1] }, [])).rejects.toThrow(/no space left/);
    expect(await rounds.store(await staged(maker, 'r2', 5), { 'archive-d-0': [1] }, [])).toMatchObject({ files: 1, rows: 5 });
    expect(await rounds.store(await staged(maker, 'r3', 7), { 'archive-d-0': [2] }, [])).toMatchObject({ files: 1, rows: 7 });
    expect(files).toEqual(['flows/basis=b1/hour=2026-12-06T10/r2.parquet', 'flows/basis=b1/hour=2026-12-06T10/r3.parquet']);
    expect(opened).toHaveLength(1); // one engine for both rounds
    await rounds.close();
    expect(opened[0]!.closed).toBe(true);
    maker.close();
  });
});
