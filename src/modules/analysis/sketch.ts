/** @module Fixed-memory sketches for the detectors: a count-min sketch, a Bloom filter and a HyperLogLog over numeric keys. */

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
    for (let d = 0; d < this.depth; d++) {
      const i = d * w + (hashKey(key, d + 1) & this.mask);
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
    for (let d = 0; d < this.depth; d++) {
      const v = this.table[d * w + (hashKey(key, d + 1) & this.mask)]!;
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
 * HyperLogLog distinct counter (Flajolet et al. 2007) with 2^p one-byte registers; standard error ≈ 1.04/√2^p.
 * @see https://algo.inria.fr/flajolet/Publications/FlFuGaMe07.pdf
 */
export class HyperLogLog {
  private readonly reg: Uint8Array;
  constructor(readonly p = 10) { this.reg = new Uint8Array(1 << p); }

  /** Adds a key. */
  add(key: number): void {
    const h = hashKey(key, 0x3c);
    const idx = h >>> (32 - this.p);
    const rest = (h << this.p) >>> 0;
    const rank = rest === 0 ? 32 - this.p + 1 : Math.clz32(rest) + 1;
    if (rank > this.reg[idx]!) this.reg[idx] = rank;
  }

  /** The estimated number of distinct keys added. */
  count(): number {
    const m = this.reg.length;
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < m; i++) { sum += 2 ** -this.reg[i]!; if (this.reg[i] === 0) zeros++; }
    const alpha = 0.7213 / (1 + 1.079 / m);
    const e = (alpha * m * m) / sum;
    if (e <= 2.5 * m && zeros > 0) return Math.round(m * Math.log(m / zeros));
    return Math.round(e);
  }
}
