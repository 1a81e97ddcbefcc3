import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type FlowRecord, createFlowBatch, readFlow } from './flow-batch.js';
import { createFlowDecoder } from './flow-decoder.js';
import { readUdpDatagrams, type UdpDatagram } from './pcap.js';

// Real datagrams from akvorado/akvorado (see ../shared/testdata/SOURCES.md). Expected values were read
// from Wireshark's cflow dissector (`tshark -r FILE -d udp.port==PORT,cflow -T json`, ports 2055, 2100,
// 4739, 8096, 9990), then normalized by the rules of FlowBatch: times in ms since the epoch (v5/v9
// uptime stamps anchored on the header's export time and sysUpTime), bytes and packets multiplied by
// the sampling rate the exporter announced, ICMP type/code as type * 256 + code in dstPort, and, for
// sampled frames (dataLinkFrameSection), the innermost IP header with dataLinkFrameSize bytes.
const DIR = new URL('../../../../shared/testdata/exporters/', import.meta.url);

function datagramsOf(file: string): UdpDatagram[] {
  const r = readUdpDatagrams(readFileSync(new URL(`${file}.pcap`, DIR)));
  if (!r.ok) throw r.error;
  return r.value;
}

type Expected = Omit<FlowRecord, 'exporter'>;
interface Case { name: string; exporter: string; files: string[]; count: number; first: Expected; last: Expected }

