/** @module The archiver: the one process that writes the `d` family of the flow stream (every kept flow once) into the flow archive. */
import type { ArchiveWriter } from '#modules/selection/index.js';
import type { Consumption, Transport } from '#platform/transport/index.js';
import { decodeWireBatch, partitionSubject, SeenIds, SeenSequences } from '../wire/index.js';

/** How long the archiver remembers a message id it archived (twice the stream's duplicate window: an edge's retries fall within it). */
export const ARCHIVED_IDS_KEEP_MS = 20 * 60_000;

/** Settings of the archiver. */
export interface ArchiverSettings {
  stream: string;
  subjectPrefix: string;
  partitions: number;
  ackWaitMs: number;
}

/** What it needs. */
export interface ArchiverDeps {
  transport: Transport;
  writer: ArchiveWriter;
  logger?: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
  metrics?: { collect(name: string, help: string, type: 'counter' | 'gauge', fn: () => { labels: Record<string, string>; value: number }[]): void };
}

/** A running archiver. */
export interface Archiver {
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): { appendedFlows: number; refusedBatches: number; badMessages: number; redeliveriesSkipped: number };
}

/**
 * Creates the archiver: a durable consumer per `d` partition; each batch is handed to the archive writer
 * (its write-ahead segment keeps it across a crash) and acknowledged once taken; a batch the writer
 * refuses (its buffer full) is delivered again a second later; a redelivery of one already appended in
 * this process, or a second stored copy of one publish (same message id), is acknowledged, not appended
 * twice (across a crash of the archiver between append and acknowledgement it would be: not yet closed). Only one archiver may run against one archive: the caller holds a singleton lease.
 * @see docs/decisions/0007-cluster-wire-and-partitions.md
 */
export function createArchiver(settings: ArchiverSettings, deps: ArchiverDeps): Archiver {
  const stats = { appendedFlows: 0, refusedBatches: 0, badMessages: 0, redeliveriesSkipped: 0 };
  const consumers: Consumption[] = [];
  const pruners: ReturnType<typeof setInterval>[] = [];
  deps.metrics?.collect('mamori_archiver_flows_total', 'Kept flows the archiver handed to the archive writer.', 'counter', () => [{ labels: {}, value: stats.appendedFlows }]);
  deps.metrics?.collect('mamori_archiver_refused_batches_total', 'Batches the archive writer refused for now (delivered again).', 'counter', () => [{ labels: {}, value: stats.refusedBatches }]);
  return {
    async start() {
      await deps.writer.start();
      for (let p = 0; p < settings.partitions; p++) {
        // A redelivery of a batch whose acknowledgement was lost (the servers went away) is in the archive already.
        const appended = new SeenSequences();
        // A second stored copy of one publish (another sequence, the same message id) is not archived twice either.
        const ids = new SeenIds(ARCHIVED_IDS_KEEP_MS);
        const durable = `archive-d-${p}`;
        const pruner = setInterval(() => { deps.transport.ackFloor(settings.stream, durable).then((f) => appended.prune(f), () => undefined); }, 10_000);
        pruner.unref();
        pruners.push(pruner);
        consumers.push(await deps.transport.consume(settings.stream, { durable, filterSubject: partitionSubject(settings.subjectPrefix, 'd', p), ackWaitMs: settings.ackWaitMs, maxAckPending: 256 }, async (d) => {
          if (appended.has(d.seq) || ids.has(d.msgId)) { stats.redeliveriesSkipped++; d.ack(); return; }
          let batch;
          try {
            batch = decodeWireBatch(d.data).batch;
          } catch (e) {
            stats.badMessages++;
            deps.logger?.error({ err: (e as Error).message, subject: d.subject, seq: d.seq }, 'archiver: a message is not a flow batch; skipped');
            d.ack();
            return;
          }
          const out = deps.writer.append(batch);
          if (!out.accepted) { stats.refusedBatches++; d.nak(1000); return; }
          stats.appendedFlows += batch.length;
          appended.add(d.seq);
          ids.add(d.msgId, d.storedAtMs);
          d.ack();
        }));
      }
    },
    async stop() {
      for (const t of pruners.splice(0)) clearInterval(t);
      for (const c of consumers.splice(0)) await c.stop();
      await deps.writer.stop();
    },
    stats: () => ({ ...stats }),
  };
}
