/** @module `mamori analyze`: an analysis worker of a cluster — owns partitions, runs the detectors, writes findings to PostgreSQL. */
import type { Command } from 'commander';
import { dbIndicatorSource } from '#modules/analysis/index.js';
import { systemClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import type { Config } from '#platform/config/index.js';
import { AppError } from '#platform/errors/index.js';
import { createLogger, type Logger } from '#platform/logger/index.js';
import { MetricsRegistry } from '#platform/metrics/index.js';
import { parseListen } from '#modules/collection/index.js';
import { serveMetrics } from '#cluster/metrics-server.js';
import { flowStreamSpec, openTransport } from '#cluster/streams.js';
import { checkCentreLayout } from '#cluster/state/index.js';
import { WIRE_VERSION, wireLayout } from '#cluster/wire/index.js';
import { createAnalysisWorker, pgLeases, pgSingleton, tuneWorkerHeap } from '#cluster/worker/index.js';
import { createArchiver } from '#cluster/archiver/index.js';
import { createRoundStore, openArchiveBucket } from '#cluster/archive-store/index.js';
import { createCore } from '#server/core.js';
import { archiveEngines } from '#server/selection-wiring.js';
import { detectorConfigOf } from '#server/pipeline.js';
import { loadCliConfig } from '../context.js';

/**
 * Refuses to start (CONFIG_INVALID, saying what to set) when the centre publishes another wire layout than this
 * process's: a worker or an archiver reading another partition count leaves partitions no one reads. A centre that has
 * published none or cannot be read for the moment only warns (the edges check it too).
 */
async function refuseOtherLayout(config: Config, name: string, who: string, logger: Logger): Promise<void> {
  try {
    const mine = wireLayout(config.cluster.partitions, WIRE_VERSION);
    const centre = await checkCentreLayout({ servers: config.cluster.servers, bucket: config.cluster.stateBucket, name }, mine);
    if (centre === undefined) logger.warn({}, `${who}: the centre has published no wire layout yet; cluster.partitions not compared with it`);
  } catch (e) {
    if (e instanceof AppError && e.code === 'CONFIG_INVALID') throw e;
    logger.warn({ err: (e as Error).message }, `${who}: could not read the centre's wire layout; cluster.partitions not compared with it`);
  }
}

/** Registers `analyze`. */
export function registerAnalyzeCommand(program: Command): void {
  program
    .command('analyze')
    .description('Run an analysis worker of a cluster: take a fair share of the flow partitions (PostgreSQL advisory locks), run the detectors, store findings.')
    .option('--worker-id <id>', 'this worker\'s id (default: cluster.worker.id)')
    .option('--servers <nats-urls>', 'NATS servers (default: cluster.servers)')
    .option('--metrics <host:port>', 'where it serves /metrics (default: cluster.worker.metricsListen)')
    .option('--duration <seconds>', 'stop after this many seconds (default: until SIGTERM/SIGINT)')
    .action(async (opts: { workerId?: string; servers?: string; metrics?: string; duration?: string }, cmd: Command) => {
      const { config } = loadCliConfig(cmd, (c) => ({
        ...c,
        cluster: {
          ...c.cluster,
          ...(opts.servers !== undefined ? { servers: opts.servers.split(',').map((s) => s.trim()).filter((s) => s !== '') } : {}),
          worker: { ...c.cluster.worker, ...(opts.workerId !== undefined ? { id: opts.workerId } : {}), ...(opts.metrics !== undefined ? { metricsListen: opts.metrics } : {}) },
        },
      }));
      const w = config.cluster.worker;
      if (w.id === undefined || !/^[a-z0-9][a-z0-9_-]{0,63}$/.test(w.id)) throw new AppError('VALIDATION_FAILED', `--worker-id ${w.id ?? '(none)'}: give this worker an id of lower-case letters, digits, - and _ (or set cluster.worker.id)`);
      if (config.cluster.servers.length === 0) throw new AppError('VALIDATION_FAILED', 'an analysis worker needs the cluster\'s NATS servers (--servers or cluster.servers)');
      const url = config.database.url;
      if (url === undefined || !/^postgres(ql)?:\/\//.test(url)) throw new AppError('VALIDATION_FAILED', 'an analysis worker needs the cluster\'s PostgreSQL (database.url = postgres://…): partition leases and findings live there');
      const metricsAt = parseListen(w.metricsListen);
      if (metricsAt === undefined) throw new AppError('VALIDATION_FAILED', `--metrics ${w.metricsListen}: expected host:port`);
      const duration = opts.duration !== undefined ? Number(opts.duration) : undefined;
      if (duration !== undefined && !(duration > 0)) throw new AppError('VALIDATION_FAILED', `--duration ${opts.duration}: expected a positive number of seconds`);
      // Before the detectors' state exists: fewer full collections of a small heap (bench/cluster: ≈ 20 % of a worker's CPU).
      tuneWorkerHeap();
      const logger = createLogger({ level: config.log.level });
      const metrics = new MetricsRegistry();
      const core = await createCore(config, { logger });
      const ctx = systemContext(`worker:${w.id}`);
      const stopped = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
        if (duration !== undefined) setTimeout(resolve, duration * 1000).unref();
      });
      let transport;
      try {
        transport = await openTransport(config.cluster, `mamori-worker-${w.id}`, (s, server) => logger.warn({ server }, `worker: broker connection ${s}`));
        await transport.ensureStream(flowStreamSpec(config.cluster));
      } catch (e) {
        await core.close();
        throw new AppError('UNAVAILABLE', `cannot reach the cluster at ${config.cluster.servers.join(', ')}: ${(e as Error).message}`, { cause: e });
      }
      try {
        await refuseOtherLayout(config, `mamori-worker-${w.id}-layout`, 'worker', logger);
      } catch (e) {
        await transport.close();
        await core.close();
        throw e;
      }
      // The lease session gone means another worker may own these partitions now: exit, to be restarted (systemd).
      const leases = await pgLeases(url, w.id, (e) => { logger.error({ err: e.message }, 'worker: lease session lost; exiting'); process.exit(75); });
      const worker = createAnalysisWorker({
        workerId: w.id, stream: config.cluster.stream, subjectPrefix: config.cluster.subjectPrefix, partitions: config.cluster.partitions,
        replayMs: config.cluster.retentionHours * 3_600_000, flushEveryMs: w.flushEverySeconds * 1000, rebalanceEveryMs: w.rebalanceEverySeconds * 1000,
        ackWaitMs: w.ackWaitSeconds * 1000, replayTimeoutMs: w.replayTimeoutSeconds * 1000, finalAfterIdleMs: w.finalAfterIdleSeconds * 1000, maxHosts: w.maxHosts,
        detectorConfig: detectorConfigOf(config),
      }, {
        transport, leases, nowMs: () => systemClock.nowMs(), logger, metrics,
        indicators: () => dbIndicatorSource(core.db).list(),
        recordFindings: (updates) => core.analysis.recordFindings(ctx, updates),
      });
      const server = await serveMetrics(metrics, metricsAt.host, metricsAt.port);
      await worker.start();
      process.stdout.write(`worker ${w.id}: partitions ${worker.stats().owned.join(' ') || '(none yet)'}; metrics ${server.url}/metrics\n`);
      await stopped;
      try {
        await worker.stop();
      } finally {
        const s = worker.stats();
        process.stdout.write(`worker ${w.id}: ${s.flows} flows analysed (${s.replayedFlows} replayed), ${s.findingsWritten} finding updates stored\n`);
        await server.close();
        await transport.close();
        await core.close();
      }
    });
}

