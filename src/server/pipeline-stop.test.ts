/** @module The pipeline's stop when a detector thread has failed: the failure is reported, and selection's counters are still audited and the threads still stopped. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type * as Analysis from '#modules/analysis/index.js';
import type { DetectorThreads, DetectorThreadsOptions } from '#modules/analysis/index.js';
import type { Core } from './core.js';
import { createPipeline } from './pipeline.js';
import { createTestCore } from './test-support/harness.js';

// The pool createPipeline starts, wrapped so the test can make it fail as a crashed thread makes it
// fail (every call rejects with the thread's error) and see whether it was closed.
const pool = vi.hoisted(() => ({ crashed: false, closed: 0 }));

vi.mock('#modules/analysis/index.js', async (importOriginal) => {
  const analysis = await importOriginal<typeof Analysis>();
  return {
    ...analysis,
    createDetectorThreads(options: DetectorThreadsOptions): DetectorThreads {
      const real = analysis.createDetectorThreads(options);
      const crash = (): Error => new Error('detector thread 0 exited with code 1');
      return {
        ...real,
        flushByKind: (nowMs, final) => (pool.crashed ? Promise.reject(crash()) : real.flushByKind(nowMs, final)),
        flush: (nowMs, final) => (pool.crashed ? Promise.reject(crash()) : real.flush(nowMs, final)),
        close: () => { pool.closed++; return real.close(); },
      };
    },
  };
});

describe('pipeline stop with detector threads', () => {
  let core: Core;
  beforeAll(async () => { core = await createTestCore(); });
  afterAll(async () => { await core.close(); });

  it('after a detector thread failed, stop reports the failure yet audits selection\'s counters and stops the threads', async () => {
    const pipeline = createPipeline(core, { analysisThreads: 1 });
    await pipeline.component.start();
    const audited = vi.spyOn(core.selection, 'recordCounters');
    pool.crashed = true;
    await expect(pipeline.component.stop()).rejects.toThrow(/detector thread 0 exited/);
    expect(audited).toHaveBeenCalledTimes(1);
    expect(pool.closed).toBe(1);
  }, 30_000);

  it('stops cleanly when the threads are well: one flush, one counters entry, threads stopped', async () => {
    pool.crashed = false;
    pool.closed = 0;
    const pipeline = createPipeline(core, { analysisThreads: 1 });
    await pipeline.component.start();
    const audited = vi.spyOn(core.selection, 'recordCounters');
    audited.mockClear();
    await expect(pipeline.component.stop()).resolves.toBeUndefined();
    expect(audited).toHaveBeenCalledTimes(1);
    expect(pool.closed).toBe(1);
  }, 30_000);
});
