/** @module The legal pipeline in one process: collected batches → lawful selection → flow archive and detectors → findings. */
import { availableParallelism } from 'node:os';
import { addressView, type FlowBatch, type FlowSink } from '#modules/collection/index.js';
import { ADDR_FOREIGN, ADDR_PSEUDONYM, createSelectedBatch, LOSS_REASONS, type LossReason, type SelectedBatch } from '#modules/selection/index.js';
import { DETECTOR_KINDS, HostTable, copyFlowRow, createAnalysisBatch, createDetectorThreads, createDetectors, hashSlotAt, IndicatorMatcher, dbIndicatorSource, type AnalysisBatch, type DetectorKind, type Detectors, type DetectorsConfig, type DetectorThreads, type FindingUpdate, type Indicator } from '#modules/analysis/index.js';
import { systemContext } from '#platform/context/index.js';
import type { Config } from '#platform/config/index.js';
import type { Logger } from '#platform/logger/index.js';
import type { MetricsRegistry } from '#platform/metrics/index.js';
import type { Core } from './core.js';
import type { Component } from './run.js';

/**
 * The detector threads of an `analysis.detectorThreads` setting: a number as given; `auto` one thread
 * with two cores (the pipeline's thread and one detector thread each get a core), two with three or
 * more (bench/pipeline: the kinds split best in two), none on one core.
 * @see docs/decisions/0005-detector-threads-by-default.md
 */
export function detectorThreadsFor(setting: number | 'auto', cores = availableParallelism()): number {
  if (setting !== 'auto') return setting;
  return cores >= 3 ? 2 : cores === 2 ? 1 : 0;
}

/** The detector thresholds of a configuration (`analysis.beacon`, `analysis.scan`, `analysis.ddos`). @see docs/detection.md */
export function detectorConfigOf(config: Pick<Config, 'analysis'>): DetectorsConfig {
  return { beacon: config.analysis.beacon, scan: config.analysis.scan, ddos: config.analysis.ddos };
}

/** Pipeline settings. */
export interface PipelineOptions {
  /** How often detectors flush their findings into the store. */
  flushEveryMs?: number;
  /** How often the indicator set is reloaded from the store. */
  indicatorReloadMs?: number;
  /** How often selection's counters go to the audit log (`selection:counters`, the Diet report's flow figures). */
  countersEveryMs?: number;
  /**
   * Worker threads the detectors run in (`analysis.detectorThreads`): 0 runs them in the pipeline's own
   * thread; 1–4 split the detector kinds among that many threads (none stays in the pipeline's thread:
   * localKinds), with the same findings.
   * @see docs/detection.md#threads
   */
  analysisThreads?: number;
  /** Detector thresholds (`analysis.beacon`, `.scan`, `.ddos`; defaults in docs/detection.md), the same in every thread. */
  detectorConfig?: DetectorsConfig;
  /**
   * How long `stop` waits for the detector threads to answer its flush before stopping them (a thread
   * stuck in a loop would otherwise hold shutdown forever); the flush then fails and is reported.
   */
  stopTimeoutMs?: number;
  /**
   * After a detector thread fails, fresh detector threads start after this delay (ms), doubled with each
   * failure since the last successful flush, at most five minutes; flows until then are archived and
   * counted as unanalysed. Default 1,000.
   */
  restartDelayMs?: number;
  /** Kept flows waiting for the detectors at most (`analysis.queueRows`); beyond it a batch is dropped whole (`analysis_behind`). */
  analysisQueueRows?: number;
  /**
   * What the sink does when the detectors or the archive writer are full: `drop` (live UDP: the batch is
   * dropped whole and counted by reason, the receive path never waits) or `wait` (file imports: the sink's
   * promise waits for room).
   */
  whenBehind?: 'drop' | 'wait';
  /** How often, at most, a drop episode is logged while it lasts (default one minute). */
  dropLogEveryMs?: number;
  logger?: Logger;
  metrics?: MetricsRegistry;
}

