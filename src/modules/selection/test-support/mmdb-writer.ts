/** @module A small MaxMind DB writer for tests: builds a search tree and data section from prefixes, per the public spec. */
import { parsePrefix } from '../ranges.js';

type Value = string | number | boolean | Value[] | { [k: string]: Value };

function ctrl(type: number, size: number): number[] {
  const out: number[] = [];
  let sizeBits: number;
  const extra: number[] = [];
  if (size < 29) sizeBits = size;
  else if (size < 285) { sizeBits = 29; extra.push(size - 29); }
  else { sizeBits = 30; const s = size - 285; extra.push(s >> 8, s & 0xff); }
  if (type <= 7) out.push((type << 5) | sizeBits);
  else out.push(sizeBits, type - 7);
  return [...out, ...extra];
}

function encode(v: Value, uintType = 6): number[] {
  if (typeof v === 'string') { const b = [...Buffer.from(v, 'utf8')]; return [...ctrl(2, b.length), ...b]; }
  if (typeof v === 'boolean') return ctrl(14, v ? 1 : 0);
  if (typeof v === 'number') {
    const bytes: number[] = [];
    let x = v;
    while (x > 0) { bytes.unshift(x & 0xff); x = Math.floor(x / 256); }
    return [...ctrl(uintType, bytes.length), ...bytes];
  }
  if (Array.isArray(v)) return [...ctrl(11, v.length), ...v.flatMap((x) => encode(x))];
  const keys = Object.keys(v);
  return [...ctrl(7, keys.length), ...keys.flatMap((k) => [...encode(k), ...encode(v[k]!)])];
}

interface Node { kids: [Node | number | null, Node | number | null] }

/**
 * Writes an IPv6 (or IPv4) MaxMind DB mapping each prefix to a record; IPv4 prefixes go under ::/96.
 * The second record of a shared value is written as a pointer to the first, to exercise pointers.
 */
export function writeMmdb(entries: readonly { prefix: string; record: Value }[], options: { recordSize?: 24 | 28 | 32; ipVersion?: 4 | 6 } = {}): Uint8Array {
  const recordSize = options.recordSize ?? 28;
  const ipVersion = options.ipVersion ?? 6;
  const bits = ipVersion === 4 ? 32 : 128;
  const data: number[] = [];
  const offsets = new Map<string, number>();
  const dataOf = (rec: Value): number => {
    const key = JSON.stringify(rec);
    const known = offsets.get(key);
    if (known !== undefined) {
      // A pointer (size class 0 or 1) to the first copy.
      const at = data.length;
      if (known < 2048) data.push((1 << 5) | (0 << 3) | (known >> 8), known & 0xff);
      else { const p = known - 2048; data.push((1 << 5) | (1 << 3) | (p >> 16), (p >> 8) & 0xff, p & 0xff); }
      return at;
    }
    const at = data.length;
    offsets.set(key, at);
    data.push(...encode(rec));
    return at;
  };
  const root: Node = { kids: [null, null] };
  for (const e of entries) {
    const p = parsePrefix(e.prefix);
    if (p === undefined) throw new Error(`bad prefix ${e.prefix}`);
    let start: bigint;
    let len: number;
    const slash = e.prefix.indexOf('/');
    const given = slash < 0 ? (p.family === 4 ? 32 : 128) : Number(e.prefix.slice(slash + 1));
    if (p.family === 4) { start = BigInt(p.start); len = ipVersion === 4 ? given : 96 + given; }
    else { if (ipVersion === 4) throw new Error('IPv6 prefix in an IPv4 database'); start = p.start; len = given; }
    const dataOffset = dataOf(e.record);
    let node = root;
    for (let i = 0; i < len; i++) {
      const bit = Number((start >> BigInt(bits - 1 - i)) & 1n);
      if (i === len - 1) { node.kids[bit] = -1 - dataOffset; break; }
      let next = node.kids[bit];
      if (typeof next !== 'object' || next === null) { next = { kids: [next ?? null, next ?? null] }; node.kids[bit] = next; } // a wider network's data is pushed down
      node = next;
    }
  }
  const order: Node[] = [];
  const queue: Node[] = [root];
  while (queue.length > 0) { const n = queue.shift()!; order.push(n); for (const k of n.kids) if (typeof k === 'object' && k !== null) queue.push(k); }
  const index = new Map(order.map((n, i) => [n, i]));
  const nodeCount = order.length;
  const nodeBytes = recordSize / 4;
  const tree = Buffer.alloc(nodeCount * nodeBytes);
  const recordOf = (k: Node | number | null): number => (k === null ? nodeCount : typeof k === 'number' ? nodeCount + 16 + (-1 - k) : index.get(k)!);
  order.forEach((n, i) => {
    const l = recordOf(n.kids[0]);
    const r = recordOf(n.kids[1]);
    const b = i * nodeBytes;
    if (recordSize === 24) { tree.writeUIntBE(l, b, 3); tree.writeUIntBE(r, b + 3, 3); }
    else if (recordSize === 32) { tree.writeUInt32BE(l, b); tree.writeUInt32BE(r, b + 4); }
    else { tree.writeUIntBE(l & 0xffffff, b, 3); tree[b + 3] = ((l >> 20) & 0xf0) | ((r >> 24) & 0x0f); tree.writeUIntBE(r & 0xffffff, b + 4, 3); }
  });
  const meta = encode({
    node_count: nodeCount, record_size: recordSize, ip_version: ipVersion, database_type: 'mamori-test', languages: ['en'],
    binary_format_major_version: 2, binary_format_minor_version: 0, build_epoch: 1_700_000_000, description: { en: 'test' },
  });
  return new Uint8Array(Buffer.concat([tree, Buffer.alloc(16), Buffer.from(data), Buffer.from([0xab, 0xcd, 0xef]), Buffer.from('MaxMind.com', 'latin1'), Buffer.from(meta)]));
}
