/** @module The edge: decoded flows → lawful selection here → encoded, partitioned batches → acknowledged, deduplicated publishes, with a bounded outbox when the broker is gone. */
import { randomBytes } from 'node:crypto';
import type { FlowBatch, FlowSink } from '#modules/collection/index.js';
import type { SelectedBatch } from '#modules/selection/index.js';
import type { Transport } from '#platform/transport/index.js';
import { encodeWireRows, FAMILIES, PartitionScratch, partitionRows, partitionSubject, type WireColumns, type WireMeta } from '../wire/index.js';
import { Outbox, type Outgoing } from './buffer.js';
import { BufferPool } from './pool.js';

/**
 * Most rows in one message, and most encoded bytes (NATS refuses a message past its max_payload, 1 MiB by default). A
 * default batch (cluster.edge.batchFlows, 32,768) over 4 partitions is ~8,192 rows each: not split into a second, small message.
 */
const MESSAGE_ROWS = 16_384;
const MESSAGE_BYTES = 900 * 1024;

interface Chunk { data: Uint8Array; rows: number }

/** Encodes rows `order[a … z)` as messages of at most MESSAGE_ROWS rows and MESSAGE_BYTES (halved until they fit), in arrays of `pool`. */
function encodeChunks(meta: WireMeta, kept: SelectedBatch, order: Int32Array, a: number, z: number, out: Chunk[], pool: BufferPool): void {
  // The s family feeds the scan detector alone: only the columns it reads (decision 0007).
  const columns: WireColumns = meta.family === 's' ? 'scan' : 'all';
  for (let at = a; at < z; at += MESSAGE_ROWS) {
    const to = Math.min(z, at + MESSAGE_ROWS);
    const data = encodeWireRows(meta, kept, order, at, to, (n) => pool.take(n), columns);
    if (data.length <= MESSAGE_BYTES || to - at === 1) { out.push({ data, rows: to - at }); continue; }
    pool.give(data);
    const mid = at + Math.floor((to - at) / 2);
    encodeChunks(meta, kept, order, at, mid, out, pool);
    encodeChunks(meta, kept, order, mid, to, out, pool);
  }
}

/** Most bytes of encoded-message arrays kept for reuse (a few batches' worth: what is in flight comes back on acknowledgement). */
const POOL_BYTES = 16 * 1024 * 1024;

/** Settings of an edge (`cluster.*` and `cluster.edge.*`). */
export interface EdgeSettings {
  edgeId: string;
  partitions: number;
  subjectPrefix: string;
  maxInFlight: number;
  bufferBytes: number;
  spool?: { dir: string; maxBytes: number };
  publishTimeoutMs: number;
}

/** What the edge needs. */
export interface EdgeDeps {
  transport: Transport;
  /**
   * Lawful selection of one decoded batch (selection's service: bases, ranges and keys follow the centre), into `out`
   * when it has room: the edge passes the batch it got last time (its rows are encoded before the next call).
   */
  select(batch: FlowBatch, out?: SelectedBatch): SelectedBatch;
  nowMs(): number;
  logger?: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
  metrics?: { collect(name: string, help: string, type: 'counter' | 'gauge', fn: () => { labels: Record<string, string>; value: number }[]): void };
}

/** The edge's counters: every flow received is kept and published, waiting, dropped by selection or dropped beyond the bound. */
export interface EdgeStats {
  received: number;
  kept: number;
  /** Kept flows the broker acknowledged (each once, duplicates not counted twice). */
  published: number;
  /** Kept flows dropped because the outbox (memory and spool) was full. */
  droppedFlows: number;
  /** Publishes acknowledged as duplicates (a retry of a message the stream had already stored). */
  duplicates: number;
  publishErrors: number;
  waitingFlows: number;
  waitingBytes: number;
  spooledFlows: number;
  inFlight: number;
  /** Whether the last publish succeeded (false while the broker is unreachable). */
  brokerUp: boolean;
}

/** A running edge. */
export interface Edge {
  /** The collector's sink: selection happens here, in this process; nothing unselected goes further. */
  sink: FlowSink;
  start(): Promise<void>;
  /** Stops taking flows and publishes what waits, for at most `drainMs` (what is left stays in the spool, if any). */
  stop(drainMs?: number): Promise<void>;
  stats(): EdgeStats;
  /** Resolves when nothing waits and nothing is in flight (or after `timeoutMs`: false). */
  drained(timeoutMs: number): Promise<boolean>;
}

