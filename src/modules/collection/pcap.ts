/** @module Reads packet capture files (classic pcap and pcapng) and extracts the UDP datagrams that carry flow exports. */
import { AppError, err, ok, type Result } from '#platform/errors/index.js';
import { formatAddress } from './flow-batch.js';
import { createPacketInfo, parseFrame } from './packet-headers.js';

/** One captured packet: its link type, capture time and the captured bytes. */
export interface PcapPacket {
  /** Capture time, milliseconds since the Unix epoch (fractional below the millisecond). */
  timestampMs: number;
  linkType: number;
  /** The captured bytes (a view into the file's buffer). */
  data: Uint8Array;
  /** The packet's length on the wire, which may exceed `data.length` when the capture was cut. */
  originalLength: number;
}

/** One UDP datagram found in a capture, with the addresses it came from and went to. */
export interface UdpDatagram {
  timestampMs: number;
  srcAddr: string;
  srcPort: number;
  dstAddr: string;
  dstPort: number;
  payload: Uint8Array;
}

const PCAP_MICRO = 0xa1b2c3d4;
const PCAP_NANO = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER = 0x1a2b3c4d;
// A generous ceiling per packet: real snap lengths stay at or below 262144 bytes.
const MAX_PACKET = 1 << 24;

function fail(message: string, where: string): Result<never> {
  return err(new AppError('DECODE_FAILED', message, { details: [{ path: where, message }] }));
}

/**
 * Reads every packet of a classic pcap (either byte order, microsecond or nanosecond timestamps) or
 * pcapng file; a truncated or malformed file is an error that says where it broke.
 * @see https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html (pcap §4–5) and draft-ietf-opsawg-pcapng §4
 */
export function readPcap(file: Uint8Array): Result<PcapPacket[]> {
  if (file.length < 4) return fail(`capture file too short: ${file.length} bytes, a header needs 24`, 'header');
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const magicLe = view.getUint32(0, true);
  if (magicLe === PCAPNG_SHB) return readPcapng(file, view);
  let little: boolean;
  if (magicLe === PCAP_MICRO || magicLe === PCAP_NANO) little = true;
  else if (view.getUint32(0, false) === PCAP_MICRO || view.getUint32(0, false) === PCAP_NANO) little = false;
  else return fail(`not a pcap or pcapng file: unknown magic number 0x${view.getUint32(0, false).toString(16).padStart(8, '0')}`, 'header.magic');
  if (file.length < 24) return fail(`pcap header truncated: ${file.length} bytes, it needs 24`, 'header');
  const nano = view.getUint32(0, little) === PCAP_NANO;
  const major = view.getUint16(4, little);
  if (major !== 2) return fail(`unsupported pcap version ${major}.${view.getUint16(6, little)}; expected 2.4`, 'header.version');
  // The upper bits of the link-type word carry FCS information (pcap §4), not the link type.
  const linkType = view.getUint32(20, little) & 0x03ffffff;
  const packets: PcapPacket[] = [];
  let at = 24;
  while (at < file.length) {
    const index = packets.length;
    if (at + 16 > file.length) return fail(`pcap file truncated in the header of packet ${index} at byte ${at}`, `packets[${index}]`);
    const sec = view.getUint32(at, little);
    const frac = view.getUint32(at + 4, little);
    const incl = view.getUint32(at + 8, little);
    const orig = view.getUint32(at + 12, little);
    if (incl > MAX_PACKET) return fail(`packet ${index} at byte ${at} claims ${incl} captured bytes, more than any capture holds`, `packets[${index}].length`);
    if (at + 16 + incl > file.length) return fail(`pcap file truncated in packet ${index}: it needs ${incl} bytes at byte ${at + 16}, ${file.length - at - 16} remain`, `packets[${index}]`);
    packets.push({ timestampMs: sec * 1000 + (nano ? frac / 1e6 : frac / 1e3), linkType, data: file.subarray(at + 16, at + 16 + incl), originalLength: orig });
    at += 16 + incl;
  }
  return ok(packets);
}

interface NgInterface {
  linkType: number;
  /** Timestamp units per second. */
  unitsPerSecond: number;
}

