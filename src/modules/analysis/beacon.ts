/** @module Beaconing and botnet fan-in: regular call-home from hosts to a foreign endpoint, scored as RITA does, in fixed memory. */
import type { AnalysisBatch, HostTable } from './batch.js';
import { BlockedBloomFilter, BlockedCountMinSketch, inChunks, KeyIndex, PREFETCH_ROWS, RecentCounter } from './sketch.js';
import { bowleySkew, clamp01, medianAbsDev, modeShare, quantile } from './stats.js';
import { MAX_FINDING_HOSTS, type FindingLevel, type FindingUpdate } from './schema.js';

/** Parameters of the beacon detector (docs/detection.md#beaconing explains each). */
export interface BeaconConfig {
  /** Pairs tracked exactly at once; beyond it the least recently seen of a random sample is evicted. */
  maxPairs: number;
  /** Call times kept per pair (a ring): the statistics use the latest this many. */
  window: number;
  /** A pair is tracked once it has been seen this many times (one-off contacts never cost a slot). */
  admitAfter: number;
  /** Fewest calls before a pair is scored. */
  minEvents: number;
  /**
   * Calls closer than this (ms) to the one before are one burst, scored as one call — unless the pair's
   * calls make fewer than `minEvents` bursts, when they are scored call by call (a sub-second beacon).
   */
  burstMs: number;
  /** Shortest span (ms) of a scored pair. */
  minSpanMs: number;
  /** Score from which a pair is a suspect beacon. */
  suspectScore: number;
  /** Score from which a corroborated pair (unanswered or fast) is an alert. */
  alertScore: number;
  /** Interval regularity (0..1) an alert needs besides the score: a loose cadence stays a suspect. */
  alertInterval: number;
  /** Median interval (ms) at or under which the cadence counts as fast. */
  fastIntervalMs: number;
  /** Share of TCP calls with no answer (SYN only) from which calls count as unanswered. */
  unansweredShare: number;
  /** Distinct clients from which an endpoint counts as popular infrastructure (caps it at suspect). */
  popularClients: number;
  /** Hosts with the same pattern from which a botnet fan-in finding is made. */
  fanInHosts: number;
  /**
   * A host tracked calling this many endpoints on high ports (≥ 1024), on as many distinct ports, is a
   * peer-to-peer client: its calls to high ports are capped at suspect (0 turns this off).
   */
  p2pPeers: number;
  /** Pairs unseen for this long (ms of flow time) are dropped at flush. */
  idleMs: number;
}

/** Defaults: see docs/detection.md#beaconing. */
export const DEFAULT_BEACON_CONFIG: BeaconConfig = {
  maxPairs: 1 << 18, window: 64, admitAfter: 3, minEvents: 8, burstMs: 1000, minSpanMs: 30_000,
  suspectScore: 0.7, alertScore: 0.7, alertInterval: 0.85, fastIntervalMs: 60_000, unansweredShare: 0.5,
  popularClients: 500, fanInHosts: 5, p2pPeers: 3, idleMs: 7 * 86_400_000,
};

/** Well-known infrastructure services whose periodic use is expected (service, proto, port, bytes/packet range). */
const INFRA_SERVICES: ReadonlyArray<{ name: string; proto: number; port: number; minPkt: number; maxPkt: number }> = [
  // NTP client/server mode packets: 48-byte payload (+ optional MAC/extension) in 76–120 IP bytes. RFC 5905 §7.3
  { name: 'ntp', proto: 17, port: 123, minPkt: 48, maxPkt: 130 },
  { name: 'dns', proto: 17, port: 53, minPkt: 28, maxPkt: 1500 },
  { name: 'dns', proto: 6, port: 53, minPkt: 40, maxPkt: 1500 },
  { name: 'dhcp', proto: 17, port: 67, minPkt: 200, maxPkt: 1500 },
  { name: 'dhcp', proto: 17, port: 68, minPkt: 200, maxPkt: 1500 },
  { name: 'mdns', proto: 17, port: 5353, minPkt: 28, maxPkt: 9000 },
  { name: 'ssdp', proto: 17, port: 1900, minPkt: 28, maxPkt: 1500 },
  { name: 'netbios', proto: 17, port: 137, minPkt: 28, maxPkt: 1500 },
];

/** Interval histogram bucket upper bounds (seconds) in the evidence the dashboard charts. */
export const INTERVAL_BUCKETS_S = [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 86400, Infinity];

