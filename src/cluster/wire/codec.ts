/** @module The wire format of selected, minimized flow batches between an edge and the centre: versioned, binary, column by column. */
import { createAnalysisBatch, internWordRows, type AnalysisBatch, type HostTable } from '#modules/analysis/index.js';
import { ADDR_ABSENT, ADDR_FOREIGN, ADDR_PSEUDONYM, createSelectedBatch, type SelectedBatch } from '#modules/selection/index.js';

/** First bytes of every encoded batch: "MB" then the format version. */
export const WIRE_MAGIC = 0x4d42;
/** The version this code writes; a reader refuses any other (a newer edge needs a newer centre). */
export const WIRE_VERSION = 1;

/** What travels with a batch beside its rows. */
export interface WireMeta {
  /** The edge that selected the flows (its configured id, e.g. `osaka-ix-1`). */
  edge: string;
  /** The edge's batch number: with `edge`, `family` and `partition`, the message id (a resend is stored once). */
  seq: number;
  /** Partition family (`d`: by destination, `s`: by source) and number. */
  family: string;
  partition: number;
  /** When the edge selected it (ms since the epoch). */
  selectedAtMs: number;
}

/** A batch read from the wire. */
export interface WireBatch {
  meta: WireMeta;
  batch: SelectedBatch;
}

/** Why bytes could not be read as a batch: the message names the part. */
export class WireError extends Error {
  constructor(readonly code: 'WIRE_TRUNCATED' | 'WIRE_BAD_MAGIC' | 'WIRE_VERSION' | 'WIRE_INVALID', message: string) {
    super(message);
    this.name = 'WireError';
  }
}

// Column encodings.
const E_CONST = 0, E_VARINT = 1, E_F64 = 2, E_DELTA = 3;
// How `end` travels: as the duration from start (whole ms), or as values.
const END_AS_VALUES = 0, END_AS_DURATION = 1;
// Address forms on the wire: absent, foreign IPv4 (4 bytes), foreign IPv6 (16), pseudonym (16).
const A_ABSENT = 0, A_V4 = 1, A_V6 = 2, A_PSEUDONYM = 3;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Unsigned LEB128 of a whole number 0 ≤ v < 2^53 at `buf[pos]` (room made by the caller); returns the position after it.
 * Column loops keep the position in a local and call this (inlined) per value: no load and store of a writer's field per value.
 */
function putVaruint(buf: Uint8Array, pos: number, v: number): number {
  if (v < 0x80000000) {
    // 31 bits: integer arithmetic.
    while (v >= 0x80) { buf[pos++] = (v & 0x7f) | 0x80; v >>>= 7; }
  } else {
    while (v >= 0x80) { buf[pos++] = (v % 0x80) | 0x80; v = Math.floor(v / 0x80); }
  }
  buf[pos++] = v;
  return pos;
}

/** A growable byte buffer with little-endian and LEB128 writers. */
class Writer {
  buf: Uint8Array;
  view: DataView;
  pos = 0;
  constructor(size: number) { this.buf = new Uint8Array(size); this.view = new DataView(this.buf.buffer); }
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void { this.room(1); this.buf[this.pos++] = v; }
  u16(v: number): void { this.room(2); this.view.setUint16(this.pos, v, true); this.pos += 2; }
  u32(v: number): void { this.room(4); this.view.setUint32(this.pos, v, true); this.pos += 4; }
  f64(v: number): void { this.room(8); this.view.setFloat64(this.pos, v, true); this.pos += 8; }
  /** Unsigned LEB128 of a whole number 0 ≤ v < 2^53. */
  varuint(v: number): void {
    this.room(8);
    this.varuintUnchecked(v);
  }
  /** As `varuint`, after `room(8)` was made for it. */
  varuintUnchecked(v: number): void { this.pos = putVaruint(this.buf, this.pos, v); }
  /** Zigzag LEB128 of a whole number with |v| < 2^52. */
  varint(v: number): void { this.varuint(v < 0 ? -2 * v - 1 : 2 * v); }
  bytes(b: Uint8Array, from: number, n: number): void { this.room(n); this.buf.set(b.subarray(from, from + n), this.pos); this.pos += n; }
  str(s: string): void { const b = utf8.encode(s); this.varuint(b.length); this.bytes(b, 0, b.length); }
}