/** What the pipeline has done so far. */
export interface PipelineStats {
  received: number;
  kept: number;
  archived: number;
  findingsWritten: number;
  archiveErrors: number;
  /** Detector thread failures (each followed by fresh detector threads after a delay; flows are still archived). */
  detectorFailures: number;
  /** Times fresh detector threads were started after a failure. */
  detectorRestarts: number;
  /** Flows archived but never analysed: in detector threads that failed, or kept while they restarted. */
  unanalysedFlows: number;
  /** Kept flows dropped at admission because a stage was full or failing, by reason (never archived, never analysed). */
  dropped: Record<LossReason, number>;
  /** Kept flows waiting for the detectors now. */
  analysisQueued: number;
}

/** Rows interned per prefetch pass: their index cells and host words (four lines a row) stay in L2. */
const INTERN_CHUNK = 256;
const slotHashes = new Int32Array(INTERN_CHUNK * 2);
let keptRows = new Int32Array(4096);
const touched = new Uint32Array(1); // what the prefetch pass read, stored so the reads are not optimized away

/**
 * Converts kept, minimized flows into the analysis input: hosts interned by the bytes of their foreign
 * address or pseudonym (no strings on this path); a flow missing an endpoint (its basis did not allow
 * addresses) is skipped. `out` is an AnalysisBatch over the in-thread host table, or a detector pool's
 * shared SlotBatch over the pool's host table: the same rows and ids either way. The columns are copied
 * first; the hosts are then interned a chunk at a time, hashing and touching every row's index cell
 * before looking any up, so the cache misses overlap. Hot loop: bench/pipeline.
 */
export function adaptSelectedBatch(sel: SelectedBatch, out: AnalysisBatch): AnalysisBatch {
  const hosts = out.hosts;
  if (out.start.length < sel.length) throw new RangeError('output batch is smaller than the selected batch');
  // A table that might fill during this batch starts over first, rather than halfway through it (the
  // detector threads' path waits for them to go idle before, see threadedDetectors): the table would
  // reset within the next few batches anyway, and otherwise every batch until then would wait.
  if (mightFill(hosts, sel.length)) hosts.clear();
  if (keptRows.length < sel.length) keptRows = new Int32Array(sel.length);
  const rows = keptRows;
  const basisMap = new Int32Array(sel.basisIds.length).fill(-1);
  out.bases = [];
  let n = 0;
  for (let i = 0; i < sel.length; i++) {
    const sk = sel.srcKind[i]!;
    const dk = sel.dstKind[i]!;
    if ((sk !== ADDR_FOREIGN && sk !== ADDR_PSEUDONYM) || (dk !== ADDR_FOREIGN && dk !== ADDR_PSEUDONYM)) continue;
    const bi = sel.basisIndex[i]!;
    let b = basisMap[bi]!;
    if (b < 0) { b = out.bases.length; out.bases.push(sel.basisIds[bi]!); basisMap[bi] = b; }
    rows[n] = i;
    out.basis[n] = b;
    n++;
  }
  if (n === sel.length) {
    // Every row kept (the usual case): whole columns at once.
    out.start.set(sel.start.subarray(0, n));
    out.end.set(sel.end.subarray(0, n));
    out.srcPort.set(sel.srcPort.subarray(0, n));
    out.dstPort.set(sel.dstPort.subarray(0, n));
    out.proto.set(sel.proto.subarray(0, n));
    out.tcpFlags.set(sel.tcpFlags.subarray(0, n));
    out.bytes.set(sel.bytes.subarray(0, n));
    out.packets.set(sel.packets.subarray(0, n));
    for (let k = 0; k < n; k++) out.samplingRate[k] = sel.samplingRate[k]! || 1;
  } else {
    for (let k = 0; k < n; k++) copyFlowRow(out, k, sel, rows[k]!);
  }
  const sa = addressView(sel.srcAddr), da = addressView(sel.dstAddr), hs = slotHashes;
  // The host table clears itself when full; ids interned before that are stale, so the batch starts over.
  for (let attempt = 0; ; attempt++) {
    const generation = hosts.generation;
    let acc = 0;
    for (let from = 0; from < n; from += INTERN_CHUNK) {
      const to = Math.min(n, from + INTERN_CHUNK);
      for (let k = from; k < to; k++) {
        const i = rows[k]!;
        const j = (k - from) * 2;
        hs[j] = hashSlotAt(sa, i * 16, sel.srcKind[i] === ADDR_PSEUDONYM);
        hs[j + 1] = hashSlotAt(da, i * 16, sel.dstKind[i] === ADDR_PSEUDONYM);
      }
      // Tight loops only: each keeps many misses in flight (a loop doing more per row keeps a couple).
      // First the index cells, then — behind cached cells — each host's words.
      const nh = (to - from) * 2;
      for (let j = 0; j < nh; j++) acc ^= hosts.touchCell(hs[j]!);
      for (let j = 0; j < nh; j++) acc ^= hosts.touch(hs[j]!);
      for (let k = from; k < to; k++) {
        const i = rows[k]!;
        const j = (k - from) * 2;
        out.src[k] = hosts.internHashedAt(sa, i * 16, sel.srcKind[i] === ADDR_PSEUDONYM, hs[j]!);
        out.dst[k] = hosts.internHashedAt(da, i * 16, sel.dstKind[i] === ADDR_PSEUDONYM, hs[j + 1]!);
      }
    }
    touched[0] = acc;
    out.length = hosts.generation === generation ? n : 0;
    if (hosts.generation === generation || attempt > 0) return out;
  }
}

