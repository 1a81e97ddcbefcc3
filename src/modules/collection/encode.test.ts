import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FlowRecord, appendFlow, createFlowBatch, readFlow } from './flow-batch.js';
import { createFlowDecoder } from './flow-decoder/index.js';
import { encodeIpfix, encodeNetflowV5, encodeNetflowV9, type EncodeOptions } from './encode.js';

const EXPORT_MS = 1_700_000_000_000;

function record(v6: boolean): fc.Arbitrary<FlowRecord> {
  return fc.record({
    start: fc.integer({ min: EXPORT_MS - 3_600_000, max: EXPORT_MS }),
    length: fc.integer({ min: 0, max: 60_000 }),
    srcAddr: v6 ? fc.ipV6() : fc.ipV4(),
    dstAddr: v6 ? fc.ipV6() : fc.ipV4(),
    srcPort: fc.integer({ min: 1, max: 65535 }),
    dstPort: fc.integer({ min: 1, max: 65535 }),
    proto: fc.constantFrom(6, 17, 47, 132),
    tcpFlags: fc.integer({ min: 0, max: 255 }),
    rawBytes: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    rawPackets: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    samplingRate: fc.constantFrom(1, 10, 1000, 4096),
    inIf: fc.integer({ min: 0, max: 65535 }),
    outIf: fc.integer({ min: 0, max: 65535 }),
  }).map((r) => ({
    start: r.start,
    end: r.start + r.length,
    srcAddr: r.srcAddr,
    dstAddr: r.dstAddr,
    srcPort: r.srcPort,
    dstPort: r.dstPort,
    proto: r.proto,
    tcpFlags: r.tcpFlags,
    bytes: r.rawBytes * r.samplingRate,
    packets: r.rawPackets * r.samplingRate,
    samplingRate: r.samplingRate,
    inIf: r.inIf,
    outIf: r.outIf,
    exporter: '192.0.2.1/7',
  }));
}

// Addresses come back in canonical text (RFC 5952): pass expectations through the same batch round trip.
function canonical(r: FlowRecord): FlowRecord {
  const b = createFlowBatch(1);
  expect(appendFlow(b, r)).toBe(true);
  return readFlow(b, 0);
}

function decodeAll(datagrams: Uint8Array[]): { flows: FlowRecord[]; decoder: ReturnType<typeof createFlowDecoder> } {
  const decoder = createFlowDecoder();
  const batch = createFlowBatch(4096);
  for (const d of datagrams) {
    const r = decoder.decode(d, '192.0.2.1', EXPORT_MS, batch);
    expect(r.error).toBeUndefined();
  }
  return { flows: Array.from({ length: batch.length }, (_, i) => readFlow(batch, i)), decoder };
}

const OPTS: EncodeOptions = { exportTimeMs: EXPORT_MS + 250, sequence: 4_294_967_000, domainId: 7 };

describe('encode then decode gives the same records', () => {
  it('NetFlow v9, IPv4 and IPv6', () => {
    fc.assert(fc.property(fc.array(fc.oneof(record(false), record(true)), { minLength: 1, maxLength: 80 }), (records) => {
      const { flows, decoder } = decodeAll(encodeNetflowV9(records, OPTS).datagrams);
      expect(flows).toEqual(records.map(canonical));
      expect(decoder.stats().totals).toMatchObject({ lostFlows: 0, lostPackets: 0, sequenceResets: 0 });
    }), { numRuns: 150 });
  });

  it('IPFIX, IPv4 and IPv6', () => {
    fc.assert(fc.property(fc.array(fc.oneof(record(false), record(true)), { minLength: 1, maxLength: 80 }), (records) => {
      const { flows, decoder } = decodeAll(encodeIpfix(records, OPTS).datagrams);
      expect(flows).toEqual(records.map(canonical));
      expect(decoder.stats().totals).toMatchObject({ lostFlows: 0, sequenceResets: 0 });
    }), { numRuns: 150 });
  });

  it('NetFlow v5, IPv4 with 16-bit interfaces and sampling in the header', () => {
    const v5record = record(false).map((r) => ({ ...r, exporter: '192.0.2.1/7', samplingRate: Math.min(r.samplingRate, 0x3fff) }));
    fc.assert(fc.property(fc.array(v5record, { minLength: 1, maxLength: 80 }), (records) => {
      const { flows, decoder } = decodeAll(encodeNetflowV5(records, OPTS).datagrams);
      expect(flows).toEqual(records.map(canonical));
      expect(decoder.stats().totals).toMatchObject({ lostFlows: 0, sequenceResets: 0 });
    }), { numRuns: 150 });
  });
});

