/** @module DDoS: volumetric floods (a target's rate against its own EWMA baseline) and reflection/amplification (UDP answers from amplifier ports). */
import type { AnalysisBatch, HostTable } from './batch.js';
import { clamp01 } from './stats.js';
import type { FindingLevel, FindingUpdate } from './schema.js';

/** UDP source ports of services abused for amplification (US-CERT TA14-017A and later reports). */
export const AMPLIFIER_PORTS: ReadonlySet<number> = new Set([17, 19, 53, 69, 111, 123, 137, 161, 389, 427, 520, 1900, 3283, 3702, 5353, 5683, 10001, 11211, 37810]);

/** AMPLIFIER_PORTS as a lookup table for the per-flow test. */
const AMPLIFIER = new Uint8Array(65536);
for (const port of AMPLIFIER_PORTS) AMPLIFIER[port] = 1;

/** Parameters of the DDoS detector (docs/detection.md#ddos). */
export interface DdosConfig {
  /** Bin width (ms): rates are packets or bits per second over one bin. */
  binMs: number;
  /** A flood needs at least this many packets/s … */
  minPps: number;
  /** … or this many bits/s. */
  minBps: number;
  /** … and, once the target has a baseline, this many times its EWMA. */
  baselineRatio: number;
  /** EWMA weight of a new (normal) bin. */
  alpha: number;
  /** Bins before a target's baseline counts. */
  warmupBins: number;
  /** Consecutive flood bins from which a flood is an alert. */
  alertBins: number;
  /** Distinct reflectors from which reflection is reported (with `minReflectionBps`). */
  minReflectors: number;
  /** Reflected bits/s from which reflection is reported. */
  minReflectionBps: number;
  /** Smallest mean reflected packet (bytes): amplified answers are large. */
  minReflectedPacket: number;
  /** Targets held at once. */
  maxTargets: number;
  /** A target gets state once its packet count (halved at each new bin) reaches this, or one flow carries this many. */
  admitPackets: number;
  /** Flow time (ms) a bin stays open for late flows. */
  latenessMs: number;
}

/** Defaults: see docs/detection.md#ddos. */
export const DEFAULT_DDOS_CONFIG: DdosConfig = {
  binMs: 10_000, minPps: 2_000, minBps: 20e6, baselineRatio: 10, alpha: 0.1, warmupBins: 6, alertBins: 3,
  minReflectors: 10, minReflectionBps: 5e6, minReflectedPacket: 200, maxTargets: 50_000, admitPackets: 1000, latenessMs: 30_000,
};

const RING = 64;

interface Target {
  id: number;
  bin: Float64Array; // bin number held in each ring slot (−1 = empty)
  packets: Float64Array;
  bytes: Float64Array;
  reflBytes: Float64Array;
  baseline: number; // packets/s
  baselineBins: number;
  closedUpTo: number; // last closed bin number
  sources: Set<number>;
  reflectors: Set<number>;
  floodBins: number;
  floodRun: number;
  reflBins: number;
  first: number;
  last: number;
  peakPps: number;
  peakBps: number;
  series: Array<{ t: string; pps: number; bps: number; baselinePps: number }>;
  bases: Set<string>;
  emitted: string;
}

/**
 * Creates the DDoS detector. Flow packets and bytes are spread evenly over the bins the flow spans;
 * a bin closes `latenessMs` after the stream passes its end and is judged then: a flood when its rate
 * crosses the floors and (with a baseline) `baselineRatio` × the target's EWMA; normal bins update the EWMA.
 * @see docs/detection.md#ddos; Mirkovic & Reiher, A taxonomy of DDoS attack and defense mechanisms (2004)
 */
