/** Cache invalidation between API replicas over a NATS server of the test's own: delivered to the others, not back to the sender; a reconnect drops everything. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsCluster, type NatsTestCluster } from '#platform/transport/test-support/nats-cluster.js';
import { createInvalidationBus, parseInvalidation, type CacheEvent } from './invalidation.js';

let nats: NatsTestCluster;

beforeAll(async () => { nats = await startNatsCluster(1); }, 60_000);
afterAll(async () => { await nats?.stop(); });

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('cache invalidation bus', () => {
  it('reads only its own message shape', () => {
    const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    expect(parseInvalidation(enc({ v: 1, from: 'a', event: { scope: 'pages', collectionId: 'c1' } }))).toEqual({ from: 'a', event: { scope: 'pages', collectionId: 'c1' } });
    expect(parseInvalidation(enc({ v: 1, from: 'b', event: { scope: 'checkpoint' } }))).toEqual({ from: 'b', event: { scope: 'checkpoint' } });
    expect(parseInvalidation(enc({ v: 2, from: 'a', event: { scope: 'all' } }))).toBeUndefined();
    expect(parseInvalidation(enc({ v: 1, from: 'a', event: { scope: 'pages' } }))).toBeUndefined();
    expect(parseInvalidation(new TextEncoder().encode('not json'))).toBeUndefined();
  });

  it('tells the other replicas, not itself, and drops everything after reconnecting', async () => {
    const heard: CacheEvent[][] = [[], [], []];
    const buses = ['a', 'b', 'c'].map((id, i) => createInvalidationBus({ servers: nats.urls, subject: 'test.api.invalidate', replicaId: id, apply: (e) => heard[i]!.push(e) }));
    for (const b of buses) await b.start();
    buses[0]!.publish({ scope: 'pages', collectionId: 'g-1' });
    buses[1]!.publish({ scope: 'all' });
    await until(() => heard[2]!.length === 2 && heard[0]!.length === 1 && heard[1]!.length === 1, 5000);
    expect(heard[0]).toEqual([{ scope: 'all' }]);
    expect(heard[1]).toEqual([{ scope: 'pages', collectionId: 'g-1' }]);
    // Two publishers: their messages may reach a third in either order.
    expect(heard[2]).toHaveLength(2);
    expect(heard[2]).toEqual(expect.arrayContaining([{ scope: 'pages', collectionId: 'g-1' }, { scope: 'all' }]));
    expect(buses[0]!.stats()).toMatchObject({ sent: 1, received: 1 });

    // The server restarts: whatever was said meanwhile is lost, so each replica drops all on reconnecting.
    await nats.restart(0);
    await until(() => heard.every((h) => h.at(-2)?.scope === 'all' && h.at(-1)?.scope === 'checkpoint') && buses.every((b) => b.stats().reconnects >= 1), 20_000);
    for (const b of buses) await b.stop();
  }, 60_000);
});
