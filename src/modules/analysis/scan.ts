/** @module Scanning: horizontal (one source, many destinations on one port) and vertical (one source, many ports of one destination), by rate thresholds on unanswered probes. */
import type { AnalysisBatch, HostTable } from './batch.js';
import { KeyIndex, PREFETCH_ROWS, hllAdd, hllCount, inChunks } from './sketch.js';
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
  /** Keys held at once per direction (oldest evicted first). */
  maxKeys: number;
  /** Cap on the distinct targets a finding reports per key (counts past 64 targets are HyperLogLog estimates). */
  maxTargetsPerKey: number;
}

/** Defaults: see docs/detection.md#scanning. */
export const DEFAULT_SCAN_CONFIG: ScanConfig = {
  windowMs: 15 * 60_000, minTargets: 10, minUnansweredShare: 0.3, alertTargets: 10, maxKeys: 200_000, maxTargetsPerKey: 4096,
};

const ICMP_ECHO_REQUEST = 8;

/** Targets held inline per key; a key that contacts more spills to a slab. */
const INLINE = 8;
/** Words (32-bit) per spill slab: an exact set of up to SLAB_EXACT targets, or two 2^HLL_P-register HyperLogLogs. */
const SLAB_WORDS = 128;
const SLAB_EXACT = 64;
const HLL_P = 8;
/** Marks an unanswered target in an inline or slab cell (cells hold target + 1, 0 empty). */
const PROBED = 0x80000000;
/** Key modes: targets inline, in an exact slab set, or counted by the slab's HyperLogLogs. */
const MODE_INLINE = 0;
const MODE_EXACT = 1;
const MODE_HLL = 2;

/**
 * One direction's probing keys (horizontal: source × port; vertical: source × destination) in
 * typed-array pools, in insertion order (a doubly linked list over slots, so eviction takes the oldest
 * and flush visits keys in the order a Map would). Each key holds its first INLINE targets inline;
 * past that its targets move to a 512-byte slab holding an exact set of up to SLAB_EXACT targets,
 * and past that the slab becomes two HyperLogLogs (all targets, unanswered targets: standard error
 * ≈ 6.5 %), so a key costs a constant ~140 bytes plus at most one slab. Hot path: bench/detectors.
 */
class ScanTable {
  readonly index: KeyIndex;
  readonly keyOf: Float64Array;
  readonly src: Uint32Array;
  readonly fixed: Uint32Array;
  readonly proto: Uint8Array;
  readonly first: Float64Array;
  readonly last: Float64Array;
  readonly basisMask: Uint32Array;
  readonly nAll: Uint32Array;
  readonly nProbed: Uint32Array;
  readonly mode: Uint8Array;
  readonly inlineCount: Uint8Array;
  readonly inline: Uint32Array;
  readonly slabOf: Int32Array;
  readonly dirty: Uint8Array;
  /** What the last finding said (level code, unanswered, all), so unchanged keys are not re-sent. */
  readonly emittedLevel: Uint8Array;
  readonly emittedProbed: Uint32Array;
  readonly emittedAll: Uint32Array;
  private readonly prev: Int32Array;
  readonly next: Int32Array;
  head = -1;
  private tail = -1;
  private readonly freeSlots: Int32Array;
  private freeCount: number;
  /** Spill slabs: SLAB_WORDS words each, grown by doubling; `slabBytes` views the same memory as bytes. */
  slabs: Uint32Array;
  slabBytes: Uint8Array;
  private slabCount = 0;
  private readonly freeSlabs: number[] = [];
  private readonly scratch = new Uint32Array(SLAB_WORDS);
  evicted = 0;

  constructor(readonly maxKeys: number) {
    const n = maxKeys;
    this.index = new KeyIndex(n);
    this.keyOf = new Float64Array(n); this.src = new Uint32Array(n); this.fixed = new Uint32Array(n); this.proto = new Uint8Array(n);
    this.first = new Float64Array(n); this.last = new Float64Array(n); this.basisMask = new Uint32Array(n);
    this.nAll = new Uint32Array(n); this.nProbed = new Uint32Array(n); this.mode = new Uint8Array(n);
    this.inlineCount = new Uint8Array(n); this.inline = new Uint32Array(n * INLINE); this.slabOf = new Int32Array(n).fill(-1);
    this.dirty = new Uint8Array(n); this.emittedLevel = new Uint8Array(n); this.emittedProbed = new Uint32Array(n); this.emittedAll = new Uint32Array(n);
    this.prev = new Int32Array(n); this.next = new Int32Array(n);
    this.freeSlots = new Int32Array(n);
    for (let i = 0; i < n; i++) this.freeSlots[i] = n - 1 - i;
    this.freeCount = n;
    this.slabs = new Uint32Array(SLAB_WORDS * 64);
    this.slabBytes = new Uint8Array(this.slabs.buffer);
  }

