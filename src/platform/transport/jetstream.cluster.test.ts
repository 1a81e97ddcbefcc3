/** @module The JetStream transport passes the transport contract on a three-node cluster of its own, and loses no acknowledged message when a node is killed. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJetStreamTransport } from './jetstream.js';
import { startNatsCluster, type NatsTestCluster } from './test-support/nats-cluster.js';
import { transportContract } from './test-support/contract.js';
import type { Transport } from './types.js';

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