/** A bounds-checked reader: every read past the end is a WireError, never garbage. */
class Reader {
  pos = 0;
  readonly view: DataView;
  constructor(readonly buf: Uint8Array) { this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength); }
  need(n: number, what: string): void { if (this.pos + n > this.buf.length) throw new WireError('WIRE_TRUNCATED', `batch ends inside ${what} (byte ${this.pos} of ${this.buf.length})`); }
  u8(what: string): number { this.need(1, what); return this.buf[this.pos++]!; }
  u16(what: string): number { this.need(2, what); const v = this.view.getUint16(this.pos, true); this.pos += 2; return v; }
  u32(what: string): number { this.need(4, what); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  f64(what: string): number { this.need(8, what); const v = this.view.getFloat64(this.pos, true); this.pos += 8; return v; }
  varuint(what: string): number {
    let v = 0, mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8(what);
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
    }
    throw new WireError('WIRE_INVALID', `${what}: a number longer than 8 bytes`);
  }
  varint(what: string): number { const z = this.varuint(what); return z % 2 === 0 ? z / 2 : -(z + 1) / 2; }
  /** As `varint`, by way of `varuintFast`. */
  varintFast(what: string): number { const z = this.varuintFast(what); return z % 2 === 0 ? z / 2 : -(z + 1) / 2; }
  /** A varuint of up to 31 bits without a check per byte while 5 bytes remain; otherwise the checked path. */
  varuintFast(what: string): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos + 5 > buf.length) return this.varuint(what);
    let b = buf[pos++]!;
    if (b < 0x80) { this.pos = pos; return b; }
    let v = b & 0x7f;
    b = buf[pos++]!; v |= (b & 0x7f) << 7;
    if (b < 0x80) { this.pos = pos; return v; }
    b = buf[pos++]!; v |= (b & 0x7f) << 14;
    if (b < 0x80) { this.pos = pos; return v; }
    b = buf[pos++]!; v |= (b & 0x7f) << 21;
    if (b < 0x80) { this.pos = pos; return v; }
    // Longer than 28 bits: read it again the general way.
    return this.varuint(what);
  }
  str(what: string): string {
    const n = this.varuint(what);
    this.need(n, what);
    try {
      return fromUtf8.decode(this.buf.subarray(this.pos, (this.pos += n)));
    } catch {
      throw new WireError('WIRE_INVALID', `${what}: not UTF-8`);
    }
  }
}

type IntColumn = Uint8Array | Uint16Array | Uint32Array;

/** Writes `col[rows[k]]` for `from ≤ k < to`: the rows of one partition, read in place (no copy per partition). */
function writeInts(w: Writer, col: IntColumn, rows: Int32Array, from: number, to: number): void {
  const first = to > from ? col[rows[from]!]! : 0;
  let same = true;
  for (let k = from + 1; k < to && same; k++) same = col[rows[k]!] === first;
  if (same) { w.u8(E_CONST); w.varuint(first); return; }
  w.u8(E_VARINT);
  w.room((to - from) * 5);
  const buf = w.buf;
  let pos = w.pos;
  for (let k = from; k < to; k++) pos = putVaruint(buf, pos, col[rows[k]!]!);
  w.pos = pos;
}

/**
 * Reads the `n` varuints of a column's body into `out[0 … n)` with the position in a local: while 5 bytes remain a
 * value of up to 28 bits is read without a check per byte or a write of `r.pos` per value (Reader.varuintFast's work);
 * near the end, or past 28 bits, the checked way. Returns the largest value, so a column's range is checked once.
 */
function readVaruints(r: Reader, out: IntColumn | Float64Array, n: number, what: string): number {
  const buf = r.buf, last = buf.length - 5;
  let pos = r.pos, max = 0;
  for (let i = 0; i < n; i++) {
    let v: number;
    if (pos > last) { r.pos = pos; v = r.varuint(what); pos = r.pos; }
    else {
      let b = buf[pos++]!;
      v = b & 0x7f;
      if (b >= 0x80) {
        b = buf[pos++]!; v |= (b & 0x7f) << 7;
        if (b >= 0x80) {
          b = buf[pos++]!; v |= (b & 0x7f) << 14;
          if (b >= 0x80) {
            b = buf[pos++]!; v |= (b & 0x7f) << 21;
            // Longer than 28 bits: read it again the general way.
            if (b >= 0x80) { r.pos = pos - 4; v = r.varuint(what); pos = r.pos; }
          }
        }
      }
    }
    if (v > max) max = v;
    out[i] = v;
  }
  r.pos = pos;
  return max;
}

/** Reads an integer column into `col[0 … n)`; returns the value of a constant column, else −1. */
function readInts(r: Reader, col: IntColumn, n: number, max: number, what: string): number {
  const enc = r.u8(what);
  if (enc === E_CONST) {
    const v = r.varuint(what);
    if (v > max) throw new WireError('WIRE_INVALID', `${what}: ${v} is out of range`);
    col.fill(v, 0, n);
    return v;
  }
  if (enc !== E_VARINT) throw new WireError('WIRE_INVALID', `${what}: unknown encoding ${enc}`);
  const top = readVaruints(r, col, n, what);
  if (top > max) throw new WireError('WIRE_INVALID', `${what}: ${top} is out of range`);
  return -1;
}

let skipped = new Float64Array(4096);