const CASES: Case[] = [
  {
    name: 'nfv5',
    exporter: '10.19.144.41/3',
    files: ['nfv5'],
    count: 29,
    first: { start: 1680626664000, end: 1680626664000, srcAddr: '161.202.212.212', dstAddr: '202.152.70.24', srcPort: 30104, dstPort: 11963, proto: 6, tcpFlags: 24, bytes: 133, packets: 1, samplingRate: 1, inIf: 117, outIf: 86 },
    last: { start: 1680626642000, end: 1680626664000, srcAddr: '157.240.211.205', dstAddr: '202.93.210.203', srcPort: 443, dstPort: 53369, proto: 6, tcpFlags: 24, bytes: 7462, packets: 6, samplingRate: 1, inIf: 118, outIf: 86 },
  },
  {
    name: 'v9 sampler options',
    exporter: '192.0.2.100/0',
    files: ['template', 'options-template', 'options-data', 'data'],
    count: 4,
    first: { start: 1647285925050, end: 1647285925050, srcAddr: '198.38.121.178', dstAddr: '91.170.143.87', srcPort: 443, dstPort: 19624, proto: 6, tcpFlags: 16, bytes: 45000000, packets: 30000, samplingRate: 30000, inIf: 335, outIf: 450 },
    last: { start: 1647285925052, end: 1647285925052, srcAddr: '74.125.100.234', dstAddr: '88.120.219.117', srcPort: 443, dstPort: 52300, proto: 6, tcpFlags: 16, bytes: 43440000, packets: 30000, samplingRate: 30000, inIf: 461, outIf: 451 },
  },
  {
    name: 'v9 data+templates',
    exporter: '102.102.144.1/17170432',
    files: ['data+templates'],
    count: 21,
    first: { start: 1684085310480, end: 1684085310480, srcAddr: '120.120.28.238', dstAddr: '120.120.244.112', srcPort: 63308, dstPort: 31424, proto: 17, tcpFlags: 0, bytes: 4800, packets: 100, samplingRate: 100, inIf: 701, outIf: 946 },
    last: { start: 1684085312470, end: 1684085312530, srcAddr: '120.120.208.195', dstAddr: '120.120.145.29', srcPort: 443, dstPort: 52950, proto: 17, tcpFlags: 0, bytes: 383400, packets: 300, samplingRate: 100, inIf: 1423, outIf: 764 },
  },
  {
    name: 'v9 icmp',
    exporter: '192.168.117.35/0',
    files: ['icmp-template', 'icmp-data'],
    count: 4,
    first: { start: 1685867993216.0, end: 1685867993216.0, srcAddr: '2001:db8::', dstAddr: '2001:db8::1', srcPort: 0, dstPort: 32768, proto: 58, tcpFlags: 0, bytes: 104, packets: 1, samplingRate: 1, inIf: 0, outIf: 0 },
    last: { start: 1685867995034.0, end: 1685867995034.0, srcAddr: '203.0.113.5', dstAddr: '203.0.113.4', srcPort: 0, dstPort: 0, proto: 1, tcpFlags: 0, bytes: 84, packets: 1, samplingRate: 1, inIf: 0, outIf: 0 },
  },
  {
    name: 'v9 nat',
    exporter: '10.143.52.1/200',
    files: ['nat'],
    count: 9,
    first: { start: 1749049740450.0, end: 1749049740450.0, srcAddr: '172.16.100.198', dstAddr: '10.89.87.1', srcPort: 35303, dstPort: 53, proto: 17, tcpFlags: 0, bytes: 0, packets: 0, samplingRate: 1, inIf: 0, outIf: 0 },
    last: { start: 1749049741235.0, end: 1749049741235.0, srcAddr: '172.16.103.50', dstAddr: '200.25.20.50', srcPort: 123, dstPort: 123, proto: 17, tcpFlags: 0, bytes: 0, packets: 0, samplingRate: 1, inIf: 0, outIf: 0 },
  },
  {
    name: 'v9 sampling interval in record',
    exporter: '192.168.0.1/369099009',
    files: ['samplingrate-template', 'samplingrate-data'],
    count: 6,
    first: { start: 1691746198012, end: 1691746198012, srcAddr: '232.131.215.65', dstAddr: '142.183.180.65', srcPort: 13245, dstPort: 10907, proto: 6, tcpFlags: 0, bytes: 327680, packets: 2048, samplingRate: 2048, inIf: 13, outIf: 0 },
    last: { start: 1691746198771, end: 1691746198771, srcAddr: '82.58.106.145', dstAddr: '136.191.168.37', srcPort: 13570, dstPort: 10582, proto: 6, tcpFlags: 0, bytes: 1067008, packets: 2048, samplingRate: 2048, inIf: 13, outIf: 0 },
  },
  {
    name: 'v9 multiple sampling rates',
    exporter: '238.0.0.1/0',
    files: ['multiplesamplingrates-template', 'multiplesamplingrates-options-template', 'multiplesamplingrates-options-data', 'multiplesamplingrates-data'],
    count: 12,
    first: { start: 1701360969980, end: 1701360974891, srcAddr: 'ffff::68', dstAddr: 'ffff::1a', srcPort: 443, dstPort: 52616, proto: 6, tcpFlags: 16, bytes: 5392000, packets: 72000, samplingRate: 4000, inIf: 97, outIf: 6 },
    last: { start: 1701360973104, end: 1701360973104, srcAddr: 'ffff::6b', dstAddr: 'ffff::34', srcPort: 443, dstPort: 51998, proto: 6, tcpFlags: 16, bytes: 144000, packets: 2000, samplingRate: 2000, inIf: 97, outIf: 7 },
  },
  {
    name: 'ipfix datalink',
    exporter: '49.49.49.49/16843264',
    files: ['datalink-template', 'datalink-data'],
    count: 1,
    first: { start: 1690728616000, end: 1690728616000, srcAddr: '51.51.51.51', dstAddr: '52.52.52.52', srcPort: 55501, dstPort: 11777, proto: 17, tcpFlags: 0, bytes: 114, packets: 1, samplingRate: 1, inIf: 582, outIf: 0 },
    last: { start: 1690728616000, end: 1690728616000, srcAddr: '51.51.51.51', dstAddr: '52.52.52.52', srcPort: 55501, dstPort: 11777, proto: 17, tcpFlags: 0, bytes: 114, packets: 1, samplingRate: 1, inIf: 582, outIf: 0 },
  },
  {
    name: 'ipfix ethernet over mpls',
    exporter: '192.168.10.11/16842752',
    files: ['ethernet-over-mpls-with-control-word-template', 'ethernet-over-mpls-with-control-word-data'],
    count: 10,
    first: { start: 1782629172000, end: 1782629172000, srcAddr: '198.51.100.19', dstAddr: '198.51.100.20', srcPort: 80, dstPort: 43908, proto: 6, tcpFlags: 16, bytes: 1458, packets: 1, samplingRate: 1, inIf: 1091, outIf: 0 },
    last: { start: 1782629172000, end: 1782629172000, srcAddr: '198.51.100.17', dstAddr: '198.51.100.18', srcPort: 443, dstPort: 64028, proto: 6, tcpFlags: 16, bytes: 1514, packets: 1, samplingRate: 1, inIf: 1087, outIf: 0 },
  },
  {
    name: 'ipfix srv6',
    exporter: '10.0.0.15/65536',
    files: ['ipfix-srv6-template', 'ipfix-srv6-data'],
    count: 1,
    first: { start: 1763461484000, end: 1763461484000, srcAddr: '8.8.8.8', dstAddr: '213.36.140.100', srcPort: 0, dstPort: 0, proto: 1, tcpFlags: 0, bytes: 118, packets: 1, samplingRate: 1, inIf: 0, outIf: 0 },
    last: { start: 1763461484000, end: 1763461484000, srcAddr: '8.8.8.8', dstAddr: '213.36.140.100', srcPort: 0, dstPort: 0, proto: 1, tcpFlags: 0, bytes: 118, packets: 1, samplingRate: 1, inIf: 0, outIf: 0 },
  },
  {
    name: 'ipfixprobe',
    exporter: '127.0.0.1/1',
    files: ['ipfixprobe-templates', 'ipfixprobe-data'],
    count: 4,
    first: { start: 1254722767492.06, end: 1254722767526.085, srcAddr: '10.10.1.4', dstAddr: '10.10.1.1', srcPort: 56166, dstPort: 53, proto: 17, tcpFlags: 0, bytes: 62, packets: 1, samplingRate: 1, inIf: 10, outIf: 0 },
    last: { start: 1254722770695.115, end: 1254722770696.634, srcAddr: '192.168.1.1', dstAddr: '10.10.1.4', srcPort: 0, dstPort: 0, proto: 1, tcpFlags: 0, bytes: 2304, packets: 4, samplingRate: 1, inIf: 10, outIf: 0 },
  },
  {
    name: 'ipfix juniper cpid',
    exporter: '10.0.0.15/65536',
    files: ['juniper-cpid-template', 'juniper-cpid-data'],
    count: 1,
    first: { start: 1769092514000, end: 1769092514000, srcAddr: '8.8.8.8', dstAddr: '213.36.140.101', srcPort: 0, dstPort: 2048, proto: 1, tcpFlags: 0, bytes: 118, packets: 1, samplingRate: 1, inIf: 737, outIf: 0 },
    last: { start: 1769092514000, end: 1769092514000, srcAddr: '8.8.8.8', dstAddr: '213.36.140.101', srcPort: 0, dstPort: 2048, proto: 1, tcpFlags: 0, bytes: 118, packets: 1, samplingRate: 1, inIf: 737, outIf: 0 },
  },
  {
    name: 'ipfix mpls',
    exporter: '10.127.100.7/16777216',
    files: ['mpls'],
    count: 2,
    first: { start: 1699893330381.0, end: 1699893330381.0, srcAddr: 'fd00::1:0:1:7:1', dstAddr: 'fd00::1:0:1:5:1', srcPort: 49153, dstPort: 862, proto: 17, tcpFlags: 0, bytes: 890, packets: 10, samplingRate: 10, inIf: 0, outIf: 16 },
    last: { start: 1699893297901.0, end: 1699893381901.0, srcAddr: 'fd00::1:0:1:7:1', dstAddr: 'fd00::1:0:1:6:1', srcPort: 49153, dstPort: 862, proto: 17, tcpFlags: 0, bytes: 8900, packets: 100, samplingRate: 10, inIf: 0, outIf: 17 },
  },
  {
    name: 'ipfix physical interfaces',
    exporter: '10.4.2.60/0',
    files: ['physicalinterfaces'],
    count: 8,
    first: { start: 1737739081621.0, end: 1737739081621.0, srcAddr: '147.53.240.75', dstAddr: '212.82.101.24', srcPort: 55629, dstPort: 993, proto: 6, tcpFlags: 16, bytes: 4506000, packets: 3000, samplingRate: 1000, inIf: 1342177291, outIf: 0 },
    last: { start: 1737739061331.0, end: 1737739081891.0, srcAddr: '77.32.118.219', dstAddr: '82.84.64.106', srcPort: 8662, dstPort: 64614, proto: 6, tcpFlags: 24, bytes: 18356000, packets: 13000, samplingRate: 1000, inIf: 1342177291, outIf: 0 },
  },
];


