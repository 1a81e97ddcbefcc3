/** @module `mamori collect --publish nats://…`: the edge of a cluster — UDP receive, decode, lawful selection here, publish selected batches to JetStream. */
import type { Command } from 'commander';
import { systemClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { AppError } from '#platform/errors/index.js';
import { createLogger } from '#platform/logger/index.js';
import { MetricsRegistry } from '#platform/metrics/index.js';
import { createFlowBatch, createUdpCollector, formatListen, parseListen, type ListenAddress } from '#modules/collection/index.js';
import { createEdge } from '#cluster/edge/index.js';
import { serveMetrics } from '#cluster/metrics-server.js';
import { flowStreamSpec, openTransport } from '#cluster/streams.js';
import { createCore } from '#server/core.js';
import { loadCliConfig } from '../context.js';

/** Options of `collect` that the edge reads. */
export interface EdgeCommandOptions {
  publish: string;
  edgeId?: string;
  metrics?: string;
  listen: ListenAddress[];
  duration?: string;
  interval: string;
}

/**
 * Runs an edge until SIGINT/SIGTERM (or `--duration`): selection follows the centre's legal bases live
 * (read from the centre's database every second) with the pseudonym keys of `secrets.pseudonymKey`; only
 * selected, minimized batches are published. Counters on /metrics (`--metrics`) and one line per interval.
 * @see docs/operations.md#scale-out
 */
export async function runEdgeCommand(cmd: Command, opts: EdgeCommandOptions): Promise<void> {
  const servers = opts.publish.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (servers.length === 0 || servers.some((s) => !/^nats:\/\/[^\s/]+$/.test(s))) throw new AppError('VALIDATION_FAILED', `--publish ${opts.publish}: expected nats://host:port[,nats://host:port…]`);
  const { config } = loadCliConfig(cmd, (c) => ({ ...c, cluster: { ...c.cluster, servers, edge: { ...c.cluster.edge, ...(opts.edgeId !== undefined ? { id: opts.edgeId } : {}), ...(opts.metrics !== undefined ? { metricsListen: opts.metrics } : {}) } } }));
  const edgeId = config.cluster.edge.id;
  if (edgeId === undefined || !/^[a-z0-9][a-z0-9_-]{0,63}$/.test(edgeId)) throw new AppError('VALIDATION_FAILED', `--edge-id ${edgeId ?? '(none)'}: give this edge an id of lower-case letters, digits, - and _ (or set cluster.edge.id)`);
  const metricsAt = parseListen(config.cluster.edge.metricsListen);
  if (metricsAt === undefined) throw new AppError('VALIDATION_FAILED', `--metrics ${config.cluster.edge.metricsListen}: expected host:port`);
  if (config.secrets.pseudonymKey === undefined) {
    throw new AppError('VALIDATION_FAILED', 'an edge needs the centre\'s pseudonym key (secrets.pseudonymKey, e.g. MAMORI_SECRETS_PSEUDONYM_KEY from a credential file): pseudonyms must be the same at every edge');
  }
  const interval = Number(opts.interval);
  if (!(interval > 0)) throw new AppError('VALIDATION_FAILED', `--interval ${opts.interval}: expected a positive number of seconds`);
  const duration = opts.duration !== undefined ? Number(opts.duration) : undefined;
  if (duration !== undefined && !(duration > 0)) throw new AppError('VALIDATION_FAILED', `--duration ${opts.duration}: expected a positive number of seconds`);
  const logger = createLogger({ level: config.log.level });
  const metrics = new MetricsRegistry();
  const core = await createCore(config, { logger });
  const ctx = systemContext(`edge:${edgeId}`);
  let transport;
  try {
    await core.selection.start();
    transport = await openTransport(config.cluster, `mamori-edge-${edgeId}`, (s, server) => logger.warn({ server }, `edge: broker connection ${s}`));
    await transport.ensureStream(flowStreamSpec(config.cluster));
  } catch (e) {
    await core.close();
    throw new AppError('UNAVAILABLE', `cannot reach the cluster at ${servers.join(', ')}: ${(e as Error).message}`, { cause: e });
  }
  const spoolDir = config.cluster.edge.spoolDir;
  const edge = createEdge({
    edgeId, partitions: config.cluster.partitions, subjectPrefix: config.cluster.subjectPrefix, maxInFlight: config.cluster.edge.maxInFlight,
    bufferBytes: config.cluster.edge.bufferBytes, publishTimeoutMs: config.cluster.edge.publishTimeoutMs,
    ...(spoolDir !== undefined ? { spool: { dir: spoolDir, maxBytes: config.cluster.edge.spoolBytes } } : {}),
  }, { transport, select: (b) => core.selection.select(b).kept, nowMs: () => systemClock.nowMs(), logger, metrics });
  const listeners = opts.listen.length > 0 ? opts.listen : config.collector.listeners;
  const collector = createUdpCollector({ ...config.collector, listeners }, { sink: edge.sink, metrics, clock: systemClock, logger });
  const server = await serveMetrics(metrics, metricsAt.host, metricsAt.port);
  // The country table is built on first use (about a second): now, not while the first datagrams wait in the socket.
  core.selection.select(createFlowBatch(1));
  await edge.start();
  await collector.start();
  // Aggregate selection counters (the only trace of dropped flows) go to the centre's audit log, as the single process does.
  const countersTimer = setInterval(() => { core.selection.recordCounters(ctx).catch((e: unknown) => logger.error({ err: e }, 'selection counters audit failed')); }, 60_000);
  countersTimer.unref();
  for (const l of collector.stats().listeners) process.stdout.write(`edge ${edgeId}: listening on ${formatListen(l.address, l.port)} (udp), publishing to ${servers.join(',')}, metrics ${server.url}/metrics\n`);
  const line = (): void => {
    const s = edge.stats();
    process.stdout.write(`${new Date().toISOString().slice(11, 19)}Z received ${s.received}  kept ${s.kept}  published ${s.published}  waiting ${s.waitingFlows} (${s.spooledFlows} spooled)  dropped ${s.droppedFlows}  broker ${s.brokerUp ? 'up' : 'DOWN'}\n`);
  };
  const timer = setInterval(line, interval * 1000);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    if (duration !== undefined) setTimeout(resolve, duration * 1000).unref();
  });
  clearInterval(timer);
  clearInterval(countersTimer);
  try {
    await collector.stop();
    await edge.stop(config.cluster.edge.publishTimeoutMs * 2);
    await core.selection.recordCounters(ctx).catch((e: unknown) => logger.error({ err: e }, 'selection counters audit failed'));
  } finally {
    line();
    await server.close();
    await transport.close();
    await core.close();
  }
}
