/** @module Address ranges: prefix parsing, layer normalization and flattening into sorted typed arrays searched without allocation. */
import { addressView, writeAddress } from '#modules/collection/index.js';

/** An inclusive range of IPv4 addresses (as unsigned 32-bit numbers) carrying a value. */
export interface Range4 {
  start: number;
  end: number;
  value: number;
}

/** An inclusive range of IPv6 addresses (as 128-bit bigints) carrying a value. */
export interface Range6 {
  start: bigint;
  end: bigint;
  value: number;
}

/** Ranges of both families; IPv4-mapped IPv6 input lands in `v4`. */
export interface RangeSet {
  v4: Range4[];
  v6: Range6[];
}

/** True when the 16-byte slot at `o` holds an IPv4-mapped address (::ffff:a.b.c.d). @see RFC 4291 §2.5.5.2 */
export function isMapped(buf: Uint8Array, o: number): boolean {
  return buf[o] === 0 && buf[o + 1] === 0 && buf[o + 2] === 0 && buf[o + 3] === 0 && buf[o + 4] === 0 && buf[o + 5] === 0 &&
    buf[o + 6] === 0 && buf[o + 7] === 0 && buf[o + 8] === 0 && buf[o + 9] === 0 && buf[o + 10] === 0xff && buf[o + 11] === 0xff;
}

/** The 128-bit value of a 16-byte slot. */
export function slotToBigInt(buf: Uint8Array, o: number): bigint {
  let v = 0n;
  for (let i = 0; i < 16; i++) v = (v << 8n) | BigInt(buf[o + i]!);
  return v;
}

const MAPPED_BASE = 0xffff_0000_0000n;

/** Parses "a.b.c.d/len" or "x::/len" (a bare address is a /32 or /128) into an inclusive range; undefined if malformed. */
export function parsePrefix(text: string): { family: 4; start: number; end: number } | { family: 6; start: bigint; end: bigint } | undefined {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const slot = new Uint8Array(16);
  if (!writeAddress(slot, 0, addr.trim())) return undefined;
  const v4 = !addr.includes(':') || isMapped(slot, 0);
  const maxLen = v4 && !addr.includes(':') ? 32 : 128;
  const lenText = slash < 0 ? String(maxLen) : text.slice(slash + 1).trim();
  if (!/^\d{1,3}$/.test(lenText)) return undefined;
  let len = Number(lenText);
  if (len > maxLen) return undefined;
  const value = slotToBigInt(slot, 0);
  if (v4) {
    if (maxLen === 128) {
      if (len < 96) return undefined; // a mapped prefix shorter than /96 would spill out of IPv4
      len -= 96;
    }
    const hostBits = 32 - len;
    const base = Number(value & 0xffff_ffffn);
    const size = 2 ** hostBits;
    if (base % size !== 0) return undefined; // host bits set: refuse rather than guess the intent
    return { family: 4, start: base, end: base + size - 1 };
  }
  const hostBits = BigInt(128 - len);
  const mask = (1n << hostBits) - 1n;
  if ((value & mask) !== 0n) return undefined;
  return { family: 6, start: value, end: value | mask };
}

/** Adds a prefix with a value to a range set; throws a plain Error naming the prefix when it is malformed. */
export function addPrefix(set: RangeSet, prefix: string, value: number): void {
  const p = parsePrefix(prefix);
  if (p === undefined) throw new Error(`"${prefix}" is not a prefix: write a.b.c.d/len or x:y::/len with the host bits zero`);
  if (p.family === 4) set.v4.push({ start: p.start, end: p.end, value });
  else if (p.start >= MAPPED_BASE && p.end <= (MAPPED_BASE | 0xffff_ffffn)) set.v4.push({ start: Number(p.start - MAPPED_BASE), end: Number(p.end - MAPPED_BASE), value });
  else set.v6.push({ start: p.start, end: p.end, value });
}

type Num = number | bigint;
interface R<T extends Num> { start: T; end: T; value: number }

