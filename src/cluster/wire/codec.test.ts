/** @module The wire format: round trips (fast-check), bad bytes refused with a WireError, compactness, and no raw domestic address in any encoded byte. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { appendFlow, createFlowBatch, writeAddress, type FlowRecord } from '#modules/collection/index.js';
import { createAnalysisBatch, createDetectors, HostTable, scanReadsFlow, type AnalysisBatch } from '#modules/analysis/index.js';
import { adaptSelectedBatch, inThreadDetectors } from '#server/pipeline.js';
import { ADDR_ABSENT, ADDR_FOREIGN, ADDR_PSEUDONYM, createSelectedBatch, type SelectedBatch } from '#modules/selection/index.js';
import { mixedFlows, NOW, POOLS, testSelector } from '../test-support/fixtures.js';
import { decodeWireBatch, decodeWireForAnalysis, encodeWireBatch, encodeWireRows, WIRE_VERSION, WireError, type WireMeta } from './codec.js';
import { PartitionScratch, partitionRows, slotPartition, splitByPartition } from './partition.js';

const COLUMNS = ['basisIndex', 'category', 'fields', 'start', 'end', 'srcKind', 'dstKind', 'periodIndex', 'srcPort', 'dstPort', 'proto', 'tcpFlags', 'bytes', 'packets', 'samplingRate', 'inIf', 'outIf', 'exporterIndex'] as const;

const meta: WireMeta = { edge: 'osaka-ix-1', seq: 42, family: 'd', partition: 3, selectedAtMs: Date.parse('2026-03-15T00:00:00Z') };

interface Row {
  basisIndex: number; category: number; fields: number; start: number; end: number;
  src: [number, Uint8Array]; dst: [number, Uint8Array]; periodIndex: number;
  srcPort: number; dstPort: number; proto: number; tcpFlags: number; bytes: number; packets: number;
  samplingRate: number; inIf: number; outIf: number; exporterIndex: number;
}

const v4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => { const s = new Uint8Array(16); s[10] = 0xff; s[11] = 0xff; s.set(b, 12); return s; });
const slot16 = fc.uint8Array({ minLength: 16, maxLength: 16 });
const addrArb: fc.Arbitrary<[number, Uint8Array]> = fc.oneof(
  fc.constant<[number, Uint8Array]>([ADDR_ABSENT, new Uint8Array(16)]),
  v4.map((s): [number, Uint8Array] => [ADDR_FOREIGN, s]),
  slot16.map((s): [number, Uint8Array] => [ADDR_FOREIGN, s]),
  slot16.map((s): [number, Uint8Array] => [ADDR_PSEUDONYM, s]),
);
const num = fc.oneof(fc.nat(1e9), fc.double({ min: 0, max: 1e12, noNaN: true }), fc.constant(0));
const time = fc.oneof(fc.integer({ min: 0, max: 2 ** 45 }), fc.double({ min: 0, max: 2 ** 45, noNaN: true }));
const rowArb = (bases: number, periods: number, exporters: number): fc.Arbitrary<Row> => fc.record({
  basisIndex: fc.nat(bases - 1), category: fc.nat(4), fields: fc.nat(0xffff), start: time, end: time,
  src: addrArb, dst: addrArb, periodIndex: fc.nat(Math.max(0, periods - 1)),
  srcPort: fc.nat(0xffff), dstPort: fc.nat(0xffff), proto: fc.nat(255), tcpFlags: fc.nat(255), bytes: num, packets: num,
  samplingRate: fc.nat(0xffffffff), inIf: fc.nat(0xffffffff), outIf: fc.nat(0xffffffff), exporterIndex: fc.nat(Math.max(0, exporters - 1)),
});
const batchArb: fc.Arbitrary<SelectedBatch> = fc.record({
  bases: fc.array(fc.string({ minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 5 }),
  periods: fc.array(fc.constantFrom('2026-03', '2026-04', '2026'), { minLength: 1, maxLength: 3 }),
  exporters: fc.array(fc.string({ maxLength: 20 }), { minLength: 1, maxLength: 4 }),
  same: fc.boolean(),
}).chain((h) => fc.array(rowArb(h.bases.length, h.periods.length, h.exporters.length), { maxLength: 60 }).map((rows) => {
  // Half the batches repeat one row: the constant encodings.
  const use = h.same && rows.length > 0 ? rows.map(() => rows[0]!) : rows;
  const b = createSelectedBatch(use.length);
  b.basisIds = h.bases; b.periods = h.periods; b.exporters = h.exporters;
  use.forEach((r, i) => {
    for (const c of COLUMNS) if (c !== 'srcKind' && c !== 'dstKind') (b[c] as { [k: number]: number })[i] = r[c];
    b.srcKind[i] = r.src[0]; b.srcAddr.set(r.src[1], i * 16);
    b.dstKind[i] = r.dst[0]; b.dstAddr.set(r.dst[1], i * 16);
  });
  b.length = use.length;
  return b;
}));

function expectSameBatch(got: SelectedBatch, want: SelectedBatch): void {
  const n = want.length;
  expect(got.length).toBe(n);
  expect(got.basisIds).toEqual(want.basisIds);
  expect(got.periods).toEqual(want.periods);
  expect(got.exporters).toEqual(want.exporters);
  for (const c of COLUMNS) expect(Array.from(got[c].subarray(0, n)), c).toEqual(Array.from(want[c].subarray(0, n)));
  expect(got.srcAddr.subarray(0, n * 16)).toEqual(want.srcAddr.subarray(0, n * 16));
  expect(got.dstAddr.subarray(0, n * 16)).toEqual(want.dstAddr.subarray(0, n * 16));
}

/** The same analysis input: rows, columns, bases and host ids (each batch over its own table, interned in the same order). */
function expectSameAnalysis(got: AnalysisBatch, want: AnalysisBatch): void {
  const n = want.length;
  expect(got.length).toBe(n);
  expect(got.bases).toEqual(want.bases);
  for (const c of ['start', 'end', 'src', 'dst', 'srcPort', 'dstPort', 'proto', 'tcpFlags', 'bytes', 'packets', 'samplingRate', 'basis'] as const) {
    expect(Array.from(got[c].subarray(0, n)), c).toEqual(Array.from(want[c].subarray(0, n)));
  }
  for (let k = 0; k < n; k++) expect(got.hosts.get(got.src[k]!)).toEqual(want.hosts.get(want.src[k]!));
}

