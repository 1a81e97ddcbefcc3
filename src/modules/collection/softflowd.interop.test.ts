/**
 * @module Interop with a real exporter: Debian's softflowd exports each capture of ../shared/testdata/pcaps as
 * NetFlow v5, v9 and IPFIX to the UDP collector on loopback; counts are checked against softflowd's own report
 * and every flow against tshark's decode of the very datagrams the collector received.
 *
 * How the counts are compared, for each capture and version:
 *  1. softflowd (`-r FILE -n 127.0.0.1:PORT -v V -A milli -d`) ends with "Flows exported: F (R records) in P
 *     packets (E failures)". softflowd tracks a flow in both directions and exports one record per direction,
 *     so R (records), not F, is the number of flow records on the wire.
 *  2. The collector must then have received exactly P datagrams from 127.0.0.1 and decoded exactly R flows,
 *     with no decode error, no template missing and no sequence loss; its sink must have been handed R flows.
 *  3. The collector's tap keeps each datagram as received; they are written to a pcap and decoded by tshark
 *     (`-d udp.port==PORT,cflow`). tshark must find R flow records too, and each record's addresses, ports,
 *     protocol, packets, octets and TCP flags (and, for IPFIX, start and end times) must equal mamori's flow
 *     at the same position.
 * Needs softflowd and tshark (apt-get install -y softflowd tshark); fails, never skips, when they are missing.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readFlow, type FlowRecord } from './flow-batch.js';
import { createUdpCollector } from './udp-collector.js';

const run = promisify(execFile);
const PCAPS = new URL('../../../../shared/testdata/pcaps/', import.meta.url).pathname;
const captures = readdirSync(PCAPS).filter((f) => f.endsWith('.pcap')).sort();

function findTool(name: string): string | undefined {
  return ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/bin', '/usr/local/sbin'].map((d) => join(d, name)).find((p) => existsSync(p));
}

function requireTool(name: string, pkg: string): string {
  const p = findTool(name);
  if (p === undefined) throw new Error(`${name} is not installed; this interop test needs it: apt-get install -y ${pkg}`);
  return p;
}

/** A classic pcap (LINKTYPE_RAW) of the datagrams as they arrived, for tshark. */
function writeCapture(path: string, datagrams: readonly { data: Uint8Array; srcPort: number }[], dstPort: number): void {
  const parts: Buffer[] = [];
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0); gh.writeUInt16LE(2, 4); gh.writeUInt16LE(4, 6); gh.writeUInt32LE(262144, 16); gh.writeUInt32LE(101, 20);
  parts.push(gh);
  for (const [i, d] of datagrams.entries()) {
    const ip = Buffer.alloc(28);
    ip[0] = 0x45; ip.writeUInt16BE(28 + d.data.length, 2); ip[8] = 64; ip[9] = 17;
    ip.set([127, 0, 0, 1], 12); ip.set([127, 0, 0, 1], 16);
    ip.writeUInt16BE(d.srcPort, 20); ip.writeUInt16BE(dstPort, 22); ip.writeUInt16BE(8 + d.data.length, 24);
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(1_700_000_000 + i, 0); rh.writeUInt32LE(28 + d.data.length, 8); rh.writeUInt32LE(28 + d.data.length, 12);
    parts.push(rh, ip, Buffer.from(d.data));
  }
  writeFileSync(path, Buffer.concat(parts));
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** tshark's absolute time text, "Feb 13, 2024 14:34:39.082000000 UTC", in ms since the epoch. */
function tsharkTime(text: string): number {
  const m = /^(\w{3})\s+(\d+), (\d{4}) (\d\d):(\d\d):(\d\d)\.(\d+) UTC$/.exec(text.trim());
  if (m === null) return NaN;
  return Date.UTC(Number(m[3]), MONTHS.indexOf(m[1]!), Number(m[2]), Number(m[4]), Number(m[5]), Number(m[6])) + Number(`0.${m[7]}`) * 1000;
}

interface TsharkFlow {
  srcAddr: string; dstAddr: string; srcPort: number; dstPort: number; proto: number; packets: number; bytes: number; tcpFlags: number; start: number; end: number;
}

type Json = Record<string, unknown>;

function flowOf(f: Json): TsharkFlow | undefined {
  const src = f['cflow.srcaddr'] ?? f['cflow.srcaddrv6'];
  if (typeof src !== 'string') return undefined;
  const n = (k: string): number => (typeof f[k] === 'string' ? Number(f[k]) : 0);
  const times = (f['cflow.timedelta_tree'] ?? {}) as Json;
  return {
    srcAddr: src, dstAddr: String(f['cflow.dstaddr'] ?? f['cflow.dstaddrv6']), srcPort: n('cflow.srcport'),
    // ICMP type and code travel in their own element (IPFIX 32/139); mamori, like v5 exporters, puts type*256+code in the destination port.
    dstPort: f['cflow.icmp_type_code_ipv4'] !== undefined ? n('cflow.icmp_type_code_ipv4') : f['cflow.icmp_ipv6_type'] !== undefined ? n('cflow.icmp_ipv6_type') * 256 + n('cflow.icmp_ipv6_code') : n('cflow.dstport'),
    proto: n('cflow.protocol'),
    packets: n('cflow.packets'), bytes: n('cflow.octets'), tcpFlags: n('cflow.tcpflags'),
    start: tsharkTime(String(times['cflow.abstimestart'] ?? '')), end: tsharkTime(String(times['cflow.abstimeend'] ?? '')),
  };
}

