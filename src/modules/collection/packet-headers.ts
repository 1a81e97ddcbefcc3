/** @module Parses link, network and transport headers of one captured packet: pcap frames and IPFIX dataLinkFrameSection samples. */

/** Link-layer framings this parser understands (the pcap LINKTYPE_* values). */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** What a parsed packet says about itself; addresses are 16-byte slots, IPv4 stored IPv4-mapped. */
export interface PacketInfo {
  ipVersion: 0 | 4 | 6;
  srcAddr: Uint8Array;
  dstAddr: Uint8Array;
  proto: number;
  srcPort: number;
  dstPort: number;
  tcpFlags: number;
  /** Length of the IP packet as its header states (total length, or payload length + 40). */
  ipLength: number;
  /** Offset and end of the transport payload in the parsed buffer (UDP payload for UDP). */
  payloadOffset: number;
  payloadEnd: number;
}

/** Allocates a reusable PacketInfo so hot paths parse without allocating. */
export function createPacketInfo(): PacketInfo {
  return { ipVersion: 0, srcAddr: new Uint8Array(16), dstAddr: new Uint8Array(16), proto: 0, srcPort: 0, dstPort: 0, tcpFlags: 0, ipLength: 0, payloadOffset: 0, payloadEnd: 0 };
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = [0x8100, 0x88a8, 0x9100];
const ETH_MPLS = [0x8847, 0x8848];
// Bounds how many VLAN tags, MPLS labels and tunnel layers we follow, so a crafted frame cannot loop us.
const MAX_LAYERS = 16;

function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

function reset(info: PacketInfo): void {
  info.ipVersion = 0;
  info.srcAddr.fill(0);
  info.dstAddr.fill(0);
  info.proto = 0;
  info.srcPort = 0;
  info.dstPort = 0;
  info.tcpFlags = 0;
  info.ipLength = 0;
  info.payloadOffset = 0;
  info.payloadEnd = 0;
}

/**
 * Parses a frame of the given link type from `buf[offset, end)` into `info`; false when no IP header
 * could be found. Truncated transport headers leave ports at 0 rather than failing: sampled frame
 * sections (IPFIX dataLinkFrameSection) are cut short by design.
 * @see https://www.tcpdump.org/linktypes.html
 */
export function parseFrame(buf: Uint8Array, offset: number, end: number, linkType: number, info: PacketInfo): boolean {
  reset(info);
  const stop = Math.min(end, buf.length);
  switch (linkType) {
    case LinkType.ETHERNET:
      return parseEthernet(buf, offset, stop, info, 0);
    case LinkType.RAW:
    case LinkType.IPV4:
    case LinkType.IPV6:
      return parseIp(buf, offset, stop, info, 0);
    case LinkType.NULL:
    case LinkType.LOOP:
      // A 4-byte address family in the capturing host's byte order (NULL) or big-endian (LOOP);
      // the IP version nibble tells us what follows, which avoids guessing the host's endianness.
      return offset + 4 <= stop && parseIp(buf, offset + 4, stop, info, 0);
    case LinkType.LINUX_SLL:
      return offset + 16 <= stop && parseEtherType(buf, u16(buf, offset + 14), offset + 16, stop, info, 0);
    case LinkType.LINUX_SLL2:
      return offset + 20 <= stop && parseEtherType(buf, u16(buf, offset), offset + 20, stop, info, 0);
    default:
      return false;
  }
}

function parseEthernet(buf: Uint8Array, offset: number, stop: number, info: PacketInfo, depth: number): boolean {
  if (offset + 14 > stop) return false;
  return parseEtherType(buf, u16(buf, offset + 12), offset + 14, stop, info, depth);
}

function parseEtherType(buf: Uint8Array, etherTypeIn: number, offsetIn: number, stop: number, info: PacketInfo, depth: number): boolean {
  let etherType = etherTypeIn;
  let offset = offsetIn;
  for (let layer = 0; layer < MAX_LAYERS && ETH_VLAN.includes(etherType); layer++) {
    if (offset + 4 > stop) return false;
    etherType = u16(buf, offset + 2);
    offset += 4;
  }
  if (etherType === ETH_IPV4 || etherType === ETH_IPV6) return parseIp(buf, offset, stop, info, depth);
  if (!ETH_MPLS.includes(etherType)) return false;
  for (let layer = 0; layer < MAX_LAYERS; layer++) {
    if (offset + 4 > stop) return false;
    const bottom = (buf[offset + 2]! & 0x01) !== 0;
    offset += 4;
    if (bottom) break;
    if (layer === MAX_LAYERS - 1) return false;
  }
  if (offset >= stop) return false;
  const nibble = buf[offset]! >>> 4;
  if (nibble === 4 || nibble === 6) return parseIp(buf, offset, stop, info, depth);
  // RFC 4385 §3: a first nibble of 0 is the pseudowire control word; Ethernet follows (RFC 4448).
  if (nibble === 0 && depth < 2) return parseEthernet(buf, offset + 4, stop, info, depth + 1);
  return false;
}

function copyV4(dst: Uint8Array, buf: Uint8Array, at: number): void {
  dst.fill(0, 0, 10);
  dst[10] = 0xff;
  dst[11] = 0xff;
  dst.set(buf.subarray(at, at + 4), 12);
}

function parseIp(buf: Uint8Array, offset: number, stop: number, info: PacketInfo, depth: number): boolean {
  if (offset >= stop) return false;
  const version = buf[offset]! >>> 4;
  let proto: number;
  let l4: number;
  let ipEnd: number;
  let fragmentTail = false;
  if (version === 4) {
    const ihl = (buf[offset]! & 0x0f) * 4;
    if (ihl < 20 || offset + ihl > stop) return false;
    info.ipVersion = 4;
    info.ipLength = u16(buf, offset + 2);
    proto = buf[offset + 9]!;
    copyV4(info.srcAddr, buf, offset + 12);
    copyV4(info.dstAddr, buf, offset + 16);
    fragmentTail = (u16(buf, offset + 6) & 0x1fff) !== 0;
    l4 = offset + ihl;
    ipEnd = info.ipLength >= ihl ? Math.min(stop, offset + info.ipLength) : stop;
  } else if (version === 6) {
    if (offset + 40 > stop) return false;
    info.ipVersion = 6;
    info.ipLength = u16(buf, offset + 4) + 40;
    info.srcAddr.set(buf.subarray(offset + 8, offset + 24));
    info.dstAddr.set(buf.subarray(offset + 24, offset + 40));
    proto = buf[offset + 6]!;
    l4 = offset + 40;
    ipEnd = Math.min(stop, offset + info.ipLength);
    // RFC 8200 §4: walk the extension headers to the upper-layer header.
    for (let layer = 0; layer < MAX_LAYERS; layer++) {
      if (proto === 0 || proto === 43 || proto === 60) {
        if (l4 + 8 > stop) return finish(buf, info, proto, l4, l4);
        proto = buf[l4]!;
        l4 += (buf[l4 + 1]! + 1) * 8;
      } else if (proto === 44) {
        if (l4 + 8 > stop) return finish(buf, info, proto, l4, l4);
        fragmentTail = (u16(buf, l4 + 2) & 0xfff8) !== 0;
        proto = buf[l4]!;
        l4 += 8;
      } else if (proto === 51) {
        if (l4 + 8 > stop) return finish(buf, info, proto, l4, l4);
        proto = buf[l4]!;
        l4 += (buf[l4 + 1]! + 2) * 4;
      } else break;
    }
  } else {
    return false;
  }
  // IP in IP (RFC 2003, RFC 2473; SRv6 encapsulation of RFC 8986): the inner header names the real endpoints.
  if ((proto === 4 || proto === 41) && !fragmentTail && depth < 2 && l4 < stop) {
    const outer = { v: info.ipVersion, len: info.ipLength, src: info.srcAddr.slice(), dst: info.dstAddr.slice() };
    if (parseIp(buf, l4, stop, info, depth + 1)) return true;
    // The inner header is cut off: report the tunnel itself rather than nothing.
    info.ipVersion = outer.v;
    info.ipLength = outer.len;
    info.srcAddr.set(outer.src);
    info.dstAddr.set(outer.dst);
    return finish(buf, info, proto, l4, l4);
  }
  if (fragmentTail) return finish(buf, info, proto, l4, l4);
  return finish(buf, info, proto, l4, Math.max(l4, ipEnd));
}

function finish(buf: Uint8Array, info: PacketInfo, proto: number, l4: number, end: number): boolean {
  info.proto = proto;
  info.payloadOffset = l4;
  info.payloadEnd = l4;
  const avail = end - l4;
  if (proto === 6 || proto === 17 || proto === 132 || proto === 136) {
    if (avail < 4) return true;
    info.srcPort = u16(buf, l4);
    info.dstPort = u16(buf, l4 + 2);
    if (proto === 6 && avail >= 14) info.tcpFlags = buf[l4 + 13]!;
    if (proto === 17 && avail >= 8) {
      const udpLen = u16(buf, l4 + 4);
      info.payloadOffset = l4 + 8;
      info.payloadEnd = udpLen >= 8 ? Math.min(end, l4 + udpLen) : end;
    }
  } else if ((proto === 1 || proto === 58) && avail >= 2) {
    // ICMP has no ports; like NetFlow v5 exporters we carry type * 256 + code as the destination port.
    info.dstPort = (buf[l4]! << 8) | buf[l4 + 1]!;
  }
  return true;
}
