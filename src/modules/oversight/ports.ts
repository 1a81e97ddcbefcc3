/** @module What oversight needs from selection and response, as small interfaces wired in the composition root (src/server/core.ts). */
import type { RequestContext } from '#platform/context/index.js';
import type { AnyDb } from '#platform/db/index.js';
import type { AcquisitionBasisKind, Selectors } from './schema.js';

/** An approved acquisition, handed to selection to become a legal basis. @see DPA Art. 17, 22 */
export interface ApprovedAcquisition {
  approvalId: string;
  requestId: string;
  basisKind: AcquisitionBasisKind;
  selectors: Selectors;
  validFrom: string;
  validUntil: string;
  purpose: string;
  retentionDays: number;
  conditions: string[];
  /** True for an emergency acquisition awaiting the commission's review. */
  emergency: boolean;
}

/**
 * Turns approvals into selection's legal bases and revokes them. Oversight calls `issue` after its
 * own transaction commits (selection writes in its own); `trx` is given only when the adapter can
 * join one. `revoke` must be idempotent: revoking a revoked basis succeeds.
 * @see DPA Art. 17, 22
 */
export interface BasisIssuer {
  issue(ctx: RequestContext, approval: ApprovedAcquisition, trx?: AnyDb): Promise<{ basisId: string }>;
  revoke(ctx: RequestContext, basisId: string, reason: string): Promise<void>;
}

/** Deletes the data acquired under a basis (selection's flow archive); the caller audits the purge. @see DPA Art. 26 ff. */
export interface DataPurger {
  purgeByBasis(ctx: RequestContext, basisId: string, reason: string): Promise<{ flows: number; partitions: number }>;
}

/** Halts a measure at once (response's state machine). @see Police Duties Execution Act Art. 6-2 */
export interface MeasureHalter {
  halt(ctx: RequestContext, measureId: string, reason: string): Promise<void>;
}

/** One basis's holdings in the flow archive. */
export interface BasisHolding {
  basisId: string;
  flows: number;
  bytes: number;
  /** Archive partitions (basis × hour) holding them, when the archive says. */
  partitions?: number;
  oldest: string | null;
  newest: string | null;
}

/** One discard counter: flows dropped at selection (never stored), by exporter, category and reason. */
export interface DiscardCounter {
  exporter: string;
  category: string;
  reason: string;
  count: number;
}

/** What inspection reads from selection: holdings by basis and the discard counters. @see DPA Art. 38 ff. */
export interface DataInventory {
  inventoryByBasis(ctx: RequestContext): Promise<BasisHolding[]>;
  discardCounters(ctx: RequestContext): Promise<DiscardCounter[]>;
}

/** The signed checkpoint the Diet report is computed at (audit's checkpointer). @see c2sp.org/tlog-checkpoint */
export interface CheckpointSource {
  /** Signs the current head (if it grew) and returns the latest checkpoint. */
  checkpointNow(): Promise<{ size: number; root: string; note: string; createdAt: string } | undefined>;
  /** True when the note carries the log's valid signature over `size` and `root`. */
  verify(note: string, size: number, root: string): boolean;
}

/** The hooks oversight calls out through; any may be absent until its module is wired. */
export interface OversightPorts {
  basisIssuer?: BasisIssuer;
  purger?: DataPurger;
  halter?: MeasureHalter;
  inventory?: DataInventory;
}