/** readInts of a column nobody reads here: every value is checked, none kept. */
function skipInts(r: Reader, n: number, max: number, what: string): void {
  const enc = r.u8(what);
  if (enc === E_CONST) {
    const v = r.varuint(what);
    if (v > max) throw new WireError('WIRE_INVALID', `${what}: ${v} is out of range`);
    return;
  }
  if (enc !== E_VARINT) throw new WireError('WIRE_INVALID', `${what}: unknown encoding ${enc}`);
  // Read as readInts reads (the same error for the same bytes), into a column of its own.
  if (skipped.length < n) skipped = new Float64Array(n);
  const top = readVaruints(r, skipped, n, what);
  if (top > max) throw new WireError('WIRE_INVALID', `${what}: ${top} is out of range`);
}

const isWhole = (v: number): boolean => Number.isInteger(v) && v >= 0 && v < 2 ** 52;

/** Floats that are whole numbers (times in ms, scaled counts) go as varints, others as raw f64 (rows as in writeInts). */
function writeFloats(w: Writer, col: Float64Array, rows: Int32Array, from: number, to: number, delta: boolean): void {
  const first = to > from ? col[rows[from]!]! : 0;
  let whole = true, same = true;
  for (let k = from; k < to && whole; k++) { const v = col[rows[k]!]!; whole = isWhole(v); same &&= v === first; }
  if (whole && same) { w.u8(E_CONST); w.varuint(first); return; }
  if (!whole) { w.u8(E_F64); for (let k = from; k < to; k++) w.f64(col[rows[k]!]!); return; }
  // A varuint of a whole number below 2^53 takes at most 8 bytes; one more for the encoding byte.
  w.room(1 + (to - from) * 8);
  w.u8(delta ? E_DELTA : E_VARINT);
  const buf = w.buf;
  let pos = w.pos;
  if (delta) {
    let prev = 0;
    for (let k = from; k < to; k++) { const v = col[rows[k]!]!, d = v - prev; pos = putVaruint(buf, pos, d < 0 ? -2 * d - 1 : 2 * d); prev = v; }
  } else {
    for (let k = from; k < to; k++) pos = putVaruint(buf, pos, col[rows[k]!]!);
  }
  w.pos = pos;
}

function readFloats(r: Reader, col: Float64Array, n: number, what: string): void {
  const enc = r.u8(what);
  if (enc === E_CONST) { col.fill(r.varuint(what), 0, n); return; }
  if (enc === E_F64) { for (let i = 0; i < n; i++) col[i] = r.f64(what); return; }
  if (enc === E_VARINT) { readVaruints(r, col, n, what); return; }
  if (enc === E_DELTA) {
    let prev = 0;
    for (let i = 0; i < n; i++) {
      prev += r.varintFast(what);
      if (!isWhole(prev)) throw new WireError('WIRE_INVALID', `${what}: ${prev} is out of range`);
      col[i] = prev;
    }
    return;
  }
  throw new WireError('WIRE_INVALID', `${what}: unknown encoding ${enc}`);
}

/** Whether this machine stores numbers little-endian: slots are read and written as 32-bit words in memory order. */
const LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** The third word of an IPv4-mapped slot (bytes 00 00 ff ff), in memory order. */
const V4_MAPPED_WORD = new Uint32Array(new Uint8Array([0, 0, 0xff, 0xff]).buffer)[0]!;

/** A 32-bit view of 16-byte address slots (aligned whenever the slots' array is, as selection makes them), or undefined. */
function slotWords(addrs: Uint8Array): Uint32Array | undefined {
  return addrs.byteOffset % 4 === 0 ? new Uint32Array(addrs.buffer, addrs.byteOffset, addrs.length >>> 2) : undefined;
}

function isV4Mapped(a: Uint8Array, o: number): boolean {
  for (let j = 0; j < 10; j++) if (a[o + j] !== 0) return false;
  return a[o + 10] === 0xff && a[o + 11] === 0xff;
}

/** The wire form of each row's address slot (rows as in writeInts), in `forms[0 … to - from)`. */
function addrForms(forms: Uint8Array, kinds: Uint8Array, addrs: Uint8Array, words: Uint32Array | undefined, rows: Int32Array, from: number, to: number, what: string): void {
  for (let k = from; k < to; k++) {
    const i = rows[k]!, kind = kinds[i]!;
    let f: number;
    if (kind === ADDR_ABSENT) f = A_ABSENT;
    else if (kind === ADDR_PSEUDONYM) f = A_PSEUDONYM;
    else if (kind === ADDR_FOREIGN) {
      const q = i * 4;
      const v4 = words !== undefined ? words[q] === 0 && words[q + 1] === 0 && words[q + 2] === V4_MAPPED_WORD : isV4Mapped(addrs, i * 16);
      f = v4 ? A_V4 : A_V6;
    }
    // Only selection's output travels: an address slot of any other kind is refused, never sent.
    else throw new WireError('WIRE_INVALID', `${what} of row ${k - from}: kind ${kind} is not absent, foreign or pseudonym`);
    forms[k - from] = f;
  }
}

