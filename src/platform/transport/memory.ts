/** @module The in-process transport: the same contract as JetStream (acknowledged, deduplicated publishing; durable, acknowledged consumers) without a broker. */
import { subjectMatches, type Consumption, type ConsumeOptions, type Delivery, type DeliveryAck, type DeliveryHandler, type PublishAck, type StreamSpec, type Transport } from './types.js';

interface Stored { seq: number; subject: string; data: Uint8Array; at: number; msgId: string }

interface Cursor { next: number; filter: string; unacked: Map<number, { deadline: number; count: number }> }

interface MemStream {
  spec: StreamSpec;
  messages: Stored[];
  nextSeq: number;
  bytes: number;
  /** msgId → seq and when it was stored, for the duplicate window. */
  ids: Map<string, { seq: number; at: number }>;
  /** Durable consumers' positions: the next new sequence to deliver, and what was delivered but not acknowledged. */
  durables: Map<string, Cursor>;
  wake: Set<() => void>;
}

/** The ack and nak of one delivery of `seq`: they hold the consumer's cursor, not the message. */
function ackOf(s: MemStream, cursor: Cursor, seq: number, now: () => number): DeliveryAck {
  let settled = false;
  const wake = (): void => { for (const w of s.wake) w(); };
  return {
    ack: () => { if (settled) return; settled = true; cursor.unacked.delete(seq); wake(); },
    nak: (delayMs = 0) => {
      if (settled) return;
      settled = true;
      const v = cursor.unacked.get(seq);
      if (v !== undefined) v.deadline = now() + delayMs;
      wake();
    },
  };
}

/** The in-process transport's clock (tests move it). */
export interface MemoryTransportOptions {
  nowMs?: () => number;
}

/**
 * Creates the in-process transport: a consumer's handler takes one message at a time, in order; up to
 * `maxAckPending` may wait for their acknowledgement, and one not acknowledged within the ack wait (or
 * naked, or whose handler threw) is delivered again. Nothing survives the process.
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

  // Not delivered yet: what a new delivery would take next (redeliveries are already counted as delivered).
  const backlog = (s: MemStream, c: Cursor): number => {
    let n = 0;
    for (let i = s.messages.length - 1; i >= 0 && s.messages[i]!.seq >= c.next; i--) if (subjectMatches(c.filter, s.messages[i]!.subject)) n++;
    return n;
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
      s.messages.push({ seq, subject, data: data.slice(), at: now(), msgId: opts.msgId });
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
        pos = { next: initial, filter: opts.filterSubject, unacked: new Map() };
        if (opts.durable !== undefined) s.durables.set(opts.durable, pos);
      }
      const cursor = pos;
      const ackWait = opts.ackWaitMs ?? 30_000;
      const maxPending = opts.maxAckPending ?? 64;
      let stopped = false;
      let handling = false;
      let wakeUp: (() => void) | undefined;
      const wait = (ms?: number): Promise<void> => new Promise((r) => {
        const done = (): void => { s.wake.delete(done); if (t !== undefined) clearTimeout(t); r(); };
        const t = ms !== undefined ? setTimeout(done, Math.max(0, ms)) : undefined;
        wakeUp = done;
        s.wake.add(done);
      });
      const loop = (async (): Promise<Error | undefined> => {
        while (!stopped) {
          trim(s);
          const first = s.messages[0]?.seq ?? s.nextSeq;
          for (const seq of cursor.unacked.keys()) if (seq < first) cursor.unacked.delete(seq);
          if (cursor.next < first) cursor.next = first;
          const t = now();
          // Redeliveries first (oldest first), then new messages while fewer than maxAckPending wait.
          let seq = -1;
          let soonest = Infinity;
          for (const [q, u] of [...cursor.unacked].sort((a, b) => a[0] - b[0])) {
            if (u.deadline <= t) { seq = q; break; }
            soonest = Math.min(soonest, u.deadline);
          }
          let m: Stored | undefined;
          if (seq >= 0) m = s.messages.find((x) => x.seq === seq);
          else if (cursor.unacked.size < maxPending) {
            m = s.messages.find((x) => x.seq >= cursor.next && subjectMatches(cursor.filter, x.subject));
            if (m === undefined) cursor.next = s.nextSeq;
            else cursor.next = m.seq + 1;
          }
          if (m === undefined) { await wait(Number.isFinite(soonest) ? soonest - t : undefined); continue; }
          const u = cursor.unacked.get(m.seq) ?? { deadline: 0, count: 0 };
          u.count++;
          u.deadline = now() + ackWait;
          cursor.unacked.set(m.seq, u);
          const settle = ackOf(s, cursor, m.seq, now);
          const d: Delivery = {
            subject: m.subject, data: m.data, seq: m.seq, msgId: m.msgId, storedAtMs: m.at, deliveryCount: u.count, pending: backlog(s, cursor),
            ack: settle.ack, nak: settle.nak, ackHandle: settle,
          };
          handling = true;
          try {
            await handler(d);
          } catch {
            d.nak();
          } finally {
            handling = false;
          }
        }
        return undefined;
      })();
      const c: Consumption = {
        async stop() { stopped = true; wakeUp?.(); await loop; running.delete(c); },
        closed: loop,
        unfinished: async () => backlog(s, cursor) + cursor.unacked.size + (handling ? 1 : 0),
      };
      running.add(c);
      return c;
    },
    async ackFloor(streamName, durable) {
      const pos = streams.get(streamName)?.durables.get(durable);
      if (pos === undefined) return 0;
      return pos.unacked.size > 0 ? Math.min(...pos.unacked.keys()) - 1 : pos.next - 1;
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
