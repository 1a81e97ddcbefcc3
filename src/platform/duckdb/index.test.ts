/** @module The DuckDB driver's instance settings (a memory limit and where what exceeds it spills), and engines opened on first use. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lazyDuckDb, openDuckDb, type DuckDb } from './index.js';

const settings = async (options: Parameters<typeof openDuckDb>[0]): Promise<Record<string, unknown>> => {
  const e = await openDuckDb(options);
  try {
    const [r] = await e.all(`SELECT current_setting('memory_limit') AS memory, current_setting('temp_directory') AS spill, current_setting('threads') AS threads`);
    return r!;
  } finally {
    e.close();
  }
};

describe('openDuckDb', () => {
  it('bounds the instance\'s memory and spills into the directory given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mamori-duckdb-'));
    try {
      expect(await settings({ memoryLimitBytes: 96 * 2 ** 20, spillDir: join(dir, 'spill') })).toEqual({ memory: '96.0 MiB', spill: join(dir, 'spill'), threads: '1' });
      // Unbounded unless asked: DuckDB's own default (a share of the machine's memory), spilling into the working directory.
      const d = await settings({ threads: 2 });
      expect(d['memory']).not.toBe('96.0 MiB');
      expect(d).toMatchObject({ spill: '.tmp', threads: '2' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a memory limit that is not a whole number of bytes above 0', async () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) await expect(openDuckDb({ memoryLimitBytes: bad }), String(bad)).rejects.toThrow(/memory limit/);
  });

  it('opens a lazy engine once for every caller, again after a failed open, and closes what it opened', async () => {
    let opens = 0;
    let closed = 0;
    const lazy = lazyDuckDb(async () => {
      if (++opens === 1) throw new Error('spill directory: no space left');
      return { close: () => { closed++; } } as unknown as DuckDb;
    });
    await expect(lazy.get()).rejects.toThrow('no space left');
    const [a, b] = await Promise.all([lazy.get(), lazy.get()]); // opened again, once for both
    expect(a).toBe(b);
    expect(opens).toBe(2);
    await lazy.close();
    expect(closed).toBe(1);
    await lazy.close(); // nothing left to close
    expect(closed).toBe(1);
  });
});
