/** @module Runs the server: listen, then on SIGTERM/SIGINT stop accepting, finish in-flight requests and close the database. */
import type { Config } from '#platform/config/index.js';
import { AppError } from '#platform/errors/index.js';
import { createLogger, type Logger } from '#platform/logger/index.js';
import { MetricsRegistry } from '#platform/metrics/index.js';
import { archiveCacheMetrics } from '#cluster/archive-store/index.js';
import type { RouteModule } from '#platform/http/index.js';
import { buildApp, type App } from './app.js';
import { apiReplica, assertReplicaConfig, type ReplicaParts } from '#cluster/api/index.js';
import { createCore, isReplicated, type Core, type CoreOptions } from './core.js';
import { witnessComponent } from './witness-wiring.js';
import { assertWitnessKey, defaultWitnessKeyPath } from '#modules/audit/index.js';
import { archiveRollupMetrics, compactionComponent, retentionComponent, rollupComponents } from './selection-wiring.js';
import { edgeStateJobs } from './edge-state-wiring.js';

/** A started server. */
export interface RunningServer {
  core: Core;
  app: App;
  logger: Logger;
  address: string;
  /** With several servers on one PostgreSQL (`cluster.servers` set): this replica's id, lease and cache bus. */
  replica?: ReplicaParts | undefined;
  /** Graceful stop: stop accepting, wait for in-flight requests, close components and the database. */
  stop(): Promise<void>;
}

