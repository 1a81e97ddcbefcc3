/** @module Fixed-memory structures for the detectors: a count-min sketch, Bloom filters, HyperLogLog registers and an open-addressed key index over numeric keys. */

/** Rows per prefetch pass: their lines (a few a row) stay in the core's L2 until the second pass. */
export const PREFETCH_ROWS = 512;

/**
 * Runs a detector's two passes over `rows` rows, a chunk at a time: `touch(from, to)` reads the lines
 * the rows will need, changing nothing, so their cache misses overlap; `work(from, to)` then does the
 * work on cached lines. State is what `work` alone over every row would make. Hot path: bench/detectors.
 */
export function inChunks(rows: number, touch: (from: number, to: number) => void, work: (from: number, to: number) => void): void {
  for (let from = 0; from < rows; from += PREFETCH_ROWS) {
    const to = Math.min(rows, from + PREFETCH_ROWS);
    touch(from, to);
    work(from, to);
  }
}

/**
 * Reads `words[places[j]]` for j < n in one tight loop, changing nothing, and returns a value for the
 * caller to keep (so the reads are not optimized away): the touch loop of a sketch (see KeyIndex.place).
 */
export function touchWords(words: Uint32Array, places: Int32Array, n: number): number {
  let acc = 0;
  for (let j = 0; j < n; j++) acc ^= words[places[j]!]!;
  return acc | 0;
}

