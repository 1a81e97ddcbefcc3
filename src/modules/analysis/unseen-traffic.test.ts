/** @module Tests of detection on traffic the thresholds were not tuned on (issue 20): floods as flow records carry them, fast beacons, bursty sessions, peer-to-peer clients. */
import { describe, expect, it } from 'vitest';
import { HostTable, createAnalysisBatch, type AnalysisBatch } from './batch.js';
import { createBeaconDetector } from './beacon.js';
import { createDdosDetector } from './ddos.js';
import type { FindingUpdate } from './schema.js';

interface F { t: number; src: number; dst: number; sp?: number; dp?: number; proto?: number; flags?: number; bytes?: number; packets?: number; dur?: number }

function batchOf(hosts: HostTable, flows: F[]): AnalysisBatch {
  const sorted = [...flows].sort((a, b) => a.t - b.t);
  const b = createAnalysisBatch(sorted.length, hosts);
  b.bases.push('consent-1');
  sorted.forEach((f, i) => {
    b.start[i] = f.t; b.end[i] = f.t + (f.dur ?? 100); b.src[i] = f.src; b.dst[i] = f.dst;
    b.srcPort[i] = f.sp ?? 40000 + (i % 20000); b.dstPort[i] = f.dp ?? 443; b.proto[i] = f.proto ?? 6; b.tcpFlags[i] = f.flags ?? 0x1b;
    b.bytes[i] = f.bytes ?? 400; b.packets[i] = f.packets ?? 5; b.samplingRate[i] = 1; b.basis[i] = 0;
  });
  b.length = sorted.length;
  return b;
}

/** A deterministic pseudo-random stream in [0, 1). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
}

const T0 = Date.UTC(2026, 4, 1);
const MIN = 60_000;

/**
 * Ten minutes of ordinary traffic before anything else: 40 domestic hosts calling 200 foreign servers
 * now and then (the stream has a past, so a target first seen later has a known, quiet one).
 */
function background(hosts: HostTable, rnd: () => number, until = T0 + 10 * MIN): F[] {
  const home = Array.from({ length: 40 }, (_, k) => hosts.intern({ kind: 'domestic', pseudonym: `p:home-${k}` }));
  const away = Array.from({ length: 200 }, (_, k) => hosts.intern({ kind: 'foreign', address: `64.0.${k >> 8}.${k & 255}` }));
  const out: F[] = [];
  for (let t = T0; t < until; t += 200) {
    const h = home[Math.floor(rnd() * home.length)]!, a = away[Math.floor(rnd() * away.length)]!;
    out.push({ t, src: h, dst: a, bytes: 800, packets: 8, dur: 300 }, { t, src: a, dst: h, sp: 443, dp: 50000, bytes: 4000, packets: 6, dur: 300 });
  }
  return out;
}

const ddosOf = (fs: FindingUpdate[], value: string) => fs.filter((f) => f.kind === 'ddos-volumetric' && f.subject.value === value);