/** The scored state of one (host, endpoint) pair. */
export interface PairScore {
  src: number;
  dst: number;
  port: number;
  proto: number;
  calls: number;
  firstSeen: number;
  lastSeen: number;
  medianIntervalMs: number;
  score: number;
  level: FindingLevel | undefined;
  components: Record<string, number>;
  unanswered: number;
  fast: boolean;
  infra: string | undefined;
  /** Whether the calls were scored one by one (a sub-second cadence) rather than as bursts. */
  perCall: boolean;
  /** Peer-to-peer client: high-port endpoints and distinct ports its host calls (undefined when not one). */
  peers: { endpoints: number; ports: number } | undefined;
  histogram: number[];
  medianBytes: number;
  basisMask: number;
}

const PAIR_KEY_MUL = 2 ** 26;

/**
 * Fields of a pair's record: latest flow time, first flow time, latest call, calls, ring head, TCP calls, SYN-only calls, and
 * the basis bits plus 2^32 × the source port of the latest TCP call (one double: the record stays one cache line).
 */
const REC = 8;
const SEEN = 0;
const FIRST = 1;
const LAST = 2;
const COUNT = 3;
const HEAD = 4;
const TCP = 5;
const SYN = 6;
const MASK = 7;
const PORT_MUL = 2 ** 32;
/** Calls of one pair closer than this (ms) are connections opened together: one call, whatever burstMs says. */
const PARALLEL_MS = 5;

/**
 * Creates the beacon detector: per (host → foreign endpoint) pair it keeps the last `window` call
 * times and sizes in one typed-array pool; `flush` scores pairs and returns one finding per endpoint.
 * @see docs/detection.md#beaconing (RITA: https://github.com/activecm/rita)
 */
