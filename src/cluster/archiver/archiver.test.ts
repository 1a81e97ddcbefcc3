/** @module The archiver over the in-process transport: every kept flow archived once, a second stored copy of one publish included. */
import { describe, expect, it } from 'vitest';
import type { ArchiveWriter } from '#modules/selection/index.js';
import { createMemoryTransport } from '#platform/transport/index.js';
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

describe('archiver', () => {
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
