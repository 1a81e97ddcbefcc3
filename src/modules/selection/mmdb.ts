/** @module A reader of the MaxMind DB format (binary search tree + data section), usable instead of the bundled country CSV. */
import { packCountry } from './geo.js';
import type { RangeSet } from './ranges.js';

/** The metadata map every MaxMind DB ends with. @see https://maxmind.github.io/MaxMind-DB/ "Database Metadata" */
export interface MmdbMetadata {
  nodeCount: number;
  recordSize: 24 | 28 | 32;
  ipVersion: 4 | 6;
  databaseType: string;
  buildEpoch: number;
  raw: Record<string, unknown>;
}

/** An opened MaxMind DB. */
export interface MmdbReader {
  readonly metadata: MmdbMetadata;
  /** The record of the 16-byte slot at `o` (IPv4-mapped slots look up IPv4), or undefined. */
  lookup(buf: Uint8Array, o: number): unknown;
  /** Every network with a record; IPv4 networks of an IPv6 tree are reported once, as IPv4. */
  networks(): Generator<{ family: 4 | 6; start: bigint; end: bigint; record: unknown }>;
}

const MARKER = Buffer.from([0xab, 0xcd, 0xef, ...Buffer.from('MaxMind.com', 'latin1')]);

/** Thrown when the bytes are not a well-formed MaxMind DB. */
export class MmdbError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MmdbError';
  }
}

/**
 * Opens a MaxMind DB held in memory, written from the public specification (format 2.0).
 * @see https://maxmind.github.io/MaxMind-DB/
 */
export function openMmdb(bytes: Uint8Array): MmdbReader {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = buf.lastIndexOf(MARKER);
  if (at < 0) throw new MmdbError('no MaxMind DB metadata marker: not a MaxMind DB file');
  const metaStart = at + MARKER.length;
  const raw = decodeAt(buf, metaStart, metaStart, 0)[0];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new MmdbError('the metadata is not a map');
  const m = raw as Record<string, unknown>;
  const nodeCount = Number(m.node_count);
  const recordSize = Number(m.record_size);
  const ipVersion = Number(m.ip_version);
  if (Number(m.binary_format_major_version) !== 2) throw new MmdbError(`binary format ${String(m.binary_format_major_version)} is not supported (only 2)`);
  if (recordSize !== 24 && recordSize !== 28 && recordSize !== 32) throw new MmdbError(`record size ${recordSize} is not 24, 28 or 32`);
  if (ipVersion !== 4 && ipVersion !== 6) throw new MmdbError(`ip_version ${ipVersion} is not 4 or 6`);
  if (!Number.isInteger(nodeCount) || nodeCount <= 0) throw new MmdbError('node_count is missing');
  const nodeBytes = recordSize / 4;
  const treeSize = nodeCount * nodeBytes;
  const dataStart = treeSize + 16;
  if (dataStart > at) throw new MmdbError('the search tree is larger than the file');
  const metadata: MmdbMetadata = { nodeCount, recordSize, ipVersion, databaseType: String(m.database_type ?? ''), buildEpoch: Number(m.build_epoch ?? 0), raw: m };

  const readRecord = (node: number, bit: number): number => {
    const b = node * nodeBytes;
    if (recordSize === 24) return bit === 0 ? buf.readUIntBE(b, 3) : buf.readUIntBE(b + 3, 3);
    if (recordSize === 32) return bit === 0 ? buf.readUInt32BE(b) : buf.readUInt32BE(b + 4);
    // 28 bits: the middle byte's high nibble belongs to the left record, its low nibble to the right.
    const mid = buf[b + 3]!;
    return bit === 0 ? ((mid & 0xf0) << 20) | buf.readUIntBE(b, 3) : ((mid & 0x0f) << 24) | buf.readUIntBE(b + 4, 3);
  };
  const cache = new Map<number, unknown>();
  const resolve = (record: number): unknown => {
    const off = dataStart + (record - nodeCount - 16);
    if (off < dataStart || off >= at) throw new MmdbError('a record points outside the data section');
    let v = cache.get(off);
    if (v === undefined) { v = decodeAt(buf, off, dataStart, 0)[0]; cache.set(off, v); }
    return v;
  };
  // In an IPv6 tree, IPv4 lives under ::/96: find that node once.
  let ipv4Start = 0;
  if (ipVersion === 6) {
    for (let i = 0; i < 96 && ipv4Start < nodeCount; i++) ipv4Start = readRecord(ipv4Start, 0);
  }

  function walk(buf16: Uint8Array, o: number, startBit: number, node0: number): unknown {
    let node = node0;
    for (let i = startBit; i < 128 && node < nodeCount; i++) {
      const bit = (buf16[o + (i >> 3)]! >> (7 - (i & 7))) & 1;
      node = readRecord(node, bit);
    }
    if (node === nodeCount) return undefined;
    if (node < nodeCount) throw new MmdbError('the search tree is deeper than the address');
    return resolve(node);
  }

  return {
    metadata,
    lookup(b, o) {
      const mapped = b[o + 10] === 0xff && b[o + 11] === 0xff && b.subarray(o, o + 10).every((x) => x === 0);
      if (mapped) return ipVersion === 4 ? walk(b, o, 96, 0) : (ipv4Start >= nodeCount ? (ipv4Start === nodeCount ? undefined : resolve(ipv4Start)) : walk(b, o, 96, ipv4Start));
      if (ipVersion === 4) return undefined;
      return walk(b, o, 0, 0);
    },
    *networks() {
      const bits = ipVersion === 4 ? 32 : 128;
      const stack: { node: number; depth: number; prefix: bigint }[] = [{ node: 0, depth: 0, prefix: 0n }];
      while (stack.length > 0) {
        const { node, depth, prefix } = stack.pop()!;
        for (const bit of [1, 0]) {
          const next = readRecord(node, bit);
          const d = depth + 1;
          const p = prefix | (BigInt(bit) << BigInt(bits - d));
          if (next === nodeCount) continue;
          // Skip aliases (::ffff:0:0/96, 2002::/16) that lead back into the IPv4 subtree, except the real path.
          if (ipVersion === 6 && next === ipv4Start && !(d === 96 && p === 0n)) continue;
          if (next < nodeCount) {
            if (d >= bits) throw new MmdbError('the search tree is deeper than the address');
            stack.push({ node: next, depth: d, prefix: p });
            continue;
          }
          const hostMask = (1n << BigInt(bits - d)) - 1n;
          const record = resolve(next);
          if (ipVersion === 6 && d >= 96 && p >> 32n === 0n) yield { family: 4, start: p, end: p | hostMask, record };
          else yield { family: ipVersion, start: p, end: p | hostMask, record };
        }
      }
    },
  };
}

