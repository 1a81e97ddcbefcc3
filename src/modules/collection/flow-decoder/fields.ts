/** @module Record values on the general path: fields by role, options records, and the rules for times, rates and interfaces. */
import { Role } from '../information-elements.js';
import type { DecoderState, Domain, HeaderContext, Scratch } from './state.js';
import { ntpMs, uint } from './wire.js';

/** Stores one field of a record in `rec` by its role; fields of an unexpected length are ignored. */
export function readField(rec: Scratch, b: Uint8Array, o: number, len: number, role: number): void {
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

/** Keeps what an options record says: system init time and sampling rates (per sampler, per template or default). */
export function applyOptions(s: DecoderState, d: Domain): void {
  const rec = s.rec;
  if (rec.sysInit >= 0) d.sysInitMs = rec.sysInit;
  const rate = rec.rate();
  if (!(rate >= 1)) return;
  const rounded = Math.min(0xffffffff, Math.round(rate));
  const id = !Number.isNaN(rec.samplerId) ? rec.samplerId : rec.selectorId;
  if (!Number.isNaN(id)) setBounded(s, d.samplerRates, id, rounded);
  else if (!Number.isNaN(rec.templateId)) setBounded(s, d.templateRates, rec.templateId, rounded);
  else d.defaultRate = rounded;
}

function setBounded(s: DecoderState, m: Map<number, number>, k: number, v: number): void {
  if (!m.has(k) && m.size >= s.cfg.maxSamplersPerDomain) return;
  m.set(k, v);
}

/** Sets s.timeStart and s.timeEnd from the time fields in `rec` (no tuple: this runs once per record). */
export function flowTimes(s: DecoderState, d: Domain, ctx: HeaderContext): void {
  const rec = s.rec;
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
  s.timeStart = start;
  s.timeEnd = end;
}

/** A sampling rate as stored in a flow: an integer in 1..2^32-1. */
export function roundRate(rate: number): number {
  return Math.min(0xffffffff, Math.max(1, Math.round(rate)));
}

/** The logical interface if present, else the physical one, else 0; values beyond 32 bits read as 0. */
export function pickInterface(logical: number, physical: number): number {
  if (logical >= 0) return logical > 0xffffffff ? 0 : logical;
  if (physical >= 0) return physical > 0xffffffff ? 0 : physical;
  return 0;
}
