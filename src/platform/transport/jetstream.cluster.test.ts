/** @module The JetStream transport passes the transport contract on a three-node cluster of its own, and loses no acknowledged message when a node is killed. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { createJetStreamTransport, writeWithoutConcatenating } from './jetstream.js';
import { startNatsCluster, type NatsTestCluster } from './test-support/nats-cluster.js';
import { transportContract } from './test-support/contract.js';
import { collectGarbage } from './test-support/gc.js';
import type { DeliveryAck, Transport } from './types.js';

let cluster: NatsTestCluster;
const transports: Transport[] = [];
let shared: Transport;

beforeAll(async () => {
  cluster = await startNatsCluster(3);
  shared = await createJetStreamTransport({ servers: cluster.urls, name: 'contract' });
  transports.push(shared);
}, 60_000);

afterAll(async () => {
  for (const t of transports) await t.close().catch(() => undefined);
  await cluster?.stop();
}, 60_000);

transportContract('JetStream R3', () => shared, 3);

describe('JetStream transport under faults', () => {
  it('keeps every acknowledged message when the node a client talks to is killed mid-stream', async () => {
    const t = await createJetStreamTransport({ servers: [cluster.urls[0]!, cluster.urls[1]!, cluster.urls[2]!], name: 'fault', reconnectWaitMs: 100 });
    transports.push(t);
    await t.ensureStream({ name: 'FAULT', subjects: ['fault.>'], replicas: 3, maxAgeMs: 3_600_000, duplicateWindowMs: 120_000 });
    const acked = new Set<number>();
    let killed = false;
    for (let i = 0; i < 400; i++) {
      if (i === 100) { await cluster.kill(0); killed = true; }
      // A publish that fails is retried with the same id, as the edge does: stored once. The stream's new leader may take
      // many seconds to be elected on a loaded machine ("no responders" meanwhile), so retry for up to 45 s.
      for (const giveUp = Date.now() + 45_000; ;) {
        try {
          await t.publish('fault.p.0', new Uint8Array([i & 0xff, i >> 8]), { msgId: `f${i}`, timeoutMs: 2000 });
          acked.add(i);
          break;
        } catch (e) {
          if (Date.now() > giveUp) throw e;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }
    expect(killed).toBe(true);
    expect(await t.streamMessages('FAULT')).toBe(400);
    const seen = new Set<number>();
    const c = await t.consume('FAULT', { filterSubject: 'fault.p.0' }, async (d) => { seen.add(d.data[0]! | (d.data[1]! << 8)); d.ack(); });
    const end = Date.now() + 20_000;
    while (seen.size < 400 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    await c.stop();
    expect([...acked].filter((i) => !seen.has(i))).toEqual([]);
    await cluster.restart(0);
  }, 120_000);
});

describe('JetStream transport: ack handles', () => {
  it('lets the bytes of deliveries waiting for their ack be freed: the handle keeps the reply subject, not the message', async () => {
    const t = await createJetStreamTransport({ servers: cluster.urls, name: 'handles' });
    transports.push(t);
    await t.ensureStream({ name: 'HANDLES', subjects: ['handles.>'], replicas: 3, maxAgeMs: 3_600_000, duplicateWindowMs: 120_000 });
    // Eight large messages, then a small one: the latest delivery stays referenced (by the client or the read loop) until
    // the next one comes, one message per consumer; the eight before it must be unreachable.
    const n = 9;
    for (let i = 0; i < n; i++) await t.publish('handles.p.0', new Uint8Array(i < n - 1 ? 256 * 1024 : 16).fill(i + 1), { msgId: `h${i}` });
    const handles: DeliveryAck[] = [];
    const buffers: WeakRef<ArrayBufferLike>[] = [];
    const firsts: number[] = [];
    const c = await t.consume('HANDLES', { durable: 'h', filterSubject: 'handles.p.0', ackWaitMs: 60_000 }, async (d) => {
      firsts.push(d.data[0]!);
      buffers.push(new WeakRef(d.data.buffer));
      handles.push(d.ackHandle);
    });
    for (const end = Date.now() + 20_000; handles.length < n && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
    expect(firsts).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    await collectGarbage();
    expect(buffers.slice(0, n - 1).filter((b) => b.deref() !== undefined)).toHaveLength(0);
    expect(await c.unfinished()).toBe(n);
    for (const h of handles) h.ack();
    for (const end = Date.now() + 20_000; (await c.unfinished()) > 0 && Date.now() < end;) await new Promise((r) => setTimeout(r, 50));
    await c.stop();
    expect(await t.ackFloor('HANDLES', 'h')).toBe(n);
  }, 60_000);
});

describe('JetStream transport writing gathered (the edge)', () => {
  it('hands each queued array to the socket itself (no copy per flush) and every payload arrives intact', async () => {
    const nc = await connect({ servers: cluster.urls[0]! });
    try {
      // The client's internals it relies on: a newer client of another shape fails here, not silently at an edge.
      expect(writeWithoutConcatenating(nc)).toBe(true);
      const t = (nc as unknown as { protocol: { transport: { send(f: Uint8Array): void } } }).protocol.transport;
      const written = new Set<Uint8Array>();
      const send = t.send.bind(t);
      t.send = (f) => { written.add(f); send(f); };
      const payloads = Array.from({ length: 12 }, (_, i) => Uint8Array.from({ length: 1 + i * 40_000 }, (_, k) => (k * 7 + i) & 0xff));
      const got: Uint8Array[] = [];
      const sub = nc.subscribe('gather.test', { max: payloads.length, callback: (_e, m) => { got.push(m.data.slice()); } });
      // Published in one turn: one flush of every protocol line, payload and CRLF.
      for (const p of payloads) nc.publish('gather.test', p);
      await nc.flush();
      for (const end = Date.now() + 10_000; got.length < payloads.length && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
      sub.unsubscribe();
      expect(payloads.every((p) => written.has(p))).toBe(true);
      expect(got.length).toBe(payloads.length);
      got.forEach((g, i) => expect(Buffer.from(g).equals(Buffer.from(payloads[i]!))).toBe(true));
    } finally {
      await nc.close();
    }
  }, 30_000);

  it('publishes acknowledged and deduplicated as before', async () => {
    const t = await createJetStreamTransport({ servers: cluster.urls, name: 'gathered', gatherWrites: true });
    transports.push(t);
    await t.ensureStream({ name: 'GATHER', subjects: ['gather.s.>'], replicas: 3, maxAgeMs: 3_600_000, duplicateWindowMs: 120_000 });
    const payloads = Array.from({ length: 16 }, (_, i) => Uint8Array.from({ length: 100 + i * 30_000 }, (_, k) => (k + i * 13) & 0xff));
    const acks = await Promise.all(payloads.map((p, i) => t.publish(`gather.s.${i % 4}`, p, { msgId: `g${i}` })));
    expect(acks.every((a) => !a.duplicate)).toBe(true);
    expect((await t.publish('gather.s.0', payloads[0]!, { msgId: 'g0' })).duplicate).toBe(true);
    const seen = new Map<string, Uint8Array>();
    const c = await t.consume('GATHER', { filterSubject: 'gather.s.>' }, async (d) => { seen.set(d.msgId!, d.data.slice()); d.ack(); });
    for (const end = Date.now() + 20_000; seen.size < payloads.length && Date.now() < end;) await new Promise((r) => setTimeout(r, 50));
    await c.stop();
    expect(await t.streamMessages('GATHER')).toBe(payloads.length);
    payloads.forEach((p, i) => expect(Buffer.from(seen.get(`g${i}`) ?? []).equals(Buffer.from(p))).toBe(true));
  }, 60_000);
});
