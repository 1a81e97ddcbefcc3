import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LinkType } from './packet-headers.js';
import { readPcap, readUdpDatagrams } from './pcap.js';

const DIR = new URL('../../../../shared/testdata/exporters/', import.meta.url);
const PAYLOAD = Uint8Array.of(0, 10, 0, 5, 1, 2, 3, 4, 5);

function udp4(payload: Uint8Array): number[] {
  const udpLen = 8 + payload.length;
  return [0x45, 0, 0, 20 + udpLen, 0, 0, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 198, 51, 100, 2, 0x12, 0x34, 0x08, 0x07, 0, udpLen, 0, 0, ...payload];
}
function udp6(payload: Uint8Array): number[] {
  const udpLen = 8 + payload.length;
  const src = [0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 1];
  const dst = [0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 2];
  // A hop-by-hop extension header first, to exercise the walk to the UDP header.
  return [0x60, 0, 0, 0, 0, udpLen + 8, 0, 64, ...src, ...dst, 17, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x12, 0x83, 0, udpLen, 0, 0, ...payload];
}

function pcap(linkType: number, frames: number[][], opts: { bigEndian?: boolean; nano?: boolean } = {}): Uint8Array {
  const le = !opts.bigEndian;
  const out: number[] = [];
  const u32 = (v: number): void => { const b = [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]; out.push(...(le ? b.reverse() : b)); };
  const u16 = (v: number): void => { const b = [v >>> 8, v & 0xff]; out.push(...(le ? b.reverse() : b)); };
  u32(opts.nano ? 0xa1b23c4d : 0xa1b2c3d4); u16(2); u16(4); u32(0); u32(0); u32(65535); u32(linkType);
  for (const f of frames) { u32(1_700_000_000); u32(opts.nano ? 123_456_789 : 123_456); u32(f.length); u32(f.length); out.push(...f); }
  return Uint8Array.from(out);
}

const ETH = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];

describe('classic pcap', () => {
  it.each([
    ['Ethernet, little-endian, microseconds', LinkType.ETHERNET, [...ETH, 0x08, 0x00, ...udp4(PAYLOAD)], {}, 1_700_000_000_123.456],
    ['Ethernet with 802.1Q, big-endian, nanoseconds', LinkType.ETHERNET, [...ETH, 0x81, 0x00, 0, 42, 0x08, 0x00, ...udp4(PAYLOAD)], { bigEndian: true, nano: true }, 1_700_000_000_000 + 123.456789],
    ['raw IP', LinkType.RAW, udp4(PAYLOAD), {}, 1_700_000_000_123.456],
    ['Linux SLL', LinkType.LINUX_SLL, [0, 0, 0, 1, 0, 6, ...ETH.slice(0, 6), 0, 0, 0x08, 0x00, ...udp4(PAYLOAD)], {}, 1_700_000_000_123.456],
    ['BSD loopback (NULL)', LinkType.NULL, [2, 0, 0, 0, ...udp4(PAYLOAD)], {}, 1_700_000_000_123.456],
  ])('%s', (_label, link, frame, opts, ts) => {
    const r = readUdpDatagrams(pcap(link, [frame], opts));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toHaveLength(1);
    const d = r.value[0]!;
    expect(d).toMatchObject({ srcAddr: '192.0.2.1', dstAddr: '198.51.100.2', srcPort: 0x1234, dstPort: 2055 });
    expect(d.timestampMs).toBeCloseTo(ts, 3);
    expect([...d.payload]).toEqual([...PAYLOAD]);
  });

  it('IPv6 behind an extension header', () => {
    const r = readUdpDatagrams(pcap(LinkType.ETHERNET, [[...ETH, 0x86, 0xdd, ...udp6(PAYLOAD)]]));
    expect(r.ok && r.value[0]).toMatchObject({ srcAddr: '2001:db8::1', dstAddr: '2001:db8::2', dstPort: 4739 });
  });

  it('skips packets that are not UDP', () => {
    const tcp = udp4(PAYLOAD);
    tcp[9] = 6;
    const r = readUdpDatagrams(pcap(LinkType.RAW, [tcp, udp4(PAYLOAD)]));
    expect(r.ok && r.value.length).toBe(1);
  });

  it('reads every real exporter capture', () => {
    const r = readPcap(readFileSync(new URL('nfv5.pcap', DIR)));
    expect(r.ok && r.value.map((p) => [p.linkType, p.data.length, p.timestampMs])).toEqual([[1, 1458, 1680655485099.595]]);
  });

  it.each([
    ['an empty file', new Uint8Array(0), 'header'],
    ['an unknown magic', Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), 'header.magic'],
    ['a cut header', pcap(LinkType.RAW, []).subarray(0, 20), 'header'],
    ['a cut packet header', pcap(LinkType.RAW, [udp4(PAYLOAD)]).subarray(0, 30), 'packets[0]'],
    ['a cut packet', pcap(LinkType.RAW, [udp4(PAYLOAD)]).subarray(0, 50), 'packets[0]'],
  ])('rejects %s, saying where', (_label, bytes, path) => {
    const r = readPcap(bytes);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('DECODE_FAILED');
    expect(r.error.details?.[0]?.path).toBe(path);
  });
});

describe('pcapng', () => {
  function block(type: number, body: number[]): number[] {
    while (body.length % 4 !== 0) body.push(0);
    const len = body.length + 12;
    const le = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
    return [...le(type), ...le(len), ...body, ...le(len)];
  }
  const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
  const shb = block(0x0a0d0d0a, [...le32(0x1a2b3c4d), 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  // Interface: raw IP, if_tsresol = 9 (nanoseconds).
  const idb = block(1, [101, 0, 0, 0, ...le32(65535), 9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
  const frame = udp4(PAYLOAD);
  const ns = 1_700_000_000_123_456_789n;
  const epb = block(6, [...le32(0), ...le32(Number(ns >> 32n)), ...le32(Number(ns & 0xffffffffn)), ...le32(frame.length), ...le32(frame.length), ...frame]);

  it('reads enhanced packet blocks with the interface time resolution', () => {
    const r = readUdpDatagrams(Uint8Array.from([...shb, ...idb, ...epb]));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value[0]).toMatchObject({ srcAddr: '192.0.2.1', dstPort: 2055 });
    expect(r.value[0]!.timestampMs).toBeCloseTo(1_700_000_000_123.4568, 2);
  });

  it('rejects a packet block naming an undescribed interface, and a cut block', () => {
    const noIface = readPcap(Uint8Array.from([...shb, ...epb]));
    expect(!noIface.ok && noIface.error.details?.[0]?.path).toMatch(/interface$/);
    const cut = readPcap(Uint8Array.from([...shb, ...idb, ...epb]).subarray(0, shb.length + idb.length + 20));
    expect(cut.ok).toBe(false);
  });
});