/** Whether interning a batch of `rows` rows (two hosts a row) could fill the host table. */
function mightFill(hosts: HostTable, rows: number): boolean {
  return hosts.size + 2 * rows > hosts.maxHosts;
}

/**
 * The detectors as the pipeline drives them: in its own thread (synchronous underneath) or in worker
 * threads. Both give the same findings for the same kept flows.
 */
export interface PipelineDetectors {
  /** Feeds kept flows; resolves once they are analysed (in-thread) or handed over (threads: waits only when the threads fall behind). */
  ingest(kept: SelectedBatch): Promise<void>;
  flush(nowMs: number, final: boolean): Promise<FindingUpdate[]>;
  /**
   * Only the kinds run in the pipeline's thread beside detector threads (none in-thread): their findings
   * can still be taken when the threads have failed.
   */
  flushLocal(nowMs: number, final: boolean): FindingUpdate[];
  setIndicators(matcher: IndicatorMatcher, source: readonly Indicator[]): Promise<void>;
  close(): Promise<void>;
}

/** Detectors in the pipeline's thread over one host table. */
export function inThreadDetectors(detectors: Detectors, hosts: HostTable): PipelineDetectors {
  let batch = createAnalysisBatch(4096, hosts);
  return {
    ingest(kept) {
      if (batch.start.length < kept.length) batch = createAnalysisBatch(kept.length, hosts);
      detectors.ingest(adaptSelectedBatch(kept, batch));
      return Promise.resolve();
    },
    flush: (nowMs, final) => Promise.resolve(detectors.flush(nowMs, final)),
    flushLocal: () => [],
    setIndicators(matcher) { detectors.setIndicators(matcher); return Promise.resolve(); },
    close: () => Promise.resolve(),
  };
}

/**
 * The detector kinds the pipeline's thread keeps beside `threads` detector threads: none. In the server that
 * thread also drains the receive ring, decodes, selects and appends to the archive, and is the busiest of the
 * process (bench/ingest's CPU a flow by thread: pipeline 0.56–0.71 µs, detector thread 0.30–0.37), so DDoS and
 * indicators (≈ 0.08 µs) run in the detector thread even beside one. Decision 0012 (was: both kept here beside
 * one thread, decision 0004, from bench/pipeline, which has no receive path and no archive).
 */
export function localKinds(_threads: number): DetectorKind[] {
  return [];
}