/** Flow records as tshark decodes them, in wire order: v5 "pdu i/n" objects, v9/IPFIX "Set …" objects holding "Flow i". */
async function tsharkFlows(tshark: string, file: string, port: number): Promise<TsharkFlow[]> {
  const { stdout } = await run(tshark, ['-r', file, '-d', `udp.port==${port},cflow`, '-T', 'json'], { maxBuffer: 512 << 20 });
  const out: TsharkFlow[] = [];
  for (const frame of JSON.parse(stdout) as { _source: { layers: { cflow?: Json } } }[]) {
    const cflow = frame._source.layers.cflow;
    if (cflow === undefined) throw new Error(`${file}: tshark did not decode a frame as cflow`);
    for (const [key, value] of Object.entries(cflow)) {
      if (key.startsWith('pdu ')) {
        const f = flowOf(value as Json);
        if (f !== undefined) out.push(f);
      } else if (key.startsWith('Set ') || key.startsWith('FlowSet ')) {
        for (const [k, v] of Object.entries(value as Json)) {
          if (!k.startsWith('Flow ')) continue;
          const f = flowOf(v as Json);
          if (f !== undefined) out.push(f);
        }
      }
    }
  }
  return out;
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

describe('interop with softflowd (Debian) and tshark', () => {
  it('has softflowd and tshark installed (install them in CI: apt-get install -y softflowd tshark)', () => {
    expect(findTool('softflowd'), 'softflowd missing: apt-get install -y softflowd').toBeDefined();
    expect(findTool('tshark'), 'tshark missing: apt-get install -y tshark').toBeDefined();
    expect(captures).toHaveLength(5);
  });

  for (const capture of captures) {
    for (const version of [5, 9, 10] as const) {
      it(`${capture} exported as ${version === 10 ? 'IPFIX' : `NetFlow v${version}`}: every record softflowd sent is counted and matches tshark`, async () => {
        const softflowd = requireTool('softflowd', 'softflowd');
        const tshark = requireTool('tshark', 'tshark');
        const dir = mkdtempSync(join(tmpdir(), 'mamori-interop-'));
        const received: { data: Uint8Array; srcPort: number }[] = [];
        const flows: FlowRecord[] = [];
        const collector = createUdpCollector(
          { listeners: [{ host: '127.0.0.1', port: 0 }], receiveBufferBytes: 8 << 20, batchSize: 1024, flushIntervalMs: 50, templateTimeoutSeconds: 1800 },
          {
            clock: { nowMs: () => Date.now() },
            sink: { write: (b) => { for (let i = 0; i < b.length; i++) flows.push(readFlow(b, i)); } },
            tap: (d, _addr, srcPort) => received.push({ data: new Uint8Array(d), srcPort }),
          },
        );
        await collector.start();
        try {
          const port = collector.stats().listeners[0]!.port;
          // -c none: no control socket (a shared /var/run path would make parallel runs collide); -p: a private pid file.
          const { stdout, stderr } = await run(softflowd, ['-r', join(PCAPS, capture), '-n', `127.0.0.1:${port}`, '-v', String(version), '-A', 'milli', '-d', '-c', 'none', '-p', join(dir, 'softflowd.pid')], { timeout: 60_000 });
          const report = /Flows exported: (\d+) \((\d+) records\) in (\d+) packets \((\d+) failures\)/.exec(stdout + stderr);
          expect(report, `softflowd printed no export statistics:\n${stdout}${stderr}`).not.toBeNull();
          const [records, packets, failures] = [Number(report![2]), Number(report![3]), Number(report![4])];
          expect(failures).toBe(0);
          expect(records).toBeGreaterThan(0);
          await until(() => collector.stats().totals.datagrams >= packets, 10_000);
          await collector.flush();
          const s = collector.stats();
          const e = s.exporters['127.0.0.1'];
          expect(e).toBeDefined();
          expect(e!.datagrams).toBe(packets);
          expect(e!.flows).toBe(records);
          expect(e!.errors).toEqual({});
          expect({ lostFlows: e!.lostFlows, lostPackets: e!.lostPackets, templatesMissing: e!.templatesMissing, sequenceResets: e!.sequenceResets }).toEqual({ lostFlows: 0, lostPackets: 0, templatesMissing: 0, sequenceResets: 0 });
          expect(flows).toHaveLength(records);

          const file = join(dir, 'received.pcap');
          writeCapture(file, received, port);
          const expected = await tsharkFlows(tshark, file, port);
          expect(expected).toHaveLength(records);
          for (const [i, t] of expected.entries()) {
            const m = flows[i]!;
            const mine = { srcAddr: m.srcAddr, dstAddr: m.dstAddr, srcPort: m.srcPort, dstPort: m.dstPort, proto: m.proto, packets: m.packets, bytes: m.bytes, tcpFlags: m.tcpFlags };
            const theirs = { srcAddr: t.srcAddr, dstAddr: t.dstAddr, srcPort: t.srcPort, dstPort: t.dstPort, proto: t.proto, packets: t.packets, bytes: t.bytes, tcpFlags: t.tcpFlags };
            expect(mine, `flow ${i}`).toEqual(theirs);
            if (version !== 5) expect([m.start, m.end], `flow ${i} times`).toEqual([t.start, t.end]);
          }
        } finally {
          await collector.stop();
        }
      });
    }
  }
});