  get size(): number { return this.index.size; }

  /** The slot of a key, or −1. */
  find(key: number): number { return this.index.get(key); }

  /** A fresh slot for `key` at the end of the order, evicting the oldest key when full. */
  open(key: number, src: number, fixed: number, proto: number, t: number): number {
    if (this.freeCount === 0) { this.remove(this.head); this.evicted++; }
    const s = this.freeSlots[--this.freeCount]!;
    this.index.set(key, s);
    this.keyOf[s] = key; this.src[s] = src; this.fixed[s] = fixed; this.proto[s] = proto;
    this.first[s] = t; this.last[s] = t; this.basisMask[s] = 0;
    this.nAll[s] = 0; this.nProbed[s] = 0; this.mode[s] = MODE_INLINE; this.inlineCount[s] = 0; this.slabOf[s] = -1;
    this.dirty[s] = 0; this.emittedLevel[s] = 0; this.emittedProbed[s] = 0; this.emittedAll[s] = 0;
    this.prev[s] = this.tail; this.next[s] = -1;
    if (this.tail >= 0) this.next[this.tail] = s; else this.head = s;
    this.tail = s;
    return s;
  }

  /** Drops the key in slot `s`, returning its slab. */
  remove(s: number): void {
    this.index.delete(this.keyOf[s]!);
    const p = this.prev[s]!;
    const n = this.next[s]!;
    if (p >= 0) this.next[p] = n; else this.head = n;
    if (n >= 0) this.prev[n] = p; else this.tail = p;
    const slab = this.slabOf[s]!;
    if (slab >= 0) { this.freeSlabs.push(slab); this.slabOf[s] = -1; }
    this.freeSlots[this.freeCount++] = s;
  }

  /** Drops every key. */
  clear(): void {
    this.index.clear();
    for (let i = 0; i < this.maxKeys; i++) this.freeSlots[i] = this.maxKeys - 1 - i;
    this.freeCount = this.maxKeys;
    this.head = -1; this.tail = -1;
    this.slabCount = 0; this.freeSlabs.length = 0;
    this.slabOf.fill(-1);
  }

  /** Records that key slot `s` contacted `target` (< 2^31), unanswered when `probe`. */
  add(s: number, target: number, probe: boolean): void {
    this.dirty[s] = 1;
    const m = this.mode[s]!;
    if (m === MODE_HLL) {
      const off = this.slabOf[s]! * SLAB_WORDS * 4;
      hllAdd(this.slabBytes, off, HLL_P, target);
      if (probe) hllAdd(this.slabBytes, off + (1 << HLL_P), HLL_P, target);
      return;
    }
    const cell = target + 1;
    if (m === MODE_INLINE) {
      const base = s * INLINE;
      const n = this.inlineCount[s]!;
      for (let k = base; k < base + n; k++) {
        const v = this.inline[k]!;
        if ((v & 0x7fffffff) === cell) {
          if (probe && (v & PROBED) === 0) { this.inline[k] = (v | PROBED) >>> 0; this.nProbed[s]!++; }
          return;
        }
      }
      if (n < INLINE) {
        this.inline[base + n] = probe ? (cell | PROBED) >>> 0 : cell;
        this.inlineCount[s] = n + 1;
        this.nAll[s]!++;
        if (probe) this.nProbed[s]!++;
        return;
      }
      // The ninth distinct target: move the inline ones to an exact slab set (they stay inline as a sample).
      const slab = this.allocSlab();
      this.slabOf[s] = slab;
      this.mode[s] = MODE_EXACT;
      for (let k = base; k < base + INLINE; k++) this.slabInsert(slab, this.inline[k]!);
    }
    const slab = this.slabOf[s]!;
    const at = this.slabFind(slab, cell);
    const slabs = this.slabs;
    if (slabs[at] !== 0) {
      const v = slabs[at]!;
      if (probe && (v & PROBED) === 0) { slabs[at] = (v | PROBED) >>> 0; this.nProbed[s]!++; }
      return;
    }
    if (this.nAll[s]! < SLAB_EXACT) {
      slabs[at] = probe ? (cell | PROBED) >>> 0 : cell;
      this.nAll[s]!++;
      if (probe) this.nProbed[s]!++;
      return;
    }
    // Past SLAB_EXACT targets: count by HyperLogLog from here on, seeded with the exact set.
    const base = slab * SLAB_WORDS;
    this.scratch.set(slabs.subarray(base, base + SLAB_WORDS));
    slabs.fill(0, base, base + SLAB_WORDS);
    this.mode[s] = MODE_HLL;
    for (let k = 0; k < SLAB_WORDS; k++) {
      const v = this.scratch[k]!;
      if (v !== 0) this.add(s, (v & 0x7fffffff) - 1, (v & PROBED) !== 0);
    }
    this.add(s, target, probe);
  }

