/** @module Test fixtures of the cluster: a real selector over the small world, and flows between its domestic and foreign pools. */
import { appendFlow, createFlowBatch, type FlowBatch, type FlowRecord } from '#modules/collection/index.js';
import { compileBases, createSelector, derivedKeyStore, Pseudonymizer, SelectionCounters, type CompiledBases, type SelectedBatch } from '#modules/selection/index.js';
import { basis, POOLS, smallWorld } from '#modules/selection/test-support/fixtures.js';
import { ManualClock } from '#platform/clock/index.js';

/** The fixtures' time. */
export const NOW = Date.parse('2026-03-15T00:00:00Z');

export { POOLS };

/** A selector under one cross-border approval; `bases` may be swapped (revocation tests). */
export function testSelector(over: { bases?: () => CompiledBases } = {}): { select(b: FlowBatch): SelectedBatch; counters: SelectionCounters } {
  const compiled = compileBases([basis({ id: 'cb-1', kind: 'cross_border_approval' })]);
  const counters = new SelectionCounters(NOW);
  const sel = createSelector({ locator: smallWorld(), pseudonyms: new Pseudonymizer(derivedKeyStore('wire-test-secret-wire-test-secret!'), 64), rotation: 'monthly', clock: new ManualClock(NOW), bases: over.bases ?? (() => compiled), counters });
  return { select: (b) => sel.select(b).kept, counters };
}

/** `n` flows between domestic and foreign pools (outbound and inbound), each followed by a domestic↔domestic one. */
export function mixedFlows(n: number, offset = 0): FlowBatch {
  const records: FlowRecord[] = [];
  const dom = POOLS.domestic, fo = POOLS.foreign;
  for (let j = 0; j < n; j++) {
    const i = j + offset;
    const d = dom[i % dom.length]!, f = fo[(i * 7) % fo.length]!;
    const out = i % 3 !== 0;
    const start = NOW - 3_600_000 + i * 37;
    records.push({ start, end: start + (i % 50) * 20, srcAddr: out ? d : f, dstAddr: out ? f : d, srcPort: out ? 40000 + (i % 2000) : 443, dstPort: out ? 443 : 40000 + (i % 2000), proto: 6, tcpFlags: 0x1b, bytes: 1000 + i, packets: 3 + (i % 9), samplingRate: 1, inIf: 1, outIf: 2, exporter: '192.0.2.1/0' });
    records.push({ ...records[records.length - 1]!, srcAddr: d, dstAddr: dom[(i + 1) % dom.length]! });
  }
  const batch = createFlowBatch(records.length);
  for (const r of records) appendFlow(batch, r);
  return batch;
}