function writeAddrs(w: Writer, kinds: Uint8Array, addrs: Uint8Array, rows: Int32Array, from: number, to: number, what: string, scratch: Scratch): void {
  const n = to - from;
  const forms = scratch.forms.length >= n ? scratch.forms : (scratch.forms = new Uint8Array(n));
  const words = slotWords(addrs);
  addrForms(forms, kinds, addrs, words, rows, from, to, what);
  // The forms column as writeInts writes it (without a pass through `identity`): a form is below 0x80, so its varint is its byte.
  let k = 1;
  while (k < n && forms[k] === forms[0]) k++;
  if (k >= n) { w.u8(E_CONST); w.u8(n > 0 ? forms[0]! : 0); } else { w.u8(E_VARINT); w.bytes(forms, 0, n); }
  w.room(n * 16);
  let pos = w.pos;
  if (words !== undefined) {
    // Four words a slot instead of sixteen bytes.
    const view = w.view;
    for (let k = 0; k < n; k++) {
      const f = forms[k]!, q = rows[from + k]! * 4;
      if (f === A_V4) { view.setUint32(pos, words[q + 3]!, LE); pos += 4; }
      else if (f !== A_ABSENT) {
        view.setUint32(pos, words[q]!, LE); view.setUint32(pos + 4, words[q + 1]!, LE);
        view.setUint32(pos + 8, words[q + 2]!, LE); view.setUint32(pos + 12, words[q + 3]!, LE);
        pos += 16;
      }
    }
  } else {
    const buf = w.buf;
    for (let k = 0; k < n; k++) {
      const f = forms[k]!, o = rows[from + k]! * 16;
      if (f === A_V4) { buf[pos] = addrs[o + 12]!; buf[pos + 1] = addrs[o + 13]!; buf[pos + 2] = addrs[o + 14]!; buf[pos + 3] = addrs[o + 15]!; pos += 4; }
      else if (f !== A_ABSENT) { for (let j = 0; j < 16; j++) buf[pos + j] = addrs[o + j]!; pos += 16; }
    }
  }
  w.pos = pos;
}

const sharedWriter = new Writer(1 << 16);

/** Arrays an encoder reuses from batch to batch (one encoder runs at a time: encoding is synchronous). */
interface Scratch { forms: Uint8Array; identity: Int32Array }
const scratch: Scratch = { forms: new Uint8Array(4096), identity: new Int32Array(0) };

/** 0, 1, …, n − 1 (shared; never written by its readers). */
function identity(n: number): Int32Array {
  if (scratch.identity.length < n) {
    const next = new Int32Array(Math.max(n, 2 * scratch.identity.length, 4096));
    for (let i = 0; i < next.length; i++) next[i] = i;
    scratch.identity = next;
  }
  return scratch.identity;
}

let decodeForms = new Uint8Array(4096);

function readAddrs(r: Reader, kinds: Uint8Array, addrs: Uint8Array, n: number, what: string): void {
  const forms = decodeForms.length >= n ? decodeForms : (decodeForms = new Uint8Array(n));
  const same = readInts(r, forms, n, A_PSEUDONYM, `${what} forms`);
  // One form for every row (the usual case: a d message's destinations are all pseudonyms, its sources all foreign IPv4):
  // 16-byte slots travel as they are stored, so the column is one copy.
  if (same === A_ABSENT || same === A_PSEUDONYM || same === A_V6) {
    const len = same === A_ABSENT ? 0 : n * 16;
    r.need(len, what);
    if (len === 0) addrs.fill(0, 0, n * 16);
    else addrs.set(r.buf.subarray(r.pos, r.pos + len));
    kinds.fill(same === A_ABSENT ? ADDR_ABSENT : same === A_PSEUDONYM ? ADDR_PSEUDONYM : ADDR_FOREIGN, 0, n);
    r.pos += len;
    return;
  }
  let bytes = 0;
  for (let i = 0; i < n; i++) { const f = forms[i]!; bytes += f === A_ABSENT ? 0 : f === A_V4 ? 4 : 16; }
  r.need(bytes, what);
  // Bounds checked once for the whole column above; a batch filled again holds an earlier message's bytes, so every slot is written whole.
  const words = slotWords(addrs);
  const view = r.view;
  let p = r.pos;
  for (let i = 0; i < n; i++) {
    const f = forms[i]!;
    if (words !== undefined) {
      const q = i * 4;
      if (f === A_ABSENT) { words[q] = 0; words[q + 1] = 0; words[q + 2] = 0; words[q + 3] = 0; kinds[i] = ADDR_ABSENT; continue; }
      if (f === A_V4) { words[q] = 0; words[q + 1] = 0; words[q + 2] = V4_MAPPED_WORD; words[q + 3] = view.getUint32(p, LE); p += 4; kinds[i] = ADDR_FOREIGN; continue; }
      words[q] = view.getUint32(p, LE); words[q + 1] = view.getUint32(p + 4, LE); words[q + 2] = view.getUint32(p + 8, LE); words[q + 3] = view.getUint32(p + 12, LE);
    } else {
      const o = i * 16, buf = r.buf;
      if (f === A_ABSENT) { for (let j = 0; j < 16; j++) addrs[o + j] = 0; kinds[i] = ADDR_ABSENT; continue; }
      if (f === A_V4) { for (let j = 0; j < 10; j++) addrs[o + j] = 0; addrs[o + 10] = 0xff; addrs[o + 11] = 0xff; for (let j = 0; j < 4; j++) addrs[o + 12 + j] = buf[p + j]!; p += 4; kinds[i] = ADDR_FOREIGN; continue; }
      for (let j = 0; j < 16; j++) addrs[o + j] = buf[p + j]!;
    }
    p += 16;
    kinds[i] = f === A_PSEUDONYM ? ADDR_PSEUDONYM : ADDR_FOREIGN;
  }
  r.pos = p;
}