describe('DDoS from flow records as they come', () => {
  it('raises a single-flow UDP flood (one record, 76 MB over 24 s) on a quiet target, and says how far above its baseline', () => {
    const hosts = new HostTable();
    const rnd = prng(1);
    const target = hosts.intern({ kind: 'domestic', pseudonym: 'p:quiet' });
    const attacker = hosts.intern({ kind: 'foreign', address: '198.18.7.7' });
    const d = createDdosDetector(hosts);
    // A little traffic to the target now and then: its baseline is a few packets a second.
    const trickle: F[] = Array.from({ length: 20 }, (_, k) => ({ t: T0 + k * 30_000, src: attacker, dst: target, proto: 17, bytes: 1200, packets: 10, dur: 1000 }));
    d.ingest(batchOf(hosts, [...background(hosts, rnd), ...trickle]));
    d.flush(T0 + 10 * MIN);
    // The flood: one record, as an exporter sends it when the flow ends (18,444 packets, 76 MB, ~25 Mbit/s).
    d.ingest(batchOf(hosts, [{ t: T0 + 11 * MIN, src: attacker, dst: target, sp: 53000, dp: 80, proto: 17, flags: 0, packets: 18_444, bytes: 76e6, dur: 24_000 }]));
    const found = ddosOf(d.flush(T0 + 13 * MIN, true), 'p:quiet');
    expect(found).toHaveLength(1);
    const f = found[0]!;
    expect(f.level).toBe('alert'); // a 24 s flow fills at least three whole 5 s bins
    expect(f.evidence['floodBins']).toBeGreaterThanOrEqual(3);
    expect(f.evidence['aboveBaseline']).toBeGreaterThan(10);
    expect(f.evidence['baselineBps']).toBeLessThan(2e6);
    // Spread over its duration: no bin holds more than its share of the 76 MB (25.3 Mbit/s, never the 3 Gbit/s of one instant).
    const series = f.evidence['series'] as Array<{ bps: number }>;
    expect(Math.max(...series.map((p) => p.bps))).toBeLessThan(26e6);
    expect(Math.max(...series.map((p) => p.bps))).toBeGreaterThan(24e6);
  });

  it('raises nothing for the same 25 Mbit/s on a target whose baseline is that busy', () => {
    const hosts = new HostTable();
    const rnd = prng(2);
    const target = hosts.intern({ kind: 'domestic', pseudonym: 'p:busy' });
    const peer = hosts.intern({ kind: 'foreign', address: '198.18.7.8' });
    const d = createDdosDetector(hosts);
    // 25 Mbit/s every second from the stream's start (consecutive 24 s records), then the same record again.
    const steady: F[] = Array.from({ length: 27 }, (_, k) => ({ t: T0 + k * 24_000, src: peer, dst: target, proto: 17, flags: 0, packets: 18_444, bytes: 76e6, dur: 24_000 }));
    d.ingest(batchOf(hosts, [...background(hosts, rnd, T0 + 11 * MIN), ...steady]));
    expect(ddosOf(d.flush(T0 + 11 * MIN), 'p:busy')).toEqual([]);
    d.ingest(batchOf(hosts, [{ t: T0 + 27 * 24_000, src: peer, dst: target, sp: 53000, dp: 80, proto: 17, flags: 0, packets: 18_444, bytes: 76e6, dur: 24_000 }]));
    expect(ddosOf(d.flush(T0 + 14 * MIN, true), 'p:busy')).toEqual([]);
  });

  /** ~1,500 SYN packets a second for 27 s from 100 spoofed sources: one record a source a second. */
  function synFlood(hosts: HostTable, target: number, from: number): F[] {
    const srcs = Array.from({ length: 100 }, (_, k) => hosts.intern({ kind: 'foreign', address: `100.${k}.0.1` }));
    return srcs.flatMap((s, k) => Array.from({ length: 27 }, (_, sec) => ({ t: from + sec * 1000 + k, src: s, dst: target, sp: 1024 + k, dp: 443, flags: 0x02, packets: 15, bytes: 900, dur: 990 })));
  }

  it('raises a 1,500 packets/s TCP flood (below the old fixed 2,000 packets/s floor) on a quiet target', () => {
    const hosts = new HostTable();
    const target = hosts.intern({ kind: 'foreign', address: '203.0.113.80' });
    const d = createDdosDetector(hosts);
    d.ingest(batchOf(hosts, [...background(hosts, prng(3)), ...synFlood(hosts, target, T0 + 11 * MIN)]));
    const found = ddosOf(d.flush(T0 + 13 * MIN, true), '203.0.113.80');
    expect(found.map((f) => f.level)).toEqual(['alert']);
    expect(found[0]!.evidence['peakPps']).toBeGreaterThan(1400);
    expect(found[0]!.evidence['peakPps']).toBeLessThan(1600);
    expect(found[0]!.evidence['sources']).toBe(100);
    expect(found[0]!.scoreDetail.components['ratio']).toBeGreaterThan(10);
  });

  it('raises nothing for the same 1,500 packets/s on a target whose baseline is that busy', () => {
    const hosts = new HostTable();
    const target = hosts.intern({ kind: 'foreign', address: '203.0.113.81' });
    const clients = Array.from({ length: 100 }, (_, k) => hosts.intern({ kind: 'domestic', pseudonym: `p:client-${k}` }));
    const d = createDdosDetector(hosts);
    // 1,500 packets/s of ordinary, answered requests from the stream's start, for 12 minutes …
    const busy: F[] = clients.flatMap((c, k) => Array.from({ length: 720 }, (_, sec) => ({ t: T0 + sec * 1000 + k, src: c, dst: target, sp: 30000 + k, packets: 15, bytes: 9000, dur: 990 })));
    const answers: F[] = clients.map((c, k) => ({ t: T0 + k, src: target, dst: c, sp: 443, dp: 30000 + k, packets: 720 * 10, bytes: 720 * 60_000, dur: 720_000 }));
    d.ingest(batchOf(hosts, [...busy, ...answers]));
    expect(ddosOf(d.flush(T0 + 12 * MIN), '203.0.113.81')).toEqual([]);
    // … then the same rate of SYNs on top of it: twice its usual rate, not a flood for this target.
    d.ingest(batchOf(hosts, synFlood(hosts, target, T0 + 12 * MIN)));
    expect(ddosOf(d.flush(T0 + 14 * MIN, true), '203.0.113.81')).toEqual([]);
  });

  it('raises nothing for a quiet host downloading at 40 Mbit/s: it answers what it receives', () => {
    const hosts = new HostTable();
    const host = hosts.intern({ kind: 'domestic', pseudonym: 'p:downloader' });
    const server = hosts.intern({ kind: 'foreign', address: '198.18.9.9' });
    const d = createDdosDetector(hosts);
    const download: F[] = [
      { t: T0 + 11 * MIN, src: server, dst: host, sp: 443, dp: 51000, packets: 100_000, bytes: 150e6, dur: 30_000 },
      { t: T0 + 11 * MIN, src: host, dst: server, sp: 51000, dp: 443, packets: 50_000, bytes: 2.6e6, dur: 30_000 },
    ];
    d.ingest(batchOf(hosts, [...background(hosts, prng(4)), ...download]));
    expect(ddosOf(d.flush(T0 + 13 * MIN, true), 'p:downloader')).toEqual([]);
    // The same volume unanswered is a flood.
    const d2 = createDdosDetector(hosts);
    d2.ingest(batchOf(hosts, [...background(hosts, prng(4)), download[0]!]));
    expect(ddosOf(d2.flush(T0 + 13 * MIN, true), 'p:downloader').map((f) => f.level)).toEqual(['alert']);
  });

  it('does not pile a long flow whose early bins were already judged into one bin', () => {
    const hosts = new HostTable();
    const target = hosts.intern({ kind: 'domestic', pseudonym: 'p:long' });
    const peer = hosts.intern({ kind: 'foreign', address: '198.18.9.10' });
    const d = createDdosDetector(hosts);
    // The target gets state at once (a 2,000-packet flow) and its bins are judged as the stream moves on …
    d.ingest(batchOf(hosts, [...background(hosts, prng(5), T0 + 20 * MIN), { t: T0 + MIN, src: peer, dst: target, proto: 17, packets: 2000, bytes: 200_000, dur: 60_000 }]));
    d.flush(T0 + 20 * MIN);
    // … then a 15-minute record at 2 Mbit/s arrives when it ends: 225 MB, which in one 5 s bin would be 360 Mbit/s.
    d.ingest(batchOf(hosts, [{ t: T0 + 5 * MIN, src: peer, dst: target, proto: 17, packets: 180_000, bytes: 225e6, dur: 15 * MIN }]));
    expect(ddosOf(d.flush(T0 + 22 * MIN, true), 'p:long')).toEqual([]);
  });

  it('refuses a baseline window it cannot hold', () => {
    expect(() => createDdosDetector(new HostTable(), { baselineBins: 0 })).toThrow(/baselineBins/);
    expect(() => createDdosDetector(new HostTable(), { baselineBins: 33 })).toThrow(/baselineBins/);
  });
});

