/** @module Test fixtures of the cluster: a real selector over the small world, and flows between its domestic and foreign pools. */
import { appendFlow, createFlowBatch, type FlowBatch, type FlowRecord } from '#modules/collection/index.js';
import { compileBases, createSelector, FLOW_FIELDS, derivedKeyStore, Pseudonymizer, SelectionCounters, type CompiledBases, type SelectedBatch } from '#modules/selection/index.js';
import { basis, POOLS, smallWorld } from '#modules/selection/test-support/fixtures.js';
import { ManualClock } from '#platform/clock/index.js';

/** The fixtures' time. */
export const NOW = Date.parse('2026-03-15T00:00:00Z');

export { POOLS };

/** A selector under one cross-border approval; `bases` may be swapped (revocation tests). */
export function testSelector(over: { bases?: () => CompiledBases } = {}): { select(b: FlowBatch, out?: SelectedBatch): SelectedBatch; counters: SelectionCounters } {
  const compiled = compileBases([basis({ id: 'cb-1', kind: 'cross_border_approval', allowedFields: [...FLOW_FIELDS] })]);
  const counters = new SelectionCounters(NOW);
  const sel = createSelector({ locator: smallWorld(), pseudonyms: new Pseudonymizer(derivedKeyStore('wire-test-secret-wire-test-secret!'), 64), rotation: 'monthly', clock: new ManualClock(NOW), bases: over.bases ?? (() => compiled), counters });
  return { select: (b, out) => sel.select(b, out).kept, counters };
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

/**
 * Attack traffic in the small world, as the demo's scenario (src/demo/traffic.ts) shapes it: six domestic
 * hosts beaconing to a foreign C2 each minute for two hours (beacon and fan-in), a foreign scanner probing
 * 254 domestic addresses on telnet, and an NTP reflection flood from 100 foreign reflectors on one
 * domestic target; sorted by end, as exporters send them.
 */
export function attackRecords(nowMs = NOW): FlowRecord[] {
  let seed = 20260401;
  const r = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 2 ** 32; };
  const out: FlowRecord[] = [];
  const flow = (start: number, durMs: number, src: string, dst: string, sp: number, dp: number, proto: number, flags: number, bytes: number, packets: number): FlowRecord =>
    ({ start: Math.round(start), end: Math.round(start + durMs), srcAddr: src, dstAddr: dst, srcPort: sp, dstPort: dp, proto, tcpFlags: flags, bytes, packets, samplingRate: 1, inIf: 1, outIf: 2, exporter: '192.0.2.1/0' });
  const H = 3_600_000;
  ['133.1.17.21', '133.1.17.35', '133.1.17.48', '133.1.18.12', '133.1.18.77', '133.1.19.140'].forEach((host, h) => {
    for (let t = nowMs - 2 * H + h * 7_000; t < nowMs - 60_000; t += 58_000 + r() * 2_000) {
      out.push(flow(t, 300 + r() * 200, host, '8.66.0.66', 49_152 + Math.floor(r() * 16_000), 443, 6, 0x1b, 610 + Math.floor(r() * 30), 6));
    }
  });
  const scanAt = nowMs - 70 * 60_000;
  for (let i = 1; i <= 254; i++) out.push(flow(scanAt + i * 950, 0, '8.9.9.23', `133.2.17.${i}`, 40_000 + (i % 1000), 23, 6, 0x02, 60, 1));
  const ddosAt = nowMs - 4 * 60_000;
  for (let k = 0; k < 100; k++) {
    for (let j = 0; j < 4; j++) out.push(flow(ddosAt + j * 30_000 + r() * 500, 30_000, `5.51.100.${100 + k}`, '133.3.16.80', 123, 1024 + Math.floor(r() * 60_000), 17, 0, 1500 * 468, 1500));
  }
  out.sort((a, b) => a.end - b.end);
  return out;
}

/** Records as decoded batches of at most `size` flows. */
export function batchesOf(records: readonly FlowRecord[], size = 500): FlowBatch[] {
  const out: FlowBatch[] = [];
  for (let i = 0; i < records.length; i += size) {
    const part = records.slice(i, i + size);
    const b = createFlowBatch(part.length);
    for (const r of part) appendFlow(b, r);
    out.push(b);
  }
  return out;
}
