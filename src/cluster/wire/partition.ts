/** @module Partitions of selected flows: each detector's key decides which worker sees a flow, so a worker's detectors see every flow of their keys. */
import { scanReadsFlow } from '#modules/analysis/index.js';
import { ADDR_ABSENT, createSelectedBatch, type SelectedBatch } from '#modules/selection/index.js';

/**
 * Partition families. `d` (by destination) carries every kept flow, keyed by its destination: DDoS by the
 * (domestic) target, beacon and botnet fan-in by the server called, indicators, and the archive. `s` (by
 * source) carries the flows with both endpoints that the scan detector reads, keyed by the source: the scanner.
 * @see docs/decisions/0007-cluster-wire-and-partitions.md
 */
export const FAMILIES = ['d', 's'] as const;

/** One partition family. */
export type Family = (typeof FAMILIES)[number];

/** The detector kinds a worker runs over each family. */
export const FAMILY_KINDS = { d: ['beacon', 'ddos', 'indicators'], s: ['scan'] } as const;

/** Subject of a partition: `<prefix>.<family>.<n>` (one filter subject per consumer on nats-server 2.9). */
export function partitionSubject(prefix: string, family: Family, partition: number): string {
  return `${prefix}.${family}.${partition}`;
}

/**
 * Names `slotPartition`'s function. Edges and workers must place a flow alike: the centre publishes this name and its
 * partition count, and an edge whose own differ holds back every flow (see `layoutDifference`). Change it with the hash.
 */
export const PARTITION_HASH = 'fnv1a32-fmix32/1';

/** How flows are placed on the wire: partition count, hash and batch format; equal at every edge and worker of a cluster. */
export interface WireLayout {
  partitions: number;
  hash: string;
  wire: number;
}

/** This process's layout with `partitions` (`cluster.partitions`). */
export function wireLayout(partitions: number, wire: number): WireLayout {
  return { partitions, hash: PARTITION_HASH, wire };
}

/** What differs between the centre's layout and this process's, in words for the log; undefined when they agree. */
export function layoutDifference(centre: WireLayout, mine: WireLayout): string | undefined {
  const d: string[] = [];
  if (centre.partitions !== mine.partitions) d.push(`the centre places flows into ${centre.partitions} partitions and this process into ${mine.partitions} (set cluster.partitions alike everywhere)`);
  if (centre.hash !== mine.hash) d.push(`the centre's partition hash is ${centre.hash} and this process's ${mine.hash} (run one mamori version at the centre and the edges)`);
  if (centre.wire !== mine.wire) d.push(`the centre reads flow batch format ${centre.wire} and this process writes ${mine.wire} (upgrade the centre first, then the edges)`);
  return d.length === 0 ? undefined : d.join('; ');
}

/**
 * FNV-1a (32 bits) of a 16-byte address slot and its kind, mixed by MurmurHash3's finalizer: stable across versions,
 * since it places stored messages. Without the finalizer, FNV's low k bits depend only on the low k bits of each byte
 * (the prime is odd), so with 2^k partitions addresses differing only in their bytes' high bits shared one partition.
 */