export function createBeaconDetector(hosts: HostTable, partial: Partial<BeaconConfig> = {}) {
  const cfg: BeaconConfig = { ...DEFAULT_BEACON_CONFIG, ...partial };
  const P = cfg.maxPairs;
  const W = cfg.window;
  const times = new Float64Array(P * W);
  const sizes = new Float32Array(P * W);
  // Per-pair scalars in one record of 8 doubles (one cache line), so a flow of a tracked pair touches
  // its record, its ring slot and the index: three lines instead of one per field (bench/detectors).
  const rec = new Float64Array(P * REC);
  const scoredAt = new Float64Array(P); // calls when last scored: a pair with more is due for scoring
  const srcOf = new Uint32Array(P);
  const dstOf = new Uint32Array(P);
  const portOf = new Uint16Array(P);
  const protoOf = new Uint8Array(P);
  // (src, dst) → slot: an open-addressed index over one Float64Array, so a flow's lookup neither boxes
  // its key nor allocates.
  const index = new KeyIndex(P);
  const inUse = new Uint8Array(P);
  const admitted = new Float64Array(P); // admission order: flush visits slots in it, as a Map would
  const order = new Float64Array(P); // flush's sort keys (admission × P + slot): due pairs from the front, idle ones from the back
  let admissions = 0;
  const free: number[] = [];
  for (let i = P - 1; i >= 0; i--) free.push(i);
  const keyOf = new Float64Array(P);
  // Admission: sightings of untracked pairs in a 4-way table (one line a sighting); whether a pair is
  // new, for the distinct-client count, in a blocked Bloom filter (one line), asked only of pairs the
  // table did not hold.
  const recent = new RecentCounter(18);
  const seenPairs = new BlockedBloomFilter(26);
  const clients = new BlockedCountMinSketch(16); // distinct clients per endpoint (new pairs only), 4 MiB
  const basisNames: string[] = [];
  let evicted = 0;
  let rngState = 0x2545f491;
  let generation = hosts.generation;
  const touched = new Uint32Array(1); // what the prefetch pass read, stored so the reads are not optimized away
  // The prefetch pass's places, one chunk's worth (inChunks: PREFETCH_ROWS rows).
  const atIndex = new Int32Array(PREFETCH_ROWS);
  const atRecent = new Int32Array(PREFETCH_ROWS);
  const atBloom = new Int32Array(PREFETCH_ROWS);
  const atClients = new Int32Array(PREFETCH_ROWS);
  const previous = new Map<string, string>(); // endpoint → level last emitted, so unchanged findings are not re-sent
  // Per source host: its tracked pairs to high ports, counted per port (peer-to-peer clients, see p2pPeers).
  // Changed only when a pair is admitted or dropped, never per flow.
  const highPorts = new Map<number, Map<number, number>>();

  function rand(n: number): number {
    rngState ^= rngState << 13; rngState ^= rngState >>> 17; rngState ^= rngState << 5;
    return (rngState >>> 0) % n;
  }

  function track(key: number, slot: number): void {
    index.set(key, slot);
    keyOf[slot] = key;
    inUse[slot] = 1;
    admitted[slot] = admissions++;
  }

  function untrack(slot: number): void {
    index.delete(keyOf[slot]!);
    inUse[slot] = 0;
    const port = portOf[slot]!;
    if (port < 1024) return;
    const ports = highPorts.get(srcOf[slot]!);
    const c = ports?.get(port) ?? 0;
    if (ports === undefined || c === 0) return;
    if (c > 1) ports.set(port, c - 1);
    else if (ports.size > 1) ports.delete(port);
    else highPorts.delete(srcOf[slot]!);
  }

  /** The high-port endpoints (tracked pairs) and distinct ports of a source host. */
  function peersOf(src: number): { endpoints: number; ports: number } {
    const ports = highPorts.get(src);
    if (ports === undefined) return { endpoints: 0, ports: 0 };
    let endpoints = 0;
    for (const c of ports.values()) endpoints += c;
    return { endpoints, ports: ports.size };
  }

  function evictOne(): number {
    let victim = -1;
    let oldest = Infinity;
    for (let k = 0; k < 8; k++) {
      const s = rand(P);
      const seen = rec[s * REC + SEEN]!;
      if (seen < oldest) { oldest = seen; victim = s; }
    }
    untrack(victim);
    evicted++;
    return victim;
  }

  function reset(): void {
    index.clear();
    inUse.fill(0);
    highPorts.clear();
    free.length = 0;
    for (let i = P - 1; i >= 0; i--) free.push(i);
    generation = hosts.generation;
  }

  /** Records the call-home flows of a batch. Hot loop: see bench/pipeline.bench.ts. */
  function ingest(b: AnalysisBatch): void {
    if (hosts.generation !== generation) reset();
    const bases = b.bases.map((name) => {
      let i = basisNames.indexOf(name);
      if (i < 0 && basisNames.length < 32) { i = basisNames.length; basisNames.push(name); }
      return i < 0 ? 0 : 1 << i;
    });
    inChunks(b.length, (from, to) => prefetch(b, from, to), (from, to) => ingestRows(b, from, to, bases));
  }

  /**
   * First pass over rows [from, to): touches the lines the second pass will use, changing nothing, so
   * their cache misses overlap instead of stalling one flow at a time (bench/detectors, bench/pipeline).
   * It takes every call's places first (the pair's index cell, admission bucket and Bloom block, its
   * endpoint's client counts), then reads them in tight loops, one structure at a time — a loop doing
   * more work per row keeps only a couple of misses in flight. (Touching tracked pairs' records and ring
   * slots too, behind the cached index cells, cost more than it saved on new pairs: bench/detectors.)
   */
  function prefetch(b: AnalysisBatch, from: number, to: number): void {
    let n = 0;
    for (let i = from; i < to; i++) {
      const dst = b.dst[i]!;
      const proto = b.proto[i]!;
      if ((proto !== 6 && proto !== 17) || b.dstPort[i]! > b.srcPort[i]! || hosts.isDomestic(dst)) continue;
      const key = b.src[i]! * PAIR_KEY_MUL + dst;
      atIndex[n] = index.place(key);
      atRecent[n] = recent.place(key);
      atBloom[n] = seenPairs.place(key);
      atClients[n] = clients.place(dst);
      n++;
    }
    const acc = index.touchAll(atIndex, n) ^ recent.touchAll(atRecent, n) ^ seenPairs.touchAll(atBloom, n) ^ clients.touchAll(atClients, n);
    touched[0] = acc;
  }

  function ingestRows(b: AnalysisBatch, from: number, to: number, bases: number[]): void {
    for (let i = from; i < to; i++) {
      const dst = b.dst[i]!;
      if (hosts.isDomestic(dst)) continue; // the called endpoint must be foreign
      const proto = b.proto[i]!;
      if (proto !== 6 && proto !== 17) continue;
      const sp = b.srcPort[i]!;
      const dp = b.dstPort[i]!;
      // The call direction goes to the service port: the lower one (ties: from the domestic side or both foreign).
      if (dp > sp) continue;
      const src = b.src[i]!;
      if (dp === sp && !hosts.isDomestic(src) && src > dst) continue;
      const key = src * PAIR_KEY_MUL + dst;
      let slot = index.get(key);
      const t = b.start[i]!;
      if (slot < 0) {
        const sightings = recent.add(key);
        if (sightings === 1 && !seenPairs.testAndAdd(key)) clients.add(dst);
        if (sightings < cfg.admitAfter) continue;
        slot = free.pop() ?? evictOne();
        track(key, slot);
        const r = slot * REC;
        rec[r + SEEN] = t; rec[r + FIRST] = t; rec[r + LAST] = -Infinity; rec[r + COUNT] = 0; rec[r + HEAD] = 0;
        rec[r + TCP] = 0; rec[r + SYN] = 0; rec[r + MASK] = 0; scoredAt[slot] = 0;
        srcOf[slot] = src; dstOf[slot] = dst; portOf[slot] = dp; protoOf[slot] = proto;
        if (dp >= 1024) {
          let ports = highPorts.get(src);
          if (ports === undefined) { ports = new Map(); highPorts.set(src, ports); }
          ports.set(dp, (ports.get(dp) ?? 0) + 1);
        }
      }
      const r = slot * REC;
      if (t > rec[r + SEEN]!) rec[r + SEEN] = t;
      const packed = rec[r + MASK]!;
      const lastPort = Math.floor(packed / PORT_MUL);
      const mask = ((packed >>> 0) | (bases[b.basis[i]!] ?? 0)) >>> 0;
      rec[r + MASK] = mask + (proto === 6 ? sp : lastPort) * PORT_MUL;
      if (t < rec[r + FIRST]!) rec[r + FIRST] = t;
      const base = slot * W;
      const h = rec[r + HEAD]!;
      const count = rec[r + COUNT]!;
      const prevIdx = base + (h === 0 ? W - 1 : h - 1);
      // Not a new call: a TCP record of the connection of the latest call (an exporter cuts long
      // connections into records at its active timeout), or a connection opened together with it.
      if (count > 0 && ((proto === 6 && sp === lastPort) || Math.abs(t - times[prevIdx]!) < PARALLEL_MS)) {
        sizes[prevIdx] = sizes[prevIdx]! + b.bytes[i]!;
        continue;
      }
      times[base + h] = t;
      sizes[base + h] = b.bytes[i]!;
      rec[r + HEAD] = h + 1 === W ? 0 : h + 1;
      rec[r + COUNT] = count + 1;
      if (t > rec[r + LAST]!) rec[r + LAST] = t;
      if (proto === 6) {
        rec[r + TCP] = rec[r + TCP]! + 1;
        const f = b.tcpFlags[i]!;
        if ((f & 0x02) !== 0 && (f & 0x10) === 0) rec[r + SYN] = rec[r + SYN]! + 1;
      }
    }
  }

  // Scoring scratch (one pair at a time): call times, intervals, sizes and deviations of up to `window` calls.
  const tsBuf = new Float64Array(W);
  const ivBuf = new Float64Array(W);
  const szBuf = new Float64Array(W);
  const devBuf = new Float64Array(W);
  const hitBuf = new Uint8Array(24);

  /**
   * Loads a pair's calls into tsBuf/szBuf in time order and returns how many. With `bursts`, calls closer
   * than burstMs to the one before join it (sizes summed): a burst of one session is one call.
   */
  function loadCalls(slot: number, n: number, bursts: boolean): number {
    const base = slot * W;
    // Insertion sort of (time, size): the ring is nearly in time order already, so this is about linear.
    for (let k = 0; k < n; k++) {
      const t = times[base + k]!, z = sizes[base + k]!;
      let j = k - 1;
      while (j >= 0 && tsBuf[j]! > t) { tsBuf[j + 1] = tsBuf[j]!; szBuf[j + 1] = szBuf[j]!; j--; }
      tsBuf[j + 1] = t; szBuf[j + 1] = z;
    }
    if (!bursts) return n;
    let m = 0;
    let prev = -Infinity;
    for (let k = 0; k < n; k++) {
      const t = tsBuf[k]!;
      if (m > 0 && t - prev < cfg.burstMs) szBuf[m - 1] = szBuf[m - 1]! + szBuf[k]!;
      else { tsBuf[m] = t; szBuf[m] = szBuf[k]!; m++; }
      prev = t;
    }
    return m;
  }

  /**
   * Scores one pair (`scorePair` for tests and the evaluation's explanations). With `levelOnly` (flush),
   * a pair that reaches no level returns undefined before its evidence (histogram, components) is built.
   */
  function scoreSlot(slot: number, levelOnly = false): PairScore | undefined {
    const r = slot * REC;
    const raw = Math.min(rec[r + COUNT]!, W);
    if (raw < cfg.minEvents || rec[r + LAST]! - rec[r + FIRST]! < cfg.minSpanMs) return undefined;
    // Calls closer than burstMs are one burst (a session's connections); when the bursts are too few to
    // score, the calls are scored one by one: a sub-second beacon is one endless burst, and is seen so.
    let n = loadCalls(slot, raw, true);
    const perCall = n < cfg.minEvents;
    if (perCall) n = loadCalls(slot, raw, false);
    const ts = tsBuf.subarray(0, n);
    const span = ts[n - 1]! - ts[0]!;
    if (!(span > 0)) return undefined;
    const iv = ivBuf.subarray(0, n - 1);
    for (let k = 1; k < n; k++) iv[k - 1] = ts[k]! - ts[k - 1]!;
    iv.sort();
    const med = quantile(iv, 0.5);
    const skewS = 1 - Math.abs(bowleySkew(iv));
    const madS = med > 0 ? clamp01(1 - medianAbsDev(iv, devBuf) / med) : 0;
    const modeS = clamp01((modeShare(iv, 3, 0.1, 500) - 0.3) / 0.6);
    const intervalS = Math.max((skewS + madS) / 2, modeS);
    const sz = szBuf.subarray(0, n).sort();
    const medSize = quantile(sz, 0.5);
    const sizeSkewS = 1 - Math.abs(bowleySkew(sz));
    const sizeMadS = medSize > 0 ? clamp01(1 - medianAbsDev(sz, devBuf) / medSize) : 0;
    const sizeModeS = clamp01((modeShare(sz, 3, 0.05, 8) - 0.3) / 0.6);
    const smallS = clamp01(1 - medSize / 65535);
    const sizeS = (Math.max((sizeSkewS + sizeMadS) / 2, sizeModeS) + smallS) / 2;
    // Spread: the share of equal time bins across the calls' span that hold a call.
    const bins = Math.max(2, Math.min(24, Math.floor(n / 2)));
    const hit = hitBuf;
    hit.fill(0);
    for (let k = 0; k < n; k++) hit[Math.min(bins - 1, Math.floor(((ts[k]! - ts[0]!) / span) * bins))] = 1;
    let hits = 0;
    for (let k = 0; k < bins; k++) hits += hit[k]!;
    const spreadS = hits / bins;
    const score = 0.45 * intervalS + 0.2 * sizeS + 0.35 * spreadS;
    const tcp = rec[r + TCP]!;
    const unanswered = tcp > 0 ? rec[r + SYN]! / tcp : 0;
    const fast = med <= cfg.fastIntervalMs;
    const medPkt = medSize; // bytes per call; packets are not kept per call
    const proto = protoOf[slot]!;
    const port = portOf[slot]!;
    let infra: string | undefined;
    for (const sv of INFRA_SERVICES) {
      if (sv.proto === proto && sv.port === port && medPkt >= sv.minPkt && medPkt <= sv.maxPkt * 4) { infra = sv.name; break; }
    }
    const hostPeers = port >= 1024 && cfg.p2pPeers > 0 ? peersOf(srcOf[slot]!) : undefined;
    const peers = hostPeers !== undefined && hostPeers.endpoints >= cfg.p2pPeers && hostPeers.ports >= cfg.p2pPeers ? hostPeers : undefined;
    let level: FindingLevel | undefined;
    const corroborated = (unanswered >= cfg.unansweredShare || fast) && intervalS >= cfg.alertInterval && peers === undefined;
    if (infra !== undefined) level = undefined;
    else if (score >= cfg.alertScore && corroborated) level = 'alert';
    else if (score >= cfg.suspectScore) level = 'suspect';
    if (levelOnly && level === undefined) return undefined;
    const histogram = new Array<number>(INTERVAL_BUCKETS_S.length).fill(0);
    for (let k = 0; k < iv.length; k++) {
      const s = iv[k]! / 1000;
      let bi = 0;
      while (bi < INTERVAL_BUCKETS_S.length - 1 && !(s < INTERVAL_BUCKETS_S[bi]!)) bi++;
      histogram[bi]!++;
    }
    return {
      src: srcOf[slot]!, dst: dstOf[slot]!, port, proto, calls: rec[r + COUNT]!, firstSeen: rec[r + FIRST]!, lastSeen: rec[r + LAST]!,
      medianIntervalMs: med, score, level, unanswered, fast, infra, perCall, peers, histogram, medianBytes: medSize, basisMask: rec[r + MASK]! >>> 0,
      components: { interval: intervalS, intervalSkew: skewS, intervalMad: madS, intervalModes: modeS, size: sizeS, smallness: smallS, spread: spreadS },
    };
  }

  /**
   * Scores changed pairs and returns the findings whose level changed or whose evidence grew: one
   * `beacon` per foreign endpoint (its best pair, with the hosts that beacon to it) and one
   * `botnet-fanin` where at least `fanInHosts` hosts beacon to it with the same cadence.
   */
  function flush(nowMs: number, all = false): FindingUpdate[] {
    const byEndpoint = new Map<number, PairScore[]>();
    // Idle pairs are dropped and pairs with new calls scored, each in admission order (as a Map would
    // hold them). Only those are sorted, by admission × P + slot in a typed array (a native numeric sort,
    // no comparator calls): unchanged pairs, most of them between flushes, cost one look each.
    // Sort keys stay exact below 2^53: past that, admissions are renumbered by rank (same order).
    if (admissions >= Math.floor(2 ** 53 / P) - P) admissions = renumberAdmissions(admitted, inUse);
    let nIdle = 0, nDue = 0;
    for (let slot = 0; slot < P; slot++) {
      if (inUse[slot] !== 1) continue;
      if (nowMs - rec[slot * REC + SEEN]! > cfg.idleMs) { order[P - 1 - nIdle++] = admitted[slot]! * P + slot; continue; }
      if (all || rec[slot * REC + COUNT]! !== scoredAt[slot]) order[nDue++] = admitted[slot]! * P + slot;
    }
    const idle = order.subarray(P - nIdle).sort();
    for (let k = 0; k < nIdle; k++) { const slot = idle[k]! % P; untrack(slot); free.push(slot); }
    const due = order.subarray(0, nDue).sort();
    for (let k = 0; k < nDue; k++) {
      const slot = due[k]! % P;
      scoredAt[slot] = rec[slot * REC + COUNT]!;
      const s = scoreSlot(slot, true);
      if (s === undefined || s.level === undefined) continue;
      const list = byEndpoint.get(s.dst) ?? [];
      list.push(s);
      byEndpoint.set(s.dst, list);
    }
    const out: FindingUpdate[] = [];
    for (const [dst, pairs] of byEndpoint) {
      pairs.sort((a, b) => b.score - a.score);
      const best = pairs[0]!;
      const endpoint = hosts.label(dst);
      const clientCount = clients.estimate(dst);
      const popular = clientCount >= cfg.popularClients && pairs.length / clientCount < 0.5;
      let level: FindingLevel = pairs.some((p) => p.level === 'alert') ? 'alert' : 'suspect';
      if (popular && level === 'alert') level = 'suspect';
      const domestic = pairs.filter((p) => hosts.isDomestic(p.src)).map((p) => hosts.label(p.src));
      const bases = basisNames.filter((_, i) => pairs.some((p) => (p.basisMask & (1 << i)) !== 0));
      const firstSeen = Math.min(...pairs.map((p) => p.firstSeen));
      const lastSeen = Math.max(...pairs.map((p) => p.lastSeen));
      const evidence = {
        pairs: pairs.length,
        clientsEstimate: clientCount,
        popular,
        port: best.port,
        proto: best.proto,
        calls: best.calls,
        medianIntervalS: best.medianIntervalMs / 1000,
        medianBytes: best.medianBytes,
        unansweredShare: best.unanswered,
        fastCadence: best.fast,
        scoredPerCall: best.perCall,
        ...(pairs.some((p) => p.peers !== undefined) ? { peerToPeer: pairs.find((p) => p.peers !== undefined)!.peers } : {}),
        intervalHistogram: { bucketsUpperS: INTERVAL_BUCKETS_S.map((u) => (u === Infinity ? null : u)), counts: best.histogram },
        window: { from: new Date(firstSeen).toISOString(), to: new Date(lastSeen).toISOString() },
      };
      const sig = `${level}:${pairs.length}:${best.calls}`;
      if (previous.get(`b:${endpoint}`) !== sig || all) {
        previous.set(`b:${endpoint}`, sig);
        out.push({
          kind: 'beacon', subject: { kind: 'address', value: endpoint }, level, score: best.score,
          scoreDetail: { method: 'rita-like: 0.45·interval + 0.20·size + 0.35·spread; alert needs a regular interval, unanswered or fast calls, no peer-to-peer host', components: best.components },
          evidence, firstSeen, lastSeen, hosts: domestic.slice(0, MAX_FINDING_HOSTS), hostCount: domestic.length, bases,
        });
      }
      // Fan-in: hosts with the same cadence (log2 bucket of the median interval) to one endpoint.
      const byCadence = new Map<number, PairScore[]>();
      for (const p of pairs) {
        const c = Math.round(Math.log2(Math.max(1, p.medianIntervalMs / 1000)));
        byCadence.set(c, [...(byCadence.get(c) ?? []), p]);
      }
      const group = [...byCadence.values()].sort((a, b) => b.length - a.length)[0] ?? [];
      if (group.length >= cfg.fanInHosts) {
        const share = clientCount > 0 ? Math.min(1, group.length / clientCount) : 1;
        const fanLevel: FindingLevel = level === 'alert' && share >= 0.5 ? 'alert' : 'suspect';
        const sigF = `${fanLevel}:${group.length}`;
        if (previous.get(`f:${endpoint}`) !== sigF || all) {
          previous.set(`f:${endpoint}`, sigF);
          const hostsF = group.filter((p) => hosts.isDomestic(p.src)).map((p) => hosts.label(p.src));
          out.push({
            kind: 'botnet-fanin', subject: { kind: 'address', value: endpoint }, level: fanLevel, score: clamp01(share * best.score + 0.1 * Math.log10(group.length)),
            scoreDetail: { method: 'share of the endpoint\'s clients beaconing with one cadence × best beacon score + 0.1·log10(hosts)', components: { hosts: group.length, clients: clientCount, share, beacon: best.score } },
            evidence: { cadenceS: group.map((p) => p.medianIntervalMs / 1000).sort((a, b) => a - b), hosts: group.length, clientsEstimate: clientCount, window: evidence.window },
            firstSeen, lastSeen, hosts: hostsF.slice(0, MAX_FINDING_HOSTS), hostCount: hostsF.length, bases,
          });
        }
      }
    }
    return out;
  }

  return {
    ingest,
    flush,
    /** Scores the pair (src → dst), if tracked (tests and the evaluation's explanations). */
    scorePair(src: number, dst: number): PairScore | undefined {
      const slot = index.get(src * PAIR_KEY_MUL + dst);
      return slot < 0 ? undefined : scoreSlot(slot);
    },
    stats() {
      return {
        trackedPairs: index.size, evictedPairs: evicted,
        bytes: times.byteLength + sizes.byteLength + rec.byteLength + P * (8 + 4 + 4 + 2 + 1 + 1 + 8 + 8) + index.bytes + recent.bytes + seenPairs.bytes + clients.bytes,
      };
    },
    config: cfg,
  };
}

/** The beacon detector. */
export type BeaconDetector = ReturnType<typeof createBeaconDetector>;

/**
 * Renumbers the admission order of the slots in use (`inUse[slot] === 1`) to 0, 1, 2, … keeping their
 * order, and returns the next number: the beacon flush sorts by admission × slots + slot in doubles,
 * exact only below 2^53, and a long-running detector admits more pairs than that allows (at 50,000 new
 * pairs a second, 2^35 admissions take eight days).
 */
export function renumberAdmissions(admitted: Float64Array, inUse: Uint8Array): number {
  const live: number[] = [];
  for (let slot = 0; slot < inUse.length; slot++) if (inUse[slot] === 1) live.push(slot);
  live.sort((a, b) => admitted[a]! - admitted[b]!);
  live.forEach((slot, rank) => { admitted[slot] = rank; });
  return live.length;
}
