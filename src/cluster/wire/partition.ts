/** @module Partitions of selected flows: each detector's key decides which worker sees a flow, so a worker's detectors see every flow of their keys. */
import { ADDR_ABSENT, createSelectedBatch, type SelectedBatch } from '#modules/selection/index.js';

/**
 * Partition families. `d` (by destination) carries every kept flow, keyed by its destination: DDoS by the
 * (domestic) target, beacon and botnet fan-in by the server called, indicators, and the archive. `s` (by
 * source) carries the flows with both endpoints, keyed by the source: the scan detector's scanner.
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

/** FNV-1a (32 bits) of a 16-byte address slot and its kind: stable across versions, since it places stored messages. */
export function slotPartition(addr: Uint8Array, offset: number, kind: number, partitions: number): number {
  let h = 0x811c9dc5 ^ kind;
  for (let j = 0; j < 16; j++) h = Math.imul(h ^ addr[offset + j]!, 0x01000193);
  return (h >>> 0) % partitions;
}

const INT_COLUMNS = ['basisIndex', 'category', 'fields', 'start', 'end', 'srcKind', 'dstKind', 'periodIndex', 'srcPort', 'dstPort', 'proto', 'tcpFlags', 'bytes', 'packets', 'samplingRate', 'inIf', 'outIf', 'exporterIndex'] as const;

/**
 * Splits kept flows into one batch per partition of `family` (absent where no row goes). In `d`, a flow
 * without a destination goes by its source (and to 0 without either), so every kept flow is in exactly one
 * `d` partition; `s` leaves out flows missing an endpoint (no detector of that family can use them).
 */
export function splitByPartition(sel: SelectedBatch, family: Family, partitions: number): (SelectedBatch | undefined)[] {
  const n = sel.length;
  const part = new Int32Array(n);
  const counts = new Int32Array(partitions);
  for (let i = 0; i < n; i++) {
    const sk = sel.srcKind[i]!, dk = sel.dstKind[i]!;
    let p: number;
    if (family === 's') p = sk === ADDR_ABSENT || dk === ADDR_ABSENT ? -1 : slotPartition(sel.srcAddr, i * 16, sk, partitions);
    else if (dk !== ADDR_ABSENT) p = slotPartition(sel.dstAddr, i * 16, dk, partitions);
    else p = sk !== ADDR_ABSENT ? slotPartition(sel.srcAddr, i * 16, sk, partitions) : 0;
    part[i] = p;
    if (p >= 0) counts[p]!++;
  }
  const out: (SelectedBatch | undefined)[] = new Array<SelectedBatch | undefined>(partitions).fill(undefined);
  for (let p = 0; p < partitions; p++) {
    if (counts[p] === 0) continue;
    const b = createSelectedBatch(counts[p]!);
    b.basisIds = sel.basisIds; b.periods = sel.periods; b.exporters = sel.exporters;
    out[p] = b;
  }
  for (let i = 0; i < n; i++) {
    const p = part[i]!;
    if (p < 0) continue;
    const b = out[p]!;
    const k = b.length++;
    for (const c of INT_COLUMNS) (b[c] as { [i: number]: number })[k] = (sel[c] as { [i: number]: number })[i]!;
    b.srcAddr.set(sel.srcAddr.subarray(i * 16, i * 16 + 16), k * 16);
    b.dstAddr.set(sel.dstAddr.subarray(i * 16, i * 16 + 16), k * 16);
  }
  return out;
}
