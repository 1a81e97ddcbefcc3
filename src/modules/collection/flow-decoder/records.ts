/** @module Data sets on the general path: records read field by field into the scratch record, then written as flows. */
import { ADDR_BYTES, flowBatchCapacity } from '../flow-batch.js';
import { LinkType, parseFrame } from '../packet-headers.js';
import { decodeCompiled } from './compiled.js';
import { applyOptions, flowTimes, pickInterface, readField, roundRate } from './fields.js';
import { type DecoderState, type Domain, type HeaderContext, type Template, exporterIndex, problem } from './state.js';
import { VARIABLE, u16 } from './wire.js';

/** Decodes the records of one data set; returns how many records it held, or -1 when it broke off. */
export function decodeDataSet(s: DecoderState, d: Domain, t: Template, body: Uint8Array, ctx: HeaderContext): number {
  if (t.plan !== undefined) return decodeCompiled(s, d, t, t.plan, body, ctx);
  const rec = s.rec;
  const roles = t.roles;
  const lengths = t.lengths;
  const nf = roles.length;
  const variable = ctx.version === 10;
  let o = 0;
  let n = 0;
  const ex = t.options ? 0 : exporterIndex(s, d);
  // Hot loop: one pass per field with a switch on its role; bench/collector measures it.
  while (body.length - o >= t.minLength) {
    rec.reset();
    for (let f = 0; f < nf; f++) {
      let len = lengths[f]!;
      if (len === VARIABLE && variable) {
        // RFC 7011 §7: one length byte, or 255 followed by a two-byte length.
        if (o >= body.length) { problem(s, 'BAD_RECORD'); return -1; }
        len = body[o]!;
        o++;
        if (len === 255) {
          if (o + 2 > body.length) { problem(s, 'BAD_RECORD'); return -1; }
          len = u16(body, o);
          o += 2;
        }
      }
      if (o + len > body.length) { problem(s, 'BAD_RECORD'); return -1; }
      readField(rec, body, o, len, roles[f]!);
      o += len;
    }
    n++;
    if (t.options) applyOptions(s, d);
    else if (!emitFlow(s, d, t, body, ctx, ex)) { problem(s, 'BATCH_FULL'); return -1; }
  }
  return n;
}

function emitFlow(s: DecoderState, d: Domain, t: Template, body: Uint8Array, ctx: HeaderContext, ex: number): boolean {
  const out = s.out, rec = s.rec, pkt = s.pkt;
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
      s.exp.counters.recordsSkipped++;
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
    rate = (Number.isNaN(id) ? undefined : d.samplerRates.get(id)) ?? d.templateRates.get(t.id) ?? (d.defaultRate > 0 ? d.defaultRate : s.cfg.defaultSamplingRate);
  }
  rate = roundRate(rate);
  flowTimes(s, d, ctx);
  out.start[row] = s.timeStart;
  out.end[row] = s.timeEnd;
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

function nonZero(b: Uint8Array, o: number, n: number): boolean {
  if (o < 0) return false;
  for (let i = 0; i < n; i++) if (b[o + i] !== 0) return true;
  return false;
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
