import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { appendFlow, createFlowBatch, formatAddress, readFlow, writeAddress } from './flow-batch.js';

describe('addresses in 16-byte slots', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['2001:db8::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::1:0:0:1', 'fe80::1:0:0:1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
  ])('%s formats as %s', (input, want) => {
    const slot = new Uint8Array(16);
    expect(writeAddress(slot, 0, input)).toBe(true);
    expect(formatAddress(slot, 0)).toBe(want);
  });

  it.each(['256.1.1.1', '1.2.3', '1::2::3', '12345::', 'g::1', '1:2:3:4:5:6:7:8:9', ''])('rejects %s', (input) => {
    expect(writeAddress(new Uint8Array(16), 0, input)).toBe(false);
  });

  it('round-trips any IPv4 and IPv6 address', () => {
    fc.assert(fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (a) => {
      const slot = new Uint8Array(16);
      expect(writeAddress(slot, 0, a)).toBe(true);
      const again = new Uint8Array(16);
      expect(writeAddress(again, 0, formatAddress(slot, 0))).toBe(true);
      expect(again).toEqual(slot);
    }));
  });
});

describe('flow batches', () => {
  it('appends and reads back a record, and refuses past capacity', () => {
    const b = createFlowBatch(1);
    const r = { start: 1, end: 2, srcAddr: '198.51.100.7', dstAddr: '2001:db8::9', srcPort: 443, dstPort: 51000, proto: 6, tcpFlags: 0x12, bytes: 1500, packets: 3, samplingRate: 1, inIf: 1, outIf: 2, exporter: '192.0.2.1/0' };
    expect(appendFlow(b, r)).toBe(true);
    expect(readFlow(b, 0)).toEqual(r);
    expect(appendFlow(b, r)).toBe(false);
    expect(b.length).toBe(1);
  });
});