function writeStrings(w: Writer, list: readonly string[]): void {
  w.varuint(list.length);
  for (const s of list) w.str(s);
}

function readStrings(r: Reader, what: string, max: number): string[] {
  const n = r.varuint(what);
  if (n > max) throw new WireError('WIRE_INVALID', `${what}: ${n} entries (at most ${max})`);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(r.str(what));
  return out;
}

/** Most rows one batch may carry (a reader refuses more, so a bad length cannot make it allocate gigabytes). */
export const WIRE_MAX_ROWS = 1 << 17;

/**
 * Encodes the first `batch.length` rows of a selected batch with its metadata. Only what selection kept
 * is there: every column outside a row's allowed fields is already zero, and an address slot is a
 * foreign address, a pseudonym or absent (any other kind is refused).
 * @see docs/decisions/0007-cluster-wire-and-partitions.md
 */
export function encodeWireBatch(meta: WireMeta, batch: SelectedBatch): Uint8Array {
  return encodeWireRows(meta, batch, identity(batch.length), 0, batch.length);
}

/**
 * Which columns of a row a message carries: `all`, or `scan` — the columns the scan detector reads (time, endpoints,
 * destination port, protocol, TCP flags, basis, with category, fields and period), every other column sent as the
 * constant a minimized field has (0; sampling rate 1; no exporter). The `s` family is read by the scan detector only
 * (FAMILY_KINDS), so its source ports, bytes, packets, interfaces and exporters would be bytes no one reads.
 */
export type WireColumns = 'all' | 'scan';

/** Writes a column of `n` rows that all hold `v` (the E_CONST form every reader takes). */
function writeConst(w: Writer, v: number): void { w.u8(E_CONST); w.varuint(v); }

/**
 * Encodes rows `rows[from … to)` of a selected batch, in that order, as `encodeWireBatch` would encode a
 * batch holding just them: the edge encodes each partition's rows straight from the selected batch.
 * `alloc` gives the array the message is copied into (the edge's pool), else a new one; `columns` what it carries.
 */