function decodeFiles(files: string[]): { flows: FlowRecord[]; decoder: ReturnType<typeof createFlowDecoder> } {
  const decoder = createFlowDecoder();
  const batch = createFlowBatch(4096);
  for (const f of files) for (const d of datagramsOf(f)) decoder.decode(d.payload, d.srcAddr, d.timestampMs, batch);
  return { flows: Array.from({ length: batch.length }, (_, i) => readFlow(batch, i)), decoder };
}

function expectFlow(got: FlowRecord | undefined, want: Expected, exporter: string): void {
  expect(got).toBeDefined();
  const { start, end, ...rest } = want;
  // Microsecond NTP stamps lose their low 11 fraction bits by RFC 7011 §6.1.9: compare to 0.01 ms.
  expect(got!.start).toBeCloseTo(start, 2);
  expect(got!.end).toBeCloseTo(end, 2);
  expect({ ...got, start: 0, end: 0 }).toEqual({ ...rest, start: 0, end: 0, exporter });
}

describe('real exporter datagrams decode to what Wireshark shows', () => {
  it.each(CASES)('$name', (c) => {
    const { flows, decoder } = decodeFiles(c.files);
    expect(flows).toHaveLength(c.count);
    expectFlow(flows[0], c.first, c.exporter);
    expectFlow(flows.at(-1), c.last, c.exporter);
    expect(decoder.stats().totals.errors).toEqual({});
  });

  it('decodes a pseudowire with a control word that Wireshark takes for a frame without one', () => {
    // Flow 4 of ethernet-over-mpls: after two MPLS labels come 00 00 00 00 (RFC 4385 control word), then
    // Ethernet 02:00:00:00:00:06 -> 02:00:00:00:00:05, IPv4 198.51.100.1 -> 198.51.100.2, TCP 443 -> 55427, ACK.
    // Wireshark's heuristic skips the control word and shows no IP; the bytes say otherwise.
    const { flows } = decodeFiles(['ethernet-over-mpls-with-control-word-template', 'ethernet-over-mpls-with-control-word-data']);
    expect(flows[3]).toMatchObject({ srcAddr: '198.51.100.1', dstAddr: '198.51.100.2', proto: 6, srcPort: 443, dstPort: 55427, tcpFlags: 0x10, bytes: 1532, packets: 1 });
  });

  it('holds data that arrives before its template and decodes it when the template comes', () => {
    const decoder = createFlowDecoder();
    const batch = createFlowBatch(64);
    const data = datagramsOf('data')[0]!;
    const template = datagramsOf('template')[0]!;
    const held = decoder.decode(data.payload, data.srcAddr, 1000, batch);
    expect(held).toEqual({ flows: 0, pending: 1, error: undefined });
    expect(decoder.stats().pendingSets).toBe(1);
    const done = decoder.decode(template.payload, template.srcAddr, 2000, batch);
    expect(done.flows).toBe(4);
    expect(readFlow(batch, 0)).toMatchObject({ srcAddr: '198.38.121.178', dstAddr: '91.170.143.87', bytes: 1500, packets: 1, samplingRate: 1 });
    expect(decoder.stats().pendingSets).toBe(0);
  });

  it('counts held data as lost when its template never comes', () => {
    const decoder = createFlowDecoder({ pendingTimeoutMs: 5000 });
    const batch = createFlowBatch(64);
    const data = datagramsOf('data')[0]!;
    decoder.decode(data.payload, data.srcAddr, 1000, batch);
    decoder.expire(7000);
    const s = decoder.stats();
    expect(s.pendingSets).toBe(0);
    expect(s.pendingBytes).toBe(0);
    expect(s.exporters['192.0.2.100']).toMatchObject({ templatesMissing: 1, errors: { TEMPLATE_MISSING: 1 } });
  });

  it('drops the oldest held set when the pending buffer is full', () => {
    const decoder = createFlowDecoder({ maxPendingSetsPerDomain: 1 });
    const batch = createFlowBatch(64);
    const data = datagramsOf('data')[0]!;
    decoder.decode(data.payload, data.srcAddr, 1000, batch);
    const second = decoder.decode(data.payload, data.srcAddr, 1001, batch);
    expect(second.error).toBe('PENDING_OVERFLOW');
    expect(decoder.stats()).toMatchObject({ pendingSets: 1, totals: { templatesMissing: 1, errors: { PENDING_OVERFLOW: 1 } } });
  });

  it('forgets templates that are not refreshed in time', () => {
    const decoder = createFlowDecoder({ templateTimeoutMs: 60_000, pendingTimeoutMs: 1000 });
    const batch = createFlowBatch(64);
    const template = datagramsOf('template')[0]!;
    const data = datagramsOf('data')[0]!;
    decoder.decode(template.payload, template.srcAddr, 0, batch);
    expect(decoder.stats().templates).toBe(1);
    const later = decoder.decode(data.payload, data.srcAddr, 120_000, batch);
    expect(later).toMatchObject({ flows: 0, pending: 1 });
    expect(decoder.stats().templates).toBe(0);
  });
});