describe('wire codec (fast-check)', () => {
  it('decodes exactly what it encoded, metadata and every column', () => {
    fc.assert(fc.property(batchArb, fc.string({ maxLength: 40 }), fc.nat(), fc.constantFrom('d', 's'), fc.nat(4095), (b, edge, seq, family, partition) => {
      const m = { edge, seq, family, partition, selectedAtMs: meta.selectedAtMs };
      const out = decodeWireBatch(encodeWireBatch(m, b));
      expect(out.meta).toEqual(m);
      expectSameBatch(out.batch, b);
    }), { numRuns: 300 });
  });

  it('reads address slots at any alignment (words when aligned, bytes otherwise) to the same bytes', () => {
    fc.assert(fc.property(batchArb, (b) => {
      const odd = (a: Uint8Array): Uint8Array => { const x = new Uint8Array(a.length + 1).subarray(1); x.set(a); return x; };
      const shifted = { ...b, srcAddr: odd(b.srcAddr), dstAddr: odd(b.dstAddr) };
      const bytes = encodeWireBatch(meta, b);
      expect(encodeWireBatch(meta, shifted)).toEqual(bytes);
      const into = { ...createSelectedBatch(b.length), srcAddr: odd(new Uint8Array(b.length * 16).fill(7)), dstAddr: odd(new Uint8Array(b.length * 16).fill(7)) };
      expectSameBatch(decodeWireBatch(bytes, into).batch, b);
    }), { numRuns: 200 });
  });

  it('decodes into a batch of an earlier message as into a fresh one (no byte of the earlier one left in a slot)', () => {
    fc.assert(fc.property(batchArb, batchArb, (first, second) => {
      const into = decodeWireBatch(encodeWireBatch(meta, first)).batch;
      const again = decodeWireBatch(encodeWireBatch(meta, second), into).batch;
      expectSameBatch(again, second);
      if (into.start.length >= second.length) expect(again).toBe(into);
    }), { numRuns: 300 });
  });

  it('decodes for the detectors the input decodeWireBatch then adaptSelectedBatch make: rows, bases, host ids, batch after batch', () => {
    fc.assert(fc.property(fc.array(batchArb, { minLength: 1, maxLength: 4 }), fc.constantFrom(16, 64, 100_000), (batches, maxHosts) => {
      // A small table fills and starts over within these batches: both paths must reset it at the same rows.
      const hostsA = new HostTable(maxHosts), hostsB = new HostTable(maxHosts);
      let into: AnalysisBatch | undefined;
      for (const b of batches) {
        const bytes = encodeWireBatch(meta, b);
        const want = adaptSelectedBatch(decodeWireBatch(bytes).batch, createAnalysisBatch(Math.max(1, b.length), hostsA));
        const got = decodeWireForAnalysis(bytes, hostsB, into);
        into = got.batch;
        expect(got.meta).toEqual(meta);
        expect(got.rows).toBe(b.length);
        expect(got.end).toBe(Math.max(-Infinity, ...Array.from(b.end.subarray(0, b.length))));
        expectSameAnalysis(got.batch, want);
        expect([hostsB.size, hostsB.generation]).toEqual([hostsA.size, hostsA.generation]);
      }
    }), { numRuns: 300 });
  });

  it('refuses for the detectors what decodeWireBatch refuses, interning no host of a bad message', () => {
    fc.assert(fc.property(batchArb, fc.nat(), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }), (b, cut, flips) => {
      const bytes = encodeWireBatch(meta, b);
      const mutated = bytes.slice();
      for (const [at, v] of flips) mutated[at % mutated.length] = v;
      for (const bad of [bytes.subarray(0, cut % bytes.length), mutated]) {
        const hosts = new HostTable(100_000);
        let plain: unknown;
        try { plain = decodeWireBatch(bad); } catch (e) { plain = e; }
        if (plain instanceof Error) {
          expect(() => decodeWireForAnalysis(bad, hosts)).toThrow((plain as Error).message);
          expect(hosts.size).toBe(0);
        } else {
          const want = adaptSelectedBatch((plain as ReturnType<typeof decodeWireBatch>).batch, createAnalysisBatch(Math.max(1, b.length), new HostTable(100_000)));
          expectSameAnalysis(decodeWireForAnalysis(bad, hosts).batch, want);
        }
      }
    }), { numRuns: 300 });
  });

  it('spreads addresses that differ only in their bytes\' high bits over every partition', () => {
    // 10.0.<16·i>.0 and the like: FNV-1a alone put all of these in one of 16 partitions (its low bits see only the bytes' low bits).
    for (const parts of [4, 16]) {
      const counts = new Array<number>(parts).fill(0);
      const slot = new Uint8Array(16);
      for (let a = 0; a < 16; a++) for (let b = 0; b < 16; b++) {
        slot.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, a << 4, b << 4, 0]);
        counts[slotPartition(slot, 0, 1, parts)]!++;
      }
      // 256 keys: every partition holds some, none more than three times its share.
      expect(Math.min(...counts), `counts ${counts.join(' ')}`).toBeGreaterThan(0);
      expect(Math.max(...counts), `counts ${counts.join(' ')}`).toBeLessThan((3 * 256) / parts);
    }
  });

  it('places each row by slotPartition of its key, reading slots as words or (unaligned) as bytes', () => {
    // The reference: the family's rule with slotPartition, byte by byte, for any partition count.
    const expected = (b: SelectedBatch, i: number, family: 'd' | 's', parts: number): number => {
      const sk = b.srcKind[i]!, dk = b.dstKind[i]!;
      if (family === 's') return sk === ADDR_ABSENT || dk === ADDR_ABSENT || !scanReadsFlow(b.proto[i]!, b.tcpFlags[i]!, b.dstPort[i]!) ? -1 : slotPartition(b.srcAddr, i * 16, sk, parts);
      return dk !== ADDR_ABSENT ? slotPartition(b.dstAddr, i * 16, dk, parts) : sk !== ADDR_ABSENT ? slotPartition(b.srcAddr, i * 16, sk, parts) : 0;
    };
    const unaligned = (a: Uint8Array): Uint8Array => { const c = new Uint8Array(a.length + 1).subarray(1); c.set(a); return c; };
    fc.assert(fc.property(batchArb, fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 65_536 })), fc.constantFrom('d', 's'), fc.boolean(), (b, parts, family, shift) => {
      const sel = shift ? { ...b, srcAddr: unaligned(b.srcAddr), dstAddr: unaligned(b.dstAddr) } : b;
      const { order, from } = partitionRows(sel, family, parts);
      const want = Array.from({ length: b.length }, (_, i) => expected(b, i, family, parts));
      const got = new Array<number>(b.length).fill(-1);
      for (let p = 0; p < parts; p++) for (let k = from[p]!; k < from[p + 1]!; k++) got[order[k]!] = p;
      expect(got).toEqual(want);
    }), { numRuns: 300 });
  });

  it('places keys where it always has: the function is fixed, since it placed the messages a stream holds (decision 0007)', () => {
    // Values pinned at c1d3825 (FNV-1a + MurmurHash3's finalizer): a change here moves every key; see 0007's note first.
    const zeros = (n: number): number[] => new Array<number>(n).fill(0);
    const v4 = (a: number, b: number, c: number, d: number): Uint8Array => Uint8Array.from([...zeros(10), 255, 255, a, b, c, d]); // v4-mapped
    const v6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...zeros(11), 1]); // 2001:db8::1
    const keys = [v4(10, 0, 16, 0), v4(192, 0, 2, 1), v4(45, 33, 32, 156), v4(198, 51, 100, 7), v6];
    const placed = (kind: number): string => keys.map((k) => [16, 64, 1000].map((p) => slotPartition(k, 0, kind, p)).join('/')).join(' ');
    expect(placed(1)).toBe('6/22/622 7/23/703 3/3/259 1/1/265 12/12/612');
    expect(placed(2)).toBe('14/14/926 8/8/112 12/60/188 11/11/691 9/9/713');
  });

  it('encodes the rows of a partition in place as the same bytes as the partition copied out', () => {
    fc.assert(fc.property(batchArb, fc.integer({ min: 1, max: 8 }), fc.constantFrom('d', 's'), (b, parts, family) => {
      const { order, from } = partitionRows(b, family, parts);
      splitByPartition(b, family, parts).forEach((part, p) => {
        const m = { ...meta, family, partition: p };
        if (part === undefined) expect(from[p + 1]).toBe(from[p]);
        else expect(encodeWireRows(m, b, order, from[p]!, from[p + 1]!)).toEqual(encodeWireBatch(m, part));
      });
    }), { numRuns: 200 });
  });

  it('partitions with reused arrays as with new ones, call after call, and encodes into given arrays the same bytes', () => {
    const scratch = new PartitionScratch();
    fc.assert(fc.property(fc.array(batchArb, { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 8 }), fc.constantFrom('d', 's'), (batches, parts, family) => {
      for (const b of batches) {
        const fresh = partitionRows(b, family, parts);
        const reused = partitionRows(b, family, parts, scratch);
        expect([...reused.order]).toEqual([...fresh.order]);
        expect([...reused.from]).toEqual([...fresh.from]);
        for (let p = 0; p < parts; p++) {
          const m = { ...meta, family, partition: p };
          const given = new Uint8Array(1 << 16).fill(0xee);
          const got = encodeWireRows(m, b, reused.order, reused.from[p]!, reused.from[p + 1]!, (n) => given.subarray(0, n));
          expect(got.buffer).toBe(given.buffer);
          expect(got).toEqual(encodeWireRows(m, b, fresh.order, fresh.from[p]!, fresh.from[p + 1]!));
        }
      }
    }), { numRuns: 150 });
  });

  it('refuses truncated or altered bytes with a WireError (never another failure, never a partial batch)', () => {
    fc.assert(fc.property(batchArb, fc.nat(), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }), (b, cut, flips) => {
      const bytes = encodeWireBatch(meta, b);
      const truncated = bytes.subarray(0, cut % bytes.length);
      expect(() => decodeWireBatch(truncated)).toThrow(WireError);
      const mutated = bytes.slice();
      for (const [at, v] of flips) mutated[at % mutated.length] = v;
      try {
        const got = decodeWireBatch(mutated);
        // What a mutation leaves readable is still a whole, consistent batch.
        for (let i = 0; i < got.batch.length; i++) {
          expect(got.batch.basisIndex[i]).toBeLessThan(got.batch.basisIds.length);
          expect([ADDR_ABSENT, ADDR_FOREIGN, ADDR_PSEUDONYM]).toContain(got.batch.srcKind[i]);
        }
      } catch (e) {
        expect(e).toBeInstanceOf(WireError);
      }
    }), { numRuns: 300 });
  });

  it('names the problem: another version, a bad magic, an address slot selection never makes', () => {
    const b = createSelectedBatch(1);
    b.basisIds = ['basis-1']; b.length = 1; b.srcKind[0] = ADDR_FOREIGN; b.dstKind[0] = ADDR_PSEUDONYM;
    const bytes = encodeWireBatch(meta, b);
    const newer = bytes.slice(); newer[2] = WIRE_VERSION + 1;
    expect(() => decodeWireBatch(newer)).toThrow(/version 2; this reader knows 1/);
    expect(() => decodeWireBatch(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).toThrow(/bad magic/);
    b.dstKind[0] = 7; // not absent, foreign or pseudonym
    expect(() => encodeWireBatch(meta, b)).toThrow(/destination address of row 0: kind 7/);
  });
});

