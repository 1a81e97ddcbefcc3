/** @module Keyed pseudonyms of domestic addresses: HMAC-SHA-256 with a per-period key kept apart from the data, truncated to 128 bits. */
import { createHmac } from 'node:crypto';
import { addressView } from '#modules/collection/index.js';
import { SlotHmac } from './slot-hmac.js';

/** Bytes kept of the HMAC: 16 (128 bits) — collisions stay negligible (birthday bound 2^64) while columns stay small. */
export const PSEUDONYM_BYTES = 16;

/** How often the pseudonym key changes. */
export const ROTATIONS = ['daily', 'monthly', 'yearly'] as const;

/** One rotation period length. */
export type Rotation = (typeof ROTATIONS)[number];

/** The period label of a time: `YYYY-MM-DD`, `YYYY-MM` or `YYYY` (UTC). */
export function periodOf(ms: number, rotation: Rotation): string {
  const iso = new Date(ms).toISOString();
  return rotation === 'daily' ? iso.slice(0, 10) : rotation === 'monthly' ? iso.slice(0, 7) : iso.slice(0, 4);
}

/** [start, end) of the period holding `ms`. */
export function periodBounds(ms: number, rotation: Rotation): [number, number] {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  if (rotation === 'daily') { const s = Date.UTC(y, m, d.getUTCDate()); return [s, s + 86_400_000]; }
  if (rotation === 'monthly') return [Date.UTC(y, m, 1), Date.UTC(y, m + 1, 1)];
  return [Date.UTC(y, 0, 1), Date.UTC(y + 1, 0, 1)];
}

/** Where the keys of each period come from; kept apart from the data they pseudonymize. */
export interface PseudonymKeyStore {
  /** The 32-byte key of `period`, created on first use when `create` is true; undefined when absent. */
  keyFor(period: string, create: boolean): Uint8Array | undefined;
  /** When `period`'s key was destroyed (crypto-shredding), if it was; stores that cannot destroy keys omit it. */
  destroyedAt?(period: string): string | undefined;
}

/** Keys derived from one configured secret: HMAC-SHA-256(secret, "mamori-pseudonym/" + period). */
export function derivedKeyStore(secret: string): PseudonymKeyStore {
  const cache = new Map<string, Uint8Array>();
  return {
    keyFor(period) {
      let k = cache.get(period);
      if (k === undefined) { k = new Uint8Array(createHmac('sha256', secret).update(`mamori-pseudonym/${period}`).digest()); cache.set(period, k); }
      return k;
    },
  };
}

/** The pseudonym of the 16-byte slot at `o` under `key`, written to `out` at `outOff`. @see RFC 2104 */
export function pseudonymOf(key: Uint8Array, buf: Uint8Array, o: number, out: Uint8Array, outOff: number): void {
  const mac = createHmac('sha256', key).update(buf.subarray(o, o + 16)).digest();
  out.set(mac.subarray(0, PSEUDONYM_BYTES), outOff);
}

/** Hex text of a pseudonym. */
export function pseudonymHex(buf: Uint8Array, o: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + o, PSEUDONYM_BYTES).toString('hex');
}

/** Words of one cache record: the address slot's 4 words, then the pseudonym's 16 bytes (4 words). */
const RECORD_WORDS = 8;

/**
 * Pseudonymizes slots with a bounded per-period cache of address → pseudonym (domestic endpoints
 * recur), so the HMAC runs once per address and period (SlotHmac: the key's pads hashed once per
 * period). The cache lives in memory only. Each record holds the address and its pseudonym in one
 * 32-byte cell (half a cache line), so a lookup costs one cache miss, not one per array; a record is in
 * use when its pseudonym is not all zero (an HMAC truncated to 128 bits is all zero with probability
 * 2^-128, and such a pseudonym is simply not cached). Hot path: bench/selection, bench/pipeline.
 */
export class Pseudonymizer {
  private readonly capacity: number;
  private period = '';
  private hmac: SlotHmac | undefined;
  /** RECORD_WORDS words per record; `bytes` views the same memory. */
  private words: Uint32Array;
  private bytes: Uint8Array;
  private count = 0;

  /**
   * The period used before the current one, kept whole (key and cache) so that batches mixing flows of
   * two periods — around every rotation, for as long as exporters deliver flows that started before it —
   * switch back and forth without rebuilding either: allocated at the first rotation, then reused.
   */
  private other: { period: string; hmac: SlotHmac | undefined; words: Uint32Array; bytes: Uint8Array; count: number } | undefined;

  constructor(private readonly store: PseudonymKeyStore, cacheEntries = 1 << 16) {
    this.capacity = 1 << Math.ceil(Math.log2(Math.max(16, cacheEntries * 2)));
    this.words = new Uint32Array(this.capacity * RECORD_WORDS);
    this.bytes = new Uint8Array(this.words.buffer);
  }