describe('malformed datagrams', () => {
  const v5 = datagramsOf('nfv5')[0]!.payload;
  const ipfix = datagramsOf('mpls')[0]!.payload;

  it.each([
    ['an empty datagram', new Uint8Array(0), 'TRUNCATED'],
    ['an unknown version', Uint8Array.of(0, 7, 0, 0), 'BAD_VERSION'],
    ['a v5 datagram cut short', v5.subarray(0, 100), 'TRUNCATED'],
    ['a v5 header claiming 31 records', Uint8Array.from([...v5.subarray(0, 2), 0, 31, ...v5.subarray(4)]), 'BAD_LENGTH'],
    ['an IPFIX message longer than its datagram', ipfix.subarray(0, ipfix.length - 1), 'TRUNCATED'],
    ['an IPFIX length below the header', Uint8Array.from([0, 10, 0, 8, ...ipfix.subarray(4)]), 'BAD_LENGTH'],
  ])('rejects %s with %s and decodes nothing', (_label, bytes, code) => {
    const decoder = createFlowDecoder();
    const batch = createFlowBatch(64);
    const r = decoder.decode(bytes, '192.0.2.9', 0, batch);
    expect(r.error).toBe(code);
    expect(batch.length).toBe(0);
    expect(decoder.stats().exporters['192.0.2.9']?.errors[code as 'TRUNCATED']).toBe(1);
    expect(decoder.stats().templates).toBe(0);
  });

  it('rejects a set whose length runs past the message without learning anything from it', () => {
    const bytes = ipfix.slice();
    bytes[16 + 2] = 0xff; // the first set's length
    const decoder = createFlowDecoder();
    expect(decoder.decode(bytes, '192.0.2.9', 0, createFlowBatch(8)).error).toBe('TRUNCATED');
    expect(decoder.stats().templates).toBe(0);
  });

  it('stops appending and says so when the batch is full', () => {
    const decoder = createFlowDecoder();
    const batch = createFlowBatch(10);
    const r = decoder.decode(v5, '192.0.2.9', 0, batch);
    expect(r).toMatchObject({ flows: 10, error: 'BATCH_FULL' });
  });

  it('refuses exporters beyond the limit and counts them', () => {
    const decoder = createFlowDecoder({ maxExporters: 1 });
    const batch = createFlowBatch(64);
    decoder.decode(v5, '192.0.2.1', 0, batch);
    expect(decoder.decode(v5, '192.0.2.2', 0, batch).error).toBe('EXPORTER_LIMIT');
    expect(decoder.stats().totals.errors.EXPORTER_LIMIT).toBe(1);
    expect(Object.keys(decoder.stats().exporters)).toEqual(['192.0.2.1']);
  });
});