describe('sequence accounting', () => {
  const sample: FlowRecord = { start: EXPORT_MS - 1000, end: EXPORT_MS, srcAddr: '198.51.100.1', dstAddr: '203.0.113.9', srcPort: 1234, dstPort: 443, proto: 6, tcpFlags: 0x18, bytes: 4000, packets: 4, samplingRate: 1, inIf: 1, outIf: 2, exporter: '192.0.2.1/7' };
  const many = (n: number): FlowRecord[] => Array.from({ length: n }, () => sample);

  it('v5 and IPFIX count lost flows; v9 counts lost packets (RFC 3954 §5.1, RFC 7011 §3.1)', () => {
    for (const [encode, perPacketLoss] of [[encodeNetflowV5, 5], [encodeIpfix, 5]] as const) {
      const a = encode(many(5), { ...OPTS, maxDatagramBytes: 1400 });
      // Skip one datagram's worth of sequence numbers: 5 flows never arrive.
      const c = encode(many(5), { ...OPTS, sequence: (a.nextSequence + perPacketLoss) >>> 0, withTemplates: false });
      const { decoder } = decodeAll([...a.datagrams, ...c.datagrams]);
      expect(decoder.stats().totals).toMatchObject({ lostFlows: 5, lostPackets: 0 });
    }
    const a = encodeNetflowV9(many(5), OPTS);
    const c = encodeNetflowV9(many(5), { ...OPTS, sequence: a.nextSequence + 2, withTemplates: false });
    const { decoder } = decodeAll([...a.datagrams, ...c.datagrams]);
    // Two packets lost; the first packet carried 5 flows, so about 10 flows.
    expect(decoder.stats().totals).toMatchObject({ lostPackets: 2, lostFlows: 10 });
  });

  it('accepts IPFIX sequence numbers that include the message\'s own records (softflowd 1.1), and still counts real loss', () => {
    // Messages of 4, 7, 3, 6 and 5 records numbered as softflowd does: each carries the running total including itself.
    const sizes = [4, 7, 3, 6, 5];
    const messages: Uint8Array[] = [];
    let total = 0;
    for (const [i, n] of sizes.entries()) {
      total += n;
      messages.push(...encodeIpfix(many(n), { ...OPTS, sequence: total, withTemplates: i === 0 }).datagrams);
    }
    expect(decodeAll(messages).decoder.stats().totals).toMatchObject({ lostFlows: 0, sequenceResets: 0, flows: 25 });
    // Without the fourth message (6 records) those 6 flows are lost.
    expect(decodeAll([...messages.slice(0, 3), messages[4]!]).decoder.stats().totals).toMatchObject({ lostFlows: 6, sequenceResets: 0 });
  });

  it('counts forged forward jumps as resets: loss never exceeds what the exporter could have sent in the time', () => {
    for (const encode of [encodeIpfix, encodeNetflowV5, encodeNetflowV9]) {
      const decoder = createFlowDecoder();
      const batch = createFlowBatch(4096);
      let at = EXPORT_MS;
      // 2,000 datagrams a millisecond apart, each numbered 2^31 − 1 beyond the last: garbage, not loss.
      let seq = 1;
      for (let i = 0; i < 2000; i++) {
        for (const d of encode(many(1), { ...OPTS, sequence: seq, withTemplates: i === 0 }).datagrams) decoder.decode(d, '192.0.2.1', at, batch);
        seq = (seq + 2 ** 31 - 1) >>> 0;
        at += 1;
        batch.length = 0;
      }
      const t = decoder.stats().totals;
      // Two seconds at the most a domain could send (1 M records or 50 k packets a second), plus one budget.
      expect(t.lostFlows + t.lostPackets, encode.name).toBeLessThanOrEqual(2 ** 22 + 2000 * 1000);
      expect(t.sequenceResets, encode.name).toBeGreaterThan(1900);
    }
  });

  it('still counts a large real loss, and after a quiet spell a larger one again', () => {
    const decoder = createFlowDecoder();
    const batch = createFlowBatch(4096);
    let seq = 0;
    const send = (gap: number, atMs: number, first = false) => {
      const m = encodeIpfix(many(5), { ...OPTS, sequence: (seq + gap) >>> 0, withTemplates: first });
      for (const d of m.datagrams) decoder.decode(d, '192.0.2.1', atMs, batch);
      seq = m.nextSequence;
    };
    send(0, EXPORT_MS, true);
    send(1_000_000, EXPORT_MS + 10);
    expect(decoder.stats().totals).toMatchObject({ lostFlows: 1_000_000, sequenceResets: 0 });
    // 3.5 M more 10 ms later is more than the rest of the budget: a reset, not loss …
    send(3_500_000, EXPORT_MS + 20);
    expect(decoder.stats().totals).toMatchObject({ lostFlows: 1_000_000, sequenceResets: 1 });
    // … but ten seconds on, the budget has refilled and the same gap is loss.
    send(3_500_000, EXPORT_MS + 10_020);
    expect(decoder.stats().totals).toMatchObject({ lostFlows: 4_500_000, sequenceResets: 1 });
  });

  it('treats a sequence number that goes backwards as a restart, not a loss', () => {
    const a = encodeIpfix(many(3), { ...OPTS, sequence: 100_000 });
    const b = encodeIpfix(many(3), { ...OPTS, sequence: 0 });
    const { decoder } = decodeAll([...a.datagrams, ...b.datagrams]);
    expect(decoder.stats().totals).toMatchObject({ lostFlows: 0, sequenceResets: 1 });
  });
});