  /** Distinct targets of slot `s` (estimated once past SLAB_EXACT). */
  countAll(s: number): number {
    return this.mode[s] === MODE_HLL ? Math.max(SLAB_EXACT, hllCount(this.slabBytes, this.slabOf[s]! * SLAB_WORDS * 4, HLL_P)) : this.nAll[s]!;
  }

  /** Distinct unanswered targets of slot `s` (estimated once past SLAB_EXACT targets). */
  countProbed(s: number): number {
    if (this.mode[s] !== MODE_HLL) return this.nProbed[s]!;
    return Math.max(this.nProbed[s]!, hllCount(this.slabBytes, this.slabOf[s]! * SLAB_WORDS * 4 + (1 << HLL_P), HLL_P));
  }

  /** Unanswered targets known by value, ascending (all of them until the key passes SLAB_EXACT targets, then the inline sample). */
  probedSample(s: number, max: number): number[] {
    const out: number[] = [];
    if (this.mode[s] === MODE_EXACT) {
      const base = this.slabOf[s]! * SLAB_WORDS;
      for (let k = base; k < base + SLAB_WORDS; k++) { const v = this.slabs[k]!; if ((v & PROBED) !== 0) out.push((v & 0x7fffffff) - 1); }
    } else {
      for (let k = s * INLINE; k < s * INLINE + this.inlineCount[s]!; k++) { const v = this.inline[k]!; if ((v & PROBED) !== 0) out.push((v & 0x7fffffff) - 1); }
    }
    return out.sort((a, b) => a - b).slice(0, max);
  }

  /** Bytes held by the pools. */
  get bytes(): number {
    return this.index.bytes + this.maxKeys * (8 + 4 + 4 + 1 + 8 + 8 + 4 + 4 + 4 + 1 + 1 + INLINE * 4 + 4 + 1 + 1 + 4 + 4 + 4 + 4 + 4) + this.slabs.byteLength;
  }

  /** Slabs in use. */
  get slabsInUse(): number { return this.slabCount - this.freeSlabs.length; }

  private allocSlab(): number {
    const reused = this.freeSlabs.pop();
    const slab = reused ?? this.slabCount++;
    if ((slab + 1) * SLAB_WORDS > this.slabs.length) {
      const grown = new Uint32Array(this.slabs.length * 2);
      grown.set(this.slabs);
      this.slabs = grown;
      this.slabBytes = new Uint8Array(grown.buffer);
    }
    this.slabs.fill(0, slab * SLAB_WORDS, (slab + 1) * SLAB_WORDS);
    return slab;
  }

  /** The word index in `slab` holding `cell` (target + 1), or the empty word where it would go. */
  private slabFind(slab: number, cell: number): number {
    const base = slab * SLAB_WORDS;
    let h = Math.imul(cell, 0x9e3779b1);
    h ^= h >>> 15;
    for (let k = h & (SLAB_WORDS - 1); ; k = (k + 1) & (SLAB_WORDS - 1)) {
      const v = this.slabs[base + k]!;
      if (v === 0 || (v & 0x7fffffff) === cell) return base + k;
    }
  }

  private slabInsert(slab: number, v: number): void {
    this.slabs[this.slabFind(slab, v & 0x7fffffff)] = v;
  }
}

/** True when a flow is an unanswered probe: TCP SYN without ACK, or an ICMP echo request (whose answer is unknown here). */
function isProbe(proto: number, flags: number, dstPort: number): boolean {
  if (proto === 6) return (flags & 0x02) !== 0 && (flags & 0x10) === 0;
  if (proto === 1 || proto === 58) return dstPort >>> 8 === ICMP_ECHO_REQUEST || dstPort >>> 8 === 128;
  return false;
}

/**
 * True for a flow the scan detector reads (TCP with SYN, or an ICMP echo request); it skips every other flow
 * (the `continue`s of `ingestRows` and `prefetch`), so a cluster's edge may leave the others out of what it
 * sends to scan workers without changing a finding.
 */
