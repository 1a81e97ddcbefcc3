/** @module The analysis input contract: minimized flows as a struct of arrays with interned hosts, and the adapter from FlowBatch + a classifier. */
import { ADDR_BYTES, formatAddress, type FlowBatch } from '#modules/collection/index.js';

/** A host as analysis may see it: a foreign address, or a domestic host only by its keyed pseudonym. */
export type AnalysisHost = { kind: 'foreign'; address: string } | { kind: 'domestic'; pseudonym: string };

/**
 * Interns hosts to small integer ids shared by every batch of one analysis run, so detectors key their
 * state on numbers. Ids are dense from 0; `maxHosts` bounds memory (the table resets when full, and
 * detectors keep their own copies of the hosts they report).
 * @see docs/detection.md#input
 */
export class HostTable {
  private readonly byKey = new Map<string, number>();
  private hosts: AnalysisHost[] = [];
  /** Bumped whenever the table is cleared, so detectors can drop ids of an older generation. */
  generation = 0;
  constructor(readonly maxHosts = 4_000_000) {}

  /** The id of a host, interning it when new. */
  intern(host: AnalysisHost): number {
    const key = host.kind === 'foreign' ? host.address : `~${host.pseudonym}`;
    return this.internKey(key, host);
  }

  /** Interns under a caller-made key (hot path: avoids building the host object for known keys). */
  internKey(key: string, host: AnalysisHost | (() => AnalysisHost)): number {
    const found = this.byKey.get(key);
    if (found !== undefined) return found;
    if (this.hosts.length >= this.maxHosts) this.clear();
    const id = this.hosts.length;
    this.hosts.push(typeof host === 'function' ? host() : host);
    this.byKey.set(key, id);
    return id;
  }

  /** The host of an id; throws for an unknown id (a detector bug). */
  get(id: number): AnalysisHost {
    const h = this.hosts[id];
    if (h === undefined) throw new RangeError(`unknown host id ${id}`);
    return h;
  }

  /** True when the id names a domestic host. */
  isDomestic(id: number): boolean {
    return this.hosts[id]?.kind === 'domestic';
  }

  /** How to show a host in a finding: the foreign address or the pseudonym. */
  label(id: number): string {
    const h = this.get(id);
    return h.kind === 'foreign' ? h.address : h.pseudonym;
  }

  /** Number of interned hosts. */
  get size(): number {
    return this.hosts.length;
  }

  private clear(): void {
    this.byKey.clear();
    this.hosts = [];
    this.generation++;
  }
}

/**
 * Minimized flows, column by column (row `i` of every array is one flow). `src`/`dst` are HostTable ids;
 * `basis` indexes `bases` (the legal basis each flow was kept under). Bytes and packets are already scaled
 * by `samplingRate`, as in FlowBatch.
 * @see docs/detection.md#input
 */
export interface AnalysisBatch {
  length: number;
  start: Float64Array;
  end: Float64Array;
  src: Uint32Array;
  dst: Uint32Array;
  srcPort: Uint16Array;
  dstPort: Uint16Array;
  proto: Uint8Array;
  tcpFlags: Uint8Array;
  bytes: Float64Array;
  packets: Float64Array;
  samplingRate: Uint32Array;
  basis: Uint16Array;
  bases: string[];
  hosts: HostTable;
}

/** Allocates an empty AnalysisBatch. */
export function createAnalysisBatch(capacity: number, hosts: HostTable): AnalysisBatch {
  return {
    length: 0,
    start: new Float64Array(capacity), end: new Float64Array(capacity),
    src: new Uint32Array(capacity), dst: new Uint32Array(capacity),
    srcPort: new Uint16Array(capacity), dstPort: new Uint16Array(capacity),
    proto: new Uint8Array(capacity), tcpFlags: new Uint8Array(capacity),
    bytes: new Float64Array(capacity), packets: new Float64Array(capacity),
    samplingRate: new Uint32Array(capacity), basis: new Uint16Array(capacity),
    bases: [], hosts,
  };
}

/** Where an endpoint is, as the adapter's classifier says: `drop` for special or unknown addresses. */
export type EndpointClass = 'domestic' | 'foreign' | 'drop';

/**
 * What the adapter needs from selection: where a 16-byte address slot is, the keyed pseudonym of a
 * domestic slot, and the basis covering a kept flow. Selection's minimized output replaces this when
 * it lands; until then the evaluation passes a classifier of its own (docs/detection.md#input).
 */
export interface FlowClassifier {
  classify(slots: Uint8Array, offset: number): EndpointClass;
  pseudonym(slots: Uint8Array, offset: number): string;
  /** The basis covering a flow (its endpoints already classified); undefined drops the flow. */
  basis(batch: FlowBatch, row: number, srcClass: EndpointClass, dstClass: EndpointClass): string | undefined;
}

