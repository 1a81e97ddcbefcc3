/** @module Scanning: horizontal (one source, many destinations on one port) and vertical (one source, many ports of one destination), by rate thresholds on unanswered probes. */
import type { AnalysisBatch, HostTable } from './batch.js';
import { clamp01 } from './stats.js';
import type { FindingLevel, FindingUpdate } from './schema.js';

/** Parameters of the scan detector (docs/detection.md#scanning). */
export interface ScanConfig {
  /** Window (ms of flow time) over which distinct targets are counted; state older than this restarts. */
  windowMs: number;
  /** Distinct unanswered targets (hosts for horizontal, ports for vertical) from which a scan is reported. */
  minTargets: number;
  /** Unanswered share of all distinct targets on that key from which a scan is reported. */
  minUnansweredShare: number;
  /** Distinct unanswered targets from which a scan is an alert rather than a suspect. */
  alertTargets: number;
  /** Keys held at once (oldest evicted first). */
  maxKeys: number;
  /** Distinct targets remembered per key (the count stops growing there: enough to decide). */
  maxTargetsPerKey: number;
}

/** Defaults: see docs/detection.md#scanning. */
export const DEFAULT_SCAN_CONFIG: ScanConfig = {
  windowMs: 15 * 60_000, minTargets: 10, minUnansweredShare: 0.3, alertTargets: 10, maxKeys: 200_000, maxTargetsPerKey: 4096,
};

interface KeyState {
  src: number;
  /** Port (horizontal) or destination host id (vertical). */
  fixed: number;
  proto: number;
  first: number;
  last: number;
  all: Set<number>;
  unanswered: Set<number>;
  bases: Set<string>;
  emitted: string;
}

const ICMP_ECHO_REQUEST = 8;

/** Cells of each presence filter: 2^21 counters (4 MiB) keep false positives near 10 % at 200,000 keys. */
const PRESENCE_CELLS = 1 << 21;

/** The presence-filter cell of a numeric key (< 2^53): both 32-bit halves mixed. */
function presenceCell(key: number): number {
  const hi = Math.floor(key / 4294967296);
  let h = Math.imul((key - hi * 4294967296) ^ 0x9e3779b9, 0x85ebca6b) ^ hi;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) & (PRESENCE_CELLS - 1);
}

/** True when a flow is an unanswered probe: TCP SYN without ACK, or an ICMP echo request (whose answer is unknown here). */
function isProbe(proto: number, flags: number, dstPort: number): boolean {
  if (proto === 6) return (flags & 0x02) !== 0 && (flags & 0x10) === 0;
  if (proto === 1 || proto === 58) return dstPort >>> 8 === ICMP_ECHO_REQUEST || dstPort >>> 8 === 128;
  return false;
}

/**
 * Creates the scan detector. A probe is a TCP flow with SYN but no ACK (the handshake never completed)
 * or an ICMP echo request; a key is reported once it has probed `minTargets` distinct targets that
 * stayed unanswered, making up at least `minUnansweredShare` of all it contacted on that key within
 * the window (the intuition of Jung et al.'s threshold random walk, as a rate threshold).
 * @see https://doi.org/10.1109/SECPRI.2004.1301325 (Jung, Paxson, Berger, Balakrishnan 2004)
 */
