/** @module The decoder's public types (options, results, error codes, counters per exporter) and how counters add up. */
import type { FlowBatch } from '../flow-batch.js';

/** Stable reasons a datagram, set or record was not (fully) decoded. */
export type DecodeErrorCode =
  | 'TRUNCATED'
  | 'BAD_VERSION'
  | 'BAD_LENGTH'
  | 'BAD_SET_LENGTH'
  | 'BAD_SET_ID'
  | 'BAD_TEMPLATE'
  | 'BAD_RECORD'
  | 'TEMPLATE_MISSING'
  | 'TEMPLATE_LIMIT'
  | 'EXPORTER_LIMIT'
  | 'DOMAIN_LIMIT'
  | 'PENDING_OVERFLOW'
  | 'BATCH_FULL'
  | 'INTERNAL';

/** Every reason code, in a stable order, for dashboards and tests. */
export const DECODE_ERROR_CODES: readonly DecodeErrorCode[] = [
  'TRUNCATED', 'BAD_VERSION', 'BAD_LENGTH', 'BAD_SET_LENGTH', 'BAD_SET_ID', 'BAD_TEMPLATE', 'BAD_RECORD',
  'TEMPLATE_MISSING', 'TEMPLATE_LIMIT', 'EXPORTER_LIMIT', 'DOMAIN_LIMIT', 'PENDING_OVERFLOW', 'BATCH_FULL', 'INTERNAL',
];

/** Limits and timeouts of a decoder; every one has a default, so `{}` is a valid configuration. */
export interface FlowDecoderOptions {
  /** A template not refreshed for this long is forgotten (RFC 7011 §8.4 lets UDP collectors expire templates). Default 30 min. */
  templateTimeoutMs?: number;
  /** Data sets waiting for their template are dropped (and counted) after this long. Default 60 s. */
  pendingTimeoutMs?: number;
  /** An exporter silent for this long loses its state and counters. Default 1 h. */
  exporterIdleMs?: number;
  maxExporters?: number;
  maxDomainsPerExporter?: number;
  maxTemplatesPerDomain?: number;
  /** Across all exporters: templates, and fields summed over all templates. */
  maxTemplates?: number;
  maxTemplateFields?: number;
  maxPendingSetsPerDomain?: number;
  /** Bytes of data sets held while waiting for templates, across all exporters. */
  maxPendingBytes?: number;
  maxSamplersPerDomain?: number;
  /** Rate assumed when an exporter says nothing about sampling. Default 1 (unsampled). */
  defaultSamplingRate?: number;
  /**
   * Compile fixed-length templates into a record reader with fixed offsets (default true); false decodes
   * every record through the general field-by-field path. Both give the same batches (tested); the
   * switch exists for those tests and for benchmarks.
   */
  compileTemplates?: boolean;
}

/** Counters of one exporter address (summed over its observation domains / source ids). */
export interface ExporterCounters {
  datagrams: number;
  flows: number;
  /** Problems by reason; a datagram with several problems counts each. */
  errors: Partial<Record<DecodeErrorCode, number>>;
  /** Flows lost in transit, from sequence gaps: exact for v5 and IPFIX, estimated for v9 (whose sequence counts packets). */
  lostFlows: number;
  /** NetFlow v9 export packets lost in transit (RFC 3954 §5.1 counts packets). */
  lostPackets: number;
  /** Sequence numbers that went backwards: an exporter restart or reordering; not counted as loss. */
  sequenceResets: number;
  /** Data sets dropped because their template never arrived (on expiry or overflow of the pending buffer). */
  templatesMissing: number;
  /** Data records that describe no flow (no addresses), e.g. NAT pool events. */
  recordsSkipped: number;
}

/** Statistics of a decoder: per exporter, totals, and the size of its bounded stores. */
export interface FlowDecoderStats {
  exporters: Record<string, ExporterCounters>;
  totals: ExporterCounters;
  templates: number;
  templateFields: number;
  pendingSets: number;
  pendingBytes: number;
}

/** What one `decode` call did. */
export interface DecodeResult {
  /** Flows appended to the batch by this call (including earlier-held data its templates unlocked). */
  flows: number;
  /** Data sets of this datagram held until their template arrives. */
  pending: number;
  /** The first problem met, also counted in the exporter's `errors`; undefined when all went well. */
  error: DecodeErrorCode | undefined;
}

/** A stateful decoder for the datagrams of many exporters. */
export interface FlowDecoder {
  /**
   * Decodes one datagram from `exporterAddr` and appends its flows to `out`; never throws.
   * Keep `out` at least one datagram's worth of flows below capacity, or surplus flows are dropped as BATCH_FULL.
   */
  decode(datagram: Uint8Array, exporterAddr: string, receivedAtMs: number, out: FlowBatch): DecodeResult;
  /** Drops expired templates, held data sets and idle exporters as of `nowMs`. */
  expire(nowMs: number): void;
  /** Counters per live exporter, and totals that also include evicted and refused exporters. */
  stats(): FlowDecoderStats;
}

/** Zeroed counters. */
export function newCounters(): ExporterCounters {
  return { datagrams: 0, flows: 0, errors: {}, lostFlows: 0, lostPackets: 0, sequenceResets: 0, templatesMissing: 0, recordsSkipped: 0 };
}

/** Adds `c` into `into`, error reasons included. */
export function addCounters(into: ExporterCounters, c: ExporterCounters): void {
  into.datagrams += c.datagrams;
  into.flows += c.flows;
  into.lostFlows += c.lostFlows;
  into.lostPackets += c.lostPackets;
  into.sequenceResets += c.sequenceResets;
  into.templatesMissing += c.templatesMissing;
  into.recordsSkipped += c.recordsSkipped;
  for (const [k, v] of Object.entries(c.errors) as [DecodeErrorCode, number][]) into.errors[k] = (into.errors[k] ?? 0) + v;
}
