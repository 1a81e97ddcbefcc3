/** @module The compiled record reader: fixed-length templates compiled into fixed offsets, its loop and slot writers. */
import { ADDR_BYTES, flowBatchCapacity } from '../flow-batch.js';
import { Role } from '../information-elements.js';
import { flowTimes, pickInterface, roundRate } from './fields.js';
import { type DecoderState, type Domain, type HeaderContext, type RecordPlan, type Template, exporterIndex, problem } from './state.js';
import { VARIABLE, ntpMs, readUint } from './wire.js';

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
export function compileTemplate(version: number, options: boolean, roles: Uint8Array, lengths: Uint16Array): RecordPlan | undefined {
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

/**
 * Decodes a data set through its template's compiled plan: each field read at its fixed offset and
 * written straight into the batch, with no per-record reset or per-field dispatch. Gives the same rows
 * as decodeDataSet's general path (flow-decoder.test.ts checks this as a property). Hot loop:
 * bench/collector and bench/pipeline.
 */
export function decodeCompiled(s: DecoderState, d: Domain, t: Template, p: RecordPlan, body: Uint8Array, ctx: HeaderContext): number {
  const out = s.out, rec = s.rec;
  const off = p.off;
  const len = p.len;
  const rl = p.recordLength;
  const ex = exporterIndex(s, d);
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
  const setRate = d.templateRates.get(t.id) ?? (d.defaultRate > 0 ? d.defaultRate : s.cfg.defaultSamplingRate);
  let lastId = NaN;
  let lastRate = roundRate(setRate);
  const src = out.srcAddr, dst = out.dstAddr;
  let n = 0;
  for (let r = 0; body.length - r >= rl; r += rl) {
    n++;
    const row = out.length;
    if (row >= cap || ex < 0) { problem(s, 'BATCH_FULL'); return -1; }
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
      flowTimes(s, d, ctx);
      out.start[row] = s.timeStart;
      out.end[row] = s.timeEnd;
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
// zero address as writeSlot (records.ts) does for an absent field.
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
