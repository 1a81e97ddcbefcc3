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
import { freshAlloc, type Alloc, type Scratch } from '../scratch.js';
import { listPartitions, PARQUET_OPTIONS, sqlString, swapSlotsAt, TMP_DIR, WAL_DIR } from './layout.js';
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
 * The clustering key of each row: its foreign address (the source's when it is foreign or neither end is), as 32 bits —
 * an IPv4 address itself, an IPv6 address's first 32 bits — and whether it is IPv6. Rows sorted by it give each row
 * group a narrow range of `*_ip_hi`/`*_ip_lo`, so their min/max statistics let an address or prefix filter skip the others.
 */
function foreignKeys(b: SelectedBatch, mem: Alloc): { key: Uint32Array; v6: Uint8Array } {
  const n = b.length;
  const key = mem.u32(n), v6 = mem.u8(n);
  const sw = new Uint32Array(b.srcAddr.buffer, b.srcAddr.byteOffset, n * 4), dw = new Uint32Array(b.dstAddr.buffer, b.dstAddr.byteOffset, n * 4);
  for (let i = 0; i < n; i++) {
    const w = b.srcKind[i] === ADDR_FOREIGN || b.dstKind[i] !== ADDR_FOREIGN ? sw : dw;
    const o = i * 4;
    // Words as the platform reads them (little-endian): ::ffff:a.b.c.d is 0, 0, 0xffff0000, then a.b.c.d byte-swapped.
    const mapped = w[o] === 0 && w[o + 1] === 0 && w[o + 2] === 0xffff0000;
    const x = mapped ? w[o + 3]! : w[o]!;
    key[i] = ((x << 24) | ((x << 8) & 0xff0000) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
    v6[i] = mapped ? 0 : 1;
  }
  return { key, v6 };
}

/** The rows of each partition (basis, hour) of a unit, each in foreign-address order. */
export interface UnitOrder { parts: { basis: number; hourMs: number; rows: Uint32Array }[]; purgedRows: number }

/**
 * Orders a unit's rows by partition, then foreign address (a radix sort: two 16-bit passes over the key, one over
 * partition and family; stable, so rows of one key stay in time order). Rows of `excluded` basis indexes are left out.
 * Keys travel with their rows, so every pass reads its input in order; a pass whose digit is the same on every row
 * (one /16 of foreign addresses, one partition: common) is skipped.
 */
export function partitionOrder(b: SelectedBatch, excluded: ReadonlySet<number>, mem: Alloc = freshAlloc): UnitOrder {
  const n = b.length;
  const { key, v6 } = foreignKeys(b, mem);
  const parts: { basis: number; hourMs: number }[] = [];
  const ids = new Map<number, number>(); // basis × 2^32 + hour → partition
  let rows = mem.u32(n), keys = mem.u32(n), buckets = mem.u32(n);
  let kept = 0, purgedRows = 0;
  let lastBasis = -1, lastHour = -1, lastPart = 0;
  for (let i = 0; i < n; i++) {
    const basis = b.basisIndex[i]!;
    if (excluded.has(basis)) { purgedRows++; continue; }
    const hour = Math.floor(b.start[i]! / 3_600_000);
    if (basis !== lastBasis || hour !== lastHour) {
      const k = basis * 2 ** 32 + hour;
      let p = ids.get(k);
      if (p === undefined) { p = parts.length; parts.push({ basis, hourMs: hour * 3_600_000 }); ids.set(k, p); }
      lastBasis = basis; lastHour = hour; lastPart = p;
    }
    rows[kept] = i;
    keys[kept] = key[i]!;
    buckets[kept] = lastPart * 2 + v6[i]!;
    kept++;
  }
  rows = rows.subarray(0, kept); keys = keys.subarray(0, kept); buckets = buckets.subarray(0, kept);
  let rows2 = mem.u32(kept), keys2 = mem.u32(kept), buckets2 = mem.u32(kept);
  const count = mem.u32(65537);
  for (const shift of [0, 16]) {
    count.fill(0);
    for (let j = 0; j < kept; j++) count[((keys[j]! >>> shift) & 0xffff) + 1]!++;
    if (kept === 0 || count[((keys[0]! >>> shift) & 0xffff) + 1] === kept) continue;
    for (let d = 0; d < 65536; d++) count[d + 1]! += count[d]!;
    for (let j = 0; j < kept; j++) {
      const at = count[(keys[j]! >>> shift) & 0xffff]!++;
      rows2[at] = rows[j]!; keys2[at] = keys[j]!; buckets2[at] = buckets[j]!;
    }
    [rows, rows2, keys, keys2, buckets, buckets2] = [rows2, rows, keys2, keys, buckets2, buckets];
  }
  const nb = parts.length * 2;
  const pc = new Uint32Array(nb + 1);
  for (let j = 0; j < kept; j++) pc[buckets[j]! + 1]!++;
  const single = kept === 0 || pc[buckets[0]! + 1] === kept;
  for (let d = 0; d < nb; d++) pc[d + 1]! += pc[d]!;
  const bounds = pc.slice();
  if (!single) {
    for (let j = 0; j < kept; j++) rows2[pc[buckets[j]!]!++] = rows[j]!;
    rows = rows2;
  }
  return { parts: parts.map((p, i) => ({ ...p, rows: rows.subarray(bounds[i * 2]!, bounds[i * 2 + 2]!) })), purgedRows };
}

// Gathers the values of `src` at `rows` into a new array, a whole column at a time (long loops over one array each).
// One function per array type: a single generic one sees every element kind and its loads go megamorphic.
function gather8(src: Uint8Array, rows: Uint32Array, mem: Alloc): Uint8Array {
  const dst = mem.u8(rows.length);
  for (let k = 0; k < rows.length; k++) dst[k] = src[rows[k]!]!;
  return dst;
}
function gather16(src: Uint16Array, rows: Uint32Array, mem: Alloc): Uint16Array {
  const dst = mem.u16(rows.length);
  for (let k = 0; k < rows.length; k++) dst[k] = src[rows[k]!]!;
  return dst;
}
function gather16to8(src: Uint16Array, rows: Uint32Array, mem: Alloc): Uint8Array {
  const dst = mem.u8(rows.length);
  for (let k = 0; k < rows.length; k++) dst[k] = src[rows[k]!]!;
  return dst;
}
function gather32(src: Uint32Array, rows: Uint32Array, mem: Alloc): Uint32Array {
  const dst = mem.u32(rows.length);
  for (let k = 0; k < rows.length; k++) dst[k] = src[rows[k]!]!;
  return dst;
}
function gather64(src: Float64Array, rows: Uint32Array, mem: Alloc): Float64Array {
  const dst = mem.f64(rows.length);
  for (let k = 0; k < rows.length; k++) dst[k] = src[rows[k]!]!;
  return dst;
}
/** Times in ms as DuckDB's TIMESTAMP: int64 µs, two little-endian words a row (exact: µs since 1970 stay below 2^53). */
function gatherMicros(src: Float64Array, rows: Uint32Array, mem: Alloc): Uint32Array {
  const dst = mem.u32(rows.length * 2);
  for (let k = 0; k < rows.length; k++) {
    const us = Math.round(src[rows[k]!]!) * 1000;
    dst[2 * k] = us >>> 0;
    dst[2 * k + 1] = Math.floor(us / 4_294_967_296);
  }
  return dst;
}

/** The field bits every row of a unit has (`all`) and any row has, and its largest period and exporter indexes. */
interface UnitFields { all: number; any: number; maxPeriod: number; maxExporter: number; maxCategory: number }

/** UnitFields of a unit, in one pass in row order (a superset of each partition's rows: what holds for all holds for each). */
function unitFields(b: SelectedBatch): UnitFields {
  let all = 0xffff, any = 0, maxPeriod = 0, maxExporter = 0, maxCategory = 0;
  for (let i = 0; i < b.length; i++) {
    const f = b.fields[i]!;
    all &= f; any |= f;
    if (b.periodIndex[i]! > maxPeriod) maxPeriod = b.periodIndex[i]!;
    if (b.exporterIndex[i]! > maxExporter) maxExporter = b.exporterIndex[i]!;
    if (b.category[i]! > maxCategory) maxCategory = b.category[i]!;
  }
  return { all, any, maxPeriod, maxExporter, maxCategory };
}

/**
 * The validity of the columns that may be NULL, as bitmasks over the partition's rows (bit k of byte k >> 3: row k
 * holds a value; whole 64-bit words, so every chunk of 2,048 rows starts on a byte): a field the basis does not allow
 * (`fields`), an address that is not foreign, a pseudonym that is not one, an index outside its table. A field every
 * row allows (the usual case: a basis allows a fixed set) costs no loop over the rows.
 */
function validity(b: SelectedBatch, rows: Uint32Array, u: UnitFields, mem: Alloc) {
  const n = rows.length;
  const bytes = ((n + 63) >>> 6) * 8;
  const { all, any, maxPeriod, maxExporter } = u;
  const field = (bit: number, index?: Uint16Array, size = 0): Uint8Array => {
    const m = mem.u8(bytes);
    if ((any & bit) === 0) return m;
    if ((all & bit) !== 0 && index === undefined) return m.fill(255);
    for (let k = 0; k < n; k++) {
      const r = rows[k]!;
      if ((b.fields[r]! & bit) !== 0 && (index === undefined || index[r]! < size)) m[k >>> 3]! |= 1 << (k & 7);
    }
    return m;
  };
  const srcForeign = mem.u8(bytes), srcPseudonym = mem.u8(bytes), dstForeign = mem.u8(bytes), dstPseudonym = mem.u8(bytes), period = mem.u8(bytes);
  const periodsOk = maxPeriod < b.periods.length;
  for (let k = 0; k < n; k++) {
    const r = rows[k]!, s = b.srcKind[r]!, d = b.dstKind[r]!, o = k >>> 3, bit = 1 << (k & 7);
    if (s === ADDR_FOREIGN) srcForeign[o]! |= bit; else if (s === ADDR_PSEUDONYM) srcPseudonym[o]! |= bit;
    if (d === ADDR_FOREIGN) dstForeign[o]! |= bit; else if (d === ADDR_PSEUDONYM) dstPseudonym[o]! |= bit;
    if ((s === ADDR_PSEUDONYM || d === ADDR_PSEUDONYM) && (periodsOk || b.periodIndex[r]! < b.periods.length)) period[o]! |= bit;
  }
  const exporter = maxExporter < b.exporters.length ? field(FIELD_BIT.exporter) : field(FIELD_BIT.exporter, b.exporterIndex, b.exporters.length);
  return { field, srcForeign, srcPseudonym, dstForeign, dstPseudonym, period, exporter };
}

/**
 * The scan over `rows` of the unit, in the file's columns (scanColumns): the columns are gathered into that order
 * first (DuckDB's layout: address halves as little-endian u64, times as µs, enum indexes), with bitmasks for the NULLs
 * (validity), then each chunk is a view of them — so the COPY has no expression to evaluate: the CASE/mask/list
 * lookups it did before cost ~0.2 µs a row in DuckDB (bench/archive-writer).
 */
function scanOver(b: SelectedBatch, rows: Uint32Array, unit: UnitFields, mem: Alloc): ScanSource {
  const n = rows.length;
  const sh = mem.u32(n * 2), sl = mem.u32(n * 2), dh = mem.u32(n * 2), dl = mem.u32(n * 2);
  swapSlotsAt(b.srcAddr, rows, 0, n, sh, sl);
  swapSlotsAt(b.dstAddr, rows, 0, n, dh, dl);
  const v = validity(b, rows, unit, mem);
  const F = FIELD_BIT;
  const u = b.length;
  const at0 = (data: ArrayBufferView, width: number, valid: Uint8Array | undefined): Column => ({ data, width, valid, fixed: false });
  // In scanColumns order.
  const cols: Column[] = [
    unit.maxCategory < CATEGORIES.length ? numeric(b.category, u, rows, gather8, mem) : categoryColumn(b.category, rows, mem),
    at0(gatherMicros(b.start, rows, mem), 8, undefined), at0(gatherMicros(b.end, rows, mem), 8, v.field(F.end)),
    at0(sh, 8, v.srcForeign), at0(sl, 8, v.srcForeign), at0(dh, 8, v.dstForeign), at0(dl, 8, v.dstForeign),
    at0(sh, 8, v.srcPseudonym), at0(sl, 8, v.srcPseudonym), at0(dh, 8, v.dstPseudonym), at0(dl, 8, v.dstPseudonym),
    enumColumn(b.periodIndex, u, rows, members(b.periods).length, v.period, mem),
    numeric(b.srcPort, u, rows, gather16, mem, v.field(F.srcPort)), numeric(b.dstPort, u, rows, gather16, mem, v.field(F.dstPort)),
    numeric(b.proto, u, rows, gather8, mem, v.field(F.proto)), numeric(b.tcpFlags, u, rows, gather8, mem, v.field(F.tcpFlags)),
    numeric(b.bytes, u, rows, gather64, mem, v.field(F.bytes)), numeric(b.packets, u, rows, gather64, mem, v.field(F.packets)),
    numeric(b.samplingRate, u, rows, gather32, mem, v.field(F.samplingRate)), numeric(b.inIf, u, rows, gather32, mem, v.field(F.inIf)),
    numeric(b.outIf, u, rows, gather32, mem, v.field(F.outIf)), enumColumn(b.exporterIndex, u, rows, members(b.exporters).length, v.exporter, mem),
  ];
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

/** Categories outside CATEGORIES (never written by selection) as NULL, as the SQL lookup gave them, never an enum index past its members. */
function categoryColumn(src: Uint8Array, rows: Uint32Array, mem: Alloc): Column {
  const idx = gather8(src, rows, mem);
  const valid = mem.u8(((idx.length + 63) >>> 6) * 8);
  for (let k = 0; k < idx.length; k++) {
    if (idx[k]! < CATEGORIES.length) valid[k >>> 3]! |= 1 << (k & 7);
    else idx[k] = 0;
  }
  return { data: idx, width: 1, valid, fixed: false };
}

/** A scan column's values (a row at a time, or `fixed`: one chunk's worth of the value every row holds), bytes a row, NULLs. */
interface Column { data: ArrayBufferView; width: number; valid: Uint8Array | undefined; fixed: boolean }

/** Whether the unit's `n` rows all hold one value (a column that often does: sampling rate, exporter, key period, interfaces). */
function constant(src: ArrayLike<number>, n: number): boolean {
  const x = src[0];
  for (let i = 1; i < n; i++) if (src[i] !== x) return false;
  return true;
}

/** A column gathered at `rows`, or, when every row of the unit (`unitRows`) holds the same value, that value once. */
function numeric<T extends Uint8Array | Uint16Array | Uint32Array | Float64Array>(
  src: T, unitRows: number, rows: Uint32Array, gather: (s: T, r: Uint32Array, mem: Alloc) => T, mem: Alloc, valid?: Uint8Array,
): Column {
  if (unitRows > 0 && constant(src, unitRows)) {
    const data = new (src.constructor as new (n: number) => T)(CHUNK);
    data.fill(src[0]!);
    return { data, width: src.BYTES_PER_ELEMENT, valid, fixed: true };
  }
  return { data: gather(src, rows, mem), width: src.BYTES_PER_ELEMENT, valid, fixed: false };
}

/** An enum column's member indexes (u8 or u16 as enumWidth says), indexes outside the `size` members as 0 (their rows are NULL: validity). */
function enumColumn(src: Uint16Array, unitRows: number, rows: Uint32Array, size: number, valid: Uint8Array, mem: Alloc): Column {
  const wide = enumWidth(size) !== 1;
  if (unitRows > 0 && constant(src, unitRows)) {
    const x = src[0]! < size ? src[0]! : 0;
    return { data: wide ? new Uint16Array(CHUNK).fill(x) : new Uint8Array(CHUNK).fill(x), width: wide ? 2 : 1, valid, fixed: true };
  }
  const idx = wide ? gather16(src, rows, mem) : gather16to8(src, rows, mem);
  for (let k = 0; k < idx.length; k++) if (idx[k]! >= size) idx[k] = 0;
  return { data: idx, width: wide ? 2 : 1, valid, fixed: false };
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
  const { parts, purgedRows } = partitionOrder(b, excluded, mem);
  const fieldsOfUnit = unitFields(b);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const scan = scanOf(e);
  const placed: { from: string; to: string }[] = [];
  let rows = 0;
  for (const [n, p] of parts.entries()) {
    if (p.rows.length === 0) continue;
    const file = join(out, `w${id}_${n}.parquet`);
    scan.columns = scanColumns(b);
    scan.source = scanOver(b, p.rows, fieldsOfUnit, mem);
    try {
      // No PARTITION_BY: the writer has split the rows; basis and hour are in the path.
      await e.run(`COPY (FROM ${SCAN_NAME}()) TO ${sqlString(file)} (${PARQUET_OPTIONS})`);
    } finally {
      scan.source = () => 0;
    }
    const hour = new Date(p.hourMs).toISOString().slice(0, 13);
    placed.push({ from: file, to: join(dir, `basis=${b.basisIds[p.basis]!}`, `hour=${hour}`, `w${id}_${n}.parquet`) });
    rows += p.rows.length;
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