describe('beacons at every period, bursts of one session excepted', () => {
  const beacons = (fs: FindingUpdate[]) => fs.filter((f) => f.kind === 'beacon');

  it('raises a 0.3 s beacon (new connections, answered) as an alert, scored call by call', () => {
    const hosts = new HostTable();
    const bot = hosts.intern({ kind: 'domestic', pseudonym: 'p:bot' });
    const cc = hosts.intern({ kind: 'foreign', address: '198.18.1.1' });
    const rnd = prng(6);
    const d = createBeaconDetector(hosts);
    d.ingest(batchOf(hosts, Array.from({ length: 200 }, (_, k) => ({ t: T0 + k * 300 + Math.floor(rnd() * 40) - 20, src: bot, dst: cc, sp: 40000 + k, dp: 8080, bytes: 310, packets: 5 }))));
    const [f] = beacons(d.flush(T0 + MIN, true));
    expect(f).toMatchObject({ level: 'alert', subject: { value: '198.18.1.1' } });
    expect(f!.evidence['scoredPerCall']).toBe(true);
    expect(f!.evidence['medianIntervalS']).toBeGreaterThan(0.25);
    expect(f!.evidence['medianIntervalS']).toBeLessThan(0.35);
  });

  it('raises nothing for a bursty interactive session (bursts of connections, irregular pauses)', () => {
    const hosts = new HostTable();
    const user = hosts.intern({ kind: 'domestic', pseudonym: 'p:user' });
    const site = hosts.intern({ kind: 'foreign', address: '198.18.2.2' });
    const rnd = prng(7);
    const flows: F[] = [];
    let t = T0;
    let port = 40000;
    while (t < T0 + 40 * MIN) {
      // A page: 2–12 connections 20–400 ms apart, sizes from a few hundred bytes to 200 kB …
      const n = 2 + Math.floor(rnd() * 11);
      for (let k = 0; k < n; k++) {
        flows.push({ t, src: user, dst: site, sp: port++, dp: 443, bytes: 300 + Math.floor(rnd() ** 3 * 200_000), packets: 10 });
        t += 20 + Math.floor(rnd() * 380);
      }
      // … then the user reads: an exponential pause, 20 s on average.
      t += Math.floor(-Math.log(1 - rnd()) * 20_000) + 500;
    }
    const d = createBeaconDetector(hosts);
    d.ingest(batchOf(hosts, flows));
    expect(beacons(d.flush(t, true))).toEqual([]);
  });

  it('does not count the records of one long connection (cut at the exporter\'s active timeout) as calls', () => {
    const hosts = new HostTable();
    const host = hosts.intern({ kind: 'domestic', pseudonym: 'p:ssh' });
    const server = hosts.intern({ kind: 'foreign', address: '198.18.3.3' });
    const d = createBeaconDetector(hosts);
    // One connection, one record every 60 s for an hour: the same source port throughout.
    d.ingest(batchOf(hosts, Array.from({ length: 60 }, (_, k) => ({ t: T0 + k * MIN, src: host, dst: server, sp: 51515, dp: 22, bytes: 2000, packets: 20, dur: MIN }))));
    expect(beacons(d.flush(T0 + 61 * MIN, true))).toEqual([]);
    expect(d.scorePair(host, server)).toBeUndefined(); // one call, never scored
  });

  it('keeps a peer-to-peer client\'s unanswered retries to peers on high ports below alert, and says why', () => {
    const hosts = new HostTable();
    const host = hosts.intern({ kind: 'domestic', pseudonym: 'p:p2p' });
    const peers = Array.from({ length: 7 }, (_, k) => hosts.intern({ kind: 'foreign', address: `198.18.4.${k + 1}` }));
    const rnd = prng(8);
    const flows: F[] = peers.flatMap((p, k) => Array.from({ length: 10 + k }, (_, c) => ({
      t: T0 + k * 7_000 + c * 60_000 + Math.floor(rnd() * 2000), src: host, dst: p, sp: 45000 + k * 100 + c, dp: 20000 + k * 1111, flags: 0x02, bytes: 60, packets: 1,
    })));
    const d = createBeaconDetector(hosts);
    d.ingest(batchOf(hosts, flows));
    const found = beacons(d.flush(T0 + 30 * MIN, true));
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((f) => f.level === 'suspect')).toBe(true);
    expect(found[0]!.evidence['peerToPeer']).toMatchObject({ endpoints: 7, ports: 7 });
    // The same retries from a host calling one endpoint (a dead C&C) stay an alert.
    const lone = new HostTable();
    const bot = lone.intern({ kind: 'domestic', pseudonym: 'p:bot' });
    const dead = lone.intern({ kind: 'foreign', address: '198.18.4.99' });
    const d2 = createBeaconDetector(lone);
    d2.ingest(batchOf(lone, Array.from({ length: 15 }, (_, c) => ({ t: T0 + c * 60_000 + Math.floor(rnd() * 2000), src: bot, dst: dead, sp: 45000 + c, dp: 20000, flags: 0x02, bytes: 60, packets: 1 }))));
    expect(beacons(d2.flush(T0 + 30 * MIN, true)).map((f) => f.level)).toEqual(['alert']);
  });
});