const succ = <T extends Num>(x: T): T => (typeof x === 'bigint' ? x + 1n : (x as number) + 1) as T;
const pred = <T extends Num>(x: T): T => (typeof x === 'bigint' ? x - 1n : (x as number) - 1) as T;

/**
 * Turns one layer, possibly with overlapping rows, into sorted disjoint ranges: where rows overlap the
 * one that starts later wins, so a more specific row nested in a wider one takes precedence (the
 * bundled country data has such rows), and touching rows with the same value are merged.
 */
export function normalizeLayer<T extends Num>(rows: readonly R<T>[]): R<T>[] {
  const sorted = [...rows].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.end > b.end ? -1 : a.end < b.end ? 1 : 0));
  const out: R<T>[] = [];
  const emit = (start: T, end: T, value: number): void => {
    if (start > end) return;
    const last = out[out.length - 1];
    if (last !== undefined && last.value === value && succ(last.end) === start) last.end = end;
    else out.push({ start, end, value });
  };
  const stack: R<T>[] = [];
  let cursor: T | undefined;
  for (const r of sorted) {
    while (stack.length > 0 && stack[stack.length - 1]!.end < r.start) {
      const top = stack.pop()!;
      if (cursor !== undefined && cursor <= top.end) { emit(cursor, top.end, top.value); cursor = succ(top.end); }
    }
    const top = stack[stack.length - 1];
    if (top !== undefined && cursor !== undefined && cursor < r.start) emit(cursor, pred(r.start), top.value);
    stack.push(r);
    cursor = r.start;
  }
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (cursor !== undefined && cursor <= top.end) { emit(cursor, top.end, top.value); cursor = succ(top.end); }
  }
  return out;
}

/**
 * Overlays normalized layers: where several cover an address, the last layer given wins. Returns
 * sorted disjoint ranges with adjacent equal values merged.
 */
export function overlayLayers<T extends Num>(layers: readonly (readonly R<T>[])[]): R<T>[] {
  // Each normalized layer's boundaries (start, end+1, …) are already sorted; merge them.
  const bounds: T[] = [];
  for (const layer of layers) for (const r of layer) bounds.push(r.start, succ(r.end));
  bounds.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const ptr = layers.map(() => 0);
  const out: R<T>[] = [];
  for (let i = 0; i < bounds.length - 1; i++) {
    const lo = bounds[i]!;
    const hiExcl = bounds[i + 1]!;
    if (lo === hiExcl) continue;
    let value = -1;
    for (let l = layers.length - 1; l >= 0; l--) {
      const layer = layers[l]!;
      let p = ptr[l]!;
      while (p < layer.length && layer[p]!.end < lo) p++;
      ptr[l] = p;
      const r = layer[p];
      if (r !== undefined && r.start <= lo) { value = r.value; break; }
    }
    if (value < 0) continue;
    const end = pred(hiExcl);
    const last = out[out.length - 1];
    if (last !== undefined && last.value === value && succ(last.end) === lo) last.end = end;
    else out.push({ start: lo, end, value });
  }
  return out;
}

/** Disjoint sorted IPv4 ranges in typed arrays with a 16-bit first-level index, searched in a few steps. */
export interface Table4 {
  starts: Uint32Array;
  ends: Uint32Array;
  values: Uint32Array;
  /** `index[k]` is the first row whose start's top 16 bits are ≥ k; 65 537 entries. */
  index: Uint32Array;
}

/** Disjoint sorted IPv6 ranges: four big-endian 32-bit words per start and end, indexed on the first word's top 16 bits. */
export interface Table6 {
  starts: Uint32Array;
  ends: Uint32Array;
  values: Uint32Array;
  index: Uint32Array;
}

/** Both families of a compiled table. */
export interface RangeTable {
  v4: Table4;
  v6: Table6;
}

/** Compiles disjoint sorted IPv4 ranges. */
export function compileTable4(ranges: readonly Range4[]): Table4 {
  const n = ranges.length;
  const starts = new Uint32Array(n);
  const ends = new Uint32Array(n);
  const values = new Uint32Array(n);
  for (let i = 0; i < n; i++) { const r = ranges[i]!; starts[i] = r.start; ends[i] = r.end; values[i] = r.value; }
  const index = new Uint32Array(65537);
  let row = 0;
  for (let k = 0; k <= 65536; k++) {
    while (row < n && starts[row]! >>> 16 < k) row++;
    index[k] = row;
  }
  return { starts, ends, values, index };
}

