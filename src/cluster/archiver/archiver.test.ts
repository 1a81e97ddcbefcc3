/** @module The archiver over the in-process transport: every kept flow archived once, a second stored copy of one publish included. */
import { describe, expect, it } from 'vitest';
import type { ArchiveWriter } from '#modules/selection/index.js';
import { createMemoryTransport } from '#platform/transport/index.js';
import { collectGarbage, ownBytes } from '#platform/transport/test-support/gc.js';
import type { RoundStore } from '../archive-store/index.js';
import { mixedFlows, NOW, testSelector } from '../test-support/fixtures.js';
import { encodeWireBatch, partitionSubject, splitByPartition } from '../wire/index.js';
import { createArchiver } from './archiver.js';

/** A writer that counts what it was handed. */
function countingWriter(): ArchiveWriter & { rows: number } {
  const w = {
    rows: 0, name: 'count',
    start: async () => undefined, stop: async () => undefined, flush: async () => 0, whenRoom: async () => undefined,
    purgeBasis: async () => ({ stagedRowsDropped: 0 }),
    append(b: { length: number }) { w.rows += b.length; return { accepted: true }; },
    stats: () => ({}),
  };
  return w as unknown as ArchiveWriter & { rows: number };
}

/** A round store that stores nothing (the writer above writes no file) and fails while `failing` is set. */
function fakeRounds(): RoundStore & { failing: boolean } {
  const r = {
    failing: false,
    recover: async () => ({ seqs: new Map(), ids: [], committed: 0, rolledBack: 0, deletedFiles: 0 }),
    clearStaging: () => undefined, staged: () => ({ files: [] }), prune: async () => 0,
    async store() {
      if (r.failing) throw new Error('bucket unavailable');
      return { files: 0, rows: 0, bytes: 0, purgedFiles: 0, purgedRows: 0 };
    },
  };
  return r as unknown as RoundStore & { failing: boolean };
}

describe('archiver', () => {
  it('keeps an ack handle, not the payload, of a message waiting for its round; acknowledges it only once a round is stored', async () => {
    const t = createMemoryTransport();
    await t.ensureStream({ name: 'FLOWS', subjects: ['mamori.flows.>'], replicas: 1, maxAgeMs: 86_400_000, duplicateWindowMs: 60_000 });
    let sent = 0;
    const first = [0, 0], last = [0, 0];
    for (let k = 0; k < 4; k++) {
      for (const [p, part] of splitByPartition(testSelector().select(mixedFlows(300, k * 300)), 'd', 2).entries()) {
        if (part === undefined) continue;
        const data = encodeWireBatch({ edge: 'e1', seq: k, family: 'd', partition: p, selectedAtMs: NOW }, part);
        last[p] = (await t.publish(partitionSubject('mamori.flows', 'd', p), data, { msgId: `e1.run.${k}.d${p}` })).seq;
        if (k === 0) first[p] = last[p]!;
        sent += part.length;
      }
    }
    const { transport, buffers } = ownBytes(t);
    const rounds = fakeRounds();
    const archiver = createArchiver({ stream: 'FLOWS', subjectPrefix: 'mamori.flows', partitions: 2, ackWaitMs: 60_000, storeEveryMs: 3_600_000 }, { transport, writer: countingWriter(), rounds });
    await archiver.start();
    for (const end = Date.now() + 5000; archiver.stats().appendedFlows < sent && Date.now() < end;) await new Promise((r) => setTimeout(r, 10));
    expect(archiver.stats()).toMatchObject({ appendedFlows: sent, waiting: 8, ackedFlows: 0 });
    // Decoded and waiting for a round: not one message's bytes is still reachable.
    await collectGarbage();
    expect(buffers).toHaveLength(8);
    expect(buffers.filter((b) => b.deref() !== undefined)).toHaveLength(0);
    // A round that fails acknowledges nothing; the next one acknowledges every message, through its handle.
    rounds.failing = true;
    await archiver.storeNow();
    expect(archiver.stats()).toMatchObject({ roundFailures: 1, ackedFlows: 0, waiting: 8 });
    expect([await t.ackFloor('FLOWS', 'archive-d-0'), await t.ackFloor('FLOWS', 'archive-d-1')]).toEqual(first.map((q) => q - 1));
    rounds.failing = false;
    await archiver.storeNow();
    expect(archiver.stats()).toMatchObject({ rounds: 1, ackedFlows: sent, waiting: 0 });
    for (const p of [0, 1]) expect(await t.ackFloor('FLOWS', `archive-d-${p}`)).toBeGreaterThanOrEqual(last[p]!);
    await archiver.stop();
    await t.close();
  });


  it('archives a second stored copy of one publish (same message id, another sequence) once', async () => {
    // A duplicate window of 20 ms: a retry after it is stored again, as a stream does after losing its window.
    const t = createMemoryTransport();
    await t.ensureStream({ name: 'FLOWS', subjects: ['mamori.flows.>'], replicas: 1, maxAgeMs: 86_400_000, duplicateWindowMs: 20 });
    const kept = testSelector().select(mixedFlows(400));
    const parts = splitByPartition(kept, 'd', 2);
    let sent = 0;
    for (const [p, part] of parts.entries()) {
      if (part === undefined) continue;
      const data = encodeWireBatch({ edge: 'e1', seq: 1, family: 'd', partition: p, selectedAtMs: NOW }, part);
      const first = await t.publish(partitionSubject('mamori.flows', 'd', p), data, { msgId: `e1.run.1.d${p}` });
      await new Promise((r) => setTimeout(r, 40));
      const again = await t.publish(partitionSubject('mamori.flows', 'd', p), data, { msgId: `e1.run.1.d${p}` });
      expect(again.duplicate).toBe(false);
      expect(again.seq).not.toBe(first.seq);
      sent += part.length;
    }
    expect(sent).toBe(kept.length);
    const writer = countingWriter();
    const archiver = createArchiver({ stream: 'FLOWS', subjectPrefix: 'mamori.flows', partitions: 2, ackWaitMs: 1000 }, { transport: t, writer });
    await archiver.start();
    const end = Date.now() + 5000;
    while (archiver.stats().appendedFlows + archiver.stats().redeliveriesSkipped < kept.length + 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    await archiver.stop();
    expect(writer.rows).toBe(kept.length);
    expect(archiver.stats().appendedFlows).toBe(kept.length);
    expect(archiver.stats().redeliveriesSkipped).toBe(parts.filter((p) => p !== undefined).length);
    await t.close();
  });
});