export function createDdosDetector(hosts: HostTable, partial: Partial<DdosConfig> = {}) {
  const cfg: DdosConfig = { ...DEFAULT_DDOS_CONFIG, ...partial };
  const targets = new Map<number, Target>();
  // Per host id (ids are dense): whether it has a Target, and its admission count as [epoch, packets].
  // The count halves each time the stream enters a new bin (applied lazily: by the number of bin changes
  // since the id was last counted), as the count-min sketch it replaces did, but exactly and with one
  // memory touch a flow instead of three hashed ones and a sweep of the sketch per bin (bench/detectors).
  let isTarget = new Uint8Array(1024);
  let admitCount = new Uint32Array(2048);
  let epoch = 0;
  let admitBin = -1;
  let watermark = -Infinity;
  let evicted = 0;
  let generation = hosts.generation;
  const binS = cfg.binMs / 1000;

  function newTarget(id: number, t: number): Target {
    if (targets.size >= cfg.maxTargets) {
      // Evict the quietest of a few oldest-inserted targets.
      let victim: number | undefined;
      let low = Infinity;
      let k = 0;
      for (const [tid, tg] of targets) { if (tg.baseline < low) { low = tg.baseline; victim = tid; } if (++k >= 8) break; }
      if (victim !== undefined) { targets.delete(victim); isTarget[victim] = 0; evicted++; }
    }
    const tg: Target = {
      id, bin: new Float64Array(RING).fill(-1), packets: new Float64Array(RING), bytes: new Float64Array(RING), reflBytes: new Float64Array(RING),
      baseline: 0, baselineBins: 0, closedUpTo: Math.floor(t / cfg.binMs) - 1, sources: new Set(), reflectors: new Set(),
      floodBins: 0, floodRun: 0, reflBins: 0, first: t, last: t, peakPps: 0, peakBps: 0, series: [], bases: new Set(), emitted: '',
    };
    targets.set(id, tg);
    isTarget[id] = 1;
    return tg;
  }

  function addToBin(tg: Target, b: number, packets: number, bytes: number, refl: number): void {
    if (b <= tg.closedUpTo) b = tg.closedUpTo + 1; // late: counted in the oldest open bin
    const s = b % RING;
    if (tg.bin[s] !== b) { tg.bin[s] = b; tg.packets[s] = 0; tg.bytes[s] = 0; tg.reflBytes[s] = 0; }
    tg.packets[s] = tg.packets[s]! + packets;
    tg.bytes[s] = tg.bytes[s]! + bytes;
    tg.reflBytes[s] = tg.reflBytes[s]! + refl;
  }

  /** Grows the per-id arrays to hold ids below `n`. */
  function reserve(n: number): void {
    if (n <= isTarget.length) return;
    let size = isTarget.length;
    while (size < n) size *= 2;
    const flags = new Uint8Array(size);
    flags.set(isTarget);
    isTarget = flags;
    const counts = new Uint32Array(size * 2);
    counts.set(admitCount);
    admitCount = counts;
  }

  /**
   * Adds a flow's packets to the admission count of `dst` and returns it: the count halved once per bin
   * change since it was last touched, plus min(packets, 65535), truncated to an integer.
   */
  function countAdmission(dst: number, packets: number): number {
    const a = dst * 2;
    const age = epoch - admitCount[a]!;
    let c = admitCount[a + 1]!;
    if (age !== 0) c = age >= 32 ? 0 : c >>> age;
    c = Math.min(0xffffffff, Math.floor(c + Math.min(packets, 0xffff)));
    admitCount[a] = epoch;
    admitCount[a + 1] = c;
    return c;
  }

  /** Records a batch: per flow one byte says whether the target has state, else one exact admission count. Hot loop: bench/detectors.bench.ts. */
  function ingest(b: AnalysisBatch): void {
    if (hosts.generation !== generation) { targets.clear(); isTarget.fill(0); admitCount.fill(0); generation = hosts.generation; }
    reserve(hosts.size);
    for (let i = 0; i < b.length; i++) {
      const dst = b.dst[i]!;
      const start = b.start[i]!;
      const end = Math.max(start, b.end[i]!);
      const packets = b.packets[i]!;
      const bytes = b.bytes[i]!;
      if (end > watermark) watermark = end;
      let tg: Target;
      if (isTarget[dst] === 0) {
        const gb = Math.floor(watermark / cfg.binMs);
        if (gb !== admitBin) { epoch = (epoch + 1) >>> 0; admitBin = gb; }
        if (countAdmission(dst, packets) < cfg.admitPackets && packets < cfg.admitPackets) continue;
        tg = newTarget(dst, start);
      } else tg = targets.get(dst)!;
      if (start < tg.first) tg.first = start;
      if (end > tg.last) tg.last = end;
      const src = b.src[i]!;
      if (tg.sources.size < 100_000) tg.sources.add(src);
      const basis = b.bases[b.basis[i]!];
      if (basis !== undefined && tg.bases.size < 16) tg.bases.add(basis);
      const refl = b.proto[i] === 17 && AMPLIFIER[b.srcPort[i]!] === 1 && packets > 0 && bytes / packets >= cfg.minReflectedPacket ? bytes : 0;
      if (refl > 0 && tg.reflectors.size < 100_000) tg.reflectors.add(src);
      const b0 = Math.floor(start / cfg.binMs);
      const b1 = Math.floor(end / cfg.binMs);
      const nb = Math.min(RING - 1, b1 - b0 + 1);
      const from = b1 - nb + 1;
      for (let k = from; k <= b1; k++) addToBin(tg, k, packets / nb, bytes / nb, refl / nb);
    }
  }

  function closeBins(tg: Target, upTo: number): void {
    let start = Math.max(tg.closedUpTo + 1, upTo - RING + 1);
    // Bins still holding data from before that window are judged too: a flush may come long after a
    // flood when newer traffic has moved the watermark on. Empty stretches before them are skipped.
    for (let s = 0; s < RING; s++) {
      const held = tg.bin[s]!;
      if (held > tg.closedUpTo && held < start) start = held;
    }
    for (let bn = start; bn <= upTo; bn++) {
      const s = bn % RING;
      const has = tg.bin[s] === bn;
      const pps = has ? tg.packets[s]! / binS : 0;
      const bps = has ? (tg.bytes[s]! * 8) / binS : 0;
      const rbps = has ? (tg.reflBytes[s]! * 8) / binS : 0;
      const warm = tg.baselineBins >= cfg.warmupBins;
      const overFloor = pps >= cfg.minPps || bps >= cfg.minBps;
      const flood = overFloor && (!warm || pps >= cfg.baselineRatio * Math.max(tg.baseline, 1));
      if (flood) { tg.floodBins++; tg.floodRun++; } else tg.floodRun = 0;
      if (rbps >= cfg.minReflectionBps && tg.reflectors.size >= cfg.minReflectors) tg.reflBins++;
      if (!flood) {
        tg.baseline = tg.baselineBins === 0 ? pps : (1 - cfg.alpha) * tg.baseline + cfg.alpha * pps;
        tg.baselineBins++;
      }
      if (pps > tg.peakPps) tg.peakPps = pps;
      if (bps > tg.peakBps) tg.peakBps = bps;
      if (has || flood) {
        tg.series.push({ t: new Date(bn * cfg.binMs).toISOString(), pps: Math.round(pps), bps: Math.round(bps), baselinePps: Math.round(tg.baseline) });
        if (tg.series.length > 120) tg.series.shift();
      }
      if (has) tg.bin[s] = -1;
    }
    tg.closedUpTo = Math.max(tg.closedUpTo, upTo);
  }

  /** Closes bins the stream has passed (all bins when `final`) and returns changed findings. */
  function flush(nowMs: number, final = false): FindingUpdate[] {
    const limit = final ? Infinity : Math.min(nowMs, watermark) - cfg.latenessMs;
    const out: FindingUpdate[] = [];
    for (const [id, tg] of targets) {
      const upTo = Number.isFinite(limit) ? Math.floor(limit / cfg.binMs) - 1 : Math.floor(tg.last / cfg.binMs);
      if (upTo > tg.closedUpTo) closeBins(tg, upTo);
      const subject: FindingUpdate['subject'] = hosts.isDomestic(id) ? { kind: 'pseudonym', value: hosts.label(id) } : { kind: 'address', value: hosts.label(id) };
      const affected = hosts.isDomestic(id) ? [hosts.label(id)] : [...tg.sources].filter((s) => hosts.isDomestic(s)).slice(0, 200).map((s) => hosts.label(s));
      const affectedCount = hosts.isDomestic(id) ? 1 : [...tg.sources].filter((s) => hosts.isDomestic(s)).length;
      if (tg.floodBins > 0) {
        const level: FindingLevel = tg.floodBins >= cfg.alertBins ? 'alert' : 'suspect';
        const ratio = tg.peakPps / Math.max(1, tg.baseline);
        const score = clamp01(0.4 * Math.min(1, tg.floodBins / (cfg.alertBins * 2)) + 0.3 * Math.min(1, Math.log10(Math.max(1, ratio)) / 2) + 0.3 * Math.min(1, Math.log10(tg.sources.size + 1) / 3));
        const sig = `f:${level}:${tg.floodBins}`;
        if (sig !== tg.emitted) {
          tg.emitted = sig;
          out.push({
            kind: 'ddos-volumetric', subject, level, score,
            scoreDetail: { method: '0.4·sustain + 0.3·log10(peak/baseline)/2 + 0.3·log10(sources)/3', components: { floodBins: tg.floodBins, ratio, sources: tg.sources.size } },
            evidence: { binSeconds: binS, peakPps: Math.round(tg.peakPps), peakBps: Math.round(tg.peakBps), baselinePps: Math.round(tg.baseline), baselineWarm: tg.baselineBins >= cfg.warmupBins, sources: tg.sources.size, series: tg.series.slice(), window: { from: new Date(tg.first).toISOString(), to: new Date(tg.last).toISOString() } },
            firstSeen: tg.first, lastSeen: tg.last, hosts: affected, hostCount: affectedCount, bases: [...tg.bases],
          });
        }
      }
      if (tg.reflBins > 0) {
        const level: FindingLevel = tg.reflBins >= cfg.alertBins ? 'alert' : 'suspect';
        const sig = `r:${level}:${tg.reflBins}`;
        if (!tg.emitted.includes(sig)) {
          tg.emitted += `|${sig}`;
          out.push({
            kind: 'ddos-reflection', subject, level, score: clamp01(0.5 * Math.min(1, tg.reflBins / (cfg.alertBins * 2)) + 0.5 * Math.min(1, Math.log10(tg.reflectors.size) / 3)),
            scoreDetail: { method: '0.5·sustain + 0.5·log10(reflectors)/3', components: { reflectionBins: tg.reflBins, reflectors: tg.reflectors.size } },
            evidence: { binSeconds: binS, reflectors: tg.reflectors.size, peakBps: Math.round(tg.peakBps), series: tg.series.slice(), amplifierPorts: [...AMPLIFIER_PORTS], window: { from: new Date(tg.first).toISOString(), to: new Date(tg.last).toISOString() } },
            firstSeen: tg.first, lastSeen: tg.last, hosts: affected, hostCount: affectedCount, bases: [...tg.bases],
          });
        }
      }
      if (tg.floodBins === 0 && tg.reflBins === 0 && Number.isFinite(limit) && limit - tg.last > RING * cfg.binMs * 4 && tg.baseline < cfg.minPps / 10) { targets.delete(id); isTarget[id] = 0; }
    }
    return out;
  }

  return { ingest, flush, stats: () => ({ targets: targets.size, evictedTargets: evicted, admissionBytes: isTarget.byteLength + admitCount.byteLength }), config: cfg };
}

/** The DDoS detector. */
export type DdosDetector = ReturnType<typeof createDdosDetector>;
