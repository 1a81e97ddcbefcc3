/** @module The demo traffic through a real UDP collector and the legal pipeline: beacon, scan and DDoS findings appear, domestic↔domestic flows are only counted. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { MetricsRegistry } from '#platform/metrics/index.js';
import { createUdpCollector, type UdpCollector } from '#modules/collection/index.js';
import type { Core } from '#server/core.js';
import { createPipeline, type Pipeline } from '#server/pipeline.js';
import { createTestCore } from '#server/test-support/harness.js';
import { seedDemo } from './seed.js';
import { C2, DDOS_TARGET, DEMO_SPECIAL_RANGE_OVERRIDES, KANTO_PREFIX, SCANNER, demoTrafficRecords, sendDemoTraffic } from './traffic.js';

describe('demo traffic', () => {
  const clock = new ManualClock('2026-04-01T09:00:00.000Z');
  const sys = systemContext('test');
  let core: Core;
  let pipeline: Pipeline;
  let collector: UdpCollector;
  let result: Awaited<ReturnType<typeof sendDemoTraffic>>;

  beforeAll(async () => {
    core = await createTestCore({ clock, config: { dataDir: mkdtempSync(join(tmpdir(), 'mamori-demo-traffic-')), selection: { specialRangeOverrides: DEMO_SPECIAL_RANGE_OVERRIDES } } });
    await seedDemo(core);
    pipeline = createPipeline(core);
    collector = createUdpCollector({ ...core.config.collector, listeners: [{ host: '127.0.0.1', port: 0 }], flushIntervalMs: 100 }, { sink: pipeline.sink, metrics: new MetricsRegistry(), clock });
    await collector.start();
    result = await sendDemoTraffic(core, { host: '127.0.0.1', port: collector.stats().listeners[0]!.port, pipeline, softflowd: false });
  }, 60_000);
  afterAll(async () => {
    await collector.stop();
    await core.close();
  });

  it('arrives whole over UDP and is selected under the three kinds of basis', async () => {
    expect(pipeline.stats().received).toBe(result.flows);
    const bases = (await core.selection.listBases(sys, { limit: 500 })).items;
    const kinds = new Map(bases.map((b) => [b.id, b.kind]));
    expect(kinds.get(result.bases.transitBasisId)).toBe('transit_approval');
    expect(kinds.get(result.bases.crossBorderBasisId)).toBe('cross_border_approval');
    expect(kinds.get(result.bases.consentBasisId)).toBe('consent_agreement');
    // The seeded transit approval is reused, not duplicated; the cross-border approval came through the commission.
    expect(bases.filter((b) => b.kind === 'transit_approval')).toHaveLength(1);
    expect((await core.selection.getBasis(sys, result.bases.crossBorderBasisId)).createdBy).toMatch(/^oversight:/);
    const kanto = await core.registry.getOperator(sys, result.bases.kantoOrgId);
    expect(kanto.ranges.map((r) => r.cidr)).toContain(KANTO_PREFIX);
    const read = await core.archive.queryFlows(sys, { purpose: 'demo traffic test: which bases hold flows', filters: { from: '2026-04-01T06:00:00Z', to: '2026-04-01T10:00:00Z' }, groupBy: ['basis', 'category'] });
    const held = new Set(read.rows.map((r) => `${String(r['basis'])}/${String(r['category'])}`));
    expect(held).toContain(`${result.bases.consentBasisId}/outbound`);
    expect(held).toContain(`${result.bases.consentBasisId}/inbound`);
    expect(held).toContain(`${result.bases.transitBasisId}/transit`);
    expect(held).toContain(`${result.bases.crossBorderBasisId}/outbound`);
  });

  it('counts domestic↔domestic flows as dropped and never stores them', async () => {
    const rows = core.selection.counters(sys).rows;
    const dropped = rows.filter((r) => r.category === 'domestic' && r.outcome === 'domestic').reduce((s, r) => s + r.flows, 0);
    expect(dropped).toBe(result.scenario.domestic);
    expect(rows.filter((r) => r.category === 'transit' && r.outcome === 'no_basis').reduce((s, r) => s + r.flows, 0)).toBeGreaterThan(0);
    const all = await core.archive.queryFlows(sys, { purpose: 'demo traffic test: raw rows', filters: { from: '2026-04-01T06:00:00Z', to: '2026-04-01T10:00:00Z' }, limit: 10_000 });
    const text = JSON.stringify(all.rows);
    for (const a of ['210.130.17.21', DDOS_TARGET, '60.32.4.10', '126.10.33.7']) expect(text).not.toContain(a);
    expect(all.rows.some((r) => r['category'] === 'domestic')).toBe(false);
  });

  it('makes beacon, botnet fan-in, scan and DDoS findings at once', async () => {
    const { items } = await core.analysis.listFindings(sys, { limit: 200 });
    const summary = items.map((f) => `${f.kind}:${f.subject.value}:${f.level}`);
    const find = (kind: string, value?: string) => items.find((f) => f.kind.startsWith(kind) && (value === undefined || f.subject.value === value));
    expect(find('beacon', C2), summary.join('\n')).toBeDefined();
    expect(find('beacon', C2)!.hostCount).toBeGreaterThanOrEqual(6);
    expect(find('botnet-fanin', C2), summary.join('\n')).toBeDefined();
    expect(find('scan', SCANNER), summary.join('\n')).toBeDefined();
    expect(find('ddos'), summary.join('\n')).toBeDefined();
    expect(result.findingsWritten).toBeGreaterThan(0);
    // Domestic hosts appear only as pseudonyms.
    for (const a of ['210.130.17.21', DDOS_TARGET]) expect(JSON.stringify(items)).not.toContain(a);
  });

  it('is the same scenario each time, in export order', () => {
    const a = demoTrafficRecords(Date.parse('2026-04-01T09:00:00Z'), Date.parse('2026-04-01T08:59:00Z'));
    const b = demoTrafficRecords(Date.parse('2026-04-01T09:00:00Z'), Date.parse('2026-04-01T08:59:00Z'));
    expect(a).toEqual(b);
    expect(a.records.every((r, i) => i === 0 || r.end >= a.records[i - 1]!.end)).toBe(true);
  });
});