// A realistic kept batch: the real selector over flows between the small world's domestic and foreign pools.
const selected = (n: number): SelectedBatch => testSelector().select(mixedFlows(n));

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

describe('what leaves an edge', () => {
  it('holds no raw domestic address in any encoded byte, in either partition family', () => {
    const kept = selected(3000);
    expect(kept.length).toBeGreaterThan(1000);
    const messages: Uint8Array[] = [];
    for (const family of ['d', 's'] as const) {
      splitByPartition(kept, family, 8).forEach((p, i) => { if (p !== undefined) messages.push(encodeWireBatch({ ...meta, family, partition: i }, p)); });
    }
    const all = new Uint8Array(messages.reduce((a, m) => a + m.length, 0));
    let at = 0;
    for (const m of messages) { all.set(m, at); at += m.length; }
    for (const a of POOLS.domestic) {
      const slot = new Uint8Array(16);
      writeAddress(slot, 0, a);
      expect(contains(all, slot), `${a} as 16 bytes`).toBe(false);
      if (!a.includes(':')) expect(contains(all, slot.subarray(12)), `${a} as 4 bytes`).toBe(false);
      expect(contains(all, new TextEncoder().encode(a)), `${a} as text`).toBe(false);
    }
    // The foreign ends are there (the scan is not vacuous).
    const f = new Uint8Array(16);
    writeAddress(f, 0, '8.8.8.8');
    expect(contains(all, f.subarray(12))).toBe(true);
  });

  it('is compact: a kept flow takes a fraction of its 150 in-memory bytes', () => {
    const kept = selected(4000);
    const bytes = encodeWireBatch(meta, kept);
    expect(bytes.length / kept.length).toBeLessThan(40);
    expectSameBatch(decodeWireBatch(bytes).batch, kept);
  });
});

