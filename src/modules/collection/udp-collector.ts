/** @module The UDP collector component: listens for NetFlow v5, v9 and IPFIX datagrams, decodes them into batches for a FlowSink and counts per exporter. */
import { readFileSync } from 'node:fs';
import { AppError } from '#platform/errors/index.js';
import { createFlowBatch, type FlowBatch } from './flow-batch.js';
import { DECODE_ERROR_CODES, createFlowDecoder, type ExporterCounters, type FlowDecoderStats } from './flow-decoder/index.js';
import { RING_CONTROL_BYTES, RING_DROPPED, RING_READ, RING_RECORD_HEADER, RING_SLEEPING, RING_WRAP, RING_WRITE, ReceiverBindError, startReceiver, type Receiver, type ReceiverKind } from './receive-thread.js';

/** Where decoded flows go: the lead wires this to lawful selection. A batch belongs to the sink until `write` returns (or its promise settles). */
export interface FlowSink {
  write(batch: FlowBatch): void | Promise<void>;
}

/** A sink that only counts what it was given (for `mamori collect`, the demo and tests). */
export interface CountingSink extends FlowSink {
  readonly flows: number;
  readonly batches: number;
}

/** Creates a sink that counts flows and batches and keeps nothing. */
export function createCountingSink(): CountingSink {
  let flows = 0;
  let batches = 0;
  return {
    write(batch: FlowBatch): void {
      flows += batch.length;
      batches++;
    },
    get flows() { return flows; },
    get batches() { return batches; },
  };
}

/** A sink that discards everything: for benchmarks of the receive path alone. */
export const nullSink: FlowSink = { write: () => undefined };

/** One UDP listen address. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** Configuration of the collector (the `collector` section of the configuration has this shape). */
export interface UdpCollectorConfig {
  listeners: readonly ListenAddress[];
  /** SO_RCVBUF to ask for; the kernel caps it at net.core.rmem_max (and Linux doubles what it grants). */
  receiveBufferBytes: number;
  batchSize: number;
  flushIntervalMs: number;
  templateTimeoutSeconds: number;
  pendingTimeoutSeconds?: number;
  exporterIdleSeconds?: number;
  maxExporters?: number;
  /** Bytes of the ring between the receive thread and the decoder (default 128 MiB, `collector.receiveRingBytes`): absorbs pauses of the main thread. */
  receiveRingBytes?: number;
  /** The receive thread: `native` (recvmmsg addon, native/udp-recv), `js` (worker thread), `auto` (default: native when its addon loads). */
  receiver?: ReceiverKind;
  /** Path of the native receiver addon (default: the build output of `npm run build:native`). */
  nativeReceiverPath?: string;
}

/** The part of a metrics registry the collector uses (MetricsRegistry from #platform/metrics fits). */
export interface CollectorMetrics {
  collect(name: string, help: string, type: 'counter' | 'gauge', fn: () => { labels: Record<string, string>; value: number }[]): void;
}

/** The part of a logger the collector uses (a pino logger fits). */
export interface CollectorLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Dependencies of the collector. */
export interface UdpCollectorDeps {
  sink: FlowSink;
  metrics?: CollectorMetrics;
  clock: { nowMs(): number };
  logger?: CollectorLogger;
  /** Sees (a copy of) every datagram before it is decoded (to capture what an exporter sent, e.g. in interop tests). */
  tap?: (datagram: Uint8Array, exporterAddr: string, exporterPort: number, receivedAtMs: number) => void;
}

/** A bound listener and what the kernel granted it. */
export interface BoundListener {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
  /** SO_RCVBUF as the kernel reports it (Linux reports double the granted size, which is what it may use). */
  receiveBufferBytes: number;
  /** Datagrams the kernel dropped on this socket because its buffer was full (Linux /proc/net/udp*), if readable. */
  kernelDrops: number | undefined;
}

/** Statistics of the collector: the decoder's per-exporter counters and the receive path's own. */
export interface UdpCollectorStats extends FlowDecoderStats {
  listeners: BoundListener[];
  /** Flows handed to the sink. */
  flowsWritten: number;
  /** Flows dropped because the sink was still busy with earlier batches (an asynchronous sink that falls behind). */
  sinkDroppedFlows: number;
  sinkErrors: number;
  socketErrors: number;
  /** Datagrams received but dropped because the ring to the decoder was full (the main thread fell behind for long). */
  ringDroppedDatagrams: number;
  /** The receiver that runs (`native` or `js`); undefined before start. */
  receiver: 'native' | 'js' | undefined;
}

