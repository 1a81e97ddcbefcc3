/** @module The analysis input contract: minimized flows as a struct of arrays with interned hosts (the pipeline's adaptSelectedBatch fills it). */
import { addressView, formatAddress, writeAddress } from '#modules/collection/index.js';

/** A host as analysis may see it: a foreign address, or a domestic host only by its keyed pseudonym. */
export type AnalysisHost = { kind: 'foreign'; address: string } | { kind: 'domestic'; pseudonym: string };

/** What a detector thread needs to read a HostTable interned elsewhere: its per-id arrays in shared memory. */
export interface HostTableShare {
  buffer: SharedArrayBuffer;
  maxHosts: number;
}

/** Bytes a host takes in a shared table's per-id arrays: 4 slot words, the domestic and textual flags. */
const SHARED_HOST_BYTES = 16 + 1 + 1;

/**
 * Interns hosts to small integer ids shared by every batch of one analysis run, so detectors key their
 * state on numbers. A host is keyed by its 16 address-slot bytes (a foreign address, or a domestic
 * host's pseudonym bytes as selection writes them) in an open-addressed hash table over typed arrays:
 * no string is made until a finding names the host (`label`). Hosts known only by text (the
 * evaluation's and tests' pseudonyms) go through a small string map instead. Ids are dense from 0;
 * `maxHosts` bounds memory (the table resets when full, bumping `generation`, and detectors drop state
 * of an older generation). About 30 bytes a host. A `shared` table keeps its per-id arrays in one
 * SharedArrayBuffer (reserved for `maxHosts`; pages are touched as ids are used) so detector threads
 * read ids interned by the pipeline's thread (`attach`). Hot path: bench/pipeline.
 * @see docs/detection.md#input
 */
export class HostTable {
  /** Per id: its 4 slot words, their hash, whether it is domestic and whether its label is text. */
  private words: Uint32Array;
  private hashes: Int32Array;
  private domestic: Uint8Array;
  private textual: Uint8Array;
  private readonly texts = new Map<number, string>();
  private readonly byText = new Map<string, number>();
  /** Open-addressed index over slot-keyed ids: id + 1 per cell, 0 empty; linear probing, load ≤ 1/2. */
  private index: Int32Array;
  private count = 0;
  private readonly scratch = new Uint8Array(16);
  private readonly sharedBuffer: SharedArrayBuffer | undefined;
  /** A reader (`attach`) only looks ids up; the thread that interns tells it the count and generation (`sync`). */
  private readonly reader: boolean;
  /** Bumped whenever the table is cleared, so detectors can drop ids of an older generation. */
  generation = 0;

  constructor(readonly maxHosts = 4_000_000, shared: boolean | HostTableShare = false) {
    const initial = shared === false ? Math.max(16, Math.min(1 << 14, maxHosts)) : maxHosts;
    this.reader = typeof shared === 'object';
    if (shared === false) {
      this.words = new Uint32Array(initial * 4);
      this.domestic = new Uint8Array(initial);
      this.textual = new Uint8Array(initial);
    } else {
      const buffer = typeof shared === 'object' ? shared.buffer : new SharedArrayBuffer(Math.max(1, maxHosts) * SHARED_HOST_BYTES);
      this.sharedBuffer = buffer;
      this.words = new Uint32Array(buffer, 0, maxHosts * 4);
      this.domestic = new Uint8Array(buffer, maxHosts * 16, maxHosts);
      this.textual = new Uint8Array(buffer, maxHosts * 17, maxHosts);
    }
    this.hashes = new Int32Array(this.reader ? 0 : Math.min(initial, 1 << 14));
    // Linear probing masks with `length - 1`: the index must be a power of two whatever maxHosts is.
    this.index = new Int32Array(this.reader ? 1 : 2 ** Math.ceil(Math.log2(Math.max(16, Math.min(1 << 14, maxHosts)) * 2)));
  }

  /** A reader over a shared table interned in another thread: ids, labels and flags, no interning. */
  static attach(share: HostTableShare): HostTable {
    return new HostTable(share.maxHosts, share);
  }

  /** The shared memory of a table made with `shared`, for `attach` in another thread. */
  share(): HostTableShare {
    if (this.sharedBuffer === undefined) throw new Error('this host table is not shared');
    return { buffer: this.sharedBuffer, maxHosts: this.maxHosts };
  }

  /** A reader's view: the interning thread's count and generation when it wrote the batch about to be read. */
  sync(count: number, generation: number): void {
    if (!this.reader) throw new Error('only a reader of a shared host table is synced');
    this.count = count;
    this.generation = generation;
  }

