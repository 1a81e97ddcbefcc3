/**
 * @module Writing one sealed write-ahead segment as Parquet: read it back, order its rows by partition and foreign
 * address, one COPY per partition into `_tmp/`, rename into place, delete the segment. Runs in the writer's thread
 * (write-thread.ts) or in the caller's (tests inject engines); the same code either way.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { enumWidth, type DuckDb, type ScanSource, type ScanType } from '#platform/duckdb/index.js';
import { CATEGORIES } from '../classify.js';
import { ADDR_FOREIGN, ADDR_PSEUDONYM, type SelectedBatch } from '../minimize.js';
import { FIELD_BIT } from '../schema.js';
import { freshAlloc, unzeroed, type Alloc, type Scratch } from '../scratch.js';
import { bswap32, listPartitions, PARQUET_OPTIONS, sqlString, TMP_DIR, WAL_DIR } from './layout.js';
import { deleteSegment, readSegmentUnit } from './wal.js';

/** What writing one segment did. */
export interface SegmentWriteResult {
  /** Rows now in Parquet files. */
  rows: number;
  files: number;
  /** Rows of purged bases left out. */
  purgedRows: number;
  /** Bytes at the segment's end cut by a crash mid-append (never acknowledged). */
  tornBytes: number;
}

/** How to write a segment: bases purged meanwhile, and whether a previous process may have renamed some of its files already. */
export interface SegmentWriteOptions { excluded: readonly string[]; recovered: boolean }

const SCAN_NAME = 'mamori_archive_scan';
const CHUNK = 2048;

/**
 * The file's columns in order, as the scan gives them (the files' schema: queries and compaction read these names and
 * types). Enum columns are written to Parquet as strings; their members are the unit's tables, so they are asked for
 * when each COPY binds.
 */
function scanColumns(b: SelectedBatch): (readonly [string, ScanType])[] {
  const u64 = (n: string): readonly [string, ScanType] => [n, 'u64'];
  return [
    ['category', { enum: CATEGORIES }], ['start', 'timestamp'], ['end', 'timestamp'],
    u64('src_ip_hi'), u64('src_ip_lo'), u64('dst_ip_hi'), u64('dst_ip_lo'),
    u64('src_pseudonym_hi'), u64('src_pseudonym_lo'), u64('dst_pseudonym_hi'), u64('dst_pseudonym_lo'),
    ['pseudonym_period', { enum: members(b.periods) }], ['src_port', 'u16'], ['dst_port', 'u16'], ['proto', 'u8'], ['tcp_flags', 'u8'],
    ['bytes', 'double'], ['packets', 'double'], ['sampling_rate', 'u32'], ['in_if', 'u32'], ['out_if', 'u32'],
    ['exporter', { enum: members(b.exporters) }],
  ];
}
/** An enum needs one member at least; an empty table's rows are all NULL. */
const members = (table: readonly string[]): readonly string[] => (table.length === 0 ? [''] : table);

/** One engine's scan registration: the columns and source the next COPY reads (set around each COPY; engines are used by one write at a time). */
interface ScanHolder { columns: (readonly [string, ScanType])[]; source: ScanSource }
const scans = new WeakMap<DuckDb, ScanHolder>();
function scanOf(e: DuckDb): ScanHolder {
  let s = scans.get(e);
  if (s === undefined) {
    const holder: ScanHolder = { columns: [], source: () => 0 };
    e.registerScan(SCAN_NAME, () => holder.columns, () => holder.source);
    scans.set(e, holder);
    s = holder;
  }
  return s;
}

/**
 * The clustering key of each row into `key` and `v6`: its foreign address (the source's when it is foreign or neither
 * end is), as 32 bits — an IPv4 address itself, an IPv6 address's first 32 bits — and whether it is IPv6. Rows sorted
 * by it give each row group a narrow range of `*_ip_hi`/`*_ip_lo`, so their min/max statistics let an address or prefix
 * filter skip the others.
 */
