/** @module Tests of the detectors: beacons, scans, DDoS, indicators; edge cases (too few events, out of order, sampling, eviction). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HostTable, createAnalysisBatch, type AnalysisBatch } from './batch.js';
import { createBeaconDetector, renumberAdmissions } from './beacon.js';
import { DEFAULT_SCAN_CONFIG, createScanDetector } from './scan.js';
import { createDdosDetector } from './ddos.js';
import { IndicatorMatcher, createIndicatorDetector } from './indicators.js';
import { createDetectors } from './pipeline.js';
import { BlockedBloomFilter, BlockedCountMinSketch, CountMinSketch, IdSet, inChunks, KeyIndex, PREFETCH_ROWS, RecentCounter } from './sketch.js';
import { bowleySkew, medianAbsDev, modeShare } from './stats.js';

interface F { t: number; src: number; dst: number; sp?: number; dp?: number; proto?: number; flags?: number; bytes?: number; packets?: number; dur?: number; rate?: number }

function batchOf(hosts: HostTable, flows: F[]): AnalysisBatch {
  const b = createAnalysisBatch(flows.length, hosts);
  b.bases.push('basis-1');
  flows.forEach((f, i) => {
    b.start[i] = f.t; b.end[i] = f.t + (f.dur ?? 100); b.src[i] = f.src; b.dst[i] = f.dst;
    b.srcPort[i] = f.sp ?? 40000 + (i % 20000); b.dstPort[i] = f.dp ?? 443; b.proto[i] = f.proto ?? 6; b.tcpFlags[i] = f.flags ?? 0x1b;
    b.bytes[i] = f.bytes ?? 400; b.packets[i] = f.packets ?? 5; b.samplingRate[i] = f.rate ?? 1; b.basis[i] = 0;
  });
  b.length = flows.length;
  return b;
}

function world() {
  const hosts = new HostTable();
  const home = hosts.intern({ kind: 'domestic', pseudonym: 'p:home' });
  const c2 = hosts.intern({ kind: 'foreign', address: '203.0.113.7' });
  return { hosts, home, c2 };
}

const T0 = Date.UTC(2025, 0, 1);

describe('beacon detector', () => {
  it('finds a fast, regular call-home as an alert with the interval histogram', () => {
    const { hosts, home, c2 } = world();
    const d = createBeaconDetector(hosts);
    d.ingest(batchOf(hosts, Array.from({ length: 60 }, (_, k) => ({ t: T0 + k * 10_000 + (k % 3) * 150, src: home, dst: c2 }))));
    const [f] = d.flush(T0 + 700_000);
    expect(f?.kind).toBe('beacon');
    expect(f?.level).toBe('alert');
    expect(f?.subject).toEqual({ kind: 'address', value: '203.0.113.7' });
    expect(f?.hosts).toEqual(['p:home']);
    // The first admitAfter − 1 = 2 calls only warm the count-min sketch: 58 calls tracked, 57 intervals.
    expect((f?.evidence['intervalHistogram'] as { counts: number[] }).counts.reduce((a, b) => a + b, 0)).toBe(57);
  });

  it('says nothing with too few calls', () => {
    const { hosts, home, c2 } = world();
    const d = createBeaconDetector(hosts);
    d.ingest(batchOf(hosts, Array.from({ length: 7 }, (_, k) => ({ t: T0 + k * 10_000, src: home, dst: c2 }))));
    expect(d.flush(T0 + 100_000)).toEqual([]);
  });

  it('scores the same when calls arrive out of order (exporter clock skew, late batches)', () => {
    const calls = Array.from({ length: 40 }, (_, k) => T0 + k * 30_000);
    const a = world();
    const da = createBeaconDetector(a.hosts);
    da.ingest(batchOf(a.hosts, calls.map((t) => ({ t, src: a.home, dst: a.c2 }))));
    const b = world();
    const db = createBeaconDetector(b.hosts);
    const shuffled = [...calls].sort((x, y) => ((x * 7919) % 13) - ((y * 7919) % 13));
    db.ingest(batchOf(b.hosts, shuffled.map((t) => ({ t, src: b.home, dst: b.c2 }))));
    expect(db.scorePair(b.home, b.c2)?.score).toBeCloseTo(da.scorePair(a.home, a.c2)!.score, 6);
  });

  it('does not read NTP to a pool server as C&C', () => {
    const { hosts, home, c2 } = world();
    const d = createBeaconDetector(hosts);
    d.ingest(batchOf(hosts, Array.from({ length: 60 }, (_, k) => ({ t: T0 + k * 64_000, src: home, dst: c2, sp: 123, dp: 123, proto: 17, bytes: 76, packets: 1 }))));
    expect(d.flush(T0 + 10_000_000)).toEqual([]);
  });

  it('keeps a slow successful keep-alive at suspect (no corroboration)', () => {
    const { hosts, home, c2 } = world();
    const d = createBeaconDetector(hosts);
    d.ingest(batchOf(hosts, Array.from({ length: 24 }, (_, k) => ({ t: T0 + k * 3_600_000, src: home, dst: c2, bytes: 2100 }))));
    expect(d.flush(T0 + 90_000_000)[0]?.level).toBe('suspect');
  });

  it('raises unanswered SYN-only call-home to alert even when slow', () => {
    const { hosts, home, c2 } = world();
    const d = createBeaconDetector(hosts);
    d.ingest(batchOf(hosts, Array.from({ length: 24 }, (_, k) => ({ t: T0 + k * 600_000, src: home, dst: c2, flags: 0x02, bytes: 60, packets: 1 }))));
    expect(d.flush(T0 + 90_000_000)[0]?.level).toBe('alert');
  });

  it('stays within maxPairs under a flood of distinct pairs, evicting the least recently seen', () => {
    const hosts = new HostTable();
    const d = createBeaconDetector(hosts, { maxPairs: 64, admitAfter: 1 });
    const ids = Array.from({ length: 500 }, (_, k) => [hosts.intern({ kind: 'domestic', pseudonym: `p:${k}` }), hosts.intern({ kind: 'foreign', address: `198.51.100.${k % 250}` })] as const);
    d.ingest(batchOf(hosts, ids.map(([s, t], k) => ({ t: T0 + k, src: s, dst: t }))));
    expect(d.stats().trackedPairs).toBeLessThanOrEqual(64);
    expect(d.stats().evictedPairs).toBeGreaterThan(400);
  });

  it('reports botnet fan-in when many hosts beacon with one cadence', () => {
    const { hosts, c2 } = world();
    const d = createBeaconDetector(hosts);
    const bots = Array.from({ length: 8 }, (_, k) => hosts.intern({ kind: 'domestic', pseudonym: `p:bot${k}` }));
    d.ingest(batchOf(hosts, bots.flatMap((b, j) => Array.from({ length: 30 }, (_, k) => ({ t: T0 + j * 777 + k * 20_000, src: b, dst: c2 })))));
    const f = d.flush(T0 + 1_000_000).find((x) => x.kind === 'botnet-fanin');
    expect(f?.hostCount).toBe(8);
  });
});

describe('a set of detector kinds', () => {
  it('builds only the kinds it runs (a scan-only set has no beacon tables) and finds what they find', () => {
    const hosts = new HostTable();
    const scanner = hosts.intern({ kind: 'foreign', address: '192.0.2.66' });
    const targets = Array.from({ length: 30 }, (_, k) => hosts.intern({ kind: 'domestic', pseudonym: `p:t${k}` }));
    const before = process.memoryUsage().arrayBuffers;
    const set = createDetectors(hosts, {}, new IndicatorMatcher([]), ['scan']);
    // A beacon detector alone holds ≈ 260 MB of typed arrays; the scan detector's own tables are far below that.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(150e6);
    expect(set.kinds).toEqual(['scan']);
    expect(set.stats().beacon).toBeUndefined();
    expect(set.stats().scan).toBeDefined();
    set.ingest(batchOf(hosts, targets.map((t, k) => ({ t: T0 + k * 100, src: scanner, dst: t, dp: 23, flags: 0x02 }))));
    expect(set.flush(T0 + 10_000).map((f) => [f.kind, f.subject.value])).toEqual([['scan-horizontal', '192.0.2.66']]);
    // A kind not run is built when asked for (its config), and still reads no flow.
    expect(set.beacon.config.alertInterval).toBeGreaterThan(0);
    set.ingest(batchOf(hosts, [{ t: T0 + 20_000, src: scanner, dst: targets[0]!, dp: 23, flags: 0x02 }]));
    expect(set.beacon.stats().trackedPairs).toBe(0);
  });
});

describe('scan detector', () => {
  it('finds a horizontal scan of unanswered SYNs, and not a host whose connections succeed', () => {
    const hosts = new HostTable();
    const scanner = hosts.intern({ kind: 'foreign', address: '192.0.2.66' });
    const browser = hosts.intern({ kind: 'domestic', pseudonym: 'p:browser' });
    const targets = Array.from({ length: 30 }, (_, k) => hosts.intern({ kind: k % 2 ? 'domestic' : 'foreign', ...(k % 2 ? { pseudonym: `p:t${k}` } : { address: `198.51.100.${k}` }) } as never));
    const d = createScanDetector(hosts);
    d.ingest(batchOf(hosts, [
      ...targets.map((t, k) => ({ t: T0 + k * 100, src: scanner, dst: t, dp: 23, flags: 0x02 })),
      ...targets.map((t, k) => ({ t: T0 + k * 100, src: browser, dst: t, dp: 443, flags: 0x1b })),
    ]));
    const found = d.flush(T0 + 10_000);
    expect(found.map((f) => [f.kind, f.subject.value])).toEqual([['scan-horizontal', '192.0.2.66']]);
  });

  it('finds a vertical scan and ignores nine probes', () => {
    const hosts = new HostTable();
    const src = hosts.intern({ kind: 'domestic', pseudonym: 'p:x' });
    const dst = hosts.intern({ kind: 'foreign', address: '45.33.32.156' });
    const d = createScanDetector(hosts);
    d.ingest(batchOf(hosts, Array.from({ length: 9 }, (_, k) => ({ t: T0 + k, src, dst, dp: 1000 + k, flags: 0x02 }))));
    expect(d.flush(T0 + 100)).toEqual([]);
    d.ingest(batchOf(hosts, Array.from({ length: 40 }, (_, k) => ({ t: T0 + 10 + k, src, dst, dp: 2000 + k, flags: 0x02 }))));
    expect(d.flush(T0 + 100)[0]).toMatchObject({ kind: 'scan-vertical', subject: { kind: 'pseudonym', value: 'p:x' } });
  });

  it('bounds its keys', () => {
    const hosts = new HostTable();
    const d = createScanDetector(hosts, { maxKeys: 100 });
    const dst = hosts.intern({ kind: 'foreign', address: '198.51.100.1' });
    const srcs = Array.from({ length: 1000 }, (_, k) => hosts.intern({ kind: 'domestic', pseudonym: `p:${k}` }));
    d.ingest(batchOf(hosts, srcs.map((s, k) => ({ t: T0 + k, src: s, dst, flags: 0x02 }))));
    expect(d.stats().horizontalKeys).toBeLessThanOrEqual(100);
    expect(d.stats().evictedKeys).toBeGreaterThan(0);
  });
});

describe('scan detector pools', () => {
  function prober(n: number) {
    const hosts = new HostTable();
    const src = hosts.intern({ kind: 'foreign', address: '192.0.2.99' });
    const targets = Array.from({ length: n }, (_, k) => hosts.intern({ kind: 'domestic', pseudonym: `p:t${k}` }));
    return { hosts, src, targets };
  }

  it('counts exactly through the inline targets and the exact spill set (8, 9 and 64 targets)', () => {
    for (const n of [8, 9, 40, 64]) {
      const { hosts, src, targets } = prober(n);
      const d = createScanDetector(hosts, { minTargets: 1 });
      // Every target probed, then contacted again with an answer: neither repeat may count twice.
      d.ingest(batchOf(hosts, [...targets.map((t, k) => ({ t: T0 + k, src, dst: t, dp: 22, flags: 0x02 })), ...targets.map((t, k) => ({ t: T0 + n + k, src, dst: t, dp: 22, flags: 0x12 }))]));
      const [f] = d.flush(T0 + 1000);
      expect(f?.evidence).toMatchObject({ distinctDestinations: n, unansweredDestinations: n });
      expect(f?.evidence['countsEstimated']).toBeUndefined();
      expect(d.stats().spilledKeys).toBe(n > 8 ? 1 : 0);
    }
  });

  it('counts a key that answered most contacts, with the unanswered ones marked later, exactly', () => {
    const { hosts, src, targets } = prober(30);
    const d = createScanDetector(hosts);
    // 30 answered contacts first, then 12 of the same targets probed without answer.
    d.ingest(batchOf(hosts, targets.map((t, k) => ({ t: T0 + k, src, dst: t, dp: 80, flags: 0x1b }))));
    expect(d.stats().horizontalKeys).toBe(0); // answered contacts alone open no key
    d.ingest(batchOf(hosts, targets.slice(0, 12).map((t, k) => ({ t: T0 + 100 + k, src, dst: t, dp: 80, flags: 0x02 }))));
    d.ingest(batchOf(hosts, targets.map((t, k) => ({ t: T0 + 200 + k, src, dst: t, dp: 80, flags: 0x1b }))));
    const [f] = d.flush(T0 + 1000);
    expect(f?.evidence).toMatchObject({ distinctDestinations: 30, unansweredDestinations: 12 });
  });

  it('estimates past 64 targets with HyperLogLog within a few per cent, in constant memory', () => {
    const { hosts, src, targets } = prober(5000);
    const d = createScanDetector(hosts);
    const before = d.stats().bytes;
    // 5,000 targets, one in four answered.
    d.ingest(batchOf(hosts, targets.map((t, k) => ({ t: T0 + k, src, dst: t, dp: 23, flags: k % 4 === 0 ? 0x12 : 0x02 }))));
    const [f] = d.flush(T0 + 10_000);
    expect(f?.evidence['countsEstimated']).toBe(true);
    const all = f?.evidence['distinctDestinations'] as number;
    const unanswered = f?.evidence['unansweredDestinations'] as number;
    expect(all).toBe(DEFAULT_SCAN_CONFIG.maxTargetsPerKey); // capped at 4,096 as before
    expect(Math.abs(unanswered - 3750) / 3750).toBeLessThan(0.2);
    expect(f?.level).toBe('alert');
    expect(d.stats().bytes).toBe(before); // one slab was already there: no growth
  });

  it('keeps the sample of unanswered ports exact up to 64 ports and from the inline targets after', () => {
    const hosts = new HostTable();
    const src = hosts.intern({ kind: 'domestic', pseudonym: 'p:v' });
    const dst = hosts.intern({ kind: 'foreign', address: '198.51.100.77' });
    const d = createScanDetector(hosts);
    d.ingest(batchOf(hosts, Array.from({ length: 60 }, (_, k) => ({ t: T0 + k, src, dst, dp: 1000 - k, flags: 0x02 }))));
    const [f] = d.flush(T0 + 100);
    expect(f?.evidence['portsSample']).toEqual(Array.from({ length: 50 }, (_, k) => 941 + k));
    d.ingest(batchOf(hosts, Array.from({ length: 100 }, (_, k) => ({ t: T0 + 100 + k, src, dst, dp: 2000 + k, flags: 0x02 }))));
    const [g] = d.flush(T0 + 300);
    expect(g?.evidence['portsSample']).toEqual([993, 994, 995, 996, 997, 998, 999, 1000]);
    expect(g?.evidence['countsEstimated']).toBe(true);
  });

  it('evicts the oldest key when full, reuses its slab, and still finds a later scan', () => {
    const hosts = new HostTable();
    const d = createScanDetector(hosts, { maxKeys: 4 });
    const targets = Array.from({ length: 20 }, (_, k) => hosts.intern({ kind: 'foreign', address: `198.51.100.${k}` }));
    const srcs = Array.from({ length: 10 }, (_, k) => hosts.intern({ kind: 'domestic', pseudonym: `p:s${k}` }));
    // Ten sources each probe 20 targets on port 445, one source after the other.
    for (const [j, s] of srcs.entries()) d.ingest(batchOf(hosts, targets.map((t, k) => ({ t: T0 + j * 100 + k, src: s, dst: t, dp: 445, flags: 0x02 }))));
    const st = d.stats();
    expect(st.horizontalKeys).toBe(4);
    expect(st.evictedKeys).toBeGreaterThanOrEqual(6);
    expect(st.spilledKeys).toBeLessThanOrEqual(8); // at most one slab per held key and direction
    const found = d.flush(T0 + 2000).filter((f) => f.kind === 'scan-horizontal').map((f) => f.subject.value);
    expect(found).toEqual(['p:s6', 'p:s7', 'p:s8', 'p:s9']);
  });

  it('restarts a key whose window has passed and drops idle keys at flush', () => {
    const { hosts, src, targets } = prober(12);
    const d = createScanDetector(hosts, { windowMs: 60_000 });
    d.ingest(batchOf(hosts, targets.slice(0, 6).map((t, k) => ({ t: T0 + k, src, dst: t, dp: 22, flags: 0x02 }))));
    // Two minutes later six more: a new window, so never ten in one.
    d.ingest(batchOf(hosts, targets.slice(6).map((t, k) => ({ t: T0 + 120_000 + k, src, dst: t, dp: 22, flags: 0x02 }))));
    expect(d.flush(T0 + 120_100)).toEqual([]);
    d.flush(T0 + 400_000);
    expect(d.stats().horizontalKeys).toBe(0);
  });

  it('rejects a key limit that is not a positive integer', () => {
    expect(() => createScanDetector(new HostTable(), { maxKeys: 0 })).toThrow(/maxKeys/);
  });
});

describe('ddos detector', () => {
  it('reports a flood against a target with a baseline, with the rate series', () => {
    const hosts = new HostTable();
    const target = hosts.intern({ kind: 'domestic', pseudonym: 'p:bank' });
    const srcs = Array.from({ length: 50 }, (_, k) => hosts.intern({ kind: 'foreign', address: `203.0.113.${k}` }));
    const d = createDdosDetector(hosts, { admitPackets: 1 });
    // Ten minutes of normal traffic (~100 pps), then a minute at ~50k pps from 50 sources.
    const normal = Array.from({ length: 60 }, (_, k) => ({ t: T0 + k * 10_000, src: srcs[0]!, dst: target, packets: 1000, bytes: 500_000, dur: 9_000 }));
    const flood = srcs.flatMap((s) => Array.from({ length: 6 }, (_, k) => ({ t: T0 + 600_000 + k * 10_000, src: s, dst: target, proto: 17, packets: 10_000, bytes: 6_000_000, dur: 9_000 })));
    d.ingest(batchOf(hosts, [...normal, ...flood]));
    const [f] = d.flush(T0 + 700_000, true);
    expect(f).toMatchObject({ kind: 'ddos-volumetric', level: 'alert', subject: { kind: 'pseudonym', value: 'p:bank' } });
    expect(f!.evidence['sources']).toBe(50);
    expect((f!.evidence['series'] as unknown[]).length).toBeGreaterThan(6);
  });

  it("hands out a copy of the rate series: a finding's evidence does not change as the detector goes on", () => {
    const hosts = new HostTable();
    const target = hosts.intern({ kind: 'domestic', pseudonym: 'p:copy' });
    const srcs = Array.from({ length: 50 }, (_, k) => hosts.intern({ kind: 'foreign', address: `203.0.113.${k}` }));
    const d = createDdosDetector(hosts, { admitPackets: 1 });
    const wave = (from: number) => srcs.flatMap((s) => Array.from({ length: 6 }, (_, k) => ({ t: from + k * 10_000, src: s, dst: target, proto: 17, packets: 10_000, bytes: 6_000_000, dur: 9_000 })));
    d.ingest(batchOf(hosts, wave(T0)));
    const [f] = d.flush(T0 + 100_000);
    expect(f?.kind).toBe('ddos-volumetric');
    const before = JSON.stringify(f!.evidence['series']);
    d.ingest(batchOf(hosts, wave(T0 + 100_000)));
    d.flush(T0 + 200_000, true);
    expect(JSON.stringify(f!.evidence['series'])).toBe(before);
  });

  it('counts sampled flows by their scaled packets (bytes and packets already × rate)', () => {
    const hosts = new HostTable();
    const target = hosts.intern({ kind: 'foreign', address: '198.51.100.9' });
    const src = hosts.intern({ kind: 'domestic', pseudonym: 'p:bot' });
    const d = createDdosDetector(hosts, { admitPackets: 1 });
    d.ingest(batchOf(hosts, Array.from({ length: 6 }, (_, k) => ({ t: T0 + k * 10_000, src, dst: target, proto: 17, packets: 500_000, bytes: 300e6, rate: 1000, dur: 9_000 }))));
    expect(d.flush(T0 + 100_000, true)[0]?.kind).toBe('ddos-volumetric');
  });

  it('judges a flood even when a routine flush comes long after it (newer traffic moved the watermark)', () => {
    const hosts = new HostTable();
    const target = hosts.intern({ kind: 'domestic', pseudonym: 'p:late' });
    const other = hosts.intern({ kind: 'domestic', pseudonym: 'p:other' });
    const srcs = Array.from({ length: 50 }, (_, k) => hosts.intern({ kind: 'foreign', address: `203.0.113.${k}` }));
    const d = createDdosDetector(hosts, { admitPackets: 1 });
    const flood = srcs.flatMap((s) => Array.from({ length: 6 }, (_, k) => ({ t: T0 + k * 10_000, src: s, dst: target, proto: 17, packets: 10_000, bytes: 6_000_000, dur: 9_000 })));
    // Half an hour later (more than the 64-bin ring), ordinary traffic to someone else.
    const later = [{ t: T0 + 1_800_000, src: srcs[0]!, dst: other, packets: 10, bytes: 5_000, dur: 1_000 }];
    d.ingest(batchOf(hosts, [...flood, ...later]));
    const found = d.flush(T0 + 1_900_000).filter((f) => f.subject.value === 'p:late');
    expect(found.map((f) => f.kind)).toContain('ddos-volumetric');
  });

  it('admits a target by its own flows: another interleaving of the targets gives the same findings (a worker\'s partitions)', () => {
    // 48 foreign targets, each sent the same minute (12 bins of 5 s) six times over, at rates around the admission count;
    // one stream in time order (a single process), one target group after another (a worker whose partitions ran apart).
    const hosts = new HostTable();
    const src = Array.from({ length: 40 }, (_, k) => hosts.intern({ kind: 'domestic', pseudonym: `p:bot${k}` }));
    const targets = Array.from({ length: 48 }, (_, k) => hosts.intern({ kind: 'foreign', address: `198.51.100.${k}` }));
    const flows: Array<F & { group: number }> = [];
    for (let cycle = 0; cycle < 6; cycle++) {
      for (let ms = 0; ms < 60_000; ms += 500) {
        targets.forEach((dst, k) => flows.push({ t: T0 + ms, dur: 400, src: src[(ms / 500 + k) % 40]!, dst, dp: 80, proto: 17, packets: 30 + k * 2, bytes: 30_000, group: k % 4 }));
      }
    }
    const run = (order: F[]): string[] => {
      const d = createDdosDetector(hosts, { minPps: 300, baselineRatio: 5, warmupBins: 3, minBps: 1e12 });
      for (let i = 0; i < order.length; i += 2_000) d.ingest(batchOf(hosts, order.slice(i, i + 2_000)));
      return d.flush(T0 + 3_600_000, true).map((f) => `${f.kind} ${f.subject.value} ${f.level} ${String(f.evidence['floodBins'] ?? '')}`).sort();
    };
    const inOrder = run(flows);
    expect(inOrder.length).toBeGreaterThan(0);
    // Admitted by the stream's watermark instead, the groups after the first found 1 flood of 3.
    expect(run([0, 1, 2, 3].flatMap((g) => flows.filter((f) => f.group === g)))).toEqual(inOrder);
    expect(run([3, 1, 0, 2].flatMap((g) => flows.filter((f) => f.group === g)))).toEqual(inOrder);
  });

  it('reports reflection from many amplifiers', () => {
    const hosts = new HostTable();
    const target = hosts.intern({ kind: 'domestic', pseudonym: 'p:isp' });
    const refl = Array.from({ length: 40 }, (_, k) => hosts.intern({ kind: 'foreign', address: `192.0.2.${k}` }));
    const d = createDdosDetector(hosts, { admitPackets: 1, minPps: 1e9, minBps: 1e12 });
    d.ingest(batchOf(hosts, refl.flatMap((r) => Array.from({ length: 5 }, (_, k) => ({ t: T0 + k * 10_000, src: r, dst: target, sp: 11211, dp: 80, proto: 17, packets: 1000, bytes: 1_400_000, dur: 9_000 })))));
    expect(d.flush(T0 + 100_000, true).map((f) => f.kind)).toEqual(['ddos-reflection']);
  });
});

describe('known indicators', () => {
  function v4(n: number): string { return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'); }

  it('matches the most specific of nested prefixes (property, against a linear scan)', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 8, max: 32 })), { minLength: 1, maxLength: 40 }),
      fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 40 }),
      (prefixes, probes) => {
        const list = prefixes.map(([a, l], k) => ({ id: `i${k}`, kind: 'ipv4' as const, value: `${v4(a)}/${l}`, confidence: 80 }));
        const m = new IndicatorMatcher(list);
        const ranges = prefixes.map(([a, l]) => { const size = 2 ** (32 - l); const s = Math.floor(a / size) * size; return [s, s + size - 1, l] as const; });
        for (const p of [...probes, ...ranges.map((r) => r[0]), ...ranges.map((r) => r[1])]) {
          const covering = ranges.map((r, k) => ({ r, k })).filter(({ r }) => p >= r[0] && p <= r[1]);
          const got = m.matchV4(p);
          if (covering.length === 0) expect(got).toBe(-1);
          else expect(ranges[got]![2]).toBe(Math.max(...covering.map(({ r }) => r[2])));
        }
      },
    ), { numRuns: 200 });
  });

  // Build time and lookup speed at a million indicators are measured by bench/indicators, not here.
  it('matches IPv6 prefixes and ports, rejects bad values, and finds every one of 100,000 indicators', () => {
    const m = new IndicatorMatcher([
      { id: 'a', kind: 'ipv6', value: '2001:db8::/32', confidence: 90 },
      { id: 'b', kind: 'port', value: 'tcp/4444', confidence: 40 },
      { id: 'c', kind: 'ipv4', value: '300.1.1.1', confidence: 90 },
    ]);
    expect(m.matchText('2001:db8:1::5')).toBe(0);
    expect(m.matchText('2001:db9::5')).toBe(-1);
    expect(m.matchPort(6, 4444)).toBe(1);
    expect(m.matchPort(17, 4444)).toBe(-1);
    expect(m.rejected).toEqual(['c']);
    const big = Array.from({ length: 100_000 }, (_, k) => ({ id: `x${k}`, kind: 'ipv4' as const, value: v4((k * 2654435761) >>> 0), confidence: 60 }));
    const mm = new IndicatorMatcher(big);
    let hits = 0;
    for (let k = 0; k < 100_000; k++) if (mm.matchV4(((k * 2654435761) >>> 0)) >= 0) hits++;
    expect(hits).toBe(100_000);
    // Addresses next to the indicators are not matched.
    const listed = new Set(big.map((b) => b.value));
    let checked = 0;
    for (let k = 0; k < 1000; k++) {
      const a = ((k * 2654435761) >>> 0) ^ 1;
      if (listed.has(v4(a))) continue;
      expect(mm.matchV4(a)).toBe(-1);
      checked++;
    }
    expect(checked).toBeGreaterThan(990);
  });

  it('parses dotted quads strictly: four parts of 1–3 digits, each ≤ 255', () => {
    const bad = ['256.1.1.1', '1.2.3', '1..2.3', '1.2.3.4.5', '.1.2.3', '1.2.3.', '1.2.3.4a', '1.2.3.1000', 'a.b.c.d', ''];
    const m = new IndicatorMatcher([
      { id: 'ok', kind: 'ipv4', value: '198.51.100.0/24', confidence: 50 },
      { id: 'edge', kind: 'ipv4', value: '255.255.255.255', confidence: 50 },
      ...bad.map((value, k) => ({ id: `bad${k}`, kind: 'ipv4' as const, value, confidence: 50 })),
    ]);
    expect(m.rejected).toEqual(bad.map((_, k) => `bad${k}`));
    expect(m.matchText('198.51.100.200')).toBe(0);
    expect(m.matchText('255.255.255.255')).toBe(1);
    expect(m.matchText('0.0.0.0')).toBe(-1);
    for (const text of bad) expect(m.matchText(text)).toBe(-1);
  });

  it('turns matching flows into one growing finding per indicator', () => {
    const hosts = new HostTable();
    const home = hosts.intern({ kind: 'domestic', pseudonym: 'p:h' });
    const bad = hosts.intern({ kind: 'foreign', address: '203.0.113.50' });
    const d = createIndicatorDetector(hosts, new IndicatorMatcher([{ id: 'ind-1', kind: 'ipv4', value: '203.0.113.0/24', confidence: 85 }]));
    d.ingest(batchOf(hosts, [{ t: T0, src: home, dst: bad }]));
    expect(d.flush()[0]).toMatchObject({ kind: 'known-indicator', level: 'alert', hosts: ['p:h'], evidence: { indicatorId: 'ind-1', flows: 1 } });
    d.ingest(batchOf(hosts, [{ t: T0 + 5, src: home, dst: bad }]));
    expect(d.flush()[0]?.evidence['flows']).toBe(2);
    expect(d.flush()).toEqual([]);
  });
});

describe('detector structures', () => {
  it('KeyIndex agrees with a Map through inserts, updates and deletes (property)', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.constantFrom('set', 'delete'), fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 2 ** 52 })), fc.nat(1000)), { maxLength: 300 }),
      (ops) => {
        const idx = new KeyIndex(64);
        const ref = new Map<number, number>();
        for (const [op, key, value] of ops) {
          if (op === 'set') { if (ref.size < 64 || ref.has(key)) { idx.set(key, value); ref.set(key, value); } }
          else expect(idx.delete(key)).toBe(ref.delete(key));
          expect(idx.size).toBe(ref.size);
        }
        for (const [key, value] of ref) expect(idx.get(key)).toBe(value);
        for (const [, key] of ops) if (!ref.has(key)) expect(idx.get(key)).toBe(-1);
      },
    ), { numRuns: 200 });
  });

  it('IdSet agrees with a Set<number>: members, size and insertion order, through growth (property)', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })), { maxLength: 600 }), (ids) => {
      const set = new IdSet();
      const ref = new Set<number>();
      for (const id of ids) {
        expect(set.add(id)).toBe(!ref.has(id));
        ref.add(id);
      }
      expect(set.size).toBe(ref.size);
      expect(Array.from(set.values())).toEqual([...ref]);
      for (const id of ids) expect(set.has(id)).toBe(true);
      for (let id = 61; id < 90; id++) expect(set.has(id)).toBe(ref.has(id));
    }), { numRuns: 200 });
  });

  it('count-min sketches (plain and blocked) never undercount; the plain one is exact without collisions (property)', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 1, max: 50 })), { maxLength: 200 }), (adds) => {
      const cms = new CountMinSketch(6, 4); // 64 counters a row: collisions are common
      const big = new CountMinSketch(20, 4);
      const blocked = new BlockedCountMinSketch(4); // 16 lines
      const truth = new Map<number, number>();
      for (const [k, n] of adds) { cms.add(k, n); big.add(k, n); blocked.add(k, n); truth.set(k, (truth.get(k) ?? 0) + n); }
      for (const [k, n] of truth) {
        expect(cms.estimate(k)).toBeGreaterThanOrEqual(n);
        expect(blocked.estimate(k)).toBeGreaterThanOrEqual(n);
        expect(big.estimate(k)).toBe(n);
      }
    }), { numRuns: 100 });
  });

  it('KeyIndex refuses a key past its capacity instead of degrading', () => {
    const idx = new KeyIndex(2);
    idx.set(1, 1); idx.set(2, 2);
    expect(() => idx.set(3, 3)).toThrow(/full/);
    idx.set(2, 5); // updating a held key is fine
    expect(idx.get(2)).toBe(5);
  });

  it('RecentCounter counts exactly while keys fit and replaces the least-counted way of a full bucket', () => {
    const rc = new RecentCounter(0); // one bucket of four ways
    expect([rc.add(10), rc.add(10), rc.add(10)]).toEqual([1, 2, 3]);
    rc.add(11); rc.add(11); rc.add(12); rc.add(13);
    expect(rc.add(14)).toBe(1); // replaces 12 or 13 (count 1), never 10 (3) or 11 (2)
    expect(rc.add(10)).toBe(4);
    expect(rc.add(11)).toBe(3);
  });

  it('BlockedBloomFilter never forgets a key and keeps false positives under 1 % at 16 bits a key', () => {
    const bf = new BlockedBloomFilter(20);
    for (let k = 0; k < 65_536; k++) bf.testAndAdd(k * 7919);
    let again = 0;
    for (let k = 0; k < 65_536; k++) if (bf.testAndAdd(k * 7919)) again++;
    expect(again).toBe(65_536);
    let fp = 0;
    for (let k = 0; k < 10_000; k++) if (bf.testAndAdd(2 ** 40 + k)) fp++;
    expect(fp / 10_000).toBeLessThan(0.01);
    expect(() => new BlockedBloomFilter(8)).toThrow(/block/);
  });

  it('DDoS admission halves a target\'s count at each new bin, so a slow trickle never gets state', () => {
    const hosts = new HostTable();
    const target = hosts.intern({ kind: 'domestic', pseudonym: 'p:slow' });
    const src = hosts.intern({ kind: 'foreign', address: '203.0.113.9' });
    const d = createDdosDetector(hosts, { admitPackets: 1000 });
    // 400 packets per 10 s bin for an hour: halved at each bin, the count settles near 800 …
    d.ingest(batchOf(hosts, Array.from({ length: 360 }, (_, k) => ({ t: T0 + k * 10_000, src, dst: target, packets: 400, bytes: 40_000 }))));
    expect(d.stats().targets).toBe(0);
    // … while 600 packets twice in one bin pass it.
    d.ingest(batchOf(hosts, [0, 1].map((k) => ({ t: T0 + 3_600_000 + k, src, dst: target, packets: 600, bytes: 60_000 }))));
    expect(d.stats().targets).toBe(1);
  });
});

describe('beacon admission order', () => {
  it('renumbers the slots in use by rank, keeping their order, from admission numbers past 2^53 / slots', () => {
    const big = 2 ** 52;
    const admitted = Float64Array.from([big + 7, 3, big + 2, 0, big + 9, big]);
    const inUse = Uint8Array.from([1, 1, 1, 0, 1, 1]);
    expect(renumberAdmissions(admitted, inUse)).toBe(5);
    expect(Array.from(admitted)).toEqual([3, 0, 2, 0, 4, 1]); // slot 3 is free: its number does not matter
    // The flush's sort keys (admission × slots + slot) are exact again and give the slots back in order.
    const keys = Float64Array.from([0, 1, 2, 4, 5].map((s) => admitted[s]! * 6 + s)).sort();
    expect(Array.from(keys, (k) => k % 6)).toEqual([1, 5, 2, 0, 4]);
  });
});

describe('robust statistics', () => {
  it('computes Bowley skew, MAD and mode share', () => {
    expect(bowleySkew([1, 2, 3, 4, 5])).toBe(0);
    expect(bowleySkew([1, 1, 1, 10])).toBeGreaterThan(0.9);
    expect(medianAbsDev([1, 2, 3, 4, 100])).toBe(1);
    expect(modeShare([10, 10, 10, 10], 1)).toBe(1);
  });

  it('gives the same MAD with or without scratch, and the mode share of the k largest clusters (property)', () => {
    // The reference: every cluster's size, sorted, the k largest summed.
    const naiveModeShare = (v: number[], k: number, rel: number, abs: number): number => {
      const sizes: number[] = [];
      let start = v[0]!, size = 0;
      for (const x of v) { if (x - start <= Math.max(Math.min(abs, start / 4), rel * start) * 2) size++; else { sizes.push(size); start = x; size = 1; } }
      sizes.push(size);
      return sizes.sort((a, b) => b - a).slice(0, k).reduce((a, b) => a + b, 0) / v.length;
    };
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 80 }), fc.integer({ min: 1, max: 5 }), (raw, k) => {
      const v = [...raw].sort((a, b) => a - b);
      expect(medianAbsDev(v, new Float64Array(100))).toBe(medianAbsDev(v));
      expect(modeShare(v, k, 0.1, 50)).toBeCloseTo(naiveModeShare(v, k, 0.1, 50), 12);
    }));
  });
});

describe('two-pass chunks', () => {
  it('touch each chunk, then work on it, covering every row once and in order', () => {
    for (const rows of [0, 1, PREFETCH_ROWS - 1, PREFETCH_ROWS, PREFETCH_ROWS * 2 + 7]) {
      const calls: string[] = [];
      const worked: number[] = [];
      inChunks(rows, (from, to) => calls.push(`touch ${from}-${to}`), (from, to) => { calls.push(`work ${from}-${to}`); for (let i = from; i < to; i++) worked.push(i); });
      expect(worked).toEqual(Array.from({ length: rows }, (_, i) => i));
      for (let k = 0; k < calls.length; k += 2) expect(calls[k + 1]!.slice(5)).toBe(calls[k]!.slice(6));
      expect(calls.length).toBe(2 * Math.ceil(rows / PREFETCH_ROWS));
    }
  });

  it('touching a key changes nothing: a key index, admission table, Bloom filter and client sketch answer as untouched ones', () => {
    fc.assert(fc.property(fc.array(fc.nat(2 ** 40), { minLength: 1, maxLength: 200 }), (keys) => {
      const [i1, i2] = [new KeyIndex(512), new KeyIndex(512)];
      const [r1, r2] = [new RecentCounter(6), new RecentCounter(6)];
      const [b1, b2] = [new BlockedBloomFilter(12), new BlockedBloomFilter(12)];
      const [c1, c2] = [new BlockedCountMinSketch(6), new BlockedCountMinSketch(6)];
      keys.forEach((k, n) => {
        const at = (place: number): Int32Array => Int32Array.of(place);
        i1.touchAll(at(i1.place(k)), 1); r1.touchAll(at(r1.place(k)), 1); b1.touchAll(at(b1.place(k)), 1); c1.touchAll(at(c1.place(k)), 1);
        if (i1.get(k) < 0) i1.set(k, n);
        if (i2.get(k) < 0) i2.set(k, n);
        expect([r1.add(k), b1.testAndAdd(k), c1.add(k)]).toEqual([r2.add(k), b2.testAndAdd(k), c2.add(k)]);
      });
      for (const k of keys) expect(i1.get(k)).toBe(i2.get(k));
    }));
  });
});