export function encodeWireRows(
  meta: WireMeta, batch: SelectedBatch, rows: Int32Array, from: number, to: number, alloc?: (bytes: number) => Uint8Array, columns: WireColumns = 'all',
): Uint8Array {
  const all = columns === 'all';
  const n = to - from;
  if (n > WIRE_MAX_ROWS) throw new WireError('WIRE_INVALID', `a batch of ${n} rows: at most ${WIRE_MAX_ROWS} go in one message`);
  // One writer's buffer serves every batch (encoding is synchronous); the message is a copy of its bytes.
  const w = sharedWriter;
  w.pos = 0;
  w.room(64 + n * 40);
  w.u16(WIRE_MAGIC);
  w.u8(WIRE_VERSION);
  w.u8(0); // flags, none yet
  w.u32(n);
  w.str(meta.edge);
  w.varuint(meta.seq);
  w.str(meta.family);
  w.varuint(meta.partition);
  w.varuint(meta.selectedAtMs);
  writeStrings(w, batch.basisIds);
  writeStrings(w, batch.periods);
  writeStrings(w, all ? batch.exporters : []);
  writeInts(w, batch.basisIndex, rows, from, to);
  writeInts(w, batch.category, rows, from, to);
  writeInts(w, batch.fields, rows, from, to);
  writeFloats(w, batch.start, rows, from, to, true);
  // End as the duration from start: small numbers.
  let durOk = true;
  for (let k = from; k < to && durOk; k++) {
    const i = rows[k]!, s = batch.start[i]!, e = batch.end[i]!;
    durOk = isWhole(s) && isWhole(e) && Math.abs(e - s) < 2 ** 51;
  }
  if (durOk) {
    w.u8(END_AS_DURATION);
    w.room(n * 8);
    const { start, end } = batch, buf = w.buf;
    let pos = w.pos;
    for (let k = from; k < to; k++) { const i = rows[k]!, d = end[i]! - start[i]!; pos = putVaruint(buf, pos, d < 0 ? -2 * d - 1 : 2 * d); }
    w.pos = pos;
  } else { w.u8(END_AS_VALUES); writeFloats(w, batch.end, rows, from, to, false); }
  writeAddrs(w, batch.srcKind, batch.srcAddr, rows, from, to, 'source address', scratch);
  writeAddrs(w, batch.dstKind, batch.dstAddr, rows, from, to, 'destination address', scratch);
  writeInts(w, batch.periodIndex, rows, from, to);
  if (all) writeInts(w, batch.srcPort, rows, from, to); else writeConst(w, 0);
  writeInts(w, batch.dstPort, rows, from, to);
  writeInts(w, batch.proto, rows, from, to);
  writeInts(w, batch.tcpFlags, rows, from, to);
  if (all) {
    writeFloats(w, batch.bytes, rows, from, to, false);
    writeFloats(w, batch.packets, rows, from, to, false);
    writeInts(w, batch.samplingRate, rows, from, to);
    writeInts(w, batch.inIf, rows, from, to);
    writeInts(w, batch.outIf, rows, from, to);
    writeInts(w, batch.exporterIndex, rows, from, to);
  } else {
    writeConst(w, 0); writeConst(w, 0); writeConst(w, 1); writeConst(w, 0); writeConst(w, 0); writeConst(w, 0);
  }
  if (alloc === undefined) return w.buf.slice(0, w.pos);
  const out = alloc(w.pos);
  out.set(w.buf.subarray(0, w.pos));
  return out;
}

/** The fixed part of a batch up to its string tables: magic, version, flags, row count and metadata. */
function readHeader(r: Reader): { n: number; meta: WireMeta } {
  if (r.u16('magic') !== WIRE_MAGIC) throw new WireError('WIRE_BAD_MAGIC', 'not a mamori flow batch (bad magic)');
  const version = r.u8('version');
  if (version !== WIRE_VERSION) throw new WireError('WIRE_VERSION', `flow batch format version ${version}; this reader knows ${WIRE_VERSION} (upgrade the centre before the edges)`);
  r.u8('flags');
  const n = r.u32('row count');
  if (n > WIRE_MAX_ROWS) throw new WireError('WIRE_INVALID', `row count ${n} exceeds ${WIRE_MAX_ROWS}`);
  const meta: WireMeta = { edge: r.str('edge'), seq: r.varuint('sequence'), family: r.str('family'), partition: r.varuint('partition'), selectedAtMs: r.varuint('selected at') };
  return { n, meta };
}

/**
 * Decodes a batch; throws a WireError naming what is wrong (truncated, another version, an index out of
 * its table) and never returns a partly read batch. `into` (a batch returned by an earlier call) is filled
 * again when it has room for the rows, else a new batch is made; after a failure it is left empty.
 * @see encodeWireBatch
 */
export function decodeWireBatch(bytes: Uint8Array, into?: SelectedBatch): WireBatch {
  const r = new Reader(bytes);
  const { n, meta } = readHeader(r);
  // A reader's batch of an earlier message is filled again when it has room (no allocation per message).
  const b = into !== undefined && into.start.length >= n ? into : createSelectedBatch(n);
  b.length = 0;
  b.basisIds = readStrings(r, 'legal bases', 65_536);
  b.periods = readStrings(r, 'pseudonym periods', 65_536);
  b.exporters = readStrings(r, 'exporters', 65_536);
  readInts(r, b.basisIndex, n, Math.max(0, b.basisIds.length - 1), 'basis index');
  if (n > 0 && b.basisIds.length === 0) throw new WireError('WIRE_INVALID', 'rows without any legal basis');
  readInts(r, b.category, n, 4, 'category');
  readInts(r, b.fields, n, 0xffff, 'fields');
  readFloats(r, b.start, n, 'start');
  const endForm = r.u8('end form');
  if (endForm === END_AS_DURATION) {
    for (let i = 0; i < n; i++) b.end[i] = b.start[i]! + r.varintFast('end');
  } else if (endForm === END_AS_VALUES) readFloats(r, b.end, n, 'end');
  else throw new WireError('WIRE_INVALID', `end: unknown form ${endForm}`);
  readAddrs(r, b.srcKind, b.srcAddr, n, 'source address');
  readAddrs(r, b.dstKind, b.dstAddr, n, 'destination address');
  readInts(r, b.periodIndex, n, Math.max(0, b.periods.length - 1), 'period index');
  readInts(r, b.srcPort, n, 0xffff, 'source port');
  readInts(r, b.dstPort, n, 0xffff, 'destination port');
  readInts(r, b.proto, n, 0xff, 'protocol');
  readInts(r, b.tcpFlags, n, 0xff, 'TCP flags');
  readFloats(r, b.bytes, n, 'bytes');
  readFloats(r, b.packets, n, 'packets');
  readInts(r, b.samplingRate, n, 0xffffffff, 'sampling rate');
  readInts(r, b.inIf, n, 0xffffffff, 'input interface');
  readInts(r, b.outIf, n, 0xffffffff, 'output interface');
  readInts(r, b.exporterIndex, n, Math.max(0, b.exporters.length - 1), 'exporter index');
  if (r.pos !== bytes.length) throw new WireError('WIRE_INVALID', `${bytes.length - r.pos} bytes after the last column`);
  b.length = n;
  return { meta, batch: b };
}