/** Extra components that start with the server and stop before the database closes (collector, schedulers). */
export interface Component {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the server on the configured address. */
export async function startServer(config: Config, options: CoreOptions & { logger?: Logger; components?: (core: Core, metrics: MetricsRegistry) => Component[]; routes?: (core: Core) => RouteModule[]; core?: Core } = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger({ level: config.log.level });
  if (isReplicated(config)) {
    assertReplicaConfig(config);
    // A replica's archive is its cache of the cluster's bucket: flows it collected would be written nowhere durable.
    if (config.collector.enabled) throw new AppError('CONFIG_INVALID', 'An API replica (cluster.servers with a PostgreSQL database) does not collect flows: they enter the cluster at the edges (mamori collect --publish). Set collector.enabled: false (MAMORI_COLLECTOR_ENABLED=false).');
  }
  // A witness configured here without its key file is refused before anything opens.
  if (config.audit.witnessEverySeconds > 0) assertWitnessKey(config.audit.witnessKeyFile ?? defaultWitnessKeyPath(config.dataDir), config.audit.witnessName);
  const core = options.core ?? (await createCore(config, options));
  const metrics = new MetricsRegistry();
  const app = await buildApp(core, { logger, metrics, extraRoutes: options.routes?.(core) ?? [] });
  // The jobs that must run once however many servers share the database (API replicas: on the lease holder only).
  // The audit checkpointer creates the log key on first start.
  const checkpointer: Component = { name: 'audit-checkpointer', start: () => core.checkpointer.start(), stop: () => core.checkpointer.stop() };
  // Expires approvals and halts emergency actions whose review deadline passed, on the core's clock.
  const oversight: Component = { name: 'oversight-scheduler', start: () => core.oversightScheduler.start(), stop: () => core.oversightScheduler.stop() };
  const reporting: Component = { name: 'reporting-scheduler', start: () => core.reportingScheduler.start(), stop: () => core.reportingScheduler.stop() };
  // Deletes what is past its basis's retention everywhere (archive, findings, intel), with deletion certificates.
  const retention = retentionComponent(core.lifecycle, config.selection.retentionEverySeconds, logger);
  // Pulls external TAXII feeds into the indicator store when their interval has passed.
  const feeds: Component = { name: 'sharing-feeds', start: () => core.feedScheduler.start(), stop: () => core.feedScheduler.stop() };
  // Applies operator ranges changed by another process (this process's changes apply before their call returns).
  const ranges = core.ranges.component;
  // The archive's stream writer (before the pipeline that feeds it, so it stops after it), its hourly compaction and the
  // current hour's rollups.
  const archive = [core.archive.writer, compactionComponent(core.archive, config.archive.compactEverySeconds, config.archive.compactMinRows, logger),
    ...rollupComponents(core.archive, config.archive.rollupEverySeconds, logger)];
  archiveRollupMetrics(core.archiveHub ?? core.archive, metrics);
  // The commission's witness, when the deployment runs it here (audit.witnessEverySeconds > 0; off by default).
  const witness = witnessComponent(core, metrics, logger);
  const extra = options.components?.(core, metrics) ?? [];
  let replica: ReplicaParts | undefined;
  if (isReplicated(config)) {
    // The archive bucket's compaction is one more singleton (decision 0010).
    const bucketCompaction = core.archiveHub !== undefined ? [compactionComponent(core.archiveHub, config.archive.compactEverySeconds, config.archive.compactMinRows, logger)] : [];
    if (core.archiveHub !== undefined) archiveCacheMetrics(core.archiveHub.cache, metrics);
    replica = apiReplica(config, { caches: { apply: (e) => core.applyCacheEvent(e), onLocal: (l) => core.onCacheEvent(l) }, jobs: [checkpointer, ...witness, oversight, reporting, retention, feeds, ...edgeStateJobs(core, logger), ...bucketCompaction], logger, metrics });
  }
  // A replica's archive is its cache of the cluster's bucket (the archiver writes, the leader deletes): no writer or compaction of its own.
  const replicaArchive: Component[] = core.archiveHub !== undefined ? [core.archiveHub.component] : archive;
  const components: Component[] = replica === undefined
    ? [checkpointer, ...witness, oversight, reporting, ranges, retention, ...archive, feeds, ...extra]
    // Every replica refuses to start on a truncated or rewritten log, as the single server's checkpointer does at its start.
    : [{ name: 'audit-log-check', start: () => core.checkpointer.checkNotShrunk(), stop: async () => undefined }, replica.bus, ranges, ...replicaArchive, replica.singletons, ...extra];
  const started: Component[] = [];
  try {
    for (const c of components) {
      await c.start();
      started.push(c);
    }
    await app.fastify.listen({ host: config.server.host, port: config.server.port });
  } catch (e) {
    // A start that fails half-way stops what it started, so the process ends instead of hanging on their timers.
    await app.fastify.close().catch(() => undefined);
    for (const c of started.reverse()) await c.stop().catch((x: unknown) => logger.error({ err: x, component: c.name }, 'stop after a failed start failed'));
    if (options.core === undefined) await core.close().catch(() => undefined);
    throw listenError(e, config.server.host, config.server.port);
  }
  const addr = app.fastify.server.address();
  const address = typeof addr === 'object' && addr !== null ? `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}` : String(addr);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const timer = setTimeout(() => {
        logger.error('graceful shutdown timed out; closing connections');
        app.fastify.server.closeAllConnections();
      }, config.server.shutdownGraceMs);
      const t0 = performance.now();
      const took = () => Math.round(performance.now() - t0);
      try {
        await app.fastify.close();
        logger.info({ ms: took() }, 'stop: http closed');
        for (const c of [...components].reverse()) {
          await c.stop();
          logger.info({ ms: took(), component: c.name }, 'stop: component stopped');
        }
      } finally {
        clearTimeout(timer);
        await core.close();
        logger.info({ ms: took() }, 'stop: database closed');
      }
    })();
    return stopping;
  };
  return { core, app, logger, address, replica, stop };
}

/** A taken or forbidden HTTP address as an error that says what to change; other errors pass unchanged. */
function listenError(e: unknown, host: string, port: number): unknown {
  const code = (e as { code?: unknown }).code;
  if (code === 'EADDRINUSE') return new AppError('UNAVAILABLE', `Cannot listen for HTTP on ${host}:${port}: the port is in use (another mamori, or another server). Pick another port: --port, or server.port / MAMORI_SERVER_PORT.`, { cause: e });
  if (code === 'EACCES' || code === 'EADDRNOTAVAIL') return new AppError('UNAVAILABLE', `Cannot listen for HTTP on ${host}:${port}: ${code === 'EACCES' ? 'not permitted (ports below 1024 need privileges)' : 'no interface has this address'}. Change --host/--port or server.host / server.port.`, { cause: e });
  return e;
}

/** Stops the server on SIGTERM or SIGINT, then exits. */
export function stopOnSignals(server: RunningServer): void {
  const handler = (signal: string) => {
    server.logger.info({ signal }, 'shutting down');
    server.stop().then(() => process.exit(0), (e: unknown) => {
      server.logger.error({ err: e }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.once('SIGTERM', () => handler('SIGTERM'));
  process.once('SIGINT', () => handler('SIGINT'));
}