function foreignKeysInto(b: SelectedBatch, key: Uint32Array, v6: Uint8Array): void {
  const n = b.length, sk = b.srcKind, dk = b.dstKind;
  const sw = new Uint32Array(b.srcAddr.buffer, b.srcAddr.byteOffset, n * 4), dw = new Uint32Array(b.dstAddr.buffer, b.dstAddr.byteOffset, n * 4);
  for (let i = 0; i < n; i++) {
    const w = sk[i] === ADDR_FOREIGN || dk[i] !== ADDR_FOREIGN ? sw : dw;
    const o = i * 4;
    // Words as the platform reads them (little-endian): ::ffff:a.b.c.d is 0, 0, 0xffff0000, then a.b.c.d byte-swapped.
    const mapped = w[o] === 0 && w[o + 1] === 0 && w[o + 2] === 0xffff0000;
    const x = mapped ? w[o + 3]! : w[o]!;
    key[i] = ((x << 24) | ((x << 8) & 0xff0000) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
    v6[i] = mapped ? 0 : 1;
  }
}

/** A partition of a unit: its basis index and hour, and its places `[from, to)` in the written order. */
export interface UnitPart { basis: number; hourMs: number; from: number; to: number }

/**
 * Where each row of a unit goes: `pos[i]` is row i's place in the written order (partitions one after another, each in
 * foreign-address order), or `kept` for a row of an excluded basis; partition p holds places `[from, to)`.
 */
export interface UnitOrder { parts: UnitPart[]; pos: Uint32Array; kept: number; purgedRows: number }

// The sort's loops each have a function of their own that ends with its loop: the write thread runs each once a segment
// (~1 M rows), so V8 optimizes them on the stack (OSR). One function holding every loop was compiled again at each loop
// and thrown away at the next, whose code had no type feedback yet, segment after segment (--trace-deopt: ~6 deopts and
// recompiles a segment, rows meanwhile in the interpreter, compiling on V8's threads).

/**
 * The rows not of a `drop`ped basis, in row order, with their keys and buckets (partition × 2 + family); returns how
 * many. Partition p is basis `partBasis[p]`, hour `partHour[p]` (hours since 1970): arrays of small integers, whose
 * shape is the same from one call to the next (objects made here deoptimized the loop at a segment's first row).
 */
function keepRows(b: SelectedBatch, drop: Uint8Array, key: Uint32Array, v6: Uint8Array,
  rows: Uint32Array, keys: Uint32Array, buckets: Uint32Array, partBasis: number[], partHour: number[], ids: Map<number, number>): number {
  const n = b.length, basisIndex = b.basisIndex, start = b.start;
  let kept = 0, lastBasis = -1, lastHour = -1, lastPart = 0;
  for (let i = 0; i < n; i++) {
    const basis = basisIndex[i]!;
    if (drop[basis] === 1) continue;
    const hour = Math.floor(start[i]! / 3_600_000);
    if (basis !== lastBasis || hour !== lastHour) {
      const k = basis * 2 ** 32 + hour;
      let p = ids.get(k);
      if (p === undefined) { p = partBasis.length; partBasis.push(basis); partHour.push(hour); ids.set(k, p); }
      lastBasis = basis; lastHour = hour; lastPart = p;
    }
    rows[kept] = i;
    keys[kept] = key[i]!;
    buckets[kept] = lastPart * 2 + v6[i]!;
    kept++;
  }
  return kept;
}

/** How many of the `kept` keys have each 16-bit digit at `shift` (`count[d + 1]`); whether the digit differs among them. */
function countDigits(keys: Uint32Array, kept: number, shift: number, count: Uint32Array): boolean {
  count.fill(0);
  for (let j = 0; j < kept; j++) count[((keys[j]! >>> shift) & 0xffff) + 1]!++;
  return kept > 0 && count[((keys[0]! >>> shift) & 0xffff) + 1] !== kept;
}

/** One stable pass of the radix sort over the digit at `shift`: rows, keys and buckets to their places in the `2` arrays. */
function radixPass(kept: number, shift: number, count: Uint32Array, rows: Uint32Array, keys: Uint32Array, buckets: Uint32Array,
  rows2: Uint32Array, keys2: Uint32Array, buckets2: Uint32Array): void {
  for (let d = 0; d < 65536; d++) count[d + 1]! += count[d]!;
  for (let j = 0; j < kept; j++) {
    const at = count[(keys[j]! >>> shift) & 0xffff]!++;
    rows2[at] = rows[j]!; keys2[at] = keys[j]!; buckets2[at] = buckets[j]!;
  }
}

/** Each kept row's place: its bucket's next (`pc`: where each bucket starts, advanced as rows are placed). */
function placeRows(kept: number, rows: Uint32Array, buckets: Uint32Array, pc: Uint32Array, pos: Uint32Array): void {
  for (let j = 0; j < kept; j++) pos[rows[j]!] = pc[buckets[j]!]!++;
}

/** Where each bucket starts among the `kept` sorted rows: `pc[d]` (from a count of each bucket, summed). */
function bucketStarts(kept: number, buckets: Uint32Array, pc: Uint32Array): void {
  for (let j = 0; j < kept; j++) pc[buckets[j]! + 1]!++;
  for (let d = 0; d + 1 < pc.length; d++) pc[d + 1]! += pc[d]!;
}

/**
 * Orders a unit's rows by partition, then foreign address (a radix sort: two 16-bit passes over the key, one over
 * partition and family; stable, so rows of one key stay in time order). Rows of `excluded` basis indexes are left out.
 * Keys travel with their rows, so every pass reads its input in order; a pass whose digit is the same on every row
 * (one /16 of foreign addresses, one partition: common) is skipped. The answer is each row's place (the inverse of the
 * sorted order): the columns are then scattered, read in row order — reading them at sorted rows instead (a gather)
 * missed the cache on every value of a column, ~2 × the CPU on varied traffic (bench/archive-writer).
 */
export function partitionOrder(b: SelectedBatch, excluded: ReadonlySet<number>, mem: Alloc = freshAlloc): UnitOrder {
  const n = b.length;
  const raw = unzeroed(mem); // every array below is written whole before it is read
  const key = raw.u32(n), v6 = raw.u8(n);
  foreignKeysInto(b, key, v6);
  const partBasis: number[] = [], partHour: number[] = [];
  const ids = new Map<number, number>(); // basis × 2^32 + hour → partition
  let rows = raw.u32(n), keys = raw.u32(n), buckets = raw.u32(n);
  const pos = raw.u32(n);
  const drop = new Uint8Array(b.basisIds.length + 1);
  for (const x of excluded) if (x < drop.length) drop[x] = 1;
  const kept = keepRows(b, drop, key, v6, rows, keys, buckets, partBasis, partHour, ids);
  const purgedRows = n - kept;
  if (purgedRows > 0) pos.fill(kept);
  rows = rows.subarray(0, kept); keys = keys.subarray(0, kept); buckets = buckets.subarray(0, kept);
  let rows2 = raw.u32(kept), keys2 = raw.u32(kept), buckets2 = raw.u32(kept);
  const count = mem.u32(65537);
  for (let shift = 0; shift <= 16; shift += 16) {
    if (!countDigits(keys, kept, shift, count)) continue;
    radixPass(kept, shift, count, rows, keys, buckets, rows2, keys2, buckets2);
    const r = rows; rows = rows2; rows2 = r;
    const k = keys; keys = keys2; keys2 = k;
    const u = buckets; buckets = buckets2; buckets2 = u;
  }
  const pc = new Uint32Array(partBasis.length * 2 + 1);
  bucketStarts(kept, buckets, pc);
  const parts = partBasis.map((basis, i): UnitPart => ({ basis, hourMs: partHour[i]! * 3_600_000, from: pc[i * 2]!, to: pc[i * 2 + 2]! }));
  placeRows(kept, rows, buckets, pc, pos);
  return { parts, pos, kept, purgedRows };
}

// Scatters the values of `src` to their places `pos` (row order in, sorted order out: `kept` + 1 places, the last one
// taking excluded rows and never read; arrays not zeroed first: every place read is written). One function per array type: a single generic one sees every element kind and goes megamorphic.
function scatter8(src: Uint8Array, o: UnitOrder, mem: Alloc): Uint8Array {
  const dst = unzeroed(mem).u8(o.kept + 1), pos = o.pos;
  for (let i = 0; i < pos.length; i++) dst[pos[i]!] = src[i]!;
  return dst;
}
function scatter16(src: Uint16Array, o: UnitOrder, mem: Alloc): Uint16Array {
  const dst = unzeroed(mem).u16(o.kept + 1), pos = o.pos;
  for (let i = 0; i < pos.length; i++) dst[pos[i]!] = src[i]!;
  return dst;
}
function scatter16to8(src: Uint16Array, o: UnitOrder, mem: Alloc): Uint8Array {
  const dst = unzeroed(mem).u8(o.kept + 1), pos = o.pos;
  for (let i = 0; i < pos.length; i++) dst[pos[i]!] = src[i]!;
  return dst;
}
function scatter32(src: Uint32Array, o: UnitOrder, mem: Alloc): Uint32Array {
  const dst = unzeroed(mem).u32(o.kept + 1), pos = o.pos;
  for (let i = 0; i < pos.length; i++) dst[pos[i]!] = src[i]!;
  return dst;
}
function scatter64(src: Float64Array, o: UnitOrder, mem: Alloc): Float64Array {
  const dst = unzeroed(mem).f64(o.kept + 1), pos = o.pos;
  for (let i = 0; i < pos.length; i++) dst[pos[i]!] = src[i]!;
  return dst;
}
/** Times in ms as DuckDB's TIMESTAMP: int64 µs, two little-endian words a row (exact: µs since 1970 stay below 2^53). */
function scatterMicros(src: Float64Array, o: UnitOrder, mem: Alloc): Uint32Array {
  const dst = unzeroed(mem).u32((o.kept + 1) * 2), pos = o.pos;
  for (let i = 0; i < pos.length; i++) {
    const us = Math.round(src[i]!) * 1000;
    const d = pos[i]! * 2;
    dst[d] = us >>> 0;
    dst[d + 1] = Math.floor(us / 4_294_967_296);
  }
  return dst;
}

/** The field bits every row of a unit has (`all`) and any row has, and its largest period and exporter indexes. */
interface UnitFields { all: number; any: number; maxPeriod: number; maxExporter: number; maxCategory: number }

/** UnitFields of a unit, in one pass in row order (a superset of each partition's rows: what holds for all holds for each). */
function unitFields(b: SelectedBatch): UnitFields {
  const out = new Uint32Array(5);
  fieldStats(b, out);
  return { all: out[0]!, any: out[1]!, maxPeriod: out[2]!, maxExporter: out[3]!, maxCategory: out[4]! };
}
/**
 * unitFields' loop in a function that ends with it (see partitionOrder's loops): all, any, the largest period, exporter
 * and category indexes into `out`.
 */
function fieldStats(b: SelectedBatch, out: Uint32Array): void {
  const fields = b.fields, periodIndex = b.periodIndex, exporterIndex = b.exporterIndex, category = b.category;
  let all = 0xffff, any = 0, maxPeriod = 0, maxExporter = 0, maxCategory = 0;
  for (let i = 0; i < b.length; i++) {
    const f = fields[i]!;
    all &= f; any |= f;
    if (periodIndex[i]! > maxPeriod) maxPeriod = periodIndex[i]!;
    if (exporterIndex[i]! > maxExporter) maxExporter = exporterIndex[i]!;
    if (category[i]! > maxCategory) maxCategory = category[i]!;
  }
  out[0] = all; out[1] = any; out[2] = maxPeriod; out[3] = maxExporter; out[4] = maxCategory;
}

/** A scan column's values (a row at a time, or `fixed`: one chunk's worth of the value every row holds), bytes a row, NULLs. */
interface Column { data: ArrayBufferView; width: number; valid: Uint8Array | undefined; fixed: boolean }

/**
 * Whether the unit's `n` rows all hold one value (a column that often does: sampling rate, exporter, key period,
 * interfaces): its bytes compared as 32-bit words with the first row's pattern (one loop for every element type; a
 * loop over each array's own elements saw four types and ran polymorphic, ~0.05 µs a flow on the regular input).
 */
function constant(src: Uint8Array | Uint16Array | Uint32Array | Float64Array, n: number): boolean {
  const w = src.BYTES_PER_ELEMENT, bytes = n * w;
  const u8 = new Uint8Array(src.buffer, src.byteOffset, bytes);
  const head = Math.min(bytes, 8);
  for (let i = w; i < head; i++) if (u8[i] !== u8[i % w]) return false; // the first 8 bytes repeat the first row
  const words = bytes >>> 2;
  if ((src.byteOffset & 3) !== 0 || words < 2) { for (let i = head; i < bytes; i++) if (u8[i] !== u8[i % w]) return false; return true; }
  const u32 = new Uint32Array(src.buffer, src.byteOffset, words);
  const a = u32[0]!, b2 = u32[1]!; // two words: the pattern of an 8-byte element; the same word twice for narrower ones
  for (let i = 2; i + 1 < words; i += 2) if (u32[i] !== a || u32[i + 1] !== b2) return false;
  if ((words & 1) === 1 && u32[words - 1] !== a) return false;
  for (let i = words * 4; i < bytes; i++) if (u8[i] !== u8[i % w]) return false;
  return true;
}

/** A unit column in written order, or (`fixed`) one chunk of the value every row of the unit holds. */
interface UnitColumn { data: Uint8Array | Uint16Array | Uint32Array | Float64Array; fixed: boolean }

/** A column scattered into written order, or, when every row of the unit holds the same value, that value once. */
function numeric<T extends Uint8Array | Uint16Array | Uint32Array | Float64Array>(src: T, n: number, o: UnitOrder, scatter: (s: T, o: UnitOrder, mem: Alloc) => T, mem: Alloc): UnitColumn {
  if (n > 0 && constant(src, n)) {
    const data = new (src.constructor as new (n: number) => T)(CHUNK);
    data.fill(src[0]!);
    return { data, fixed: true };
  }
  return { data: scatter(src, o, mem), fixed: false };
}

/** An enum column's member indexes (u8 or u16 as enumWidth says), indexes outside the `size` members as 0 (their rows are NULL: validity). */
function enumColumn(src: Uint16Array, n: number, o: UnitOrder, size: number, mem: Alloc): UnitColumn {
  const wide = enumWidth(size) !== 1;
  if (n > 0 && constant(src, n)) {
    const x = src[0]! < size ? src[0]! : 0;
    return { data: wide ? new Uint16Array(CHUNK).fill(x) : new Uint8Array(CHUNK).fill(x), fixed: true };
  }
  const idx = wide ? scatter16(src, o, mem) : scatter16to8(src, o, mem);
  for (let k = 0; k < idx.length; k++) if (idx[k]! >= size) idx[k] = 0;
  return { data: idx, fixed: false };
}

/**
 * A unit's columns in written order (every partition's rows one after another), scattered once for the whole unit: the
 * file's values (address halves as little-endian u64, times as µs, enum indexes; scanColumns) and what the validity of
 * each partition is built from (kinds, and fields and indexes when some row lacks one).
 */
interface UnitColumns {
  order: UnitOrder; fields: UnitFields;
  values: UnitColumn[];
  srcKind: Uint8Array; dstKind: Uint8Array;
  /** Present when a row of the unit withholds a field some row keeps. */
  rowFields: Uint16Array | undefined;
  /** Present when a row's index is outside its table. */
  periodIndex: Uint16Array | undefined; exporterIndex: Uint16Array | undefined;
}

function unitColumns(b: SelectedBatch, o: UnitOrder, f: UnitFields, mem: Alloc): UnitColumns {
  const n = b.length;
  const raw = unzeroed(mem);
  const sh = raw.u32((o.kept + 1) * 2), sl = raw.u32((o.kept + 1) * 2), dh = raw.u32((o.kept + 1) * 2), dl = raw.u32((o.kept + 1) * 2);
  swapSlotsTo(b.srcAddr, o.pos, sh, sl);
  swapSlotsTo(b.dstAddr, o.pos, dh, dl);
  const a = (data: Uint32Array): UnitColumn => ({ data, fixed: false });
  let category = numeric(b.category, n, o, scatter8, mem);
  if (f.maxCategory >= CATEGORIES.length) category = { data: scatter8(b.category, o, mem), fixed: false }; // NULLs: validity per partition
  // In scanColumns order.
  const values: UnitColumn[] = [
    category, a(scatterMicros(b.start, o, mem)), a(scatterMicros(b.end, o, mem)),
    a(sh), a(sl), a(dh), a(dl), a(sh), a(sl), a(dh), a(dl),
    enumColumn(b.periodIndex, n, o, members(b.periods).length, mem),
    numeric(b.srcPort, n, o, scatter16, mem), numeric(b.dstPort, n, o, scatter16, mem),
    numeric(b.proto, n, o, scatter8, mem), numeric(b.tcpFlags, n, o, scatter8, mem),
    numeric(b.bytes, n, o, scatter64, mem), numeric(b.packets, n, o, scatter64, mem),
    numeric(b.samplingRate, n, o, scatter32, mem), numeric(b.inIf, n, o, scatter32, mem), numeric(b.outIf, n, o, scatter32, mem),
    enumColumn(b.exporterIndex, n, o, members(b.exporters).length, mem),
  ];
  const partial = (f.all & f.any) !== f.any;
  return {
    order: o, fields: f, values,
    srcKind: scatter8(b.srcKind, o, mem), dstKind: scatter8(b.dstKind, o, mem),
    rowFields: partial ? scatter16(b.fields, o, mem) : undefined,
    periodIndex: f.maxPeriod >= b.periods.length ? scatter16(b.periodIndex, o, mem) : undefined,
    exporterIndex: f.maxExporter >= b.exporters.length ? scatter16(b.exporterIndex, o, mem) : undefined,
  };
}

/**
 * The byte-swapped halves of each row's 16-byte slot (network order) of `src` into `hi` and `lo` (two 32-bit words a
 * row, DuckDB's in-memory little-endian UBIGINT) at the row's place `pos[i]`: read in row order, a word at a time.
 */
function swapSlotsTo(src: Uint8Array, pos: Uint32Array, hi: Uint32Array, lo: Uint32Array): void {
  const w = new Uint32Array(src.buffer, src.byteOffset, pos.length * 4);
  for (let i = 0; i < pos.length; i++) {
    const s = i * 4, d = pos[i]! * 2;
    hi[d] = bswap32(w[s + 1]!); hi[d + 1] = bswap32(w[s]!);
    lo[d] = bswap32(w[s + 3]!); lo[d + 1] = bswap32(w[s + 2]!);
  }
}

/**
 * The validity of the columns that may be NULL over places `[from, to)` of the unit's columns, as bitmasks (bit k of
 * byte k >> 3: the partition's row k holds a value; whole 64-bit words, so every chunk of 2,048 rows starts on a byte):
 * a field the basis does not allow, an address that is not foreign, a pseudonym that is not one, an index outside its
 * table. A field every row allows (the usual case: a basis allows a fixed set) costs no loop over the rows.
 */
function validity(b: SelectedBatch, u: UnitColumns, from: number, to: number, mem: Alloc) {
  const n = to - from;
  const bytes = ((n + 63) >>> 6) * 8;
  const { all, any } = u.fields;
  const field = (bit: number, index?: Uint16Array, size = 0): Uint8Array | undefined => {
    if ((any & bit) === 0) return mem.u8(bytes);
    if ((all & bit) !== 0 && index === undefined) return undefined;
    const m = mem.u8(bytes);
    fieldMask(m, u.rowFields, bit, index, size, from, n);
    return m;
  };
  const srcForeign = mem.u8(bytes), srcPseudonym = mem.u8(bytes), dstForeign = mem.u8(bytes), dstPseudonym = mem.u8(bytes), period = mem.u8(bytes);
  kindMasks(u.srcKind, u.dstKind, u.periodIndex, b.periods.length, from, n, srcForeign, srcPseudonym, dstForeign, dstPseudonym, period);
  let category: Uint8Array | undefined;
  if (u.fields.maxCategory >= CATEGORIES.length) {
    // Categories outside CATEGORIES (never written by selection) as NULL, as the SQL lookup gave them, never an enum index past its members.
    const idx = u.values[0]!.data as Uint8Array;
    category = mem.u8(bytes);
    for (let k = 0; k < n; k++) {
      if (idx[from + k]! < CATEGORIES.length) category[k >>> 3]! |= 1 << (k & 7);
      else idx[from + k] = 0;
    }
  }
  const exporter = u.exporterIndex === undefined ? field(FIELD_BIT.exporter) : field(FIELD_BIT.exporter, u.exporterIndex, b.exporters.length);
  return { field, category, srcForeign, srcPseudonym, dstForeign, dstPseudonym, period, exporter };
}

/** A field's validity over rows `[from, from + n)`: the row keeps the field (`rf`, when rows differ) and its index is in its table. */
function fieldMask(m: Uint8Array, rf: Uint16Array | undefined, bit: number, index: Uint16Array | undefined, size: number,
  from: number, n: number): void {
  for (let k = 0; k < n; k++) {
    if ((rf === undefined || (rf[from + k]! & bit) !== 0) && (index === undefined || index[from + k]! < size)) m[k >>> 3]! |= 1 << (k & 7);
  }
}

/**
 * The address and pseudonym-period validity over rows `[from, from + n)`, from the rows' address kinds (a function that
 * ends with its loop: see partitionOrder's).
 */
function kindMasks(sk: Uint8Array, dk: Uint8Array, pi: Uint16Array | undefined, np: number, from: number, n: number,
  srcForeign: Uint8Array, srcPseudonym: Uint8Array, dstForeign: Uint8Array, dstPseudonym: Uint8Array, period: Uint8Array): void {
  for (let k = 0; k < n; k++) {
    const s = sk[from + k]!, d = dk[from + k]!, o = k >>> 3, bit = 1 << (k & 7);
    if (s === ADDR_FOREIGN) srcForeign[o]! |= bit; else if (s === ADDR_PSEUDONYM) srcPseudonym[o]! |= bit;
    if (d === ADDR_FOREIGN) dstForeign[o]! |= bit; else if (d === ADDR_PSEUDONYM) dstPseudonym[o]! |= bit;
    if ((s === ADDR_PSEUDONYM || d === ADDR_PSEUDONYM) && (pi === undefined || pi[from + k]! < np)) period[o]! |= bit;
  }
}

/**
 * The scan over places `[from, to)` of the unit's columns, in the file's columns (scanColumns): each chunk is a view of
 * them, with bitmasks for the NULLs (validity) — so the COPY has no expression to evaluate: the CASE/mask/list lookups
 * it did before cost ~0.2 µs a row in DuckDB (bench/archive-writer).
 */
function scanOver(b: SelectedBatch, u: UnitColumns, from: number, to: number, mem: Alloc): ScanSource {
  const n = to - from;
  const v = validity(b, u, from, to, mem);
  const F = FIELD_BIT;
  const valids: (Uint8Array | undefined)[] = [
    v.category, undefined, v.field(F.end), v.srcForeign, v.srcForeign, v.dstForeign, v.dstForeign,
    v.srcPseudonym, v.srcPseudonym, v.dstPseudonym, v.dstPseudonym, v.period,
    v.field(F.srcPort), v.field(F.dstPort), v.field(F.proto), v.field(F.tcpFlags), v.field(F.bytes), v.field(F.packets),
    v.field(F.samplingRate), v.field(F.inIf), v.field(F.outIf), v.exporter,
  ];
  const cols: Column[] = u.values.map(({ data, fixed }, c) => {
    const width = c === 1 || c === 2 ? 8 : data.BYTES_PER_ELEMENT * (c >= 3 && c <= 10 ? 2 : 1);
    return { data: fixed ? data : new Uint8Array(data.buffer, data.byteOffset + from * width, n * width), width, valid: valids[c], fixed };
  });
  let at = 0;
  return (put, maxRows) => {
    const m = Math.min(maxRows, CHUNK, n - at);
    if (m <= 0) return 0;
    for (let c = 0; c < cols.length; c++) {
      const { data, width, valid, fixed } = cols[c]!;
      put(c, new Uint8Array(data.buffer, data.byteOffset + (fixed ? 0 : at * width), m * width), valid?.subarray(at >>> 3, (at + m + 7) >>> 3));
    }
    at += m;
    return m;
  };
}

/**
 * Writes segment `id` of `<dir>/_wal` as one Parquet file per partition (`w<id>_<n>.parquet`), renames them into
 * their partitions, then deletes the segment. A recovered segment's files that a previous process had already renamed
 * into place are deleted first (the segment is written again whole).
 */
export async function writeSegment(e: DuckDb, dir: string, id: string, opts: SegmentWriteOptions, scratch?: Scratch): Promise<SegmentWriteResult> {
  const walDir = join(dir, WAL_DIR);
  const out = join(dir, TMP_DIR, id);
  if (opts.recovered) for (const p of listPartitions(dir)) for (const f of readdirSync(p.dir)) if (f.startsWith(`w${id}_`)) unlinkSync(join(p.dir, f));
  scratch?.reset(); // the previous segment's arrays are done with: its COPYs have ended
  const mem: Alloc = scratch ?? freshAlloc;
  const { batch: b, tornBytes } = readSegmentUnit(walDir, id, mem);
  const excluded = new Set(opts.excluded.map((x) => b.basisIds.indexOf(x)).filter((i) => i >= 0));
  const order = partitionOrder(b, excluded, mem);
  const { parts, purgedRows } = order;
  const unit = unitColumns(b, order, unitFields(b), mem);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const scan = scanOf(e);
  const placed: { from: string; to: string }[] = [];
  let rows = 0;
  for (const [n, p] of parts.entries()) {
    if (p.to === p.from) continue;
    const file = join(out, `w${id}_${n}.parquet`);
    scan.columns = scanColumns(b);
    scan.source = scanOver(b, unit, p.from, p.to, mem);
    try {
      // No PARTITION_BY: the writer has split the rows; basis and hour are in the path.
      await e.run(`COPY (FROM ${SCAN_NAME}()) TO ${sqlString(file)} (${PARQUET_OPTIONS})`);
    } finally {
      scan.source = () => 0;
    }
    const hour = new Date(p.hourMs).toISOString().slice(0, 13);
    placed.push({ from: file, to: join(dir, `basis=${b.basisIds[p.basis]!}`, `hour=${hour}`, `w${id}_${n}.parquet`) });
    rows += p.to - p.from;
  }
  // Into place file by file (each rename atomic); a crash before the segment goes is undone at the next start.
  for (const f of placed) {
    mkdirSync(join(f.to, '..'), { recursive: true });
    renameSync(f.from, f.to);
  }
  rmSync(out, { recursive: true, force: true });
  deleteSegment(walDir, id);
  return { rows, files: placed.length, purgedRows, tornBytes };
}