/** Compiles disjoint sorted IPv6 ranges. */
export function compileTable6(ranges: readonly Range6[]): Table6 {
  const n = ranges.length;
  const starts = new Uint32Array(n * 4);
  const ends = new Uint32Array(n * 4);
  const values = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const r = ranges[i]!;
    for (let w = 0; w < 4; w++) {
      const shift = BigInt(96 - 32 * w);
      starts[i * 4 + w] = Number((r.start >> shift) & 0xffff_ffffn);
      ends[i * 4 + w] = Number((r.end >> shift) & 0xffff_ffffn);
    }
    values[i] = r.value;
  }
  const index = new Uint32Array(65537);
  let row = 0;
  for (let k = 0; k <= 65536; k++) {
    while (row < n && starts[row * 4]! >>> 16 < k) row++;
    index[k] = row;
  }
  return { starts, ends, values, index };
}

/** Compiles a range set whose layers are already normalized and overlaid. */
export function compileTable(set: RangeSet): RangeTable {
  return { v4: compileTable4(set.v4), v6: compileTable6(set.v6) };
}

/** Normalizes, overlays (last wins) and compiles several layers of ranges. */
export function buildTable(layers: readonly RangeSet[]): RangeTable {
  return compileTable({
    v4: overlayLayers(layers.map((l) => normalizeLayer(l.v4))),
    v6: overlayLayers(layers.map((l) => normalizeLayer(l.v6))),
  });
}

/** Value of the IPv4 address `x` in `t`, or `miss` when no range holds it. Hot path: bench/selection. */
export function lookup4(t: Table4, x: number, miss: number): number {
  const k = x >>> 16;
  // The row holding x is the last one starting at or before x: between index[k]-1 and index[k+1]-1.
  let lo = t.index[k]!;
  let hi = t.index[k + 1]!;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t.starts[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  const r = lo - 1;
  if (r < 0 || t.ends[r]! < x) return miss;
  return t.values[r]!;
}

/** Value of the IPv6 address given as four big-endian words in `t`, or `miss`. Hot path: bench/selection. */
export function lookup6(t: Table6, w0: number, w1: number, w2: number, w3: number, miss: number): number {
  const k = w0 >>> 16;
  let lo = t.index[k]!;
  let hi = t.index[k + 1]!;
  const s = t.starts;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const b = mid * 4;
    const a0 = s[b]!;
    let le: boolean;
    if (a0 !== w0) le = a0 < w0;
    else if (s[b + 1] !== w1) le = s[b + 1]! < w1;
    else if (s[b + 2] !== w2) le = s[b + 2]! < w2;
    else le = s[b + 3]! <= w3;
    if (le) lo = mid + 1;
    else hi = mid;
  }
  const r = lo - 1;
  if (r < 0) return miss;
  const e = t.ends;
  const b = r * 4;
  let inside: boolean;
  if (e[b] !== w0) inside = e[b]! > w0;
  else if (e[b + 1] !== w1) inside = e[b + 1]! > w1;
  else if (e[b + 2] !== w2) inside = e[b + 2]! > w2;
  else inside = e[b + 3]! >= w3;
  return inside ? t.values[r]! : miss;
}

/** Value of the address in the 16-byte slot at `o`, or `miss`. */
export function lookupSlot(t: RangeTable, buf: Uint8Array, o: number, miss: number): number {
  return lookupSlotAt(t, addressView(buf), o, miss);
}

/** lookupSlot over the column's DataView (addressView): the form hot loops use. Hot path: bench/selection, bench/ingest. */
export function lookupSlotAt(t: RangeTable, v: DataView, o: number, miss: number): number {
  const w0 = v.getUint32(o, false);
  const w1 = v.getUint32(o + 4, false);
  const w2 = v.getUint32(o + 8, false);
  const w3 = v.getUint32(o + 12, false);
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) return lookup4(t.v4, w3, miss);
  return lookup6(t.v6, w0, w1, w2, w3, miss);
}

