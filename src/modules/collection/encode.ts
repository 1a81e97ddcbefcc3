/** @module Builds NetFlow v5, NetFlow v9 and IPFIX datagrams from flow records: for round-trip tests, the demo exporter and the benchmark generator. */
import type { FlowRecord } from './flow-batch.js';
import { writeAddress } from './flow-batch.js';
import { IE } from './information-elements.js';

/** Header values of the datagrams to build; each call returns the sequence number to continue with. */
export interface EncodeOptions {
  /** Export time in ms since the epoch (v9 and IPFIX headers keep whole seconds). */
  exportTimeMs: number;
  /** Sequence number of the first datagram (flows for v5 and IPFIX, packets for v9). */
  sequence: number;
  /** v9 source id / IPFIX observation domain / v5 engine type and id (high and low byte). */
  domainId?: number;
  /** v5 and v9 header sysUpTime in ms; flow times are written relative to it. Default one hour. */
  sysUptimeMs?: number;
  /** Include templates (and sampling options) in the first datagram. Default true. */
  withTemplates?: boolean;
  /** Upper bound on datagram size. Default 1400 bytes, below a common path MTU. */
  maxDatagramBytes?: number;
}

/** Datagrams ready to send, and the sequence number the next call should use. */
export interface EncodedExport {
  datagrams: Uint8Array[];
  nextSequence: number;
}

const TEMPLATE_V4 = 256;
const TEMPLATE_V6 = 257;
const TEMPLATE_SAMPLING = 258;

class Writer {
  buf: Uint8Array;
  view: DataView;
  at = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }
  u8(v: number): void { this.view.setUint8(this.at, v); this.at += 1; }
  u16(v: number): void { this.view.setUint16(this.at, v); this.at += 2; }
  u32(v: number): void { this.view.setUint32(this.at, v >>> 0); this.at += 4; }
  u64(v: number): void { this.u32(Math.floor(v / 2 ** 32)); this.u32(v % 2 ** 32); }
  bytes(b: Uint8Array): void { this.buf.set(b, this.at); this.at += b.length; }
  done(): Uint8Array { return this.buf.slice(0, this.at); }
}

function addressBytes(text: string): { v6: boolean; bytes: Uint8Array } {
  const slot = new Uint8Array(16);
  if (!writeAddress(slot, 0, text)) throw new RangeError(`not an IP address: ${text}`);
  const mapped = slot.subarray(0, 10).every((x) => x === 0) && slot[10] === 0xff && slot[11] === 0xff;
  return mapped ? { v6: false, bytes: slot.slice(12) } : { v6: true, bytes: slot };
}

function rawCount(value: number, rate: number): number {
  return Math.round(value / rate);
}

/**
 * Encodes records as NetFlow v5 datagrams (IPv4 only; at most 30 records and one sampling rate each).
 * @see Cisco NetFlow v5 export format (header 24 bytes, records 48 bytes)
 */
export function encodeNetflowV5(records: readonly FlowRecord[], opts: EncodeOptions): EncodedExport {
  const datagrams: Uint8Array[] = [];
  let seq = opts.sequence >>> 0;
  const sysUp = opts.sysUptimeMs ?? 3_600_000;
  const secs = Math.floor(opts.exportTimeMs / 1000);
  const nsecs = Math.floor(opts.exportTimeMs - secs * 1000) * 1e6;
  const baseMs = secs * 1000 + Math.floor(nsecs / 1e6);
  let i = 0;
  while (i < records.length) {
    const rate = records[i]!.samplingRate;
    const chunk: FlowRecord[] = [];
    while (i < records.length && chunk.length < 30 && records[i]!.samplingRate === rate) chunk.push(records[i++]!);
    const w = new Writer(24 + 48 * chunk.length);
    w.u16(5); w.u16(chunk.length); w.u32(sysUp); w.u32(secs); w.u32(nsecs); w.u32(seq);
    w.u16((opts.domainId ?? 0) & 0xffff);
    // Mode 01 (packet interval) with the 14-bit interval; 0 means unsampled.
    w.u16(rate > 1 ? 0x4000 | (rate & 0x3fff) : 0);
    for (const r of chunk) {
      const src = addressBytes(r.srcAddr);
      const dst = addressBytes(r.dstAddr);
      if (src.v6 || dst.v6) throw new RangeError('NetFlow v5 carries IPv4 flows only');
      w.bytes(src.bytes); w.bytes(dst.bytes); w.u32(0);
      w.u16(r.inIf); w.u16(r.outIf);
      w.u32(rawCount(r.packets, rate)); w.u32(rawCount(r.bytes, rate));
      w.u32(sysUp - (baseMs - r.start)); w.u32(sysUp - (baseMs - r.end));
      w.u16(r.srcPort); w.u16(r.dstPort); w.u8(0); w.u8(r.tcpFlags); w.u8(r.proto); w.u8(0);
      w.u32(0); w.u8(0); w.u8(0); w.u16(0);
    }
    datagrams.push(w.done());
    seq = (seq + chunk.length) >>> 0;
  }
  return { datagrams, nextSequence: seq };
}

