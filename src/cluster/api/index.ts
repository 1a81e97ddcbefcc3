/** @module API replicas: several `mamori serve` on one PostgreSQL share singletons by a leader lease and tell each other to drop caches over NATS. */
import { hostname } from 'node:os';
import type { Config } from '#platform/config/index.js';
import { AppError } from '#platform/errors/index.js';
import { createInvalidationBus, type CacheEvent, type InvalidationBus } from './invalidation.js';
import { openLeaderLease } from './lease.js';
import { createSingletonGroup, type SingletonGroup, type SingletonJob } from './singletons.js';

export { createInvalidationBus, parseInvalidation, type CacheEvent, type InvalidationBus } from './invalidation.js';
export { leaseKey, openLeaderLease, type LeaderLease } from './lease.js';
export { createSingletonGroup, type SingletonGroup, type SingletonJob } from './singletons.js';

/** This replica's id: `cluster.api.id`, or the host name and process id. */
export function replicaId(config: Config): string {
  return config.cluster.api.id ?? `${hostname().toLowerCase().replace(/[^a-z0-9_.-]/g, '-').slice(0, 40)}-${process.pid}`;
}

/**
 * The key settings every replica must point at the same keys: the audit log's signing key (one log, one
 * key), the receipt key, the sharing fingerprint key (a recipient's marks must not depend on the replica)
 * and the pseudonym keys. Defaults under each replica's own dataDir would differ.
 */
export function sharedKeysMissing(config: Config): string[] {
  const out: string[] = [];
  if (config.audit.keyFile === undefined) out.push('audit.keyFile');
  if (config.reporting.receiptKeyFile === undefined) out.push('reporting.receiptKeyFile');
  if (config.sharing.fingerprintKeyFile === undefined) out.push('sharing.fingerprintKeyFile');
  if (config.secrets.pseudonymKey === undefined && config.selection.keystoreDir === undefined) out.push('selection.keystoreDir (with selection.kekFile) or secrets.pseudonymKey');
  return out;
}

/** Refuses a replica configuration that would split the cluster's keys, saying what to set. */
export function assertReplicaConfig(config: Config): void {
  const missing = sharedKeysMissing(config);
  if (missing.length > 0) {
    throw new AppError('CONFIG_INVALID', `API replicas must share their keys (each would otherwise make its own): set ${missing.join(', ')} to files every replica reads (same content on each node).`);
  }
}

/** What the replica wiring needs from the server. */
export interface ReplicaDeps {
  /** Where remote invalidations are applied, and where this process's own are heard. */
  caches: { apply(e: CacheEvent): void; onLocal(listener: (e: CacheEvent) => void): () => void };
  /** The jobs that must run once cluster-wide. */
  jobs: readonly SingletonJob[];
  logger?: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void } | undefined;
  metrics?: { collect(name: string, help: string, type: 'counter' | 'gauge', fn: () => { labels: Record<string, string>; value: number }[]): void } | undefined;
}

/** The parts of one API replica: the invalidation bus (start first) and the singleton group (start last). */
export interface ReplicaParts {
  id: string;
  bus: InvalidationBus;
  singletons: SingletonGroup;
}

/**
 * Wires one API replica: its cache events go out on NATS, the others' come in; the singleton jobs run only
 * while it holds the leader lease in PostgreSQL. @see docs/decisions/0009-api-replicas.md
 */
export function apiReplica(config: Config, deps: ReplicaDeps): ReplicaParts {
  assertReplicaConfig(config);
  const url = config.database.url ?? '';
  const id = replicaId(config);
  const checkSeconds = config.cluster.api.leaseCheckSeconds;
  const bus = createInvalidationBus({ servers: config.cluster.servers, subject: config.cluster.api.invalidationSubject, replicaId: id, apply: deps.caches.apply, logger: deps.logger });
  deps.caches.onLocal((e) => bus.publish(e));
  const singletons = createSingletonGroup({ openLease: () => openLeaderLease(url, 'api-singletons', id, checkSeconds), jobs: deps.jobs, checkMs: checkSeconds * 1000, logger: deps.logger });
  deps.metrics?.collect('mamori_api_singletons_leader', 'Whether this API replica holds the leader lease and runs the singleton jobs (1) or stands by (0).', 'gauge', () => [{ labels: { replica: id }, value: singletons.leader() ? 1 : 0 }]);
  deps.metrics?.collect('mamori_api_singletons_terms_total', 'Times this API replica became the leader since it started.', 'counter', () => [{ labels: { replica: id }, value: singletons.terms() }]);
  deps.metrics?.collect('mamori_api_cache_invalidations_total', 'Cache invalidations this API replica sent to the others and received from them.', 'counter', () => {
    const s = bus.stats();
    return [{ labels: { direction: 'sent' }, value: s.sent }, { labels: { direction: 'received' }, value: s.received }];
  });
  return { id, bus, singletons };
}
