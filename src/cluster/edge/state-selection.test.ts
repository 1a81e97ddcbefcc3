/** The edge's selection from followed state: fails closed without current state, drops flows of a period without a key, pseudonymizes as the centre does, follows ranges and withdrawn keys. */
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { appendFlow, createFlowBatch, writeAddress, type FlowRecord } from '#modules/collection/index.js';
import { compileBases, readSelectedFlow, type CompiledBases } from '#modules/selection/index.js';
import { basis, smallWorld } from '#modules/selection/test-support/fixtures.js';
import { ManualClock } from '#platform/clock/index.js';
import { createEdgeSelection } from './state-selection.js';

const clock = new ManualClock('2026-03-10T00:00:00.000Z');
const flow = (src: string, dst: string, start = clock.nowMs() - 60_000): FlowRecord => ({
  start, end: start + 1000, srcAddr: src, dstAddr: dst, srcPort: 40000, dstPort: 443, proto: 6, tcpFlags: 2, bytes: 100, packets: 1, samplingRate: 1, inIf: 0, outIf: 0, exporter: 'x',
});
const batchOf = (rs: FlowRecord[]) => {
  const b = createFlowBatch(rs.length);
  b.exporters = ['x'];
  for (const r of rs) appendFlow(b, r);
  return b;
};
const pseudonymHexOf = (key: Uint8Array, addr: string): string => {
  const slot = new Uint8Array(16);
  writeAddress(slot, 0, addr);
  // The centre's definition, written out: HMAC-SHA-256 under the period's key, first 16 bytes.
  return createHmac('sha256', key).update(slot).digest().subarray(0, 16).toString('hex');
};

function world() {
  const keys = new Map<string, Uint8Array>([['2026-03', new Uint8Array(randomBytes(32))]]);
  const st = { current: true, bases: compileBases([basis({ id: 'b1', kind: 'cross_border_approval', selectors: { exporters: [], foreignPrefixes: ['8.0.0.0/8'], domesticPrefixes: [], ports: [], protocols: [] } })], clock.nowMs()) as CompiledBases };
  const sel = createEdgeSelection({
    state: { notCurrent: () => (st.current ? undefined : 'no_bases'), bases: () => st.bases, rotation: () => 'monthly', key: (p) => keys.get(p) },
    buildLocator: (prefixes) => smallWorld([...prefixes]),
    domesticPrefixes: (ranges) => ['192.168.0.0/16', ...ranges],
    clock,
  });
  return { keys, st, sel };
}

describe('edge selection from the centre\'s state', () => {
  it('drops and counts every flow while the state is not current', () => {
    const { st, sel } = world();
    st.current = false;
    expect(sel.select(batchOf([flow('133.1.2.3', '8.8.8.8'), flow('8.8.8.8', '133.1.2.3')])).length).toBe(0);
    expect(sel.stats()).toEqual({ droppedNoState: 2, droppedNoKey: 0 });
    st.current = true;
    expect(sel.select(batchOf([flow('133.1.2.3', '8.8.8.8')])).length).toBe(1);
  });

  it('gives the centre\'s pseudonyms (the same key, the same HMAC) and drops only the flows of a period without a key', () => {
    const { keys, sel } = world();
    const old = Date.parse('2026-01-15T00:00:00.000Z');
    const kept = sel.select(batchOf([flow('133.1.2.3', '8.8.8.8'), flow('133.1.2.3', '8.8.8.8', old), flow('8.1.2.3', '133.200.0.9')]));
    expect(kept.length).toBe(2);
    expect(sel.stats().droppedNoKey).toBe(1);
    const a = readSelectedFlow(kept, 0), b = readSelectedFlow(kept, 1);
    expect(a.srcPseudonym).toBe(pseudonymHexOf(keys.get('2026-03')!, '133.1.2.3'));
    expect(a.pseudonymPeriod).toBe('2026-03');
    expect(b.dstPseudonym).toBe(pseudonymHexOf(keys.get('2026-03')!, '133.200.0.9'));
  });

  it('follows a replaced key once told to forget the period, and the centre\'s operator ranges', () => {
    const { keys, sel } = world();
    const before = readSelectedFlow(sel.select(batchOf([flow('133.1.2.3', '8.8.8.8')])), 0).srcPseudonym;
    keys.set('2026-03', new Uint8Array(randomBytes(32)));
    sel.forgetPeriod('2026-03');
    const after = readSelectedFlow(sel.select(batchOf([flow('133.1.2.3', '8.8.8.8')])), 0).srcPseudonym;
    expect(after).not.toBe(before);
    expect(after).toBe(pseudonymHexOf(keys.get('2026-03')!, '133.1.2.3'));
    // A registered operator range makes 8.1.0.0/16 domestic: the flow is domestic↔domestic and goes nowhere.
    expect(sel.select(batchOf([flow('133.1.2.3', '8.1.2.3')])).length).toBe(1);
    sel.applyRanges(['8.1.0.0/16']);
    expect(sel.select(batchOf([flow('133.1.2.3', '8.1.2.3')])).length).toBe(0);
    keys.delete('2026-03');
    sel.forgetPeriod('2026-03');
    expect(sel.select(batchOf([flow('133.1.2.3', '8.8.8.8')])).length).toBe(0);
  });
});