  /** The id of a host, interning it when new (a foreign address by its bytes, a pseudonym by its text). */
  intern(host: AnalysisHost): number {
    if (host.kind === 'foreign' && writeAddress(this.scratch, 0, host.address)) return this.internSlot(this.scratch, 0, false);
    const key = host.kind === 'foreign' ? host.address : `~${host.pseudonym}`;
    const found = this.byText.get(key);
    if (found !== undefined) return found;
    const id = this.allocate();
    this.domestic[id] = host.kind === 'domestic' ? 1 : 0;
    this.textual[id] = 1;
    this.texts.set(id, host.kind === 'foreign' ? host.address : host.pseudonym);
    this.byText.set(key, id);
    return id;
  }

  /**
   * The id of the host whose 16 slot bytes sit at `buf[off]` — a foreign address, or a pseudonym when
   * `domestic` — interning it when new. Hot path: bench/pipeline.
   */
  internSlot(buf: Uint8Array, off: number, domestic: boolean): number {
    return this.internHashed(buf, off, domestic, hashSlot(buf, off, domestic));
  }

  /**
   * Reads the index cell of a slot hash (from `hashSlot`) and the words and flag of the host there, changing
   * nothing: a first pass over a batch touches every row's lines so their cache misses overlap, and
   * `internHashed` then finds them cached (bench/pipeline).
   */
  touch(h: number): number {
    const v = this.index[h & (this.index.length - 1)]!;
    return v === 0 ? 0 : this.words[(v - 1) * 4]! ^ this.domestic[v - 1]!;
  }

  /**
   * Reads only the index cell of a slot hash, changing nothing: a tight loop of these over a chunk's
   * hashes keeps many misses in flight, and `touch` then reads each host's words behind a cached cell
   * (bench/pipeline).
   */
  touchCell(h: number): number {
    return this.index[h & (this.index.length - 1)]!;
  }

  /** internSlot with the slot's hash already computed by `hashSlot`. */
  internHashed(buf: Uint8Array, off: number, domestic: boolean, h: number): number {
    return this.internHashedAt(addressView(buf), off, domestic, h);
  }

  /** internHashed over the column's DataView (addressView): the form hot loops use. Hot path: bench/pipeline, bench/ingest. */
  internHashedAt(view: DataView, off: number, domestic: boolean, h: number): number {
    const w0 = view.getUint32(off, false);
    const w1 = view.getUint32(off + 4, false);
    const w2 = view.getUint32(off + 8, false);
    const w3 = view.getUint32(off + 12, false);
    const d = domestic ? 1 : 0;
    const index = this.index;
    const mask = index.length - 1;
    let cell = h & mask;
    for (let v = index[cell]!; v !== 0; v = index[cell]!) {
      const b = (v - 1) * 4;
      const w = this.words;
      if (w[b + 3] === w3 && w[b + 2] === w2 && w[b + 1] === w1 && w[b] === w0 && this.domestic[v - 1] === d) return v - 1;
      cell = (cell + 1) & mask;
    }
    return this.insert(w0, w1, w2, w3, d, h, cell);
  }

  /**
   * internHashed of the slot whose four big-endian words are `words[q … q + 4)` (hashed by `hashWordsAt`): the cluster
   * worker's wire decoder reads them straight from a message, writing no slot. The words are read here, not passed:
   * an unsigned 32-bit argument past 2^31 would be boxed on the heap at every call. Hot path: bench/cluster's worker.
   */
  internWordsAt(words: Uint32Array, q: number, domestic: boolean, h: number): number {
    const w0 = words[q]!, w1 = words[q + 1]!, w2 = words[q + 2]!, w3 = words[q + 3]!;
    const d = domestic ? 1 : 0;
    const index = this.index;
    const mask = index.length - 1;
    let cell = h & mask;
    for (let v = index[cell]!; v !== 0; v = index[cell]!) {
      const b = (v - 1) * 4;
      const w = this.words;
      if (w[b + 3] === w3 && w[b + 2] === w2 && w[b + 1] === w1 && w[b] === w0 && this.domestic[v - 1] === d) return v - 1;
      cell = (cell + 1) & mask;
    }
    return this.insert(w0, w1, w2, w3, d, h, cell);
  }

  /** A new slot-keyed host whose probe for hash `h` ended at the free `cell`: its id. */
  private insert(w0: number, w1: number, w2: number, w3: number, d: number, h: number, cell: number): number {
    const mask = this.index.length - 1;
    const generation = this.generation;
    const id = this.allocate();
    const index = this.index;
    if (this.generation !== generation || index.length - 1 !== mask) {
      // Cleared or regrown while allocating: look for the free cell again.
      const m = index.length - 1;
      cell = h & m;
      while (index[cell] !== 0) cell = (cell + 1) & m;
    }
    const b = id * 4;
    this.words[b] = w0; this.words[b + 1] = w1; this.words[b + 2] = w2; this.words[b + 3] = w3;
    this.hashes[id] = h;
    this.domestic[id] = d;
    this.textual[id] = 0;
    index[cell] = id + 1;
    return id;
  }

