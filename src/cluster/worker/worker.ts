/** @module The analysis worker: owns partitions (leases), consumes them durably, runs the detectors of each family, writes findings, acknowledges after they are stored. */
import {
  createDetectors, HostTable, IndicatorMatcher, type AnalysisBatch, type DetectorKind, type Detectors, type DetectorsConfig, type FindingUpdate, type Indicator,
} from '#modules/analysis/index.js';
import type { Consumption, Delivery, DeliveryAck, Transport } from '#platform/transport/index.js';
import { decodeWireForAnalysis, FAMILIES, FAMILY_KINDS, partitionSubject, SeenIds, SeenSequences, WireError, type Family } from '../wire/index.js';
import type { Leases } from './leases.js';

/** How long a worker remembers a message id it analysed (twice the stream's duplicate window: an edge's retries fall within it). */
const ANALYSED_IDS_KEEP_MS = 20 * 60_000;

/**
 * An edge heard from within this long holds back the closing of time bins until its own flows have passed them: edges
 * publish independently (one may drain a backlog after an outage seconds after another), and a bin judged on one edge's
 * half would miss the other's. An edge silent for longer stops holding bins back; its later flows for closed bins are lost.
 */
const EDGE_HOLD_MS = 60_000; // and a partition with a backlog (see flushAt)

/** Settings of a worker (`cluster.*`, `cluster.worker.*`). */
export interface WorkerSettings {
  workerId: string;
  stream: string;
  subjectPrefix: string;
  partitions: number;
  /** How far back a worker replays a partition it takes, to rebuild its detectors' state (ms). */
  replayMs: number;
  flushEveryMs: number;
  /** How often ownership is checked and rebalanced (ms). */
  rebalanceEveryMs: number;
  /** After this long without a message, a family's detectors close every open window (end of input); 0: never. */
  finalAfterIdleMs: number;
  /** A delivery not acknowledged this long goes to the consumer again (ms): after a worker died, to the next owner. */
  ackWaitMs: number;
  /** Longest a replay may take before the rebuild fails and is tried again at the next rebalance (ms). */
  replayTimeoutMs: number;
  /** Hosts interned per family (each family's detectors share one table). */
  maxHosts: number;
  /** Detector thresholds (`analysis.beacon`, `.scan`, `.ddos`), the same as the single process uses; defaults when absent. */
  detectorConfig?: DetectorsConfig;
}

/** What a worker needs. */
export interface WorkerDeps {
  transport: Transport;
  leases: Leases;
  /** Stores findings (merged by kind and subject: writing the same again changes nothing but the revision). */
  recordFindings(updates: readonly FindingUpdate[]): Promise<unknown>;
  indicators(): Promise<Indicator[]>;
  nowMs(): number;
  logger?: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
  metrics?: { collect(name: string, help: string, type: 'counter' | 'gauge', fn: () => { labels: Record<string, string>; value: number }[]): void };
}

/** What a worker has done. */
export interface WorkerStats {
  owned: string[];
  messages: number;
  flows: number;
  replayedFlows: number;
  findingsWritten: number;
  rebuilds: number;
  badMessages: number;
  flushErrors: number;
}

/** A delivery analysed and waiting for its acknowledgement: where it came from and how to settle it. */
interface Waiting { partition: number; seq: number; ack: DeliveryAck }

interface FamilyState {
  family: Family;
  hosts: HostTable;
  detectors: Detectors;
  owned: Map<number, Consumption>;
  /**
   * Deliveries analysed but not yet acknowledged (acknowledged once the findings that cover them are stored): their ack
   * handles, not the deliveries, so a message's bytes are freed once analysed.
   */
  pending: Waiting[];
  /** Sequences analysed per partition: a redelivery of one (its acknowledgement lost) is acknowledged, not analysed twice. */
  analysed: Map<number, SeenSequences>;
  /** Message ids analysed: a second stored copy of one publish (another sequence) is not analysed twice. */
  ids: SeenIds;
  lastMessageAt: number;
  /** Per edge: the latest flow end it sent and when (wall clock) it was last heard from (see `flushAt`). */
  edges: Map<string, { end: number; heardAt: number }>;
  /** Per partition: the latest flow end analysed from it, and when (wall clock) its consumer last delivered. */
  partitions: Map<number, { end: number; heardAt: number }>;
  /** Partitions whose consumer had a backlog at its last delivery (see `flushAt`). */
  behind: Set<number>;
  closed: boolean;
  /** Serializes ingest, flush and rebuild of this family. */
  chain: Promise<void>;
  /** The detectors' input each message of this family is decoded into (they read it before the next decode). */
  batch: AnalysisBatch | undefined;
}