describe('partitions', () => {
  it('puts every kept flow in exactly one d partition, a key always in the same one, and only flows with both ends in s', () => {
    fc.assert(fc.property(batchArb, fc.integer({ min: 1, max: 16 }), (b, parts) => {
      const d = splitByPartition(b, 'd', parts);
      expect(d.reduce((a, p) => a + (p?.length ?? 0), 0)).toBe(b.length);
      const seen = new Map<string, number>();
      d.forEach((p, i) => {
        for (let k = 0; k < (p?.length ?? 0); k++) {
          if (p!.dstKind[k] === ADDR_ABSENT) continue;
          const key = `${p!.dstKind[k]}:${Buffer.from(p!.dstAddr.subarray(k * 16, k * 16 + 16)).toString('hex')}`;
          expect(seen.get(key) ?? i).toBe(i);
          seen.set(key, i);
        }
      });
      const both = Array.from({ length: b.length }, (_, i) => i)
        .filter((i) => b.srcKind[i] !== ADDR_ABSENT && b.dstKind[i] !== ADDR_ABSENT && scanReadsFlow(b.proto[i]!, b.tcpFlags[i]!, b.dstPort[i]!)).length;
      expect(splitByPartition(b, 's', parts).reduce((a, p) => a + (p?.length ?? 0), 0)).toBe(both);
    }), { numRuns: 200 });
  });

  it('leaves out of s only flows the scan detector skips: its findings are the same as over every flow', async () => {
    const t0 = NOW - 600_000;
    const records: FlowRecord[] = [];
    const flow = (i: number, dstPort: number, proto: number, tcpFlags: number): FlowRecord => ({
      start: t0 + i * 1000, end: t0 + i * 1000 + 10, srcAddr: '8.8.8.8', dstAddr: POOLS.domestic[i % 2]!, srcPort: 40_000 + i, dstPort, proto, tcpFlags, bytes: 60, packets: 1, samplingRate: 1, inIf: 1, outIf: 2, exporter: '192.0.2.1/0',
    });
    // A vertical scan (SYN only), answered handshakes, established flows without SYN, UDP and ICMP (echo requests and replies).
    for (let i = 0; i < 40; i++) records.push(flow(i, 1 + i, 6, 0x02), flow(i, 2000 + i, 6, 0x12), flow(i, 3000 + i, 6, 0x18), flow(i, 4000 + i, 17, 0), flow(i, i % 2 === 0 ? 0x0800 : 0, 1, 0));
    const b = createFlowBatch(records.length);
    for (const r of records) appendFlow(b, r);
    const kept = testSelector().select(b);
    expect(kept.length).toBe(records.length);
    const scanFindings = async (batches: readonly SelectedBatch[]): Promise<string> => {
      const hosts = new HostTable(10_000);
      const det = createDetectors(hosts, {}, undefined, ['scan']);
      const ingest = inThreadDetectors(det, hosts);
      for (const x of batches) await ingest.ingest(x);
      return JSON.stringify(det.flush(NOW, true).map((f) => [f.kind, f.subject, f.level, f.score, f.evidence]));
    };
    const parts = splitByPartition(kept, 's', 4).filter((p): p is SelectedBatch => p !== undefined);
    expect(parts.reduce((a, p) => a + p.length, 0)).toBe(40 + 40 + 20); // SYN, SYN|ACK and the echo requests
    const all = await scanFindings([kept]);
    expect(all).toContain('scan-vertical');
    expect(await scanFindings(parts)).toBe(all);
    // As the edge sends them: only the columns the scan detector reads (the rest constant), decoded at the worker.
    const split = splitByPartition(kept, 's', 4);
    const { order: rows, from } = partitionRows(kept, 's', 4);
    const used = [0, 1, 2, 3].filter((p) => split[p] !== undefined);
    const encode = (p: number, columns?: 'scan'): Uint8Array => encodeWireRows({ ...meta, family: 's', partition: p }, kept, rows, from[p]!, from[p + 1]!, undefined, columns);
    const size = (ms: Uint8Array[]): number => ms.reduce((a, m) => a + m.length, 0);
    const sent = used.map((p) => encode(p, 'scan'));
    // Source ports, bytes, packets, interfaces and the exporter's name stay at the edge: 100 rows, ≥ 3 bytes a row fewer.
    expect(size(used.map((p) => encode(p))) - size(sent)).toBeGreaterThanOrEqual(300);
    const decoded = sent.map((m) => decodeWireBatch(m).batch);
    expect(await scanFindings(decoded)).toBe(all);
    for (const [k, d] of decoded.entries()) {
      const want = split[used[k]!]!;
      for (const c of ['start', 'end', 'srcKind', 'dstKind', 'dstPort', 'proto', 'tcpFlags', 'basisIndex', 'category', 'fields', 'periodIndex'] as const) {
        expect(Array.from(d[c].subarray(0, d.length)), c).toEqual(Array.from(want[c].subarray(0, want.length)));
      }
      expect(Buffer.from(d.srcAddr.subarray(0, d.length * 16)).equals(Buffer.from(want.srcAddr.subarray(0, want.length * 16)))).toBe(true);
      expect(Buffer.from(d.dstAddr.subarray(0, d.length * 16)).equals(Buffer.from(want.dstAddr.subarray(0, want.length * 16)))).toBe(true);
      for (const c of ['srcPort', 'bytes', 'packets', 'inIf', 'outIf', 'exporterIndex'] as const) expect(d[c].subarray(0, d.length).every((v) => v === 0), c).toBe(true);
      expect(d.samplingRate.subarray(0, d.length).every((v) => v === 1)).toBe(true);
      expect(d.exporters).toEqual([]);
    }
  });
});