  /** The host of an id; throws for an unknown id (a detector bug). Makes strings: not for hot loops. */
  get(id: number): AnalysisHost {
    if (!(id >= 0 && id < this.count)) throw new RangeError(`unknown host id ${id}`);
    const label = this.label(id);
    return this.domestic[id] === 1 ? { kind: 'domestic', pseudonym: label } : { kind: 'foreign', address: label };
  }

  /** True when the id names a domestic host. */
  isDomestic(id: number): boolean {
    return this.domestic[id] === 1;
  }

  /**
   * The IPv4 address of a foreign slot-keyed host as an unsigned 32-bit number, or −1 when it is not
   * one (IPv6, domestic or textual). Lets detectors match addresses without making strings.
   */
  ipv4(id: number): number {
    if (id >= this.count || this.domestic[id] === 1 || this.textual[id] === 1) return -1;
    const b = id * 4;
    return this.words[b] === 0 && this.words[b + 1] === 0 && this.words[b + 2] === 0xffff ? this.words[b + 3]! : -1;
  }

  /** The IPv6 address of a foreign slot-keyed host that is not IPv4-mapped, or undefined. */
  ipv6(id: number): bigint | undefined {
    if (id >= this.count || this.domestic[id] === 1 || this.textual[id] === 1 || this.ipv4(id) >= 0) return undefined;
    const b = id * 4;
    let v = 0n;
    for (let k = 0; k < 4; k++) v = (v << 32n) | BigInt(this.words[b + k]!);
    return v;
  }

  /** How to show a host in a finding: the foreign address or the pseudonym (hex of its bytes, or its text). */
  label(id: number): string {
    if (!(id >= 0 && id < this.count)) throw new RangeError(`unknown host id ${id}`);
    if (this.textual[id] === 1) return this.texts.get(id)!;
    const b = id * 4;
    const bytes = this.scratch;
    for (let k = 0; k < 4; k++) {
      const w = this.words[b + k]!;
      bytes[k * 4] = w >>> 24; bytes[k * 4 + 1] = (w >>> 16) & 255; bytes[k * 4 + 2] = (w >>> 8) & 255; bytes[k * 4 + 3] = w & 255;
    }
    return this.domestic[id] === 1 ? Buffer.from(bytes).toString('hex') : formatAddress(bytes, 0);
  }

  /** Number of interned hosts. */
  get size(): number {
    return this.count;
  }

  /** Bytes held by the table's typed arrays (the string map of textual hosts aside). */
  get bytes(): number {
    return this.words.byteLength + this.hashes.byteLength + this.domestic.byteLength + this.textual.byteLength + this.index.byteLength;
  }

  /** A fresh id: grows the per-id arrays and the index as needed, clears the table when full. */
  private allocate(): number {
    if (this.reader) throw new Error('a reader of a shared host table does not intern');
    if (this.count >= this.maxHosts) this.clear();
    if ((this.count + 1) * 2 > this.index.length) this.rehash(this.index.length * 2);
    const id = this.count++;
    if (id >= this.hashes.length) this.hashes = grown(this.hashes, new Int32Array(Math.min(this.maxHosts, this.hashes.length * 2)));
    if (id >= this.domestic.length) {
      // Only a private table grows: a shared one is reserved for maxHosts at once.
      const cap = Math.min(this.maxHosts, this.domestic.length * 2);
      this.words = grown(this.words, new Uint32Array(cap * 4));
      this.domestic = grown(this.domestic, new Uint8Array(cap));
      this.textual = grown(this.textual, new Uint8Array(cap));
    }
    return id;
  }

  private rehash(cells: number): void {
    const index = new Int32Array(cells);
    const mask = cells - 1;
    for (let id = 0; id < this.count; id++) {
      if (this.textual[id] === 1) continue;
      let cell = this.hashes[id]! & mask;
      while (index[cell] !== 0) cell = (cell + 1) & mask;
      index[cell] = id + 1;
    }
    this.index = index;
  }

  /**
   * Forgets every host and bumps `generation` (detectors drop state of an older one), as the table does
   * by itself when full. No reader may hold ids of the old generation: with detector threads, call it
   * only when they are idle.
   */
  clear(): void {
    if (this.reader) throw new Error('a reader of a shared host table does not clear it');
    this.index.fill(0);
    this.texts.clear();
    this.byText.clear();
    this.count = 0;
    this.generation++;
  }
}

/** `to` holding `from`'s values first: a grown copy of a per-id array. */
function grown<T extends Uint8Array | Uint32Array | Int32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/**
 * The hash a HostTable files a slot under (its 16 bytes and whether it is domestic); see HostTable.touch.
 * A signed 32-bit integer: V8 passes it between functions as a small integer, where an unsigned one past
 * 2^31 would be boxed on the heap at every call (bench/pipeline).
 */