/** The running collector component (`start`/`stop` as `startServer` expects). */
export interface UdpCollector {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): UdpCollectorStats;
  /** Hands the current partial batch to the sink now. */
  flush(): Promise<void>;
}

// Asynchronous sinks may hold this many batches at once before new flows are dropped (and counted).
const MAX_BATCHES_IN_FLIGHT = 8;
// Room above batchSize for the flows of the largest possible datagram (≥ 8 bytes per flow in 65,507 bytes),
// so the decoder never drops flows as BATCH_FULL.
const DATAGRAM_HEADROOM = 8192;
// bench/ingest lost 2 % at a 32 MiB ring (≈ 0.67 s of a 1 M flows/s v5 stream) over 15 s, two cores shared with the exporter.
const DEFAULT_RING_BYTES = 128 * 1024 * 1024;
// Datagrams decoded per turn of the event loop before it yields to timers, I/O and the promises of later
// stages (the detectors take their batches there): ~30k flows, so what waits for them stays small.
const DRAIN_BUDGET = 1024;
// While datagrams come the decoder looks at the ring every POLL_MS (a wakeup per datagram would cost more
// CPU than the decoding; 5 ms at 2 M flows/s is ~0.5 MiB of ring), and after IDLE_POLLS empty looks it
// sleeps until the receive thread wakes it.
const POLL_MS = 5;
const IDLE_POLLS = 20;

/**
 * Creates the UDP collector: one or more UDP sockets (IPv4 or IPv6), each taking NetFlow v5, v9 and IPFIX
 * alike, owned by a receive thread (native recvmmsg or a worker thread) that copies datagrams into a shared
 * ring (receive-thread.ts);
 * the main thread decodes from the ring into columnar batches handed to `deps.sink` when full or every
 * `flushIntervalMs`.
 * @see RFC 7011 §10.3 (IPFIX over UDP), RFC 3954 §1 (v9 transport)
 */
