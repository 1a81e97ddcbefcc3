/** @module The Diet report's flow figures come from what selection really counted: the pipeline audits `selection:counters` deltas, counts only. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext, type RequestContext } from '#platform/context/index.js';
import { newId } from '#platform/ids/index.js';
import { appendFlow, createFlowBatch, type FlowRecord } from '#modules/collection/index.js';
import type { Core } from './core.js';
import { createPipeline } from './pipeline.js';
import { createTestCore } from './test-support/harness.js';

const DOMESTIC_A = '133.87.201.77';
const DOMESTIC_B = '133.42.9.19';
const FOREIGN_C2 = '45.33.32.156';
const FOREIGN_OTHER = '8.8.8.8';
const EXPORTER = '133.87.200.1';

describe('Diet report ← selection counters', () => {
  const clock = new ManualClock('2026-04-01T03:00:00.000Z');
  const sys = systemContext('test');
  const chair: RequestContext = { actor: { kind: 'user', id: newId(), username: 'chair', roles: ['commissioner'], orgId: null, sectors: [] }, requestId: 'test-chair' };
  let core: Core;

  beforeAll(async () => {
    core = await createTestCore({ clock, config: { dataDir: mkdtempSync(join(tmpdir(), 'mamori-diet-counters-')) } });
    await core.selection.createBasis(sys, {
      kind: 'cross_border_approval', title: 'C2 investigation', createdBy: 'request-test', selectors: { foreignPrefixes: ['45.33.32.0/24'] },
      validFrom: '2026-03-31T00:00:00.000Z', validUntil: '2026-05-01T00:00:00.000Z', allowedFields: ['start', 'end', 'srcAddr', 'dstAddr', 'srcPort', 'dstPort', 'proto', 'bytes', 'packets'], retentionDays: 30,
    });
  });
  afterAll(async () => { await core.close(); });

  function batchOf(records: FlowRecord[]) {
    const b = createFlowBatch(records.length);
    for (const r of records) expect(appendFlow(b, r)).toBe(true);
    return b;
  }
  const flow = (i: number, src: string, dst: string): FlowRecord => ({ start: Date.parse('2026-04-01T01:00:00.000Z') + i * 1000, end: Date.parse('2026-04-01T01:00:00.000Z') + i * 1000 + 200, srcAddr: src, dstAddr: dst, srcPort: 40_000 + i, dstPort: 443, proto: 6, tcpFlags: 0x18, bytes: 700, packets: 5, samplingRate: 1, inIf: 1, outIf: 2, exporter: EXPORTER });

  it('sums to the kept and dropped flows per category, across periodic entries and the one at stop', async () => {
    const pipeline = createPipeline(core, { countersEveryMs: 3_600_000 });
    await pipeline.component.start();
    const mark = (await core.audit.head()).size;
    // 7 outbound kept, 3 inbound from an uncovered address dropped (no basis), 5 domestic↔domestic dropped, 2 transit dropped.
    await pipeline.sink.write(batchOf([
      ...Array.from({ length: 7 }, (_, i) => flow(i, DOMESTIC_A, FOREIGN_C2)),
      ...Array.from({ length: 3 }, (_, i) => flow(10 + i, FOREIGN_OTHER, DOMESTIC_B)),
      ...Array.from({ length: 5 }, (_, i) => flow(20 + i, DOMESTIC_A, DOMESTIC_B)),
      ...Array.from({ length: 2 }, (_, i) => flow(30 + i, FOREIGN_OTHER, FOREIGN_C2)),
    ]));
    await pipeline.recordCounters();
    // Nothing new: no entry.
    await pipeline.recordCounters();
    clock.advance(60_000);
    await pipeline.sink.write(batchOf(Array.from({ length: 4 }, (_, i) => flow(40 + i, DOMESTIC_B, DOMESTIC_A))));
    await pipeline.component.stop();

    const entries = (await core.audit.entries({ from: mark, to: (await core.audit.head()).size })).filter((e) => e.action === 'selection:counters');
    expect(entries).toHaveLength(2);
    expect(entries[0]!.details).toMatchObject({ kept_outbound: 7, dropped_inbound: 3, dropped_domestic: 5, dropped_transit: 2 });
    expect(entries[1]!.details).toMatchObject({ dropped_domestic: 4 });
    expect(entries[1]!.details['kept_outbound']).toBeUndefined();
    // Counts only: no exporter, no address, no basis.
    const text = JSON.stringify(entries);
    for (const a of [DOMESTIC_A, DOMESTIC_B, FOREIGN_C2, FOREIGN_OTHER, EXPORTER]) expect(text).not.toContain(a);
    expect(entries.every((e) => e.legalBasis === null)).toBe(true);

    // The Diet report's figures equal selection's own counters.
    const counted: Record<string, { kept: number; dropped: number }> = {};
    for (const r of core.selection.counters(sys).rows) {
      const row = (counted[r.category] ??= { kept: 0, dropped: 0 });
      row[r.outcome === 'kept' ? 'kept' : 'dropped'] += r.flows;
    }
    const report = await core.oversight.dietReport(chair, { from: '2026-04-01T00:00:00Z', to: '2026-04-02T00:00:00Z' });
    expect(report.sources['selectionCounters']).toBe(true);
    for (const [category, v] of Object.entries(counted)) expect(report.figures.flows[category], category).toEqual(v);
    expect(report.figures.flows['domestic']).toEqual({ kept: 0, dropped: 9 });
    expect(report.figures.flows['outbound']).toEqual({ kept: 7, dropped: 0 });
  });

  it('refuses the counters entry to a person without the right', async () => {
    const operator: RequestContext = { actor: { kind: 'user', id: newId(), username: 'op', roles: ['operator'], orgId: null, sectors: [] }, requestId: 'test-op' };
    await expect(core.selection.recordCounters(operator)).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});
