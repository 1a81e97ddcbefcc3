/** @module Retention and purge by basis over the cluster's archive bucket: each deleted partition audited once (by the replica that deletes), every replica's cache follows. */
import type { Clock } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import { AppError } from '#platform/errors/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import type { BasisInventory } from '#modules/selection/index.js';
import type { ArchiveBucket, ObjectInfo } from './bucket.js';
import type { ArchiveCache } from './cache.js';
import { checkPurgeRequest, inventoryByBasis } from '#modules/selection/index.js';
import { META, parseArchiveObject, purgedObjectName } from './names.js';

/** What it needs. */
export interface ClusterArchiveDeps {
  bucket: ArchiveBucket;
  /** This replica's cache (dropped at once for what is deleted; the others follow the bucket's watch). */
  cache: ArchiveCache;
  /** The cache's directory (deletion certificates hash the files of a basis there). */
  dir: string;
  audit: AuditRecorder;
  policy: PolicyEngine;
  clock: Clock;
  retentionOf: (basisIds: readonly string[]) => Promise<Map<string, number>>;
}

interface Part { basis: string; hour: string; objects: ObjectInfo[] }

function partitionsOf(objects: readonly ObjectInfo[]): Part[] {
  const byKey = new Map<string, Part>();
  for (const o of objects) {
    const n = parseArchiveObject(o.name); // flow files and their rollups: a partition goes whole
    if (n === undefined || o.deleted) continue;
    const k = `${n.basis}/${n.hour}`;
    const cur = byKey.get(k);
    if (cur === undefined) byKey.set(k, { basis: n.basis, hour: n.hour, objects: [o] });
    else cur.objects.push(o);
  }
  return [...byKey.values()].sort((a, b) => (a.basis === b.basis ? a.hour.localeCompare(b.hour) : a.basis.localeCompare(b.basis)));
}

/** The SHA-256 (hex) of an object's bytes, from the digest the object store keeps (`SHA-256=<base64>`). */
const sha256Of = (o: ObjectInfo): string => Buffer.from(o.digest.replace(/^SHA-256=/i, ''), 'base64').toString('hex');

/** Rows of a flow file, from the metadata the archiver wrote (its Parquet footer's count). */
const rowsOf = (o: ObjectInfo): number => Number(o.metadata?.[META.rows] ?? 0) || 0;

/**
 * The archive's deleting face in a cluster (the lifecycle's `archive`): partitions, retention and purge act on
 * the bucket, not on one node's files. Audit entries have the single node's shape (`retention:delete` and
 * `flows:purge` per partition, details `flows`, `partitions`, `files`, `bytes`), so the Diet report counts alike.
 * @see docs/decisions/0010-replicated-archive.md
 * @see DESIGN.md invariants 4 and 6
 */
