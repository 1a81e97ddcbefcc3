/** @module Decodes NetFlow v5, NetFlow v9 and IPFIX datagrams into normalized flows, keeping templates, sampling rates and counters per exporter. */
import { ADDR_BYTES, addressView, type FlowBatch, flowBatchCapacity } from './flow-batch.js';
import { Role, roleOf } from './information-elements.js';
import { LinkType, createPacketInfo, parseFrame } from './packet-headers.js';

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

const DEFAULTS = {
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

const VARIABLE = 65535;
const NTP_EPOCH_OFFSET_S = 2_208_988_800;

interface Template {
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
interface RecordPlan {
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

const ROLE_COUNT = 64;
const FAST_NUMERIC = new Set<number>([
  Role.SRC_PORT, Role.DST_PORT, Role.PROTO, Role.TCP_FLAGS, Role.BYTES, Role.PACKETS, Role.BYTES_TOTAL, Role.PACKETS_TOTAL,
  Role.IN_IF, Role.OUT_IF, Role.IN_PHYS, Role.OUT_PHYS, Role.START_UPTIME, Role.END_UPTIME, Role.START_SEC, Role.END_SEC,
  Role.START_MS, Role.END_MS, Role.START_DELTA_US, Role.END_DELTA_US, Role.DURATION_MS, Role.DURATION_US,
  Role.ICMP_TYPE_CODE, Role.ICMP_TYPE, Role.ICMP_CODE, Role.SAMPLER_ID, Role.SELECTOR_ID,
]);
const FAST_NTP = new Set<number>([Role.START_US, Role.END_US, Role.START_NS, Role.END_NS]);
const START_ABS = [Role.START_SEC, Role.START_MS, Role.START_US, Role.START_NS];
const END_ABS = [Role.END_SEC, Role.END_MS, Role.END_US, Role.END_NS];

/**
 * Compiles a data template into a RecordPlan, or undefined when some field needs the general path
 * (variable length, repeated roles, both address families, sampling parameters in the record...).
 * @see RFC 7011 §3.4.1 (template records), RFC 3954 §5.2
 */
function compileTemplate(version: number, options: boolean, roles: Uint8Array, lengths: Uint16Array): RecordPlan | undefined {
  if (options) return undefined;
  const off = new Int32Array(ROLE_COUNT).fill(-1);
  const len = new Uint8Array(ROLE_COUNT);
  let o = 0;
  for (let f = 0; f < roles.length; f++) {
    const role = roles[f]!;
    const n = lengths[f]!;
    if (n === VARIABLE && version === 10) return undefined;
    if (role !== Role.SKIP && role !== Role.IP_VERSION) {
      if (off[role] !== -1) return undefined;
      const ok = role === Role.SRC4 || role === Role.DST4 ? n === 4
        : role === Role.SRC6 || role === Role.DST6 ? n === 16
          : FAST_NTP.has(role) ? n === 8
            : FAST_NUMERIC.has(role) && n >= 1 && n <= 8;
      if (!ok) return undefined;
      off[role] = o;
      len[role] = n;
    }
    o += n;
  }
  const has4 = off[Role.SRC4]! >= 0 || off[Role.DST4]! >= 0;
  const has6 = off[Role.SRC6]! >= 0 || off[Role.DST6]! >= 0;
  if (has4 === has6) return undefined;
  const one = (group: readonly number[]): number | undefined => {
    const present = group.filter((r) => off[r]! >= 0);
    return present.length === 0 ? -1 : present.length === 1 ? present[0] : undefined;
  };
  const startRole = one(START_ABS);
  const endRole = one(END_ABS);
  if (startRole === undefined || endRole === undefined) return undefined;
  if (off[Role.DURATION_MS]! >= 0 && off[Role.DURATION_US]! >= 0) return undefined;
  return { recordLength: o, off, len, v6: has6, startRole, endRole };
}

interface HeaderContext {
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

interface Domain {
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

// A sequence gap counts as loss only within what the exporter could have sent: a budget per observation domain,
// refilled at a rate no single domain reaches. A larger jump is a restart or garbage and counts as a reset, so
// forged sequence numbers cannot push the loss counters beyond that rate (they reached 1.96e14 before).
const LOSS_BUDGET = { records: { max: 2 ** 22, perMs: 1000 }, packets: { max: 2 ** 17, perMs: 50 } } as const;

interface Exporter {
  addr: string;
  counters: ExporterCounters;
  domains: Map<number, Domain>;
  lastSeenMs: number;
}

function newCounters(): ExporterCounters {
  return { datagrams: 0, flows: 0, errors: {}, lostFlows: 0, lostPackets: 0, sequenceResets: 0, templatesMissing: 0, recordsSkipped: 0 };
}

function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

// Reduced-size encoding (RFC 7011 §6.2) lets an exporter send any unsigned in 1..8 bytes.
function uint(b: Uint8Array, o: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + b[o + i]!;
  return v;
}

function ntpMs(b: Uint8Array, o: number, micro: boolean): number {
  const sec = u32(b, o);
  // RFC 7011 §6.1.9: for dateTimeMicroseconds the low 11 bits of the fraction carry no information.
  const frac = micro ? (u32(b, o + 4) & ~0x7ff) >>> 0 : u32(b, o + 4);
  return (sec - NTP_EPOCH_OFFSET_S) * 1000 + (frac / 2 ** 32) * 1000;
}

/** Field values of the record being decoded; NaN marks "absent". Reused across records. */
class Scratch {
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

/**
 * Creates a decoder for NetFlow v5, v9 and IPFIX with bounded per-exporter template, sampling and
 * pending-data stores.
 * @see RFC 3954 §5–6 (v9), RFC 7011 §3 and §8 (IPFIX), Cisco NetFlow v5 export format
 */
export function createFlowDecoder(options: FlowDecoderOptions = {}): FlowDecoder {
  const cfg = { ...DEFAULTS, ...options };
  const exporters = new Map<string, Exporter>();
  const rejected = newCounters();
  // Counters of evicted exporters stay in the totals, so totals only ever grow (what monitoring expects).
  const retired = newCounters();
  const rec = new Scratch();
  const pkt = createPacketInfo();
  let templateCount = 0;
  let templateFields = 0;
  let pendingSets = 0;
  let pendingBytes = 0;
  let lastSweepMs = -Infinity;
  // flowTimes' results.
  let timeStart = NaN;
  let timeEnd = NaN;

  // Per-call state, set by decode() so the helpers below need fewer parameters.
  let out!: FlowBatch;
  let result!: DecodeResult;
  let exp!: Exporter;

  function problem(code: DecodeErrorCode, counters: ExporterCounters = exp.counters): void {
    counters.errors[code] = (counters.errors[code] ?? 0) + 1;
    if (result.error === undefined) result.error = code;
  }

  function getDomain(version: number, id: number): Domain | undefined {
    const key = version * 2 ** 32 + id;
    let d = exp.domains.get(key);
    if (d !== undefined) {
      d.lastSeenMs = exp.lastSeenMs;
      return d;
    }
    if (exp.domains.size >= cfg.maxDomainsPerExporter) {
      // Make room by forgetting a domain that holds nothing (no templates, no pending data): otherwise
      // datagrams with forged domain ids could lock an exporter's real domains out.
      let victim: number | undefined;
      let oldest = Infinity;
      for (const [k, v] of exp.domains) if (v.templates.size === 0 && v.pending.length === 0 && v.lastSeenMs < oldest) { victim = k; oldest = v.lastSeenMs; }
      if (victim === undefined) return undefined;
      exp.domains.delete(victim);
    }
    d = { id, name: `${exp.addr}/${id}`, templates: new Map(), pending: [], samplerRates: new Map(), templateRates: new Map(), defaultRate: 0, sysInitMs: NaN, expectedSeq: undefined, lastSeq: undefined, lastCount: undefined, lastFlowCount: undefined, seqInclusive: false, datagrams: 0, flows: 0, lastSeenMs: exp.lastSeenMs, lossBudget: NaN, lossBudgetAtMs: exp.lastSeenMs };
    exp.domains.set(key, d);
    return d;
  }

  function exporterIndex(d: Domain): number {
    let i = out.exporters.indexOf(d.name);
    if (i < 0) {
      // exporterIndex is a Uint16Array column.
      if (out.exporters.length >= 65_536) return -1;
      i = out.exporters.length;
      out.exporters.push(d.name);
    }
    return i;
  }

  /** Whether a forward gap fits the domain's loss budget (which it then spends). */
  function plausibleLoss(d: Domain, gap: number, unit: keyof typeof LOSS_BUDGET): boolean {
    const b = LOSS_BUDGET[unit];
    const now = exp.lastSeenMs;
    d.lossBudget = Math.min(b.max, (Number.isNaN(d.lossBudget) ? b.max : d.lossBudget) + Math.max(0, now - d.lossBudgetAtMs) * b.perMs);
    d.lossBudgetAtMs = now;
    if (gap > d.lossBudget) return false;
    d.lossBudget -= gap;
    return true;
  }

  function trackSequence(d: Domain, seq: number, next: number | undefined, packets: boolean): void {
    if (d.expectedSeq !== undefined) {
      const gap = (seq - d.expectedSeq) >>> 0;
      if (gap !== 0 && gap < 2 ** 31 && plausibleLoss(d, gap, packets ? 'packets' : 'records')) {
        if (packets) {
          exp.counters.lostPackets += gap;
          // Estimate flows per lost packet from what this source id has sent so far.
          exp.counters.lostFlows += Math.round(gap * (d.datagrams > 0 ? d.flows / d.datagrams : 0));
        } else {
          exp.counters.lostFlows += gap;
        }
      } else if (gap !== 0) {
        exp.counters.sequenceResets++;
      }
    }
    d.expectedSeq = next === undefined ? undefined : next >>> 0;
  }

  /**
   * Sequence tracking for v5 and IPFIX, whose sequence numbers count data records sent before this message
   * (RFC 7011 §3.1). Some exporters (softflowd 1.1's IPFIX) include this message's records; a domain that
   * matches that reading and not the standard one is switched to it, so neither reading invents loss.
   */
  function trackRecordSequence(d: Domain, seq: number, count: number | undefined, flowCount: number | undefined = count): void {
    const last = d.lastSeq;
    d.lastSeq = seq;
    const lastCount = d.lastCount;
    const lastFlowCount = d.lastFlowCount;
    d.lastCount = count;
    d.lastFlowCount = flowCount;
    if (last === undefined) return;
    // Either count may be what the exporter numbers by: all data records (RFC 7011 §3.1) or flow records only.
    const lc = pickCount(seq, last, lastCount, lastFlowCount);
    const c = pickCount(seq, last, count, flowCount);
    const standard = lc === undefined ? undefined : (last + lc) >>> 0;
    const inclusive = c === undefined ? undefined : (last + c) >>> 0;
    if (seq === standard && (!d.seqInclusive || seq === inclusive)) return;
    if (seq === inclusive && (d.seqInclusive || seq !== standard)) {
      d.seqInclusive = true;
      return;
    }
    if (seq === standard) {
      d.seqInclusive = false;
      return;
    }
    const expected = d.seqInclusive ? inclusive : standard;
    if (expected === undefined) return;
    const gap = (seq - expected) >>> 0;
    if (gap < 2 ** 31 && plausibleLoss(d, gap, 'records')) exp.counters.lostFlows += gap;
    else exp.counters.sequenceResets++;
  }

  function removeTemplate(d: Domain, id: number): void {
    const t = d.templates.get(id);
    if (t === undefined) return;
    d.templates.delete(id);
    templateCount--;
    templateFields -= t.roles.length;
  }

  function dropPending(d: Domain, index: number, code: DecodeErrorCode): void {
    const [p] = d.pending.splice(index, 1);
    if (p === undefined) return;
    pendingSets--;
    pendingBytes -= p.body.length;
    exp.counters.templatesMissing++;
    problem(code);
  }

  function expireDomain(d: Domain, nowMs: number): void {
    for (const t of [...d.templates.values()]) if (nowMs - t.refreshedAtMs > cfg.templateTimeoutMs) removeTemplate(d, t.id);
    for (let i = d.pending.length - 1; i >= 0; i--) {
      if (nowMs - d.pending[i]!.receivedAtMs > cfg.pendingTimeoutMs) dropPending(d, i, 'TEMPLATE_MISSING');
    }
  }

  function expire(nowMs: number): void {
    // Expiry outside decode() must not mark any caller's result.
    const saved = { result, exp };
    result = { flows: 0, pending: 0, error: undefined };
    for (const [addr, e] of exporters) {
      exp = e;
      for (const d of e.domains.values()) expireDomain(d, nowMs);
      if (nowMs - e.lastSeenMs > cfg.exporterIdleMs) {
        for (const d of e.domains.values()) {
          for (const id of [...d.templates.keys()]) removeTemplate(d, id);
          for (let i = d.pending.length - 1; i >= 0; i--) dropPending(d, i, 'TEMPLATE_MISSING');
        }
        addCounters(retired, e.counters);
        exporters.delete(addr);
      }
    }
    result = saved.result;
    exp = saved.exp;
    lastSweepMs = nowMs;
  }

  function decode(datagram: Uint8Array, exporterAddr: string, receivedAtMs: number, batch: FlowBatch): DecodeResult {
    out = batch;
    result = { flows: 0, pending: 0, error: undefined };
    if (receivedAtMs - lastSweepMs >= 1000 || receivedAtMs < lastSweepMs) expire(receivedAtMs);
    let e = exporters.get(exporterAddr);
    if (e === undefined) {
      if (exporters.size >= cfg.maxExporters) {
        rejected.datagrams++;
        exp = { addr: exporterAddr, counters: rejected, domains: new Map(), lastSeenMs: receivedAtMs };
        problem('EXPORTER_LIMIT');
        return result;
      }
      e = { addr: exporterAddr, counters: newCounters(), domains: new Map(), lastSeenMs: receivedAtMs };
      exporters.set(exporterAddr, e);
    }
    exp = e;
    e.lastSeenMs = receivedAtMs;
    e.counters.datagrams++;
    const before = batch.length;
    try {
      if (datagram.length < 2) problem('TRUNCATED');
      else {
        const version = u16(datagram, 0);
        if (version === 5) decodeV5(datagram);
        else if (version === 9) decodeTemplated(datagram, 9, receivedAtMs);
        else if (version === 10) decodeTemplated(datagram, 10, receivedAtMs);
        else problem('BAD_VERSION');
      }
    } catch {
      // Defence in depth: a decoder bug must cost one datagram, not the collector; the fuzzer asserts this never counts.
      problem('INTERNAL');
    }
    result.flows = batch.length - before;
    e.counters.flows += result.flows;
    return result;
  }

  function decodeV5(b: Uint8Array): void {
    if (b.length < 24) return problem('TRUNCATED');
    const count = u16(b, 2);
    if (count === 0 || count > 30) return problem('BAD_LENGTH');
    if (b.length < 24 + 48 * count) return problem('TRUNCATED');
    const sysUptime = u32(b, 4);
    const baseMs = u32(b, 8) * 1000 + Math.floor(u32(b, 12) / 1e6);
    const seq = u32(b, 16);
    const d = getDomain(5, u16(b, 20));
    if (d === undefined) return problem('DOMAIN_LIMIT');
    trackRecordSequence(d, seq, count);
    d.datagrams++;
    // Sampling interval: top 2 bits are the mode, low 14 the interval (Cisco v5 header).
    const interval = u16(b, 22) & 0x3fff;
    const rate = interval > 0 ? interval : d.defaultRate > 0 ? d.defaultRate : cfg.defaultSamplingRate;
    const ex = exporterIndex(d);
    // Big-endian words through DataViews (a load and a byte swap each) rather than byte loads and shifts (bench/ingest).
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const sv = addressView(out.srcAddr), dv = addressView(out.dstAddr);
    // Hot loop over fixed 48-byte records; bench/collector measures it.
    for (let i = 0; i < count; i++) {
      const r = 24 + 48 * i;
      const row = out.length;
      if (row >= flowBatchCapacity(out) || ex < 0) { problem('BATCH_FULL'); break; }
      const at = row * ADDR_BYTES;
      // IPv4-mapped: ten zero bytes, 0xffff, the address.
      sv.setUint32(at, 0); sv.setUint32(at + 4, 0); sv.setUint32(at + 8, 0xffff); sv.setUint32(at + 12, v.getUint32(r));
      dv.setUint32(at, 0); dv.setUint32(at + 4, 0); dv.setUint32(at + 8, 0xffff); dv.setUint32(at + 12, v.getUint32(r + 4));
      out.inIf[row] = v.getUint16(r + 12);
      out.outIf[row] = v.getUint16(r + 14);
      out.packets[row] = v.getUint32(r + 16) * rate;
      out.bytes[row] = v.getUint32(r + 20) * rate;
      out.start[row] = baseMs - ((sysUptime - v.getUint32(r + 24)) | 0);
      out.end[row] = baseMs - ((sysUptime - v.getUint32(r + 28)) | 0);
      out.srcPort[row] = v.getUint16(r + 32);
      out.dstPort[row] = v.getUint16(r + 34);
      out.tcpFlags[row] = b[r + 37]!;
      out.proto[row] = b[r + 38]!;
      out.samplingRate[row] = rate;
      out.exporterIndex[row] = ex;
      out.length = row + 1;
      d.flows++;
    }
  }

  function decodeTemplated(b: Uint8Array, version: 9 | 10, nowMs: number): void {
    const headerLen = version === 9 ? 20 : 16;
    if (b.length < headerLen) return problem('TRUNCATED');
    let end = b.length;
    if (version === 10) {
      const len = u16(b, 2);
      if (len < headerLen) return problem('BAD_LENGTH');
      if (len > b.length) return problem('TRUNCATED');
      end = len;
    }
    // Walk the set headers first: a structurally broken message changes no state at all.
    for (let o = headerLen; o + 4 <= end; ) {
      const setLen = u16(b, o + 2);
      if (setLen < 4) return problem('BAD_SET_LENGTH');
      if (o + setLen > end) return problem('TRUNCATED');
      o += setLen;
    }
    const ctx: HeaderContext = version === 9
      ? { version, sysUptimeMs: u32(b, 4), exportMs: u32(b, 8) * 1000 }
      : { version, sysUptimeMs: NaN, exportMs: u32(b, 4) * 1000 };
    const seq = u32(b, version === 9 ? 12 : 8);
    const d = getDomain(version, u32(b, version === 9 ? 16 : 12));
    if (d === undefined) return problem('DOMAIN_LIMIT');
    expireDomain(d, nowMs);
    // v9 sequence numbers count export packets (RFC 3954 §5.1), so the gap is known before decoding.
    if (version === 9) trackSequence(d, seq, seq + 1, true);
    let records = 0;
    let optionRecords = 0;
    let recordsKnown = true;
    for (let o = headerLen; o + 4 <= end; ) {
      const setId = u16(b, o);
      const setLen = u16(b, o + 2);
      const body = b.subarray(o + 4, o + setLen);
      o += setLen;
      if (setId === (version === 9 ? 0 : 2)) readTemplates(d, body, version, false, nowMs);
      else if (setId === (version === 9 ? 1 : 3)) readTemplates(d, body, version, true, nowMs);
      else if (setId >= 256) {
        const t = d.templates.get(setId);
        if (t === undefined) {
          recordsKnown = false;
          holdPending(d, setId, body, ctx, nowMs);
        } else {
          const n = decodeDataSet(d, t, body, ctx);
          if (n < 0) recordsKnown = false;
          else {
            records += n;
            if (t.options) optionRecords += n;
          }
        }
      } else {
        problem('BAD_SET_ID');
      }
    }
    // IPFIX sequence numbers count data records (RFC 7011 §3.1); unknown when a set waits for its template.
    if (version === 10) trackRecordSequence(d, seq, recordsKnown ? records : undefined, recordsKnown ? records - optionRecords : undefined);
    d.datagrams++;
  }

  function holdPending(d: Domain, templateId: number, body: Uint8Array, ctx: HeaderContext, nowMs: number): void {
    if (cfg.maxPendingSetsPerDomain <= 0 || body.length > cfg.maxPendingBytes) {
      exp.counters.templatesMissing++;
      return problem('TEMPLATE_MISSING');
    }
    while (d.pending.length >= cfg.maxPendingSetsPerDomain || (pendingBytes + body.length > cfg.maxPendingBytes && d.pending.length > 0)) {
      dropPending(d, 0, 'PENDING_OVERFLOW');
    }
    if (pendingBytes + body.length > cfg.maxPendingBytes) {
      // Other exporters hold the buffer; this one must not evict their data.
      exp.counters.templatesMissing++;
      return problem('PENDING_OVERFLOW');
    }
    // Copy (a Node Buffer's slice() would not): the caller's datagram buffer is reused for the next packet.
    d.pending.push({ templateId, body: new Uint8Array(body), ctx, receivedAtMs: nowMs });
    pendingSets++;
    pendingBytes += body.length;
    result.pending++;
  }

  function readTemplates(d: Domain, body: Uint8Array, version: 9 | 10, optionsSet: boolean, nowMs: number): void {
    let o = 0;
    while (o + 4 <= body.length) {
      const id = u16(body, o);
      const start = o;
      if (id < 256) {
        // Trailing zero bytes are padding (RFC 3954 §5.3, RFC 7011 §3.3.1), not a template.
        if (body.subarray(o).every((x) => x === 0)) return;
        if (version === 10 && id === (optionsSet ? 3 : 2) && u16(body, o + 2) === 0) {
          // RFC 7011 §8.1: template id 2 (3) with no fields withdraws all (options) templates.
          for (const t of [...d.templates.values()]) if (t.options === optionsSet) removeTemplate(d, t.id);
          o += 4;
          continue;
        }
        return problem('BAD_TEMPLATE');
      }
      let fieldCount: number;
      let scopeCount = 0;
      if (version === 9 && optionsSet) {
        if (o + 6 > body.length) return problem('BAD_TEMPLATE');
        const scopeLen = u16(body, o + 2);
        const optLen = u16(body, o + 4);
        if (scopeLen % 4 !== 0 || optLen % 4 !== 0) return problem('BAD_TEMPLATE');
        scopeCount = scopeLen / 4;
        fieldCount = scopeCount + optLen / 4;
        o += 6;
      } else {
        fieldCount = u16(body, o + 2);
        o += 4;
        if (version === 10 && optionsSet && fieldCount > 0) {
          if (o + 2 > body.length) return problem('BAD_TEMPLATE');
          scopeCount = u16(body, o);
          o += 2;
          if (scopeCount === 0 || scopeCount > fieldCount) return problem('BAD_TEMPLATE');
        }
      }
      if (fieldCount === 0) {
        // A withdrawal (RFC 7011 §8.1); v9 has none, so there it is malformed.
        if (version === 9) return problem('BAD_TEMPLATE');
        removeTemplate(d, id);
        continue;
      }
      const roles = new Uint8Array(fieldCount);
      const lengths = new Uint16Array(fieldCount);
      let minLength = 0;
      for (let f = 0; f < fieldCount; f++) {
        if (o + 4 > body.length) return problem('BAD_TEMPLATE');
        let type = u16(body, o);
        const len = u16(body, o + 2);
        o += 4;
        let enterprise = 0;
        if (version === 10 && (type & 0x8000) !== 0) {
          if (o + 4 > body.length) return problem('BAD_TEMPLATE');
          enterprise = u32(body, o);
          type &= 0x7fff;
          o += 4;
        } else if (version === 9 && type >= 32768) {
          enterprise = 1;
        }
        // Scope fields of v9 options name the scope (system, interface...), not elements.
        roles[f] = version === 9 && f < scopeCount ? Role.SKIP : roleOf(type, enterprise);
        lengths[f] = len;
        minLength += len === VARIABLE && version === 10 ? 1 : len;
      }
      if (minLength === 0) return problem('BAD_TEMPLATE');
      const wire = new Uint8Array(body.subarray(start, o));
      const old = d.templates.get(id);
      if (old !== undefined && old.options === optionsSet && sameBytes(old.wire, wire)) {
        old.refreshedAtMs = nowMs;
        continue;
      }
      if (old === undefined && (d.templates.size >= cfg.maxTemplatesPerDomain || templateCount >= cfg.maxTemplates)) {
        problem('TEMPLATE_LIMIT');
        continue;
      }
      if (templateFields - (old?.roles.length ?? 0) + fieldCount > cfg.maxTemplateFields) {
        problem('TEMPLATE_LIMIT');
        continue;
      }
      removeTemplate(d, id);
      const plan = cfg.compileTemplates ? compileTemplate(version, optionsSet, roles, lengths) : undefined;
      d.templates.set(id, { id, options: optionsSet, roles, lengths, minLength, wire, refreshedAtMs: nowMs, plan });
      templateCount++;
      templateFields += fieldCount;
      drainPending(d, id);
    }
  }

  function drainPending(d: Domain, templateId: number): void {
    const t = d.templates.get(templateId);
    if (t === undefined) return;
    for (let i = 0; i < d.pending.length; ) {
      const p = d.pending[i]!;
      if (p.templateId !== templateId) { i++; continue; }
      d.pending.splice(i, 1);
      pendingSets--;
      pendingBytes -= p.body.length;
      decodeDataSet(d, t, p.body, p.ctx);
    }
  }

  /** Decodes the records of one data set; returns how many records it held, or -1 when it broke off. */
  function decodeDataSet(d: Domain, t: Template, body: Uint8Array, ctx: HeaderContext): number {
    if (t.plan !== undefined) return decodeCompiled(d, t, t.plan, body, ctx);
    const roles = t.roles;
    const lengths = t.lengths;
    const nf = roles.length;
    const variable = ctx.version === 10;
    let o = 0;
    let n = 0;
    const ex = t.options ? 0 : exporterIndex(d);
    // Hot loop: one pass per field with a switch on its role; bench/collector measures it.
    while (body.length - o >= t.minLength) {
      rec.reset();
      for (let f = 0; f < nf; f++) {
        let len = lengths[f]!;
        if (len === VARIABLE && variable) {
          // RFC 7011 §7: one length byte, or 255 followed by a two-byte length.
          if (o >= body.length) { problem('BAD_RECORD'); return -1; }
          len = body[o]!;
          o++;
          if (len === 255) {
            if (o + 2 > body.length) { problem('BAD_RECORD'); return -1; }
            len = u16(body, o);
            o += 2;
          }
        }
        if (o + len > body.length) { problem('BAD_RECORD'); return -1; }
        readField(body, o, len, roles[f]!);
        o += len;
      }
      n++;
      if (t.options) applyOptions(d);
      else if (!emitFlow(d, t, body, ctx, ex)) { problem('BATCH_FULL'); return -1; }
    }
    return n;
  }

  /**
   * Decodes a data set through its template's compiled plan: each field read at its fixed offset and
   * written straight into the batch, with no per-record reset or per-field dispatch. Gives the same rows
   * as decodeDataSet's general path (flow-decoder.test.ts checks this as a property). Hot loop:
   * bench/collector and bench/pipeline.
   */
  function decodeCompiled(d: Domain, t: Template, p: RecordPlan, body: Uint8Array, ctx: HeaderContext): number {
    const off = p.off;
    const len = p.len;
    const rl = p.recordLength;
    const ex = exporterIndex(d);
    const cap = flowBatchCapacity(out);
    const oSrc = p.v6 ? off[Role.SRC6]! : off[Role.SRC4]!;
    const oDst = p.v6 ? off[Role.DST6]! : off[Role.DST4]!;
    const oSp = off[Role.SRC_PORT]!, lSp = len[Role.SRC_PORT]!;
    const oDp = off[Role.DST_PORT]!, lDp = len[Role.DST_PORT]!;
    const oPr = off[Role.PROTO]!, lPr = len[Role.PROTO]!;
    const oFl = off[Role.TCP_FLAGS]!, lFl = len[Role.TCP_FLAGS]!;
    const oBy = off[Role.BYTES]! >= 0 ? off[Role.BYTES]! : off[Role.BYTES_TOTAL]!;
    const lBy = off[Role.BYTES]! >= 0 ? len[Role.BYTES]! : len[Role.BYTES_TOTAL]!;
    const oPk = off[Role.PACKETS]! >= 0 ? off[Role.PACKETS]! : off[Role.PACKETS_TOTAL]!;
    const lPk = off[Role.PACKETS]! >= 0 ? len[Role.PACKETS]! : len[Role.PACKETS_TOTAL]!;
    const oIn = off[Role.IN_IF]!, lIn = len[Role.IN_IF]!, oInP = off[Role.IN_PHYS]!, lInP = len[Role.IN_PHYS]!;
    const oOut = off[Role.OUT_IF]!, lOut = len[Role.OUT_IF]!, oOutP = off[Role.OUT_PHYS]!, lOutP = len[Role.OUT_PHYS]!;
    const oItc = off[Role.ICMP_TYPE_CODE]!, lItc = len[Role.ICMP_TYPE_CODE]!;
    const oIt = off[Role.ICMP_TYPE]!, lIt = len[Role.ICMP_TYPE]!, oIc = off[Role.ICMP_CODE]!, lIc = len[Role.ICMP_CODE]!;
    const oSam = off[Role.SAMPLER_ID]! >= 0 ? off[Role.SAMPLER_ID]! : off[Role.SELECTOR_ID]!;
    const lSam = off[Role.SAMPLER_ID]! >= 0 ? len[Role.SAMPLER_ID]! : len[Role.SELECTOR_ID]!;
    const sRole = p.startRole, eRole = p.endRole;
    const oS = sRole >= 0 ? off[sRole]! : -1, lS = sRole >= 0 ? len[sRole]! : 0;
    const oE = eRole >= 0 ? off[eRole]! : -1, lE = eRole >= 0 ? len[eRole]! : 0;
    const absTimes = oS >= 0 && oE >= 0;
    // IPFIX's usual flowStart/EndMilliseconds (8 bytes each), read in the loop below: absoluteMs returns
    // a time as a heap number at every call, two allocations a flow (bench/pipeline).
    const msTimes = absTimes && sRole === Role.START_MS && eRole === Role.END_MS && lS === 8 && lE === 8;
    // NetFlow v9's usual FIRST_SWITCHED / LAST_SWITCHED pair, anchored as flowTimes does.
    const oSu = off[Role.START_UPTIME]!, oEu = off[Role.END_UPTIME]!, lSu = len[Role.START_UPTIME]!, lEu = len[Role.END_UPTIME]!;
    const v9Uptimes = !absTimes && ctx.version === 9 && oS < 0 && oE < 0 && oSu >= 0 && oEu >= 0;
    // Without a sampling id in the record, the rate is the same for every record of the set.
    const setRate = d.templateRates.get(t.id) ?? (d.defaultRate > 0 ? d.defaultRate : cfg.defaultSamplingRate);
    let lastId = NaN;
    let lastRate = roundRate(setRate);
    const src = out.srcAddr, dst = out.dstAddr;
    let n = 0;
    for (let r = 0; body.length - r >= rl; r += rl) {
      n++;
      const row = out.length;
      if (row >= cap || ex < 0) { problem('BATCH_FULL'); return -1; }
      const at = row * ADDR_BYTES;
      if (p.v6) {
        copySlot16(src, at, body, oSrc < 0 ? -1 : r + oSrc);
        copySlot16(dst, at, body, oDst < 0 ? -1 : r + oDst);
      } else {
        copySlot4(src, at, body, oSrc < 0 ? -1 : r + oSrc);
        copySlot4(dst, at, body, oDst < 0 ? -1 : r + oDst);
      }
      const proto = oPr >= 0 ? readUint(body, r + oPr, lPr) & 0xff : 0;
      let dstPort = oDp >= 0 ? readUint(body, r + oDp, lDp) & 0xffff : 0;
      if ((proto === 1 || proto === 58) && dstPort === 0) {
        // ICMP type and code travel as type * 256 + code in the destination port, as in NetFlow v5.
        if (oItc >= 0) dstPort = readUint(body, r + oItc, lItc) & 0xffff;
        else if (oIt >= 0) dstPort = (readUint(body, r + oIt, lIt) & 0xff) * 256 + (oIc >= 0 ? readUint(body, r + oIc, lIc) & 0xff : 0);
      }
      let rate = lastRate;
      if (oSam >= 0) {
        const id = readUint(body, r + oSam, lSam);
        if (id !== lastId) { lastId = id; lastRate = rate = roundRate(d.samplerRates.get(id) ?? setRate); }
      }
      if (msTimes) {
        const os = r + oS, oe = r + oE;
        const sHi = ((body[os]! << 24) | (body[os + 1]! << 16) | (body[os + 2]! << 8) | body[os + 3]!) >>> 0;
        const eHi = ((body[oe]! << 24) | (body[oe + 1]! << 16) | (body[oe + 2]! << 8) | body[oe + 3]!) >>> 0;
        // Beyond 2^53 ms a double would round: readUint's exact path then (never a real time).
        out.start[row] = sHi < 0x200000 ? sHi * 4294967296 + (((body[os + 4]! << 24) | (body[os + 5]! << 16) | (body[os + 6]! << 8) | body[os + 7]!) >>> 0) : readUint(body, os, 8);
        out.end[row] = eHi < 0x200000 ? eHi * 4294967296 + (((body[oe + 4]! << 24) | (body[oe + 5]! << 16) | (body[oe + 6]! << 8) | body[oe + 7]!) >>> 0) : readUint(body, oe, 8);
      } else if (absTimes) {
        out.start[row] = absoluteMs(body, r + oS, lS, sRole);
        out.end[row] = absoluteMs(body, r + oE, lE, eRole);
      } else if (v9Uptimes) {
        out.start[row] = ctx.exportMs - ((ctx.sysUptimeMs - readUint(body, r + oSu, lSu)) | 0);
        out.end[row] = ctx.exportMs - ((ctx.sysUptimeMs - readUint(body, r + oEu, lEu)) | 0);
      } else {
        rec.startAbs = oS >= 0 ? absoluteMs(body, r + oS, lS, sRole) : NaN;
        rec.endAbs = oE >= 0 ? absoluteMs(body, r + oE, lE, eRole) : NaN;
        rec.startUp = readOr(body, r, off, len, Role.START_UPTIME);
        rec.endUp = readOr(body, r, off, len, Role.END_UPTIME);
        rec.startDeltaUs = readOr(body, r, off, len, Role.START_DELTA_US);
        rec.endDeltaUs = readOr(body, r, off, len, Role.END_DELTA_US);
        const dur = off[Role.DURATION_US]! >= 0 ? readOr(body, r, off, len, Role.DURATION_US) / 1000 : readOr(body, r, off, len, Role.DURATION_MS);
        rec.durationMs = dur;
        rec.sysInit = NaN;
        rec.obsMs = NaN;
        flowTimes(d, ctx);
        out.start[row] = timeStart;
        out.end[row] = timeEnd;
      }
      const sp = oSp >= 0 ? readUint(body, r + oSp, lSp) & 0xffff : 0;
      const flags = oFl >= 0 ? readUint(body, r + oFl, lFl) & 0xff : 0;
      const bytes = oBy >= 0 ? readUint(body, r + oBy, lBy) : 0;
      const packets = oPk >= 0 ? readUint(body, r + oPk, lPk) : 0;
      out.srcPort[row] = sp;
      out.dstPort[row] = dstPort;
      out.proto[row] = proto;
      out.tcpFlags[row] = flags;
      out.bytes[row] = bytes * rate;
      out.packets[row] = packets * rate;
      out.samplingRate[row] = rate;
      out.inIf[row] = pickInterface(oIn >= 0 ? readUint(body, r + oIn, lIn) : NaN, oInP >= 0 ? readUint(body, r + oInP, lInP) : NaN);
      out.outIf[row] = pickInterface(oOut >= 0 ? readUint(body, r + oOut, lOut) : NaN, oOutP >= 0 ? readUint(body, r + oOutP, lOutP) : NaN);
      out.exporterIndex[row] = ex;
      out.length = row + 1;
      d.flows++;
    }
    return n;
  }

  function readField(b: Uint8Array, o: number, len: number, role: number): void {
    if (role === Role.SKIP) return;
    switch (role) {
      case Role.SRC4: if (len === 4) rec.src4 = o; return;
      case Role.DST4: if (len === 4) rec.dst4 = o; return;
      case Role.SRC6: if (len === 16) rec.src6 = o; return;
      case Role.DST6: if (len === 16) rec.dst6 = o; return;
      case Role.FRAME_SECTION: rec.frameOff = o; rec.frameLen = len; return;
      case Role.START_US: if (len === 8) rec.startAbs = ntpMs(b, o, true); return;
      case Role.END_US: if (len === 8) rec.endAbs = ntpMs(b, o, true); return;
      case Role.START_NS: if (len === 8) rec.startAbs = ntpMs(b, o, false); return;
      case Role.END_NS: if (len === 8) rec.endAbs = ntpMs(b, o, false); return;
      case Role.OBS_US: if (len === 8) rec.obsMs = ntpMs(b, o, true); return;
      case Role.OBS_NS: if (len === 8) rec.obsMs = ntpMs(b, o, false); return;
      case Role.SAMPLING_PROBABILITY:
        if (len === 8) rec.sampProb = new DataView(b.buffer, b.byteOffset + o, 8).getFloat64(0);
        else if (len === 4) rec.sampProb = new DataView(b.buffer, b.byteOffset + o, 4).getFloat32(0);
        return;
      default:
        break;
    }
    if (len < 1 || len > 8) return;
    const v = uint(b, o, len);
    switch (role) {
      case Role.SRC_PORT: rec.srcPort = v & 0xffff; break;
      case Role.DST_PORT: rec.dstPort = v & 0xffff; break;
      case Role.PROTO: rec.proto = v & 0xff; break;
      // RFC 7125: tcpControlBits may be two bytes; the classic flags are the low eight bits.
      case Role.TCP_FLAGS: rec.tcpFlags = v & 0xff; break;
      case Role.IP_VERSION: rec.ipVersion = v; break;
      case Role.BYTES: rec.bytes = v; break;
      case Role.PACKETS: rec.packets = v; break;
      case Role.BYTES_TOTAL: rec.bytesTotal = v; break;
      case Role.PACKETS_TOTAL: rec.packetsTotal = v; break;
      case Role.IN_IF: rec.inIf = v; break;
      case Role.OUT_IF: rec.outIf = v; break;
      case Role.IN_PHYS: rec.inPhys = v; break;
      case Role.OUT_PHYS: rec.outPhys = v; break;
      case Role.START_UPTIME: rec.startUp = v; break;
      case Role.END_UPTIME: rec.endUp = v; break;
      case Role.START_SEC: rec.startAbs = v * 1000; break;
      case Role.END_SEC: rec.endAbs = v * 1000; break;
      case Role.START_MS: rec.startAbs = v; break;
      case Role.END_MS: rec.endAbs = v; break;
      case Role.START_DELTA_US: rec.startDeltaUs = v; break;
      case Role.END_DELTA_US: rec.endDeltaUs = v; break;
      case Role.SYS_INIT_MS: rec.sysInit = v; break;
      case Role.DURATION_MS: rec.durationMs = v; break;
      case Role.DURATION_US: rec.durationMs = v / 1000; break;
      case Role.OBS_SEC: rec.obsMs = v * 1000; break;
      case Role.OBS_MS: rec.obsMs = v; break;
      case Role.ICMP_TYPE_CODE: rec.icmpTypeCode = v & 0xffff; break;
      case Role.ICMP_TYPE: rec.icmpType = v & 0xff; break;
      case Role.ICMP_CODE: rec.icmpCode = v & 0xff; break;
      case Role.SAMPLING_INTERVAL: rec.samplingInterval = v; break;
      case Role.SAMPLER_RANDOM_INTERVAL: rec.randomInterval = v; break;
      case Role.SAMPLER_ID: rec.samplerId = v; break;
      case Role.SELECTOR_ID: rec.selectorId = v; break;
      case Role.PACKET_INTERVAL: rec.pktInterval = v; break;
      case Role.PACKET_SPACE: rec.pktSpace = v; break;
      case Role.SAMPLING_SIZE: rec.sampSize = v; break;
      case Role.SAMPLING_POPULATION: rec.sampPop = v; break;
      case Role.FRAME_SIZE: rec.frameSize = v; break;
      case Role.TEMPLATE_ID: rec.templateId = v; break;
      default: break;
    }
  }

  function applyOptions(d: Domain): void {
    if (rec.sysInit >= 0) d.sysInitMs = rec.sysInit;
    const rate = rec.rate();
    if (!(rate >= 1)) return;
    const rounded = Math.min(0xffffffff, Math.round(rate));
    const id = !Number.isNaN(rec.samplerId) ? rec.samplerId : rec.selectorId;
    if (!Number.isNaN(id)) setBounded(d.samplerRates, id, rounded);
    else if (!Number.isNaN(rec.templateId)) setBounded(d.templateRates, rec.templateId, rounded);
    else d.defaultRate = rounded;
  }

  function setBounded(m: Map<number, number>, k: number, v: number): void {
    if (!m.has(k) && m.size >= cfg.maxSamplersPerDomain) return;
    m.set(k, v);
  }

  function emitFlow(d: Domain, t: Template, body: Uint8Array, ctx: HeaderContext, ex: number): boolean {
    const row = out.length;
    let has4 = rec.src4 >= 0 || rec.dst4 >= 0;
    let has6 = rec.src6 >= 0 || rec.dst6 >= 0;
    if (has4 && has6) {
      // Templates that carry both families (one of them zeroed) say which one applies via ipVersion, or by being non-zero.
      if (rec.ipVersion === 4) has6 = false;
      else if (rec.ipVersion === 6) has4 = false;
      else if (nonZero(body, rec.src6, 16) || nonZero(body, rec.dst6, 16)) has4 = false;
      else has6 = false;
    }
    let fromFrame = false;
    if (!has4 && !has6) {
      if (rec.frameOff < 0 || !parseFrame(body, rec.frameOff, rec.frameOff + rec.frameLen, LinkType.ETHERNET, pkt) || pkt.ipVersion === 0) {
        exp.counters.recordsSkipped++;
        return true;
      }
      fromFrame = true;
    }
    if (row >= flowBatchCapacity(out) || ex < 0) return false;
    const at = row * ADDR_BYTES;
    if (fromFrame) {
      out.srcAddr.set(pkt.srcAddr, at);
      out.dstAddr.set(pkt.dstAddr, at);
    } else if (has6) {
      writeSlot(out.dstAddr, at, body, rec.dst6, 16);
      writeSlot(out.srcAddr, at, body, rec.src6, 16);
    } else {
      writeSlot(out.srcAddr, at, body, rec.src4, 4);
      writeSlot(out.dstAddr, at, body, rec.dst4, 4);
    }
    let proto = rec.proto;
    let srcPort = rec.srcPort;
    let dstPort = rec.dstPort;
    let flags = rec.tcpFlags;
    let bytes = Number.isNaN(rec.bytes) ? rec.bytesTotal : rec.bytes;
    let packets = Number.isNaN(rec.packets) ? rec.packetsTotal : rec.packets;
    if (fromFrame) {
      proto = pkt.proto;
      srcPort = pkt.srcPort;
      dstPort = pkt.dstPort;
      flags = pkt.tcpFlags;
      // A sampled frame stands for one packet of its wire size (RFC 7133 §4.7.1 dataLinkFrameSize).
      bytes = Number.isNaN(rec.frameSize) ? pkt.ipLength : rec.frameSize;
      packets = 1;
    } else if ((proto === 1 || proto === 58) && !(dstPort > 0)) {
      // ICMP type and code travel as type * 256 + code in the destination port, as in NetFlow v5.
      if (!Number.isNaN(rec.icmpTypeCode)) dstPort = rec.icmpTypeCode;
      else if (!Number.isNaN(rec.icmpType)) dstPort = rec.icmpType * 256 + (Number.isNaN(rec.icmpCode) ? 0 : rec.icmpCode);
    }
    let rate = rec.rate();
    if (!(rate >= 1)) {
      const id = !Number.isNaN(rec.samplerId) ? rec.samplerId : rec.selectorId;
      rate = (Number.isNaN(id) ? undefined : d.samplerRates.get(id)) ?? d.templateRates.get(t.id) ?? (d.defaultRate > 0 ? d.defaultRate : cfg.defaultSamplingRate);
    }
    rate = roundRate(rate);
    flowTimes(d, ctx);
    out.start[row] = timeStart;
    out.end[row] = timeEnd;
    out.srcPort[row] = srcPort > 0 ? srcPort : 0;
    out.dstPort[row] = dstPort > 0 ? dstPort : 0;
    out.proto[row] = proto > 0 ? proto : 0;
    out.tcpFlags[row] = flags > 0 ? flags : 0;
    out.bytes[row] = (bytes > 0 ? bytes : 0) * rate;
    out.packets[row] = (packets > 0 ? packets : 0) * rate;
    out.samplingRate[row] = rate;
    out.inIf[row] = pickInterface(rec.inIf, rec.inPhys);
    out.outIf[row] = pickInterface(rec.outIf, rec.outPhys);
    out.exporterIndex[row] = ex;
    out.length = row + 1;
    d.flows++;
    return true;
  }

  /** Sets timeStart and timeEnd from the time fields in `rec` (no tuple: this runs once per record). */
  function flowTimes(d: Domain, ctx: HeaderContext): void {
    let start = rec.startAbs;
    let end = rec.endAbs;
    if (Number.isNaN(start) || Number.isNaN(end)) {
      const sysInit = rec.sysInit >= 0 ? rec.sysInit : d.sysInitMs;
      const fromUptime = (up: number): number => {
        if (Number.isNaN(up)) return NaN;
        // v9: the header's sysUpTime and export time anchor uptime stamps (RFC 3954 §8, FIRST_SWITCHED);
        // the 32-bit difference absorbs the counter's wrap-around.
        if (ctx.version === 9) return ctx.exportMs - ((ctx.sysUptimeMs - up) | 0);
        // IPFIX: flowStartSysUpTime counts from systemInitTimeMilliseconds (RFC 7012 §5.11).
        return Number.isNaN(sysInit) ? NaN : sysInit + up;
      };
      if (Number.isNaN(start)) start = fromUptime(rec.startUp);
      if (Number.isNaN(end)) end = fromUptime(rec.endUp);
      if (Number.isNaN(start) && !Number.isNaN(rec.startDeltaUs)) start = ctx.exportMs - rec.startDeltaUs / 1000;
      if (Number.isNaN(end) && !Number.isNaN(rec.endDeltaUs)) end = ctx.exportMs - rec.endDeltaUs / 1000;
      if (!Number.isNaN(rec.durationMs)) {
        if (Number.isNaN(start) && !Number.isNaN(end)) start = end - rec.durationMs;
        else if (Number.isNaN(end) && !Number.isNaN(start)) end = start + rec.durationMs;
      }
      if (Number.isNaN(start) && Number.isNaN(end)) {
        // Nothing but an observation or export time: the flow happened no later than that.
        start = end = Number.isNaN(rec.obsMs) ? ctx.exportMs : rec.obsMs;
      } else if (Number.isNaN(start)) start = end;
      else if (Number.isNaN(end)) end = start;
    }
    timeStart = start;
    timeEnd = end;
  }

  function stats(): FlowDecoderStats {
    const totals = newCounters();
    const byExporter: Record<string, ExporterCounters> = {};
    for (const [addr, e] of exporters) {
      byExporter[addr] = { ...e.counters, errors: { ...e.counters.errors } };
      addCounters(totals, e.counters);
    }
    addCounters(totals, rejected);
    addCounters(totals, retired);
    return { exporters: byExporter, totals, templates: templateCount, templateFields, pendingSets, pendingBytes };
  }

  return { decode, expire, stats };
}

function addCounters(into: ExporterCounters, c: ExporterCounters): void {
  into.datagrams += c.datagrams;
  into.flows += c.flows;
  into.lostFlows += c.lostFlows;
  into.lostPackets += c.lostPackets;
  into.sequenceResets += c.sequenceResets;
  into.templatesMissing += c.templatesMissing;
  into.recordsSkipped += c.recordsSkipped;
  for (const [k, v] of Object.entries(c.errors) as [DecodeErrorCode, number][]) into.errors[k] = (into.errors[k] ?? 0) + v;
}

function pickInterface(logical: number, physical: number): number {
  if (logical >= 0) return logical > 0xffffffff ? 0 : logical;
  if (physical >= 0) return physical > 0xffffffff ? 0 : physical;
  return 0;
}

function nonZero(b: Uint8Array, o: number, n: number): boolean {
  if (o < 0) return false;
  for (let i = 0; i < n; i++) if (b[o + i] !== 0) return true;
  return false;
}

// The count that explains `seq` after `last`, preferring all data records; undefined when unknown.
function pickCount(seq: number, last: number, all: number | undefined, flowsOnly: number | undefined): number | undefined {
  if (all === undefined) return undefined;
  return flowsOnly !== undefined && seq === ((last + flowsOnly) >>> 0) ? flowsOnly : all;
}

function roundRate(rate: number): number {
  return Math.min(0xffffffff, Math.max(1, Math.round(rate)));
}

// An unsigned of 1..8 bytes; the common widths without a loop. Exactly uint()'s value (8 bytes: one
// rounding only where the value passes 2^53, as uint() would round there too, so that case uses it).
function readUint(b: Uint8Array, o: number, n: number): number {
  switch (n) {
    case 1: return b[o]!;
    case 2: return (b[o]! << 8) | b[o + 1]!;
    case 4: return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
    case 8: {
      const hi = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
      if (hi >= 0x200000) return uint(b, o, 8);
      return hi * 4294967296 + (((b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!) >>> 0);
    }
    default: return uint(b, o, n);
  }
}

function readOr(b: Uint8Array, r: number, off: Int32Array, len: Uint8Array, role: number): number {
  const o = off[role]!;
  return o >= 0 ? readUint(b, r + o, len[role]!) : NaN;
}

/** An absolute time field in ms, by its role (seconds, milliseconds, NTP micro- or nanoseconds). */
function absoluteMs(b: Uint8Array, o: number, n: number, role: number): number {
  switch (role) {
    case Role.START_SEC: case Role.END_SEC: return readUint(b, o, n) * 1000;
    case Role.START_US: case Role.END_US: return ntpMs(b, o, true);
    case Role.START_NS: case Role.END_NS: return ntpMs(b, o, false);
    default: return readUint(b, o, n);
  }
}

// Slot writers of the compiled reader: plain stores, no subarray view per record; o < 0 writes the
// zero address as writeSlot does for an absent field.
function copySlot4(col: Uint8Array, at: number, b: Uint8Array, o: number): void {
  col[at] = 0; col[at + 1] = 0; col[at + 2] = 0; col[at + 3] = 0; col[at + 4] = 0;
  col[at + 5] = 0; col[at + 6] = 0; col[at + 7] = 0; col[at + 8] = 0; col[at + 9] = 0;
  col[at + 10] = 0xff;
  col[at + 11] = 0xff;
  if (o < 0) { col[at + 12] = 0; col[at + 13] = 0; col[at + 14] = 0; col[at + 15] = 0; return; }
  col[at + 12] = b[o]!;
  col[at + 13] = b[o + 1]!;
  col[at + 14] = b[o + 2]!;
  col[at + 15] = b[o + 3]!;
}

function copySlot16(col: Uint8Array, at: number, b: Uint8Array, o: number): void {
  if (o < 0) { for (let i = 0; i < 16; i++) col[at + i] = 0; return; }
  for (let i = 0; i < 16; i++) col[at + i] = b[o + i]!;
}

function writeSlot(col: Uint8Array, at: number, b: Uint8Array, o: number, n: 4 | 16): void {
  if (n === 16) {
    if (o >= 0) col.set(b.subarray(o, o + 16), at);
    else col.fill(0, at, at + 16);
    return;
  }
  col.fill(0, at, at + 10);
  col[at + 10] = 0xff;
  col[at + 11] = 0xff;
  if (o >= 0) col.set(b.subarray(o, o + 4), at + 12);
  else col.fill(0, at + 12, at + 16);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