/** Mixes a non-negative integer key (up to 2^53) with a seed into 32 bits (murmur3 finalizer on both halves). */
export function hashKey(key: number, seed: number): number {
  let h = (key >>> 0) ^ Math.imul(seed, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= Math.floor(key / 4294967296) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Count-min sketch (Cormode & Muthukrishnan 2005): `depth` rows of `width` counters; estimates never
 * undercount and overcount by at most e·N/width with probability 1 − e^−depth.
 * @see https://doi.org/10.1016/j.jalgor.2003.12.001
 */
export class CountMinSketch {
  private readonly table: Uint32Array;
  private readonly mask: number;
  constructor(readonly widthLog2 = 20, readonly depth = 4) {
    this.table = new Uint32Array((1 << widthLog2) * depth);
    this.mask = (1 << widthLog2) - 1;
  }

  /** Adds `n` to `key` and returns the new estimate. */
  add(key: number, n = 1): number {
    let min = 0xffffffff;
    const w = this.mask + 1;
    // Row d probes h1 + d·h2 (Kirsch & Mitzenmacher's double hashing): two hashes for any depth.
    const h1 = hashKey(key, 1);
    const h2 = (Math.imul(h1 ^ (h1 >>> 16), 0x7feb352d) ^ (h1 >>> 15)) | 1;
    for (let d = 0; d < this.depth; d++) {
      const i = d * w + ((h1 + Math.imul(d, h2)) & this.mask);
      const v = Math.min(0xffffffff, this.table[i]! + n);
      this.table[i] = v;
      if (v < min) min = v;
    }
    return min;
  }

  /** The estimate for `key`. */
  estimate(key: number): number {
    let min = 0xffffffff;
    const w = this.mask + 1;
    const h1 = hashKey(key, 1);
    const h2 = (Math.imul(h1 ^ (h1 >>> 16), 0x7feb352d) ^ (h1 >>> 15)) | 1;
    for (let d = 0; d < this.depth; d++) {
      const v = this.table[d * w + ((h1 + Math.imul(d, h2)) & this.mask)]!;
      if (v < min) min = v;
    }
    return min;
  }

  /** Halves every counter: ages old counts so the sketch follows the recent stream. */
  decay(): void {
    for (let i = 0; i < this.table.length; i++) this.table[i] = this.table[i]! >>> 1;
  }

  /** Bytes held. */
  get bytes(): number { return this.table.byteLength; }
}

/**
 * A count-min sketch whose four rows share one cache line per key: a hash picks a line of 16 counters,
 * and row d uses one of the four counters in quarter d of that line. Like the plain sketch it never
 * undercounts; it overcounts somewhat more for the same memory, and a key costs one memory touch
 * instead of four. The beacon detector's distinct-clients count: bench/detectors.
 * @see https://doi.org/10.1016/j.jalgor.2003.12.001
 */
export class BlockedCountMinSketch {
  private readonly table: Uint32Array;
  private readonly mask: number;
  /** 2^linesLog2 lines of 16 counters (64 bytes each). */
  constructor(readonly linesLog2 = 16) {
    this.table = new Uint32Array((1 << linesLog2) * 16);
    this.mask = (1 << linesLog2) - 1;
  }

  /** Where `key`'s line starts, for `touchAll` (see KeyIndex.place). */
  place(key: number): number {
    return (hashKey(key, 0x2b) & this.mask) * 16;
  }

  /** Reads the lines at `places[0..n)`, changing nothing (see KeyIndex.touchAll). */
  touchAll(places: Int32Array, n: number): number {
    return touchWords(this.table, places, n);
  }

  /** Adds `n` to `key` and returns the new estimate. */
  add(key: number, n = 1): number {
    const h = hashKey(key, 0x2b);
    const base = (h & this.mask) * 16;
    const sel = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 24; // 2 bits a row
    let min = 0xffffffff;
    for (let d = 0; d < 4; d++) {
      const i = base + d * 4 + ((sel >>> (d * 2)) & 3);
      const v = Math.min(0xffffffff, this.table[i]! + n);
      this.table[i] = v;
      if (v < min) min = v;
    }
    return min;
  }

  /** The estimate for `key`. */
  estimate(key: number): number {
    const h = hashKey(key, 0x2b);
    const base = (h & this.mask) * 16;
    const sel = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 24;
    let min = 0xffffffff;
    for (let d = 0; d < 4; d++) {
      const v = this.table[base + d * 4 + ((sel >>> (d * 2)) & 3)]!;
      if (v < min) min = v;
    }
    return min;
  }

  /** Bytes held. */
  get bytes(): number { return this.table.byteLength; }
}

/**
 * Bloom filter (Bloom 1970) with `k` probes derived from two hashes (Kirsch & Mitzenmacher 2006).
 * @see https://doi.org/10.1145/362686.362692
 */
export class BloomFilter {
  private readonly bits: Uint32Array;
  private readonly mask: number;
  constructor(readonly bitsLog2 = 27, readonly k = 4) {
    this.bits = new Uint32Array(2 ** (bitsLog2 - 5));
    this.mask = 2 ** bitsLog2 - 1;
  }

  /** Sets `key`; returns true when it was (probably) already there. */
  testAndAdd(key: number): boolean {
    const h1 = hashKey(key, 0x51);
    const h2 = hashKey(key, 0xa7) | 1;
    let present = true;
    for (let i = 0; i < this.k; i++) {
      const b = (h1 + Math.imul(i, h2)) & this.mask;
      const w = b >>> 5;
      const m = 1 << (b & 31);
      if ((this.bits[w]! & m) === 0) { present = false; this.bits[w] = this.bits[w]! | m; }
    }
    return present;
  }

  /** Clears the filter (rotation at the end of a window). */
  clear(): void { this.bits.fill(0); }

  /** Bytes held. */
  get bytes(): number { return this.bits.byteLength; }
}

/**
 * Blocked Bloom filter (Putze, Sanders & Singler 2007): all `k` = 4 bits of a key fall in one 512-bit
 * block (one cache line), so a test touches one line instead of four, for a slightly higher false
 * positive rate than a standard filter of the same size. Hot path of the beacon detector: bench/detectors.
 * @see https://doi.org/10.1007/978-3-540-72845-0_9
 */
export class BlockedBloomFilter {
  private readonly bits: Uint32Array;
  private readonly blockMask: number;
  constructor(readonly bitsLog2 = 26) {
    if (bitsLog2 < 9) throw new RangeError('a blocked Bloom filter needs at least one 512-bit block');
    this.bits = new Uint32Array(2 ** (bitsLog2 - 5));
    this.blockMask = 2 ** (bitsLog2 - 9) - 1;
  }

  /** Where `key`'s block starts, for `touchAll` (see KeyIndex.place). */
  place(key: number): number {
    return (hashKey(key, 0x51) & this.blockMask) * 16;
  }

  /** Reads the blocks at `places[0..n)`, changing nothing (see KeyIndex.touchAll). */
  touchAll(places: Int32Array, n: number): number {
    return touchWords(this.bits, places, n);
  }

  /** Sets `key`; returns true when it was (probably) already there. */
  testAndAdd(key: number): boolean {
    // One hash: its low bits pick the block; a multiplicative remix of it gives the four 9-bit positions.
    const h1 = hashKey(key, 0x51);
    const h2 = Math.imul(h1 ^ (h1 >>> 15), 0x2c1b3c6d) ^ (h1 >>> 12);
    const base = (h1 & this.blockMask) * 16;
    let present = true;
    for (let i = 0; i < 4; i++) {
      const b = i < 3 ? (h2 >>> (i * 9)) & 511 : ((h2 >>> 27) | (h1 >>> 23 << 5)) & 511;
      const w = base + (b >>> 5);
      const m = 1 << (b & 31);
      if ((this.bits[w]! & m) === 0) { present = false; this.bits[w] = this.bits[w]! | m; }
    }
    return present;
  }

  /** Clears the filter. */
  clear(): void { this.bits.fill(0); }

  /** Bytes held. */
  get bytes(): number { return this.bits.byteLength; }
}

/**
 * Counts sightings of keys not (yet) admitted to a detector's exact state: 2^bucketsLog2 buckets of
 * four (32-bit fingerprint, count) ways in 32 bytes, so a sighting touches one cache line. A key missing
 * from its bucket replaces the way with the lowest count. Exact for keys that stay; a key pushed out
 * starts again from zero, so unlike a count-min sketch it never admits a key early (it may admit a
 * rare one late). Admitted keys keep their count, so one evicted from the detector comes back at once. Hot path of the beacon detector's admission: bench/detectors.
 */
export class RecentCounter {
  private readonly table: Uint32Array;
  private readonly mask: number;
  constructor(readonly bucketsLog2 = 18) {
    this.table = new Uint32Array((1 << bucketsLog2) * 8);
    this.mask = (1 << bucketsLog2) - 1;
  }

  /** Where `key`'s bucket starts, for `touchAll` (see KeyIndex.place). */
  place(key: number): number {
    return (hashKey(key, 0x71) & this.mask) * 8;
  }

  /** Reads the buckets at `places[0..n)`, changing nothing (see KeyIndex.touchAll). */
  touchAll(places: Int32Array, n: number): number {
    return touchWords(this.table, places, n);
  }

  /** Adds one sighting of `key` and returns its count (1: it was not in the table). */
  add(key: number): number {
    const t = this.table;
    const h = hashKey(key, 0x71);
    const base = (h & this.mask) * 8;
    // A bijective remix of the same hash: two keys share a fingerprint only when they share the hash.
    const fp = ((Math.imul(h ^ (h >>> 16), 0x7feb352d) ^ (h >>> 15)) | 1) >>> 0;
    let victim = base;
    for (let w = base; w < base + 4; w++) {
      if (t[w] === fp) { const c = Math.min(0xffffffff, t[w + 4]! + 1); t[w + 4] = c; return c; }
      if (t[w + 4]! < t[victim + 4]!) victim = w;
    }
    t[victim] = fp;
    t[victim + 4] = 1;
    return 1;
  }

  /** Clears the table. */
  clear(): void { this.table.fill(0); }

  /** Bytes held. */
  get bytes(): number { return this.table.byteLength; }
}

/**
 * Adds `key` to the 2^p one-byte HyperLogLog registers at `reg[off]` (Flajolet et al. 2007). The
 * registers may sit inside a larger pool: the scan detector keeps them in its spill slabs.
 * @see https://algo.inria.fr/flajolet/Publications/FlFuGaMe07.pdf
 */
export function hllAdd(reg: Uint8Array, off: number, p: number, key: number): void {
  const h = hashKey(key, 0x3c);
  const idx = off + (h >>> (32 - p));
  const rest = (h << p) >>> 0;
  const rank = rest === 0 ? 32 - p + 1 : Math.clz32(rest) + 1;
  if (rank > reg[idx]!) reg[idx] = rank;
}

/**
 * The distinct-count estimate of the 2^p registers at `reg[off]`: the raw estimate, or linear
 * counting while it is at most 2.5·2^p and some register is still zero (the small-range correction).
 * @see https://algo.inria.fr/flajolet/Publications/FlFuGaMe07.pdf
 */
export function hllCount(reg: Uint8Array, off: number, p: number): number {
  const m = 1 << p;
  let sum = 0;
  let zeros = 0;
  for (let i = off; i < off + m; i++) { const r = reg[i]!; sum += 2 ** -r; if (r === 0) zeros++; }
  const alpha = 0.7213 / (1 + 1.079 / m);
  const e = (alpha * m * m) / sum;
  if (e <= 2.5 * m && zeros > 0) return Math.round(m * Math.log(m / zeros));
  return Math.round(e);
}

/**
 * HyperLogLog distinct counter (Flajolet et al. 2007) with 2^p one-byte registers; standard error ≈ 1.04/√2^p.
 * @see https://algo.inria.fr/flajolet/Publications/FlFuGaMe07.pdf
 */
export class HyperLogLog {
  private readonly reg: Uint8Array;
  constructor(readonly p = 10) { this.reg = new Uint8Array(1 << p); }

  /** Adds a key. */
  add(key: number): void { hllAdd(this.reg, 0, this.p, key); }

  /** The estimated number of distinct keys added. */
  count(): number { return hllCount(this.reg, 0, this.p); }
}

/**
 * A fixed-capacity map from non-negative integer keys (< 2^53) to non-negative integers, open-addressed
 * over one Float64Array of [key, value] cells (linear probing, load ≤ 1/2, deletion by backward shift),
 * so a lookup touches one cache line in the common case and neither boxes its key nor allocates.
 * Hot path of the scan and beacon detectors: bench/detectors.
 */
export class KeyIndex {
  private readonly cells: Float64Array;
  private readonly mask: number;
  /** Keys held. */
  size = 0;

  /** Room for `capacity` keys at load ≤ 1/2. */
  constructor(readonly capacity: number) {
    const n = 1 << Math.ceil(Math.log2(Math.max(8, capacity * 2)));
    this.cells = new Float64Array(n * 2).fill(-1);
    this.mask = n - 1;
  }

  /** The home cell of a key: both 32-bit halves mixed (murmur3 finalizer). */
  private home(key: number): number {
    let h = Math.imul((key >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ ((key / 4294967296) >>> 0);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) & this.mask;
  }

  /**
   * Where `key`'s home cell is, for `touchAll`: a detector's first pass over a chunk of rows takes the
   * place of every key it will look up, then touches them all in one tight loop, so many cache misses
   * are in flight at once (a loop doing more work per row keeps only a couple in flight); its second
   * pass finds the lines cached (bench/detectors, bench/pipeline).
   */
  place(key: number): number {
    return this.home(key) * 2;
  }

  /** Reads the cells at `places[0..n)` (from `place`), changing nothing; returns a value for the caller to keep. */
  touchAll(places: Int32Array, n: number): number {
    let acc = 0;
    for (let j = 0; j < n; j++) if (this.cells[places[j]!]! >= 0) acc++;
    return acc;
  }

  /** The value of `key`, or −1 when absent. */
  get(key: number): number {
    const cells = this.cells;
    for (let c = this.home(key); ; c = (c + 1) & this.mask) {
      const k = cells[c * 2]!;
      if (k === key) return cells[c * 2 + 1]!;
      if (k < 0) return -1;
    }
  }

  /** Sets `key` to `value` (≥ 0); throws when the index is full (a caller bug: it must evict first). */
  set(key: number, value: number): void {
    const cells = this.cells;
    let c = this.home(key);
    for (; ; c = (c + 1) & this.mask) {
      const k = cells[c * 2]!;
      if (k === key) { cells[c * 2 + 1] = value; return; }
      if (k < 0) break;
    }
    if (this.size >= this.capacity) throw new RangeError(`key index full (${this.capacity} keys)`);
    cells[c * 2] = key;
    cells[c * 2 + 1] = value;
    this.size++;
  }

  /** Removes `key`; returns whether it was there. */
  delete(key: number): boolean {
    const cells = this.cells;
    const mask = this.mask;
    let c = this.home(key);
    for (; ; c = (c + 1) & mask) {
      const k = cells[c * 2]!;
      if (k === key) break;
      if (k < 0) return false;
    }
    // Backward-shift deletion: pull later members of the probe run into the hole.
    for (let next = (c + 1) & mask; cells[next * 2]! >= 0; next = (next + 1) & mask) {
      const home = this.home(cells[next * 2]!);
      if (((next - home) & mask) >= ((next - c) & mask)) {
        cells[c * 2] = cells[next * 2]!;
        cells[c * 2 + 1] = cells[next * 2 + 1]!;
        c = next;
      }
    }
    cells[c * 2] = -1;
    this.size--;
    return true;
  }

  /** Removes every key. */
  clear(): void { this.cells.fill(-1); this.size = 0; }

  /** Bytes held. */
  get bytes(): number { return this.cells.byteLength; }
}

/**
 * A growable set of host ids that keeps the order they were added in: the ids in a Uint32Array beside an
 * open-addressed index of their positions (position + 1 per cell, linear probing, load ≤ 1/2). For a set a
 * detector adds to per flow, where V8's Set<number> costs a builtin call and hashing through OrderedHashSet
 * (bench/ingest: the DDoS detector's sources per target).
 */
export class IdSet {
  private ids = new Uint32Array(8);
  private index = new Int32Array(16);
  private shift = 28; // 32 − log2(index.length): Fibonacci hashing takes the product's top bits
  /** Ids held. */
  size = 0;

  /** Adds `id` (an unsigned 32-bit integer); returns false when it was already there. */
  add(id: number): boolean {
    const index = this.index;
    const mask = index.length - 1;
    for (let c = Math.imul(id, 0x9e3779b1) >>> this.shift; ; c = (c + 1) & mask) {
      const p = index[c]!;
      if (p === 0) break;
      if (this.ids[p - 1] === id) return false;
    }
    if ((this.size + 1) * 2 > index.length) this.grow();
    if (this.size === this.ids.length) { const ids = new Uint32Array(this.ids.length * 2); ids.set(this.ids); this.ids = ids; }
    this.ids[this.size++] = id;
    this.place(this.size);
    return true;
  }

  /** Whether `id` is held. */
  has(id: number): boolean {
    const index = this.index;
    const mask = index.length - 1;
    for (let c = Math.imul(id, 0x9e3779b1) >>> this.shift; ; c = (c + 1) & mask) {
      const p = index[c]!;
      if (p === 0) return false;
      if (this.ids[p - 1] === id) return true;
    }
  }

  /** The ids in the order they were added (a view: valid until the next add). */
  values(): Uint32Array {
    return this.ids.subarray(0, this.size);
  }

  // Files position `p` (1-based) of the ids under its id's hash.
  private place(p: number): void {
    const index = this.index;
    const mask = index.length - 1;
    let c = Math.imul(this.ids[p - 1]!, 0x9e3779b1) >>> this.shift;
    while (index[c] !== 0) c = (c + 1) & mask;
    index[c] = p;
  }

  private grow(): void {
    this.index = new Int32Array(this.index.length * 2);
    this.shift--;
    for (let p = 1; p <= this.size; p++) this.place(p);
  }
}
