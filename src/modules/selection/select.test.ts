import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { appendFlow, createFlowBatch, formatAddress, writeAddress, type FlowRecord } from '#modules/collection/index.js';
import { ManualClock } from '#platform/clock/index.js';
import { classifyPair, CAT_DOMESTIC, CAT_INBOUND, CAT_OUTBOUND, CAT_TRANSIT, CAT_UNCLASSIFIED, CATEGORIES } from './classify.js';
import { LOC_DOMESTIC, LOC_FOREIGN, LOC_IGNORE, LOC_UNKNOWN } from './geo.js';
import { compileBases } from './matcher.js';
import { ADDR_FOREIGN, ADDR_PSEUDONYM, allowedFieldsOf, readSelectedFlow } from './minimize.js';
import { derivedKeyStore, periodOf, Pseudonymizer } from './pseudonym.js';
import { parsePrefix } from './ranges.js';
import { FLOW_FIELDS, type FlowField, type LegalBasis } from './schema.js';
import { createSelector, SelectionCounters } from './select.js';
import { basis, POOLS, smallWorld } from './test-support/fixtures.js';

const locator = smallWorld();
const SECRET = 'test-secret-test-secret-test-secret!!';
const keys = derivedKeyStore(SECRET);
const NOW = Date.parse('2026-03-15T00:00:00Z');

function inPrefix(addr: string, prefix: string): boolean {
  const a = parsePrefix(addr)!;
  const p = parsePrefix(prefix)!;
  return a.family === p.family && (a.start as bigint | number) >= p.start && (a.start as bigint | number) <= p.end;
}

/** An independent reference of what selection must keep (and under which basis): plain loops over records. */
function reference(records: FlowRecord[], bases: LegalBasis[], now: number): (LegalBasis | undefined)[] {
  return records.map((r) => {
    const s = locator.describe(r.srcAddr).location;
    const d = locator.describe(r.dstAddr).location;
    if (s === 'domestic' && d === 'domestic') return undefined;
    if (!((s === 'foreign' || s === 'domestic') && (d === 'foreign' || d === 'domestic'))) return undefined;
    const transit = s === 'foreign' && d === 'foreign';
    const foreignEnds = [s === 'foreign' ? r.srcAddr : undefined, d === 'foreign' ? r.dstAddr : undefined].filter((x): x is string => x !== undefined);
    const domesticEnd = s === 'domestic' ? r.srcAddr : d === 'domestic' ? r.dstAddr : undefined;
    return bases.find((b) => {
      if (b.revokedAt !== null) return false;
      if (transit !== (b.kind === 'transit_approval')) return false;
      const sel = b.selectors;
      if (sel.exporters.length > 0 && !sel.exporters.includes(r.exporter)) return false;
      if (sel.protocols.length > 0 && !sel.protocols.includes(r.proto)) return false;
      if (sel.ports.length > 0 && !sel.ports.includes(r.srcPort) && !sel.ports.includes(r.dstPort)) return false;
      if (sel.foreignPrefixes.length > 0 && !foreignEnds.some((a) => sel.foreignPrefixes.some((p) => inPrefix(a, p)))) return false;
      if (!transit && sel.domesticPrefixes.length > 0 && !sel.domesticPrefixes.some((p) => inPrefix(domesticEnd!, p))) return false;
      const from = Date.parse(b.validFrom);
      const until = Date.parse(b.validUntil);
      return now < until && from <= r.start && Math.max(r.start, r.end) < until;
    });
  });
}

const allAddrs = [...POOLS.domestic, ...POOLS.foreign, ...POOLS.special, ...POOLS.unknown];
const recordArb = fc.record({
  start: fc.integer({ min: Date.parse('2025-12-01T00:00:00Z'), max: Date.parse('2026-07-01T00:00:00Z') }),
  dur: fc.integer({ min: 0, max: 3_600_000 }),
  srcAddr: fc.constantFrom(...allAddrs),
  dstAddr: fc.constantFrom(...allAddrs),
  srcPort: fc.constantFrom(53, 443, 4444, 50000),
  dstPort: fc.constantFrom(53, 443, 4444, 50001),
  proto: fc.constantFrom(6, 17, 1),
  tcpFlags: fc.nat(255),
  bytes: fc.nat(1e9),
  packets: fc.nat(1e6),
  samplingRate: fc.constantFrom(1, 100),
  inIf: fc.nat(100),
  outIf: fc.nat(100),
  exporter: fc.constantFrom('192.0.2.1/0', '192.0.2.2/0'),
}).map(({ dur, ...r }): FlowRecord => ({ ...r, end: r.start + dur }));

