import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { openDuckDb, type DuckDb } from '#platform/duckdb/index.js';
import { createLogger } from '#platform/logger/index.js';
import { MetricsRegistry } from '#platform/metrics/index.js';
import { appendFlow, createFlowBatch, type FlowBatch } from '#modules/collection/index.js';
import { createFlowArchive } from '#modules/selection/index.js';
import type { Core } from './core.js';
import { createPipeline } from './pipeline.js';
import { createTestCore } from './test-support/harness.js';

const start = Date.parse('2026-04-01T00:00:00.000Z');

/** `n` flows from a domestic host to the covered foreign server, one ms apart from `offset`. */
function batchOf(n: number, offset: number): FlowBatch {
  const b = createFlowBatch(n);
  for (let i = 0; i < n; i++) {
    const t = start + offset + i;
    appendFlow(b, { start: t, end: t + 300, srcAddr: '133.87.201.77', dstAddr: '45.33.32.156', srcPort: 40_000 + (i % 20_000), dstPort: 443, proto: 6, tcpFlags: 0x1b, bytes: 600, packets: 5, samplingRate: 1, inIf: 1, outIf: 2, exporter: '' });
  }
  return b;
}

describe('pipeline backpressure: a stage that falls behind never stalls the receive path, and every loss is counted', () => {
  const clock = new ManualClock(start + 3_600_000);
  let core: Core;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'mamori-backpressure-'));
    core = await createTestCore({ url: `sqlite:${join(dataDir, 'mamori.db')}`, clock, config: { dataDir } });
    await core.selection.createBasis(systemContext('test'), {
      kind: 'cross_border_approval', title: 'C2 investigation', createdBy: 'request-test', selectors: { foreignPrefixes: ['45.33.32.0/24'] },
      validFrom: new Date(start - 86_400_000).toISOString(), validUntil: new Date(start + 30 * 86_400_000).toISOString(),
      allowedFields: ['start', 'end', 'srcAddr', 'dstAddr', 'srcPort', 'dstPort', 'proto', 'tcpFlags', 'bytes', 'packets'], retentionDays: 30,
    });
    await core.selection.reload();
  });
  afterAll(async () => { await core.close(); rmSync(dataDir, { recursive: true, force: true }); });

  it('drops whole batches at admission with reason archive_behind while a slowed archive writes; the rest is archived exactly', async () => {
    // An archive whose Parquet writes wait until released: it falls behind at once.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => { release = r; });
    const slow = async (): Promise<DuckDb> => {
      const e = await openDuckDb();
      return { ...e, run: async (sql, params) => { if (sql.startsWith('COPY')) await gate; return e.run(sql, params); } };
    };
    const archive = createFlowArchive({ dir: join(dataDir, 'slow-archive'), engine: slow, audit: core.audit, policy: core.policy, clock, retentionOf: (ids) => core.selection.retentionOf(ids), writer: { fileRows: 4000, bufferRows: 8000 } });
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: new Writable({ write(chunk: Buffer, _e, cb) { lines.push(chunk.toString()); cb(); } }) });
    const metrics = new MetricsRegistry();
    const pipeline = createPipeline({ ...core, archive }, { logger, metrics, analysisThreads: 0 });
    await pipeline.component.start();
    try {
      // Ten batches as fast as the collector hands them on: no write returns a promise (nothing waits).
      for (let k = 0; k < 10; k++) expect(pipeline.sink.write(batchOf(2000, k * 2000))).toBeUndefined();
      const s = pipeline.stats();
      expect(s.kept).toBe(20_000);
      expect(s.archived).toBe(8000);
      expect(s.dropped).toEqual({ analysis_behind: 0, archive_behind: 12_000, archive_failed: 0 });
      expect(s.kept).toBe(s.archived + s.dropped.archive_behind);
      // Counted on /metrics, with the selection counters (dashboard and API), and logged once, not per batch.
      expect(metrics.render()).toContain('mamori_pipeline_dropped_flows_total{reason="archive_behind"} 12000');
      expect(core.selection.counters(systemContext('test')).lost).toEqual([{ reason: 'archive_behind', flows: 12_000 }]);
      expect(lines.filter((l) => l.includes('dropped at the pipeline')).length).toBe(1);
      release();
      await pipeline.flush(true);
      // The archive holds exactly what was admitted.
      const q = await archive.queryFlows(systemContext('test'), { purpose: 'backpressure test: count archived flows', filters: { from: new Date(start - 3_600_000).toISOString(), to: new Date(start + 3_600_000).toISOString() }, groupBy: ['basis'] });
      expect(q.rows.map((r) => Number(r['flows']))).toEqual([8000]);
      // The loss is in the audited counters too, outside the Diet report's kept/dropped sums.
      const entries = (await core.audit.entries({ from: 0, to: (await core.audit.head()).size })).filter((e) => e.action === 'selection:counters');
      expect(entries.some((e) => e.details['lost_archive_behind'] === 12_000)).toBe(true);
    } finally {
      await pipeline.component.stop();
      await archive.close();
    }
  }, 60_000);

  it('drops whole batches with reason analysis_behind when the detectors\' queue is full: neither archived nor analysed', async () => {
    const metrics = new MetricsRegistry();
    const pipeline = createPipeline(core, { metrics, analysisThreads: 0, analysisQueueRows: 4096 });
    const before = core.archive.writer.stats().writtenRows;
    await pipeline.component.start();
    try {
      // Handed on in one turn of the event loop: the detectors take nothing before the loop ends, so the queue fills.
      for (let k = 0; k < 5; k++) expect(pipeline.sink.write(batchOf(2000, 200_000 + k * 2000))).toBeUndefined();
      expect(pipeline.stats()).toMatchObject({ kept: 10_000, archived: 4000, dropped: { analysis_behind: 6000, archive_behind: 0, archive_failed: 0 } });
      await pipeline.flush(true);
      expect(pipeline.stats().analysisQueued).toBe(0);
      expect(core.archive.writer.stats().writtenRows - before).toBe(4000);
      expect(metrics.render()).toContain('mamori_pipeline_dropped_flows_total{reason="analysis_behind"} 6000');
    } finally {
      await pipeline.component.stop();
    }
  });

  it('waits instead of dropping when it may (file imports), and archives every flow', async () => {
    const pipeline = createPipeline(core, { analysisThreads: 0, whenBehind: 'wait' });
    const before = core.archive.writer.stats().writtenRows;
    await pipeline.component.start();
    try {
      for (let k = 0; k < 4; k++) await pipeline.sink.write(batchOf(1000, 100_000 + k * 1000));
      await pipeline.flush(true);
      expect(pipeline.stats()).toMatchObject({ kept: 4000, archived: 4000, dropped: { analysis_behind: 0, archive_behind: 0, archive_failed: 0 } });
      expect(core.archive.writer.stats().writtenRows - before).toBe(4000);
    } finally {
      await pipeline.component.stop();
    }
  });
});
