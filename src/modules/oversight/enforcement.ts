/** @module Carrying decisions out through the hooks: legal bases issued, failed emergency actions halted and purged, and the sweep. */
import { isoUtc } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import type { AnyDb } from '#platform/db/index.js';
import type { AuditEvent } from '#modules/audit/index.js';
import type { OversightPorts } from './ports.js';
import type { AcquisitionScope } from './schema.js';
import { approvalState, type ApprovalRow, type EmergencyRow, type OversightDeps, type SweepResult } from './records.js';

/** The hooks selection and response connect, and what runs through them; every other part of oversight records and acts through this. */
export function createEnforcement(deps: OversightDeps) {
  const { db, policy, audit, clock } = deps;
  const k = db.kysely;
  const ports: OversightPorts = { ...(deps.ports ?? {}) };
  const now = (): string => isoUtc(clock.nowMs());

  async function record(ctx: RequestContext, trx: AnyDb, event: AuditEvent): Promise<void> {
    await audit.record(ctx, event, trx as never);
  }

  /** Halts an emergency action marked `halting`: revoke its basis, purge its data, halt its measure, then record it all. */
  async function haltEmergency(ctx: RequestContext, id: string): Promise<void> {
    const row = (await k.selectFrom('oversight_emergency_actions').selectAll().where('id', '=', id).executeTakeFirstOrThrow()) as EmergencyRow;
    if (row.status !== 'halting') return;
    const reason = `emergency action ${row.halt_reason === 'denied' ? 'denied by the commission' : 'not approved before its review deadline'}`;
    let purge = { flows: 0, partitions: 0 };
    if (row.basis_id !== null) {
      // Stop acquiring first, then delete what was acquired: both fail closed.
      await ports.basisIssuer?.revoke(ctx, row.basis_id, reason);
      if (ports.purger !== undefined) purge = await ports.purger.purgeByBasis(ctx, row.basis_id, reason);
    }
    if (row.measure_id !== null) await ports.halter?.halt(ctx, row.measure_id, reason);
    await db.transaction(async (trx) => {
      const at = now();
      const n = await trx.updateTable('oversight_emergency_actions').set({ status: 'halted', halted_at: at, purged_flows: purge.flows }).where('id', '=', id).where('status', '=', 'halting').executeTakeFirst();
      if (Number(n.numUpdatedRows) !== 1) return;
      const object = { type: 'emergency_action', id };
      await record(ctx, trx, { action: 'emergency:halt', object, outcome: 'success', legalBasis: row.basis_id, details: { kind: row.kind, agency: row.agency, reason: row.halt_reason, measureId: row.measure_id, halter: row.measure_id === null ? null : ports.halter !== undefined } });
      if (row.kind === 'acquisition') {
        await record(ctx, trx, { action: 'emergency:purge', object, outcome: 'success', legalBasis: row.basis_id, details: { basisId: row.basis_id, flows: purge.flows, partitions: purge.partitions, purger: ports.purger !== undefined } });
      }
    });
  }

  async function approvalRow(q: AnyDb, id: string): Promise<ApprovalRow | undefined> {
    return (await q.selectFrom('oversight_approvals').selectAll().where('id', '=', id).executeTakeFirst()) as ApprovalRow | undefined;
  }

  /** Issues the legal basis of an acquisition approval that has none yet (after the decision commits; retried by the sweep). */
  async function issueBasis(ctx: RequestContext, approvalId: string): Promise<{ approvalId: string; basisId: string } | undefined> {
    const issuer = ports.basisIssuer;
    const a = await approvalRow(k, approvalId);
    if (issuer === undefined || a === undefined || a.kind !== 'acquisition' || a.basis_id !== null) return undefined;
    const state = approvalState(a, clock.nowMs());
    if (state !== 'active' && state !== 'pending') return undefined;
    const scope = JSON.parse(a.scope) as AcquisitionScope;
    const { basisId } = await issuer.issue(ctx, {
      approvalId: a.id, requestId: a.request_id, basisKind: scope.basisKind, selectors: scope.selectors, validFrom: a.valid_from, validUntil: a.valid_until,
      purpose: scope.purpose, retentionDays: scope.retentionDays, conditions: JSON.parse(a.conditions) as string[], emergency: a.emergency === 1,
    });
    await db.transaction(async (trx) => {
      await trx.updateTable('oversight_approvals').set({ basis_id: basisId }).where('id', '=', a.id).where('basis_id', 'is', null).execute();
      await record(ctx, trx, { action: 'approval:basis-issue', object: { type: 'approval', id: a.id }, outcome: 'success', legalBasis: basisId, details: { kind: a.kind, basisKind: scope.basisKind, basisId, validUntil: a.valid_until } });
    });
    return { approvalId: a.id, basisId };
  }

  /** Issues the provisional basis of an emergency acquisition still awaiting review. */
  async function issueEmergencyBasis(ctx: RequestContext, id: string): Promise<string | undefined> {
    const issuer = ports.basisIssuer;
    const e = (await k.selectFrom('oversight_emergency_actions').selectAll().where('id', '=', id).executeTakeFirst()) as EmergencyRow | undefined;
    if (issuer === undefined || e === undefined || e.kind !== 'acquisition' || e.basis_id !== null || e.status !== 'awaiting_review') return undefined;
    const scope = JSON.parse(e.scope) as AcquisitionScope;
    const from = Math.max(clock.nowMs(), Date.parse(scope.periodStart));
    if (Date.parse(scope.periodEnd) <= from) return undefined;
    const { basisId } = await issuer.issue(ctx, {
      approvalId: e.id, requestId: e.review_request_id, basisKind: scope.basisKind, selectors: scope.selectors, validFrom: isoUtc(from), validUntil: scope.periodEnd,
      purpose: scope.purpose, retentionDays: scope.retentionDays, conditions: [], emergency: true,
    });
    const stored = await db.transaction(async (trx) => {
      const n = await trx.updateTable('oversight_emergency_actions').set({ basis_id: basisId }).where('id', '=', e.id).where('basis_id', 'is', null).where('status', '=', 'awaiting_review').executeTakeFirst();
      if (Number(n.numUpdatedRows) !== 1) return false;
      await record(ctx, trx, { action: 'emergency:basis-issue', object: { type: 'emergency_action', id: e.id }, outcome: 'success', legalBasis: basisId, details: { kind: e.kind, basisKind: scope.basisKind, basisId, validUntil: scope.periodEnd } });
      return true;
    });
    // Halted or decided in between: the provisional basis must not outlive that.
    if (!stored) await issuer.revoke(ctx, basisId, 'emergency action no longer awaiting review');
    return stored ? basisId : undefined;
  }

  const enforcement = {
    ports, now, record, haltEmergency, approvalRow, issueBasis, issueEmergencyBasis,
    /** Connects selection's and response's hooks once they exist (the composition root calls this). */
    connect(more: OversightPorts): void {
      Object.assign(ports, more);
    },

    /** Which hooks are connected (for inspection and the docs). */
    connected(): Record<keyof OversightPorts, boolean> {
      return { basisIssuer: ports.basisIssuer !== undefined, purger: ports.purger !== undefined, halter: ports.halter !== undefined, inventory: ports.inventory !== undefined };
    },

    /**
     * The scheduler's work (driven by the Clock): marks approvals past their end expired, lapses
     * emergency reviews past their deadline, and halts and purges every action whose review failed.
     * @see DPA Art. 17, 22, 26 ff.
     */
    async sweep(ctx: RequestContext): Promise<SweepResult> {
      policy.require(ctx, 'oversight:sweep');
      const at = now();
      const result: SweepResult = { expired: 0, lapsed: 0, halted: 0, failed: 0 };
      const due = (await k.selectFrom('oversight_approvals').selectAll().where('valid_until', '<=', at).where('expired_at', 'is', null).where('revoked_at', 'is', null).execute()) as ApprovalRow[];
      for (const a of due) {
        await db.transaction(async (trx) => {
          const n = await trx.updateTable('oversight_approvals').set({ expired_at: at }).where('id', '=', a.id).where('expired_at', 'is', null).executeTakeFirst();
          if (Number(n.numUpdatedRows) !== 1) return;
          await record(ctx, trx, { action: 'approval:expire', object: { type: 'approval', id: a.id }, outcome: 'success', legalBasis: a.basis_id, details: { kind: a.kind, validUntil: a.valid_until } });
          result.expired += 1;
        });
      }
      const lapsing = (await k.selectFrom('oversight_emergency_actions').selectAll().where('status', '=', 'awaiting_review').where('review_deadline', '<=', at).execute()) as EmergencyRow[];
      for (const e of lapsing) {
        await db.transaction(async (trx) => {
          const n = await trx.updateTable('oversight_emergency_actions').set({ status: 'halting', halt_reason: 'deadline' }).where('id', '=', e.id).where('status', '=', 'awaiting_review').executeTakeFirst();
          if (Number(n.numUpdatedRows) !== 1) return;
          await trx.updateTable('oversight_requests').set({ status: 'lapsed', decided_at: at }).where('id', '=', e.review_request_id).where('status', '=', 'submitted').execute();
          await record(ctx, trx, { action: 'request:lapse', object: { type: 'oversight_request', id: e.review_request_id }, outcome: 'success', details: { kind: 'emergency_review', emergencyActionId: e.id, reviewDeadline: e.review_deadline } });
          result.lapsed += 1;
        });
      }
      if (ports.basisIssuer !== undefined) {
        const unissued = (await k.selectFrom('oversight_approvals').select('id').where('kind', '=', 'acquisition').where('basis_id', 'is', null).where('revoked_at', 'is', null).where('valid_until', '>', at).execute()) as { id: string }[];
        for (const a of unissued) await issueBasis(ctx, a.id).catch(() => { result.failed += 1; });
        const provisional = (await k.selectFrom('oversight_emergency_actions').select('id').where('kind', '=', 'acquisition').where('basis_id', 'is', null).where('status', '=', 'awaiting_review').execute()) as { id: string }[];
        for (const e of provisional) await issueEmergencyBasis(ctx, e.id).catch(() => { result.failed += 1; });
      }
      const halting = (await k.selectFrom('oversight_emergency_actions').select('id').where('status', '=', 'halting').execute()) as { id: string }[];
      for (const h of halting) {
        try {
          await haltEmergency(ctx, h.id);
          result.halted += 1;
        } catch {
          // Left in `halting`: the next sweep retries; the basis stays revoked if that step succeeded.
          result.failed += 1;
        }
      }
      return result;
    },
  };
  return enforcement;
}

/** The enforcement part of the oversight service. */
export type Enforcement = ReturnType<typeof createEnforcement>;
