/** @module The data lifecycle: a purge follows a legal basis's data everywhere it went (archive, findings, cases, intel, detector state, caches) and ends in a deletion certificate in the audit log. */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '#platform/clock/index.js';
import { systemContext, type RequestContext } from '#platform/context/index.js';
import type { Database } from '#platform/db/index.js';
import type { Logger } from '#platform/logger/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import { rootHash, type FindingsPurger } from '#modules/analysis/index.js';
import type { IntelPurger } from '#modules/sharing/index.js';
import { isDestructible, periodBounds, type FlowArchive, type PseudonymKeyStore, type Rotation } from '#modules/selection/index.js';

/** Why a basis's data is purged. */
export type PurgeCause = 'revoked' | 'emergency_refused' | 'retention';

/** In-memory holders of derived data (detector state, caches) that must forget a purged basis. */
export interface PurgeHook {
  name: string;
  /** Forgets what derives from `basisId`; returns how many items (or 1 for "state dropped") went. */
  purge(basisId: string): Promise<number>;
}

/** A deletion certificate as written to the audit log (`lifecycle:certificate`): what went, how many, hashes of the content. */
export type DeletionCertificate = Record<string, string | number | boolean | null> & { basisId: string; cause: PurgeCause };

/** Tables a purge deletes rows from (scrubbed afterwards, so deleted rows do not linger on disk). */
const PURGED_TABLES = ['findings', 'case_items', 'sharing_drafts', 'intel_objects', 'intel_collection_entries', 'indicators', 'sharing_groups'];

const sha256 = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * Creates the lifecycle. One purge runs at a time, so two causes for the same basis (an emergency review
 * refused revokes the basis and purges it) give one certificate with the counts and one stating nothing remained.
 * @see DESIGN.md invariants 4 and 6
 */