/**
 * Detectors in worker threads (see createDetectorThreads): kept flows are adapted straight into a
 * shared batch, their hosts interned here into the pool's shared host table, once for every thread.
 * `local` (detectors over `threads.hosts`, running the kinds the threads do not) reads the same batch
 * in this thread once it is handed over.
 */
export function threadedDetectors(threads: DetectorThreads, local?: Detectors): PipelineDetectors {
  // This thread's findings of a flush whose thread part failed: flushLocal hands them on.
  let unsent: FindingUpdate[] = [];
  return {
    async ingest(kept) {
      // The table may clear while interning this batch: no thread may still be reading older ids then.
      if (mightFill(threads.hosts, kept.length)) await threads.idle();
      const slot = await threads.acquire(kept.length);
      adaptSelectedBatch(kept, slot);
      threads.submit(slot);
      local?.ingest(slot);
    },
    async flush(nowMs, final) {
      // This thread's kinds at once, the threads' behind the batches already handed over: both cover
      // exactly the batches given before the flush, even while more keep coming.
      const here = local?.flushByKind(nowMs, final) ?? {};
      let there: Partial<Record<DetectorKind, FindingUpdate[]>>;
      try {
        there = await threads.flushByKind(nowMs, final);
      } catch (e) {
        unsent.push(...DETECTOR_KINDS.flatMap((k) => here[k] ?? []));
        throw e;
      }
      return DETECTOR_KINDS.flatMap((k) => here[k] ?? there[k] ?? []);
    },
    flushLocal(nowMs, final) {
      const here = local?.flushByKind(nowMs, final) ?? {};
      const out = [...unsent, ...DETECTOR_KINDS.flatMap((k) => here[k] ?? [])];
      unsent = [];
      return out;
    },
    async setIndicators(matcher, source) {
      if (local?.kinds.includes('indicators') === true) local.setIndicators(matcher);
      else await threads.setIndicators([...source]);
    },
    close: () => threads.close(),
  };
}

/** The pipeline: a sink for the collector and flow imports, and a component that flushes findings. */
export interface Pipeline {
  sink: FlowSink;
  component: Component;
  /** The in-thread detectors; undefined when they run in worker threads (`analysisThreads` > 0). */
  detectors: Detectors | undefined;
  /** Flushes findings now (`final` closes every open window, e.g. after a file import, and audits the counters). */
  flush(final?: boolean): Promise<number>;
  /** Appends selection's counters since the last entry to the audit log (also every minute and at stop). */
  recordCounters(): Promise<void>;
  stats(): PipelineStats;
}