function readPcapng(file: Uint8Array, view: DataView): Result<PcapPacket[]> {
  const packets: PcapPacket[] = [];
  let interfaces: NgInterface[] = [];
  let little = true;
  let at = 0;
  while (at < file.length) {
    if (at + 12 > file.length) return fail(`pcapng file truncated in the block header at byte ${at}`, `blocks@${at}`);
    const typeLe = view.getUint32(at, true);
    if (typeLe === PCAPNG_SHB) {
      // Each section header states its own byte order (pcapng §4.1).
      const bom = view.getUint32(at + 8, true);
      if (bom === PCAPNG_BYTE_ORDER) little = true;
      else if (view.getUint32(at + 8, false) === PCAPNG_BYTE_ORDER) little = false;
      else return fail(`pcapng section at byte ${at} has an unknown byte-order magic`, `blocks@${at}.byteOrder`);
      interfaces = [];
    }
    const type = view.getUint32(at, little);
    const total = view.getUint32(at + 4, little);
    if (total < 12 || total % 4 !== 0) return fail(`pcapng block at byte ${at} has an invalid length ${total}`, `blocks@${at}.length`);
    if (at + total > file.length) return fail(`pcapng file truncated in the block at byte ${at}: it needs ${total} bytes, ${file.length - at} remain`, `blocks@${at}`);
    if (view.getUint32(at + total - 4, little) !== total) return fail(`pcapng block at byte ${at} has mismatched leading and trailing lengths`, `blocks@${at}.length`);
    const body = at + 8;
    const bodyEnd = at + total - 4;
    if (type === 1) {
      if (bodyEnd - body < 8) return fail(`pcapng interface block at byte ${at} is too short`, `blocks@${at}`);
      interfaces.push({ linkType: view.getUint16(body, little), unitsPerSecond: readTsResolution(view, body + 8, bodyEnd, little) });
    } else if (type === 6) {
      if (bodyEnd - body < 20) return fail(`pcapng packet block at byte ${at} is too short`, `blocks@${at}`);
      const iface = interfaces[view.getUint32(body, little)];
      if (iface === undefined) return fail(`pcapng packet block at byte ${at} names an interface that was never described`, `blocks@${at}.interface`);
      const ts = view.getUint32(body + 4, little) * 2 ** 32 + view.getUint32(body + 8, little);
      const caplen = view.getUint32(body + 12, little);
      if (body + 20 + caplen > bodyEnd) return fail(`pcapng packet block at byte ${at} claims ${caplen} bytes beyond its end`, `blocks@${at}.length`);
      packets.push({ timestampMs: (ts / iface.unitsPerSecond) * 1000, linkType: iface.linkType, data: file.subarray(body + 20, body + 20 + caplen), originalLength: view.getUint32(body + 16, little) });
    } else if (type === 3) {
      const iface = interfaces[0];
      if (iface === undefined) return fail(`pcapng simple packet block at byte ${at} comes before any interface block`, `blocks@${at}.interface`);
      if (bodyEnd - body < 4) return fail(`pcapng simple packet block at byte ${at} is too short`, `blocks@${at}`);
      const orig = view.getUint32(body, little);
      const caplen = Math.min(orig, bodyEnd - body - 4);
      // Simple packet blocks carry no timestamp (pcapng §4.4); NaN says "unknown" instead of inventing one.
      packets.push({ timestampMs: Number.NaN, linkType: iface.linkType, data: file.subarray(body + 4, body + 4 + caplen), originalLength: orig });
    }
    at += total;
  }
  return ok(packets);
}

function readTsResolution(view: DataView, from: number, end: number, little: boolean): number {
  let at = from;
  while (at + 4 <= end) {
    const code = view.getUint16(at, little);
    const len = view.getUint16(at + 2, little);
    if (code === 0) break;
    if (code === 9 && len >= 1 && at + 5 <= end) {
      const v = view.getUint8(at + 4);
      // if_tsresol: high bit set means a power of two, clear means a power of ten (pcapng §4.2).
      return (v & 0x80) !== 0 ? 2 ** (v & 0x7f) : 10 ** v;
    }
    at += 4 + ((len + 3) & ~3);
  }
  return 1e6;
}

/**
 * Reads a capture file and returns its UDP datagrams (IPv4 and IPv6, Ethernet with 802.1Q, raw IP,
 * Linux SLL/SLL2 and loopback framings); packets that are not UDP are skipped.
 * @see RFC 768 (UDP)
 */
export function readUdpDatagrams(file: Uint8Array): Result<UdpDatagram[]> {
  const packets = readPcap(file);
  if (!packets.ok) return packets;
  const info = createPacketInfo();
  const out: UdpDatagram[] = [];
  for (const p of packets.value) {
    if (!parseFrame(p.data, 0, p.data.length, p.linkType, info) || info.proto !== 17 || info.payloadEnd <= info.payloadOffset) continue;
    out.push({
      timestampMs: p.timestampMs,
      srcAddr: formatAddress(info.srcAddr, 0),
      srcPort: info.srcPort,
      dstAddr: formatAddress(info.dstAddr, 0),
      dstPort: info.dstPort,
      payload: p.data.subarray(info.payloadOffset, info.payloadEnd),
    });
  }
  return ok(out);
}