export function scanReadsFlow(proto: number, flags: number, dstPort: number): boolean {
  if (proto === 6) return (flags & 0x02) !== 0;
  return (proto === 1 || proto === 58) && isProbe(proto, flags, dstPort);
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
  if (!(Number.isInteger(cfg.maxKeys) && cfg.maxKeys >= 1)) throw new RangeError(`scan.maxKeys must be a positive integer, got ${cfg.maxKeys}`);
  const horizontal = new ScanTable(cfg.maxKeys);
  const vertical = new ScanTable(cfg.maxKeys);
  const basisNames: string[] = [];
  let generation = hosts.generation;
  const touched = new Uint32Array(1); // what the prefetch pass read, stored so the reads are not optimized away
  const atHorizontal = new Int32Array(PREFETCH_ROWS); // the prefetch pass's places, one chunk's worth
  const atVertical = new Int32Array(PREFETCH_ROWS);

  /** The slot of `key` found at `s` (−1: absent), opened (or restarted once its window has passed) at flow time `t`. */
  function touch(table: ScanTable, s: number, key: number, src: number, fixed: number, proto: number, t: number): number {
    if (s >= 0 && t - table.first[s]! > cfg.windowMs && t > table.last[s]!) {
      table.remove(s);
      s = -1;
    }
    if (s < 0) return table.open(key, src, fixed, proto, t);
    if (t < table.first[s]!) table.first[s] = t;
    if (t > table.last[s]!) table.last[s] = t;
    return s;
  }

  /**
   * Records a batch: per flow at most one key-index lookup per direction and, for keys already probing, an inline
   * or slab update; no allocation. Hot loop: see bench/detectors.bench.ts.
   */
  function ingest(b: AnalysisBatch): void {
    if (hosts.generation !== generation) { horizontal.clear(); vertical.clear(); generation = hosts.generation; }
    // Bases of this batch as bits of the detector's basis list (the first 32 names; later ones are not recorded).
    const basisBits = new Uint32Array(b.bases.length);
    for (let k = 0; k < b.bases.length; k++) {
      let i = basisNames.indexOf(b.bases[k]!);
      if (i < 0 && basisNames.length < 32) { i = basisNames.length; basisNames.push(b.bases[k]!); }
      basisBits[k] = i < 0 ? 0 : (1 << i) >>> 0;
    }
    inChunks(b.length, (from, to) => prefetch(b, from, to), (from, to) => ingestRows(b, from, to, basisBits));
  }

  /**
   * First pass over rows [from, to): touches the index cells of both keys of every flow that opens
   * something, changing nothing, so their cache misses overlap instead of stalling one flow at a time
   * (bench/detectors).
   */
  function prefetch(b: AnalysisBatch, from: number, to: number): void {
    // The places first, then one tight loop per index (see KeyIndex.place).
    let nh = 0, nv = 0;
    for (let i = from; i < to; i++) {
      const proto = b.proto[i]!;
      const dp = b.dstPort[i]!;
      if (proto === 6) {
        if ((b.tcpFlags[i]! & 0x02) === 0) continue;
        const src = b.src[i]!;
        atHorizontal[nh++] = horizontal.index.place(src * 262144 + dp * 4);
        atVertical[nv++] = vertical.index.place(src * 2 ** 26 + b.dst[i]!);
      } else if ((proto === 1 || proto === 58) && isProbe(proto, b.tcpFlags[i]!, dp)) {
        atHorizontal[nh++] = horizontal.index.place(b.src[i]! * 262144 + (dp >>> 8) * 4 + 2);
      }
    }
    touched[0] = horizontal.index.touchAll(atHorizontal, nh) ^ vertical.index.touchAll(atVertical, nv);
  }

  function ingestRows(b: AnalysisBatch, from: number, to: number, basisBits: Uint32Array): void {
    for (let i = from; i < to; i++) {
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
      const bit = basisBits[b.basis[i]!] ?? 0;
      const port = proto === 6 ? dp : dp >>> 8;
      const pcode = proto === 6 ? 0 : 2;
      // State starts at a key's first probe: answered contacts only add to keys already probing, so
      // ordinary traffic costs an index lookup and no state (bench/detectors.bench.ts).
      const hk = src * 262144 + port * 4 + pcode;
      const hs = horizontal.find(hk);
      if (probe || hs >= 0) {
        const s = touch(horizontal, hs, hk, src, port, proto, t);
        horizontal.add(s, dst, probe);
        horizontal.basisMask[s] = (horizontal.basisMask[s]! | bit) >>> 0;
      }
      if (proto === 6) {
        const vk = src * 2 ** 26 + dst;
        const vs = vertical.find(vk);
        if (probe || vs >= 0) {
          const s = touch(vertical, vs, vk, src, dst, proto, t);
          vertical.add(s, dp, probe);
          vertical.basisMask[s] = (vertical.basisMask[s]! | bit) >>> 0;
        }
      }
    }
  }

  function judge(n: number, all: number): { level: FindingLevel; score: number; share: number } | undefined {
    const share = all > 0 ? n / all : 0;
    if (n < cfg.minTargets || share < cfg.minUnansweredShare) return undefined;
    const level: FindingLevel = n >= cfg.alertTargets ? 'alert' : 'suspect';
    const score = clamp01(0.5 * share + 0.5 * Math.min(1, Math.log10(n) / 2));
    return { level, score, share };
  }

  function subjectOf(src: number): FindingUpdate['subject'] {
    return hosts.isDomestic(src) ? { kind: 'pseudonym', value: hosts.label(src) } : { kind: 'address', value: hosts.label(src) };
  }

  function basesOf(mask: number): string[] {
    const out: string[] = [];
    for (let k = 0; k < basisNames.length; k++) if ((mask & (1 << k)) !== 0) out.push(basisNames[k]!);
    return out;
  }

  /** Returns findings for keys over threshold whose evidence changed since the last flush; drops expired keys. */
  function flush(nowMs: number): FindingUpdate[] {
    const out: FindingUpdate[] = [];
    for (const [kind, table] of [['scan-horizontal', horizontal], ['scan-vertical', vertical]] as const) {
      for (let s = table.head; s >= 0;) {
        const next = table.next[s]!;
        if (table.dirty[s] === 1) {
          table.dirty[s] = 0;
          const approximate = table.mode[s] === MODE_HLL;
          const n = Math.min(cfg.maxTargetsPerKey, table.countProbed(s));
          const all = Math.max(n, Math.min(cfg.maxTargetsPerKey, table.countAll(s)));
          const j = judge(n, all);
          const levelCode = j === undefined ? 0 : j.level === 'alert' ? 2 : 1;
          if (j !== undefined && (levelCode !== table.emittedLevel[s] || n !== table.emittedProbed[s] || all !== table.emittedAll[s])) {
            table.emittedLevel[s] = levelCode; table.emittedProbed[s] = n; table.emittedAll[s] = all;
            const isH = kind === 'scan-horizontal';
            const src = table.src[s]!;
            const fixed = table.fixed[s]!;
            const first = table.first[s]!;
            const last = table.last[s]!;
            const srcDomestic = hosts.isDomestic(src);
            out.push({
              kind, subject: subjectOf(src), level: j.level, score: j.score,
              scoreDetail: { method: '0.5·unanswered share + 0.5·min(1, log10(unanswered targets)/2)', components: { unansweredTargets: n, targets: all, share: j.share } },
              evidence: {
                proto: table.proto[s] === 6 ? 'tcp' : 'icmp',
                ...(isH ? { port: fixed, distinctDestinations: all, unansweredDestinations: n }
                  : { destination: hosts.label(fixed), distinctPorts: all, unansweredPorts: n, portsSample: table.probedSample(s, 50) }),
                ...(approximate ? { countsEstimated: true } : {}),
                window: { from: new Date(first).toISOString(), to: new Date(last).toISOString() },
                ratePerMin: n / Math.max(1, (last - first) / 60_000),
              },
              firstSeen: first, lastSeen: last,
              hosts: srcDomestic ? [hosts.label(src)] : (!isH && hosts.isDomestic(fixed) ? [hosts.label(fixed)] : []),
              hostCount: srcDomestic || (!isH && hosts.isDomestic(fixed)) ? 1 : 0,
              bases: basesOf(table.basisMask[s]!),
            });
          }
        }
        if (nowMs - table.last[s]! > cfg.windowMs) table.remove(s);
        s = next;
      }
    }
    return out;
  }

  return {
    ingest, flush,
    stats: () => ({
      horizontalKeys: horizontal.size, verticalKeys: vertical.size, evictedKeys: horizontal.evicted + vertical.evicted,
      spilledKeys: horizontal.slabsInUse + vertical.slabsInUse, bytes: horizontal.bytes + vertical.bytes,
    }),
    config: cfg,
  };
}

/** The scan detector. */
export type ScanDetector = ReturnType<typeof createScanDetector>;
