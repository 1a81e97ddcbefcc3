/** @module The NATS JetStream transport: R3 streams, publishes acknowledged by the stream and deduplicated by message id, durable pull consumers. */
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type ConsumerConfig, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg, type StreamConfig } from '@nats-io/jetstream';
import type { Consumption, ConsumeOptions, Delivery, DeliveryAck, DeliveryHandler, PublishAck, StreamSpec, Transport } from './types.js';

/** How to reach the cluster. */
export interface JetStreamTransportOptions {
  /** Server URLs (nats://host:port); the client moves to another when one dies. */
  servers: string[];
  /** Connection name shown by the server (e.g. `mamori-edge-osaka-1`). */
  name: string;
  /** Give up connecting the first time after this long (ms); afterwards it reconnects for ever. */
  connectTimeoutMs?: number;
  /** Waits between reconnection attempts (ms). */
  reconnectWaitMs?: number;
  /** How long stream and consumer management calls are retried while the cluster elects a leader (ms, default 20 s). */
  apiRetryMs?: number;
  /** Called when the connection is lost or back (for logs and metrics; no secrets in it). */
  onStatus?: (status: 'disconnected' | 'reconnected', server: string) => void;
  /**
   * Writes publishes without copying them into one array per flush (`writeWithoutConcatenating`): for a process that
   * publishes many large messages (an edge). A caller must then leave a payload's bytes alone until its publish settled.
   */
  gatherWrites?: boolean;
}

/**
 * Connects to NATS and returns the JetStream transport. A publish not acknowledged in time rejects (the
 * caller keeps the batch and publishes it again with the same message id: stored once).
 * @see https://docs.nats.io/using-nats/developer/develop_jetstream/model_deep_dive#message-deduplication
 */
