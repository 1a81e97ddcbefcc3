/** @module A decoder's state: configuration, exporters, observation domains, the scratch record, each call's batch and result. */
import type { FlowBatch } from '../flow-batch.js';
import { createPacketInfo } from '../packet-headers.js';
import { type DecodeErrorCode, type DecodeResult, type ExporterCounters, newCounters } from './types.js';

/** The value of every FlowDecoderOptions field left out. */
export const DEFAULTS = {
  templateTimeoutMs: 30 * 60_000,
  pendingTimeoutMs: 60_000,
  exporterIdleMs: 60 * 60_000,
  maxExporters: 4096,
  maxDomainsPerExporter: 16,
  maxTemplatesPerDomain: 256,
  maxTemplates: 65_536,
  maxTemplateFields: 1 << 22,
  maxPendingSetsPerDomain: 16,
  maxPendingBytes: 4 << 20,
  maxSamplersPerDomain: 256,
  defaultSamplingRate: 1,
  compileTemplates: true,
};

/** FlowDecoderOptions with every default applied. */
export type DecoderConfig = typeof DEFAULTS;

/** A data or options template of one observation domain. */
export interface Template {
  id: number;
  options: boolean;
  roles: Uint8Array;
  lengths: Uint16Array;
  minLength: number;
  /** The wire bytes of the definition, to tell a refresh from a redefinition. */
  wire: Uint8Array;
  refreshedAtMs: number;
  /** The compiled reader, when the template qualifies for one (see compileTemplate). */
  plan: RecordPlan | undefined;
}

/**
 * A data template compiled once into fixed offsets: where each role's field sits in a record and how
 * long it is (-1: absent). Only templates whose records the fast reader decodes exactly as the general
 * path does get one: fixed-length fields, one address family, each role at most once, no per-record
 * sampling parameters, frames, observation times or system init times.
 */
export interface RecordPlan {
  recordLength: number;
  /** Per role: offset of its field in the record, or -1. */
  off: Int32Array;
  /** Per role: length of its field. */
  len: Uint8Array;
  v6: boolean;
  /** The roles giving absolute start and end times, or -1 (then the general time rules apply). */
  startRole: number;
  endRole: number;
}

/** What a data set's records need from its message header. */
export interface HeaderContext {
  version: number;
  exportMs: number;
  /** v9 header sysUpTime in ms; NaN for IPFIX, whose header has none. */
  sysUptimeMs: number;
}

interface PendingSet {
  templateId: number;
  body: Uint8Array;
  ctx: HeaderContext;
  receivedAtMs: number;
}

/** An observation domain (IPFIX), source id (v9) or engine (v5) of one exporter, with its templates and sequence state. */
export interface Domain {
  id: number;
  name: string;
  templates: Map<number, Template>;
  pending: PendingSet[];
  samplerRates: Map<number, number>;
  templateRates: Map<number, number>;
  defaultRate: number;
  sysInitMs: number;
  expectedSeq: number | undefined;
  /** Sequence number and data record count of the previous message (v5 and IPFIX). */
  lastSeq: number | undefined;
  lastCount: number | undefined;
  /** The previous message's data records without options data records (which softflowd leaves out of its numbering). */
  lastFlowCount: number | undefined;
  /** The exporter counts the message's own records in its sequence number (softflowd's IPFIX does). */
  seqInclusive: boolean;
  datagrams: number;
  flows: number;
  lastSeenMs: number;
  /** What a sequence gap may still count as lost (see plausibleLoss), and when it was last refilled. */
  lossBudget: number;
  lossBudgetAtMs: number;
}

/** One exporter address: its counters and observation domains. */
export interface Exporter {
  addr: string;
  counters: ExporterCounters;
  domains: Map<number, Domain>;
  lastSeenMs: number;
}

/** Field values of the record being decoded; NaN marks "absent". Reused across records. */
export class Scratch {
  src4 = -1; dst4 = -1; src6 = -1; dst6 = -1;
  srcPort = NaN; dstPort = NaN; proto = NaN; tcpFlags = NaN; ipVersion = NaN;
  bytes = NaN; packets = NaN; bytesTotal = NaN; packetsTotal = NaN;
  inIf = NaN; outIf = NaN; inPhys = NaN; outPhys = NaN;
  startAbs = NaN; endAbs = NaN; startUp = NaN; endUp = NaN; startDeltaUs = NaN; endDeltaUs = NaN;
  sysInit = NaN; durationMs = NaN; obsMs = NaN;
  icmpTypeCode = NaN; icmpType = NaN; icmpCode = NaN;
  samplingInterval = NaN; randomInterval = NaN; samplerId = NaN; selectorId = NaN;
  pktInterval = NaN; pktSpace = NaN; sampSize = NaN; sampPop = NaN; sampProb = NaN;
  frameSize = NaN; frameOff = -1; frameLen = 0; templateId = NaN;