/**
 * Creates an edge. Each kept batch is split by partition in both families, encoded and queued as one
 * group; publishers (at most `maxInFlight` at once) send the oldest first with a message id of edge, run
 * and number, and put a failed one back at the head to try again with the same id (the stream stores it
 * once). `write` never waits for the broker: beyond the outbox's bound, flows are dropped and counted.
 * @see docs/decisions/0006-cluster-transport.md
 */
export function createEdge(settings: EdgeSettings, deps: EdgeDeps): Edge {
  // A run id keeps message ids of a restarted edge apart from the last run's (its numbers start again).
  const run = randomBytes(6).toString('hex');
  const outbox = new Outbox({ memoryBytes: settings.bufferBytes, ...(settings.spool !== undefined ? { spool: settings.spool } : {}) });
  const stats = { received: 0, kept: 0, published: 0, droppedFlows: 0, duplicates: 0, publishErrors: 0, inFlight: 0, brokerUp: true };
  let seq = 0;
  let selected: SelectedBatch | undefined;
  const rowScratch = new PartitionScratch();
  const pool = new BufferPool(POOL_BYTES);
  let stopping = false;
  let backoffMs = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  const idle = new Set<() => void>();
  let lastError = '';

  function pump(): void {
    for (;;) {
      if (stopping || retryTimer !== undefined || stats.inFlight >= settings.maxInFlight) return;
      // While the broker is down only one publish probes it.
      if (!stats.brokerUp && stats.inFlight > 0) return;
      const m = outbox.shift();
      if (m === undefined) { if (stats.inFlight === 0) for (const f of [...idle]) f(); return; }
      stats.inFlight++;
      void send(m);
    }
  }

  async function send(m: Outgoing): Promise<void> {
    try {
      const ack = await deps.transport.publish(m.subject, m.data, { msgId: m.msgId, timeoutMs: settings.publishTimeoutMs });
      if (ack.duplicate) stats.duplicates++;
      outbox.done(m);
      // Acknowledged: the broker has every byte (the socket wrote them; it holds no copy), and nothing else holds them.
      pool.give(m.data);
      stats.published += m.flows;
      if (!stats.brokerUp) deps.logger?.info({ waitingFlows: outbox.size().flows }, 'edge: the broker acknowledges again; sending what waited');
      stats.brokerUp = true;
      backoffMs = 0;
    } catch (e) {
      stats.publishErrors++;
      outbox.retry(m);
      const msg = (e as Error).message;
      if (stats.brokerUp || msg !== lastError) deps.logger?.warn({ err: msg, waitingFlows: outbox.size().flows }, 'edge: publish not acknowledged; keeping the batch and trying again');
      lastError = msg;
      stats.brokerUp = false;
      backoffMs = Math.min(5000, backoffMs === 0 ? 200 : backoffMs * 2);
      if (retryTimer === undefined) {
        retryTimer = setTimeout(() => { retryTimer = undefined; pump(); }, backoffMs);
        retryTimer.unref();
      }
    } finally {
      stats.inFlight--;
      pump();
    }
  }

  const sink: FlowSink = {
    write(batch: FlowBatch): void {
      if (stopping) throw new Error('edge is stopping');
      stats.received += batch.length;
      // The selected batch and the partitions' row lists are reused from batch to batch (encoded before write returns):
      // new arrays per batch were external memory that V8 answered with a full collection every second or so.
      const kept = deps.select(batch, selected);
      if (kept.start.length > (selected?.start.length ?? 0)) selected = kept;
      if (kept.length === 0) return;
      stats.kept += kept.length;
      const now = deps.nowMs();
      const n = seq++;
      const group: Outgoing[] = [];
      for (const family of FAMILIES) {
        // Each partition's rows are encoded straight from the kept batch (no copy of its columns per partition).
        const { order, from } = partitionRows(kept, family, settings.partitions, rowScratch);
        for (let p = 0; p < settings.partitions; p++) {
          const chunks: Chunk[] = [];
          encodeChunks({ edge: settings.edgeId, seq: n, family, partition: p, selectedAtMs: now }, kept, order, from[p]!, from[p + 1]!, chunks, pool);
          chunks.forEach((c, k) => group.push({
            msgId: `${settings.edgeId}.${run}.${n}.${family}${p}${k === 0 ? '' : `.${k}`}`, subject: partitionSubject(settings.subjectPrefix, family, p),
            data: c.data, flows: family === 'd' ? c.rows : 0,
          }));
        }
      }
      if (!outbox.offer(group)) {
        for (const m of group) pool.give(m.data);
        stats.droppedFlows += kept.length;
        if (stats.droppedFlows === kept.length || stats.droppedFlows % 100_000 < kept.length) {
          deps.logger?.error({ droppedFlows: stats.droppedFlows, bufferBytes: settings.bufferBytes, spool: settings.spool !== undefined }, 'edge: outbox full; dropping kept flows (counted)');
        }
        return;
      }
      pump();
    },
  };

  const snapshot = (): EdgeStats => {
    const s = outbox.size();
    return { ...stats, waitingFlows: s.flows, waitingBytes: s.bytes, spooledFlows: s.spooledFlows };
  };

  deps.metrics?.collect('mamori_edge_flows_total', 'Flows at the edge by outcome: received, kept by selection, published (acknowledged), dropped beyond the outbox bound.', 'counter', () => [
    { labels: { edge: settings.edgeId, outcome: 'received' }, value: stats.received },
    { labels: { edge: settings.edgeId, outcome: 'kept' }, value: stats.kept },
    { labels: { edge: settings.edgeId, outcome: 'published' }, value: stats.published },
    { labels: { edge: settings.edgeId, outcome: 'dropped_outbox_full' }, value: stats.droppedFlows },
  ]);
  deps.metrics?.collect('mamori_edge_waiting_flows', 'Kept flows waiting for the broker (memory and spool).', 'gauge', () => [{ labels: { edge: settings.edgeId }, value: outbox.size().flows }]);
  deps.metrics?.collect('mamori_edge_waiting_bytes', 'Encoded bytes waiting for the broker (memory and spool).', 'gauge', () => [{ labels: { edge: settings.edgeId }, value: outbox.size().bytes }]);
  deps.metrics?.collect('mamori_edge_spooled_flows', 'Kept flows waiting in the disk spool.', 'gauge', () => [{ labels: { edge: settings.edgeId }, value: outbox.size().spooledFlows }]);
  deps.metrics?.collect('mamori_edge_in_flight', 'Batches awaiting the broker\'s acknowledgement.', 'gauge', () => [{ labels: { edge: settings.edgeId }, value: stats.inFlight }]);
  deps.metrics?.collect('mamori_edge_publish_errors_total', 'Publishes not acknowledged (each retried with the same message id).', 'counter', () => [{ labels: { edge: settings.edgeId }, value: stats.publishErrors }]);
  deps.metrics?.collect('mamori_edge_duplicates_total', 'Retried publishes the stream had already stored (stored once).', 'counter', () => [{ labels: { edge: settings.edgeId }, value: stats.duplicates }]);
  deps.metrics?.collect('mamori_edge_broker_up', '1 while the broker acknowledges publishes.', 'gauge', () => [{ labels: { edge: settings.edgeId }, value: stats.brokerUp ? 1 : 0 }]);

  const drained = (timeoutMs: number): Promise<boolean> => new Promise((resolve) => {
    const done = (): void => { clearTimeout(t); idle.delete(done); resolve(true); };
    const t = setTimeout(() => { idle.delete(done); resolve(outbox.size().messages === 0 && stats.inFlight === 0); }, timeoutMs);
    idle.add(done);
    if (outbox.size().messages === 0 && stats.inFlight === 0) done();
    else pump();
  });

  return {
    sink,
    async start() {
      // Spooled batches of an earlier run go first.
      if (outbox.size().messages > 0) deps.logger?.info({ spooledFlows: outbox.size().spooledFlows }, 'edge: sending batches spooled by an earlier run');
      pump();
    },
    async stop(drainMs = 10_000) {
      const ok = await drained(drainMs);
      stopping = true;
      if (retryTimer !== undefined) { clearTimeout(retryTimer); retryTimer = undefined; }
      // Publishes under way finish (acknowledged, or back in the outbox) before what waits is kept.
      const until = Date.now() + settings.publishTimeoutMs + 1000;
      while (stats.inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      if (ok) return;
      const kept = outbox.persist();
      deps.logger?.warn({ waitingFlows: outbox.size().flows, spooled: kept }, settings.spool !== undefined
        ? 'edge: stopped with flows not yet published; they wait in the spool for the next start'
        : 'edge: stopped with flows not yet published; they are lost (no spool configured: cluster.edge.spoolDir)');
    },
    stats: snapshot,
    drained,
  };
}
