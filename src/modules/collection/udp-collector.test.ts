/** @module Tests of the UDP collector on loopback, with each receiver (native recvmmsg and the worker thread): all three versions on one port, counters, metrics, batching, a sink that falls behind, bind errors, the receiver choice. */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MetricsRegistry } from '#platform/metrics/index.js';
import { systemClock } from '#platform/clock/index.js';
import { type FlowBatch, type FlowRecord, readFlow } from './flow-batch.js';
import { encodeIpfix, encodeNetflowV5, encodeNetflowV9 } from './encode.js';
import { createCountingSink, createUdpCollector, parseListen, formatListen, type UdpCollector, type UdpCollectorConfig } from './udp-collector.js';

const base: FlowRecord = { start: 1_700_000_000_000, end: 1_700_000_001_000, srcAddr: '198.51.100.7', dstAddr: '203.0.113.9', srcPort: 51000, dstPort: 443, proto: 6, tcpFlags: 0x1b, bytes: 1500, packets: 3, samplingRate: 1, inIf: 3, outIf: 4, exporter: '' };

function records(n: number): FlowRecord[] {
  return Array.from({ length: n }, (_, i) => ({ ...base, srcPort: 1024 + i, start: base.start + i, end: base.end + i }));
}

let receiver: 'native' | 'js' = 'js';
function cfg(over: Partial<UdpCollectorConfig> = {}): UdpCollectorConfig {
  return { listeners: [{ host: '127.0.0.1', port: 0 }], receiveBufferBytes: 1 << 20, batchSize: 64, flushIntervalMs: 50, templateTimeoutSeconds: 1800, receiver, ...over };
}

async function send(port: number, datagrams: Uint8Array[], host = '127.0.0.1'): Promise<void> {
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  for (const d of datagrams) await new Promise<void>((resolve, reject) => s.send(d, port, host, (e) => (e ? reject(e) : resolve())));
  await new Promise<void>((resolve) => s.close(() => resolve()));
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

async function connected(port: number): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.connect(port, '127.0.0.1', resolve));
  return s;
}