type Field = readonly [id: number, length: number];

function flowFields(version: 9 | 10, v6: boolean): Field[] {
  const addr: Field[] = v6 ? [[IE.sourceIPv6Address, 16], [IE.destinationIPv6Address, 16]] : [[IE.sourceIPv4Address, 4], [IE.destinationIPv4Address, 4]];
  const times: Field[] = version === 9 ? [[IE.flowStartSysUpTime, 4], [IE.flowEndSysUpTime, 4]] : [[IE.flowStartMilliseconds, 8], [IE.flowEndMilliseconds, 8]];
  const sampler: Field = version === 9 ? [IE.samplerId, 2] : [IE.selectorId, 2];
  return [...addr, [IE.sourceTransportPort, 2], [IE.destinationTransportPort, 2], [IE.protocolIdentifier, 1], [IE.tcpControlBits, 1],
    [IE.octetDeltaCount, 8], [IE.packetDeltaCount, 8], ...times, [IE.ingressInterface, 4], [IE.egressInterface, 4], sampler];
}

/**
 * Encodes records as NetFlow v9 datagrams: a template per address family, and sampling rates as an
 * options template and records (FLOW_SAMPLER_ID → FLOW_SAMPLER_RANDOM_INTERVAL).
 * @see RFC 3954 §5–6
 */
export function encodeNetflowV9(records: readonly FlowRecord[], opts: EncodeOptions): EncodedExport {
  return encodeTemplated(9, records, opts);
}

/**
 * Encodes records as IPFIX messages: a template per address family, and sampling rates as PSAMP
 * options (selectorId → samplingPacketInterval / samplingPacketSpace).
 * @see RFC 7011 §3, RFC 5476 §6.5
 */
export function encodeIpfix(records: readonly FlowRecord[], opts: EncodeOptions): EncodedExport {
  return encodeTemplated(10, records, opts);
}

