/**
 * @module A NetFlow v5 load generator for bench/collector, run as its own process:
 * `node --conditions=source --import tsx bench/flowgen.ts --port P --rate FLOWS_PER_S --flows N [--host 127.0.0.1] [--traffic ingest --base-ms T]`.
 * Sends pre-encoded 30-flow datagrams (1464 bytes) with correct sequence numbers at the target rate (paced per
 * millisecond, so bursts are ≤ rate/1000 flows when the timer is on time), loopback only,
 * bounded by --flows and a time limit, then prints one JSON line: {sentFlows, sentDatagrams, seconds, rate}.
 */
import { createSocket } from 'node:dgram';
import { encodeNetflowV5, type FlowRecord } from '#modules/collection/index.js';
import { ingestRing } from './ingest-traffic.js';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`missing --${name}`);
  return v;
}

const host = arg('host', '127.0.0.1');
if (host !== '127.0.0.1' && host !== '::1') throw new Error('flowgen sends to loopback only');
const port = Number(arg('port'));
const rate = Number(arg('rate'));
const flows = Number(arg('flows'));
const limitS = Number(arg('limit', '60'));
const PER = 30;
const RING = 4096;
const MAX_IN_FLIGHT = 2048;

// `--traffic ingest --base-ms T`: bench/ingest's ring of 4,096 distinct datagrams (domestic hosts calling a foreign block,
// bench/ingest-traffic.ts). Otherwise one template datagram of 30 distinct flows; copies in a ring get their own sequence numbers.
const now = Date.now();
let ring: Buffer[];
if (arg('traffic', 'template') === 'ingest') {
  ring = ingestRing(Number(arg('base-ms'))).datagrams.map((d) => Buffer.from(d));
} else {
  const base: FlowRecord = { start: now - 2000, end: now - 1000, srcAddr: '198.51.100.1', dstAddr: '203.0.113.1', srcPort: 1024, dstPort: 443, proto: 6, tcpFlags: 0x1b, bytes: 1500, packets: 3, samplingRate: 1, inIf: 1, outIf: 2, exporter: '' };
  const records = Array.from({ length: PER }, (_, i) => ({ ...base, srcAddr: `198.51.100.${i + 1}`, srcPort: 1024 + i }));
  const template = encodeNetflowV5(records, { exportTimeMs: now, sequence: 0 }).datagrams[0]!;
  ring = Array.from({ length: RING }, () => Buffer.from(template));
}

const socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', sendBufferSize: 8 << 20 });
const total = Math.ceil(flows / PER);
let sent = 0;
let done = 0;
let inFlight = 0;
let started = process.hrtime.bigint();
const elapsedS = (): number => Number(process.hrtime.bigint() - started) / 1e9;

function finish(): void {
  const seconds = elapsedS();
  process.stdout.write(`${JSON.stringify({ sentFlows: done * PER, sentDatagrams: done, seconds, rate: (done * PER) / seconds })}\n`);
  socket.close();
}

function pump(): void {
  // Paced: send what the target rate allows by now, never more than MAX_IN_FLIGHT unacknowledged sends.
  const due = Math.min(total, Math.floor((elapsedS() * rate) / PER));
  while (sent < due && inFlight < MAX_IN_FLIGHT) {
    const b = ring[sent % RING]!;
    b.writeUInt32BE((sent * PER) >>> 0, 16);
    inFlight++;
    sent++;
    socket.send(b, () => {
      inFlight--;
      done++;
      if (done === total) finish();
    });
  }
  // Ahead of the schedule: sleep a millisecond instead of spinning, which would take a whole CPU from the
  // receivers on a 2-CPU machine; behind it (the send window is full): come back right after the callbacks.
  if (sent < total && elapsedS() < limitS) {
    if (sent < due) setImmediate(pump);
    else setTimeout(pump, 1);
  } else if (sent < total) {
    // Time limit: report what went out.
    const wait = (): void => { if (inFlight === 0) finish(); else setImmediate(wait); };
    wait();
  }
}
// A connected socket skips the per-send address lookup.
socket.connect(port, host, () => {
  started = process.hrtime.bigint();
  pump();
});