/** Decodes the data field at `off`; pointers are relative to `base`. Returns the value and the next offset. */
function decodeAt(buf: Buffer, off: number, base: number, depth: number): [unknown, number] {
  if (depth > 64) throw new MmdbError('data nested too deeply');
  if (off >= buf.length) throw new MmdbError('data runs past the end of the file');
  const ctrl = buf[off++]!;
  let type = ctrl >> 5;
  if (type === 1) {
    const ss = (ctrl >> 3) & 3;
    const vvv = ctrl & 7;
    let p: number;
    if (ss === 0) p = (vvv << 8) | buf[off]!;
    else if (ss === 1) p = ((vvv << 16) | buf.readUInt16BE(off)) + 2048;
    else if (ss === 2) p = ((vvv << 24) >>> 0) + buf.readUIntBE(off, 3) + 526336;
    else p = buf.readUInt32BE(off);
    // A pointer's target is never itself followed for the pointer's own size; the target is a full value.
    return [decodeAt(buf, base + p, base, depth + 1)[0], off + ss + 1];
  }
  if (type === 0) type = 7 + buf[off++]!;
  let size = ctrl & 0x1f;
  if (size === 29) size = 29 + buf[off++]!;
  else if (size === 30) { size = 285 + buf.readUInt16BE(off); off += 2; }
  else if (size === 31) { size = 65821 + buf.readUIntBE(off, 3); off += 3; }
  switch (type) {
    case 2: return [buf.toString('utf8', off, off + size), off + size];
    case 3: if (size !== 8) throw new MmdbError('a double is not 8 bytes'); return [buf.readDoubleBE(off), off + 8];
    case 4: return [new Uint8Array(buf.subarray(off, off + size)), off + size];
    case 5: case 6: return [size === 0 ? 0 : buf.readUIntBE(off, size), off + size];
    case 8: return [size === 0 ? 0 : buf.readIntBE(off, size), off + size];
    case 9: case 10: {
      let v = 0n;
      for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(buf[off + i]!);
      return [v, off + size];
    }
    case 7: {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < size; i++) {
        const [k, o1] = decodeAt(buf, off, base, depth + 1);
        const [v, o2] = decodeAt(buf, o1, base, depth + 1);
        out[String(k)] = v;
        off = o2;
      }
      return [out, off];
    }
    case 11: {
      const out: unknown[] = [];
      for (let i = 0; i < size; i++) { const [v, o1] = decodeAt(buf, off, base, depth + 1); out.push(v); off = o1; }
      return [out, off];
    }
    case 14: return [size !== 0, off];
    case 15: if (size !== 4) throw new MmdbError('a float is not 4 bytes'); return [buf.readFloatBE(off), off + 4];
    default: throw new MmdbError(`unsupported data type ${type}`);
  }
}

/** The ISO country of a record: `country.iso_code`, else `registered_country.iso_code`, else `country_code`. */
export function mmdbRecordCountry(record: unknown): string | undefined {
  if (typeof record !== 'object' || record === null) return undefined;
  const r = record as { country?: { iso_code?: unknown }; registered_country?: { iso_code?: unknown }; country_code?: unknown };
  const cc = r.country?.iso_code ?? r.registered_country?.iso_code ?? r.country_code;
  return typeof cc === 'string' && /^[A-Z]{2}$/.test(cc) ? cc : undefined;
}

/** Turns a MaxMind DB's networks into country ranges for {@link createLocator}. */
export function mmdbCountryRanges(reader: MmdbReader, pick: (record: unknown) => string | undefined = mmdbRecordCountry): RangeSet {
  const set: RangeSet = { v4: [], v6: [] };
  for (const n of reader.networks()) {
    const cc = pick(n.record);
    if (cc === undefined) continue;
    if (n.family === 4) set.v4.push({ start: Number(n.start & 0xffff_ffffn), end: Number(n.end & 0xffff_ffffn), value: packCountry(cc) });
    else set.v6.push({ start: n.start, end: n.end, value: packCountry(cc) });
  }
  return set;
}
