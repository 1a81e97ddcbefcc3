/** @module The pipeline's stop when a detector thread has failed: the failure is reported, and selection's counters are still audited and the threads still stopped. */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '#platform/logger/index.js';
import { MetricsRegistry } from '#platform/metrics/index.js';
import type * as Analysis from '#modules/analysis/index.js';
import type { DetectorThreads, DetectorThreadsOptions } from '#modules/analysis/index.js';
import type { Core } from './core.js';
import { createPipeline } from './pipeline.js';
import { createTestCore } from './test-support/harness.js';

// The pool createPipeline starts, wrapped so the test can make it fail as a crashed thread makes it
// fail (every call rejects with the thread's error) and see whether it was closed.
const pool = vi.hoisted(() => ({
  crashed: false, hung: false, closed: 0, created: 0, onFailure: undefined as ((e: Error, unanalysed: number) => void) | undefined,
  // What the indicator store holds, and the indicator set each new pool was started with.
  stored: [] as Analysis.Indicator[], given: [] as Analysis.Indicator[][],
}));

vi.mock('#modules/analysis/index.js', async (importOriginal) => {
  const analysis = await importOriginal<typeof Analysis>();
  return {
    ...analysis,
    createDetectorThreads(options: DetectorThreadsOptions): DetectorThreads {
      const real = analysis.createDetectorThreads(options);
      pool.created++;
      pool.given.push([...(options.indicators ?? [])]);
      pool.onFailure = options.onFailure;
      const crash = (): Error => new Error('detector thread 0 exited with code 1');
      // A hung thread never answers; stopping the pool fails its pending calls, as the real pool does.
      const unanswered: Array<(e: Error) => void> = [];
      const flushByKind: DetectorThreads['flushByKind'] = (nowMs, final) => {
        if (pool.crashed) return Promise.reject(crash());
        if (pool.hung) return new Promise((_, reject) => { unanswered.push(reject); });
        return real.flushByKind(nowMs, final);
      };
      return {
        ...real,
        flushByKind,
        flush: async (nowMs, final) => Object.values(await flushByKind(nowMs, final)).flat(),
        close: () => { pool.closed++; for (const r of unanswered.splice(0)) r(new Error('detector threads closed')); return real.close(); },
      };
    },
    dbIndicatorSource: () => ({ list: () => Promise.resolve([...pool.stored]) }),
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

  it('when a detector thread never answers, stop gives up after stopTimeoutMs: threads stopped, counters audited, the failure reported', async () => {
    pool.crashed = false;
    pool.closed = 0;
    const pipeline = createPipeline(core, { analysisThreads: 2, stopTimeoutMs: 200 });
    await pipeline.component.start();
    const audited = vi.spyOn(core.selection, 'recordCounters');
    audited.mockClear();
    pool.hung = true;
    try {
      await expect(pipeline.component.stop()).rejects.toThrow(/closed/);
    } finally {
      pool.hung = false;
    }
    expect(audited).toHaveBeenCalledTimes(1);
    expect(pool.closed).toBeGreaterThanOrEqual(1);
  }, 10_000);

  it('a failing thread is said at once: error log, stats and metrics count the failure and the flows it leaves unanalysed', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'error', destination: new Writable({ write(chunk: Buffer, _e, done) { lines.push(chunk.toString('utf8')); done(); } }) });
    const metrics = new MetricsRegistry();
    const pipeline = createPipeline(core, { analysisThreads: 1, logger, metrics, restartDelayMs: 60_000 });
    expect(pool.onFailure).toBeTypeOf('function');
    pool.onFailure!(new Error('detector thread 0 exited with code 1'), 4096);
    expect(pipeline.stats()).toMatchObject({ detectorFailures: 1, unanalysedFlows: 4096, detectorRestarts: 0 });
    expect(lines.join('')).toContain('fresh detector threads start shortly');
    expect(metrics.render()).toMatch(/mamori_analysis_unanalysed_flows_total\S* 4096/);
    expect(metrics.render()).toMatch(/mamori_analysis_detector_failures_total\S* 1/);
    // While the threads are down there is nothing to flush; stop does not wait for the restart.
    await expect(pipeline.flush()).resolves.toBe(0);
    await pipeline.component.stop();
  }, 30_000);

  it('fresh detector threads start after a failure, sooner again once a flush succeeded, later while failures repeat', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', destination: new Writable({ write(chunk: Buffer, _e, done) { lines.push(chunk.toString('utf8')); done(); } }) });
    const metrics = new MetricsRegistry();
    const restartIn = (): number[] => lines.flatMap((l) => { const m = /"restartInMs":(\d+)/.exec(l); return m === null ? [] : [Number(m[1])]; });
    pool.created = 0;
    const pipeline = createPipeline(core, { analysisThreads: 1, logger, metrics, restartDelayMs: 20 });
    await pipeline.component.start();
    expect(pool.created).toBe(1);
    const waitFor = async (created: number): Promise<void> => { for (let i = 0; i < 200 && pool.created < created; i++) await new Promise((r) => setTimeout(r, 10)); };
    pool.onFailure!(new Error('detector thread 0 exited with code 1'), 10);
    await waitFor(2);
    expect(pool.created).toBe(2);
    expect(pipeline.stats()).toMatchObject({ detectorFailures: 1, detectorRestarts: 1 });
    expect(lines.join('')).toContain('fresh detector threads started after a failure');
    expect(metrics.render()).toMatch(/mamori_analysis_detector_restarts_total\S* 1/);
    // The fresh threads fail too before any flush: the delay doubles.
    pool.onFailure!(new Error('detector thread 0 exited with code 1'), 0);
    await waitFor(3);
    // They work: a flush succeeds, and the next failure waits the first delay again.
    await expect(pipeline.flush()).resolves.toBeGreaterThanOrEqual(0);
    pool.onFailure!(new Error('detector thread 0 exited with code 1'), 0);
    await waitFor(4);
    expect(restartIn()).toEqual([20, 40, 20]);
    expect(pipeline.stats()).toMatchObject({ detectorFailures: 3, detectorRestarts: 3, unanalysedFlows: 10 });
    await expect(pipeline.component.stop()).resolves.toBeUndefined();
  }, 30_000);

  it('fresh detector threads start with the indicator set last loaded, and the failed ones are stopped at once', async () => {
    pool.created = 0;
    pool.closed = 0;
    pool.given = [];
    pool.stored = [{ id: 'i1', kind: 'ipv4', value: '198.51.100.0/24', confidence: 80 }];
    const pipeline = createPipeline(core, { analysisThreads: 2, restartDelayMs: 20 });
    await pipeline.component.start(); // loads the set into the threads
    pool.onFailure!(new Error('detector thread 1 exited with code 1'), 0);
    await new Promise((r) => setImmediate(r));
    expect(pool.closed).toBe(1); // before the restart's delay is up
    for (let i = 0; i < 200 && pool.created < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(pool.given).toEqual([[], pool.stored]);
    await pipeline.component.stop();
    pool.stored = [];
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
