/** @module The edge: every kept flow published once; the broker gone → bounded outbox, drops only beyond it and counted; spool across a restart; retries stored once. */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsRegistry } from '#platform/metrics/index.js';
import { createMemoryTransport, type Transport } from '#platform/transport/index.js';
import type { FlowBatch } from '#modules/collection/index.js';
import type { SelectedBatch } from '#modules/selection/index.js';
import { decodeWireBatch } from '../wire/index.js';
import { mixedFlows, testSelector } from '../test-support/fixtures.js';
import { createEdge, type EdgeSettings } from './edge.js';

const STREAM = { name: 'FLOWS', subjects: ['mamori.flows.>'], replicas: 1, maxAgeMs: 86_400_000, duplicateWindowMs: 120_000 };
const settings = (over: Partial<EdgeSettings> = {}): EdgeSettings => ({ edgeId: 'test-edge', partitions: 4, subjectPrefix: 'mamori.flows', maxInFlight: 4, bufferBytes: 1 << 20, publishTimeoutMs: 1000, ...over });

/** A transport whose broker can be taken away (publishes reject) and whose acks can be lost after storing. */
function flaky(inner: Transport): Transport & { down: boolean; loseAcks: number } {
  const t = {
    ...inner,
    down: false,
    loseAcks: 0,
    async publish(subject: string, data: Uint8Array, o: { msgId: string; timeoutMs?: number }) {
      if (t.down) throw new Error('no responders');
      const ack = await inner.publish(subject, data, o);
      if (t.loseAcks > 0 && !ack.duplicate) { t.loseAcks--; throw new Error('timeout'); }
      return ack;
    },
  };
  return t;
}

