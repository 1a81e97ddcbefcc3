/** @module The normalized flow record, held column by column so later stages loop over typed arrays. */

/** Bytes per address slot: IPv6 as is, IPv4 as an IPv4-mapped IPv6 address (::ffff:a.b.c.d). */
export const ADDR_BYTES = 16;

const views = new WeakMap<Uint8Array, DataView>();

/**
 * A DataView over an address column's memory, made once per column (batches are reused): hot loops read a slot
 * as four big-endian words with `getUint32(o, false)`, which V8 compiles to a load and a byte swap, about half the
 * CPU of sixteen byte loads and shifts (bench/ingest).
 */
export function addressView(column: Uint8Array): DataView {
  let v = views.get(column);
  if (v === undefined) {
    v = new DataView(column.buffer, column.byteOffset, column.byteLength);
    views.set(column, v);
  }
  return v;
}

/**
 * A batch of normalized flow records in columnar form. Row `i` of every column belongs to one flow.
 * Addresses are 16 bytes each (`srcAddr.subarray(i * 16, i * 16 + 16)`), IPv4 stored IPv4-mapped.
 * Times are milliseconds since the Unix epoch (UTC). `bytes` and `packets` are already scaled by the
 * sampling rate; `samplingRate` is 1 for unsampled flows. `exporterIndex` indexes `exporters`.
 */
export interface FlowBatch {
  length: number;
  start: Float64Array;
  end: Float64Array;
  srcAddr: Uint8Array;
  dstAddr: Uint8Array;
  srcPort: Uint16Array;
  dstPort: Uint16Array;
  proto: Uint8Array;
  tcpFlags: Uint8Array;
  bytes: Float64Array;
  packets: Float64Array;
  samplingRate: Uint32Array;
  inIf: Uint32Array;
  outIf: Uint32Array;
  exporterIndex: Uint16Array;
  /** Exporter names, e.g. "192.0.2.1/0" (address / observation domain or source id). */
  exporters: string[];
}

/** Allocates an empty batch with room for `capacity` flows. */
export function createFlowBatch(capacity: number): FlowBatch {
  return {
    length: 0,
    start: new Float64Array(capacity),
    end: new Float64Array(capacity),
    srcAddr: new Uint8Array(capacity * ADDR_BYTES),
    dstAddr: new Uint8Array(capacity * ADDR_BYTES),
    srcPort: new Uint16Array(capacity),
    dstPort: new Uint16Array(capacity),
    proto: new Uint8Array(capacity),
    tcpFlags: new Uint8Array(capacity),
    bytes: new Float64Array(capacity),
    packets: new Float64Array(capacity),
    samplingRate: new Uint32Array(capacity),
    inIf: new Uint32Array(capacity),
    outIf: new Uint32Array(capacity),
    exporterIndex: new Uint16Array(capacity),
    exporters: [],
  };
}

/** The capacity a batch was allocated with. */
export function flowBatchCapacity(batch: FlowBatch): number {
  return batch.start.length;
}

/** One flow as a plain object: for tests, files and display, not for hot loops. */
export interface FlowRecord {
  start: number;
  end: number;
  srcAddr: string;
  dstAddr: string;
  srcPort: number;
  dstPort: number;
  proto: number;
  tcpFlags: number;
  bytes: number;
  packets: number;
  samplingRate: number;
  inIf: number;
  outIf: number;
  exporter: string;
}

/** Writes a textual IPv4 or IPv6 address into a 16-byte slot (IPv4 as IPv4-mapped); false if unparsable. */
export function writeAddress(out: Uint8Array, offset: number, text: string): boolean {
  if (text.includes(':')) {
    const parts = expandIpv6(text);
    if (parts === undefined) return false;
    for (let i = 0; i < 8; i++) {
      const v = parts[i] ?? 0;
      out[offset + 2 * i] = v >>> 8;
      out[offset + 2 * i + 1] = v & 0xff;
    }
    return true;
  }
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (m === null) return false;
  out.fill(0, offset, offset + 10);
  out[offset + 10] = 0xff;
  out[offset + 11] = 0xff;
  for (let i = 0; i < 4; i++) {
    const v = Number(m[i + 1]);
    if (v > 255) return false;
    out[offset + 12 + i] = v;
  }
  return true;
}

