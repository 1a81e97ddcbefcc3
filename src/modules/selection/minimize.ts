/** @module Minimized flows: the columnar batch of kept flows holding only each basis's allowed fields, domestic addresses as pseudonyms. */
import { formatAddress } from '#modules/collection/index.js';
import { CATEGORIES, type Category } from './classify.js';
import { pseudonymHex } from './pseudonym.js';
import { FIELD_BIT, FLOW_FIELDS, type FlowField } from './schema.js';
import { freshAlloc, type Alloc } from './scratch.js';

/** Address slot kinds in a minimized batch. */
export const ADDR_ABSENT = 0;
/** The slot holds a foreign address. */
export const ADDR_FOREIGN = 1;
/** The slot holds a pseudonym (first 16 bytes of the HMAC), never the domestic address. */
export const ADDR_PSEUDONYM = 2;

/**
 * Kept, minimized flows in columnar form. Row `i` carries the id of the basis that covered it
 * (`basisIds[basisIndex[i]]`) and `fields[i]`, the mask of fields its basis allows; every column outside
 * that mask is zero. Address slots hold a foreign address or a pseudonym, as `srcKind`/`dstKind` say.
 */
export interface SelectedBatch {
  length: number;
  basisIndex: Uint16Array;
  basisIds: string[];
  category: Uint8Array;
  fields: Uint16Array;
  start: Float64Array;
  end: Float64Array;
  srcAddr: Uint8Array;
  dstAddr: Uint8Array;
  srcKind: Uint8Array;
  dstKind: Uint8Array;
  /** Index into `periods` of the pseudonym key period (by the flow's start). */
  periodIndex: Uint16Array;
  periods: string[];
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
  exporters: string[];
}

/** Allocates an empty minimized batch for `capacity` flows (its arrays from `mem`: new ones unless a Scratch is given). */
export function createSelectedBatch(capacity: number, mem: Alloc = freshAlloc): SelectedBatch {
  return {
    length: 0,
    basisIndex: mem.u16(capacity), basisIds: [], category: mem.u8(capacity), fields: mem.u16(capacity),
    start: mem.f64(capacity), end: mem.f64(capacity),
    srcAddr: mem.u8(capacity * 16), dstAddr: mem.u8(capacity * 16), srcKind: mem.u8(capacity), dstKind: mem.u8(capacity),
    periodIndex: mem.u16(capacity), periods: [],
    srcPort: mem.u16(capacity), dstPort: mem.u16(capacity), proto: mem.u8(capacity), tcpFlags: mem.u8(capacity),
    bytes: mem.f64(capacity), packets: mem.f64(capacity), samplingRate: mem.u32(capacity),
    inIf: mem.u32(capacity), outIf: mem.u32(capacity), exporterIndex: mem.u16(capacity), exporters: [],
  };
}

/** One kept flow as a plain object holding only its allowed fields: for tests, the archive writer and display. */
export interface SelectedFlow {
  basisId: string;
  category: Category;
  start?: number;
  end?: number;
  /** A foreign address as text. */
  srcAddr?: string;
  dstAddr?: string;
  /** A domestic endpoint's pseudonym (hex) and its key period. */
  srcPseudonym?: string;
  dstPseudonym?: string;
  pseudonymPeriod?: string;
  srcPort?: number;
  dstPort?: number;
  proto?: number;
  tcpFlags?: number;
  bytes?: number;
  packets?: number;
  exporter?: string;
  inIf?: number;
  outIf?: number;
  samplingRate?: number;
}

/** The allowed fields of row `i`. */
export function allowedFieldsOf(batch: SelectedBatch, i: number): FlowField[] {
  const m = batch.fields[i]!;
  return FLOW_FIELDS.filter((f) => (m & FIELD_BIT[f]) !== 0);
}

/** Reads row `i` of a minimized batch, with only the fields its basis allows. */
export function readSelectedFlow(batch: SelectedBatch, i: number): SelectedFlow {
  const m = batch.fields[i]!;
  const has = (f: FlowField): boolean => (m & FIELD_BIT[f]) !== 0;
  const out: SelectedFlow = { basisId: batch.basisIds[batch.basisIndex[i]!]!, category: CATEGORIES[batch.category[i]!]! };
  if (has('start')) out.start = batch.start[i]!;
  if (has('end')) out.end = batch.end[i]!;
  const addr = (side: 'src' | 'dst'): void => {
    const kind = (side === 'src' ? batch.srcKind : batch.dstKind)[i]!;
    const buf = side === 'src' ? batch.srcAddr : batch.dstAddr;
    if (kind === ADDR_FOREIGN) out[`${side}Addr`] = formatAddress(buf, i * 16);
    else if (kind === ADDR_PSEUDONYM) { out[`${side}Pseudonym`] = pseudonymHex(buf, i * 16); out.pseudonymPeriod = batch.periods[batch.periodIndex[i]!]!; }
  };
  addr('src');
  addr('dst');
  if (has('srcPort')) out.srcPort = batch.srcPort[i]!;
  if (has('dstPort')) out.dstPort = batch.dstPort[i]!;
  if (has('proto')) out.proto = batch.proto[i]!;
  if (has('tcpFlags')) out.tcpFlags = batch.tcpFlags[i]!;
  if (has('bytes')) out.bytes = batch.bytes[i]!;
  if (has('packets')) out.packets = batch.packets[i]!;
  if (has('exporter')) out.exporter = batch.exporters[batch.exporterIndex[i]!]!;
  if (has('inIf')) out.inIf = batch.inIf[i]!;
  if (has('outIf')) out.outIf = batch.outIf[i]!;
  if (has('samplingRate')) out.samplingRate = batch.samplingRate[i]!;
  return out;
}

