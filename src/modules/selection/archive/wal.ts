/** @module The archive writer's write-ahead segments: each appended batch as one framed record of its raw columns, read back after a crash. */
import { closeSync, existsSync, fdatasync, fstatSync, openSync, readdirSync, readFileSync, readSync, rmSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import { createSelectedBatch, type SelectedBatch } from '../minimize.js';
import { freshAlloc, unzeroed, type Alloc } from '../scratch.js';

const MAGIC = 0x4c41574d; // "MWAL" little-endian
const TRAILER = 0x4d57414c;
const VERSION = 1;
const HEAD_BYTES = 16;
const TAIL_BYTES = 8;

// The numeric columns of a SelectedBatch, in record order; addresses are 16 bytes a row.
const COLUMNS = ['basisIndex', 'category', 'fields', 'start', 'end', 'srcAddr', 'dstAddr', 'srcKind', 'dstKind', 'periodIndex', 'srcPort', 'dstPort', 'proto', 'tcpFlags', 'bytes', 'packets', 'samplingRate', 'inIf', 'outIf', 'exporterIndex'] as const;
type Column = typeof COLUMNS[number];
const PER_ROW: Record<Column, number> = {
  basisIndex: 2, category: 1, fields: 2, start: 8, end: 8, srcAddr: 16, dstAddr: 16, srcKind: 1, dstKind: 1, periodIndex: 2,
  srcPort: 2, dstPort: 2, proto: 1, tcpFlags: 1, bytes: 8, packets: 8, samplingRate: 4, inIf: 4, outIf: 4, exporterIndex: 2,
};
const ZERO = new Uint8Array(8);
const pad8 = (n: number): number => (8 - (n % 8)) % 8;

/** Bytes a batch of `rows` rows takes in a segment, besides its string tables. */
export const WAL_BYTES_PER_ROW = Object.values(PER_ROW).reduce((a, b) => a + b, 0);

/** The buffers of one record for `batch` (written with one writev: a crash leaves it whole or detectably cut). */
export function encodeRecord(batch: SelectedBatch): Uint8Array[] {
  const n = batch.length;
  const json = Buffer.from(JSON.stringify({ n, basisIds: batch.basisIds, periods: batch.periods, exporters: batch.exporters }));
  const parts: Uint8Array[] = [json, ZERO.subarray(0, pad8(json.length))];
  for (const c of COLUMNS) {
    const a = batch[c];
    const bytes = new Uint8Array(a.buffer, a.byteOffset, n * PER_ROW[c]);
    parts.push(bytes, ZERO.subarray(0, pad8(bytes.length)));
  }
  const payload = parts.reduce((s, p) => s + p.length, 0);
  const head = Buffer.alloc(HEAD_BYTES);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt16LE(VERSION, 4);
  head.writeUInt32LE(payload, 8);
  head.writeUInt32LE(json.length, 12);
  const tail = Buffer.alloc(TAIL_BYTES);
  tail.writeUInt32LE(payload, 0);
  tail.writeUInt32LE(TRAILER, 4);
  return [head, ...parts.filter((p) => p.length > 0), tail];
}

type Meta = { n: number; basisIds: string[]; periods: string[]; exporters: string[] };

/** Every whole record of a segment (its start, metadata and the end of its payload); a cut or damaged tail ends the list. */
function records(bytes: Buffer): { list: { at: number; meta: Meta; end: number }[]; tornBytes: number } {
  const list: { at: number; meta: Meta; end: number }[] = [];
  let at = 0;
  while (at + HEAD_BYTES <= bytes.length) {
    if (bytes.readUInt32LE(at) !== MAGIC || bytes.readUInt16LE(at + 4) !== VERSION) break;
    const payload = bytes.readUInt32LE(at + 8);
    const jsonLen = bytes.readUInt32LE(at + 12);
    const end = at + HEAD_BYTES + payload;
    if (end + TAIL_BYTES > bytes.length || bytes.readUInt32LE(end) !== payload || bytes.readUInt32LE(end + 4) !== TRAILER) break;
    const meta = JSON.parse(bytes.toString('utf8', at + HEAD_BYTES, at + HEAD_BYTES + jsonLen)) as Meta;
    list.push({ at: at + HEAD_BYTES + jsonLen + pad8(jsonLen), meta, end });
    at = end + TAIL_BYTES;
  }
  return { list, tornBytes: bytes.length - at };
}

/** Decodes every whole record of a segment; a cut or damaged tail (a crash mid-write) ends the list. */
export function decodeSegment(bytes: Buffer): { batches: SelectedBatch[]; tornBytes: number } {
  const batches: SelectedBatch[] = [];
  const { list, tornBytes } = records(bytes);
  for (const { at, meta } of list) {
    let p = at;
    const b = createSelectedBatch(meta.n);
    b.length = meta.n;
    b.basisIds = meta.basisIds;
    b.periods = meta.periods;
    b.exporters = meta.exporters;
    for (const c of COLUMNS) {
      const len = meta.n * PER_ROW[c];
      const a = b[c];
      new Uint8Array(a.buffer, a.byteOffset, len).set(bytes.subarray(p, p + len));
      p += len + pad8(len);
    }
    batches.push(b);
  }
  return { batches, tornBytes };
}

/** One open segment file that records are appended to. */
export interface Segment {
  id: string;
  path: string;
  rows: number;
  /** Appends one batch; throws when the file cannot be written (the batch is then not acknowledged). */
  append(batch: SelectedBatch): void;
  /** Asks the kernel to put what was written on disk (asynchronous: the append path never waits for it). */
  sync(): void;
  close(): void;
}

/** Opens a new segment `<walDir>/<id>.wal`. */
export function openSegment(walDir: string, id: string): Segment {
  const path = join(walDir, `${id}.wal`);
  const fd = openSync(path, 'wx');
  let closed = false;
  let syncing = false;
  let rows = 0;
  return {
    id,
    path,
    get rows() { return rows; },
    append(batch) {
      const parts = encodeRecord(batch);
      const total = parts.reduce((s, x) => s + x.length, 0);
      const written = writevSync(fd, parts);
      if (written !== total) throw new Error(`short write to ${path}: ${written} of ${total} bytes`);
      rows += batch.length;
    },
    sync() {
      if (closed || syncing) return;
      syncing = true;
      fdatasync(fd, () => { syncing = false; });
    },
    close() {
      if (closed) return;
      closed = true;
      // A sync in flight holds the descriptor until it returns; closing under it is safe for the kernel.
      closeSync(fd);
    },
  } as Segment;
}

/** The segment ids left in `walDir` (from a process that stopped without flushing them), oldest first. */
export function leftSegments(walDir: string): string[] {
  if (!existsSync(walDir)) return [];
  return readdirSync(walDir).filter((f) => f.endsWith('.wal')).map((f) => f.slice(0, -4)).sort();
}

/** Reads a left segment. */
export function readSegment(walDir: string, id: string): { batches: SelectedBatch[]; tornBytes: number } {
  return decodeSegment(readFileSync(join(walDir, `${id}.wal`)));
}

/**
 * The whole records of a segment file by reading only their framing (head, metadata, trailer): the same records and
 * torn tail as `records` over the whole file.
 */
function recordsOf(fd: number, size: number): { list: { at: number; meta: Meta; end: number }[]; tornBytes: number } {
  const list: { at: number; meta: Meta; end: number }[] = [];
  const head = Buffer.alloc(HEAD_BYTES);
  const tail = Buffer.alloc(TAIL_BYTES);
  let at = 0;
  while (at + HEAD_BYTES <= size) {
    if (readSync(fd, head, 0, HEAD_BYTES, at) !== HEAD_BYTES) break;
    if (head.readUInt32LE(0) !== MAGIC || head.readUInt16LE(4) !== VERSION) break;
    const payload = head.readUInt32LE(8);
    const jsonLen = head.readUInt32LE(12);
    const end = at + HEAD_BYTES + payload;
    if (end + TAIL_BYTES > size || jsonLen > payload || readSync(fd, tail, 0, TAIL_BYTES, end) !== TAIL_BYTES) break;
    if (tail.readUInt32LE(0) !== payload || tail.readUInt32LE(4) !== TRAILER) break;
    const json = Buffer.alloc(jsonLen);
    if (readSync(fd, json, 0, jsonLen, at + HEAD_BYTES) !== jsonLen) break;
    list.push({ at: at + HEAD_BYTES + jsonLen + pad8(jsonLen), meta: JSON.parse(json.toString('utf8')) as Meta, end });
    at = end + TAIL_BYTES;
  }
  return { list, tornBytes: size - at };
}

/**
 * A segment's whole records as one batch (the writer's unit): each record's columns read from the file straight into
 * their place in the unit (one copy, not the whole file into memory and then each column), the records' string tables
 * merged and their indexes remapped.
 */
export function readSegmentUnit(walDir: string, id: string, mem: Alloc = freshAlloc): { batch: SelectedBatch; tornBytes: number } {
  const fd = openSync(join(walDir, `${id}.wal`), 'r');
  try {
    const { list, tornBytes } = recordsOf(fd, fstatSync(fd).size);
    const rows = list.reduce((a, r) => a + r.meta.n, 0);
    const b = createSelectedBatch(rows, unzeroed(mem)); // every column of every row is read below
    b.length = rows;
    const merge = (table: string[], names: readonly string[]): Uint16Array => Uint16Array.from(names, (s) => {
      const i = table.indexOf(s);
      return i >= 0 ? i : table.push(s) - 1;
    });
    let row = 0;
    for (const { at, meta } of list) {
      const n = meta.n;
      let p = at;
      for (const c of COLUMNS) {
        const len = n * PER_ROW[c];
        const a = b[c];
        const into = new Uint8Array(a.buffer, a.byteOffset + row * PER_ROW[c], len);
        if (len > 0 && readSync(fd, into, 0, len, p) !== len) throw new Error(`segment ${id}: short read of a whole record`);
        p += len + pad8(len);
      }
      const remap = (col: Uint16Array, map: Uint16Array): void => {
        if (map.every((v, i) => v === i)) return;
        for (let i = row; i < row + n; i++) col[i] = map[col[i]!] ?? 0;
      };
      remap(b.basisIndex, merge(b.basisIds, meta.basisIds));
      remap(b.periodIndex, merge(b.periods, meta.periods));
      remap(b.exporterIndex, merge(b.exporters, meta.exporters));
      row += n;
    }
    return { batch: b, tornBytes };
  } finally {
    closeSync(fd);
  }
}

/** The rows of a left segment's whole records (without decoding their columns). */
export function segmentRows(walDir: string, id: string): number {
  return records(readFileSync(join(walDir, `${id}.wal`))).list.reduce((a, r) => a + r.meta.n, 0);
}

/** Deletes a segment whose rows are in Parquet files now. */
export function deleteSegment(walDir: string, id: string): void {
  rmSync(join(walDir, `${id}.wal`), { force: true });
}
