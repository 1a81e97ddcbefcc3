/** @module Wires oversight to its neighbours: approvals become selection's legal bases, denied emergency acquisitions purge the archive, inspection reads the archive's inventory, selection asks oversight about re-identification, the audit checkpointer signs the Diet report's checkpoint. */
import { systemContext, type RequestContext } from '#platform/context/index.js';
import { AppError, isAppError } from '#platform/errors/index.js';
import { openCheckpoint, type Checkpointer } from '#modules/audit/index.js';
import type { BasisIssuer, CheckpointSource, DataInventory, DataPurger, OversightService } from '#modules/oversight/index.js';
import { FLOW_FIELDS, type ApprovalCheck, type FlowArchive, type SelectionService } from '#modules/selection/index.js';
import type { Lifecycle } from './lifecycle.js';

/** Acts as the system (selection records commission approvals only from the system) on behalf of the request that caused it. */
function asOversight(ctx: RequestContext): RequestContext {
  return { ...systemContext('oversight'), requestId: ctx.requestId };
}

/** Selection's legal-basis store as oversight's BasisIssuer. @see DPA Art. 17, 22 */
export function selectionBasisIssuer(selection: Pick<SelectionService, 'createBasis' | 'revokeBasis'>): BasisIssuer {
  return {
    async issue(ctx, a) {
      const s = a.selectors;
      const basis = await selection.createBasis(asOversight(ctx), {
        kind: a.basisKind,
        title: `${a.emergency ? 'Emergency acquisition (under review)' : 'Commission approval'} ${a.approvalId}`.slice(0, 200),
        selectors: {
          exporters: s.exporters ?? [], foreignPrefixes: s.foreignPrefixes ?? [], domesticPrefixes: s.domesticPrefixes ?? [],
          ports: s.ports ?? [], protocols: s.protocols ?? [],
        },
        validFrom: a.validFrom,
        validUntil: a.validUntil,
        // Selection's allow-list is already the act's "mechanical" fields; the approval does not widen it.
        allowedFields: [...FLOW_FIELDS],
        retentionDays: a.retentionDays,
        createdBy: `oversight:${a.requestId}`,
      });
      return { basisId: basis.id };
    },
    async revoke(ctx, basisId, reason) {
      try {
        await selection.revokeBasis(asOversight(ctx), basisId, { reason: reason.slice(0, 500) });
      } catch (e) {
        // Already revoked is the outcome we want.
        if (isAppError(e) && e.code === 'CONFLICT') return;
        throw e;
      }
    },
  };
}

/**
 * The lifecycle as oversight's purger: everything derived from the basis goes (archive partitions, each
 * audited as `flows:purge`, findings, case items, intel, detector state) with a deletion certificate;
 * oversight audits the purge as a whole (`emergency:purge`).
 * @see DESIGN.md invariant 6
 */
export function lifecyclePurger(lifecycle: () => Pick<Lifecycle, 'purgeBasis'>): DataPurger {
  return {
    async purgeByBasis(ctx, basisId, reason) {
      const c = await lifecycle().purgeBasis(asOversight(ctx), basisId, 'emergency_refused', reason);
      return { flows: Number(c['archiveFlows'] ?? 0), partitions: Number(c['archivePartitions'] ?? 0) };
    },
  };
}

/**
 * The archive's holdings and selection's discard counters as oversight's inspection inventory
 * (oversight has already authorized and audits the commissioner's read). Times are to the hour.
 * @see DPA Art. 38 ff. (inspection)
 */
export function archiveInventory(archive: Pick<FlowArchive, 'inventory'>, selection: Pick<SelectionService, 'counters'>): DataInventory {
  return {
    async inventoryByBasis(ctx) {
      const rows = await archive.inventory(asOversight(ctx));
      return rows.map((r) => ({ basisId: r.basisId, flows: r.rows, bytes: r.bytes, partitions: r.partitions, oldest: `${r.firstHour}:00:00.000Z`, newest: `${r.lastHour}:00:00.000Z` }));
    },
    async discardCounters(ctx) {
      return selection.counters(asOversight(ctx)).rows
        .filter((r) => r.outcome !== 'kept')
        .map((r) => ({ exporter: r.exporter, category: r.category, reason: r.outcome, count: r.flows }));
    },
  };
}

/** Oversight's answer to selection's re-identification check. @see DPA Art. 22 */
export function reidentificationCheck(oversight: () => OversightService): ApprovalCheck {
  return (ctx, approvalId, request) => oversight().reidentificationApproved(ctx, approvalId, request.pseudonym);
}

/** The audit checkpointer as the Diet report's checkpoint source. @see c2sp.org/tlog-checkpoint */
export function checkpointSource(checkpointer: Checkpointer): CheckpointSource {
  return {
    checkpointNow: () => checkpointer.checkpointNow(),
    verify(note, size, root) {
      const r = openCheckpoint(note, checkpointer.verifier());
      if (!r.ok) return false;
      return r.value.checkpoint.size === size && Buffer.from(r.value.checkpoint.rootHash).toString('base64') === root;
    },
  };
}

/** Thrown when a hook is used before wiring (never expected at run time). */
export function notWired(what: string): never {
  throw new AppError('UNAVAILABLE', `${what} is not connected in this deployment.`);
}