/** Builds the pipeline over a core. @see ../../shared/DESIGN.md "The legal pipeline" */
export function createPipeline(core: Core, options: PipelineOptions = {}): Pipeline {
  const ctx = systemContext('pipeline');
  const threads = Math.max(0, Math.min(4, Math.floor(options.analysisThreads ?? 0)));
  let hosts = threads === 0 ? new HostTable() : undefined;
  const detectorConfig = options.detectorConfig ?? {};
  let inThread = hosts === undefined ? undefined : createDetectors(hosts, detectorConfig);
  const mine = localKinds(threads);
  // The indicator set last loaded: fresh detector threads start with it, not empty until the next reload.
  let indicators: Indicator[] = [];
  const startThreads = (): PipelineDetectors => threadedOver(createDetectorThreads({ threads, kinds: DETECTOR_KINDS.filter((k) => !mine.includes(k)), indicators, config: detectorConfig, onFailure: detectorThreadFailed }), mine, indicators, detectorConfig);
  let detectors: PipelineDetectors = inThread !== undefined && hosts !== undefined ? inThreadDetectors(inThread, hosts) : startThreads();
  const stats: PipelineStats = { received: 0, kept: 0, archived: 0, findingsWritten: 0, archiveErrors: 0, detectorFailures: 0, detectorRestarts: 0, unanalysedFlows: 0, dropped: { analysis_behind: 0, archive_behind: 0, archive_failed: 0 }, analysisQueued: 0 };
  const queueRows = options.analysisQueueRows ?? 1_048_576;
  const writer = core.archive.writer;
  const drops = dropLog(options.logger, options.dropLogEveryMs ?? 60_000);
  // Between a thread's failure and the fresh threads: kept flows are archived, not analysed (counted).
  let down = false;
  let stopping = false;
  let restartTimer: ReturnType<typeof setTimeout> | undefined;
  let failuresSinceFlush = 0;
  // Said at once (not at the next flush), with what it cost; fresh threads follow after a delay that
  // doubles while failures repeat without a successful flush between them (a thread that fails on
  // every batch does not restart in a tight loop).
  function detectorThreadFailed(error: Error, unanalysedFlows: number): void {
    stats.detectorFailures++;
    stats.unanalysedFlows += unanalysedFlows;
    if (stopping) {
      options.logger?.error({ err: error, unanalysedFlows }, 'a detector thread failed while the pipeline stopped');
      return;
    }
    down = true;
    failuresSinceFlush++;
    const delayMs = Math.min(300_000, (options.restartDelayMs ?? 1000) * 2 ** Math.min(20, failuresSinceFlush - 1));
    options.logger?.error({ err: error, unanalysedFlows, restartInMs: delayMs }, 'a detector thread failed: fresh detector threads start shortly, without the failed ones\' state (stored findings stay; flows until then are archived, not analysed)');
    const failed = detectors;
    // The failed pool's other threads go at once (their memory with them); not from inside its failure
    // callback, which closing would re-enter.
    setImmediate(() => { failed.close().catch(() => undefined); });
    if (restartTimer !== undefined) clearTimeout(restartTimer);
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (stopping) return;
      // What the failed detectors' kinds in this thread saw since the last flush, stored before they go
      // (no batch reaches them any more: their pool refuses every call).
      const saved = failed.flushLocal(core.clock.nowMs(), false);
      if (saved.length > 0) {
        core.analysis.recordFindings(ctx, saved).then((ids) => { stats.findingsWritten += ids.length; }, (e: unknown) => options.logger?.error({ err: e }, 'findings flush failed'));
      }
      try {
        detectors = startThreads();
      } catch (e) {
        // Could not even start (memory): another failure, retried after a longer delay.
        detectorThreadFailed(e instanceof Error ? e : new Error(String(e)), 0);
        return;
      }
      down = false;
      stats.detectorRestarts++;
      options.logger?.warn({ detectorThreads: threads, restarts: stats.detectorRestarts }, 'fresh detector threads started after a failure');
      reloadIndicators().catch((e: unknown) => options.logger?.error({ err: e }, 'indicator reload failed'));
    }, delayMs);
    restartTimer.unref();
  }
  let selected = createSelectedBatch(4096);
  const copies = selectedPool();
  let analysing: Promise<void> = Promise.resolve();
  let flushTimer: ReturnType<typeof setInterval> | undefined;
  let indicatorTimer: ReturnType<typeof setInterval> | undefined;
  let countersTimer: ReturnType<typeof setInterval> | undefined;
  const indicatorSource = dbIndicatorSource(core.db, () => core.clock.nowMs());

  async function reloadIndicators(): Promise<void> {
    if (down) return; // no threads to take it; fresh ones start with the last set
    const list = await indicatorSource.list();
    indicators = list;
    // Threads build their own matcher from the list; in this thread the matcher is built here.
    await detectors.setIndicators(threads === 0 || mine.includes('indicators') ? new IndicatorMatcher(list) : new IndicatorMatcher([]), list);
  }

  async function recordCounters(): Promise<void> {
    await core.selection.recordCounters(ctx);
  }

  async function flush(final = false): Promise<number> {
    await analysing;
    if (final) {
      await writer.flush();
      await recordCounters();
    }
    // While detector threads restart, the kinds in this thread still give what they saw before.
    const updates = down ? detectors.flushLocal(core.clock.nowMs(), final) : await detectors.flush(core.clock.nowMs(), final);
    if (!down) failuresSinceFlush = 0;
    if (updates.length === 0) return 0;
    const ids = await core.analysis.recordFindings(ctx, updates);
    stats.findingsWritten += ids.length;
    return ids.length;
  }

  /** Counts a batch dropped at admission: the one place kept flows are dropped for want of capacity. */
  function lose(reason: LossReason, n: number): void {
    stats.dropped[reason] += n;
    core.selection.countLost(reason, n);
    drops.note(reason, n);
  }

  /** Why a batch of `n` kept flows cannot be admitted now (the archive's answer comes from its append). */
  const analysisFull = (n: number): boolean => !down && stats.analysisQueued > 0 && stats.analysisQueued + n > queueRows;

  /** Archives and queues a copy of kept flows for the detectors; returns false (and counts) when refused. */
  function admit(copy: SelectedBatch, dropWhenFull: boolean): LossReason | undefined {
    const n = copy.length;
    if (analysisFull(n)) {
      if (dropWhenFull) lose('analysis_behind', n);
      return 'analysis_behind';
    }
    const r = writer.append(copy);
    if (!r.accepted) {
      if (dropWhenFull) lose(r.reason, n);
      else if (r.reason === 'archive_failed') stats.archiveErrors++;
      return r.reason;
    }
    stats.archived += r.rows;
    // In order, from the copy (the writer copied it into its segment): the detectors may take it later, then it goes back to the pool.
    stats.analysisQueued += n;
    const analysed = analysing.then(() => {
      if (down) { stats.unanalysedFlows += n; return undefined; }
      return detectors.ingest(copy);
    });
    analysing = analysed.catch((e: unknown) => {
      // Refused (its thread had failed): archived, never analysed.
      stats.unanalysedFlows += n;
      if (!down) options.logger?.error({ err: e }, 'detectors failed to take a batch');
    }).finally(() => { stats.analysisQueued -= n; copies.release(copy); });
    return undefined;
  }

  // Never waits on a later stage when live (whenBehind 'drop'): selection, a copy, the writer's append (a
  // write to its segment) and a place in the detectors' queue, or the batch is dropped whole and counted.
  const sink: FlowSink = {
    write(batch: FlowBatch): void | Promise<void> {
      stats.received += batch.length;
      if (selected.start.length < batch.length) selected = createSelectedBatch(batch.length);
      const kept = core.selection.select(batch, selected).kept;
      stats.kept += kept.length;
      if (kept.length === 0) return undefined;
      const copy = copies.clone(kept);
      if (options.whenBehind !== 'wait') {
        if (admit(copy, true) !== undefined) copies.release(copy);
        return undefined;
      }
      return (async () => {
        for (;;) {
          const refused = admit(copy, false);
          if (refused === undefined) return;
          if (refused === 'analysis_behind') await analysing;
          else if (refused === 'archive_failed') { copies.release(copy); throw new Error('the flow archive cannot write; see the log'); }
          else await writer.whenRoom(copy.length);
        }
      })();
    },
  };

  options.metrics?.collect('mamori_pipeline_flows_total', 'Flows through the pipeline by stage.', 'counter', () => [
    { labels: { stage: 'received' }, value: stats.received },
    { labels: { stage: 'kept' }, value: stats.kept },
    { labels: { stage: 'archived' }, value: stats.archived },
  ]);
  options.metrics?.collect('mamori_pipeline_dropped_flows_total', 'Kept flows dropped at the pipeline\'s admission because a stage was full or failing, by reason (never archived or analysed).', 'counter', () =>
    LOSS_REASONS.map((reason) => ({ labels: { reason }, value: stats.dropped[reason] })));
  options.metrics?.collect('mamori_analysis_queued_flows', 'Kept flows waiting for the detectors.', 'gauge', () => [{ labels: {}, value: stats.analysisQueued }]);
  options.metrics?.collect('mamori_archive_staged_flows', 'Flows the archive writer holds (memory and write-ahead segment) and has not yet written as Parquet.', 'gauge', () => [{ labels: {}, value: writer.stats().stagedRows }]);
  options.metrics?.collect('mamori_archive_written_flows_total', 'Flows the archive writer wrote as Parquet.', 'counter', () => [{ labels: {}, value: writer.stats().writtenRows }]);
  options.metrics?.collect('mamori_archive_files_written_total', 'Parquet files the archive writer wrote (before compaction).', 'counter', () => [{ labels: {}, value: writer.stats().filesWritten }]);
  options.metrics?.collect('mamori_archive_write_failures_total', 'Archive writes that failed (their rows stay in the write-ahead segment and are retried).', 'counter', () => [{ labels: {}, value: writer.stats().writeFailures }]);
  options.metrics?.collect('mamori_archive_recovered_flows_total', 'Flows read back from write-ahead segments at start and written.', 'counter', () => [{ labels: {}, value: writer.stats().recoveredRows }]);
  options.metrics?.collect('mamori_analysis_detector_failures_total', 'Detector thread failures (fresh threads follow after a delay).', 'counter', () => [{ labels: {}, value: stats.detectorFailures }]);
  options.metrics?.collect('mamori_analysis_detector_restarts_total', 'Fresh detector threads started after a failure.', 'counter', () => [{ labels: {}, value: stats.detectorRestarts }]);
  options.metrics?.collect('mamori_analysis_unanalysed_flows_total', 'Flows archived but never analysed: their detector thread failed, or they came while threads restarted.', 'counter', () => [{ labels: {}, value: stats.unanalysedFlows }]);

  /**
   * A purge's hook: detector state is not kept per basis, so all of it goes and the detectors start afresh
   * (stored findings stay; findings naming a purged basis are refused when written).
   */
  async function forgetState(): Promise<number> {
    await analysing;
    if (threads === 0) {
      hosts = new HostTable();
      inThread = createDetectors(hosts, detectorConfig);
      detectors = inThreadDetectors(inThread, hosts);
    } else if (!down) {
      const old = detectors;
      detectors = startThreads();
      await old.close();
    }
    await reloadIndicators();
    return 1;
  }
  let removeHook: (() => void) | undefined;

  const component: Component = {
    name: 'pipeline',
    async start() {
      removeHook = core.lifecycle.addHook({ name: 'detectors', purge: () => forgetState() });
      options.logger?.info({ detectorThreads: threads, inPipelineThread: threads === 0 ? DETECTOR_KINDS : mine }, threads === 0 ? 'detectors run in the pipeline\'s thread' : `detectors run in ${threads} worker thread${threads > 1 ? 's' : ''}`);
      await reloadIndicators();
      flushTimer = setInterval(() => { flush().catch((e: unknown) => options.logger?.error({ err: e }, 'findings flush failed')); }, options.flushEveryMs ?? 10_000);
      indicatorTimer = setInterval(() => { reloadIndicators().catch((e: unknown) => options.logger?.error({ err: e }, 'indicator reload failed')); }, options.indicatorReloadMs ?? 60_000);
      countersTimer = setInterval(() => { recordCounters().catch((e: unknown) => options.logger?.error({ err: e }, 'selection counters audit failed')); }, options.countersEveryMs ?? 60_000);
      flushTimer.unref();
      indicatorTimer.unref();
      countersTimer.unref();
    },
    async stop() {
      stopping = true;
      removeHook?.();
      if (restartTimer !== undefined) { clearTimeout(restartTimer); restartTimer = undefined; }
      if (flushTimer !== undefined) clearInterval(flushTimer);
      if (indicatorTimer !== undefined) clearInterval(indicatorTimer);
      if (countersTimer !== undefined) clearInterval(countersTimer);
      // A failed flush (a detector thread crashed) is still reported, but selection's counters are
      // audited and the threads stopped whatever it did: otherwise the Diet figures lose their last
      // minute and the surviving threads outlive the pipeline. Stopping the threads fails their
      // pending calls, so a thread that never answers cannot hold the flush, and shutdown, forever.
      const watchdog = setTimeout(() => {
        options.logger?.error({ timeoutMs: options.stopTimeoutMs ?? 30_000 }, 'detector threads did not answer the final flush; stopping them');
        detectors.close().catch(() => undefined);
      }, options.stopTimeoutMs ?? 30_000);
      try {
        await flush();
      } finally {
        clearTimeout(watchdog);
        try {
          await recordCounters();
        } finally {
          drops.stop();
          await detectors.close();
        }
      }
    },
  };

  return { sink, component, get detectors() { return inThread; }, flush, recordCounters, stats: () => ({ ...stats }) };
}