/** Counts of what the adapter dropped. */
export interface AdaptStats {
  kept: number;
  domesticPair: number;
  special: number;
  noBasis: number;
}

function slotKey(slots: Uint8Array, off: number): number | string {
  // IPv4-mapped slots key as a number (the hot, common case); others as hex text.
  let mapped = slots[off + 10] === 0xff && slots[off + 11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) if (slots[off + i] !== 0) mapped = false;
  if (mapped) return ((slots[off + 12]! << 24) | (slots[off + 13]! << 16) | (slots[off + 14]! << 8) | slots[off + 15]!) >>> 0;
  let s = '';
  for (let i = 0; i < 16; i++) s += slots[off + i]!.toString(16).padStart(2, '0');
  return s;
}

/**
 * Converts a FlowBatch into an AnalysisBatch: drops domestic↔domestic and special flows, replaces
 * domestic addresses by pseudonyms (the raw address never enters analysis state) and tags each flow
 * with its basis. A per-run cache maps slot keys to host ids so the classifier runs once per address.
 * Hot loop: see bench/pipeline.bench.ts.
 * @see docs/detection.md#input
 */
export function adaptFlowBatch(batch: FlowBatch, classifier: FlowClassifier, out: AnalysisBatch, cache: Map<number | string, number>, stats?: AdaptStats): AnalysisBatch {
  const hosts = out.hosts;
  if (out.start.length < batch.length) throw new RangeError('output batch is smaller than the input batch');
  if (cache.size > hosts.maxHosts) cache.clear();
  const generation = hosts.generation;
  let n = 0;
  const basisIndex = new Map<string, number>();
  out.bases.length = 0;
  const resolve = (slots: Uint8Array, off: number): number => {
    const key = slotKey(slots, off);
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    const cls = classifier.classify(slots, off);
    let id: number;
    if (cls === 'drop') id = -1;
    else if (cls === 'domestic') {
      const p = classifier.pseudonym(slots, off);
      id = hosts.internKey(`~${p}`, { kind: 'domestic', pseudonym: p });
    } else id = hosts.internKey(formatAddress(slots, off), () => ({ kind: 'foreign', address: formatAddress(slots, off) }));
    // Encode the class in the cached value: -1 drop, otherwise id*2 + (domestic ? 1 : 0).
    const v = id < 0 ? -1 : id * 2 + (cls === 'domestic' ? 1 : 0);
    cache.set(key, v);
    return v;
  };
  for (let i = 0; i < batch.length; i++) {
    const s = resolve(batch.srcAddr, i * ADDR_BYTES);
    const d = resolve(batch.dstAddr, i * ADDR_BYTES);
    if (s < 0 || d < 0) { if (stats) stats.special++; continue; }
    const sDom = (s & 1) === 1;
    const dDom = (d & 1) === 1;
    if (sDom && dDom) { if (stats) stats.domesticPair++; continue; }
    const b = classifier.basis(batch, i, sDom ? 'domestic' : 'foreign', dDom ? 'domestic' : 'foreign');
    if (b === undefined) { if (stats) stats.noBasis++; continue; }
    let bi = basisIndex.get(b);
    if (bi === undefined) { bi = out.bases.length; out.bases.push(b); basisIndex.set(b, bi); }
    out.start[n] = batch.start[i]!;
    out.end[n] = batch.end[i]!;
    out.src[n] = s >>> 1;
    out.dst[n] = d >>> 1;
    out.srcPort[n] = batch.srcPort[i]!;
    out.dstPort[n] = batch.dstPort[i]!;
    out.proto[n] = batch.proto[i]!;
    out.tcpFlags[n] = batch.tcpFlags[i]!;
    out.bytes[n] = batch.bytes[i]!;
    out.packets[n] = batch.packets[i]!;
    out.samplingRate[n] = batch.samplingRate[i]!;
    out.basis[n] = bi;
    n++;
    if (hosts.generation !== generation) { cache.clear(); }
  }
  out.length = n;
  if (stats) stats.kept += n;
  return out;
}

/** Parses an IPv4 CIDR list into [start, end] pairs (for the evaluation's and tests' classifiers). */
export function parseV4Cidrs(cidrs: readonly string[]): Array<[number, number]> {
  return cidrs.map((c) => {
    const [a, l] = c.split('/');
    const p = (a ?? '').split('.').map(Number);
    const len = Number(l ?? 32);
    const base = (((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0);
    const size = 2 ** (32 - len);
    const start = Math.floor(base / size) * size;
    return [start, start + size - 1];
  });
}
