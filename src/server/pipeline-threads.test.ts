/** @module Detector threads give the findings of the in-thread detectors: same kept flows in, same findings out, for 1 to 4 threads. */
import { afterEach, describe, expect, it } from 'vitest';
import { DETECTOR_KINDS, HostTable, assignKinds, createAnalysisBatch, createDetectorThreads, createDetectors, createSlotBatch, IndicatorMatcher, type DetectorKind, type DetectorThreads, type FindingUpdate, type Indicator } from '#modules/analysis/index.js';
import { ADDR_ABSENT, ADDR_FOREIGN, ADDR_PSEUDONYM, createSelectedBatch, type SelectedBatch } from '#modules/selection/index.js';
import { adaptSelectedBatch, detectorThreadsFor, inThreadDetectors, localKinds, threadedDetectors, type PipelineDetectors } from './pipeline.js';

const T0 = Date.UTC(2026, 4, 1);
const INDICATORS: Indicator[] = [{ id: 'i1', kind: 'ipv4', value: '198.51.100.0/24', confidence: 80 }];

/** A seeded PRNG (mulberry32), so every run sees the same traffic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Flow { t: number; src: number; srcDom: boolean; dst: number; dstDom: boolean; sp: number; dp: number; proto: number; flags: number; bytes: number; packets: number; noAddr?: boolean }

function writeHost(buf: Uint8Array, at: number, n: number, domestic: boolean): void {
  if (domestic) {
    // A stand-in pseudonym: 16 bytes derived from the host number (selection writes HMAC bytes here).
    for (let j = 0; j < 16; j++) buf[at + j] = (Math.imul(n + 1, 0x9e3779b1 + j * 0x85ebca6b) >>> (j % 24)) & 255;
    return;
  }
  buf.fill(0, at, at + 10);
  buf[at + 10] = 0xff; buf[at + 11] = 0xff;
  buf[at + 12] = n >>> 24; buf[at + 13] = (n >>> 16) & 255; buf[at + 14] = (n >>> 8) & 255; buf[at + 15] = n & 255;
}

function selectedOf(flows: readonly Flow[]): SelectedBatch {
  const b = createSelectedBatch(flows.length);
  b.basisIds = ['basis-a', 'basis-b'];
  b.periods = ['2026-05'];
  flows.forEach((f, i) => {
    b.basisIndex[i] = i % 3 === 0 ? 1 : 0;
    b.start[i] = f.t; b.end[i] = f.t + 200;
    writeHost(b.srcAddr, i * 16, f.src, f.srcDom);
    writeHost(b.dstAddr, i * 16, f.dst, f.dstDom);
    b.srcKind[i] = f.noAddr === true ? ADDR_ABSENT : f.srcDom ? ADDR_PSEUDONYM : ADDR_FOREIGN;
    b.dstKind[i] = f.dstDom ? ADDR_PSEUDONYM : ADDR_FOREIGN;
    b.srcPort[i] = f.sp; b.dstPort[i] = f.dp; b.proto[i] = f.proto; b.tcpFlags[i] = f.flags;
    b.bytes[i] = f.bytes; b.packets[i] = f.packets; b.samplingRate[i] = 1;
  });
  b.length = flows.length;
  return b;
}

const ip = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

/**
 * Twenty minutes of traffic in 10-second batches: background noise, 12 domestic hosts beaconing to one
 * C&C every 60 s (beacon and fan-in), a foreign scanner sweeping domestic hosts on port 22, an NTP
 * reflection flood on one domestic host, calls to an indicator's /24, and some flows without addresses.
 */
