/** @module Tests of the host table (numeric interning by slot bytes, labels, growth, reset) and of the beacon pair table under churn. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { writeAddress } from '#modules/collection/index.js';
import { HostTable, createAnalysisBatch } from './batch.js';
import { createBeaconDetector } from './beacon.js';

function slot(text: string): Uint8Array {
  const b = new Uint8Array(16);
  if (!writeAddress(b, 0, text)) throw new Error(text);
  return b;
}

describe('HostTable', () => {
  it('interns a slot once, keeps domestic and foreign apart, and labels without keeping strings', () => {
    const h = new HostTable();
    const a = h.internSlot(slot('203.0.113.7'), 0, false);
    expect(h.internSlot(slot('203.0.113.7'), 0, false)).toBe(a);
    expect(h.intern({ kind: 'foreign', address: '203.0.113.7' })).toBe(a);
    const p = h.internSlot(slot('203.0.113.7'), 0, true); // the same 16 bytes as a pseudonym
    expect(p).not.toBe(a);
    expect(h.label(a)).toBe('203.0.113.7');
    expect(h.ipv4(a)).toBe(0xcb007107);
    expect(h.label(p)).toBe('00000000000000000000ffffcb007107');
    expect(h.isDomestic(p)).toBe(true);
    expect(h.ipv4(p)).toBe(-1);
    const v6 = h.internSlot(slot('2001:db8::1'), 0, false);
    expect(h.label(v6)).toBe('2001:db8::1');
    expect(h.ipv6(v6)).toBe(0x20010db8000000000000000000000001n);
    const t = h.intern({ kind: 'domestic', pseudonym: 'p:home' });
    expect(h.get(t)).toEqual({ kind: 'domestic', pseudonym: 'p:home' });
    expect(() => h.label(99)).toThrow(RangeError);
  });

  it('gives distinct slots distinct, stable ids as it grows', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.uint8Array({ minLength: 16, maxLength: 16 }), { minLength: 1, maxLength: 300, selector: (b) => Buffer.from(b).toString('hex') }), (slots) => {
      const h = new HostTable();
      const ids = slots.map((s) => h.internSlot(s, 0, false));
      expect(new Set(ids).size).toBe(slots.length);
      expect(slots.map((s) => h.internSlot(s, 0, false))).toEqual(ids);
    }));
    const h = new HostTable();
    const buf = new Uint8Array(16);
    for (let k = 0; k < 100_000; k++) { new DataView(buf.buffer).setUint32(12, k); expect(h.internSlot(buf, 0, false)).toBe(k); }
    new DataView(buf.buffer).setUint32(12, 4321);
    expect(h.internSlot(buf, 0, false)).toBe(4321);
    expect(h.size).toBe(100_000);
  });

  it('clears itself and bumps its generation when full', () => {
    const h = new HostTable(4);
    const buf = new Uint8Array(16);
    for (let k = 0; k < 4; k++) { buf[15] = k; h.internSlot(buf, 0, false); }
    expect(h.generation).toBe(0);
    buf[15] = 9;
    expect(h.internSlot(buf, 0, false)).toBe(0);
    expect(h.generation).toBe(1);
    expect(h.size).toBe(1);
    buf[15] = 0;
    expect(h.internSlot(buf, 0, false)).toBe(1); // an old host is new again
  });
});

describe('beacon pair table', () => {
  it('still finds a beacon after thousands of pairs were admitted and evicted through a small table', () => {
    const hosts = new HostTable();
    const d = createBeaconDetector(hosts, { maxPairs: 64, admitAfter: 1 });
    const T0 = Date.UTC(2025, 0, 1);
    const home = hosts.intern({ kind: 'domestic', pseudonym: 'p:home' });
    const c2 = hosts.intern({ kind: 'foreign', address: '203.0.113.7' });
    const noise = createAnalysisBatch(5000, hosts);
    for (let k = 0; k < 5000; k++) {
      noise.start[k] = T0 + k; noise.end[k] = T0 + k + 10; noise.src[k] = hosts.intern({ kind: 'domestic', pseudonym: `p:${k}` });
      noise.dst[k] = hosts.intern({ kind: 'foreign', address: `198.51.${(k >> 8) & 255}.${k & 255}` }); noise.srcPort[k] = 40000; noise.dstPort[k] = 443; noise.proto[k] = 6; noise.bytes[k] = 100;
    }
    noise.length = 5000;
    noise.bases.push('b');
    d.ingest(noise);
    expect(d.stats().evictedPairs).toBeGreaterThan(4000);
    const beacon = createAnalysisBatch(60, hosts);
    for (let k = 0; k < 60; k++) {
      beacon.start[k] = T0 + 10_000 + k * 10_000; beacon.end[k] = beacon.start[k]! + 100; beacon.src[k] = home; beacon.dst[k] = c2;
      beacon.srcPort[k] = 40000 + k; beacon.dstPort[k] = 443; beacon.proto[k] = 6; beacon.tcpFlags[k] = 0x1b; beacon.bytes[k] = 400;
    }
    beacon.length = 60;
    beacon.bases.push('b');
    d.ingest(beacon);
    expect(d.scorePair(home, c2)?.calls).toBe(60);
    expect(d.flush(T0 + 700_000).find((f) => f.kind === 'beacon')?.subject.value).toBe('203.0.113.7');
    expect(d.stats().trackedPairs).toBeLessThanOrEqual(64);
  });
});
