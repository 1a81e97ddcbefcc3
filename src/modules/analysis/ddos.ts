/** @module DDoS: volumetric floods (a target's rate against its own robust baseline) and reflection/amplification (UDP answers from amplifier ports). */
import type { AnalysisBatch, HostTable } from './batch.js';
import { IdSet } from './sketch.js';
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
  /** … or this many bits/s (each also `baselineRatio` × the target's baseline of it). */
  minBps: number;
  /**
   * … and this many times the target's baseline: the median rate of its last `baselineBins` normal bins.
   * A target whose baseline is unknown (first seen while the detector was warming up) needs this many
   * times the floors instead.
   */
  baselineRatio: number;
  /** Normal bins the baseline is the median of. */
  baselineBins: number;
  /** Bins the stream must have run before a newly admitted target's quiet past counts as its baseline. */
  warmupBins: number;
  /** Flood bins from which a flood is an alert. */
  alertBins: number;
  /**
   * Packets the target sent back to its sources over packets it received, from which a bin is an
   * exchange (a download, a call) rather than a flood — unless its TCP packets are mostly SYN without ACK.
   */
  maxAnswerRatio: number;
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
  binMs: 5_000, minPps: 1_000, minBps: 20e6, baselineRatio: 10, baselineBins: 24, warmupBins: 6, alertBins: 3, maxAnswerRatio: 0.2,
  minReflectors: 10, minReflectionBps: 5e6, minReflectedPacket: 200, maxTargets: 50_000, admitPackets: 1000, latenessMs: 30_000,
};

const RING = 64;

interface Target {
  id: number;
  bin: Float64Array; // bin number held in each ring slot (−1 = empty)
  packets: Float64Array;
  bytes: Float64Array;
  reflBytes: Float64Array;
  /** Packets of TCP flows with SYN and no ACK (a SYN flood's), and packets the target sent back to anyone. */
  synPackets: Float64Array;
  answers: Float64Array;
  /** The last `baselineBins` normal bins' packets/s and bits/s (rings), how many are held and the next slot. */
  basePps: Float64Array;
  baseBps: Float64Array;
  baseN: number;
  baseHead: number;
  /** Where the baseline comes from: learned normal bins, the quiet past its admission implies, or none yet (cold). */
  baseKind: 'learned' | 'admission' | 'cold';
  normalBins: number;
  closedUpTo: number; // last closed bin number
  sources: IdSet;
  reflectors: IdSet;
  floodBins: number;
  reflBins: number;
  first: number;
  last: number;
  peakPps: number;
  peakBps: number;
  /** The largest flood bin's rate over the baseline (and that baseline), the figure a finding reports. */
  peakRatio: number;
  ratioBasePps: number;
  ratioBaseBps: number;
  series: Array<{ t: string; pps: number; bps: number; baselinePps: number; baselineBps: number }>;
  bases: Set<string>;
  /** The basis last added to `bases`: most flows of a target come under the same one, which needs no lookup. */
  lastBasis: string | undefined;
  emitted: string;
}

