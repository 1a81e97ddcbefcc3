/** @module The archiver: the one process that writes the `d` family of the flow stream (every kept flow once) into the flow archive. */
import type { ArchiveWriter, SelectedBatch } from '#modules/selection/index.js';
import type { Consumption, DeliveryAck, Transport } from '#platform/transport/index.js';
import type { RoundStore, StoredRound } from '../archive-store/index.js';
import { decodeWireBatch, partitionSubject, SeenIds, SeenSequences } from '../wire/index.js';

/** How long the archiver remembers a message id it archived (twice the stream's duplicate window: an edge's retries fall within it). */
export const ARCHIVED_IDS_KEEP_MS = 20 * 60_000;

/** Settings of the archiver. */
export interface ArchiverSettings {
  stream: string;
  subjectPrefix: string;
  partitions: number;
  ackWaitMs: number;
  /** With a bucket: how often what was taken is stored there, then acknowledged (default 10 s). */
  storeEveryMs?: number;
}

/** What it needs. */
export interface ArchiverDeps {
  transport: Transport;
  writer: ArchiveWriter;
  /**
   * The cluster's archive bucket: flows are acknowledged only once the Parquet files holding them are stored there
   * (replicated), not when the local write-ahead segment took them. Without it, the single node's rule.
   */
  rounds?: RoundStore;
  logger?: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
  metrics?: { collect(name: string, help: string, type: 'counter' | 'gauge', fn: () => { labels: Record<string, string>; value: number }[]): void };
}

/** A message taken and waiting for its round: what acknowledging it and remembering it as archived need, not its data. */
interface Waiting { handle: DeliveryAck; rows: number; msgId?: string; storedAtMs: number }

/** A running archiver. */
export interface Archiver {
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): ArchiverStats;
  /** With a bucket: stores what was taken now (tests and stop); resolves when stored and acknowledged. */
  storeNow(): Promise<void>;
}

/** The archiver's counters. */
export interface ArchiverStats {
  appendedFlows: number; refusedBatches: number; badMessages: number; redeliveriesSkipped: number;
  /** With a bucket: rounds stored, files and flows in them, flows acknowledged, rounds that failed (retried). */
  rounds: number; storedFiles: number; storedFlows: number; ackedFlows: number; roundFailures: number;
  /** Flows of a basis purged before their file was stored (never stored). */
  purgedFlows: number;
  /** Messages taken and not yet acknowledged (waiting for their round). */
  waiting: number;
}

/**
 * Creates the archiver: a durable consumer per `d` partition; each batch is handed to the archive writer. Without a
 * bucket a batch is acknowledged once the writer took it (its write-ahead segment keeps it across a crash of the
 * process). With a bucket (`deps.rounds`) batches are acknowledged only once a round stored the files holding them:
 * every `storeEveryMs` the writer flushes, the files go into the bucket under a round record, then the round's messages
 * are acknowledged; a round that fails is retried with the same id. A batch the writer refuses is delivered again a
 * second later; a redelivery of one appended or stored already (sequence, or message id for a second stored copy of one
 * publish; after a restart, from the bucket's committed round records) is acknowledged, not appended twice. Only one
 * archiver may run against one archive: the caller holds a singleton lease.
 * @see docs/decisions/0007-cluster-wire-and-partitions.md
 * @see docs/decisions/0010-replicated-archive.md
 */