describe('IPFIX template withdrawal (RFC 7011 §8.1)', () => {
  it('withdraws one template, then all templates', () => {
    const { datagrams } = encodeIpfix([{ start: EXPORT_MS, end: EXPORT_MS, srcAddr: '198.51.100.1', dstAddr: '203.0.113.9', srcPort: 1, dstPort: 2, proto: 17, tcpFlags: 0, bytes: 1, packets: 1, samplingRate: 1, inIf: 0, outIf: 0, exporter: '' }], OPTS);
    const decoder = createFlowDecoder();
    const batch = createFlowBatch(16);
    decoder.decode(datagrams[0]!, '192.0.2.1', 0, batch);
    expect(decoder.stats().templates).toBe(3);
    const withdraw = (id: number, setId = 2): Uint8Array => Uint8Array.of(0, 10, 0, 24, 0x65, 0x53, 0xf1, 0x00, 0, 0, 0, 1, 0, 0, 0, 7, 0, setId, 0, 8, id >> 8, id & 0xff, 0, 0);
    expect(decoder.decode(withdraw(256), '192.0.2.1', 0, batch).error).toBeUndefined();
    expect(decoder.stats().templates).toBe(2);
    decoder.decode(withdraw(2), '192.0.2.1', 0, batch);
    expect(decoder.stats().templates).toBe(1);
    decoder.decode(withdraw(3, 3), '192.0.2.1', 0, batch);
    expect(decoder.stats().templates).toBe(0);
  });
});