function encodeTemplated(version: 9 | 10, records: readonly FlowRecord[], opts: EncodeOptions): EncodedExport {
  const maxBytes = opts.maxDatagramBytes ?? 1400;
  const headerLen = version === 9 ? 20 : 16;
  const sysUp = opts.sysUptimeMs ?? 3_600_000;
  const secs = Math.floor(opts.exportTimeMs / 1000);
  const rates = [...new Set(records.map((r) => r.samplingRate))];
  const samplerOf = (rate: number): number => rates.indexOf(rate) + 1;
  const fields4 = flowFields(version, false);
  const fields6 = flowFields(version, true);
  const recLen = (fs: Field[]): number => fs.reduce((s, f) => s + f[1], 0);

  // Each set is built as bytes, then packed into datagrams.
  const preamble: Uint8Array[] = [];
  if (opts.withTemplates ?? true) {
    const t = new Writer(512);
    t.u16(version === 9 ? 0 : 2);
    const lenAt = t.at; t.u16(0);
    for (const [id, fs] of [[TEMPLATE_V4, fields4], [TEMPLATE_V6, fields6]] as const) {
      t.u16(id); t.u16(fs.length);
      for (const [fid, flen] of fs) { t.u16(fid); t.u16(flen); }
    }
    t.view.setUint16(lenAt, t.at);
    preamble.push(t.done());
    const o = new Writer(64);
    o.u16(version === 9 ? 1 : 3);
    const olenAt = o.at; o.u16(0);
    o.u16(TEMPLATE_SAMPLING);
    if (version === 9) {
      // Scope: System (type 1), 4 bytes; options: sampler id and its random interval.
      o.u16(4); o.u16(8); o.u16(1); o.u16(4); o.u16(IE.samplerId); o.u16(2); o.u16(IE.samplerRandomInterval); o.u16(4);
    } else {
      o.u16(4); o.u16(1); o.u16(IE.selectorId); o.u16(2); o.u16(IE.selectorAlgorithm); o.u16(1); o.u16(IE.samplingPacketInterval); o.u16(4); o.u16(IE.samplingPacketSpace); o.u16(4);
    }
    while (o.at % 4 !== 0) o.u8(0);
    o.view.setUint16(olenAt, o.at);
    preamble.push(o.done());
    const d = new Writer(8 + rates.length * 11 + 4);
    d.u16(TEMPLATE_SAMPLING);
    const dlenAt = d.at; d.u16(0);
    for (const rate of rates) {
      if (version === 9) { d.u32(0); d.u16(samplerOf(rate)); d.u32(rate); }
      // Systematic count-based sampling (selectorAlgorithm 1): select 1 packet, skip rate - 1.
      else { d.u16(samplerOf(rate)); d.u8(1); d.u32(1); d.u32(rate - 1); }
    }
    while (d.at % 4 !== 0) d.u8(0);
    d.view.setUint16(dlenAt, d.at);
    preamble.push(d.done());
  }

  const datagrams: Uint8Array[] = [];
  let seq = opts.sequence >>> 0;
  let sets: Uint8Array[] = [...preamble];
  let size = headerLen + preamble.reduce((s, x) => s + x.length, 0);
  let dataRecords = preamble.length > 0 ? rates.length : 0;
  let setCount = preamble.length > 0 ? 3 + rates.length : 0;
  const flush = (): void => {
    if (sets.length === 0) return;
    const w = new Writer(size);
    w.u16(version);
    if (version === 9) { w.u16(setCount); w.u32(sysUp); w.u32(secs); w.u32(seq); w.u32(opts.domainId ?? 0); }
    else { w.u16(size); w.u32(secs); w.u32(seq); w.u32(opts.domainId ?? 0); }
    for (const s of sets) w.bytes(s);
    datagrams.push(w.done());
    seq = (version === 9 ? seq + 1 : seq + dataRecords) >>> 0;
    sets = [];
    size = headerLen;
    dataRecords = 0;
    setCount = 0;
  };

  let i = 0;
  while (i < records.length) {
    const v6 = addressBytes(records[i]!.srcAddr).v6 || addressBytes(records[i]!.dstAddr).v6;
    const fs = v6 ? fields6 : fields4;
    const per = recLen(fs);
    if (size + 4 + per > maxBytes) flush();
    const room = Math.max(1, Math.floor((maxBytes - size - 4) / per));
    const chunk: FlowRecord[] = [];
    while (i < records.length && chunk.length < room) {
      const r = records[i]!;
      const rv6 = addressBytes(r.srcAddr).v6 || addressBytes(r.dstAddr).v6;
      if (rv6 !== v6) break;
      chunk.push(r);
      i++;
    }
    const w = new Writer(4 + per * chunk.length);
    w.u16(v6 ? TEMPLATE_V6 : TEMPLATE_V4); w.u16(4 + per * chunk.length);
    for (const r of chunk) {
      const family = v6 ? 16 : 4;
      const src = addressBytes(r.srcAddr).bytes;
      const dst = addressBytes(r.dstAddr).bytes;
      // A record mixing families is written in the template's family: IPv4 inside an IPv4-mapped slot.
      w.bytes(family === 16 && src.length === 4 ? mapV4(src) : src);
      w.bytes(family === 16 && dst.length === 4 ? mapV4(dst) : dst);
      w.u16(r.srcPort); w.u16(r.dstPort); w.u8(r.proto); w.u8(r.tcpFlags);
      w.u64(rawCount(r.bytes, r.samplingRate)); w.u64(rawCount(r.packets, r.samplingRate));
      if (version === 9) { w.u32(sysUp - (secs * 1000 - r.start)); w.u32(sysUp - (secs * 1000 - r.end)); }
      else { w.u64(r.start); w.u64(r.end); }
      w.u32(r.inIf); w.u32(r.outIf); w.u16(samplerOf(r.samplingRate));
    }
    sets.push(w.done());
    size += 4 + per * chunk.length;
    dataRecords += chunk.length;
    setCount += chunk.length;
  }
  flush();
  return { datagrams, nextSequence: seq };
}

function mapV4(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(b, 12);
  return out;
}