function traffic(): SelectedBatch[] {
  const rnd = prng(7);
  const batches: SelectedBatch[] = [];
  const c2 = ip(203, 0, 113, 7);
  for (let w = 0; w < 120; w++) {
    const t = T0 + w * 10_000;
    const flows: Flow[] = [];
    for (let k = 0; k < 300; k++) {
      const out = rnd() < 0.6;
      const home = Math.floor(rnd() * 2000), away = ip(64, 0, Math.floor(rnd() * 64), Math.floor(rnd() * 256));
      flows.push({ t: t + Math.floor(rnd() * 10_000), src: out ? home : away, srcDom: out, dst: out ? away : home, dstDom: !out, sp: 30000 + Math.floor(rnd() * 30000), dp: [443, 80, 53][k % 3]!, proto: k % 3 === 2 ? 17 : 6, flags: 0x1b, bytes: 500 + Math.floor(rnd() * 5000), packets: 1 + Math.floor(rnd() * 20), noAddr: rnd() < 0.01 });
    }
    // Each call is a new TCP connection, from a new source port (a record on the same port continues one).
    if (w % 6 === 0) for (let h = 0; h < 12; h++) flows.push({ t: t + h * 7 + Math.floor(rnd() * 300), src: 5000 + h, srcDom: true, dst: c2, dstDom: false, sp: 40000 + h * 200 + w, dp: 8443, proto: 6, flags: 0x1b, bytes: 320, packets: 4 });
    for (let k = 0; k < 30; k++) flows.push({ t: t + k * 300, src: ip(185, 1, 2, 3), srcDom: false, dst: 9000 + w * 30 + k, dstDom: true, sp: 51000, dp: 22, proto: 6, flags: 0x02, bytes: 44, packets: 1 });
    if (w >= 40 && w < 70) for (let k = 0; k < 40; k++) flows.push({ t: t + k * 200, src: ip(45, 7, k, 9), srcDom: false, dst: 777, dstDom: true, sp: 123, dp: 40000 + k, proto: 17, flags: 0, bytes: 4_000_000, packets: 9000 });
    if (w % 10 === 0) flows.push({ t: t + 5, src: 12, srcDom: true, dst: ip(198, 51, 100, 9), dstDom: false, sp: 50000, dp: 443, proto: 6, flags: 0x1b, bytes: 900, packets: 6 });
    flows.sort((a, b) => a.t - b.t);
    batches.push(selectedOf(flows));
  }
  return batches;
}

/**
 * Feeds every batch, flushing every 30 and at the end. Each flush is copied when it is made, as the
 * pipeline stores it at once: an in-thread finding may share arrays with detector state that later
 * batches extend (the DDoS series), while a thread's findings arrive as copies.
 */
async function run(d: PipelineDetectors, batches: readonly SelectedBatch[]): Promise<FindingUpdate[][]> {
  const flushes: FindingUpdate[][] = [];
  for (let i = 0; i < batches.length; i++) {
    await d.ingest(batches[i]!);
    if (i % 30 === 29) flushes.push(structuredClone(await d.flush(T0 + (i + 1) * 10_000, false)));
  }
  flushes.push(structuredClone(await d.flush(T0 + batches.length * 10_000, true)));
  return flushes;
}