export async function createJetStreamTransport(options: JetStreamTransportOptions): Promise<Transport> {
  const nc: NatsConnection = await connect({
    servers: options.servers,
    name: options.name,
    timeout: options.connectTimeoutMs ?? 5000,
    maxReconnectAttempts: -1,
    reconnectTimeWait: options.reconnectWaitMs ?? 500,
    waitOnFirstConnect: false,
    pingInterval: 5000,
    // No Error (and stack) made per request for async traces: an edge publishes, a worker pulls, many times a second.
    noAsyncTraces: true,
  });
  if (options.gatherWrites === true) writeWithoutConcatenating(nc);
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') options.onStatus?.('disconnected', String(s.server));
      else if (s.type === 'reconnect') options.onStatus?.('reconnected', String(s.server));
    }
  })().catch(() => undefined);
  const jsm: JetStreamManager = await jetstreamManager(nc, { timeout: 5000 });
  const js: JetStreamClient = jetstream(nc, { timeout: 5000 });
  const running = new Set<Consumption>();
  const call = <T>(what: string, fn: () => Promise<T>): Promise<T> => retryingApi(what, fn, options.apiRetryMs ?? 20_000);

  return {
    kind: 'jetstream',
    async ensureStream(spec: StreamSpec) {
      const cfg: Partial<StreamConfig> & { name: string } = {
        name: spec.name, subjects: spec.subjects, num_replicas: spec.replicas, max_age: nanos(spec.maxAgeMs),
        duplicate_window: nanos(spec.duplicateWindowMs), storage: StorageType.File, retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old, max_bytes: spec.maxBytes ?? -1,
      };
      await call(`stream ${spec.name}`, async () => {
        try {
          await jsm.streams.info(spec.name);
        } catch (e) {
          if (!/stream not found/i.test((e as Error).message)) throw e;
          await jsm.streams.add(cfg);
          return;
        }
        await jsm.streams.update(spec.name, cfg);
      });
    },
    async publish(subject, data, opts): Promise<PublishAck> {
      const pa = await js.publish(subject, data, { msgID: opts.msgId, timeout: opts.timeoutMs ?? 5000 });
      return { seq: pa.seq, duplicate: pa.duplicate };
    },
    async consume(stream, opts: ConsumeOptions, handler: DeliveryHandler): Promise<Consumption> {
      const from = opts.deliverFrom ?? { kind: 'all' };
      const cfg: Partial<ConsumerConfig> = {
        ack_policy: AckPolicy.Explicit, filter_subject: opts.filterSubject, ack_wait: nanos(opts.ackWaitMs ?? 30_000),
        max_ack_pending: opts.maxAckPending ?? 64,
        deliver_policy: from.kind === 'all' ? DeliverPolicy.All : from.kind === 'new' ? DeliverPolicy.New : DeliverPolicy.StartTime,
        ...(from.kind === 'time' ? { opt_start_time: new Date(from.atMs).toISOString() } : {}),
      };
      let name: string;
      if (opts.durable !== undefined) {
        name = opts.durable;
        await call(`consumer ${name}`, async () => {
          try {
            await jsm.consumers.info(stream, name);
          } catch (e) {
            if (!/consumer not found/i.test((e as Error).message)) throw e;
            await jsm.consumers.add(stream, { ...cfg, durable_name: name });
            return;
          }
          // The position stays; the settings follow the caller's (ack wait, pending limit).
          await jsm.consumers.update(stream, name, { ack_wait: cfg.ack_wait!, max_ack_pending: cfg.max_ack_pending! });
        });
      } else {
        // An ephemeral consumer the server removes a minute after its reader went away.
        const info = await call('ephemeral consumer', () => jsm.consumers.add(stream, { ...cfg, inactive_threshold: nanos(60_000) }));
        name = info.name;
      }
      const pull = { max_messages: Math.max(1, Math.min(opts.maxAckPending ?? 64, 256)) };
      let consumer = await call(`consumer ${name}`, () => js.consumers.get(stream, name));
      let messages: ConsumerMessages | undefined = await consumer.consume(pull);
      let stopped = false;
      // A pull that delivers nothing while the consumer has messages pending (seen after every server of the
      // cluster restarted) is ended, so the loop below fetches the consumer again.
      let lastActivity = Date.now();
      const watchdog = setInterval(() => {
        if (stopped || Date.now() - lastActivity < 10_000) return;
        consumer.info(false).then((info) => {
          if (!stopped && info.num_pending > 0 && Date.now() - lastActivity >= 10_000) { lastActivity = Date.now(); messages?.stop(); }
        }, () => undefined);
      }, 5000);
      watchdog.unref();
      const loop = (async (): Promise<Error | undefined> => {
        for (;;) {
          try {
            for await (const m of messages!) {
              lastActivity = Date.now();
              const settle = ackOf(nc, m);
              if (stopped) { settle.nak(); continue; }
              const msgId = m.headers?.get('Nats-Msg-Id');
              const d: Delivery = {
                subject: m.subject, data: m.data, seq: m.seq, ...(msgId !== undefined && msgId !== '' ? { msgId } : {}), storedAtMs: Math.floor(Number(m.info.timestampNanos) / 1e6),
                deliveryCount: m.info.deliveryCount, pending: m.info.pending, ack: settle.ack, nak: settle.nak, ackHandle: settle,
              };
              try {
                await handler(d);
              } catch {
                settle.nak(1000);
              }
            }
          } catch {
            // Ended by an error: handled below like any end that was not asked for.
          }
          if (stopped) return undefined;
          // The pull ended without stop (the servers went away, or the consumer's leader moved): a durable
          // consumer is fetched again until it answers; an ephemeral one may be gone for good.
          await new Promise((r) => setTimeout(r, 1000));
          if (stopped) return undefined;
          try {
            consumer = await js.consumers.get(stream, name);
            messages = await consumer.consume(pull);
            if (stopped) { messages.stop(); return undefined; }
          } catch (e) {
            if (opts.durable === undefined && /consumer not found/i.test((e as Error).message)) return e as Error;
          }
        }
      })();
      const c: Consumption = {
        async stop() {
          stopped = true;
          clearInterval(watchdog);
          messages?.stop();
          messages = undefined;
          await loop;
          running.delete(c);
        },
        closed: loop,
        async unfinished() {
          const info = await consumer.info(false);
          return info.num_pending + info.num_ack_pending;
        },
      };
      running.add(c);
      return c;
    },
    async ackFloor(stream, durable) {
      try {
        return (await jsm.consumers.info(stream, durable)).ack_floor.stream_seq;
      } catch (e) {
        if (/consumer not found/i.test((e as Error).message)) return 0;
        throw e;
      }
    },
    async deleteConsumer(stream, durable) {
      try {
        await jsm.consumers.delete(stream, durable);
      } catch (e) {
        if (!/consumer not found/i.test((e as Error).message)) throw e;
      }
    },
    async streamMessages(stream) {
      return (await jsm.streams.info(stream)).state.messages;
    },
    async close() {
      await Promise.all([...running].map((c) => c.stop()));
      await nc.drain().catch(() => nc.close());
    },
  };
}

