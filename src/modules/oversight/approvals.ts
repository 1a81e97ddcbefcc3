/** @module Approvals: listing, reading and revoking them, and the checks selection and response ask before they act. */
import type { RequestContext } from '#platform/context/index.js';
import { AppError, parseOrThrow } from '#platform/errors/index.js';
import { keysetPage, pageQuery, type Page, type PageQuery } from '#platform/paging/index.js';
import { RevokeInputSchema, type Approval, type ApprovalKind, type MeasureScope, type ReidentificationScope } from './schema.js';
import {
  approvalState, conflict, sha256, toApproval, userOf, type ApprovalCheck, type ApprovalRow, type EmergencyRow, type MeasureAuthorization,
  type OversightDeps,
} from './records.js';
import type { Enforcement } from './enforcement.js';

/** Approvals and the checks on them; a revocation stops the basis and halts the measure before it is recorded. */
export function createApprovals(deps: OversightDeps, enforcement: Enforcement) {
  const { db, policy, audit, clock } = deps;
  const k = db.kysely;
  const { ports, now, record, approvalRow } = enforcement;

  const approvals = {
    /** Approvals (what is authorized now and what was), newest first; the read is audited. */
    async listApprovals(ctx: RequestContext, filter: { kind?: string | undefined; state?: string | undefined } & Partial<PageQuery> = {}): Promise<Page<Approval>> {
      policy.require(ctx, 'approval:read');
      const nowMs = clock.nowMs();
      // The state depends on the time now, so it filters the page's rows (a page may then hold fewer than its limit).
      const { rows, nextCursor } = await keysetPage(pageQuery(filter), { columns: ['created_at', 'id'], shape: ['string', 'string'], direction: 'desc' }, (r: ApprovalRow) => [r.created_at, r.id], async (after, take) => {
        let q = k.selectFrom('oversight_approvals').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(take);
        if (after !== undefined) q = q.where(after);
        if (filter.kind !== undefined) q = q.where('kind', '=', filter.kind);
        return (await q.execute()) as ApprovalRow[];
      }, (r) => filter.state === undefined || toApproval(r, nowMs).state === filter.state);
      await audit.record(ctx, { action: 'approval:read', object: null, outcome: 'success', details: { count: rows.length } });
      return { items: rows.map((r) => toApproval(r, nowMs)), nextCursor };
    },

    /** One approval; the read is audited. */
    async getApproval(ctx: RequestContext, id: string): Promise<Approval> {
      policy.require(ctx, 'approval:read');
      const r = await approvalRow(k, id);
      if (r === undefined) throw new AppError('NOT_FOUND', `No approval with id ${id}.`);
      await audit.record(ctx, { action: 'approval:read', object: { type: 'approval', id }, outcome: 'success', legalBasis: r.basis_id, details: { kind: r.kind } });
      return toApproval(r, clock.nowMs());
    },

    /** Revokes an approval at once: its basis stops matching and its measure halts before the revocation is recorded. @see DPA Art. 17, 22 */
    async revokeApproval(ctx: RequestContext, id: string, input: { reason: string }): Promise<Approval> {
      policy.require(ctx, 'approval:revoke');
      const v = parseOrThrow(RevokeInputSchema, input, 'revocation');
      const r = await approvalRow(k, id);
      if (r === undefined) throw new AppError('NOT_FOUND', `No approval with id ${id}.`);
      if (r.revoked_at !== null) return toApproval(r, clock.nowMs());
      if (approvalState(r, clock.nowMs()) === 'expired') throw conflict(`This approval expired at ${r.valid_until}; there is nothing left to revoke.`, 'approval.expired', { validUntil: r.valid_until });
      // Fail closed: the basis stops and the measure halts first; if recording then fails, nothing still runs on it.
      if (r.basis_id !== null) await ports.basisIssuer?.revoke(ctx, r.basis_id, `approval revoked: ${v.reason}`);
      if (r.measure_id !== null) await ports.halter?.halt(ctx, r.measure_id, `approval revoked: ${v.reason}`);
      const at = now();
      await db.transaction(async (trx) => {
        await trx.updateTable('oversight_approvals').set({ revoked_at: at, revoked_by: userOf(ctx), revoke_reason: v.reason }).where('id', '=', id).where('revoked_at', 'is', null).execute();
        await record(ctx, trx, { action: 'approval:revoke', object: { type: 'approval', id }, outcome: 'success', legalBasis: r.basis_id, details: { kind: r.kind, basisId: r.basis_id, measureId: r.measure_id, reasonSha256: sha256(v.reason) } });
      });
      return toApproval({ ...r, revoked_at: at, revoked_by: userOf(ctx), revoke_reason: v.reason }, clock.nowMs());
    },

    /**
     * Whether `approvalId` is an approval of `kind` in force at `at` (selection asks before a
     * re-identification). Expired and revoked approvals never match, whether or not the sweep has run.
     * @see DPA Art. 17, 22, 32
     */
    async isApprovalValid(_ctx: RequestContext, approvalId: string, kind: ApprovalKind, at: string | number = clock.nowMs()): Promise<ApprovalCheck> {
      const r = await approvalRow(k, approvalId);
      if (r === undefined) return { valid: false, reason: 'NOT_FOUND' };
      if (r.kind !== kind) return { valid: false, reason: 'WRONG_KIND' };
      const atMs = typeof at === 'number' ? at : Date.parse(at);
      const state = approvalState(r, atMs);
      if (state === 'revoked') return { valid: false, reason: 'REVOKED' };
      if (state === 'expired') return { valid: false, reason: 'EXPIRED' };
      if (state === 'pending') return { valid: false, reason: 'NOT_YET_VALID' };
      return { valid: true, approval: toApproval(r, atMs) };
    },

    /**
     * Whether `approvalId` approves re-identifying `pseudonym` at `at`: a re-identification approval in
     * force whose (possibly narrowed) pseudonym list names it. Selection's `reidentify` asks this.
     * @see DPA Art. 22 (handling of acquired information)
     */
    async reidentificationApproved(ctx: RequestContext, approvalId: string, pseudonym: string, at: string | number = clock.nowMs()): Promise<boolean> {
      const r = await approvals.isApprovalValid(ctx, approvalId, 'reidentification', at);
      return r.valid && (r.approval.scope as ReidentificationScope).pseudonyms.includes(pseudonym);
    },

    /**
     * Whether measure `measureId` may proceed at `at` (response asks before each transition): by an
     * approval in force, or on the emergency path while its review is open and its deadline not passed.
     * @see Police Duties Execution Act Art. 6-2; SDF Act Art. 81-3
     */
    async measureAuthorization(_ctx: RequestContext, measureId: string, at: string | number = clock.nowMs()): Promise<MeasureAuthorization> {
      const atMs = typeof at === 'number' ? at : Date.parse(at);
      const approvals = (await k.selectFrom('oversight_approvals').selectAll().where('kind', '=', 'measure').where('measure_id', '=', measureId).orderBy('created_at', 'desc').execute()) as ApprovalRow[];
      const live = approvals.find((a) => approvalState(a, atMs) === 'active');
      if (live !== undefined) return { authorized: true, via: 'approval', approvalId: live.id, conditions: JSON.parse(live.conditions) as string[], agency: (JSON.parse(live.scope) as MeasureScope).agency, validUntil: live.valid_until };
      const actions = (await k.selectFrom('oversight_emergency_actions').selectAll().where('measure_id', '=', measureId).orderBy('acted_at', 'desc').execute()) as EmergencyRow[];
      const open = actions.find((e) => e.status === 'awaiting_review' && Date.parse(e.review_deadline) > atMs);
      if (open !== undefined) return { authorized: true, via: 'emergency', emergencyActionId: open.id, reviewDeadline: open.review_deadline, agency: open.agency };
      if (actions.some((e) => e.status === 'halted' || e.status === 'halting' || (e.status === 'awaiting_review' && Date.parse(e.review_deadline) <= atMs))) return { authorized: false, reason: 'EMERGENCY_HALTED' };
      const states = approvals.map((a) => approvalState(a, atMs));
      if (states.includes('revoked')) return { authorized: false, reason: 'REVOKED' };
      if (states.includes('expired')) return { authorized: false, reason: 'EXPIRED' };
      return { authorized: false, reason: 'NO_APPROVAL' };
    },
  };
  return approvals;
}