/** Host flags of a row's address as decodeWireForAnalysis keeps them: foreign, domestic (a pseudonym), absent. */
const H_FOREIGN = 0, H_DOMESTIC = 1, H_ABSENT = 2;

/** Arrays decodeWireForAnalysis reuses from message to message (decoding is synchronous). */
let srcWords = new Uint32Array(4 * 4096), dstWords = new Uint32Array(4 * 4096);
let srcFlags = new Uint8Array(4096), dstFlags = new Uint8Array(4096);

/**
 * An address column as slot words (big-endian, four a host: HostTable's key) and host flags, read straight from the
 * message: no slot is written and read again. Returns how many rows have no address.
 */
function readAddrWords(r: Reader, words: Uint32Array, flags: Uint8Array, n: number, what: string): number {
  const forms = decodeForms.length >= n ? decodeForms : (decodeForms = new Uint8Array(n));
  readInts(r, forms, n, A_PSEUDONYM, `${what} forms`);
  let bytes = 0, absent = 0;
  for (let i = 0; i < n; i++) { const f = forms[i]!; bytes += f === A_ABSENT ? 0 : f === A_V4 ? 4 : 16; if (f === A_ABSENT) absent++; }
  r.need(bytes, what);
  const view = r.view;
  let p = r.pos;
  for (let i = 0; i < n; i++) {
    const f = forms[i]!, q = i * 4;
    if (f === A_ABSENT) { flags[i] = H_ABSENT; continue; }
    if (f === A_V4) { words[q] = 0; words[q + 1] = 0; words[q + 2] = 0xffff; words[q + 3] = view.getUint32(p, false); p += 4; flags[i] = H_FOREIGN; continue; }
    words[q] = view.getUint32(p, false); words[q + 1] = view.getUint32(p + 4, false); words[q + 2] = view.getUint32(p + 8, false); words[q + 3] = view.getUint32(p + 12, false);
    p += 16;
    flags[i] = f === A_PSEUDONYM ? H_DOMESTIC : H_FOREIGN;
  }
  r.pos = p;
  return absent;
}

/** A batch read for the detectors: their input, and what the worker needs of every row. */
export interface WireAnalysisBatch {
  meta: WireMeta;
  /** The analysis input: the rows with both endpoints, hosts interned (length 0 when the table cleared twice meanwhile). */
  batch: AnalysisBatch;
  /** Rows in the message (those without an endpoint too). */
  rows: number;
  /** The latest flow end of every row in the message (−Infinity without rows). */
  end: number;
}

/**
 * Decodes a batch straight into the detectors' input, as decodeWireBatch then adaptSelectedBatch would make it: the
 * same rows (those with both endpoints), bases, sampling rates (an unknown 0 becomes 1) and host ids. Columns no
 * detector reads (category, fields, period, interfaces, exporter) are checked, not kept, and addresses are interned from
 * the message's bytes. Throws the WireError decodeWireBatch would; hosts are interned only once the whole message has
 * been read, so a bad message leaves the table as it was. `into` (a batch returned by an earlier call, over `hosts`) is
 * filled again when it has room. Hot path: bench/cluster's worker.
 */
