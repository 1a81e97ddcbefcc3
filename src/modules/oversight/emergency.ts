/** @module The emergency path: an action taken first, recorded with its retroactive review and a provisional basis; the list of them. */
import { isoUtc } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import { AppError, parseOrThrow } from '#platform/errors/index.js';
import { newId } from '#platform/ids/index.js';
import { keysetPage, pageQuery, type Page, type PageQuery } from '#platform/paging/index.js';
import { periodProblem, periodReason } from './scope.js';
import { EmergencyInputSchema, type EmergencyAction, type EmergencyInput } from './schema.js';
import { toEmergency, userOf, type EmergencyRow, type OversightDeps } from './records.js';
import type { Enforcement } from './enforcement.js';

/** Emergency actions; halting one whose review failed is enforcement's (the decision or the sweep). */
export function createEmergencyPath(deps: OversightDeps, enforcement: Enforcement) {
  const { db, policy, audit, clock, settings } = deps;
  const k = db.kysely;
  const { record, issueEmergencyBasis } = enforcement;

  return {
    /**
     * Records an action taken first, on the emergency path (roles the policy names), and opens its
     * retroactive review with a deadline. An emergency acquisition gets a provisional basis at once.
     * @see DPA (emergency acquisition); Police Duties Execution Act Art. 6-2
     */
    async recordEmergencyAction(ctx: RequestContext, input: EmergencyInput): Promise<EmergencyAction> {
      policy.require(ctx, 'emergency:act');
      const v = parseOrThrow(EmergencyInputSchema, input, 'emergency action');
      if (v.kind === 'acquisition') {
        const p = periodProblem(v.acquisition, settings);
        if (p !== undefined) throw new AppError('VALIDATION_FAILED', `acquisition: ${p}.`, { details: [{ path: 'acquisition.periodEnd', message: p }], reason: periodReason(v.acquisition, settings) });
        if (Date.parse(v.acquisition.periodEnd) <= clock.nowMs()) throw new AppError('VALIDATION_FAILED', 'acquisition.periodEnd: must be in the future.', { details: [{ path: 'acquisition.periodEnd', message: 'in the past' }], reason: { code: 'acquisition.periodPast', params: {} } });
      }
      const nowMs = clock.nowMs();
      const at = isoUtc(nowMs);
      const id = newId(nowMs);
      const reviewId = newId(nowMs);
      const deadline = isoUtc(nowMs + settings.emergencyReviewHours * 3_600_000);
      const agency = v.kind === 'measure' ? v.measure.agency : ctx.actor.roles.includes('police') ? 'police' : 'nco';
      const scope = v.kind === 'acquisition' ? v.acquisition : v.measure;
      const recorded = await db.transaction(async (trx) => {
        const basisId: string | null = null;
        await trx.insertInto('oversight_requests').values({
          id: reviewId, kind: 'emergency_review', status: 'submitted', title: `Retroactive review: ${v.title}`, scope: JSON.stringify({ emergencyActionId: id }), evidence: JSON.stringify(v.evidence),
          raised_by: userOf(ctx), raised_at: at, submitted_by: userOf(ctx), submitted_at: at, decision: null, decided_at: null, approval_id: null, emergency_action_id: id, review_deadline: deadline,
        }).execute();
        const row: EmergencyRow = {
          id, kind: v.kind, title: v.title, justification: v.justification, scope: JSON.stringify(scope), evidence: JSON.stringify(v.evidence), acted_by: userOf(ctx), acted_at: at, agency,
          measure_id: v.kind === 'measure' ? v.measure.measureId : null, basis_id: basisId, review_request_id: reviewId, review_deadline: deadline, status: 'awaiting_review', halt_reason: null, halted_at: null, purged_flows: null,
        };
        await trx.insertInto('oversight_emergency_actions').values(row).execute();
        await record(ctx, trx, { action: 'emergency:act', object: { type: 'emergency_action', id }, outcome: 'success', legalBasis: basisId, details: { kind: v.kind, agency, reviewRequestId: reviewId, reviewDeadline: deadline, measureId: row.measure_id } });
        return toEmergency(row);
      });
      if (recorded.kind === 'acquisition') {
        // A provisional basis lets selection keep the flows at once; a failure here is retried by the sweep.
        const basisId = await issueEmergencyBasis(ctx, id).catch(() => undefined);
        if (basisId !== undefined) recorded.basisId = basisId;
      }
      return recorded;
    },

    /** Emergency actions, newest first; the read is audited. */
    async listEmergencyActions(ctx: RequestContext, filter: { status?: string | undefined } & Partial<PageQuery> = {}): Promise<Page<EmergencyAction>> {
      policy.require(ctx, 'emergency:read');
      const { rows, nextCursor } = await keysetPage(pageQuery(filter), { columns: ['acted_at', 'id'], shape: ['string', 'string'], direction: 'desc' }, (r: EmergencyRow) => [r.acted_at, r.id], async (after, take) => {
        let q = k.selectFrom('oversight_emergency_actions').selectAll().orderBy('acted_at', 'desc').orderBy('id', 'desc').limit(take);
        if (after !== undefined) q = q.where(after);
        if (filter.status !== undefined) q = q.where('status', '=', filter.status);
        return (await q.execute()) as EmergencyRow[];
      });
      await audit.record(ctx, { action: 'emergency:read', object: null, outcome: 'success', details: { count: rows.length } });
      return { items: rows.map(toEmergency), nextCursor };
    },
  };
}
