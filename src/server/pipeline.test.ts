import { createSocket } from 'node:dgram';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { createLogger } from '#platform/logger/index.js';
import { MetricsRegistry } from '#platform/metrics/index.js';
import { createFlowBatch, createFlowDecoder, createUdpCollector, encodeNetflowV5, type FlowRecord } from '#modules/collection/index.js';
import { presentRow } from '#modules/selection/index.js';
import type { Core } from './core.js';
import { createPipeline } from './pipeline.js';
import { createTestCore } from './test-support/harness.js';

// Distinctive domestic (JP) addresses that must never be written anywhere, in any form.
const DOMESTIC_A = '133.87.201.77';
const DOMESTIC_B = '133.42.9.19';
const FOREIGN = '45.33.32.156';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

function patterns(address: string): Buffer[] {
  const octets = address.split('.').map(Number);
  return [Buffer.from(address), Buffer.from(octets), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...octets])];
}

describe('pipeline: UDP in → selection → archive and detectors', () => {
  const start = Date.parse('2026-04-01T00:00:00.000Z');
  const clock = new ManualClock(start + 3_600_000);
  let core: Core;
  let dataDir: string;
  let logFile: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'mamori-pipeline-'));
    core = await createTestCore({ url: `sqlite:${join(dataDir, 'mamori.db')}`, clock, config: { dataDir } });
    logFile = join(dataDir, 'mamori.log');
  });
  afterAll(async () => { await core.close(); });

  /** A cross-border basis over the C&C's /24, valid around the test's flows. */
  async function createBasis(title: string): Promise<{ id: string }> {
    const basis = await core.selection.createBasis(systemContext('test'), {
      kind: 'cross_border_approval', title, createdBy: 'request-test',
      selectors: { foreignPrefixes: ['45.33.32.0/24'] },
      validFrom: new Date(start - 86_400_000).toISOString(), validUntil: new Date(start + 30 * 86_400_000).toISOString(),
      allowedFields: ['start', 'end', 'srcAddr', 'dstAddr', 'srcPort', 'dstPort', 'proto', 'tcpFlags', 'bytes', 'packets'],
      retentionDays: 30,
    });
    await core.selection.reload();
    return basis;
  }

  /** A beacon: the domestic host calls the foreign server every 60 s for two hours; with `chatter`, domestic↔domestic flows too. */
  function beaconRecords(chatter: boolean): FlowRecord[] {
    const records: FlowRecord[] = [];
    for (let i = 0; i < 120; i++) {
      const t = start + i * 60_000;
      records.push({ start: t, end: t + 300, srcAddr: DOMESTIC_A, dstAddr: FOREIGN, srcPort: 40000 + i, dstPort: 443, proto: 6, tcpFlags: 0x1b, bytes: 620, packets: 6, samplingRate: 1, inIf: 1, outIf: 2, exporter: '' });
      if (chatter) records.push({ start: t + 5, end: t + 50, srcAddr: DOMESTIC_A, dstAddr: DOMESTIC_B, srcPort: 50000 + i, dstPort: 445, proto: 6, tcpFlags: 0x1b, bytes: 900, packets: 8, samplingRate: 1, inIf: 1, outIf: 2, exporter: '' });
    }
    return records;
  }

  it('keeps only covered cross-border flows, never writes a domestic address, and finds the beacon', async () => {
    const sys = systemContext('test');
    const basis = await createBasis('C2 investigation');
    const logStream = createWriteStream(logFile);
    const logger = createLogger({ level: 'debug', destination: logStream });
    const pipeline = createPipeline(core, { logger, metrics: new MetricsRegistry() });
    const collector = createUdpCollector({ ...core.config.collector, listeners: [{ host: '127.0.0.1', port: 0 }] }, { sink: pipeline.sink, metrics: new MetricsRegistry(), clock, logger });
    await collector.start();
    await pipeline.component.start();
    try {
      const records = beaconRecords(true);
      const { datagrams } = encodeNetflowV5(records, { exportTimeMs: start + 2 * 3_600_000, sequence: 0, sysUptimeMs: 3 * 3_600_000 });
      const port = collector.stats().listeners[0]!.port;
      const sock = createSocket('udp4');
      for (const d of datagrams) await new Promise<void>((res, rej) => sock.send(d, port, '127.0.0.1', (e) => (e ? rej(e) : res())));
      sock.close();
      for (let i = 0; i < 100 && pipeline.stats().received < records.length; i++) await new Promise((r) => setTimeout(r, 50));
      await collector.stop();
      expect(pipeline.stats().received).toBe(records.length);
      expect(pipeline.stats().kept).toBe(120);
      await pipeline.flush(true);
      expect(pipeline.stats().archived).toBe(120);

      const counters = core.selection.counters(sys);
      const dropped = JSON.stringify(counters);
      expect(dropped).toContain('domestic');

      const archived = await core.archive.queryFlows(sys, { purpose: 'pipeline end-to-end test', filters: { from: new Date(start - 3_600_000).toISOString(), to: new Date(start + 4 * 3_600_000).toISOString() }, limit: 1000 });
      expect(JSON.stringify(archived)).toContain(FOREIGN);
      expect(JSON.stringify(archived)).toContain(basis.id);

      const findings = await core.analysis.listFindings(systemContext('test'), {});
      const beacon = findings.items.find((f) => f.kind === 'beacon' && f.subject.value === FOREIGN);
      expect(beacon, JSON.stringify(findings.items.map((f) => [f.kind, f.subject.value, f.level]))).toBeDefined();
      expect(JSON.stringify(beacon)).not.toContain(DOMESTIC_A);
    } finally {
      await pipeline.component.stop();
      await new Promise<void>((r) => logStream.end(r));
    }

    // Invariants 1 and 3: scan every byte under the data directory (database, WAL, archive, keys, logs)…
    const bad: string[] = [];
    for (const f of files(dataDir)) {
      const bytes = readFileSync(f);
      for (const a of [DOMESTIC_A, DOMESTIC_B]) for (const p of patterns(a)) if (bytes.includes(p)) bad.push(`${f}: ${a} as ${p.length} bytes`);
    }
    // …and the Parquet files decoded, since compression hides bytes.
    const duck = await DuckDBInstance.create(':memory:');
    const conn = await duck.connect();
    const rows = await conn.runAndReadAll(`select * from read_parquet('${join(dataDir, 'archive')}/**/*.parquet', hive_partitioning = true)`);
    // Addresses and pseudonyms are stored as 128-bit halves: scan the values as stored and as text.
    const stored = rows.getRowObjectsJson();
    const decoded = JSON.stringify([stored, stored.map(presentRow)]);
    conn.closeSync();
    expect(decoded).toContain(FOREIGN);
    for (const a of [DOMESTIC_A, DOMESTIC_B]) if (decoded.includes(a)) bad.push(`parquet (decoded): ${a}`);
    expect(bad).toEqual([]);
  });
  it('with one detector thread (every kind in it) finds the same beacon and writes its findings', async () => {
    const sys = systemContext('test');
    await createBasis('C2 investigation, threaded');
    const pipeline = createPipeline(core, { analysisThreads: 1 });
    await pipeline.component.start();
    try {
      const records = beaconRecords(false);
      const decoder = createFlowDecoder({});
      const batch = createFlowBatch(records.length);
      for (const d of encodeNetflowV5(records, { exportTimeMs: start + 2 * 3_600_000, sequence: 0, sysUptimeMs: 3 * 3_600_000 }).datagrams) decoder.decode(d, '127.0.0.1', start + 2 * 3_600_000, batch);
      await pipeline.sink.write(batch);
      expect(pipeline.stats().kept).toBe(120);
      expect(await pipeline.flush(true)).toBeGreaterThan(0);
      expect(pipeline.detectors).toBeUndefined(); // they run in the worker thread, not as in-thread detectors
      const findings = await core.analysis.listFindings(sys, {});
      expect(findings.items.some((f) => f.kind === 'beacon' && f.subject.value === FOREIGN)).toBe(true);
    } finally {
      await pipeline.component.stop();
    }
  }, 60_000);
});