export function slotPartition(addr: Uint8Array, offset: number, kind: number, partitions: number): number {
  let h = 0x811c9dc5 ^ kind;
  for (let j = 0; j < 16; j++) h = Math.imul(h ^ addr[offset + j]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % partitions;
}

type Column = Uint8Array | Uint16Array | Uint32Array | Float64Array;
const ROW_COLUMNS = ['basisIndex', 'category', 'fields', 'start', 'end', 'srcKind', 'dstKind', 'periodIndex', 'srcPort', 'dstPort', 'proto', 'tcpFlags', 'bytes', 'packets', 'samplingRate', 'inIf', 'outIf', 'exporterIndex'] as const;

/** `to[k] = from[order[k]]` for k < m: one monomorphic loop per column type. */
function gather<T extends Column>(to: T, from: T, order: Int32Array, m: number): void {
  for (let k = 0; k < m; k++) to[k] = from[order[k]!]!;
}

function gatherSlots(to: Uint8Array, from: Uint8Array, order: Int32Array, m: number): void {
  for (let k = 0; k < m; k++) {
    const o = order[k]! * 16, t = k * 16;
    for (let j = 0; j < 16; j++) to[t + j] = from[o + j]!;
  }
}

/** The rows of each partition: `order[from[p] … from[p + 1])` are partition p's rows, in their order in the batch. */
export interface PartitionRows {
  order: Int32Array;
  from: Int32Array;
}

/** Arrays `partitionRows` may reuse from call to call (its result is then valid until the next call with them). */
export class PartitionScratch {
  part = new Int32Array(0);
  order = new Int32Array(0);
  /** Grows both arrays to hold `n` rows (with room to spare, so a slightly larger batch does not allocate again). */
  room(n: number): void {
    if (this.part.length >= n) return;
    const size = Math.max(n, Math.ceil(this.part.length * 1.5));
    this.part = new Int32Array(size);
    this.order = new Int32Array(size);
  }
}

/** Whether this machine stores numbers little-endian (a slot's 32-bit words then hold its bytes in order, low byte first). */
const LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A 32-bit view of 16-byte slots when their array is aligned (selection's are) on a little-endian machine, else undefined. */
function slotWords(slots: Uint8Array): Uint32Array | undefined {
  return LE && slots.byteOffset % 4 === 0 ? new Uint32Array(slots.buffer, slots.byteOffset, slots.length >>> 2) : undefined;
}

/** `slotPartition` of slot `i`, read as four words instead of sixteen bytes (the same bytes in the same order: the same hash). */
function wordsPartition(words: Uint32Array, i: number, kind: number, partitions: number): number {
  let h = 0x811c9dc5 ^ kind;
  for (let q = i * 4, z = q + 4; q < z; q++) {
    const v = words[q]!;
    h = Math.imul(h ^ (v & 0xff), 0x01000193);
    h = Math.imul(h ^ ((v >>> 8) & 0xff), 0x01000193);
    h = Math.imul(h ^ ((v >>> 16) & 0xff), 0x01000193);
    h = Math.imul(h ^ (v >>> 24), 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  // (h >>> 0) % partitions in 31-bit integers: the unsigned value as twice its upper 31 bits plus its low bit
  // (a remainder of a number past 2^31 is a floating-point one, several times slower).
  return ((((h >>> 1) % partitions) << 1) + (h & 1)) % partitions;
}

/** A slot's partition: by words when `words` is its array's word view, else byte by byte. */
function placeSlot(slots: Uint8Array, words: Uint32Array | undefined, i: number, kind: number, partitions: number): number {
  return words !== undefined ? wordsPartition(words, i, kind, partitions) : slotPartition(slots, i * 16, kind, partitions);
}

/**
 * Which rows of kept flows go to which partition of `family`. In `d`, a flow without a destination goes
 * by its source (and to 0 without either), so every kept flow is in exactly one `d` partition; `s` leaves
 * out flows missing an endpoint and flows the scan detector skips (without SYN, UDP, ICMP other than echo
 * requests): no detector of that family reads them. A counting sort: no copy of any column. With `scratch`,
 * `order` is a view of its array (overwritten by the next call with it).
 */
export function partitionRows(sel: SelectedBatch, family: Family, partitions: number, scratch?: PartitionScratch): PartitionRows {
  const n = sel.length;
  scratch?.room(n);
  const part = scratch !== undefined ? scratch.part : new Int32Array(n);
  const counts = new Int32Array(partitions);
  const { srcKind, dstKind, srcAddr, dstAddr } = sel;
  const srcWords = slotWords(srcAddr), dstWords = slotWords(dstAddr);
  // One loop per family (no test of the family per row); the hot path of the edge after selection (bench/cluster).
  if (family === 's') {
    const { proto, tcpFlags, dstPort } = sel;
    for (let i = 0; i < n; i++) {
      const sk = srcKind[i]!;
      const p = sk === ADDR_ABSENT || dstKind[i] === ADDR_ABSENT || !scanReadsFlow(proto[i]!, tcpFlags[i]!, dstPort[i]!) ? -1 : placeSlot(srcAddr, srcWords, i, sk, partitions);
      part[i] = p;
      if (p >= 0) counts[p]!++;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const sk = srcKind[i]!, dk = dstKind[i]!;
      const p = dk !== ADDR_ABSENT ? placeSlot(dstAddr, dstWords, i, dk, partitions) : sk !== ADDR_ABSENT ? placeSlot(srcAddr, srcWords, i, sk, partitions) : 0;
      part[i] = p;
      counts[p]!++;
    }
  }
  const from = new Int32Array(partitions + 1);
  for (let p = 0; p < partitions; p++) from[p + 1] = from[p]! + counts[p]!;
  const order = scratch !== undefined ? scratch.order.subarray(0, from[partitions]!) : new Int32Array(from[partitions]!);
  const at = from.slice(0, partitions);
  for (let i = 0; i < n; i++) { const p = part[i]!; if (p >= 0) order[at[p]!++] = i; }
  return { order, from };
}

/**
 * Splits kept flows into one batch per partition of `family` (absent where no row goes), as `partitionRows`
 * places them. The rows are put in partition order once (column by column), and each partition's batch is
 * a view of its range: no copy per row and column.
 */
export function splitByPartition(sel: SelectedBatch, family: Family, partitions: number): (SelectedBatch | undefined)[] {
  const { order, from } = partitionRows(sel, family, partitions);
  const m = order.length;
  const all = createSelectedBatch(m);
  for (const c of ROW_COLUMNS) gather(all[c] as Column, sel[c] as Column, order, m);
  gatherSlots(all.srcAddr, sel.srcAddr, order, m);
  gatherSlots(all.dstAddr, sel.dstAddr, order, m);
  const out: (SelectedBatch | undefined)[] = new Array<SelectedBatch | undefined>(partitions).fill(undefined);
  for (let p = 0; p < partitions; p++) {
    const a = from[p]!, z = from[p + 1]!;
    if (z === a) continue;
    out[p] = {
      length: z - a, basisIds: sel.basisIds, periods: sel.periods, exporters: sel.exporters,
      basisIndex: all.basisIndex.subarray(a, z), category: all.category.subarray(a, z), fields: all.fields.subarray(a, z),
      start: all.start.subarray(a, z), end: all.end.subarray(a, z), srcKind: all.srcKind.subarray(a, z), dstKind: all.dstKind.subarray(a, z),
      srcAddr: all.srcAddr.subarray(a * 16, z * 16), dstAddr: all.dstAddr.subarray(a * 16, z * 16),
      periodIndex: all.periodIndex.subarray(a, z), srcPort: all.srcPort.subarray(a, z), dstPort: all.dstPort.subarray(a, z),
      proto: all.proto.subarray(a, z), tcpFlags: all.tcpFlags.subarray(a, z), bytes: all.bytes.subarray(a, z), packets: all.packets.subarray(a, z),
      samplingRate: all.samplingRate.subarray(a, z), inIf: all.inIf.subarray(a, z), outIf: all.outIf.subarray(a, z), exporterIndex: all.exporterIndex.subarray(a, z),
    };
  }
  return out;
}