/**
 * The ack and nak of one JetStream delivery: a publish to its reply subject, as the client's `JsMsg.ack()` does, holding the
 * subject (~100 bytes) and not the message, so a consumer that acknowledges later need not keep the payload. A client whose
 * messages do not show their reply subject (`reply`: untyped in @nats-io/jetstream 3.x) gets the message's own ack and nak.
 * @see https://docs.nats.io/using-nats/developer/develop_jetstream/model_deep_dive#acknowledgement-models
 */
function ackOf(nc: NatsConnection, m: JsMsg): DeliveryAck {
  const reply = (m as JsMsg & { readonly reply?: unknown }).reply;
  return typeof reply === 'string' && reply.startsWith('$JS.ACK.') ? replyAck(nc, reply) : messageAck(m);
}

/** The message's own ack and nak (in a function of their own: the closures of `replyAck` must not share a scope holding `m`). */
function messageAck(m: JsMsg): DeliveryAck {
  return { ack: () => m.ack(), nak: (delayMs) => m.nak(delayMs) };
}

const ACK = new TextEncoder().encode('+ACK');
const NAK = new TextEncoder().encode('-NAK');

/** Acks or naks by a publish to `reply`; only the first call is sent. */
function replyAck(nc: NatsConnection, reply: string): DeliveryAck {
  let settled = false;
  const send = (payload: Uint8Array): void => {
    if (settled) return;
    settled = true;
    try {
      nc.publish(reply, payload);
    } catch {
      // The connection closed: as an ack lost on the way, the message comes again after its ack wait.
    }
  };
  return {
    ack: () => send(ACK),
    nak: (delayMs) => send(delayMs !== undefined && delayMs > 0 ? new TextEncoder().encode(`-NAK ${JSON.stringify({ delay: nanos(delayMs) })}`) : NAK),
  };
}

/** The parts of nats-core's protocol handler (3.x) that `writeWithoutConcatenating` replaces and uses. */
interface ProtocolInternals {
  infoReceived: boolean;
  connected: boolean;
  outbound: { buffers: Uint8Array[]; byteLength: number };
  transport: { socket?: { cork(): void; uncork(): void }; send(frame: Uint8Array): void };
  flushPending(): void;
}

/**
 * Makes the client write what it queued (a publish is its protocol line, headers, payload and CRLF) as one gathered
 * write of those arrays, instead of first copying them into one new array per flush: at an edge's rate those copies
 * were megabytes a second of new external memory, answered by V8 with a full collection every second or so.
 * Returns whether the client had the expected shape (else it keeps its own way; nothing else changes).
 */
export function writeWithoutConcatenating(nc: NatsConnection): boolean {
  const p = (nc as unknown as { protocol?: ProtocolInternals }).protocol;
  if (p === undefined || typeof p.flushPending !== 'function' || !Array.isArray(p.outbound?.buffers) || typeof p.outbound.byteLength !== 'number') return false;
  p.flushPending = function flushPending(this: ProtocolInternals): void {
    if (!this.infoReceived || !this.connected || this.outbound.byteLength === 0) return;
    const frames = this.outbound.buffers.splice(0);
    this.outbound.byteLength = 0;
    const t = this.transport;
    const socket = t.socket;
    // Corked, the socket hands the arrays to one writev; each is held (not copied) until written.
    socket?.cork();
    for (const f of frames) if (f.length > 0) t.send(f);
    socket?.uncork();
  };
  return true;
}

/** Retries a management call that timed out or found no responder (a leader election after a node died), up to `forMs`. */
async function retryingApi<T>(what: string, fn: () => Promise<T>, forMs: number): Promise<T> {
  const end = Date.now() + forMs;
  for (let wait = 100; ; wait = Math.min(2000, wait * 2)) {
    try {
      return await fn();
    } catch (e) {
      const transient = /timeout|no responders|503|leader|not available|insufficient resources/i.test(`${(e as Error).name} ${(e as Error).message}`);
      if (!transient || Date.now() + wait > end) throw new Error(`JetStream ${what}: ${(e as Error).message}`, { cause: e });
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
