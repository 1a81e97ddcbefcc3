/** @module What the sharing service needs from the rest of the system, and the cache events it tells of. */
import type { Clock } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import type { AnyDb, Database } from '#platform/db/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import type { AuditEntryRef, AuditEvent, AuditRecorder } from '#modules/audit/index.js';
import type { FetchLike } from './client.js';

/** An organization as sharing needs it. */
export interface DirectoryOrg { id: string; name: string; kind: string; sectors: readonly string[] }
/** A user as sharing needs it. */
export interface DirectoryUser { id: string; username: string; orgId: string | null }

/** What sharing needs from the rest of the system. */
export interface SharingDeps {
  db: Database;
  policy: PolicyEngine;
  /** The audit log; with `recordBatch` a group commit of deliveries appends all their entries at once. */
  audit: AuditRecorder & { recordBatch?: (items: readonly { ctx: RequestContext; event: AuditEvent }[], trx?: AnyDb) => Promise<AuditEntryRef[]> };
  clock: Clock;
  /** Organizations and users (from identity, read as the system). */
  directory: { orgs(): Promise<readonly DirectoryOrg[]>; users(): Promise<readonly DirectoryUser[]> };
  /** The secret that per-recipient marks derive from; kept apart from the database. */
  fingerprintKey: Uint8Array;
  /** Sector names TLP:CLEAR/GREEN intelligence must not reveal. */
  sectorNames: readonly string[];
  /** HTTP for the TAXII client (defaults to the global fetch). */
  fetch?: FetchLike;
  /** Told after this process dropped cached data (API replicas pass it on to the others: `applyCacheEvent`). */
  cacheEvents?: (e: SharingCacheEvent) => void;
  settings?: {
    maxPageSize?: number; renderCacheEntries?: number; pageCacheBytes?: number;
    /** How long a TAXII status resource stays readable (default 7 days); older ones are deleted on the next add. */
    statusRetentionMs?: number;
  };
}

/** Cached data dropped: everything (directory, groups, pages), or one collection's served pages. */
export type SharingCacheEvent = { scope: 'all' } | { scope: 'pages'; collectionId: string };