  reset(): void {
    this.src4 = this.dst4 = this.src6 = this.dst6 = this.frameOff = -1;
    this.frameLen = 0;
    this.srcPort = this.dstPort = this.proto = this.tcpFlags = this.ipVersion = NaN;
    this.bytes = this.packets = this.bytesTotal = this.packetsTotal = NaN;
    this.inIf = this.outIf = this.inPhys = this.outPhys = NaN;
    this.startAbs = this.endAbs = this.startUp = this.endUp = this.startDeltaUs = this.endDeltaUs = NaN;
    this.sysInit = this.durationMs = this.obsMs = NaN;
    this.icmpTypeCode = this.icmpType = this.icmpCode = NaN;
    this.samplingInterval = this.randomInterval = this.samplerId = this.selectorId = NaN;
    this.pktInterval = this.pktSpace = this.sampSize = this.sampPop = this.sampProb = NaN;
    this.frameSize = this.templateId = NaN;
  }

  /** The sampling rate this record states about itself, or NaN. @see RFC 5476 §6.5 (PSAMP parameters) */
  rate(): number {
    if (this.randomInterval > 0) return this.randomInterval;
    if (this.samplingInterval > 0) return this.samplingInterval;
    if (this.pktInterval > 0 && this.pktSpace >= 0) return (this.pktInterval + this.pktSpace) / this.pktInterval;
    if (this.sampSize > 0 && this.sampPop > 0) return this.sampPop / this.sampSize;
    if (this.sampProb > 0 && this.sampProb <= 1) return 1 / this.sampProb;
    return NaN;
  }
}

/** The mutable state of one decoder, shared by its parts (one class, so every access site sees one shape). */
export class DecoderState {
  readonly exporters = new Map<string, Exporter>();
  readonly rejected = newCounters();
  // Counters of evicted exporters stay in the totals, so totals only ever grow (what monitoring expects).
  readonly retired = newCounters();
  readonly rec = new Scratch();
  readonly pkt = createPacketInfo();
  templateCount = 0;
  templateFields = 0;
  pendingSets = 0;
  pendingBytes = 0;
  lastSweepMs = -Infinity;
  // flowTimes' results.
  timeStart = NaN;
  timeEnd = NaN;
  // Per-call state, set by decode() so the parts need fewer parameters.
  out!: FlowBatch;
  result!: DecodeResult;
  exp!: Exporter;

  constructor(readonly cfg: DecoderConfig) {}
}

/** Counts a problem against the current exporter (or `counters`) and keeps the call's first one as its error. */
export function problem(s: DecoderState, code: DecodeErrorCode, counters: ExporterCounters = s.exp.counters): void {
  counters.errors[code] = (counters.errors[code] ?? 0) + 1;
  if (s.result.error === undefined) s.result.error = code;
}

/** The current exporter's observation domain (v5: engine), created on first sight; undefined when it has too many. */
export function getDomain(s: DecoderState, version: number, id: number): Domain | undefined {
  const key = version * 2 ** 32 + id;
  let d = s.exp.domains.get(key);
  if (d !== undefined) {
    d.lastSeenMs = s.exp.lastSeenMs;
    return d;
  }
  if (s.exp.domains.size >= s.cfg.maxDomainsPerExporter) {
    // Make room by forgetting a domain that holds nothing (no templates, no pending data): otherwise
    // datagrams with forged domain ids could lock an exporter's real domains out.
    let victim: number | undefined;
    let oldest = Infinity;
    for (const [k, v] of s.exp.domains) if (v.templates.size === 0 && v.pending.length === 0 && v.lastSeenMs < oldest) { victim = k; oldest = v.lastSeenMs; }
    if (victim === undefined) return undefined;
    s.exp.domains.delete(victim);
  }
  d = { id, name: `${s.exp.addr}/${id}`, templates: new Map(), pending: [], samplerRates: new Map(), templateRates: new Map(), defaultRate: 0, sysInitMs: NaN, expectedSeq: undefined, lastSeq: undefined, lastCount: undefined, lastFlowCount: undefined, seqInclusive: false, datagrams: 0, flows: 0, lastSeenMs: s.exp.lastSeenMs, lossBudget: NaN, lossBudgetAtMs: s.exp.lastSeenMs };
  s.exp.domains.set(key, d);
  return d;
}

/** The batch's index of the domain's name, added on first use; -1 when the batch's exporter column is full. */
export function exporterIndex(s: DecoderState, d: Domain): number {
  let i = s.out.exporters.indexOf(d.name);
  if (i < 0) {
    // exporterIndex is a Uint16Array column.
    if (s.out.exporters.length >= 65_536) return -1;
    i = s.out.exporters.length;
    s.out.exporters.push(d.name);
  }
  return i;
}