// Keeps the main thread (the decoder's) busy, as a long garbage collection or a slow sink would.
function busyWait(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

const running: UdpCollector[] = [];
afterEach(async () => {
  for (const c of running.splice(0)) await c.stop();
});

async function started(config: UdpCollectorConfig, deps: Parameters<typeof createUdpCollector>[1]): Promise<UdpCollector> {
  const c = createUdpCollector(config, deps);
  running.push(c);
  await c.start();
  return c;
}

describe.each(['native', 'js'] as const)('udp collector (%s receiver)', (kind) => {
  beforeAll(() => { receiver = kind; });

  it('takes v5, v9 and IPFIX on one port, counts per exporter and hands every flow to the sink', async () => {
    const sink = createCountingSink();
    const batches: FlowBatch[] = [];
    const seen: FlowRecord[] = [];
    const c = await started(cfg(), { sink: { write: (b) => { sink.write(b); batches.push(b); for (let i = 0; i < b.length; i++) seen.push(readFlow(b, i)); } }, clock: systemClock });
    const port = c.stats().listeners[0]!.port;
    const opts = { exportTimeMs: 1_700_000_002_000, sequence: 0, domainId: 1 };
    const v5 = encodeNetflowV5(records(100), opts).datagrams;
    const v9 = encodeNetflowV9(records(50), opts).datagrams;
    const ipfix = encodeIpfix(records(70), opts).datagrams;
    await send(port, [...v5, ...v9, ...ipfix]);
    await until(() => c.stats().totals.datagrams === v5.length + v9.length + ipfix.length);
    await c.flush();
    const s = c.stats();
    expect(s.exporters['127.0.0.1']).toMatchObject({ datagrams: v5.length + v9.length + ipfix.length, flows: 220, lostFlows: 0, templatesMissing: 0 });
    expect(s.exporters['127.0.0.1']!.errors).toEqual({});
    expect(sink.flows).toBe(220);
    expect(s.flowsWritten).toBe(220);
    // Full batches go on as soon as they reach batchSize: at least three with 220 flows and batchSize 64.
    expect(batches.length).toBeGreaterThanOrEqual(3);
    expect(seen[0]).toMatchObject({ srcAddr: '198.51.100.7', dstAddr: '203.0.113.9', srcPort: 1024, dstPort: 443, proto: 6, bytes: 1500, packets: 3, exporter: '127.0.0.1/1' });
    expect(s.listeners[0]!.receiveBufferBytes).toBeGreaterThan(0);
    expect(s.receiver).toBe(kind);
    expect(s.socketErrors).toBe(0);
  });

  it('hands a partial batch on after flushIntervalMs without an explicit flush', async () => {
    const sink = createCountingSink();
    const c = await started(cfg({ batchSize: 10_000, flushIntervalMs: 20 }), { sink, clock: systemClock });
    await send(c.stats().listeners[0]!.port, encodeNetflowV5(records(5), { exportTimeMs: 1_700_000_002_000, sequence: 0 }).datagrams);
    await until(() => sink.flows === 5);
    expect(sink.flows).toBe(5);
  });

  it('counts decode errors by reason, sequence gaps as lost flows, and data without a template', async () => {
    const sink = createCountingSink();
    const c = await started(cfg(), { sink, clock: systemClock });
    const port = c.stats().listeners[0]!.port;
    const first = encodeNetflowV5(records(10), { exportTimeMs: 1_700_000_002_000, sequence: 0 });
    // Skip 25 flows of sequence: the exporter says they were sent, the collector never saw them.
    const second = encodeNetflowV5(records(10), { exportTimeMs: 1_700_000_003_000, sequence: first.nextSequence + 25 });
    const noTemplate = encodeIpfix(records(3), { exportTimeMs: 1_700_000_002_000, sequence: 0, withTemplates: false, domainId: 9 }).datagrams;
    await send(port, [...first.datagrams, ...second.datagrams, new Uint8Array([0, 7, 1, 2]), new Uint8Array([0]), ...noTemplate]);
    await until(() => c.stats().totals.datagrams === 5);
    const e = c.stats().exporters['127.0.0.1']!;
    expect(e.flows).toBe(20);
    expect(e.lostFlows).toBe(25);
    expect(e.errors).toMatchObject({ BAD_VERSION: 1, TRUNCATED: 1 });
    // Held, not yet lost: it counts as missing once the pending timeout passes.
    expect(c.stats().pendingSets).toBe(1);

    const metrics = new MetricsRegistry();
    const c2 = await started(cfg(), { sink, clock: systemClock, metrics });
    await send(c2.stats().listeners[0]!.port, [new Uint8Array([0, 7, 1, 2]), ...first.datagrams]);
    await until(() => c2.stats().totals.datagrams === 2);
    const text = metrics.render();
    expect(text).toContain('mamori_collector_datagrams_total{exporter="127.0.0.1"} 2');
    expect(text).toContain('mamori_collector_flows_total{exporter="127.0.0.1"} 10');
    expect(text).toContain('mamori_collector_decode_errors_total{exporter="127.0.0.1",reason="BAD_VERSION"} 1');
    expect(text).toMatch(/mamori_collector_receive_buffer_bytes\{listener="127\.0\.0\.1:\d+"\} \d+/);
    expect(text).toContain('# TYPE mamori_collector_lost_flows_total counter');
  });

  it('counts the flows it drops when an asynchronous sink falls behind, and never reuses a batch the sink holds', async () => {
    const held: { batch: FlowBatch; firstPort: number; release: () => void }[] = [];
    const c = await started(cfg({ batchSize: 30 }), {
      clock: systemClock,
      sink: { write: (b) => new Promise<void>((resolve) => { held.push({ batch: b, firstPort: b.srcPort[0]!, release: resolve }); }) },
    });
    const port = c.stats().listeners[0]!.port;
    await send(port, encodeNetflowV5(records(30 * 12), { exportTimeMs: 1_700_000_002_000, sequence: 0 }).datagrams);
    await until(() => c.stats().totals.datagrams === 12);
    // Eight batches may be in flight; the other four batches' flows are dropped and counted.
    expect(held).toHaveLength(8);
    expect(c.stats().sinkDroppedFlows).toBe(120);
    for (const h of held) expect(h.batch.srcPort[0]).toBe(h.firstPort);
    for (const h of held) h.release();
    await c.flush();
    expect(c.stats().flowsWritten).toBe(240);
  });

  it('hands on, when stopped, every datagram the receive thread took in while the main thread was busy', async () => {
    const sink = createCountingSink();
    const c = await started(cfg({ batchSize: 1_000_000, flushIntervalMs: 60_000 }), { sink, clock: systemClock });
    const port = c.stats().listeners[0]!.port;
    const datagrams = encodeNetflowV5(records(30 * 40), { exportTimeMs: 1_700_000_002_000, sequence: 0 }).datagrams;
    const s = await connected(port);
    // Sends on a connected loopback socket complete synchronously; the main thread then stays busy, so only the receive thread can take them.
    for (const d of datagrams) s.send(d);
    busyWait(300);
    expect(sink.flows).toBe(0);
    await c.stop();
    s.close();
    expect(sink.flows).toBe(1200);
    expect(c.stats()).toMatchObject({ flowsWritten: 1200, ringDroppedDatagrams: 0 });
  });

  it('counts datagrams dropped on a full ring, and the decoder sees the gap as lost flows', async () => {
    const sink = createCountingSink();
    const metrics = new MetricsRegistry();
    // The smallest ring (256 KiB) holds ~175 datagrams of 1,464 bytes; 400 arrive while the main thread is busy.
    const c = await started(cfg({ receiveRingBytes: 1, receiveBufferBytes: 4 << 20 }), { sink, clock: systemClock, metrics });
    const port = c.stats().listeners[0]!.port;
    const datagrams = encodeNetflowV5(records(30 * 401), { exportTimeMs: 1_700_000_002_000, sequence: 0 }).datagrams;
    const s = await connected(port);
    for (const d of datagrams.slice(0, 400)) s.send(d);
    busyWait(500);
    await until(() => c.stats().totals.datagrams + c.stats().ringDroppedDatagrams === 400);
    // One more once the ring has room again: every drop before it is a sequence gap the decoder counts.
    s.send(datagrams[400]!);
    await until(() => c.stats().totals.datagrams + c.stats().ringDroppedDatagrams === 401);
    s.close();
    const st = c.stats();
    expect(st.ringDroppedDatagrams).toBeGreaterThan(100);
    expect(st.totals.datagrams + st.ringDroppedDatagrams).toBe(401);
    expect(st.totals.lostFlows).toBe(st.ringDroppedDatagrams * 30);
    expect(metrics.render()).toContain(`mamori_collector_ring_dropped_datagrams_total ${st.ringDroppedDatagrams}`);
  });

  it('listens on IPv6 loopback too', async (ctx) => {
    const sink = createCountingSink();
    const c = createUdpCollector(cfg({ listeners: [{ host: '::1', port: 0 }] }), { sink, clock: systemClock });
    try {
      await c.start();
    } catch (e) {
      // Containers without IPv6 loopback cannot run this case.
      if (/EADDRNOTAVAIL|EAFNOSUPPORT/.test(String(e))) ctx.skip();
      throw e;
    }
    running.push(c);
    const l = c.stats().listeners[0]!;
    expect(l.family).toBe('IPv6');
    await send(l.port, encodeIpfix(records(4), { exportTimeMs: 1_700_000_002_000, sequence: 0 }).datagrams, '::1');
    await until(() => (c.stats().exporters['::1']?.flows ?? 0) === 4);
    expect(c.stats().exporters['::1']!.flows).toBe(4);
  });

  it('fails to start with a message that names the address when the port is taken', async () => {
    const a = await started(cfg(), { sink: createCountingSink(), clock: systemClock });
    const port = a.stats().listeners[0]!.port;
    const b = createUdpCollector(cfg({ listeners: [{ host: '127.0.0.1', port }] }), { sink: createCountingSink(), clock: systemClock });
    await expect(b.start()).rejects.toThrow(`Cannot listen for flows on 127.0.0.1:${port}: EADDRINUSE`);
    await expect(createUdpCollector(cfg({ listeners: [{ host: '192.0.2.1', port: 0 }] }), { sink: createCountingSink(), clock: systemClock }).start()).rejects.toThrow(/Cannot listen for flows on 192\.0\.2\.1:0/);
  });
});

describe('udp collector', () => {
  it('parses and formats listen addresses', () => {
    expect(parseListen('127.0.0.1:2055')).toEqual({ host: '127.0.0.1', port: 2055 });
    expect(parseListen('[::1]:4739')).toEqual({ host: '::1', port: 4739 });
    expect(parseListen('::1:4739')).toBeUndefined();
    expect(parseListen('127.0.0.1:70000')).toBeUndefined();
    expect(parseListen('localhost')).toBeUndefined();
    expect(formatListen('::1', 4739)).toBe('[::1]:4739');
  });
});

describe('udp collector receiver choice', () => {
  const missing = '/nonexistent/udp_recv.node';

  it('uses the native receiver under auto when its addon loads, and binds host names as node:dgram would', async () => {
    const c = await started(cfg({ receiver: 'auto', listeners: [{ host: 'localhost', port: 0 }] }), { sink: createCountingSink(), clock: systemClock });
    expect(c.stats().receiver).toBe('native');
    expect(c.stats().listeners[0]!.address).toBe('127.0.0.1');
  });

  it('fails loudly when native is asked for and the addon is missing, while auto falls back to the worker thread and says so once', async () => {
    await expect(createUdpCollector(cfg({ receiver: 'native', nativeReceiverPath: missing }), { sink: createCountingSink(), clock: systemClock }).start())
      .rejects.toThrow(/collector\.receiver is native but the native UDP receiver is not available: cannot load \/nonexistent\/udp_recv\.node \(build it with npm run build:native\)/);
    const infos: string[] = [];
    const logger = { info: (_o: object, msg: string) => { infos.push(msg); }, warn: () => undefined };
    const sink = createCountingSink();
    const c = await started(cfg({ receiver: 'auto', nativeReceiverPath: missing }), { sink, clock: systemClock, logger });
    expect(c.stats().receiver).toBe('js');
    await send(c.stats().listeners[0]!.port, encodeNetflowV5(records(5), { exportTimeMs: 1_700_000_002_000, sequence: 0 }).datagrams);
    await until(() => c.stats().totals.flows === 5);
    expect(c.stats().totals.flows).toBe(5);
    await started(cfg({ receiver: 'auto', nativeReceiverPath: missing }), { sink, clock: systemClock, logger });
    expect(infos.filter((m) => m.includes('native UDP receiver not available'))).toHaveLength(1);
  });
});