function expandIpv6(input: string): number[] | undefined {
  let text = input;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two hex groups.
    const slot = new Uint8Array(16);
    if (!writeAddress(slot, 0, tail)) return undefined;
    text = `${text.slice(0, lastColon + 1)}${((slot[12]! << 8) | slot[13]!).toString(16)}:${((slot[14]! << 8) | slot[15]!).toString(16)}`;
  }
  const parse = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const dbl = text.indexOf('::');
  if (dbl < 0) {
    const all = parse(text);
    return all !== undefined && all.length === 8 ? all : undefined;
  }
  if (dbl !== text.lastIndexOf('::')) return undefined;
  const left = parse(text.slice(0, dbl));
  const right = parse(text.slice(dbl + 2));
  if (left === undefined || right === undefined || left.length + right.length > 7) return undefined;
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** Formats the 16-byte slot at `offset` as text: dotted quad for IPv4-mapped, RFC 5952 form otherwise. */
export function formatAddress(buf: Uint8Array, offset: number): string {
  let mapped = buf[offset + 10] === 0xff && buf[offset + 11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) if (buf[offset + i] !== 0) mapped = false;
  if (mapped) return `${buf[offset + 12]}.${buf[offset + 13]}.${buf[offset + 14]}.${buf[offset + 15]}`;
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((buf[offset + 2 * i]! << 8) | buf[offset + 2 * i + 1]!);
  // RFC 5952 §4.2: compress the longest run (≥ 2) of zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Reads row `i` of a batch as a plain record. */
export function readFlow(batch: FlowBatch, i: number): FlowRecord {
  return {
    start: batch.start[i]!,
    end: batch.end[i]!,
    srcAddr: formatAddress(batch.srcAddr, i * ADDR_BYTES),
    dstAddr: formatAddress(batch.dstAddr, i * ADDR_BYTES),
    srcPort: batch.srcPort[i]!,
    dstPort: batch.dstPort[i]!,
    proto: batch.proto[i]!,
    tcpFlags: batch.tcpFlags[i]!,
    bytes: batch.bytes[i]!,
    packets: batch.packets[i]!,
    samplingRate: batch.samplingRate[i]!,
    inIf: batch.inIf[i]!,
    outIf: batch.outIf[i]!,
    exporter: batch.exporters[batch.exporterIndex[i]!] ?? '',
  };
}

/** Appends a plain record to a batch; returns false when the batch is full or an address is invalid. */
export function appendFlow(batch: FlowBatch, r: FlowRecord): boolean {
  const i = batch.length;
  if (i >= flowBatchCapacity(batch)) return false;
  if (!writeAddress(batch.srcAddr, i * ADDR_BYTES, r.srcAddr) || !writeAddress(batch.dstAddr, i * ADDR_BYTES, r.dstAddr)) return false;
  batch.start[i] = r.start;
  batch.end[i] = r.end;
  batch.srcPort[i] = r.srcPort;
  batch.dstPort[i] = r.dstPort;
  batch.proto[i] = r.proto;
  batch.tcpFlags[i] = r.tcpFlags;
  batch.bytes[i] = r.bytes;
  batch.packets[i] = r.packets;
  batch.samplingRate[i] = r.samplingRate;
  batch.inIf[i] = r.inIf;
  batch.outIf[i] = r.outIf;
  let ex = batch.exporters.indexOf(r.exporter);
  if (ex < 0) { ex = batch.exporters.length; batch.exporters.push(r.exporter); }
  batch.exporterIndex[i] = ex;
  batch.length = i + 1;
  return true;
}
