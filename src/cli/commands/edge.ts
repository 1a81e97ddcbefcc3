/** @module `mamori collect --publish nats://…`: the edge of a cluster — UDP receive, decode, lawful selection here, publish selected batches to JetStream. */
import type { Command } from 'commander';
import { systemClock } from '#platform/clock/index.js';
import { randomBytes } from 'node:crypto';
import { AppError } from '#platform/errors/index.js';
import { createLogger } from '#platform/logger/index.js';
import { MetricsRegistry } from '#platform/metrics/index.js';
import { createUdpCollector, formatListen, parseListen, type ListenAddress } from '#modules/collection/index.js';
import { createEdge } from '#cluster/edge/index.js';
import { createEdgeSelection, type EdgeSelection } from '#cluster/edge/state-selection.js';
import { counterTotals, createCountersReporter, createStateFollower, edgeCountersStreamSpec, readWrapKeyFile, type StateFollower } from '#cluster/state/index.js';
import type { LocatorFactory } from '#modules/selection/index.js';
import { serveMetrics } from '#cluster/metrics-server.js';
import { WIRE_VERSION, wireLayout } from '#cluster/wire/index.js';
import { flowStreamSpec, openTransport } from '#cluster/streams.js';
import { locatorFactory, planLocator } from '#server/selection-wiring.js';
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
 * Runs an edge until SIGINT/SIGTERM (or `--duration`): selection follows the centre's state in the NATS KV bucket
 * (legal bases, operator ranges, the pseudonym keys of the periods in use, unwrapped with `cluster.keyWrapFile`) —
 * no database link; until the state is current every flow is dropped and counted. Only selected, minimized batches
 * are published; the aggregate counters go to the centre's audit log over JetStream every minute. Counters on
 * /metrics (`--metrics`) and one line per interval.
 * @see docs/operations.md#scale-out
 * @see docs/decisions/0011-edge-selection-state-over-kv.md
 */
export async function runEdgeCommand(cmd: Command, opts: EdgeCommandOptions): Promise<void> {
  const servers = opts.publish.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (servers.length === 0 || servers.some((s) => !/^nats:\/\/[^\s/]+$/.test(s))) throw new AppError('VALIDATION_FAILED', `--publish ${opts.publish}: expected nats://host:port[,nats://host:port…]`);
  const { config } = loadCliConfig(cmd, (c) => ({ ...c, cluster: { ...c.cluster, servers, edge: { ...c.cluster.edge, ...(opts.edgeId !== undefined ? { id: opts.edgeId } : {}), ...(opts.metrics !== undefined ? { metricsListen: opts.metrics } : {}) } } }));
  const edgeId = config.cluster.edge.id;
  if (edgeId === undefined || !/^[a-z0-9][a-z0-9_-]{0,63}$/.test(edgeId)) throw new AppError('VALIDATION_FAILED', `--edge-id ${edgeId ?? '(none)'}: give this edge an id of lower-case letters, digits, - and _ (or set cluster.edge.id)`);
  const metricsAt = parseListen(config.cluster.edge.metricsListen);
  if (metricsAt === undefined) throw new AppError('VALIDATION_FAILED', `--metrics ${config.cluster.edge.metricsListen}: expected host:port`);
  if (config.cluster.keyWrapFile === undefined) {
    throw new AppError('VALIDATION_FAILED', 'an edge needs the centre\'s key-wrapping key to open the pseudonym keys the centre publishes: set cluster.keyWrapFile (MAMORI_CLUSTER_KEY_WRAP_FILE) to the same file as the centre\'s, delivered as a credential (docs/operations.md "Scale-out")');
  }
  const wrap = readWrapKeyFile(config.cluster.keyWrapFile);
  const interval = Number(opts.interval);
  if (!(interval > 0)) throw new AppError('VALIDATION_FAILED', `--interval ${opts.interval}: expected a positive number of seconds`);
  const duration = opts.duration !== undefined ? Number(opts.duration) : undefined;
  if (duration !== undefined && !(duration > 0)) throw new AppError('VALIDATION_FAILED', `--duration ${opts.duration}: expected a positive number of seconds`);
  const logger = createLogger({ level: config.log.level });
  const metrics = new MetricsRegistry();
  // The country data and this edge's configured domestic prefixes are local; the operators' ranges come from the centre.
  const plan = planLocator(config.selection, []);
  let factory: LocatorFactory | undefined;
  const selection = createEdgeSelection({
    buildLocator: (prefixes) => (factory ??= locatorFactory(plan)).withDomestic(prefixes),
    domesticPrefixes: (ranges) => planLocator(config.selection, [...ranges]).domesticPrefixes,
    clock: systemClock,
    state: { notCurrent: () => follower.notCurrent(), bases: () => follower.bases(), rotation: () => follower.rotation(), key: (p) => follower.key(p) },
  });
  const follower = createStateFollower(
    { servers, bucket: config.cluster.stateBucket, replicas: config.cluster.replicas, name: `mamori-edge-state-${edgeId}`, maxAgeMs: config.cluster.edge.stateMaxAgeSeconds * 1000, rewatchAfterMs: 20_000,
      layout: wireLayout(config.cluster.partitions, WIRE_VERSION) },
    { wrap, clock: systemClock, logger, onKeyRemoved: (p) => selection.forgetPeriod(p), onRanges: (r) => selection.applyRanges(r) },
  );
  let transport;
  try {
    // The edge leaves a message's bytes alone until its publish settled (its pool takes them back on acknowledgement).
    transport = await openTransport(config.cluster, `mamori-edge-${edgeId}`, (s, server) => logger.warn({ server }, `edge: broker connection ${s}`), true);
    await transport.ensureStream(flowStreamSpec(config.cluster));
    await transport.ensureStream(edgeCountersStreamSpec(config.cluster));
    await follower.start();
  } catch (e) {
    await transport?.close().catch(() => undefined);
    throw new AppError('UNAVAILABLE', `cannot reach the cluster at ${servers.join(', ')}: ${(e as Error).message}`, { cause: e });
  }
  const spoolDir = config.cluster.edge.spoolDir;
  const edge = createEdge({
    edgeId, partitions: config.cluster.partitions, subjectPrefix: config.cluster.subjectPrefix, maxInFlight: config.cluster.edge.maxInFlight,
    bufferBytes: config.cluster.edge.bufferBytes, publishTimeoutMs: config.cluster.edge.publishTimeoutMs,
    ...(spoolDir !== undefined ? { spool: { dir: spoolDir, maxBytes: config.cluster.edge.spoolBytes } } : {}),
  }, { transport, select: (b, out) => selection.select(b, out), nowMs: () => systemClock.nowMs(), logger, metrics });
  edgeStateMetrics(metrics, edgeId, follower, selection);
  const listeners = opts.listen.length > 0 ? opts.listen : config.collector.listeners;
  const collector = createUdpCollector({ ...config.collector, batchSize: config.cluster.edge.batchFlows, listeners }, { sink: edge.sink, metrics, clock: systemClock, logger });
  const server = await serveMetrics(metrics, metricsAt.host, metricsAt.port);
  // The country table is built on first use (about a second): now, not while the first datagrams wait in the socket.
  selection.live.current();
  await edge.start();
  await collector.start();
  // Aggregate selection counters (the only trace of dropped flows) go to the centre's audit log over JetStream.
  const reporter = createCountersReporter({ edgeId, run: randomBytes(6).toString('hex') }, {
    transport, clock: systemClock, timeoutMs: config.cluster.edge.publishTimeoutMs, totals: () => counterTotals(selection.counters, selection.stats()),
  });
  const report = (): Promise<void> => reporter.report().then(() => undefined, (e: unknown) => logger.warn({ err: (e as Error).message }, 'edge: selection counters not acknowledged; sent again at the next report'));
  const countersTimer = setInterval(() => { void report(); }, 60_000);
  countersTimer.unref();
  for (const l of collector.stats().listeners) process.stdout.write(`edge ${edgeId}: listening on ${formatListen(l.address, l.port)} (udp), publishing to ${servers.join(',')}, metrics ${server.url}/metrics\n`);
  const line = (): void => {
    const s = edge.stats();
    const g = selection.stats();
    process.stdout.write(`${new Date().toISOString().slice(11, 19)}Z received ${s.received}  kept ${s.kept}  published ${s.published}  waiting ${s.waitingFlows} (${s.spooledFlows} spooled)  dropped ${s.droppedFlows}  broker ${s.brokerUp ? 'up' : 'DOWN'}  state ${follower.notCurrent() ?? 'current'} (unselected ${g.droppedNoState} no state, ${g.droppedNoKey} no key)\n`);
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
    await report();
  } finally {
    line();
    await server.close();
    await follower.stop();
    await transport.close();
  }
}