/**
 * Lays `top` (disjoint, sorted ranges: a normalized layer) over a compiled table in one linear pass, as
 * `buildTable([base layers…, top])` would: where `top` covers an address it wins. Used to apply a change of
 * operator ranges without folding the country data again (live-locator.ts).
 */
export function overlayTable(base: RangeTable, top: RangeSet): RangeTable {
  const t4 = normalizeLayer(top.v4);
  const t6 = normalizeLayer(top.v6).map((r) => ({ start: toWords(r.start), end: toWords(r.end), value: r.value }));
  return {
    v4: overlayWords(base.v4, t4.map((r) => ({ start: [r.start], end: [r.end], value: r.value })), 1),
    v6: overlayWords(base.v6, t6, 4),
  };
}

function toWords(x: bigint): number[] {
  return [0, 1, 2, 3].map((w) => Number((x >> BigInt(96 - 32 * w)) & 0xffff_ffffn));
}

// Compares the W-word value at a[ia*W…] with b[ib*W…].
function cmpWords(a: ArrayLike<number>, ia: number, b: ArrayLike<number>, ib: number, W: number): number {
  for (let w = 0; w < W; w++) {
    const x = a[ia * W + w]!, y = b[ib * W + w]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

// The W-word value plus `delta` (±1), with carry; never called past the ends of the address space.
function stepWords(v: ArrayLike<number>, i: number, W: number, delta: 1 | -1): number[] {
  const out = Array.from({ length: W }, (_, w) => v[i * W + w]!);
  for (let w = W - 1; w >= 0; w--) {
    const n = out[w]! + delta;
    if (n >= 0 && n <= 0xffff_ffff) { out[w] = n; break; }
    out[w] = delta === 1 ? 0 : 0xffff_ffff;
  }
  return out;
}

function overlayWords(b: Table4 | Table6, top: readonly { start: number[]; end: number[]; value: number }[], W: number): Table4 {
  const n = b.values.length;
  const cap = n + 2 * top.length + 1;
  const starts = new Uint32Array(cap * W), ends = new Uint32Array(cap * W), values = new Uint32Array(cap);
  let m = 0;
  const push = (s: ArrayLike<number>, si: number, e: ArrayLike<number>, ei: number, v: number): void => {
    for (let w = 0; w < W; w++) { starts[m * W + w] = s[si * W + w]!; ends[m * W + w] = e[ei * W + w]!; }
    values[m++] = v;
  };
  let i = 0;
  // A base row clipped by the previous top range starts at `clip` instead of its own start.
  let clip: number[] | undefined;
  const startOf = (): [ArrayLike<number>, number] => (clip !== undefined ? [clip, 0] : [b.starts, i]);
  for (const d of top) {
    while (i < n && cmpWords(b.ends, i, d.start, 0, W) < 0) { const [s, si] = startOf(); push(s, si, b.ends, i, b.values[i]!); clip = undefined; i++; }
    if (i < n) {
      const [s, si] = startOf();
      if (cmpWords(s, si, d.start, 0, W) < 0) push(s, si, stepWords(d.start, 0, W, -1), 0, b.values[i]!);
    }
    push(d.start, 0, d.end, 0, d.value);
    while (i < n && cmpWords(b.ends, i, d.end, 0, W) <= 0) { clip = undefined; i++; }
    if (i < n) { const [s, si] = startOf(); if (cmpWords(s, si, d.end, 0, W) <= 0) clip = stepWords(d.end, 0, W, 1); }
  }
  for (; i < n; i++) { const [s, si] = startOf(); push(s, si, b.ends, i, b.values[i]!); clip = undefined; }
  const index = new Uint32Array(65537);
  let row = 0;
  for (let k = 0; k <= 65536; k++) {
    while (row < m && starts[row * W]! >>> 16 < k) row++;
    index[k] = row;
  }
  return { starts: starts.slice(0, m * W), ends: ends.slice(0, m * W), values: values.slice(0, m), index };
}