export function hashSlot(buf: Uint8Array, off: number, domestic: boolean): number {
  return hashSlotAt(addressView(buf), off, domestic);
}

/** hashSlot over the column's DataView (addressView): the form hot loops use. */
export function hashSlotAt(view: DataView, off: number, domestic: boolean): number {
  const w0 = view.getUint32(off, false);
  const w1 = view.getUint32(off + 4, false);
  const w2 = view.getUint32(off + 8, false);
  const w3 = view.getUint32(off + 12, false);
  let h = Math.imul(w0 ^ 0x9e3779b9 ^ (domestic ? 1 : 0), 0x85ebca6b) ^ w1;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) ^ w2;
  h = Math.imul(h ^ (h >>> 16), 0x27d4eb2f) ^ w3;
  h = Math.imul(h ^ (h >>> 15), 0x165667b1);
  return h ^ (h >>> 16);
}

/** hashSlot of the slot whose four big-endian words are `words[q … q + 4)` (see HostTable.internWordsAt). */
export function hashWordsAt(words: Uint32Array, q: number, domestic: boolean): number {
  let h = Math.imul(words[q]! ^ 0x9e3779b9 ^ (domestic ? 1 : 0), 0x85ebca6b) ^ words[q + 1]!;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) ^ words[q + 2]!;
  h = Math.imul(h ^ (h >>> 16), 0x27d4eb2f) ^ words[q + 3]!;
  h = Math.imul(h ^ (h >>> 15), 0x165667b1);
  return h ^ (h >>> 16);
}

/** Rows interned per prefetch pass (see internWordRows). */
const WORD_CHUNK = 256;
const wordHashes = new Int32Array(WORD_CHUNK * 2);
const wordsTouched = new Uint32Array(1); // what the prefetch pass read, stored so the reads are not optimized away

/**
 * Interns both hosts of rows [0, n) given as slot words: host k of `srcWords` is words [4k, 4k + 4) (big-endian, as
 * HostTable keys a slot), domestic where `srcFlags[k]` is 1 (likewise `dst…`); the ids go to `src[k]` and `dst[k]`.
 * A chunk at a time, hashing and touching every row's index cell before looking any up so the cache misses overlap
 * (adaptSelectedBatch's passes over slots). Returns false when the table cleared itself meanwhile: the ids are then of
 * two generations and the rows must be interned again. Hot path: bench/cluster's worker.
 */
export function internWordRows(hosts: HostTable, srcWords: Uint32Array, srcFlags: Uint8Array, dstWords: Uint32Array, dstFlags: Uint8Array,
  n: number, src: Uint32Array, dst: Uint32Array): boolean {
  const generation = hosts.generation;
  const hs = wordHashes;
  let acc = 0;
  for (let from = 0; from < n; from += WORD_CHUNK) {
    const to = Math.min(n, from + WORD_CHUNK);
    for (let k = from; k < to; k++) {
      const q = k * 4, j = (k - from) * 2;
      hs[j] = hashWordsAt(srcWords, q, srcFlags[k] === 1);
      hs[j + 1] = hashWordsAt(dstWords, q, dstFlags[k] === 1);
    }
    const nh = (to - from) * 2;
    for (let j = 0; j < nh; j++) acc ^= hosts.touchCell(hs[j]!);
    for (let j = 0; j < nh; j++) acc ^= hosts.touch(hs[j]!);
    for (let k = from; k < to; k++) {
      const q = k * 4, j = (k - from) * 2;
      src[k] = hosts.internWordsAt(srcWords, q, srcFlags[k] === 1, hs[j]!);
      dst[k] = hosts.internWordsAt(dstWords, q, dstFlags[k] === 1, hs[j + 1]!);
    }
  }
  wordsTouched[0] = acc;
  return hosts.generation === generation;
}

/** The flow columns an AnalysisBatch shares with a FlowBatch and a SelectedBatch. */
export type FlowColumns = Pick<AnalysisBatch, 'start' | 'end' | 'srcPort' | 'dstPort' | 'proto' | 'tcpFlags' | 'bytes' | 'packets' | 'samplingRate'>;

/** Copies row `i` of `from`'s flow columns to row `k` of `out`; an unknown sampling rate (0) becomes 1. */
export function copyFlowRow(out: FlowColumns, k: number, from: FlowColumns, i: number): void {
  out.start[k] = from.start[i]!;
  out.end[k] = from.end[i]!;
  out.srcPort[k] = from.srcPort[i]!;
  out.dstPort[k] = from.dstPort[i]!;
  out.proto[k] = from.proto[i]!;
  out.tcpFlags[k] = from.tcpFlags[i]!;
  out.bytes[k] = from.bytes[i]!;
  out.packets[k] = from.packets[i]!;
  out.samplingRate[k] = from.samplingRate[i]! || 1;
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