export function createUdpCollector(config: UdpCollectorConfig, deps: UdpCollectorDeps): UdpCollector {
  const decoder = createFlowDecoder({
    templateTimeoutMs: config.templateTimeoutSeconds * 1000,
    ...(config.pendingTimeoutSeconds !== undefined ? { pendingTimeoutMs: config.pendingTimeoutSeconds * 1000 } : {}),
    ...(config.exporterIdleSeconds !== undefined ? { exporterIdleMs: config.exporterIdleSeconds * 1000 } : {}),
    ...(config.maxExporters !== undefined ? { maxExporters: config.maxExporters } : {}),
  });
  const capacity = config.batchSize + DATAGRAM_HEADROOM;
  const free: FlowBatch[] = [];
  let batch = createFlowBatch(capacity);
  let inFlight = 0;
  let flowsWritten = 0;
  let sinkDroppedFlows = 0;
  let sinkErrors = 0;
  let socketErrors = 0;
  let ringDroppedDatagrams = 0;
  let receiver: Receiver | undefined;
  let receiverKind: 'native' | 'js' | undefined;
  const none = new SharedArrayBuffer(0);
  let ctl = new Int32Array(none);
  let data = new Uint8Array(none);
  let view = new DataView(none);
  let readAt = 0;
  let exporterAddr = '';
  let pollTimer: ReturnType<typeof setTimeout> | undefined;
  let idlePolls = 0;
  let sleeping = false;
  let bound: BoundListener[] = [];
  let flushTimer: ReturnType<typeof setInterval> | undefined;
  let expireTimer: ReturnType<typeof setInterval> | undefined;
  let running = false;
  const pending = new Set<Promise<void>>();

  function takeBatch(): FlowBatch {
    const b = free.pop() ?? createFlowBatch(capacity);
    b.length = 0;
    b.exporters.length = 0;
    return b;
  }

  function handOff(): void {
    if (batch.length === 0) return;
    const full = batch;
    if (inFlight >= MAX_BATCHES_IN_FLIGHT) {
      sinkDroppedFlows += full.length;
      full.length = 0;
      full.exporters.length = 0;
      return;
    }
    batch = takeBatch();
    const n = full.length;
    let r: void | Promise<void>;
    try {
      r = deps.sink.write(full);
    } catch (e) {
      sinkErrors++;
      deps.logger?.warn({ err: e }, 'flow sink failed; batch dropped');
      free.push(full);
      return;
    }
    if (r === undefined || typeof (r as Promise<void>).then !== 'function') {
      flowsWritten += n;
      free.push(full);
      return;
    }
    inFlight++;
    const p: Promise<void> = (r as Promise<void>).then(
      () => { flowsWritten += n; },
      (e: unknown) => { sinkErrors++; deps.logger?.warn({ err: e }, 'flow sink failed; batch dropped'); },
    ).finally(() => { inFlight--; free.push(full); pending.delete(p); });
    pending.add(p);
  }

  // Decodes what the receive thread put in the ring, up to `budget` datagrams; returns how many it took.
  function drain(budget: number): number {
    const write = Atomics.load(ctl, RING_WRITE);
    if (readAt === write) return 0;
    const now = deps.clock.nowMs();
    const size = data.length;
    let r = readAt;
    let n = 0;
    while (r !== write && n < budget) {
      const len = view.getUint32(r, true);
      if (len === RING_WRAP) { r = 0; continue; }
      const dgLen = view.getUint32(r + 4, true);
      const port = view.getUint16(r + 8, true);
      const addrLen = data[r + 10]!;
      if (addrLen > 0) {
        const a = String.fromCharCode(...data.subarray(r + RING_RECORD_HEADER, r + RING_RECORD_HEADER + addrLen));
        // Dual-stack sockets report IPv4 exporters as ::ffff:a.b.c.d; count them under their IPv4 address.
        exporterAddr = a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
      }
      const start = r + RING_RECORD_HEADER + addrLen;
      const datagram = data.subarray(start, start + dgLen);
      deps.tap?.(datagram.slice(), exporterAddr, port, now);
      decoder.decode(datagram, exporterAddr, now, batch);
      if (batch.length >= config.batchSize) handOff();
      r += len;
      if (r === size) r = 0;
      n++;
      // Give the space back as we go, so the receive thread can reuse it during a long drain.
      if ((n & 255) === 0) Atomics.store(ctl, RING_READ, r);
    }
    readAt = r;
    Atomics.store(ctl, RING_READ, r);
    return n;
  }

  function takeRingDrops(): void {
    if (ctl.length > 0) ringDroppedDatagrams += Atomics.exchange(ctl, RING_DROPPED, 0);
  }

  // Polls the ring every POLL_MS while datagrams come, and sleeps in Atomics.waitAsync when the exporters are quiet.
  function poll(): void {
    pollTimer = undefined;
    if (!running) return;
    const n = drain(DRAIN_BUDGET);
    if (n === DRAIN_BUDGET) { pollTimer = setTimeout(poll, 0); return; }
    idlePolls = n > 0 ? 0 : idlePolls + 1;
    if (idlePolls < IDLE_POLLS) { pollTimer = setTimeout(poll, POLL_MS); return; }
    Atomics.store(ctl, RING_SLEEPING, 1);
    // A datagram may have arrived between the drain and the flag: look once more before sleeping.
    if (Atomics.load(ctl, RING_WRITE) !== readAt) {
      Atomics.store(ctl, RING_SLEEPING, 0);
      idlePolls = 0;
      pollTimer = setTimeout(poll, 0);
      return;
    }
    sleeping = true;
    const w = (Atomics as unknown as AtomicsWaitAsync).waitAsync(ctl, RING_SLEEPING, 1);
    const wake = (): void => { sleeping = false; idlePolls = 0; poll(); };
    if (w.async) void w.value.then(wake);
    else wake();
  }

  async function startThread(): Promise<BoundListener[]> {
    let r: Receiver;
    try {
      r = await startReceiver(config.receiver ?? 'auto', config.receiveRingBytes ?? DEFAULT_RING_BYTES, config.listeners, config.receiveBufferBytes, {
        socketError: (code, message) => {
          socketErrors++;
          deps.logger?.warn({ err: { code, message } }, 'flow listener socket error');
        },
        fallback: (reason) => deps.logger?.info({ reason }, 'native UDP receiver not available; the collector uses its JavaScript receive thread'),
      }, config.nativeReceiverPath);
    } catch (e) {
      if (!(e instanceof ReceiverBindError)) throw new AppError('UNAVAILABLE', `Cannot start the flow receive thread: ${(e as Error).message}.`, { cause: e });
      const l = config.listeners[e.index];
      throw new AppError('UNAVAILABLE', `Cannot listen for flows on ${l?.host}:${l?.port}: ${e.code ?? e.message}${e.code === 'EADDRINUSE' ? ' (another collector runs there; pick another port: mamori demo --flow-port, mamori collect --listen, or collector.listeners)' : ''}.`, { cause: e });
    }
    ctl = new Int32Array(r.sab, 0, RING_CONTROL_BYTES / 4);
    data = new Uint8Array(r.sab, RING_CONTROL_BYTES);
    view = new DataView(r.sab, RING_CONTROL_BYTES);
    readAt = 0;
    receiver = r;
    receiverKind = r.kind;
    return r.listeners.map((l) => ({ ...l, kernelDrops: undefined }));
  }

  function stats(): UdpCollectorStats {
    for (const l of bound) l.kernelDrops = readKernelDrops(l);
    takeRingDrops();
    return { ...decoder.stats(), listeners: bound.map((l) => ({ ...l })), flowsWritten, sinkDroppedFlows, sinkErrors, socketErrors, ringDroppedDatagrams, receiver: receiverKind };
  }

  function registerMetrics(m: CollectorMetrics): void {
    // One decoder.stats() per scrape, shared by every series rendered in that scrape.
    let cached: { at: number; s: UdpCollectorStats } | undefined;
    const snap = (): UdpCollectorStats => {
      const now = Date.now();
      if (cached === undefined || now - cached.at > 250) cached = { at: now, s: stats() };
      return cached.s;
    };
    const per = (pick: (c: ExporterCounters) => number) => () => Object.entries(snap().exporters).map(([exporter, c]) => ({ labels: { exporter }, value: pick(c) }));
    m.collect('mamori_collector_datagrams_total', 'Flow export datagrams received, by exporter address.', 'counter', per((c) => c.datagrams));
    m.collect('mamori_collector_flows_total', 'Flows decoded, by exporter address.', 'counter', per((c) => c.flows));
    m.collect('mamori_collector_lost_flows_total', 'Flows lost in transit, estimated from export sequence gaps, by exporter address.', 'counter', per((c) => c.lostFlows));
    m.collect('mamori_collector_lost_packets_total', 'NetFlow v9 export packets lost in transit (sequence gaps), by exporter address.', 'counter', per((c) => c.lostPackets));
    m.collect('mamori_collector_sequence_resets_total', 'Export sequence numbers that went backwards (exporter restart), by exporter address.', 'counter', per((c) => c.sequenceResets));
    m.collect('mamori_collector_templates_missing_total', 'Data sets dropped because their template never arrived, by exporter address.', 'counter', per((c) => c.templatesMissing));
    m.collect('mamori_collector_decode_errors_total', 'Decode problems by exporter address and reason.', 'counter', () => {
      const out: { labels: Record<string, string>; value: number }[] = [];
      const s = snap();
      for (const [exporter, c] of Object.entries(s.exporters)) {
        for (const reason of DECODE_ERROR_CODES) {
          const v = c.errors[reason];
          if (v !== undefined && v > 0) out.push({ labels: { exporter, reason }, value: v });
        }
      }
      // Datagrams refused before an exporter was known (too many exporters) have no exporter of their own.
      const refused = s.totals.errors.EXPORTER_LIMIT ?? 0;
      if (refused > 0) out.push({ labels: { exporter: '(refused)', reason: 'EXPORTER_LIMIT' }, value: refused });
      return out;
    });
    m.collect('mamori_collector_templates', 'Templates held, across all exporters.', 'gauge', () => [{ labels: {}, value: snap().templates }]);
    m.collect('mamori_collector_pending_bytes', 'Bytes of data sets waiting for their template.', 'gauge', () => [{ labels: {}, value: snap().pendingBytes }]);
    m.collect('mamori_collector_flows_written_total', 'Flows handed to the sink.', 'counter', () => [{ labels: {}, value: snap().flowsWritten }]);
    m.collect('mamori_collector_sink_dropped_flows_total', 'Flows dropped because the sink fell behind.', 'counter', () => [{ labels: {}, value: snap().sinkDroppedFlows }]);
    m.collect('mamori_collector_receive_buffer_bytes', 'Effective socket receive buffer (SO_RCVBUF as the kernel reports it), by listener.', 'gauge', () => snap().listeners.map((l) => ({ labels: { listener: formatListen(l.address, l.port) }, value: l.receiveBufferBytes })));
    m.collect('mamori_collector_ring_dropped_datagrams_total', 'Datagrams received but dropped because the decoder fell behind the receive thread (ring full).', 'counter', () => [{ labels: {}, value: snap().ringDroppedDatagrams }]);
    m.collect('mamori_collector_kernel_drops_total', 'Datagrams the kernel dropped on a full receive buffer, by listener (Linux).', 'counter', () => snap().listeners.filter((l) => l.kernelDrops !== undefined).map((l) => ({ labels: { listener: formatListen(l.address, l.port) }, value: l.kernelDrops ?? 0 })));
  }

  async function start(): Promise<void> {
    if (running) return;
    bound = await startThread();
    running = true;
    idlePolls = 0;
    poll();
    flushTimer = setInterval(handOff, config.flushIntervalMs);
    // Template and held-data expiry also runs on quiet collectors, whose decoder sees no datagram to sweep on.
    expireTimer = setInterval(() => decoder.expire(deps.clock.nowMs()), Math.min(10_000, config.templateTimeoutSeconds * 1000));
    flushTimer.unref();
    expireTimer.unref();
    if (deps.metrics !== undefined) registerMetrics(deps.metrics);
    for (const l of bound) {
      if (l.receiveBufferBytes < config.receiveBufferBytes) {
        deps.logger?.warn({ listener: formatListen(l.address, l.port), asked: config.receiveBufferBytes, got: l.receiveBufferBytes }, 'socket receive buffer smaller than configured: raise net.core.rmem_max');
      }
    }
    deps.logger?.info({ receiver: receiverKind, listeners: bound.map((l) => ({ listen: formatListen(l.address, l.port), receiveBufferBytes: l.receiveBufferBytes })) }, 'flow collector listening');
  }

  async function stop(): Promise<void> {
    if (!running) return;
    running = false;
    if (flushTimer !== undefined) clearInterval(flushTimer);
    if (expireTimer !== undefined) clearInterval(expireTimer);
    if (pollTimer !== undefined) clearTimeout(pollTimer);
    pollTimer = undefined;
    if (sleeping) Atomics.notify(ctl, RING_SLEEPING);
    const r = receiver;
    receiver = undefined;
    // The receiver closes its sockets; by then every datagram it received is in the ring.
    if (r !== undefined) await r.stop();
    // Flows already received are handed on before the collector reports itself stopped.
    while (drain(DRAIN_BUDGET) > 0);
    takeRingDrops();
    handOff();
    await Promise.allSettled([...pending]);
  }

  async function flush(): Promise<void> {
    if (running) while (drain(DRAIN_BUDGET) > 0);
    handOff();
    await Promise.allSettled([...pending]);
  }

  return { name: 'collector', start, stop, stats, flush };
}

// Atomics.waitAsync (ES2024; in Node since 16) is missing from the ES2022 lib this project compiles against.
interface AtomicsWaitAsync {
  waitAsync(typedArray: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
}

/** `host:port`, with brackets around an IPv6 host. */
export function formatListen(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Parses `host:port` or `[v6]:port` (as `--listen` takes it); undefined when malformed. */
export function parseListen(text: string): ListenAddress | undefined {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  if (m === null) return undefined;
  const port = Number(m[2]);
  return port <= 65535 ? { host: m[1]!, port } : undefined;
}

// Linux lists each UDP socket in /proc/net/udp{,6} with its local port (hex) and a final "drops" column.
function readKernelDrops(l: BoundListener): number | undefined {
  let text: string;
  try {
    text = readFileSync(l.family === 'IPv6' ? '/proc/net/udp6' : '/proc/net/udp', 'utf8');
  } catch {
    return undefined;
  }
  const portHex = l.port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols[1]?.endsWith(`:${portHex}`) !== true) continue;
    const drops = Number(cols[cols.length - 1]);
    return Number.isFinite(drops) ? drops : undefined;
  }
  return undefined;
}