/** Median of the first `n` values of `v` (n ≤ 32, sorted in a scratch copy). */
const medianScratch = new Float64Array(64);
function medianOf(v: Float64Array, n: number): number {
  if (n === 0) return 0;
  const s = medianScratch.subarray(0, n);
  s.set(v.subarray(0, n));
  s.sort();
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/**
 * Creates the DDoS detector. A flow's packets and bytes are spread over the bins it spans in proportion
 * to its time in each (a long flow is a rate, not an instant); a bin closes `latenessMs` after the stream
 * passes its end and is judged then: a flood when its rate crosses both the floors and `baselineRatio` ×
 * the target's robust baseline (the median of its recent normal bins), and the target did not answer
 * most of it; normal bins feed the baseline.
 * @see docs/detection.md#ddos; Mirkovic & Reiher, A taxonomy of DDoS attack and defense mechanisms (2004)
 */
export function createDdosDetector(hosts: HostTable, partial: Partial<DdosConfig> = {}) {
  const cfg: DdosConfig = { ...DEFAULT_DDOS_CONFIG, ...partial };
  if (!(cfg.baselineBins >= 1 && cfg.baselineBins <= 32 && Number.isInteger(cfg.baselineBins))) throw new RangeError('baselineBins must be a whole number from 1 to 32');
  const targets = new Map<number, Target>();
  // Per host id (ids are dense): whether it has a Target, and its admission count as [bin, packets].
  // The count halves once per bin the host's own flows move on (applied lazily, by how many bins its flow
  // ends are past the bin it was last counted in), exactly and with one memory touch a flow. It is measured
  // by the host's flows, not by the stream's watermark: the same flows of a host then admit it at the same
  // flow whatever other hosts' flows came between — a cluster worker sees its partitions interleaved in an
  // order no single process does (decision 0017).
  let isTarget = new Uint8Array(1024);
  // The targets again by host id: an element load a flow rather than a Map lookup (`targets` keeps the order flush reports in).
  // Kept as long as isTarget and filled, so the array stays in V8's fast elements rather than a dictionary.
  const byId: Array<Target | undefined> = new Array<Target | undefined>(1024).fill(undefined);
  let admitCount = new Uint32Array(2048);
  // Bins are held relative to the first flow's (as 32-bit words: their differences wrap exactly).
  let originBin = Number.NaN;
  let watermark = -Infinity;
  let firstBin = Infinity; // the stream's first bin: targets admitted within warmupBins of it have no known past
  let evicted = 0;
  let generation = hosts.generation;
  const binS = cfg.binMs / 1000;

  function newTarget(id: number, t: number, pastPps: number): Target {
    if (targets.size >= cfg.maxTargets) {
      // Evict the quietest of a few oldest-inserted targets.
      let victim: number | undefined;
      let low = Infinity;
      let k = 0;
      for (const [tid, tg] of targets) { const b = medianOf(tg.basePps, tg.baseN); if (b < low) { low = b; victim = tid; } if (++k >= 8) break; }
      if (victim !== undefined) { targets.delete(victim); isTarget[victim] = 0; byId[victim] = undefined; evicted++; }
    }
    const bin = Math.floor(t / cfg.binMs);
    const known = bin - firstBin >= cfg.warmupBins;
    const tg: Target = {
      id, bin: new Float64Array(RING).fill(-1), packets: new Float64Array(RING), bytes: new Float64Array(RING), reflBytes: new Float64Array(RING),
      synPackets: new Float64Array(RING), answers: new Float64Array(RING),
      basePps: new Float64Array(cfg.baselineBins), baseBps: new Float64Array(cfg.baselineBins), baseN: known ? 1 : 0, baseHead: known ? 1 : 0,
      baseKind: known ? 'admission' : 'cold', normalBins: 0, closedUpTo: bin - 1, sources: new IdSet(), reflectors: new IdSet(),
      floodBins: 0, reflBins: 0, first: t, last: t, peakPps: 0, peakBps: 0, peakRatio: 0, ratioBasePps: 0, ratioBaseBps: 0,
      series: [], bases: new Set(), lastBasis: undefined, emitted: '',
    };
    // Admitted after the stream has run a while: until now it stayed under the admission count, which
    // bounds its past rate (the halving count is about twice a bin's packets); that is its first baseline.
    if (known) tg.basePps[0] = pastPps;
    targets.set(id, tg);
    isTarget[id] = 1;
    byId[id] = tg;
    return tg;
  }

  /**
   * Spreads a flow over the bins it spans, in proportion to its time in each; shares of bins already
   * judged, or older than the ring, are not counted (they would otherwise pile into one bin). A bin about
   * to be overwritten by one a ring later is judged first.
   */
  function spread(tg: Target, rows: AnalysisBatch, i: number, packets: number, bytes: number, refl: number, syn: number, answers: number): void {
    // The row's times are read here rather than passed: doubles passed to a call that is not inlined are boxed,
    // two heap numbers a flow — half of the pipeline thread's garbage in bench/ingest (V8's sampling heap profile).
    const start = rows.start[i]!;
    const end = Math.max(start, rows.end[i]!);
    const b0 = Math.floor(start / cfg.binMs);
    const b1 = Math.floor(end / cfg.binMs);
    const dur = end - start;
    const from = Math.max(b0, tg.closedUpTo + 1, b1 - RING + 1);
    for (let b = from; b <= b1; b++) {
      const share = dur <= 0 ? 1 : (Math.min(end, (b + 1) * cfg.binMs) - Math.max(start, b * cfg.binMs)) / dur;
      const s = b % RING;
      // The ring is full: its oldest bin (not yet judged) is judged now rather than overwritten.
      if (tg.bin[s]! > tg.closedUpTo && tg.bin[s]! < b) closeBins(tg, tg.bin[s]!);
      if (b <= tg.closedUpTo) continue;
      if (tg.bin[s] !== b) { tg.bin[s] = b; tg.packets[s] = 0; tg.bytes[s] = 0; tg.reflBytes[s] = 0; tg.synPackets[s] = 0; tg.answers[s] = 0; }
      tg.packets[s] = tg.packets[s]! + packets * share;
      tg.bytes[s] = tg.bytes[s]! + bytes * share;
      tg.reflBytes[s] = tg.reflBytes[s]! + refl * share;
      tg.synPackets[s] = tg.synPackets[s]! + syn * share;
      tg.answers[s] = tg.answers[s]! + answers * share;
    }
  }

  /** Grows the per-id arrays to hold ids below `n`. */
  function reserve(n: number): void {
    if (n <= isTarget.length) return;
    let size = isTarget.length;
    while (size < n) size *= 2;
    const flags = new Uint8Array(size);
    flags.set(isTarget);
    isTarget = flags;
    while (byId.length < size) byId.push(undefined);
    const counts = new Uint32Array(size * 2);
    counts.set(admitCount);
    admitCount = counts;
  }

  /**
   * Adds a flow's packets to the admission count of `dst` and returns it: the count halved once per bin the
   * flow's end is past the host's last counted one (a flow from an earlier bin halves nothing), plus
   * min(packets, 65535), truncated to an integer.
   */
  function countAdmission(dst: number, packets: number, endBin: number): number {
    const a = dst * 2;
    const rel = (endBin - originBin) | 0;
    const age = (rel - admitCount[a]!) | 0;
    let c = admitCount[a + 1]!;
    if (age > 0) { c = age >= 32 ? 0 : c >>> age; admitCount[a] = rel; }
    else if (c === 0) admitCount[a] = rel;
    c = Math.min(0xffffffff, Math.floor(c + Math.min(packets, 0xffff)));
    admitCount[a + 1] = c;
    return c;
  }

  /**
   * Records a batch: per flow one byte says whether the target has state, else one exact admission count;
   * a flow from a target is counted as its answer. Hot loop: bench/pipeline.
   */
  function ingest(b: AnalysisBatch): void {
    if (hosts.generation !== generation) { targets.clear(); isTarget.fill(0); byId.fill(undefined); admitCount.fill(0); generation = hosts.generation; firstBin = Infinity; originBin = Number.NaN; }
    reserve(hosts.size);
    // The watermark in a local while the loop runs: a double stored into the closure is boxed at each store,
    // and flow times mostly rise, so it would be stored on nearly every flow.
    let wm = watermark;
    for (let i = 0; i < b.length; i++) {
      const dst = b.dst[i]!;
      const src = b.src[i]!;
      const start = b.start[i]!;
      const end = Math.max(start, b.end[i]!);
      const packets = b.packets[i]!;
      const bytes = b.bytes[i]!;
      if (end > wm) { wm = end; if (firstBin === Infinity) firstBin = Math.floor(start / cfg.binMs); }
      if (isTarget[src] === 1 && src !== dst) spread(byId[src]!, b, i, 0, 0, 0, 0, packets);
      let tg: Target;
      if (isTarget[dst] === 0) {
        const endBin = Math.floor(end / cfg.binMs);
        if (originBin !== originBin) originBin = endBin;
        const count = countAdmission(dst, packets, endBin);
        if (count < cfg.admitPackets && packets < cfg.admitPackets) continue;
        tg = newTarget(dst, start, Math.max(0, count - Math.min(packets, 0xffff)) / (2 * binS));
      } else tg = byId[dst]!;
      if (start < tg.first) tg.first = start;
      if (end > tg.last) tg.last = end;
      if (tg.sources.size < 100_000) tg.sources.add(src);
      const basis = b.bases[b.basis[i]!];
      if (basis !== undefined && basis !== tg.lastBasis && tg.bases.size < 16) { tg.bases.add(basis); tg.lastBasis = basis; }
      const proto = b.proto[i]!;
      const refl = proto === 17 && AMPLIFIER[b.srcPort[i]!] === 1 && packets > 0 && bytes / packets >= cfg.minReflectedPacket ? bytes : 0;
      if (refl > 0 && tg.reflectors.size < 100_000) tg.reflectors.add(src);
      const f = b.tcpFlags[i]!;
      const syn = proto === 6 && (f & 0x02) !== 0 && (f & 0x10) === 0 ? packets : 0;
      spread(tg, b, i, packets, bytes, refl, syn, 0);
    }
    watermark = wm;
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
      const packets = has ? tg.packets[s]! : 0;
      const pps = packets / binS;
      const bps = has ? (tg.bytes[s]! * 8) / binS : 0;
      const rbps = has ? (tg.reflBytes[s]! * 8) / binS : 0;
      // The baseline: a robust (median) one once learned; unknown (cold) targets are held to the floors × ratio.
      const cold = tg.baseKind === 'cold';
      const basePps = cold ? cfg.minPps : medianOf(tg.basePps, tg.baseN);
      const baseBps = cold ? cfg.minBps : medianOf(tg.baseBps, tg.baseN);
      const needPps = Math.max(cfg.minPps, cfg.baselineRatio * basePps);
      const needBps = Math.max(cfg.minBps, cfg.baselineRatio * baseBps);
      const over = pps >= needPps || bps >= needBps;
      const answered = has && packets > 0 && tg.answers[s]! / packets > cfg.maxAnswerRatio && tg.synPackets[s]! < packets / 2;
      const flood = over && !answered;
      if (flood) {
        tg.floodBins++;
        const ratio = Math.max(pps / Math.max(basePps, 1), bps / Math.max(baseBps, 8000));
        if (ratio > tg.peakRatio) { tg.peakRatio = ratio; tg.ratioBasePps = basePps; tg.ratioBaseBps = baseBps; }
      }
      if (rbps >= cfg.minReflectionBps && tg.reflectors.size >= cfg.minReflectors) tg.reflBins++;
      if (!flood) {
        // Normal bins, and busy ones the target answered (its downloads), are what it usually sees.
        tg.basePps[tg.baseHead] = pps;
        tg.baseBps[tg.baseHead] = bps;
        tg.baseHead = (tg.baseHead + 1) % cfg.baselineBins;
        if (tg.baseN < cfg.baselineBins) tg.baseN++;
        if (++tg.normalBins >= cfg.warmupBins) tg.baseKind = 'learned';
      }
      if (pps > tg.peakPps) tg.peakPps = pps;
      if (bps > tg.peakBps) tg.peakBps = bps;
      if (has || flood) {
        tg.series.push({ t: new Date(bn * cfg.binMs).toISOString(), pps: Math.round(pps), bps: Math.round(bps), baselinePps: Math.round(cold ? 0 : basePps), baselineBps: Math.round(cold ? 0 : baseBps) });
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
      // The domestic hosts it concerns: only for a finding that goes out (a walk over up to 100,000 sources).
      const affected = (): { hosts: string[]; hostCount: number } => {
        if (hosts.isDomestic(id)) return { hosts: [hosts.label(id)], hostCount: 1 };
        const domestic = Array.from(tg.sources.values()).filter((s) => hosts.isDomestic(s));
        return { hosts: domestic.slice(0, 200).map((s) => hosts.label(s)), hostCount: domestic.length };
      };
      if (tg.floodBins > 0) {
        const level: FindingLevel = tg.floodBins >= cfg.alertBins ? 'alert' : 'suspect';
        const ratio = tg.peakRatio;
        const score = clamp01(0.4 * Math.min(1, tg.floodBins / (cfg.alertBins * 2)) + 0.3 * Math.min(1, Math.log10(Math.max(1, ratio)) / 2) + 0.3 * Math.min(1, Math.log10(tg.sources.size + 1) / 3));
        const sig = `f:${level}:${tg.floodBins}`;
        if (sig !== tg.emitted) {
          tg.emitted = sig;
          out.push({
            kind: 'ddos-volumetric', subject, level, score,
            scoreDetail: { method: '0.4·sustain + 0.3·log10(peak/baseline)/2 + 0.3·log10(sources)/3', components: { floodBins: tg.floodBins, ratio, sources: tg.sources.size } },
            evidence: {
              binSeconds: binS, floodBins: tg.floodBins, peakPps: Math.round(tg.peakPps), peakBps: Math.round(tg.peakBps),
              // How far above its own baseline the target was, and which baseline that is.
              aboveBaseline: Math.round(ratio * 10) / 10, baselinePps: Math.round(tg.ratioBasePps), baselineBps: Math.round(tg.ratioBaseBps),
              baseline: tg.baseKind === 'learned' ? 'median of its recent normal bins' : tg.baseKind === 'admission' ? 'its quiet past before admission' : 'unknown: judged against the floors × ratio',
              thresholds: { minPps: cfg.minPps, minBps: cfg.minBps, baselineRatio: cfg.baselineRatio },
              sources: tg.sources.size, series: tg.series.slice(), window: { from: new Date(tg.first).toISOString(), to: new Date(tg.last).toISOString() },
            },
            firstSeen: tg.first, lastSeen: tg.last, ...affected(), bases: [...tg.bases],
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
            firstSeen: tg.first, lastSeen: tg.last, ...affected(), bases: [...tg.bases],
          });
        }
      }
      const quiet = medianOf(tg.basePps, tg.baseN) < cfg.minPps / 10;
      if (tg.floodBins === 0 && tg.reflBins === 0 && Number.isFinite(limit) && limit - tg.last > RING * cfg.binMs * 4 && quiet) { targets.delete(id); isTarget[id] = 0; byId[id] = undefined; }
    }
    return out;
  }

  return { ingest, flush, stats: () => ({ targets: targets.size, evictedTargets: evicted, admissionBytes: isTarget.byteLength + admitCount.byteLength }), config: cfg };
}

/** The DDoS detector. */
export type DdosDetector = ReturnType<typeof createDdosDetector>;
