/** @module Tests of `mamori collect --stats` parsing: the collector's own /metrics page read back into per-exporter rows. */
import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { systemClock } from '#platform/clock/index.js';
import { MetricsRegistry } from '#platform/metrics/index.js';
import { createCountingSink, createUdpCollector, encodeNetflowV5 } from '#modules/collection/index.js';
import { dropsLine, exporterRowsFromMetrics, parsePrometheusText } from './collection.js';

describe('collect --stats', () => {
  it('reads per-exporter counters back from a rendered /metrics page', async () => {
    const metrics = new MetricsRegistry();
    const c = createUdpCollector({ listeners: [{ host: '127.0.0.1', port: 0 }], receiveBufferBytes: 1 << 20, batchSize: 64, flushIntervalMs: 50, templateTimeoutSeconds: 60 }, { sink: createCountingSink(), metrics, clock: systemClock });
    await c.start();
    try {
      const rec = { start: 1_700_000_000_000, end: 1_700_000_001_000, srcAddr: '198.51.100.7', dstAddr: '203.0.113.9', srcPort: 1, dstPort: 443, proto: 6, tcpFlags: 2, bytes: 40, packets: 1, samplingRate: 1, inIf: 0, outIf: 0, exporter: '' };
      const s = createSocket('udp4');
      for (const d of [...encodeNetflowV5([rec, rec, rec], { exportTimeMs: 1_700_000_002_000, sequence: 0 }).datagrams, new Uint8Array([0, 42])]) {
        await new Promise<void>((r) => s.send(d, c.stats().listeners[0]!.port, '127.0.0.1', () => r()));
      }
      s.close();
      for (let i = 0; i < 100 && c.stats().totals.datagrams < 2; i++) await new Promise((r) => setTimeout(r, 10));
      const rows = exporterRowsFromMetrics(parsePrometheusText(metrics.render()));
      expect(rows).toEqual([{ exporter: '127.0.0.1', datagrams: 2, flows: 3, lostFlows: 0, templatesMissing: 0, errors: { BAD_VERSION: 1 } }]);
    } finally {
      await c.stop();
    }
  });

  it('says where flows were dropped, by place and reason', () => {
    const page = ['mamori_pipeline_dropped_flows_total{reason="analysis_behind"} 0', 'mamori_pipeline_dropped_flows_total{reason="archive_behind"} 12000',
      'mamori_pipeline_dropped_flows_total{reason="archive_failed"} 5', 'mamori_collector_ring_dropped_datagrams_total 3', 'mamori_archive_staged_flows 4096'].join('\n');
    expect(dropsLine(parsePrometheusText(page))).toBe('dropped: at the pipeline\'s admission 12005 flows (analysis_behind 0, archive_behind 12000, archive_failed 5); receive ring 3 datagrams; sink 0 flows; archive staged 4096 flows\n');
  });

  it('parses labels with escapes and ignores comments', () => {
    expect(parsePrometheusText('# HELP x y\nx{a="q\\"z",b="c"} 5\ny 2\n')).toEqual([{ name: 'x', labels: { a: 'q"z', b: 'c' }, value: 5 }, { name: 'y', labels: {}, value: 2 }]);
  });
});