const basisArb = (i: number) => fc.record({
  kind: fc.constantFrom('transit_approval', 'cross_border_approval', 'consent_agreement') as fc.Arbitrary<LegalBasis['kind']>,
  foreignPrefixes: fc.subarray(['8.0.0.0/8', '36.0.0.0/16', '2001:4860::/32', '5.5.5.0/24']),
  domesticPrefixes: fc.subarray(['133.0.0.0/8', '2400:2000::/20', '10.0.0.0/8']),
  exporters: fc.subarray(['192.0.2.1/0', '192.0.2.2/0']),
  ports: fc.subarray([443, 53, 4444]),
  protocols: fc.subarray([6, 17]),
  fromDay: fc.integer({ min: 0, max: 120 }),
  days: fc.integer({ min: 1, max: 90 }),
  fields: fc.subarray(FLOW_FIELDS.filter((f) => f !== 'start') as FlowField[]),
  revoked: fc.boolean(),
}).map((v): LegalBasis => basis({
  id: `basis-${i}`,
  kind: v.kind,
  selectors: { exporters: v.exporters, foreignPrefixes: v.foreignPrefixes, domesticPrefixes: v.kind === 'transit_approval' ? [] : v.domesticPrefixes, ports: v.ports, protocols: v.protocols },
  validFrom: new Date(Date.parse('2026-01-01T00:00:00Z') + v.fromDay * 86_400_000).toISOString(),
  validUntil: new Date(Date.parse('2026-01-01T00:00:00Z') + (v.fromDay + v.days) * 86_400_000).toISOString(),
  allowedFields: ['start', ...v.fields],
  revokedAt: v.revoked ? '2026-03-01T00:00:00.000Z' : null,
}));

const basesArb = fc.integer({ min: 0, max: 40 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => basisArb(i))));

function run(records: FlowRecord[], bases: LegalBasis[], now = NOW) {
  const batch = createFlowBatch(records.length);
  for (const r of records) expect(appendFlow(batch, r)).toBe(true);
  const counters = new SelectionCounters(now);
  const compiled = compileBases(bases);
  const selector = createSelector({ locator, pseudonyms: new Pseudonymizer(keys, 64), rotation: 'monthly', clock: new ManualClock(now), bases: () => compiled, counters });
  return { ...selector.select(batch), counters };
}

const hmac = (addr: string, at: number): string => {
  const slot = new Uint8Array(16);
  writeAddress(slot, 0, addr);
  return createHmac('sha256', keys.keyFor(periodOf(at, 'monthly'), true)!).update(slot).digest().subarray(0, 16).toString('hex');
};

describe('classification', () => {
  it('maps endpoint locations to categories', () => {
    expect(classifyPair(LOC_FOREIGN, LOC_FOREIGN)).toBe(CAT_TRANSIT);
    expect(classifyPair(LOC_FOREIGN, LOC_DOMESTIC)).toBe(CAT_INBOUND);
    expect(classifyPair(LOC_DOMESTIC, LOC_FOREIGN)).toBe(CAT_OUTBOUND);
    expect(classifyPair(LOC_DOMESTIC, LOC_DOMESTIC)).toBe(CAT_DOMESTIC);
    expect(classifyPair(LOC_DOMESTIC, LOC_IGNORE)).toBe(CAT_UNCLASSIFIED);
    expect(classifyPair(LOC_UNKNOWN, LOC_FOREIGN)).toBe(CAT_UNCLASSIFIED);
  });
});