/** A running worker. */
export interface AnalysisWorker {
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): WorkerStats;
  /** Runs one rebalance now (tests). */
  rebalance(): Promise<void>;
  /** Flushes every family now (`final` closes open windows). */
  flush(final?: boolean): Promise<void>;
  /** Stops at once, storing and acknowledging nothing (what a crash does; the next owner replays). */
  abort(): Promise<void>;
}

/**
 * Creates an analysis worker. Every `rebalanceEveryMs` it compares what it owns with its fair share
 * (partitions ÷ live workers, rounded up), lets extra ones go and takes free ones. When a family's set
 * changes, its detectors start over and replay the owned partitions over `replayMs` up to what was
 * acknowledged, then resume their durable consumers (one per partition: nats-server 2.9 takes one filter
 * subject per consumer); findings are stored before deliveries are acknowledged, so nothing acknowledged
 * is lost and a crash only replays.
 * @see docs/decisions/0007-cluster-wire-and-partitions.md
 */
export function createAnalysisWorker(settings: WorkerSettings, deps: WorkerDeps): AnalysisWorker {
  const total = FAMILIES.length * settings.partitions;
  const stats = { messages: 0, flows: 0, replayedFlows: 0, findingsWritten: 0, rebuilds: 0, badMessages: 0, flushErrors: 0 };
  let indicators: Indicator[] = [];
  const liveByFamily: Record<Family, number> = { d: 0, s: 0 };
  const finalByFamily: Record<Family, number> = { d: 0, s: 0 };
  const families = new Map<Family, FamilyState>();
  let flushTimer: ReturnType<typeof setInterval> | undefined;
  let idleTimer: ReturnType<typeof setInterval> | undefined;
  let rebalanceTimer: ReturnType<typeof setInterval> | undefined;
  let stopping = false;
  let rebalancing: Promise<void> = Promise.resolve();
  // Partitions this worker holds a lease on (advisory locks are re-entrant: never take one twice).
  const leased = new Set<number>();

  const durableName = (f: Family, p: number): string => `analysis-${f}-${p}`;
  const subject = (f: Family, p: number): string => partitionSubject(settings.subjectPrefix, f, p);

  function freshState(family: Family, owned: Map<number, Consumption> = new Map()): FamilyState {
    const hosts = new HostTable(settings.maxHosts);
    const kinds: readonly DetectorKind[] = FAMILY_KINDS[family];
    const detectors = createDetectors(hosts, settings.detectorConfig ?? {}, new IndicatorMatcher(kinds.includes('indicators') ? indicators : []), kinds);
    return { family, hosts, detectors, owned, pending: [], analysed: new Map(), ids: new SeenIds(ANALYSED_IDS_KEEP_MS), lastMessageAt: 0, edges: new Map(), partitions: new Map(), behind: new Set(), closed: true, chain: Promise.resolve(), batch: undefined };
  }

  const within = (st: FamilyState, fn: () => Promise<void>): Promise<void> => {
    const run = st.chain.then(fn);
    st.chain = run.catch(() => undefined);
    return run;
  };

  /**
   * Analyses one message: decoded straight into the detectors' input (hosts interned into the family's table) and
   * analysed at once. A message that is not a batch is acknowledged and counted, never retried forever.
   */
  async function analyse(st: FamilyState, partition: number, d: Delivery, replay: boolean): Promise<void> {
    if (st.ids.has(d.msgId)) return; // acknowledged by the caller
    let decoded;
    try {
      decoded = decodeWireForAnalysis(d.data, st.hosts, st.batch);
      st.batch = decoded.batch;
    } catch (e) {
      stats.badMessages++;
      deps.logger?.error({ err: e instanceof WireError ? `${e.code}: ${e.message}` : String(e), subject: d.subject, seq: d.seq }, 'worker: a message is not a flow batch; skipped');
      if (!replay) st.pending.push({ partition, seq: d.seq, ack: d.ackHandle });
      return;
    }
    const { rows, end } = decoded;
    const edge = st.edges.get(decoded.meta.edge);
    // A batch without flows says nothing of the edge's time (its end would hold every bin back).
    if (edge !== undefined && rows > 0) { edge.end = Math.max(edge.end, end); edge.heardAt = Date.now(); }
    else if (rows > 0) st.edges.set(decoded.meta.edge, { end, heardAt: Date.now() });
    if (!replay) {
      const part = st.partitions.get(partition);
      if (part === undefined) st.partitions.set(partition, { end: rows > 0 ? end : -Infinity, heardAt: Date.now() });
      else { if (rows > 0) part.end = Math.max(part.end, end); part.heardAt = Date.now(); }
      if (d.pending > 0) st.behind.add(partition);
      else st.behind.delete(partition);
    }
    st.detectors.ingest(decoded.batch);
    if (replay) stats.replayedFlows += rows;
    else { stats.flows += rows; stats.messages++; liveByFamily[st.family] += rows; }
    let seen = st.analysed.get(partition);
    if (seen === undefined) st.analysed.set(partition, (seen = new SeenSequences()));
    seen.add(d.seq);
    st.ids.add(d.msgId, d.storedAtMs);
    st.lastMessageAt = Date.now();
    st.closed = false;
  }

  /**
   * The time up to which bins may close: now, held back to the slowest edge heard from within EDGE_HOLD_MS, and to
   * every partition still working through a backlog. The consumers of one worker deliver its partitions interleaved,
   * and after an outage or a move one may drain minutes of flows behind the others: its edges' later flows (from the
   * other partitions) must not close the bins its own flows have not reached. A partition silent for EDGE_HOLD_MS
   * stops holding bins back, as an edge does.
   */
  function flushAt(st: FamilyState): number {
    let at = deps.nowMs();
    const since = Date.now() - EDGE_HOLD_MS;
    for (const e of st.edges.values()) if (e.heardAt >= since && e.end < at) at = e.end;
    for (const p of st.behind) {
      const part = st.partitions.get(p);
      if (part !== undefined && part.heardAt >= since && Number.isFinite(part.end) && part.end < at) at = part.end;
    }
    return at;
  }

  async function flushFamily(st: FamilyState, final: boolean): Promise<void> {
    const acks = st.pending;
    st.pending = [];
    const updates = st.detectors.flush(final ? deps.nowMs() : flushAt(st), final);
    try {
      if (updates.length > 0) { await deps.recordFindings(updates); stats.findingsWritten += updates.length; }
    } catch (e) {
      // Not acknowledged: JetStream delivers them again after the ack wait; analysed ones are skipped then.
      stats.flushErrors++;
      st.pending = [...acks, ...st.pending];
      throw e;
    }
    for (const w of acks) w.ack.ack();
    if (final) { st.closed = true; finalByFamily[st.family]++; }
    // What is acknowledged now will not come again: forget it (the replay reads by time, not by this set).
    const upTo = new Map<number, number>();
    for (const w of acks) upTo.set(w.partition, Math.max(upTo.get(w.partition) ?? 0, w.seq));
    for (const [p, seq] of upTo) { const floor = await deps.transport.ackFloor(settings.stream, durableName(st.family, p)).catch(() => 0); st.analysed.get(p)?.prune(Math.min(floor, seq)); }
  }

  /** Replays a partition from `replayMs` ago up to its durable consumer's last acknowledged message. */
  async function replay(st: FamilyState, p: number): Promise<void> {
    const floor = await deps.transport.ackFloor(settings.stream, durableName(st.family, p));
    if (floor === 0) return;
    let done!: () => void;
    const finished = new Promise<void>((r) => { done = r; });
    const c = await deps.transport.consume(settings.stream, { filterSubject: subject(st.family, p), deliverFrom: { kind: 'time', atMs: deps.nowMs() - settings.replayMs }, maxAckPending: 256 }, async (d) => {
      if (d.seq <= floor) await analyse(st, p, d, true);
      d.ack();
      if (d.seq >= floor) done();
    });
    // Nothing left in the window up to the floor (aged out): the stream says so by delivering nothing.
    const idle = setInterval(() => { void c.unfinished().then((n) => { if (n === 0) done(); }, () => undefined); }, 500);
    // A replay that cannot finish (its servers went away) fails the rebuild; the next rebalance starts it again.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`replay of ${subject(st.family, p)} did not finish in ${settings.replayTimeoutMs} ms`)), settings.replayTimeoutMs); });
    try {
      await Promise.race([finished, timeout]);
    } finally {
      clearTimeout(timer);
      clearInterval(idle);
      await c.stop();
    }
  }

  /** Starts the durable consumer of a partition this worker holds. */
  async function resume(st: FamilyState, p: number): Promise<Consumption> {
    return deps.transport.consume(settings.stream, { durable: durableName(st.family, p), filterSubject: subject(st.family, p), ackWaitMs: settings.ackWaitMs, maxAckPending: 4096 }, (d) => within(st, async () => {
      // Analysed already (a redelivery): acknowledged with the next flush.
      if (st.analysed.get(p)?.has(d.seq) === true) { st.pending.push({ partition: p, seq: d.seq, ack: d.ackHandle }); return; }
      await analyse(st, p, d, false);
      st.pending.push({ partition: p, seq: d.seq, ack: d.ackHandle });
    }));
  }

  /** Gives a family the partitions `want`: stores what it found, starts over and replays (only when the set changed). */
  async function rebuild(family: Family, want: Set<number>): Promise<void> {
    const old = families.get(family);
    if (old !== undefined) {
      for (const c of old.owned.values()) await c.stop();
      await within(old, () => flushFamily(old, false));
    }
    const st = freshState(family);
    // Owning nothing until every replay finished: a failed one leaves the family empty, rebuilt at the next rebalance.
    families.set(family, st);
    stats.rebuilds++;
    await within(st, async () => {
      for (const p of [...want].sort((a, b) => a - b)) await replay(st, p);
    });
    const consumers = new Map<number, Consumption>();
    try {
      for (const p of [...want].sort((a, b) => a - b)) consumers.set(p, await resume(st, p));
    } catch (e) {
      for (const c of consumers.values()) await c.stop();
      throw e;
    }
    for (const [p, c] of consumers) st.owned.set(p, c);
  }

  async function rebalance(): Promise<void> {
    if (stopping) return;
    if (!deps.leases.healthy()) throw new Error('lease session lost');
    const live = Math.max(1, await deps.leases.liveWorkers());
    const share = Math.ceil(total / live);
    const mine = new Set(leased);
    const next = new Set(mine);
    // Too many: the highest keys go first, so workers converge on the same split.
    for (const k of [...mine].sort((a, b) => b - a)) {
      if (next.size <= share) break;
      next.delete(k);
    }
    if (next.size < share) {
      const taken = await deps.leases.held();
      for (let i = 0; i < total && next.size < share; i++) {
        const k = Math.floor(i / settings.partitions) * 65_536 + (i % settings.partitions);
        if (next.has(k) || taken.has(k)) continue;
        if (await deps.leases.tryTake({ family: Math.floor(i / settings.partitions), partition: i % settings.partitions })) { next.add(k); leased.add(k); }
      }
    }
    for (const [fi, f] of FAMILIES.entries()) {
      const want = new Set([...next].filter((k) => Math.floor(k / 65_536) === fi).map((k) => k % 65_536));
      const have = new Set(families.get(f)?.owned.keys() ?? []);
      if (want.size === have.size && [...want].every((p) => have.has(p))) continue;
      deps.logger?.info({ family: f, partitions: [...want].sort((a, b) => a - b) }, 'worker: partitions changed; detectors start over and replay');
      await rebuild(f, want);
      // Released only after the findings of what it analysed are stored and acknowledged.
      for (const k of [...leased].filter((x) => Math.floor(x / 65_536) === fi && !want.has(x % 65_536))) {
        await deps.leases.release({ family: fi, partition: k % 65_536 });
        leased.delete(k);
      }
    }
  }

  const scheduleRebalance = (): Promise<void> => {
    rebalancing = rebalancing.then(rebalance).catch((e: unknown) => {
      deps.logger?.error({ err: e }, 'worker: rebalance failed');
      if (!deps.leases.healthy()) void stopConsumers();
    });
    return rebalancing;
  };

  /** The lease session is gone: another worker may own these partitions now, so consuming stops at once. */
  async function stopConsumers(): Promise<void> {
    for (const st of families.values()) for (const c of st.owned.values()) await c.stop();
    families.clear();
  }

  /** Closes the windows of every family idle for finalAfterIdleMs now (end of input), not only at the next periodic flush. */
  async function flushIdle(): Promise<void> {
    for (const st of families.values()) {
      const idle = (): boolean => !st.closed && Date.now() - st.lastMessageAt >= settings.finalAfterIdleMs;
      // Checked again in the family's turn: deliveries queued before it (the loop was busy) make it not idle after all.
      if (idle()) await within(st, () => (idle() ? flushFamily(st, true) : Promise.resolve()));
    }
  }

  async function flushAll(final = false): Promise<void> {
    for (const st of families.values()) {
      const closeNow = final || (settings.finalAfterIdleMs > 0 && !st.closed && Date.now() - st.lastMessageAt >= settings.finalAfterIdleMs);
      await within(st, () => flushFamily(st, closeNow));
    }
  }

  deps.metrics?.collect('mamori_worker_flows_total', 'Flows analysed by this worker (live by partition family, and replayed to rebuild state).', 'counter', () => [
    ...FAMILIES.map((f) => ({ labels: { worker: settings.workerId, source: 'live', family: f }, value: liveByFamily[f] })),
    { labels: { worker: settings.workerId, source: 'replay' }, value: stats.replayedFlows },
  ]);
  deps.metrics?.collect('mamori_worker_final_flushes_total', 'Flushes that closed every open window of a family (end of input: idle for cluster.worker.finalAfterIdleSeconds).', 'counter', () =>
    FAMILIES.map((f) => ({ labels: { worker: settings.workerId, family: f }, value: finalByFamily[f] })));
  deps.metrics?.collect('mamori_worker_windows_open', 'Whether a family analysed flows since it last closed every window (1), or not (0): a final flush after the last flow leaves 0.', 'gauge', () =>
    FAMILIES.map((f) => ({ labels: { worker: settings.workerId, family: f }, value: families.get(f)?.closed === false ? 1 : 0 })));
  deps.metrics?.collect('mamori_worker_partitions', 'Partitions this worker owns, by family.', 'gauge', () => FAMILIES.map((f) => ({ labels: { worker: settings.workerId, family: f }, value: families.get(f)?.owned.size ?? 0 })));
  deps.metrics?.collect('mamori_worker_findings_written_total', 'Finding updates stored.', 'counter', () => [{ labels: { worker: settings.workerId }, value: stats.findingsWritten }]);
  deps.metrics?.collect('mamori_worker_bad_messages_total', 'Messages that were not flow batches (skipped).', 'counter', () => [{ labels: { worker: settings.workerId }, value: stats.badMessages }]);

  return {
    async start() {
      indicators = await deps.indicators();
      await deps.leases.join();
      await scheduleRebalance();
      flushTimer = setInterval(() => { flushAll().catch((e: unknown) => deps.logger?.error({ err: e }, 'worker: findings flush failed')); }, settings.flushEveryMs);
      rebalanceTimer = setInterval(() => { void scheduleRebalance(); }, settings.rebalanceEveryMs);
      if (settings.finalAfterIdleMs > 0) {
        idleTimer = setInterval(() => { flushIdle().catch((e: unknown) => deps.logger?.error({ err: e }, 'worker: findings flush failed')); }, Math.max(250, Math.min(settings.flushEveryMs, settings.finalAfterIdleMs / 4)));
      }
    },
    async stop() {
      stopping = true;
      if (flushTimer !== undefined) clearInterval(flushTimer);
      if (rebalanceTimer !== undefined) clearInterval(rebalanceTimer);
      if (idleTimer !== undefined) clearInterval(idleTimer);
      await rebalancing;
      for (const st of families.values()) for (const c of st.owned.values()) await c.stop();
      try {
        await flushAll();
      } finally {
        families.clear();
        leased.clear();
        await deps.leases.close();
      }
    },
    stats: () => ({ ...stats, owned: FAMILIES.flatMap((f) => [...(families.get(f)?.owned.keys() ?? [])].sort((a, b) => a - b).map((p) => `${f}${p}`)) }),
    rebalance: scheduleRebalance,
    flush: flushAll,
    async abort() {
      stopping = true;
      leased.clear();
      if (flushTimer !== undefined) clearInterval(flushTimer);
      if (rebalanceTimer !== undefined) clearInterval(rebalanceTimer);
      if (idleTimer !== undefined) clearInterval(idleTimer);
      await stopConsumers();
      await deps.leases.close();
    },
  };
}
