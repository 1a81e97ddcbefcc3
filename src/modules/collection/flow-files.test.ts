/** @module Tests of flow-file import against the real IoT-23, Slips and CTU-Normal (Argus binetflow) files in ../shared/testdata/flows and the exporter captures, and of every reject reason. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFlow, type FlowRecord } from './flow-batch.js';
import { FlowFileError, detectFlowFileFormat, importFlowFile, splitCsvLine, type FlowOrigin } from './flow-files.js';
import { createCountingSink } from './udp-collector.js';

const flows = new URL('../../../../shared/testdata/flows/', import.meta.url).pathname;
const exporters = new URL('../../../../shared/testdata/exporters/', import.meta.url).pathname;

async function importAll(path: string, opts: Partial<Parameters<typeof importFlowFile>[1]> = {}) {
  const sink = createCountingSink();
  const rows: { flow: FlowRecord; origin: FlowOrigin }[] = [];
  let misaligned = 0;
  const summary = await importFlowFile(path, {
    sink,
    onBatch: (b, o) => {
      if (o.length !== b.length) misaligned++;
      for (let i = 0; i < b.length; i++) rows.push({ flow: readFlow(b, i), origin: o[i]! });
    },
    ...opts,
  });
  return { summary, sink, rows, misaligned };
}

function tmp(name: string, content: string | Uint8Array): string {
  const p = join(mkdtempSync(join(tmpdir(), 'mamori-flows-')), name);
  writeFileSync(p, content);
  return p;
}

describe('flow file import', () => {
  it('reads the IoT-23 Mirai CSV (CTU-Malware-Capture-44-1) with its labels kept beside the batch', async () => {
    const { summary, sink, rows, misaligned } = await importAll(join(flows, 'CTU-Malware-Capture-44-1-labeled.csv'), { batchSize: 50 });
    // SOURCES.md: 237 rows; C&C 14, C&C-FileDownload 11, DDoS 1, Benign 211.
    expect(summary).toMatchObject({ format: 'csv', records: 237, rejectedTotal: 0, labels: { Malicious: 26, Benign: 211 } });
    expect(sink.flows).toBe(summary.flows);
    expect(misaligned).toBe(0);
    const byDetail = new Map<string, Set<number>>();
    for (const r of rows) if (r.origin.detailedLabel !== undefined) (byDetail.get(r.origin.detailedLabel) ?? byDetail.set(r.origin.detailedLabel, new Set()).get(r.origin.detailedLabel)!).add(r.origin.line);
    expect(Object.fromEntries([...byDetail].map(([k, v]) => [k, v.size]))).toEqual({ 'C&C': 14, 'C&C-FileDownload': 11, DDoS: 1 });
    // Line 2: 192.168.1.199:59222 -> 46.101.251.172:80 tcp, 1.686784 s, orig 122 pkts / 7741 IP bytes, resp 122 / 178102.
    const [orig, resp] = rows.filter((r) => r.origin.line === 2);
    expect(orig!.flow).toMatchObject({ srcAddr: '192.168.1.199', srcPort: 59222, dstAddr: '46.101.251.172', dstPort: 80, proto: 6, packets: 122, bytes: 7741, start: 1547150789067.208 });
    expect(orig!.flow.end - orig!.flow.start).toBeCloseTo(1686.784, 3);
    expect(resp!.flow).toMatchObject({ srcAddr: '46.101.251.172', srcPort: 80, dstAddr: '192.168.1.199', dstPort: 59222, bytes: 178102 });
    expect(orig!.origin).toMatchObject({ label: 'Malicious', detailedLabel: 'C&C-FileDownload', uid: 'CzsY0D4B96NTr8m7ld' });
  });

  it('reads the large Hakai CSV in batches, one flow per connection with biflows: orig', async () => {
    const { summary, rows, misaligned } = await importAll(join(flows, 'CTU-Malware-Capture-8-1-labeled.csv'), { biflows: 'orig', batchSize: 1000 });
    expect(summary).toMatchObject({ records: 10403, flows: 10403, rejectedTotal: 0, labels: { Malicious: 8222, Benign: 2181 } });
    expect(misaligned).toBe(0);
    expect(new Set(rows.map((r) => r.origin.line)).size).toBe(10403);
  });

  it('reads Zeek TSV (#fields header) and Zeek JSON lines conn logs', async () => {
    const tsv = await importAll(join(flows, 'port-scans_horizontal_conn.log'), { biflows: 'orig' });
    expect(tsv.summary).toMatchObject({ format: 'zeek-tsv', records: 41, flows: 41, rejectedTotal: 0 });
    expect(tsv.rows[0]!.flow).toMatchObject({ srcAddr: '10.0.2.112', srcPort: 49168, dstAddr: '195.113.214.219', dstPort: 80, proto: 6, packets: 5, bytes: 473 });
    expect(tsv.rows[0]!.origin.line).toBe(9);
    const json = await importAll(join(flows, 'port-scans_vertical_conn.log'), { biflows: 'orig' });
    expect(json.summary).toMatchObject({ format: 'zeek-json', records: 50, flows: 50, rejectedTotal: 0 });
    expect(json.rows[0]!.flow).toMatchObject({ srcAddr: '192.168.1.9', dstAddr: '45.33.32.156', dstPort: 443, proto: 6, tcpFlags: 0x02 });
  });

  it('reads the IoT-23 labelled TSV form, whose last columns are joined by spaces', async () => {
    const p = tmp('conn.log.labeled', [
      '#separator \\x09', '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents   label   detailed-label',
      '1545403816.962094\tCrDn63WjJEmrWGjqf\t192.168.1.195\t41040\t185.244.25.235\t80\ttcp\t3.139211\t3\t180\t0\t0\t-   Malicious   C&C',
      '',
    ].join('\n'));
    const { rows } = await importAll(p);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.origin).toMatchObject({ label: 'Malicious', detailedLabel: 'C&C', line: 3 });
  });

  it('rejects bad rows by reason with their line numbers and imports the rest', async () => {
    const header = 'ts,uid,id.orig_h,id.orig_p,id.resp_h,id.resp_p,proto,duration,orig_pkts,orig_ip_bytes,resp_pkts,resp_ip_bytes,label';
    const p = tmp('bad.csv', [
      header,
      '1540469303,a,192.168.1.132,58687,216.239.35.4,123,udp,0.1,1,76,1,76,benign',
      '1540469303,b,192.168.1.999,58687,216.239.35.4,123,udp,0.1,1,76,1,76,benign',
      '1540469303,c,192.168.1.132,70000,216.239.35.4,123,udp,0.1,1,76,1,76,benign',
      '1540469303,d,192.168.1.132,1,216.239.35.4,123,gre-ish,0.1,1,76,1,76,benign',
      'yesterday,e,192.168.1.132,1,216.239.35.4,123,tcp,0.1,1,76,1,76,benign',
      '1540469303,f,192.168.1.132,1,216.239.35.4,123,tcp,0.1,many,76,1,76,benign',
      '1540469303,g,,1,216.239.35.4,123,tcp,0.1,1,76,1,76,benign',
      '1540469303,h,192.168.1.132,1',
      '1540469303,"i,j",2001:db8::1,1,2001:db8::2,0,icmp,0.1,1,76,0,0,benign',
      '1540469303,k,192.168.1.133,1,216.239.35.4,123,udp,0.1,1,76,1,76,benign',
    ].join('\n'));
    const { summary, rows } = await importAll(p, { biflows: 'orig' });
    expect(summary.records).toBe(10);
    expect(summary.flows).toBe(3);
    expect(summary.rejectedTotal).toBe(7);
    expect(summary.rejected).toEqual({
      BAD_ADDRESS: { count: 1, lines: [3] },
      BAD_PORT: { count: 1, lines: [4] },
      BAD_PROTOCOL: { count: 1, lines: [5] },
      BAD_TIME: { count: 1, lines: [6] },
      BAD_COUNT: { count: 1, lines: [7] },
      MISSING_FIELD: { count: 1, lines: [8] },
      COLUMN_COUNT: { count: 1, lines: [9] },
    });
    // A quoted comma stays in its field; ICMP over IPv6 is protocol 58.
    expect(rows[1]!.origin.uid).toBe('i,j');
    expect(rows[1]!.flow.proto).toBe(58);
    expect(rows.map((r) => r.origin.line)).toEqual([2, 10, 11]);
  });

  it('rejects TSV lines before any #fields header and JSON lines that are not objects', async () => {
    const tsv = await importAll(tmp('x.log', '#separator \\x09\n1\t2\t3\n'), { format: 'zeek-tsv' });
    expect(tsv.summary.rejected).toEqual({ NO_HEADER: { count: 1, lines: [2] } });
    const json = await importAll(tmp('x.json', '{"ts":1,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","proto":"udp"}\n[1]\n{oops\n'));
    expect(json.summary).toMatchObject({ format: 'zeek-json', records: 3, flows: 1, rejected: { BAD_JSON: { count: 2, lines: [2, 3] } } });
  });

  it('decodes pcaps of export datagrams, and counts data whose template never came', async () => {
    const v5 = await importAll(join(exporters, 'nfv5.pcap'));
    expect(v5.summary).toMatchObject({ format: 'pcap', records: 1, flows: 29, rejectedTotal: 0 });
    expect(v5.rows[0]!.flow.exporter).toBe('10.19.144.41/3');
    const alone = await importAll(join(exporters, 'data.pcap'));
    expect(alone.summary).toMatchObject({ flows: 0, rejected: { TEMPLATE_MISSING: { count: 1, lines: [1] } } });
    const both = await importAll(join(exporters, 'data+templates.pcap'));
    expect(both.summary.flows).toBe(21);
  });

  it('detects formats and refuses what it cannot read', async () => {
    expect(detectFlowFileFormat(new Uint8Array([0xd4, 0xc3, 0xb2, 0xa1]), 'x')).toBe('pcap');
    expect(detectFlowFileFormat(new TextEncoder().encode('#separator \\x09\n'), 'x')).toBe('zeek-tsv');
    expect(detectFlowFileFormat(new TextEncoder().encode('hello\n'), 'x.txt')).toBeUndefined();
    await expect(importFlowFile('/nonexistent/conn.log', { sink: createCountingSink() })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(importFlowFile(tmp('x.txt', 'hello\n'), { sink: createCountingSink() })).rejects.toBeInstanceOf(FlowFileError);
    await expect(importFlowFile(tmp('x.pcap', new Uint8Array([0xd4, 0xc3, 0xb2, 0xa1, 2, 0])), { sink: createCountingSink() })).rejects.toMatchObject({ code: 'BAD_FILE' });
    expect(splitCsvLine('a,"b,""c""",d')).toEqual(['a', 'b,"c"', 'd']);
  });
});

describe('Argus binetflow import', () => {
  it('reads the CTU workstation capture (totals only): local time shifted to UTC, TCP state as flags, ICMP type and code, ARP refused', async () => {
    // Stratosphere's CTU-Normal-2013-10-21 capture-1 (SOURCES.md): 2,398 records, 18 of them ARP.
    const { summary, rows } = await importAll(join(flows, 'CTU-Normal-2013-10-21_capture-1.binetflow'), { utcOffsetMinutes: 120 });
    expect(summary.format).toBe('binetflow');
    expect(summary.records).toBe(2398);
    expect(summary.rejected.BAD_PROTOCOL?.count).toBe(18);
    expect(summary.flows).toBe(2398 - 18); // no SrcBytes column: one flow a record, holding its totals
    const first = rows[0]!.flow; // 2013/10/21 13:22:59.340835 CEST, 3596.604980 s, PA_PA, 448 packets, 49634 bytes
    expect(first.start).toBeCloseTo(Date.UTC(2013, 9, 21, 11, 22, 59, 340) + 0.835, 3);
    expect(first.end - first.start).toBeCloseTo(3596604.98, 3);
    expect(first).toMatchObject({ srcAddr: '147.32.83.53', dstAddr: '147.32.80.88', srcPort: 60686, dstPort: 5222, proto: 6, tcpFlags: 0x18, packets: 448, bytes: 49634 });
    const icmp = rows.find((r) => r.flow.proto === 1)!.flow; // Sport 0x0303: port unreachable
    expect(icmp).toMatchObject({ srcPort: 0, dstPort: 0x0303 });
    expect(rows.filter((r) => r.flow.proto === 6 && r.flow.tcpFlags === 0x02).length).toBe(7); // the 7 "S_" states: SYN, no answer
  });

  it("splits records by SrcBytes into both directions (packets in the bytes' proportion) and keeps no payload excerpt", async () => {
    const { summary, rows } = await importAll(join(flows, 'CTU-Normal-2015-03-24_capture1-only-dns.binetflow'), { utcOffsetMinutes: 60 });
    expect(summary.records).toBe(2914);
    expect(summary.rejectedTotal).toBe(0);
    // The first record: 2 packets, 240 bytes, 76 of them from the client: one packet each way.
    expect(rows[0]!.flow).toMatchObject({ srcAddr: '10.0.0.34', dstAddr: '8.8.8.8', srcPort: 55576, dstPort: 53, proto: 17, packets: 1, bytes: 76 });
    expect(rows[1]!.flow).toMatchObject({ srcAddr: '8.8.8.8', dstAddr: '10.0.0.34', srcPort: 53, dstPort: 55576, packets: 1, bytes: 164 });
    expect(rows[0]!.flow.start).toBeCloseTo(Date.UTC(2015, 2, 24, 17, 23, 32, 619) + 0.989, 3);
    expect(JSON.stringify(rows.slice(0, 50))).not.toContain('LAQBAAAB'); // srcUdata's base64 payload
  });

  it('detects binetflow by its header, and rejects malformed rows by reason without stopping', async () => {
    const header = 'StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,SrcBytes';
    expect(detectFlowFileFormat(new TextEncoder().encode(`${header}\n`), 'x')).toBe('binetflow');
    const file = tmp('bad.binetflow', [
      header,
      '2013/10/21 13:22:59.3,1.0,tcp,192.0.2.1,40000,   ->,198.51.100.1,443,S_,0,0,1,60,60',
      'yesterday,1.0,tcp,192.0.2.1,40000,   ->,198.51.100.1,443,S_,0,0,1,60,60',
      '2013/10/21 13:23:00.0,1.0,tcp,192.0.2.1,port,   ->,198.51.100.1,443,S_,0,0,1,60,60',
      '2013/10/21 13:23:00.0,1.0,tcp,not-an-ip,40000,   ->,198.51.100.1,443,S_,0,0,1,60,60',
      '2013/10/21 13:23:00.0,1.0,tcp,192.0.2.1,40000,   ->,198.51.100.1,443,S_,0,0,1,60,90',
      '2013/10/21 13:23:00.0,1.0,tcp,192.0.2.1',
    ].join('\n'));
    const { summary, rows } = await importAll(file);
    expect(rows.map((r) => r.flow.tcpFlags)).toEqual([0x02]);
    expect(summary.rejected).toMatchObject({ BAD_TIME: { count: 1, lines: [3] }, BAD_PORT: { count: 1, lines: [4] }, BAD_ADDRESS: { count: 1, lines: [5] }, BAD_COUNT: { count: 1, lines: [6] }, COLUMN_COUNT: { count: 1, lines: [7] } });
    const noHeader = await importAll(tmp('x.binetflow', '2013/10/21 13:22:59.3,1.0,tcp,192.0.2.1,40000\n'));
    expect(noHeader.summary.rejected.NO_HEADER?.count).toBe(1);
  });
});