describe('selection properties (fast-check)', () => {
  it('keeps exactly what a basis covers at the flow\'s own time, only allowed fields, no domestic↔domestic flow, domestic addresses only as pseudonyms', () => {
    fc.assert(fc.property(fc.array(recordArb, { maxLength: 120 }), basesArb, (records, bases) => {
      const { kept, counters } = run(records, bases);
      const want = reference(records, bases, NOW);
      const keptIdx = want.map((b, i) => (b !== undefined ? i : -1)).filter((i) => i >= 0);
      expect(kept.length).toBe(keptIdx.length);
      keptIdx.forEach((src, k) => {
        const r = records[src]!;
        const b = want[src]!;
        const row = readSelectedFlow(kept, k);
        // Every kept flow carries the basis that covered it at its timestamp.
        expect(row.basisId).toBe(b.id);
        expect(row.start).toBe(r.start);
        const sb = bases.find((x) => x.id === row.basisId)!;
        expect(Date.parse(sb.validFrom) <= r.start && r.start < Date.parse(sb.validUntil)).toBe(true);
        // Never domestic↔domestic.
        expect(kept.category[k]).not.toBe(CAT_DOMESTIC);
        expect(kept.srcKind[k] === ADDR_PSEUDONYM && kept.dstKind[k] === ADDR_PSEUDONYM).toBe(false);
        // Only allowed fields.
        expect(allowedFieldsOf(kept, k).sort()).toEqual([...sb.allowedFields].sort());
        const simple: FlowField[] = ['end', 'srcPort', 'dstPort', 'proto', 'tcpFlags', 'bytes', 'packets', 'inIf', 'outIf', 'samplingRate', 'exporter'];
        for (const f of simple) {
          const allowed = sb.allowedFields.includes(f);
          expect(f in row, f).toBe(allowed);
          if (allowed) expect(row[f as keyof typeof row]).toBe(r[f as keyof FlowRecord]);
        }
        for (const side of ['src', 'dst'] as const) {
          const addr = r[`${side}Addr`];
          const allowed = sb.allowedFields.includes(`${side}Addr`);
          const where = locator.describe(addr).location;
          if (!allowed) { expect(row[`${side}Addr`]).toBeUndefined(); expect(row[`${side}Pseudonym`]).toBeUndefined(); continue; }
          if (where === 'foreign') expect(row[`${side}Addr`]).toBe(formatAddress(kept[`${side}Addr`], k * 16)); 
          if (where === 'foreign') expect(kept[`${side}Kind`][k]).toBe(ADDR_FOREIGN);
          else { expect(row[`${side}Addr`]).toBeUndefined(); expect(row[`${side}Pseudonym`]).toBe(hmac(addr, r.start)); }
        }
      });
      // No raw domestic address anywhere in the kept columns.
      for (const d of POOLS.domestic) {
        const slot = new Uint8Array(16);
        writeAddress(slot, 0, d);
        for (let k = 0; k < kept.length; k++) {
          expect(Buffer.from(kept.srcAddr.subarray(k * 16, k * 16 + 16)).equals(slot)).toBe(false);
          expect(Buffer.from(kept.dstAddr.subarray(k * 16, k * 16 + 16)).equals(slot)).toBe(false);
        }
      }
      // Every flow is counted exactly once.
      const snap = counters.snapshot();
      expect(snap.rows.reduce((a, r) => a + r.flows, 0)).toBe(records.length);
      expect(counters.total('kept')).toBe(keptIdx.length);
      const domDom = records.filter((r) => locator.describe(r.srcAddr).location === 'domestic' && locator.describe(r.dstAddr).location === 'domestic').length;
      expect(counters.total('domestic')).toBe(domDom);
    }), { numRuns: 150 });
  });

  it('keeps the same columns when the address columns do not start on a 4-byte boundary (byte copies, not words)', () => {
    fc.assert(fc.property(fc.array(recordArb, { minLength: 1, maxLength: 60 }), basesArb, (records, bases) => {
      const { kept } = run(records, bases);
      const batch = createFlowBatch(records.length);
      for (const r of records) appendFlow(batch, r);
      // The same addresses in columns one byte into their buffers.
      for (const k of ['srcAddr', 'dstAddr'] as const) {
        const shifted = new Uint8Array(batch[k].length + 1).subarray(1);
        shifted.set(batch[k]);
        batch[k] = shifted;
      }
      const compiled = compileBases(bases);
      const selector = createSelector({ locator, pseudonyms: new Pseudonymizer(keys, 64), rotation: 'monthly', clock: new ManualClock(NOW), bases: () => compiled, counters: new SelectionCounters(NOW) });
      const bytes = selector.select(batch).kept;
      expect(bytes.length).toBe(kept.length);
      expect(Buffer.from(bytes.srcAddr.subarray(0, kept.length * 16)).equals(Buffer.from(kept.srcAddr.subarray(0, kept.length * 16)))).toBe(true);
      expect(Buffer.from(bytes.dstAddr.subarray(0, kept.length * 16)).equals(Buffer.from(kept.dstAddr.subarray(0, kept.length * 16)))).toBe(true);
    }), { numRuns: 60 });
  });

  it('says why a flow was dropped', () => {
    const b = basis({ id: 'b1', kind: 'cross_border_approval', selectors: { exporters: [], foreignPrefixes: ['8.0.0.0/8'], domesticPrefixes: [], ports: [], protocols: [] } });
    const rv = basis({ id: 'b2', kind: 'cross_border_approval', selectors: { exporters: [], foreignPrefixes: ['36.0.0.0/8'], domesticPrefixes: [], ports: [], protocols: [] }, revokedAt: '2026-03-01T00:00:00Z' });
    const base = { srcPort: 1, dstPort: 2, proto: 6, tcpFlags: 0, bytes: 1, packets: 1, samplingRate: 1, inIf: 0, outIf: 0, exporter: 'e1' };
    const t = Date.parse('2026-03-10T00:00:00Z');
    const { counters, kept } = run([
      { ...base, start: t, end: t, srcAddr: '133.1.1.1', dstAddr: '10.1.1.1' },
      { ...base, start: t, end: t, srcAddr: '8.8.8.8', dstAddr: '133.1.1.1' },
      { ...base, start: Date.parse('2026-07-01T00:00:00Z'), end: 0, srcAddr: '8.8.8.8', dstAddr: '133.1.1.1' },
      { ...base, start: t, end: t, srcAddr: '36.1.1.1', dstAddr: '133.1.1.1' },
      { ...base, start: t, end: t, srcAddr: '5.5.5.5', dstAddr: '133.1.1.1' },
      { ...base, start: t, end: t, srcAddr: '127.0.0.1', dstAddr: '8.8.8.8' },
      { ...base, start: t, end: t, srcAddr: '45.1.1.1', dstAddr: '8.8.8.8' },
    ], [b, rv]);
    expect(kept.length).toBe(1);
    expect(counters.snapshot().rows.map((r) => `${r.category}/${r.outcome}=${r.flows}`)).toEqual([
      'domestic/domestic=1', 'inbound/expired=1', 'inbound/kept=1', 'inbound/no_basis=1', 'inbound/revoked=1', 'unclassified/special_range=1', 'unclassified/unknown_location=1',
    ]);
    expect(CATEGORIES).toContain('unclassified');
  });

  it('stops matching at expiry while flows keep coming', () => {
    const b = basis({ id: 'b1', kind: 'transit_approval', validFrom: '2026-03-01T00:00:00Z', validUntil: '2026-03-15T00:00:10Z', selectors: { exporters: [], foreignPrefixes: ['8.0.0.0/8'], domesticPrefixes: [], ports: [], protocols: [] } });
    const clock = new ManualClock('2026-03-15T00:00:00Z');
    const counters = new SelectionCounters(clock.nowMs());
    const compiled = compileBases([b]);
    const selector = createSelector({ locator, pseudonyms: new Pseudonymizer(keys), rotation: 'monthly', clock, bases: () => compiled, counters });
    const kept: number[] = [];
    for (let s = 0; s < 20; s++) {
      const batch = createFlowBatch(1);
      // Each flow is stamped a second before it arrives, as an exporter's active timeout would.
      appendFlow(batch, { start: clock.nowMs() - 1000, end: clock.nowMs() - 1000, srcAddr: '8.8.8.8', dstAddr: '36.1.1.1', srcPort: 1, dstPort: 2, proto: 6, tcpFlags: 0, bytes: 1, packets: 1, samplingRate: 1, inIf: 0, outIf: 0, exporter: 'e' });
      kept.push(selector.select(batch).kept.length);
      clock.advance(1000);
    }
    expect(kept.slice(0, 10)).toEqual(Array(10).fill(1));
    expect(kept.slice(10)).toEqual(Array(10).fill(0));
  });
});