  /**
   * Switches to `period`'s key (creating it if needed). The last two periods keep their caches: going
   * back to the previous one swaps them; a third period takes the older one's memory, cleared.
   */
  usePeriod(period: string): void {
    if (period === this.period) return;
    const mine = { period: this.period, hmac: this.hmac, words: this.words, bytes: this.bytes, count: this.count };
    const o = this.other;
    if (o !== undefined && o.period === period) {
      this.period = o.period; this.hmac = o.hmac; this.words = o.words; this.bytes = o.bytes; this.count = o.count;
      this.other = mine;
      return;
    }
    const key = this.store.keyFor(period, true);
    this.hmac = key === undefined ? undefined : new SlotHmac(key);
    this.period = period;
    if (mine.period === '') {
      this.clear(); // the first period: nothing to keep
      return;
    }
    this.other = mine;
    if (o !== undefined) { this.words = o.words; this.bytes = o.bytes; }
    else {
      this.words = new Uint32Array(this.capacity * RECORD_WORDS);
      this.bytes = new Uint8Array(this.words.buffer);
    }
    this.clear();
  }

  private clear(): void {
    this.words.fill(0);
    this.count = 0;
  }

  /** Forgets `period`'s key state and cache (its key was destroyed): the next use of it starts afresh from the store. */
  forget(period: string): void {
    if (this.period === period) { this.period = ''; this.hmac = undefined; this.clear(); }
    const o = this.other;
    if (o !== undefined && o.period === period) { o.period = ''; o.hmac = undefined; o.words.fill(0); o.count = 0; }
  }

  /**
   * Where the slot at `o` would be cached: a word index for `touch`. A first pass over a batch takes the
   * place of every domestic address and a second, tight loop touches them all, so their cache misses
   * overlap (a loop doing more work per row keeps only a couple in flight); `write` then finds them
   * cached (bench/pipeline).
   */
  place(buf: Uint8Array, o: number, view = addressView(buf)): number {
    return (slotHash(view, o) & (this.capacity - 1)) * RECORD_WORDS;
  }

  /** Reads the record at a `place`, changing nothing; returns a word read, for the caller to keep. */
  touch(place: number): number {
    return this.words[place]! | 0; // signed: a small integer, never boxed
  }

  /**
   * Writes the pseudonym of the slot at `o` (under the current period's key) to `out` at `outOff`.
   * `out32`, a Uint32Array over `out`'s memory when `outOff` is a multiple of 4 there, lets a cached
   * pseudonym go out as four words rather than sixteen bytes; `view` is `buf`'s addressView, passed by hot
   * loops that hold it (bench/ingest).
   */
  write(buf: Uint8Array, o: number, out: Uint8Array, outOff: number, out32?: Uint32Array, view = addressView(buf)): void {
    const w0 = view.getUint32(o, false);
    const w1 = view.getUint32(o + 4, false);
    const w2 = view.getUint32(o + 8, false);
    const w3 = view.getUint32(o + 12, false);
    const mask = this.capacity - 1;
    let s = mixWords(w0, w1, w2, w3) & mask;
    const k = this.words;
    for (;;) {
      const b = s * RECORD_WORDS;
      if ((k[b + 4]! | k[b + 5]! | k[b + 6]! | k[b + 7]!) === 0) break; // an empty record: not cached
      if (k[b] === w0 && k[b + 1] === w1 && k[b + 2] === w2 && k[b + 3] === w3) {
        // Words (or a byte loop), not subarray + set: no typed-array view allocated per cached hit (bench/pipeline).
        if (out32 !== undefined) {
          const at = outOff >> 2;
          out32[at] = k[b + 4]!; out32[at + 1] = k[b + 5]!; out32[at + 2] = k[b + 6]!; out32[at + 3] = k[b + 7]!;
          return;
        }
        const v = b * 4 + 16;
        const bytes = this.bytes;
        for (let j = 0; j < PSEUDONYM_BYTES; j++) out[outOff + j] = bytes[v + j]!;
        return;
      }
      s = (s + 1) & mask;
    }
    if (this.hmac === undefined) throw new Error('Pseudonymizer: usePeriod() first');
    // The same HMAC as pseudonymOf, without node:crypto's per-call objects (bench/pipeline, distinct workload).
    this.hmac.write(buf, o, out, outOff, PSEUDONYM_BYTES);
    if (this.count * 2 >= this.capacity) { this.clear(); s = mixWords(w0, w1, w2, w3) & mask; }
    const b = s * RECORD_WORDS;
    const v = b * 4 + 16;
    const bytes = this.bytes;
    let nonzero = 0;
    for (let j = 0; j < PSEUDONYM_BYTES; j++) { const x = out[outOff + j]!; bytes[v + j] = x; nonzero |= x; }
    if (nonzero === 0) return; // all zero would read as an empty record: left uncached
    k[b] = w0; k[b + 1] = w1; k[b + 2] = w2; k[b + 3] = w3;
    this.count++;
  }
}

/** The cache's hash of four address words (murmur-style mixing). */
function mixWords(w0: number, w1: number, w2: number, w3: number): number {
  let h = Math.imul(w0 ^ 0x9e3779b9, 0x85ebca6b) ^ w1;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) ^ w2;
  h = Math.imul(h ^ (h >>> 16), 0x27d4eb2f) ^ w3;
  h = Math.imul(h ^ (h >>> 15), 0x165667b1);
  return h ^ (h >>> 16);
}

/** mixWords of the 16-byte slot at `o` of a column's DataView. */
function slotHash(view: DataView, o: number): number {
  return mixWords(view.getUint32(o, false), view.getUint32(o + 4, false), view.getUint32(o + 8, false), view.getUint32(o + 12, false));
}