export function createLifecycle(deps: {
  db: Database; audit: AuditRecorder; clock: Clock; logger?: Logger | undefined;
  archive: Pick<FlowArchive, 'dir' | 'purgeBasis' | 'enforceRetention' | 'partitions'> & { contentHashes?: (basisId: string) => Promise<string[]> };
  findings: FindingsPurger; intel: IntelPurger;
  /** Retention (days) of each basis id that exists. */
  retentionOf: (ids: readonly string[]) => Promise<Map<string, number>>;
  /** Ids of revoked bases (their data must be gone; the sweep retries any purge that failed). */
  revokedBases: () => Promise<string[]>;
  /** The pseudonym keys (destroyed once nothing pseudonymized with them remains) and who must forget a destroyed one. */
  keys?: { store: PseudonymKeyStore; forget: (period: string) => void } | undefined;
}) {
  const { db, audit } = deps;
  const hooks = new Map<string, PurgeHook>();
  // The last certificate per basis in this process: a second purge that finds nothing left answers with it.
  const certified = new Map<string, DeletionCertificate>();
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };

  // SHA-256 over the sorted SHA-256 of every archive file of the basis, taken before deletion.
  async function archiveHash(basisId: string): Promise<string> {
    // A cluster's archive is its bucket (a replica holds part of it at most): the objects' digests are the same hashes.
    if (deps.archive.contentHashes !== undefined) return rootHash(await deps.archive.contentHashes(basisId));
    const dir = join(deps.archive.dir, `basis=${basisId}`);
    if (!existsSync(dir)) return rootHash([]);
    const hashes: string[] = [];
    const walk = (d: string): void => { for (const f of readdirSync(d)) { const p = join(d, f); if (statSync(p).isDirectory()) walk(p); else hashes.push(sha256(readFileSync(p))); } };
    walk(dir);
    return rootHash(hashes);
  }

  async function certify(ctx: RequestContext, cert: DeletionCertificate): Promise<DeletionCertificate> {
    await audit.record(ctx, { action: 'lifecycle:certificate', object: { type: 'legal_basis', id: cert.basisId }, outcome: 'success', legalBasis: cert.basisId, details: cert });
    await db.scrub(PURGED_TABLES);
    return cert;
  }

  async function runHooks(basisId: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const h of hooks.values()) out[`memory_${h.name}`] = await h.purge(basisId);
    return out;
  }

  async function purgeNow(ctx: RequestContext, basisId: string, cause: PurgeCause, reason: string): Promise<DeletionCertificate> {
    const archiveContent = await archiveHash(basisId);
    const archive = await deps.archive.purgeBasis(ctx, basisId, reason);
    const memory = await runHooks(basisId);
    const findings = await deps.findings.purgeBasis(ctx, basisId);
    const intel = await deps.intel.purgeDerived(ctx, basisId, { findingIds: findings.deleted, caseIds: findings.cases });
    const earlier = certified.get(basisId);
    const nothing = archive.partitions + findings.deleted.length + findings.withdrawn.length + intel.draftsDeleted.length + intel.draftsRecalled.length === 0;
    if (earlier !== undefined && nothing) return earlier;
    const cert = await certify(ctx, {
      basisId, cause, reasonHash: sha256(reason),
      archivePartitions: archive.partitions, archiveFlows: archive.flows, archiveHash: archiveContent,
      findingsDeleted: findings.deleted.length, findingsWithdrawn: findings.withdrawn.length, findingIds: [...findings.deleted, ...findings.withdrawn].join(',').slice(0, 4000),
      findingsHash: findings.contentHash, caseItems: findings.caseItems, cases: findings.cases.join(',').slice(0, 2000),
      draftsDeleted: intel.draftsDeleted.length, intelRecalled: intel.draftsRecalled.length, intelObjectsWithdrawn: intel.objectsWithdrawn, recallNotices: intel.recalls, intelHash: intel.contentHash,
      ...memory,
    });
    certified.set(basisId, cert);
    return cert;
  }

  /** Key periods with their state and the data still depending on each (archive partitions of its hours, findings with hosts in it). */
  async function keyReport(): Promise<KeyReportRow[]> {
    const store = deps.keys?.store;
    if (store === undefined || !isDestructible(store)) return [];
    const hours = deps.archive.partitions().map((p) => Date.parse(`${p.hour}:00:00.000Z`));
    const found = (await db.kysely.selectFrom('findings').select(['first_seen', 'last_seen', 'hosts', 'subject_kind']).execute()) as Record<string, unknown>[];
    const withHosts = found.filter((f) => f['hosts'] !== '[]' || f['subject_kind'] === 'pseudonym').map((f) => [Date.parse(String(f['first_seen'])), Date.parse(String(f['last_seen']))] as const);
    return store.list().map((k) => {
      const [from, to] = periodRange(k.period);
      return { ...k, periodEnd: new Date(to).toISOString(), archivePartitions: hours.filter((h) => h + 3_600_000 > from && h < to).length, findings: withHosts.filter(([a, b]) => a < to && b >= from).length };
    });
  }

  /** Destroys every ended period's key (a day's grace for late flows) on which nothing depends any more; audited. */
  async function shredKeys(ctx: RequestContext): Promise<string[]> {
    const store = deps.keys?.store;
    if (store === undefined || !isDestructible(store)) return [];
    const now = deps.clock.nowMs();
    const destroyed: string[] = [];
    for (const k of await keyReport()) {
      if (k.state !== 'active' || Date.parse(k.periodEnd) + 86_400_000 > now || k.archivePartitions + k.findings > 0) continue;
      const at = new Date(now).toISOString();
      store.destroy(k.period, at);
      deps.keys!.forget(k.period);
      await audit.record(ctx, { action: 'keys:destroy', object: { type: 'pseudonym_key', id: k.period }, outcome: 'success', details: { period: k.period, destroyedAt: at, archivePartitions: 0, findings: 0 } });
      destroyed.push(k.period);
    }
    return destroyed;
  }

  return {
    keyReport,
    shredKeys,

    /** Registers an in-memory holder of derived data; returns the function that removes it. */
    addHook(hook: PurgeHook): () => void {
      hooks.set(hook.name, hook);
      return () => { if (hooks.get(hook.name) === hook) hooks.delete(hook.name); };
    },

    /**
     * Purges everything derived from one basis's flows and writes the deletion certificate: archive
     * partitions, findings (or the parts resting on it), case items, unreleased drafts, released intel
     * (recalled), detector state and cached results.
     */
    purgeBasis(ctx: RequestContext, basisId: string, cause: PurgeCause, reason: string): Promise<DeletionCertificate> {
      return serial(() => purgeNow(ctx, basisId, cause, reason));
    },

    /**
     * Retention everywhere: archive partitions past their basis's retention, findings' parts past it, and any
     * data of a revoked basis a failed purge left; one certificate per basis touched.
     * @see DESIGN.md invariant 4
     */
    enforceRetention(ctx: RequestContext = systemContext('retention')): Promise<DeletionCertificate[]> {
      return serial(async () => {
        const certs: DeletionCertificate[] = [];
        // A revoked basis whose archive partitions or findings are still there: a purge failed or was cut short; it is retried.
        const revoked = new Set(await deps.revokedBases());
        const leftover = new Set([...deps.archive.partitions().map((p) => p.basis), ...await deps.findings.basesInUse()]);
        for (const b of leftover) {
          if (revoked.has(b)) certs.push(await purgeNow(ctx, b, 'revoked', 'basis revoked: data left by an earlier purge that failed'));
        }
        const { deleted } = await deps.archive.enforceRetention(ctx);
        const byBasis = new Map<string, string[]>();
        for (const d of deleted) byBasis.set(d.basis, [...(byBasis.get(d.basis) ?? []), d.hour]);
        const expired = await deps.findings.expire(ctx, deps.retentionOf);
        for (const b of new Set([...byBasis.keys(), ...expired.keys()])) {
          const hours = byBasis.get(b) ?? [];
          const f = expired.get(b);
          const intel = f === undefined ? undefined : await deps.intel.purgeDerived(ctx, b, { findingIds: f.deleted, caseIds: f.cases });
          certs.push(await certify(ctx, {
            basisId: b, cause: 'retention',
            archivePartitions: hours.length, archiveHash: rootHash(hours.map((h) => sha256(`basis=${b}/hour=${h}`))),
            findingsDeleted: f?.deleted.length ?? 0, findingsWithdrawn: f?.withdrawn.length ?? 0, findingsHash: f?.contentHash ?? rootHash([]),
            caseItems: f?.caseItems ?? 0, draftsDeleted: intel?.draftsDeleted.length ?? 0, intelRecalled: intel?.draftsRecalled.length ?? 0, recallNotices: intel?.recalls ?? 0,
          }));
        }
        await shredKeys(ctx);
        return certs;
      });
    },
  };
}

/** One key period in `mamori keys list`. */
export interface KeyReportRow {
  period: string;
  state: 'active' | 'destroyed';
  createdAt: string | null;
  destroyedAt: string | null;
  periodEnd: string;
  archivePartitions: number;
  findings: number;
}

/** The time range a key period label covers (`2026`, `2026-04` or `2026-04-05`). */
function periodRange(period: string): [number, number] {
  const rotation: Rotation = /^\d{4}$/.test(period) ? 'yearly' : /^\d{4}-\d{2}$/.test(period) ? 'monthly' : 'daily';
  const start = Date.parse(`${period}${rotation === 'yearly' ? '-01-01' : rotation === 'monthly' ? '-01' : ''}T00:00:00.000Z`);
  return periodBounds(start, rotation);
}

/** The lifecycle. */
export type Lifecycle = ReturnType<typeof createLifecycle>;