/** Threaded detectors with `kinds` run in the pipeline's thread over the pool's host table. */
function threadedOver(pool: DetectorThreads, kinds: readonly DetectorKind[], indicators: readonly Indicator[], config: DetectorsConfig): PipelineDetectors {
  const matcher = new IndicatorMatcher(kinds.includes('indicators') ? [...indicators] : []);
  return threadedDetectors(pool, kinds.length === 0 ? undefined : createDetectors(pool.hosts, config, matcher, kinds));
}

/**
 * Copies of kept flows for the detectors' queue, from a pool: once the detectors took a copy (and the archive writer,
 * which copies into its segment as it appends, has it too) the copy comes back for the next batch. Without the pool,
 * a fresh ~100 bytes a flow of typed arrays at 1 M flows/s kept the garbage collector's threads busy (bench/ingest).
 */
function selectedPool(max = 64): { clone(b: SelectedBatch): SelectedBatch; release(c: SelectedBatch): void } {
  const free: SelectedBatch[] = [];
  return {
    clone(b) {
      const n = b.length;
      let c: SelectedBatch | undefined;
      for (let i = free.length - 1; i >= 0; i--) if (free[i]!.start.length >= n) { c = free[i]!; free.splice(i, 1); break; }
      c ??= createSelectedBatch(Math.max(4096, n));
      c.length = n;
      c.basisIds = [...b.basisIds];
      c.periods = [...b.periods];
      c.exporters = [...b.exporters];
      for (const k of ['basisIndex', 'category', 'fields', 'start', 'end', 'srcKind', 'dstKind', 'periodIndex', 'srcPort', 'dstPort', 'proto', 'tcpFlags', 'bytes', 'packets', 'samplingRate', 'inIf', 'outIf', 'exporterIndex'] as const) {
        (c[k] as { set(a: ArrayLike<number>): void }).set((b[k] as { subarray(a: number, z: number): ArrayLike<number> }).subarray(0, n));
      }
      c.srcAddr.set(b.srcAddr.subarray(0, n * 16));
      c.dstAddr.set(b.dstAddr.subarray(0, n * 16));
      return c;
    },
    release(c) {
      if (free.length < max) free.push(c);
    },
  };
}

/**
 * Logs drops at admission: at once when an episode starts, then at most once per `everyMs` while it lasts
 * (the counts since the last line), and once when a whole interval passed without a drop.
 */
function dropLog(logger: Logger | undefined, everyMs: number): { note(reason: LossReason, n: number): void; stop(): void } {
  let since: Record<string, number> = {};
  let episode: Record<string, number> = {};
  let timer: ReturnType<typeof setInterval> | undefined;
  const say = (): void => {
    if (Object.keys(since).length === 0) {
      logger?.info({ dropped: episode }, 'the pipeline keeps up again: no kept flow dropped for a whole interval');
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      episode = {};
      return;
    }
    logger?.warn({ dropped: since, everyMs }, 'kept flows dropped at the pipeline\'s admission (a stage is full or failing); see mamori_pipeline_dropped_flows_total');
    since = {};
  };
  return {
    note(reason, n) {
      since[reason] = (since[reason] ?? 0) + n;
      episode[reason] = (episode[reason] ?? 0) + n;
      if (timer === undefined) {
        say();
        timer = setInterval(say, everyMs);
        timer.unref();
      }
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}
