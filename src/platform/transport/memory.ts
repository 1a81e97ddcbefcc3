/** @module The in-process transport: the same contract as JetStream (acknowledged, deduplicated publishing; durable, acknowledged consumers) without a broker. */
import { subjectMatches, type Consumption, type ConsumeOptions, type Delivery, type DeliveryHandler, type PublishAck, type StreamSpec, type Transport } from './types.js';

interface Stored { seq: number; subject: string; data: Uint8Array; at: number }

interface MemStream {
  spec: StreamSpec;
  messages: Stored[];
  nextSeq: number;
  bytes: number;
  /** msgId → seq and when it was stored, for the duplicate window. */
  ids: Map<string, { seq: number; at: number }>;
  /** Durable consumers' positions: the next sequence to deliver. */
  durables: Map<string, { next: number; filter: string }>;
  wake: Set<() => void>;
}

/** The in-process transport's clock (tests move it). */
export interface MemoryTransportOptions {
  nowMs?: () => number;
}

/**
 * Creates the in-process transport: one consumer handles one message at a time, in order, and moves on
 * only when it was acknowledged (a nak or a throw delivers it again). Nothing survives the process.
 * @see ./types.ts Transport
 */
export function createMemoryTransport(options: MemoryTransportOptions = {}): Transport {
  const now = options.nowMs ?? Date.now;
  const streams = new Map<string, MemStream>();
  const running = new Set<Consumption>();
  let closed = false;

  const trim = (s: MemStream): void => {
    const cutoff = now() - s.spec.maxAgeMs;
    let drop = 0;
    while (drop < s.messages.length && (s.messages[drop]!.at < cutoff || (s.spec.maxBytes !== undefined && s.bytes > s.spec.maxBytes))) {
      s.bytes -= s.messages[drop]!.data.length;
      drop++;
    }
    if (drop > 0) s.messages.splice(0, drop);
    for (const [id, v] of s.ids) if (v.at < now() - s.spec.duplicateWindowMs) s.ids.delete(id);
  };

  const streamFor = (subject: string): MemStream | undefined => {
    for (const s of streams.values()) if (s.spec.subjects.some((f) => subjectMatches(f, subject))) return s;
    return undefined;
  };

  return {
    kind: 'memory',
    async ensureStream(spec) {
      const s = streams.get(spec.name);
      if (s !== undefined) { s.spec = { ...spec }; return; }
      streams.set(spec.name, { spec: { ...spec }, messages: [], nextSeq: 1, bytes: 0, ids: new Map(), durables: new Map(), wake: new Set() });
    },
    async publish(subject, data, opts): Promise<PublishAck> {
      if (closed) throw new Error('transport closed');
      const s = streamFor(subject);
      if (s === undefined) throw new Error(`no stream captures subject ${subject}`);
      trim(s);
      const seen = s.ids.get(opts.msgId);
      if (seen !== undefined) return { seq: seen.seq, duplicate: true };
      const seq = s.nextSeq++;
      // A copy: the publisher may reuse its buffer once the publish resolved.
      s.messages.push({ seq, subject, data: data.slice(), at: now() });
      s.bytes += data.length;
      s.ids.set(opts.msgId, { seq, at: now() });
      for (const w of s.wake) w();
      return { seq, duplicate: false };
    },
    async consume(streamName, opts: ConsumeOptions, handler: DeliveryHandler): Promise<Consumption> {
      const s = streams.get(streamName);
      if (s === undefined) throw new Error(`no stream ${streamName}`);
      const from = opts.deliverFrom ?? { kind: 'all' };
      const initial = from.kind === 'new' ? s.nextSeq
        : from.kind === 'time' ? (s.messages.find((m) => m.at >= from.atMs)?.seq ?? s.nextSeq) : 1;
      let pos = opts.durable !== undefined ? s.durables.get(opts.durable) : undefined;
      if (pos === undefined) {
        pos = { next: initial, filter: opts.filterSubject };
        if (opts.durable !== undefined) s.durables.set(opts.durable, pos);
      }
      const cursor = pos;
      let stopped = false;
      let wakeUp: (() => void) | undefined;
      const wait = (ms?: number): Promise<void> => new Promise((r) => {
        const done = (): void => { s.wake.delete(done); if (t !== undefined) clearTimeout(t); r(); };
        const t = ms !== undefined ? setTimeout(done, ms) : undefined;
        wakeUp = done;
        s.wake.add(done);
      });
      const loop = (async (): Promise<Error | undefined> => {
        const counts = new Map<number, number>();
        while (!stopped) {
          trim(s);
          const first = s.messages[0]?.seq ?? s.nextSeq;
          if (cursor.next < first) cursor.next = first;
          const m = s.messages.find((x) => x.seq >= cursor.next && subjectMatches(cursor.filter, x.subject));
          if (m === undefined) { cursor.next = s.nextSeq; await wait(); continue; }
          const count = (counts.get(m.seq) ?? 0) + 1;
          counts.set(m.seq, count);
          let outcome: 'ack' | 'nak' | undefined;
          let nakDelay = 0;
          const d: Delivery = {
            subject: m.subject, data: m.data, seq: m.seq, storedAtMs: m.at, deliveryCount: count,
            ack: () => { outcome ??= 'ack'; },
            nak: (delayMs = 0) => { outcome ??= 'nak'; nakDelay = delayMs; },
          };
          try {
            await handler(d);
          } catch {
            outcome ??= 'nak';
          }
          if (outcome === 'ack') { cursor.next = m.seq + 1; counts.delete(m.seq); continue; }
          await wait(outcome === 'nak' ? nakDelay : (opts.ackWaitMs ?? 30_000));
        }
        return undefined;
      })();
      const c: Consumption = {
        async stop() { stopped = true; wakeUp?.(); await loop; running.delete(c); },
        closed: loop,
      };
      running.add(c);
      return c;
    },
    async deleteConsumer(streamName, durable) {
      streams.get(streamName)?.durables.delete(durable);
    },
    async streamMessages(streamName) {
      const s = streams.get(streamName);
      if (s === undefined) return 0;
      trim(s);
      return s.messages.length;
    },
    async close() {
      closed = true;
      await Promise.all([...running].map((c) => c.stop()));
    },
  };
}
