/** @module The transport between pipeline stages: durable streams of messages with acknowledged, deduplicated publishing and acknowledged consumption. */

/** A stream: a durable log of messages on some subjects. */
export interface StreamSpec {
  name: string;
  /** Subjects it captures (NATS syntax: `mamori.flows.>`). */
  subjects: string[];
  /** Copies kept on distinct servers (JetStream R1/R3; the in-process transport keeps one). */
  replicas: number;
  /** Messages older than this are removed: at least the detection window, so a worker can replay it. */
  maxAgeMs: number;
  /** A publish whose message id was seen within this window is acknowledged as a duplicate and not stored again. */
  duplicateWindowMs: number;
  /** Bytes the stream may hold (oldest removed beyond it); unlimited when absent. */
  maxBytes?: number;
}

/** What the broker said about one publish. */
export interface PublishAck {
  /** The stream sequence of the message (of the first copy for a duplicate). */
  seq: number;
  /** True when the message id was already stored within the duplicate window. */
  duplicate: boolean;
}

/** Options of one publish. */
export interface PublishOptions {
  /** Message id: a retried publish with the same id is stored once. */
  msgId: string;
  /** How long to wait for the broker's acknowledgement (ms). */
  timeoutMs?: number;
}

/**
 * Settles one delivery and holds none of its data: a consumer that acknowledges later (after a durable write) keeps this,
 * not the delivery, so the message's bytes can be freed once it decoded them. The first call settles it; later calls do nothing.
 */
export interface DeliveryAck {
  ack(): void;
  /** Asks for redelivery after `delayMs` (default at once). */
  nak(delayMs?: number): void;
}

/** One delivered message; the consumer must `ack` it once handled, or it comes again. */
export interface Delivery extends DeliveryAck {
  subject: string;
  data: Uint8Array;
  /** Stream sequence. */
  seq: number;
  /**
   * The message id the publisher gave: a redelivery carries it again, and so does a second stored copy of one
   * publish (a retry the stream did not recognise, e.g. after every server restarted), under another sequence.
   */
  msgId?: string;
  /** When the stream stored it (ms since the epoch). */
  storedAtMs: number;
  /** How many times it was delivered, this one included. */
  deliveryCount: number;
  /**
   * Messages of the consumer's filter stored after this one and not delivered yet (JetStream's num_pending at
   * delivery): above 0 while the consumer works through a backlog.
   */
  pending: number;
  /** This delivery's `ack` and `nak` apart from its data: one settlement (the first call on either counts). */
  readonly ackHandle: DeliveryAck;
}

/** Where a new consumer starts. */
export type DeliverFrom = { kind: 'all' } | { kind: 'new' } | { kind: 'time'; atMs: number };

/** Options of a consumer over one filter subject (nats-server 2.9 takes one filter subject per consumer). */
export interface ConsumeOptions {
  /** Durable name: a restarted consumer with the same name resumes after its last acknowledged message. Absent: ephemeral. */
  durable?: string;
  filterSubject: string;
  deliverFrom?: DeliverFrom;
  /** A delivery not acknowledged within this time is delivered again (ms, default 30 s). */
  ackWaitMs?: number;
  /** Most unacknowledged messages at once (default 64). */
  maxAckPending?: number;
}

/** A running consumer. */
export interface Consumption {
  /** Stops delivering; a message being handled finishes first. */
  stop(): Promise<void>;
  /** Resolves when the consumer stopped for good (stop, or a failure it could not recover from). */
  readonly closed: Promise<Error | undefined>;
  /** Messages of its subject it has not finished: not yet delivered, or delivered and not acknowledged. */
  unfinished(): Promise<number>;
}

/** Handles one delivery; it acks (or naks) it. A throw naks it. */
export type DeliveryHandler = (d: Delivery) => Promise<void>;

/**
 * The transport: in-process (the default; no broker) or NATS JetStream. Stages publish with a message id
 * and wait for the acknowledgement; consumers acknowledge what they handled, so nothing acknowledged is lost.
 * @see docs/decisions/0006-cluster-transport.md
 */
export interface Transport {
  readonly kind: 'memory' | 'jetstream';
  /** Creates the stream, or updates it to `spec` when it exists. */
  ensureStream(spec: StreamSpec): Promise<void>;
  /** Publishes; once it resolved (acknowledged) the caller may reuse `data`'s bytes: neither transport holds them after. */
  publish(subject: string, data: Uint8Array, options: PublishOptions): Promise<PublishAck>;
  consume(stream: string, options: ConsumeOptions, handler: DeliveryHandler): Promise<Consumption>;
  /** Stream sequence of the last message a durable consumer acknowledged in order (0: none, or no such consumer). */
  ackFloor(stream: string, durable: string): Promise<number>;
  /** Removes a durable consumer (its position is forgotten); nothing when absent. */
  deleteConsumer(stream: string, durable: string): Promise<void>;
  /** Messages stored in a stream now. */
  streamMessages(stream: string): Promise<number>;
  close(): Promise<void>;
}

/** Whether a NATS subject matches a filter with `*` (one token) and `>` (the rest). */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (f[i] !== '*' && f[i] !== s[i]) return false;
  }
  return f.length === s.length;
}