/** The follower's state and the edge's gates on /metrics. */
function edgeStateMetrics(metrics: MetricsRegistry, edgeId: string, follower: StateFollower, selection: EdgeSelection): void {
  metrics.collect('mamori_edge_state_current', '1 while the edge holds current selection state from the centre (bases, ranges, a recent heartbeat, the centre\'s wire layout equal to this edge\'s); 0: every flow is dropped.', 'gauge', () => [{ labels: { edge: edgeId }, value: follower.notCurrent() === undefined ? 1 : 0 }]);
  metrics.collect('mamori_edge_state_bases', 'Legal bases the edge holds from the centre, by status now (revoked ones stay compiled for a week, matching nothing).', 'gauge', () => {
    const now = Date.now();
    const bases = follower.bases().bases;
    const revoked = bases.filter((b) => b.revokedAt !== null).length;
    const expired = bases.filter((b) => b.revokedAt === null && Date.parse(b.validUntil) <= now).length;
    return [{ labels: { edge: edgeId, status: 'active' }, value: bases.length - revoked - expired }, { labels: { edge: edgeId, status: 'revoked' }, value: revoked }, { labels: { edge: edgeId, status: 'expired' }, value: expired }];
  });
  metrics.collect('mamori_edge_state_key_periods', 'Pseudonym key periods the edge holds (unwrapped, in memory only).', 'gauge', () => [{ labels: { edge: edgeId }, value: follower.periods().length }]);
  metrics.collect('mamori_edge_state_updates_total', 'Selection state entries applied, and refused (malformed, or a key that does not open).', 'counter', () => {
    const s = follower.stats();
    return [{ labels: { edge: edgeId, outcome: 'applied' }, value: s.updates }, { labels: { edge: edgeId, outcome: 'refused' }, value: s.rejected }];
  });
  metrics.collect('mamori_edge_unselected_flows_total', 'Flows dropped before selection: no current state from the centre, or no key for their period.', 'counter', () => {
    const s = selection.stats();
    return [{ labels: { edge: edgeId, reason: 'no_state' }, value: s.droppedNoState }, { labels: { edge: edgeId, reason: 'no_key' }, value: s.droppedNoKey }];
  });
  metrics.collect('mamori_selection_flows_total', 'Flows selected at this edge by category and outcome (kept, or the reason dropped).', 'counter', () =>
    selection.counters.snapshot().rows.map((r) => ({ labels: { edge: edgeId, category: r.category, outcome: r.outcome }, value: r.flows })));
}