async function storedFlows(t: Transport): Promise<{ d: number; s: number; ids: Set<string> }> {
  const out = { d: 0, s: 0, ids: new Set<string>() };
  const total = await t.streamMessages('FLOWS');
  let seen = 0;
  const c = await t.consume('FLOWS', { filterSubject: 'mamori.flows.>' }, async (m) => {
    const w = decodeWireBatch(m.data);
    out[w.meta.family as 'd' | 's'] += w.batch.length;
    out.ids.add(`${w.meta.edge}/${w.meta.seq}/${w.meta.family}${w.meta.partition}`);
    seen++;
    m.ack();
  });
  const end = Date.now() + 5000;
  while (seen < total && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  await c.stop();
  return out;
}

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

describe('edge', () => {
  it('splits a partition past 16,384 rows into messages of their own ids (each stored, none taken for a duplicate)', async () => {
    const t = createMemoryTransport();
    await t.ensureStream(STREAM);
    // An outbox with room for the whole batch (both families' 20,000 rows pass the 1 MiB of the other tests' settings).
    const edge = createEdge(settings({ partitions: 1, bufferBytes: 8 << 20 }), { transport: t, select: testSelector().select, nowMs: Date.now });
    await edge.start();
    edge.sink.write(mixedFlows(20_000));
    expect(await edge.drained(5000)).toBe(true);
    expect(edge.stats().kept).toBe(20_000);
    expect(edge.stats().duplicates).toBe(0);
    expect(edge.stats().droppedFlows).toBe(0);
    expect(await t.streamMessages('FLOWS')).toBe(4); // 16,384 + 3,616 rows in each family
    const stored = await storedFlows(t);
    expect(stored.d).toBe(20_000);
    expect(stored.s).toBe(20_000);
    await edge.stop();
  });

  it('selects here and publishes every kept flow once, in both families; domestic↔domestic never leaves', async () => {
    const t = createMemoryTransport();
    await t.ensureStream(STREAM);
    const sel = testSelector();
    const metrics = new MetricsRegistry();
    const edge = createEdge(settings(), { transport: t, select: sel.select, nowMs: Date.now, metrics });
    await edge.start();
    for (let i = 0; i < 20; i++) edge.sink.write(mixedFlows(500, i * 500));
    expect(await edge.drained(5000)).toBe(true);
    const s = edge.stats();
    expect(s.received).toBe(20_000);
    expect(sel.counters.total('domestic')).toBe(10_000);
    expect(s.kept).toBe(10_000);
    expect(s.published).toBe(s.kept);
    expect(s.droppedFlows).toBe(0);
    const stored = await storedFlows(t);
    expect(stored.d).toBe(10_000);
    expect(stored.s).toBe(10_000);
    expect(metrics.render()).toMatch(/mamori_edge_flows_total\{edge="test-edge",outcome="published"\} 10000/);
    await edge.stop();
  });

  it('buffers while the broker is gone, drops only beyond the bound (counted), and sends the rest when it is back', async () => {
    const t = flaky(createMemoryTransport());
    await t.ensureStream(STREAM);
    const sel = testSelector();
    const edge = createEdge(settings({ bufferBytes: 1 << 20 }), { transport: t, select: sel.select, nowMs: Date.now });
    await edge.start();
    t.down = true;
    for (let i = 0; i < 60; i++) edge.sink.write(mixedFlows(500, i * 500)); // ~ 2.2 MiB encoded: about half fits
    await new Promise((r) => setTimeout(r, 300));
    const during = edge.stats();
    expect(during.brokerUp).toBe(false);
    expect(during.publishErrors).toBeGreaterThan(0);
    expect(during.droppedFlows).toBeGreaterThan(0);
    expect(during.waitingBytes).toBeLessThanOrEqual(1 << 20);
    expect(during.waitingFlows + during.droppedFlows).toBe(during.kept);
    t.down = false;
    expect(await edge.drained(10_000)).toBe(true);
    const after = edge.stats();
    expect(after.published + after.droppedFlows).toBe(after.kept);
    expect((await storedFlows(t)).d).toBe(after.published);
    await edge.stop();
  });

  it('reuses its arrays from batch to batch, yet the bytes of a publish stay as encoded until it is acknowledged', async () => {
    const inner = createMemoryTransport();
    await inner.ensureStream(STREAM);
    // Acknowledgements held back while more batches are selected and encoded; each publish's bytes checked when acknowledged.
    const held: { data: Uint8Array; copy: Uint8Array; release(): void }[] = [];
    let overwritten = 0;
    const t: Transport = {
      ...inner,
      async publish(subject, data, o) {
        const copy = data.slice();
        await new Promise<void>((release) => held.push({ data, copy, release }));
        if (Buffer.compare(data, copy) !== 0) overwritten++;
        return inner.publish(subject, data, o);
      },
    };
    const sel = testSelector();
    const outs: (SelectedBatch | undefined)[] = [];
    const select = (b: FlowBatch, out?: SelectedBatch): SelectedBatch => { outs.push(out); return sel.select(b, out); };
    const edge = createEdge(settings({ maxInFlight: 2 }), { transport: t, select, nowMs: Date.now });
    await edge.start();
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 4; i++) edge.sink.write(mixedFlows(400, (round * 4 + i) * 400));
      await new Promise((r) => setTimeout(r, 5));
      for (const h of held.splice(0)) h.release();
    }
    const end = Date.now() + 10_000;
    while (!(await edge.drained(20)) && Date.now() < end) for (const h of held.splice(0)) h.release();
    // The selected batch of one call is the output given to the next.
    expect(outs[0]).toBeUndefined();
    expect(outs.slice(1).every((o) => o !== undefined && o === outs[1])).toBe(true);
    const s = edge.stats();
    expect(overwritten).toBe(0);
    expect(s.publishErrors).toBe(0);
    expect(s.published).toBe(s.kept);
    expect((await storedFlows(inner)).d).toBe(s.kept);
    await edge.stop();
  });

  it('a publish whose acknowledgement was lost is sent again with the same id and stored once', async () => {
    const t = flaky(createMemoryTransport());
    await t.ensureStream(STREAM);
    const edge = createEdge(settings({ maxInFlight: 1 }), { transport: t, select: testSelector().select, nowMs: Date.now });
    await edge.start();
    t.loseAcks = 3;
    for (let i = 0; i < 5; i++) edge.sink.write(mixedFlows(200, i * 200));
    expect(await edge.drained(10_000)).toBe(true);
    const s = edge.stats();
    expect(s.duplicates).toBe(3);
    expect(s.published).toBe(s.kept);
    expect((await storedFlows(t)).d).toBe(s.kept);
  });

  it('spills to a disk spool (0600 files) beyond memory, keeps what waits at stop, and a restarted edge sends it first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mamori-spool-'));
    dirs.push(dir);
    const spool = { dir: join(dir, 'spool'), maxBytes: 64 << 20 };
    const t = flaky(createMemoryTransport());
    await t.ensureStream(STREAM);
    t.down = true;
    const first = createEdge(settings({ bufferBytes: 1 << 20, spool }), { transport: t, select: testSelector().select, nowMs: Date.now });
    await first.start();
    for (let i = 0; i < 60; i++) first.sink.write(mixedFlows(500, i * 500));
    const s1 = first.stats();
    expect(s1.droppedFlows).toBe(0);
    expect(s1.spooledFlows).toBeGreaterThan(0);
    await first.stop(200);
    const files = readdirSync(spool.dir);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(statSync(join(spool.dir, f)).mode & 0o777).toBe(0o600);
    expect(statSync(spool.dir).mode & 0o777).toBe(0o700);
    t.down = false;
    const second = createEdge(settings({ bufferBytes: 1 << 20, spool }), { transport: t, select: testSelector().select, nowMs: Date.now });
    await second.start();
    expect(await second.drained(10_000)).toBe(true);
    expect(second.stats().published).toBe(s1.kept);
    expect((await storedFlows(t)).d).toBe(s1.kept);
    expect(readdirSync(spool.dir)).toEqual([]);
    await second.stop();
  });
});