const open: DetectorThreads[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

describe('detector threads', () => {
  it('a shared batch over a shared host table gets the rows and ids of the in-thread adapter, and a thread reads the same hosts, across a host table reset', () => {
    const batches = traffic().slice(0, 12);
    const a = new HostTable(900);
    const b = new HostTable(900, true);
    const reader = HostTable.attach(b.share());
    for (const sel of batches) {
      const viaAdapter = adaptSelectedBatch(sel, createAnalysisBatch(sel.length, a));
      const viaSlots = adaptSelectedBatch(sel, createSlotBatch(sel.length, b));
      expect(viaSlots.length).toBe(viaAdapter.length);
      expect(viaSlots.bases).toEqual(viaAdapter.bases);
      for (const c of ['start', 'end', 'src', 'dst', 'srcPort', 'dstPort', 'proto', 'tcpFlags', 'bytes', 'packets', 'samplingRate', 'basis'] as const) {
        expect([c, Array.from(viaSlots[c].subarray(0, viaSlots.length))]).toEqual([c, Array.from(viaAdapter[c].subarray(0, viaAdapter.length))]);
      }
      reader.sync(b.size, b.generation);
      for (let k = 0; k < viaSlots.length; k++) {
        for (const id of [viaSlots.src[k]!, viaSlots.dst[k]!]) {
          expect([reader.label(id), reader.isDomestic(id), reader.ipv4(id)]).toEqual([a.label(id), a.isDomestic(id), a.ipv4(id)]);
        }
      }
    }
    expect(a.generation).toBeGreaterThan(0); // the small table did reset along the way
    expect(b.generation).toBe(a.generation);
    expect(reader.generation).toBe(a.generation);
  });

  it('auto takes one detector thread on two cores, two on three or more, none on one; a count is taken as given', () => {
    expect([1, 2, 3, 4, 64].map((cores) => detectorThreadsFor('auto', cores))).toEqual([0, 1, 2, 2, 2]);
    expect([0, 1, 3, 4].map((n) => detectorThreadsFor(n, 2))).toEqual([0, 1, 3, 4]);
  });

  it('the adapter copies every column of the rows with both endpoints, in order, whether all rows or only some have them', () => {
    for (const skip of [[], [1, 4], [0, 5]]) {
      const sel = createSelectedBatch(6);
      sel.length = 6;
      sel.basisIds = ['b0', 'b1'];
      for (let i = 0; i < 6; i++) {
        sel.basisIndex[i] = i % 2; sel.start[i] = T0 + i; sel.end[i] = T0 + 10 * i; sel.srcPort[i] = 1000 + i; sel.dstPort[i] = 2000 + i;
        sel.proto[i] = i % 2 === 0 ? 6 : 17; sel.tcpFlags[i] = i; sel.bytes[i] = 100 * i; sel.packets[i] = i + 1; sel.samplingRate[i] = i === 3 ? 0 : i + 1;
        writeHost(sel.srcAddr, i * 16, i, true);
        writeHost(sel.dstAddr, i * 16, 50 + i, false);
        sel.srcKind[i] = skip.includes(i) ? ADDR_ABSENT : ADDR_PSEUDONYM;
        sel.dstKind[i] = ADDR_FOREIGN;
      }
      const hosts = new HostTable();
      const out = adaptSelectedBatch(sel, createAnalysisBatch(6, hosts));
      const rows = [0, 1, 2, 3, 4, 5].filter((i) => !skip.includes(i));
      expect(out.length).toBe(rows.length);
      expect(out.bases).toEqual(rows[0]! % 2 === 0 ? ['b0', 'b1'] : ['b1', 'b0']);
      rows.forEach((i, k) => {
        expect([out.start[k], out.end[k], out.srcPort[k], out.dstPort[k], out.proto[k], out.tcpFlags[k], out.bytes[k], out.packets[k]])
          .toEqual([T0 + i, T0 + 10 * i, 1000 + i, 2000 + i, i % 2 === 0 ? 6 : 17, i, 100 * i, i + 1]);
        expect(out.samplingRate[k]).toBe(i === 3 ? 1 : i + 1); // an unknown rate (0) counts as unsampled
        expect(out.bases[out.basis[k]!]).toBe(`b${i % 2}`);
        expect(hosts.isDomestic(out.src[k]!)).toBe(true);
        expect(hosts.ipv4(out.dst[k]!)).toBeGreaterThanOrEqual(0);
      });
    }
  });

  it('a host table that could fill during the next batch starts over once, before it, instead of making every batch wait for the threads', async () => {
    const t = createDetectorThreads({ threads: 1, maxHosts: 1000 });
    open.push(t);
    let idles = 0;
    const d = threadedDetectors({ ...t, idle: () => { idles++; return t.idle(); } });
    const flow = (src: number, dst: number): Flow => ({ t: T0, src, srcDom: true, dst: ip(64, 0, dst >>> 8, dst & 255), dstDom: false, sp: 40000, dp: 443, proto: 6, flags: 0x1b, bytes: 500, packets: 2 });
    // 900 hosts (450 rows of new pairs), then the same 100 rows again and again: no new host comes.
    for (let b = 0; b < 3; b++) await d.ingest(selectedOf(Array.from({ length: 150 }, (_, k) => flow(b * 150 + k, b * 150 + k))));
    expect(t.hosts.size).toBe(900);
    const again = selectedOf(Array.from({ length: 100 }, (_, k) => flow(k, k)));
    for (let b = 0; b < 10; b++) await d.ingest(again);
    expect(idles).toBe(1); // the first of them; the table then held only its 200 hosts
    expect(t.hosts.size).toBe(200);
    expect(t.hosts.generation).toBe(1);
    // In one thread the adapter starts over at the same point, so both paths keep giving the same ids.
    const own = new HostTable(1000);
    for (let b = 0; b < 3; b++) adaptSelectedBatch(selectedOf(Array.from({ length: 150 }, (_, k) => flow(b * 150 + k, b * 150 + k))), createAnalysisBatch(150, own));
    adaptSelectedBatch(again, createAnalysisBatch(100, own));
    expect([own.size, own.generation]).toEqual([200, 1]);
    expect(() => HostTable.attach(t.hosts.share()).clear()).toThrow(/does not clear/);
  }, 30_000);

  it('a thread\'s view of a shared host table reads and never interns', () => {
    const reader = HostTable.attach(new HostTable(16, true).share());
    expect(() => reader.internSlot(new Uint8Array(16), 0, false)).toThrow(/does not intern/);
    expect(() => new HostTable(16).share()).toThrow(/not shared/);
    expect(() => new HostTable(16, true).sync(0, 0)).toThrow(/only a reader/);
  });

  it('with a host table that resets along the way, the threads still give the in-thread findings', async () => {
    const batches = traffic();
    const hosts = new HostTable(2500);
    const reference = await run(inThreadDetectors(createDetectors(hosts, {}, new IndicatorMatcher(INDICATORS)), hosts), batches);
    expect(hosts.generation).toBeGreaterThan(0);
    const t = createDetectorThreads({ threads: 2, indicators: INDICATORS, inFlight: 3, batchRows: 256, maxHosts: 2500 });
    open.push(t);
    expect(await run(threadedDetectors(t), batches)).toEqual(reference);
    expect(t.hosts.generation).toBe(hosts.generation);
  }, 60_000);

  it('gives every detector kind to exactly one thread, beacon alone from two threads on (it costs about what the other three do)', () => {
    for (let n = 1; n <= 4; n++) {
      const groups = assignKinds(n);
      expect(groups).toHaveLength(n);
      expect(groups.flat().sort()).toEqual(['beacon', 'ddos', 'indicators', 'scan']);
      if (n >= 2) expect(groups.find((g) => g.includes('beacon'))).toEqual(['beacon']);
    }
    expect(assignKinds(9)).toHaveLength(4);
  });

  it.each([1, 2, 3, 4])('with %i thread(s), the findings are those of the in-thread detectors, flush by flush', async (threads) => {
    const batches = traffic();
    const hosts = new HostTable();
    const reference = await run(inThreadDetectors(createDetectors(hosts, {}, new IndicatorMatcher(INDICATORS)), hosts), batches);
    const kinds = new Set(reference.flat().map((f) => f.kind));
    // The traffic is meant to make every detector speak; otherwise the comparison proves little.
    expect([...kinds].sort()).toEqual(expect.arrayContaining(['beacon', 'botnet-fanin', 'ddos-reflection', 'known-indicator', 'scan-horizontal']));
    const t = createDetectorThreads({ threads, indicators: INDICATORS, inFlight: 3, batchRows: 256 });
    open.push(t);
    const got = await run(threadedDetectors(t), batches);
    expect(got).toEqual(reference);
    const stats = await t.stats();
    expect(Object.keys(stats).sort()).toEqual(['beacon', 'ddos', 'indicators', 'scan']);
  }, 60_000);

  const splits: DetectorKind[][][] = [[['ddos', 'indicators']], [['beacon']], [['scan', 'indicators']]];
  it.each(splits)('with one thread and %j in the pipeline\'s thread, the findings are those of the in-thread detectors', async (mine) => {
    const batches = traffic();
    const hosts = new HostTable();
    const reference = await run(inThreadDetectors(createDetectors(hosts, {}, new IndicatorMatcher(INDICATORS)), hosts), batches);
    const t = createDetectorThreads({ threads: 1, kinds: DETECTOR_KINDS.filter((k) => !mine.includes(k)), indicators: INDICATORS, inFlight: 3, batchRows: 256 });
    open.push(t);
    const got = await run(threadedDetectors(t, createDetectors(t.hosts, {}, new IndicatorMatcher(INDICATORS), mine)), batches);
    expect(got).toEqual(reference);
    expect(Object.keys(await t.stats()).sort()).toEqual(DETECTOR_KINDS.filter((k) => !mine.includes(k)).sort());
  }, 60_000);

  it('keeps no detector kind in the pipeline\'s thread beside detector threads (decision 0012)', () => {
    for (const n of [1, 2, 3, 4]) expect(localKinds(n)).toEqual([]);
    expect(assignKinds(1, ['beacon', 'scan'])).toEqual([['beacon', 'scan']]);
    expect(assignKinds(3, ['scan', 'beacon'])).toEqual([['beacon'], ['scan']]);
  });

  it('takes a new indicator set in the pipeline\'s thread when it matches indicators there', async () => {
    const batches = traffic().slice(0, 20);
    const t = createDetectorThreads({ threads: 1, kinds: ['beacon', 'scan'] });
    open.push(t);
    const d = threadedDetectors(t, createDetectors(t.hosts, {}, new IndicatorMatcher([]), ['ddos', 'indicators']));
    await d.setIndicators(new IndicatorMatcher(INDICATORS), INDICATORS);
    const flushes = await run(d, batches);
    expect(flushes.flat().some((f) => f.kind === 'known-indicator' && f.subject.value.startsWith('198.51.100.'))).toBe(true);
    await expect(t.setIndicators(INDICATORS)).rejects.toThrow(/no detector thread matches indicators/);
  }, 60_000);

  it('when the threads fail a flush, the kinds in the pipeline\'s thread keep what they saw for flushLocal', async () => {
    const batches = traffic().slice(0, 20);
    const t = createDetectorThreads({ threads: 1, kinds: ['beacon', 'scan'] });
    open.push(t);
    const d = threadedDetectors(t, createDetectors(t.hosts, {}, new IndicatorMatcher(INDICATORS), ['ddos', 'indicators']));
    for (const b of batches) await d.ingest(b);
    await t.close(); // the threads are gone, as after a crash: every call is refused
    await expect(d.flush(T0 + 3_600_000, false)).rejects.toThrow(/closed/);
    const kept = d.flushLocal(T0 + 3_600_000, false);
    expect(kept.some((f) => f.kind === 'known-indicator' && f.subject.value.startsWith('198.51.100.'))).toBe(true);
    expect(new Set(kept.map((f) => f.kind)).has('beacon')).toBe(false);
    expect(d.flushLocal(T0 + 3_600_000, false)).toEqual([]); // taken once
  }, 60_000);

  it('takes a new indicator set in the thread that matches indicators', async () => {
    const batches = traffic().slice(0, 20);
    const t = createDetectorThreads({ threads: 2 });
    open.push(t);
    const d = threadedDetectors(t);
    await d.setIndicators(new IndicatorMatcher([]), INDICATORS);
    const flushes = await run(d, batches);
    expect(flushes.flat().some((f) => f.kind === 'known-indicator' && f.subject.value.startsWith('198.51.100.'))).toBe(true);
  }, 60_000);

  it('says at once, and only once, when a thread fails (here at start, on a configuration it refuses); a close is no failure', async () => {
    const failures: Array<{ message: string; unanalysed: number }> = [];
    const t = createDetectorThreads({ threads: 1, config: { scan: { maxKeys: 0 } }, onFailure: (e, unanalysed) => { failures.push({ message: e.message, unanalysed }); } });
    open.push(t);
    await expect(t.flush(T0)).rejects.toThrow(/maxKeys/);
    await expect(t.acquire(10)).rejects.toThrow(/maxKeys/);
    expect(failures).toEqual([{ message: expect.stringMatching(/maxKeys/), unanalysed: 0 }]);
    const closedOnly: Error[] = [];
    const u = createDetectorThreads({ threads: 1, onFailure: (e) => { closedOnly.push(e); } });
    await u.flush(T0);
    await u.close();
    expect(closedOnly).toEqual([]);
  }, 30_000);

  it('fails calls clearly once closed', async () => {
    const t = createDetectorThreads({ threads: 1 });
    await t.close();
    await expect(t.acquire(10)).rejects.toThrow(/closed/);
    await expect(t.flush(T0)).rejects.toThrow(/closed/);
  });
});