export function createArchiver(settings: ArchiverSettings, deps: ArchiverDeps): Archiver {
  const stats: ArchiverStats = { appendedFlows: 0, refusedBatches: 0, badMessages: 0, redeliveriesSkipped: 0, rounds: 0, storedFiles: 0, storedFlows: 0, ackedFlows: 0, roundFailures: 0, purgedFlows: 0, waiting: 0 };
  const consumers: Consumption[] = [];
  const timers: ReturnType<typeof setInterval>[] = [];
  const rounds = deps.rounds;
  const storeEveryMs = settings.storeEveryMs ?? 10_000;
  // Sequences appended and acknowledged (or stored), by durable: a redelivery of one is acknowledged, not appended.
  const appended = new Map<string, SeenSequences>();
  // A second stored copy of one publish (another sequence, the same message id) is not archived twice either.
  const ids = new SeenIds(ARCHIVED_IDS_KEEP_MS);
  // With a bucket: messages taken, waiting for their round (by durable and sequence; a redelivery replaces the handle). Each
  // keeps its ack handle, not the delivery: the payload (≈ 48 bytes a flow, a round's worth) is freed once decoded.
  const waiting = new Map<string, Map<number, Waiting>>();
  const waitingIds = new Set<string>();
  // While a round flushes the writer and lists its files, no batch is appended (its rows would be in files of a round that does not name it).
  let gate: Promise<void> | undefined;
  let decoded: SelectedBatch | undefined;
  let round: Promise<void> | undefined;
  deps.metrics?.collect('mamori_archiver_flows_total', 'Kept flows the archiver handed to the archive writer.', 'counter', () => [{ labels: {}, value: stats.appendedFlows }]);
  deps.metrics?.collect('mamori_archiver_refused_batches_total', 'Batches the archive writer refused for now (delivered again).', 'counter', () => [{ labels: {}, value: stats.refusedBatches }]);
  if (rounds !== undefined) {
    deps.metrics?.collect('mamori_archiver_stored_flows_total', 'Flows stored in the cluster\'s archive bucket (then acknowledged).', 'counter', () => [{ labels: {}, value: stats.storedFlows }]);
    deps.metrics?.collect('mamori_archiver_waiting_messages', 'Flow messages taken and waiting for their round to be stored.', 'gauge', () => [{ labels: {}, value: stats.waiting }]);
    deps.metrics?.collect('mamori_archiver_round_failures_total', 'Rounds that could not be stored in the bucket (retried).', 'counter', () => [{ labels: {}, value: stats.roundFailures }]);
  }

  const countWaiting = (): number => [...waiting.values()].reduce((a, m) => a + m.size, 0);

  async function storeRound(): Promise<void> {
    if (rounds === undefined || countWaiting() === 0) return;
    let open: () => void = () => undefined;
    gate = new Promise<void>((r) => { open = r; });
    let staged;
    const taken = new Map<string, Map<number, Waiting>>();
    try {
      for (const [durable, m] of waiting) taken.set(durable, new Map(m));
      await deps.writer.flush();
      staged = rounds.staged();
    } finally {
      gate = undefined;
      open();
    }
    const seqs: Record<string, number[]> = {};
    const msgIds: string[] = [];
    for (const [durable, m] of taken) {
      seqs[durable] = [...m.keys()];
      for (const { msgId } of m.values()) if (msgId !== undefined) msgIds.push(msgId);
    }
    let r: StoredRound;
    try {
      r = await rounds.store(staged, seqs, msgIds);
    } catch (e) {
      stats.roundFailures++;
      deps.logger?.warn({ err: (e as Error).message, files: staged.files.length }, 'archiver: storing a round in the bucket failed; its flows stay unacknowledged and the round is tried again');
      return;
    }
    stats.rounds++;
    stats.storedFiles += r.files;
    stats.storedFlows += r.rows;
    stats.purgedFlows += r.purgedRows;
    for (const [durable, m] of taken) {
      const w = waiting.get(durable)!;
      for (const [seq, { rows }] of m) {
        const cur = w.get(seq)!; // the latest handle (a redelivery meanwhile replaced it)
        w.delete(seq);
        if (cur.msgId !== undefined) waitingIds.delete(cur.msgId);
        appended.get(durable)!.add(seq);
        ids.add(cur.msgId, cur.storedAtMs);
        cur.handle.ack();
        stats.ackedFlows += rows;
      }
    }
    stats.waiting = countWaiting();
  }

  /** One round at a time; a call while one runs waits for it and runs another. */
  function runRound(): Promise<void> {
    const next = (round ?? Promise.resolve()).then(storeRound, storeRound);
    round = next.catch(() => undefined);
    return next;
  }

  return {
    async start() {
      if (rounds !== undefined) {
        const found = await rounds.recover();
        for (const [durable, list] of found.seqs) {
          const s = new SeenSequences();
          for (const q of list) s.add(q);
          appended.set(durable, s);
        }
        const now = Date.now();
        for (const id of found.ids) ids.add(id, now);
        rounds.clearStaging();
        if (found.rolledBack > 0) deps.logger?.warn({ rounds: found.rolledBack, files: found.deletedFiles }, 'archiver: rounds a previous archiver did not finish were rolled back; their flows are archived again');
      }
      await deps.writer.start();
      // A round's messages must not be redelivered while it runs: their ack wait covers a few rounds.
      const ackWaitMs = rounds === undefined ? settings.ackWaitMs : Math.max(settings.ackWaitMs, 3 * storeEveryMs + 30_000);
      for (let p = 0; p < settings.partitions; p++) {
        const durable = `archive-d-${p}`;
        if (!appended.has(durable)) appended.set(durable, new SeenSequences());
        const done = appended.get(durable)!;
        const held = new Map<number, Waiting>();
        waiting.set(durable, held);
        const pruner = setInterval(() => { deps.transport.ackFloor(settings.stream, durable).then((f) => done.prune(f), () => undefined); }, 10_000);
        pruner.unref();
        timers.push(pruner);
        consumers.push(await deps.transport.consume(settings.stream, { durable, filterSubject: partitionSubject(settings.subjectPrefix, 'd', p), ackWaitMs, maxAckPending: rounds === undefined ? 256 : 4096 }, async (d) => {
          while (gate !== undefined) await gate;
          if (done.has(d.seq) || ids.has(d.msgId)) { stats.redeliveriesSkipped++; d.ack(); return; }
          const mine = held.get(d.seq);
          if (mine !== undefined) { stats.redeliveriesSkipped++; mine.handle = d.ackHandle; return; } // still waiting for its round
          if (d.msgId !== undefined && waitingIds.has(d.msgId)) { stats.redeliveriesSkipped++; d.ack(); return; } // a copy of one waiting
          let batch;
          try {
            // Decoded into one batch reused from message to message (the writer copies a batch before append returns):
            // a new batch per message was external memory that V8 answered with a full collection every second or so.
            batch = decodeWireBatch(d.data, decoded).batch;
            decoded = batch;
          } catch (e) {
            stats.badMessages++;
            deps.logger?.error({ err: (e as Error).message, subject: d.subject, seq: d.seq }, 'archiver: a message is not a flow batch; skipped');
            d.ack();
            return;
          }
          const rows = batch.length;
          const out = deps.writer.append(batch);
          if (!out.accepted) { stats.refusedBatches++; d.nak(1000); return; }
          stats.appendedFlows += rows;
          if (rounds === undefined) {
            done.add(d.seq);
            ids.add(d.msgId, d.storedAtMs);
            d.ack();
            return;
          }
          held.set(d.seq, { handle: d.ackHandle, rows, storedAtMs: d.storedAtMs, ...(d.msgId !== undefined ? { msgId: d.msgId } : {}) });
          if (d.msgId !== undefined) waitingIds.add(d.msgId);
          stats.waiting++;
          if (held.size >= 2048) void runRound(); // half the consumer's unacknowledged bound
        }));
      }
      if (rounds !== undefined) {
        const t = setInterval(() => { void runRound(); }, storeEveryMs);
        t.unref();
        timers.push(t);
        const p = setInterval(() => {
          rounds.prune((durable) => deps.transport.ackFloor(settings.stream, durable)).catch((e: unknown) => deps.logger?.warn({ err: (e as Error).message }, 'archiver: pruning round records failed'));
        }, 60_000);
        p.unref();
        timers.push(p);
      }
    },
    async stop() {
      for (const t of timers.splice(0)) clearInterval(t);
      for (const c of consumers.splice(0)) await c.stop();
      if (rounds !== undefined) await runRound();
      await round;
      await deps.writer.stop();
    },
    stats: () => ({ ...stats }),
    storeNow: () => runRound(),
  };
}