export function decodeWireForAnalysis(bytes: Uint8Array, hosts: HostTable, into?: AnalysisBatch): WireAnalysisBatch {
  const r = new Reader(bytes);
  const { n, meta } = readHeader(r);
  const b = into !== undefined && into.start.length >= n && into.hosts === hosts ? into : createAnalysisBatch(Math.max(n, 4096), hosts);
  b.length = 0;
  if (srcFlags.length < n) { srcWords = new Uint32Array(4 * n); dstWords = new Uint32Array(4 * n); srcFlags = new Uint8Array(n); dstFlags = new Uint8Array(n); }
  // Column by column in the order encodeWireRows writes them.
  const basisIds = readStrings(r, 'legal bases', 65_536);
  const periods = readStrings(r, 'pseudonym periods', 65_536);
  const exporters = readStrings(r, 'exporters', 65_536);
  readInts(r, b.basis, n, Math.max(0, basisIds.length - 1), 'basis index');
  if (n > 0 && basisIds.length === 0) throw new WireError('WIRE_INVALID', 'rows without any legal basis');
  skipInts(r, n, 4, 'category');
  skipInts(r, n, 0xffff, 'fields');
  readFloats(r, b.start, n, 'start');
  const endForm = r.u8('end form');
  // The latest end of every row (those without an endpoint too), found while reading them.
  let end = -Infinity;
  if (endForm === END_AS_DURATION) {
    for (let i = 0; i < n; i++) { const e = b.start[i]! + r.varintFast('end'); b.end[i] = e; if (e > end) end = e; }
  } else if (endForm === END_AS_VALUES) {
    readFloats(r, b.end, n, 'end');
    for (let i = 0; i < n; i++) if (b.end[i]! > end) end = b.end[i]!;
  } else throw new WireError('WIRE_INVALID', `end: unknown form ${endForm}`);
  const absent = readAddrWords(r, srcWords, srcFlags, n, 'source address') + readAddrWords(r, dstWords, dstFlags, n, 'destination address');
  skipInts(r, n, Math.max(0, periods.length - 1), 'period index');
  readInts(r, b.srcPort, n, 0xffff, 'source port');
  readInts(r, b.dstPort, n, 0xffff, 'destination port');
  readInts(r, b.proto, n, 0xff, 'protocol');
  readInts(r, b.tcpFlags, n, 0xff, 'TCP flags');
  readFloats(r, b.bytes, n, 'bytes');
  readFloats(r, b.packets, n, 'packets');
  readInts(r, b.samplingRate, n, 0xffffffff, 'sampling rate');
  skipInts(r, n, 0xffffffff, 'input interface');
  skipInts(r, n, 0xffffffff, 'output interface');
  skipInts(r, n, Math.max(0, exporters.length - 1), 'exporter index');
  if (r.pos !== bytes.length) throw new WireError('WIRE_INVALID', `${bytes.length - r.pos} bytes after the last column`);
  const m = absent === 0 ? n : keepBothEndpoints(b, n);
  // Bases in the order kept rows first name them (as adaptSelectedBatch numbers them); one basis (the usual case) is
  // index 0 already.
  if (basisIds.length === 1) b.bases = m > 0 ? [basisIds[0]!] : [];
  else {
    const basisMap = new Int32Array(basisIds.length).fill(-1);
    b.bases = [];
    for (let k = 0; k < m; k++) {
      const bi = b.basis[k]!;
      let x = basisMap[bi]!;
      if (x < 0) { x = b.bases.length; b.bases.push(basisIds[bi]!); basisMap[bi] = x; }
      b.basis[k] = x;
    }
  }
  for (let k = 0; k < m; k++) if (b.samplingRate[k] === 0) b.samplingRate[k] = 1;
  // A table that might fill during this batch (judged by all its rows) starts over first, and a batch whose ids span a
  // reset is interned again (once; then it is left empty), as adaptSelectedBatch does.
  if (hosts.size + 2 * n > hosts.maxHosts) hosts.clear();
  let ok = internWordRows(hosts, srcWords, srcFlags, dstWords, dstFlags, m, b.src, b.dst);
  if (!ok) ok = internWordRows(hosts, srcWords, srcFlags, dstWords, dstFlags, m, b.src, b.dst);
  b.length = ok ? m : 0;
  return { meta, batch: b, rows: n, end };
}

/** Moves the rows with both endpoints to the front (in order); returns how many there are. */
function keepBothEndpoints(b: AnalysisBatch, n: number): number {
  let m = 0;
  for (let i = 0; i < n; i++) {
    if (srcFlags[i] === H_ABSENT || dstFlags[i] === H_ABSENT) continue;
    if (m !== i) {
      b.basis[m] = b.basis[i]!; b.start[m] = b.start[i]!; b.end[m] = b.end[i]!;
      b.srcPort[m] = b.srcPort[i]!; b.dstPort[m] = b.dstPort[i]!; b.proto[m] = b.proto[i]!; b.tcpFlags[m] = b.tcpFlags[i]!;
      b.bytes[m] = b.bytes[i]!; b.packets[m] = b.packets[i]!; b.samplingRate[m] = b.samplingRate[i]!;
      srcFlags[m] = srcFlags[i]!; dstFlags[m] = dstFlags[i]!;
      srcWords.copyWithin(m * 4, i * 4, i * 4 + 4);
      dstWords.copyWithin(m * 4, i * 4, i * 4 + 4);
    }
    m++;
  }
  return m;
}
