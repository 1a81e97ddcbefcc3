/** @module The replicated archive as one process of the cluster sees it: a bucket connected on first use, this replica's cache of it, and retention and purge over it. */
import type { Clock } from '#platform/clock/index.js';
import { basename } from 'node:path';
import { errorSummary, lazyDuckDb, type DuckDb } from '#platform/duckdb/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import { openArchiveBucket, type ArchiveBucket, type ArchiveBucketOptions } from './bucket.js';
import { createArchiveCache, type ArchiveCache, type ArchiveCacheOptions } from './cache.js';
import { createClusterArchive, type ClusterArchive } from './cluster-archive.js';
import { compactBucket, type BucketCompaction, type BucketCompactionFailure } from './compaction.js';
import { createReplicaQueries } from './query.js';
import type { RequestContext } from '#platform/context/index.js';
import type { FlowQuery, FlowQueryResult } from '#modules/selection/index.js';

type Log = { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };

/** What the hub needs. */
export interface ArchiveHubDeps {
  bucket: ArchiveBucketOptions;
  /** The cache's directory (`<dataDir>/archive`): local copies in the archive's layout, and each read's snapshot. */
  dir: string;
  /** The cache's bound and fetching (`cluster.archive.cache*`). */
  cache?: Partial<ArchiveCacheOptions>;
  audit: AuditRecorder;
  policy: PolicyEngine;
  clock: Clock;
  retentionOf: (basisIds: readonly string[]) => Promise<Map<string, number>>;
  /** Opens the engine compaction merges with (once, on first use). */
  engine: () => Promise<DuckDb>;
  /** Opens the engine queries run on (once, on first use); default `engine`. */
  queryEngine?: () => Promise<DuckDb>;
  logger?: Log | undefined;
}

/** The hub: `archive` is the lifecycle's archive in a cluster, `cache` a component of API replicas. */
export interface ArchiveHub {
  bucket: ArchiveBucket;
  cache: ArchiveCache;
  archive: ClusterArchive;
  /** A flow query over the whole archive: the partitions it names fetched into the cache on demand. */
  queryFlows(ctx: RequestContext, input: FlowQuery): Promise<FlowQueryResult>;
  /** Starts the cache: connects (again every 5 s while NATS cannot be reached, without holding up the server's start) and follows the bucket. */
  component: { name: string; start(): Promise<void>; stop(): Promise<void> };
  /** Merges the bucket's small files of finished hours (the leader's job: one compaction cluster-wide). */
  compact(options?: { minRows?: number; graceMs?: number }): Promise<BucketCompaction>;
  /** Merges and rollups compaction could not write since start, by kind (each round tries them again). */
  rollupStats(): { minuteFailures: number; portFailures: number; mergeFailures: number };
  close(): Promise<void>;
}

/**
 * Creates the hub. Nothing connects until something uses the bucket, so processes that never touch the archive
 * (workers, edges) open no connection for it.
 * @see docs/decisions/0010-replicated-archive.md
 */
export function createArchiveHub(deps: ArchiveHubDeps): ArchiveHub {
  let opened: Promise<ArchiveBucket> | undefined;
  const get = (): Promise<ArchiveBucket> => (opened ??= openArchiveBucket(deps.bucket).catch((e: unknown) => { opened = undefined; throw e; }));
  const bucket: ArchiveBucket = {
    putFile: async (...a) => (await get()).putFile(...a),
    putBytes: async (...a) => (await get()).putBytes(...a),
    getFile: async (...a) => (await get()).getFile(...a),
    getBytes: async (...a) => (await get()).getBytes(...a),
    info: async (...a) => (await get()).info(...a),
    list: async () => (await get()).list(),
    delete: async (...a) => (await get()).delete(...a),
    watch: async () => (await get()).watch(),
    close: async () => { const o = opened; opened = undefined; if (o !== undefined) await (await o.catch(() => undefined))?.close(); },
  };
  const cache = createArchiveCache({ bucket, dir: deps.dir, ...(deps.cache !== undefined ? { options: deps.cache } : {}), ...(deps.logger !== undefined ? { logger: deps.logger } : {}) });
  const archive = createClusterArchive({ bucket, cache, dir: deps.dir, audit: deps.audit, policy: deps.policy, clock: deps.clock, retentionOf: deps.retentionOf });
  // Each engine is opened on first use, and again after a failed open (lazyDuckDb).
  const engine = lazyDuckDb(() => deps.engine());
  const queryEngine = lazyDuckDb(() => (deps.queryEngine ?? deps.engine)());
  const queries = createReplicaQueries({ cache, audit: deps.audit, policy: deps.policy, engine: queryEngine.get });
  // A merge or rollup that fails for some objects (one DuckDB cannot read) is counted and logged, and the round goes on.
  const failures = { merge: 0, minute: 0, port: 0 };
  const onFailure = (f: BucketCompactionFailure): void => {
    failures[f.step]++;
    deps.logger?.warn({ basisId: f.basis, hour: f.hour, step: f.step, objects: f.objects.length, object: basename(f.objects[0] ?? ''), err: errorSummary(f.err) },
      'archive bucket compaction: a step failed for these objects; the rest of the round goes on and the next round tries again');
  };
  let stopped = false;
  let following: Promise<void> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const follow = async (): Promise<void> => {
    try {
      await cache.start();
      deps.logger?.info({ bucket: deps.bucket.bucket }, 'archive cache: following the cluster\'s archive bucket');
    } catch (e) {
      if (stopped) return;
      deps.logger?.warn({ err: (e as Error).message, bucket: deps.bucket.bucket }, 'archive cache: cannot reach the archive bucket; trying again in 5 s (queries wait for its list, then are refused: 503)');
      await new Promise<void>((r) => { timer = setTimeout(r, 5000); timer.unref(); });
      if (!stopped) await follow();
    }
  };
  return {
    bucket, cache, archive,
    queryFlows: (ctx, input) => queries.queryFlows(ctx, input),
    component: {
      name: 'archive-cache',
      async start() { stopped = false; following = follow(); },
      async stop() {
        stopped = true;
        if (timer !== undefined) clearTimeout(timer);
        await cache.stop();
        await following;
      },
    },
    compact: (options) => compactBucket({ bucket, dir: deps.dir, clock: deps.clock, engine: engine.get, onFailure }, options),
    rollupStats: () => ({ minuteFailures: failures.minute, portFailures: failures.port, mergeFailures: failures.merge }),
    async close() {
      await bucket.close();
      for (const db of [engine, queryEngine]) await db.close();
    },
  };
}