export function createClusterArchive(deps: ClusterArchiveDeps) {
  const { bucket, cache, audit, policy, clock } = deps;

  async function deletePartition(ctx: RequestContext, p: Part, action: 'retention:delete' | 'flows:purge', extra: Record<string, string | number>): Promise<number> {
    const flows = p.objects.reduce((a, o) => a + rowsOf(o), 0);
    const bytes = p.objects.reduce((a, o) => a + o.size, 0);
    const event = { action, object: { type: 'archive_partition', id: `basis=${p.basis}/hour=${p.hour}` }, legalBasis: p.basis, details: { ...extra, flows, partitions: 1, files: p.objects.length, bytes } };
    await audit.record(ctx, { ...event, outcome: 'success' });
    try {
      for (const o of p.objects) await bucket.delete(o.name);
    } catch (e) {
      await audit.record(ctx, { ...event, outcome: 'failure' });
      throw new AppError('UNAVAILABLE', `Deleting archive partition basis=${p.basis}/hour=${p.hour} from the cluster's bucket failed; the retention sweep tries again.`, { cause: e });
    } finally {
      cache.drop(p.objects.map((o) => o.name));
    }
    return flows;
  }

  return {
    dir: deps.dir,

    /** Partitions held cluster-wide, as this replica's cache knows them. */
    partitions: (): { basis: string; hour: string }[] => partitionsOf(cache.objects()).map(({ basis, hour }) => ({ basis, hour })),

    /**
     * Holdings by basis cluster-wide from the bucket's list (rows from each file's metadata, bytes of its objects): no
     * download. The single node's `inventory` shape. @see DESIGN.md "Oversight" (inspection: data inventory by basis)
     */
    async inventory(ctx: RequestContext): Promise<BasisInventory[]> {
      policy.require(ctx, 'selection:counters');
      // The bucket's own list, as the certificate's hashes: a cache that has not read it yet would report no holdings.
      return inventoryByBasis(partitionsOf(await bucket.list()).map((p) => ({
        basis: p.basis, hour: p.hour, rows: p.objects.reduce((n, o) => n + rowsOf(o), 0), bytes: p.objects.reduce((n, o) => n + o.size, 0),
      })));
    },

    /**
     * The SHA-256 of every object of a basis (flow files and rollups), from the bucket's digests — what a single node's
     * deletion certificate hashes from its files, without downloading them. From the bucket's own list, not this
     * replica's cache: a cache that has not read the list yet (just started, NATS unreachable) would certify nothing
     * while the purge deletes from the bucket.
     */
    contentHashes: async (basisId: string): Promise<string[]> =>
      (await bucket.list()).filter((o) => parseArchiveObject(o.name)?.basis === basisId).map(sha256Of),

    /** Deletes every partition past its basis's retention from the bucket, each audited as `retention:delete`. @see DESIGN.md invariant 4 */
    async enforceRetention(ctx: RequestContext): Promise<{ deleted: { basis: string; hour: string }[] }> {
      policy.require(ctx, 'flows:purge');
      const parts = partitionsOf(await bucket.list());
      const retention = await deps.retentionOf([...new Set(parts.map((p) => p.basis))]);
      const now = clock.nowMs();
      const deleted: { basis: string; hour: string }[] = [];
      for (const p of parts) {
        const hourEnd = Date.parse(`${p.hour}:00:00.000Z`) + 3_600_000;
        const days = retention.get(p.basis) ?? 0; // no known basis: nothing allows keeping it
        if (!Number.isFinite(hourEnd) || hourEnd + days * 86_400_000 > now) continue;
        await deletePartition(ctx, p, 'retention:delete', { retentionDays: days });
        deleted.push({ basis: p.basis, hour: p.hour });
      }
      return { deleted };
    },

    /**
     * Deletes every flow of a basis cluster-wide: first a tombstone (the archiver stores no more files of it, every
     * cache drops it and copies none again), then each partition's objects, audited as `flows:purge`.
     * @see DESIGN.md invariant 6 (purge if denied)
     */
    async purgeBasis(ctx: RequestContext, basisId: string, reason: string): Promise<{ flows: number; partitions: number; staged: number; deleted: { basis: string; hour: string }[] }> {
      policy.require(ctx, 'flows:purge');
      const why = checkPurgeRequest(basisId, reason);
      await bucket.putBytes(purgedObjectName(basisId), new TextEncoder().encode(JSON.stringify({ at: new Date(clock.nowMs()).toISOString() })));
      const deleted: { basis: string; hour: string }[] = [];
      let flows = 0;
      for (const p of partitionsOf(await bucket.list()).filter((x) => x.basis === basisId)) {
        flows += await deletePartition(ctx, p, 'flows:purge', { reason: why });
        deleted.push({ basis: p.basis, hour: p.hour });
      }
      return { flows, partitions: deleted.length, staged: 0, deleted };
    },
  };
}

/** The cluster's archive (deleting face). */
export type ClusterArchive = ReturnType<typeof createClusterArchive>;
