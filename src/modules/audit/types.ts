/** @module The shape of an audit event: who did what to which object, under which basis, with what outcome. */
import type { AnyDb } from '#platform/db/index.js';
import type { RequestContext } from '#platform/context/index.js';

/** What a module reports about one access or decision: references and hashes only, never content. */
export interface AuditEvent {
  /** The policy action, e.g. `user:create`, `flows:query`, `request:vote`. */
  action: string;
  /** The object acted on, by reference. */
  object: { type: string; id: string } | null;
  outcome: 'success' | 'denied' | 'failure';
  /** The legal basis the access relied on, when one applies. */
  legalBasis?: string | null;
  /** Extra references (ids, counts, SHA-256 hashes). Never personal data or raw addresses. */
  details?: Record<string, string | number | boolean | null>;
}

/** Where an entry landed in the log. */
export interface AuditEntryRef {
  index: number;
  leafHash: string;
}

/** The one way every module writes to the audit log. */
export interface AuditRecorder {
  /**
   * Appends an entry for `event`. With `trx` (a transaction, or any handle already inside one), the entry is part of that transaction: if the change
   * rolls back, so does the entry, and if the entry cannot be written, the change fails.
   */
  record(ctx: RequestContext, event: AuditEvent, trx?: AnyDb): Promise<AuditEntryRef>;
}