export function createScanDetector(hosts: HostTable, partial: Partial<ScanConfig> = {}) {
  const cfg: ScanConfig = { ...DEFAULT_SCAN_CONFIG, ...partial };
  const horizontal = new Map<number, KeyState>();
  const vertical = new Map<number, KeyState>();
  // Counting presence filters over each map's keys: most flows are answered contacts of keys that are
  // not probing, and a zero cell proves the key absent without a Map lookup on a boxed number key
  // (bench/pipeline). Every insertion and deletion below goes through `enter`/`leave`.
  const hPresent = new Uint16Array(PRESENCE_CELLS);
  const vPresent = new Uint16Array(PRESENCE_CELLS);
  let evicted = 0;
  let generation = hosts.generation;

  function enter(map: Map<number, KeyState>, key: number, s: KeyState): void {
    map.set(key, s);
    const f = map === horizontal ? hPresent : vPresent;
    const c = presenceCell(key);
    f[c] = f[c]! + 1;
  }

  function leave(map: Map<number, KeyState>, key: number): void {
    if (!map.delete(key)) return;
    const f = map === horizontal ? hPresent : vPresent;
    const c = presenceCell(key);
    f[c] = f[c]! - 1;
  }

  function touch(map: Map<number, KeyState>, key: number, src: number, fixed: number, proto: number, t: number): KeyState {
    let s = map.get(key);
    if (s !== undefined && t - s.first > cfg.windowMs && t > s.last) {
      leave(map, key);
      s = undefined;
    }
    if (s === undefined) {
      if (map.size >= cfg.maxKeys) {
        const oldest = map.keys().next().value;
        if (oldest !== undefined) { leave(map, oldest); evicted++; }
      }
      s = { src, fixed, proto, first: t, last: t, all: new Set(), unanswered: new Set(), bases: new Set(), emitted: '' };
      enter(map, key, s);
    }
    if (t < s.first) s.first = t;
    if (t > s.last) s.last = t;
    return s;
  }

  function add(s: KeyState, target: number, probe: boolean, basis: string | undefined): void {
    if (s.all.size < cfg.maxTargetsPerKey) s.all.add(target);
    if (probe && s.unanswered.size < cfg.maxTargetsPerKey) s.unanswered.add(target);
    if (basis !== undefined && s.bases.size < 16) s.bases.add(basis);
  }

  /** Records a batch. Hot loop: see bench/pipeline.bench.ts. */
  function ingest(b: AnalysisBatch): void {
    if (hosts.generation !== generation) { horizontal.clear(); vertical.clear(); hPresent.fill(0); vPresent.fill(0); generation = hosts.generation; }
    for (let i = 0; i < b.length; i++) {
      const proto = b.proto[i]!;
      const flags = b.tcpFlags[i]!;
      const dp = b.dstPort[i]!;
      const probe = isProbe(proto, flags, dp);
      // Only flows that open something count: TCP with SYN, ICMP echo requests. Answers and UDP are skipped.
      if (proto === 6) { if ((flags & 0x02) === 0) continue; }
      else if (!((proto === 1 || proto === 58) && probe)) continue;
      const src = b.src[i]!;
      const dst = b.dst[i]!;
      const t = b.start[i]!;
      const basis = b.bases[b.basis[i]!];
      const port = proto === 6 ? dp : dp >>> 8;
      const pcode = proto === 6 ? 0 : 2;
      // State starts at a key's first probe: answered contacts only add to keys already probing, so
      // ordinary traffic costs a map lookup and no allocation (bench/pipeline.bench.ts).
      const hk = src * 262144 + port * 4 + pcode;
      if (probe || (hPresent[presenceCell(hk)] !== 0 && horizontal.has(hk))) add(touch(horizontal, hk, src, port, proto, t), dst, probe, basis);
      if (proto === 6) {
        const vk = src * 2 ** 26 + dst;
        if (probe || (vPresent[presenceCell(vk)] !== 0 && vertical.has(vk))) add(touch(vertical, vk, src, dst, proto, t), dp, probe, basis);
      }
    }
  }

  function judge(s: KeyState): { level: FindingLevel; score: number; share: number } | undefined {
    const n = s.unanswered.size;
    const share = s.all.size > 0 ? n / s.all.size : 0;
    if (n < cfg.minTargets || share < cfg.minUnansweredShare) return undefined;
    const level: FindingLevel = n >= cfg.alertTargets ? 'alert' : 'suspect';
    const score = clamp01(0.5 * share + 0.5 * Math.min(1, Math.log10(n) / 2));
    return { level, score, share };
  }

  function subjectOf(src: number): FindingUpdate['subject'] {
    return hosts.isDomestic(src) ? { kind: 'pseudonym', value: hosts.label(src) } : { kind: 'address', value: hosts.label(src) };
  }

  /** Returns findings for keys over threshold whose evidence changed since the last flush; drops expired keys. */
  function flush(nowMs: number): FindingUpdate[] {
    const out: FindingUpdate[] = [];
    for (const [kind, map] of [['scan-horizontal', horizontal], ['scan-vertical', vertical]] as const) {
      for (const [key, s] of map) {
        const j = judge(s);
        if (j !== undefined) {
          const sig = `${j.level}:${s.unanswered.size}:${s.all.size}`;
          if (sig !== s.emitted) {
            s.emitted = sig;
            const isH = kind === 'scan-horizontal';
            const srcDomestic = hosts.isDomestic(s.src);
            out.push({
              kind, subject: subjectOf(s.src), level: j.level, score: j.score,
              scoreDetail: { method: '0.5·unanswered share + 0.5·min(1, log10(unanswered targets)/2)', components: { unansweredTargets: s.unanswered.size, targets: s.all.size, share: j.share } },
              evidence: {
                proto: s.proto === 6 ? 'tcp' : 'icmp',
                ...(isH ? { port: s.fixed, distinctDestinations: s.all.size, unansweredDestinations: s.unanswered.size }
                  : { destination: hosts.label(s.fixed), distinctPorts: s.all.size, unansweredPorts: s.unanswered.size, portsSample: [...s.unanswered].slice(0, 50).sort((a, b) => a - b) }),
                window: { from: new Date(s.first).toISOString(), to: new Date(s.last).toISOString() },
                ratePerMin: s.unanswered.size / Math.max(1, (s.last - s.first) / 60_000),
              },
              firstSeen: s.first, lastSeen: s.last,
              hosts: srcDomestic ? [hosts.label(s.src)] : (!isH && hosts.isDomestic(s.fixed) ? [hosts.label(s.fixed)] : []),
              hostCount: srcDomestic || (!isH && hosts.isDomestic(s.fixed)) ? 1 : 0,
              bases: [...s.bases],
            });
          }
        }
        if (nowMs - s.last > cfg.windowMs) leave(map, key);
      }
    }
    return out;
  }

  return { ingest, flush, stats: () => ({ horizontalKeys: horizontal.size, verticalKeys: vertical.size, evictedKeys: evicted }), config: cfg };
}

/** The scan detector. */
export type ScanDetector = ReturnType<typeof createScanDetector>;