/** Registers `archiver`: the one process (leader by PostgreSQL advisory lock; others wait as standbys) that writes the flow stream into the archive. */
export function registerArchiverCommand(program: Command): void {
  program
    .command('archiver')
    .description('Write every kept flow of the cluster\'s stream into the archive bucket (cluster.archive.bucket; one at a time cluster-wide, others wait as standbys).')
    .option('--servers <nats-urls>', 'NATS servers (default: cluster.servers)')
    .option('--metrics <host:port>', 'where it serves /metrics (default: none)')
    .option('--duration <seconds>', 'stop after this many seconds (default: until SIGTERM/SIGINT)')
    .action(async (opts: { servers?: string; metrics?: string; duration?: string }, cmd: Command) => {
      const { config } = loadCliConfig(cmd, (c) => ({ ...c, cluster: { ...c.cluster, ...(opts.servers !== undefined ? { servers: opts.servers.split(',').map((x) => x.trim()).filter((x) => x !== '') } : {}) } }));
      if (config.cluster.servers.length === 0) throw new AppError('VALIDATION_FAILED', 'the archiver needs the cluster\'s NATS servers (--servers or cluster.servers)');
      const url = config.database.url;
      if (url === undefined || !/^postgres(ql)?:\/\//.test(url)) throw new AppError('VALIDATION_FAILED', 'the archiver needs the cluster\'s PostgreSQL (database.url = postgres://…): its leader lease lives there');
      const duration = opts.duration !== undefined ? Number(opts.duration) : undefined;
      if (duration !== undefined && !(duration > 0)) throw new AppError('VALIDATION_FAILED', `--duration ${opts.duration}: expected a positive number of seconds`);
      const metricsAt = opts.metrics !== undefined ? parseListen(opts.metrics) : undefined;
      if (opts.metrics !== undefined && metricsAt === undefined) throw new AppError('VALIDATION_FAILED', `--metrics ${opts.metrics}: expected host:port`);
      const logger = createLogger({ level: config.log.level });
      let stop = false;
      const stopped = new Promise<void>((resolve) => {
        const done = (): void => { stop = true; resolve(); };
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
        if (duration !== undefined) setTimeout(done, duration * 1000).unref();
      });
      // Before the lease: a standby on another layout should fail at start, not once it leads.
      await refuseOtherLayout(config, 'mamori-archiver-layout', 'archiver', logger);
      const lease = await pgSingleton(url, 'archiver', (e) => { logger.error({ err: e.message }, 'archiver: lease session lost; exiting'); process.exit(75); });
      while (!stop && !(await lease.tryAcquire())) await Promise.race([stopped, new Promise((r) => setTimeout(r, 2000))]);
      if (stop) { await lease.close(); return; }
      // The worker's heap setting, for the same reason: a small JS heap (≈ 35 MB) that V8 marked whole every second or two
      // at "allocation limit" (bench/cluster --trace-gc: 15 full collections in 20 s at 150,000 flows/s).
      tuneWorkerHeap();
      const core = await createCore(config, { logger });
      const transport = await openTransport(config.cluster, 'mamori-archiver');
      await transport.ensureStream(flowStreamSpec(config.cluster));
      const metrics = new MetricsRegistry();
      // The archive is the cluster's bucket (R cluster.replicas): its local directory only stages files until a round stored them.
      const bucket = await openArchiveBucket({ servers: config.cluster.servers, bucket: config.cluster.archive.bucket, replicas: config.cluster.replicas, name: 'mamori-archiver' });
      const rounds = createRoundStore({ bucket, dir: core.archive.dir, engine: archiveEngines(config.archive, core.archive.dir).roundEngine });
      const archiver = createArchiver({
        stream: config.cluster.stream, subjectPrefix: config.cluster.subjectPrefix, partitions: config.cluster.partitions,
        ackWaitMs: config.cluster.worker.ackWaitSeconds * 1000, storeEveryMs: config.cluster.archive.storeEverySeconds * 1000,
      }, { transport, writer: core.archive.writer, rounds, logger, metrics });
      const server = metricsAt !== undefined ? await serveMetrics(metrics, metricsAt.host, metricsAt.port) : undefined;
      await archiver.start();
      process.stdout.write(`archiver: leader; writing the flow stream into the archive bucket ${config.cluster.archive.bucket}\n`);
      await stopped;
      try {
        await archiver.stop();
      } finally {
        const s = archiver.stats();
        process.stdout.write(`archiver: ${s.appendedFlows} flows handed to the archive, ${s.storedFlows} stored in the bucket and acknowledged in ${s.rounds} rounds\n`);
        await server?.close();
        await transport.close();
        await rounds.close();
        await bucket.close();
        await core.close();
        await lease.close();
      }
    });
}
