/** @module The commission's docket: requests drafted, submitted and withdrawn, conflicts declared, votes cast and the decision. */
import { isoUtc } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import type { AnyDb } from '#platform/db/index.js';
import { AppError, parseOrThrow } from '#platform/errors/index.js';
import { newId } from '#platform/ids/index.js';
import { keysetPage, pageQuery, type Page, type PageQuery } from '#platform/paging/index.js';
import type { PolicyResource } from '#platform/policy/index.js';
import { narrowAcquisition, narrowReidentification, periodProblem, periodReason } from './scope.js';
import { countVotes } from './tally.js';
import {
  ConflictInputSchema, DecideInputSchema, DraftInputSchema, VoteInputSchema, type AcquisitionScope, type Conflict, type DecideInput,
  type Decision, type DraftInput, type Evidence, type MeasureScope, type OversightRequest, type ReidentificationScope, type Vote,
  type VoteInput,
} from './schema.js';
import { conflict, sha256, userOf, type ApprovalRow, type EmergencyRow, type OversightDeps, type RequestRow } from './records.js';
import type { Enforcement } from './enforcement.js';

/** Requests and their decision; an approved acquisition's basis and a denied emergency action's halt go through enforcement. */
export function createRequests(deps: OversightDeps, enforcement: Enforcement) {
  const { db, policy, audit, clock, settings } = deps;
  const k = db.kysely;
  const { now, record, haltEmergency, approvalRow, issueBasis } = enforcement;

  /**
   * One request row. Inside a transaction that changes the request, `lock` makes concurrent changes take
   * turns, so two members cannot both decide, nor a vote land on a decided request: SQLite runs one
   * transaction at a time, PostgreSQL side by side unless the row is locked.
   */
  async function requestRow(q: AnyDb, id: string, lock = false): Promise<RequestRow> {
    let query = q.selectFrom('oversight_requests').selectAll().where('id', '=', id);
    if (lock && db.dialect === 'postgres') query = query.forUpdate();
    const row = (await query.executeTakeFirst()) as RequestRow | undefined;
    if (row === undefined) throw new AppError('NOT_FOUND', `No request with id ${id}; list the docket with GET /api/v1/oversight/requests.`);
    return row;
  }

  async function votesOf(q: AnyDb, id: string): Promise<Vote[]> {
    const rows = (await q.selectFrom('oversight_votes').selectAll().where('request_id', '=', id).orderBy('cast_at').execute()) as { member_id: string; vote: Vote['vote']; reasons: string; cast_at: string }[];
    return rows.map((r) => ({ memberId: r.member_id, vote: r.vote, reasons: r.reasons, castAt: r.cast_at }));
  }

  async function conflictsOf(q: AnyDb, id: string): Promise<Conflict[]> {
    const rows = (await q.selectFrom('oversight_conflicts').selectAll().where('request_id', '=', id).orderBy('declared_at').execute()) as { member_id: string; reason: string; declared_at: string }[];
    return rows.map((r) => ({ memberId: r.member_id, reason: r.reason, declaredAt: r.declared_at }));
  }

  /** Votes and conflicts with their members' display names. */
  async function named(votes: Vote[], conflicts: Conflict[], withNames: boolean): Promise<{ votes: Vote[]; conflicts: Conflict[] }> {
    if (!withNames || deps.people === undefined || votes.length + conflicts.length === 0) return { votes, conflicts };
    const names = await deps.people.namesOf([...new Set([...votes, ...conflicts].map((x) => x.memberId))]);
    return { votes: votes.map((v) => ({ ...v, memberName: names.get(v.memberId) ?? null })), conflicts: conflicts.map((c) => ({ ...c, memberName: names.get(c.memberId) ?? null })) };
  }

  /** The request as readers see it; `withNames` (only outside a transaction: the names are read on another connection) names its members. */
  async function toRequest(q: AnyDb, r: RequestRow, withNames = false): Promise<OversightRequest> {
    return {
      id: r.id, kind: r.kind, status: r.status, title: r.title, scope: JSON.parse(r.scope) as OversightRequest['scope'], evidence: JSON.parse(r.evidence) as Evidence[],
      raisedBy: r.raised_by, raisedAt: r.raised_at, submittedBy: r.submitted_by, submittedAt: r.submitted_at,
      decision: r.decision === null ? null : (JSON.parse(r.decision) as Decision), approvalId: r.approval_id, emergencyActionId: r.emergency_action_id,
      reviewDeadline: r.review_deadline, ...(await named(await votesOf(q, r.id), await conflictsOf(q, r.id), withNames)),
    };
  }

  /** The policy resource of a request: its parties are whoever raised or submitted it and members who declared a conflict. */
  async function resourceOf(q: AnyDb, r: RequestRow): Promise<PolicyResource> {
    const parties = new Set([r.raised_by, ...(r.submitted_by !== null ? [r.submitted_by] : []), ...(await conflictsOf(q, r.id)).map((c) => c.memberId)]);
    return { type: 'OversightRequest', id: r.id, attrs: { kind: r.kind, status: r.status, parties: [...parties] } };
  }

  /** Checks the policy on a request; a refusal is itself audited before it is answered. Never call it inside a transaction (SQLite has one connection). */
  async function requireOn(ctx: RequestContext, action: string, r: RequestRow): Promise<void> {
    const resource = await resourceOf(k, r);
    if (policy.authorize(ctx, action, resource).allowed) return;
    // The policy decided; this only picks the message (Cedar reports policy ids, not their @id names).
    const party = (resource.attrs?.['parties'] as string[]).includes(userOf(ctx));
    await audit.record(ctx, { action, object: { type: 'oversight_request', id: r.id }, outcome: 'denied', details: { kind: r.kind, reason: party ? 'party_to_request' : 'policy' } });
    throw new AppError('FORBIDDEN', party
      ? 'You raised, submitted or declared a conflict on this request: you may not vote on or decide it.'
      : `Your role may not perform ${action} on this request.`, { reason: { code: party ? 'request.party' : 'request.roleMayNot', params: { action } } });
  }

  function reviewOpen(r: RequestRow): void {
    if (r.status !== 'submitted') throw conflict(`This request is ${r.status}; only submitted requests are voted on and decided.`, 'request.notSubmitted', { status: r.status });
    if (r.review_deadline !== null && Date.parse(r.review_deadline) <= clock.nowMs()) {
      throw conflict(`The review deadline (${r.review_deadline}) has passed: the emergency action is halted and its data purged; nothing can be decided.`, 'request.reviewDeadlinePassed', { reviewDeadline: r.review_deadline });
    }
  }

  /** A draft's input checked as drafting and editing check it, and the scope it stores. */
  function checkedDraft(input: DraftInput) {
    const v = parseOrThrow(DraftInputSchema, input, 'request');
    if (v.kind === 'acquisition') {
      const p = periodProblem(v.acquisition, settings);
      if (p !== undefined) throw new AppError('VALIDATION_FAILED', `acquisition: ${p}.`, { details: [{ path: 'acquisition.periodEnd', message: p }], reason: periodReason(v.acquisition, settings) });
    }
    return { v, scope: v.kind === 'acquisition' ? v.acquisition : v.kind === 'measure' ? v.measure : v.reidentification };
  }

  return {
    /** Drafts a request to the commission (analysts and NCO directors). @see DPA Art. 17, 22, 32 */
    async draftRequest(ctx: RequestContext, input: DraftInput): Promise<OversightRequest> {
      policy.require(ctx, 'request:draft');
      const { v, scope } = checkedDraft(input);
      const row: RequestRow = {
        id: newId(clock.nowMs()), kind: v.kind, status: 'draft', title: v.title, scope: JSON.stringify(scope), evidence: JSON.stringify(v.evidence),
        raised_by: userOf(ctx), raised_at: now(), submitted_by: null, submitted_at: null, decision: null, decided_at: null, approval_id: null,
        emergency_action_id: null, review_deadline: null,
      };
      return db.transaction(async (trx) => {
        await trx.insertInto('oversight_requests').values(row).execute();
        await record(ctx, trx, { action: 'request:draft', object: { type: 'oversight_request', id: row.id }, outcome: 'success', details: { kind: row.kind, evidence: v.evidence.length } });
        return toRequest(trx, row);
      });
    },

    /**
     * Replaces a draft's content (kind, title, scope, evidence) before it is submitted, with the checks of drafting: by
     * whoever drafted it, or an NCO director (who would submit it). The previous content stays in the audit entry's count
     * of evidence only; what the commission decides on is what was submitted.
     */
    async editDraft(ctx: RequestContext, id: string, input: DraftInput): Promise<OversightRequest> {
      policy.require(ctx, 'request:draft');
      const { v, scope } = checkedDraft(input);
      const found = await requestRow(k, id);
      if (found.raised_by !== userOf(ctx) && !policy.authorize(ctx, 'request:submit', await resourceOf(k, found)).allowed) {
        await audit.record(ctx, { action: 'request:edit', object: { type: 'oversight_request', id }, outcome: 'denied', details: { kind: found.kind, reason: 'not_author' } });
        throw new AppError('FORBIDDEN', 'Only who drafted this request, or an NCO director, may edit it.', { reason: { code: 'request.notAuthor', params: {} } });
      }
      return db.transaction(async (trx) => {
        const r = await requestRow(trx, id, true);
        if (r.status !== 'draft') throw conflict(`This request is ${r.status}; only drafts are edited.`, 'request.notDraftEdit', { status: r.status });
        const next = { kind: v.kind, title: v.title, scope: JSON.stringify(scope), evidence: JSON.stringify(v.evidence) };
        await trx.updateTable('oversight_requests').set(next).where('id', '=', id).execute();
        await record(ctx, trx, { action: 'request:edit', object: { type: 'oversight_request', id }, outcome: 'success', details: { kind: v.kind, evidence: v.evidence.length } });
        return toRequest(trx, { ...r, ...next });
      });
    },

    /** Submits a draft to the commission (NCO directors). @see DPA Art. 17, 22, 32 */
    async submitRequest(ctx: RequestContext, id: string): Promise<OversightRequest> {
      policy.require(ctx, 'request:submit');
      await requireOn(ctx, 'request:submit', await requestRow(k, id));
      return db.transaction(async (trx) => {
        const r = await requestRow(trx, id, true);
        if (r.status !== 'draft') throw conflict(`This request is ${r.status}; only drafts are submitted.`, 'request.notDraft', { status: r.status });
        if (r.kind === 'acquisition' && Date.parse((JSON.parse(r.scope) as AcquisitionScope).periodEnd) <= clock.nowMs()) throw conflict('The requested period has already ended; draft a new request with a current period.', 'request.periodEnded');
        const at = now();
        await trx.updateTable('oversight_requests').set({ status: 'submitted', submitted_by: userOf(ctx), submitted_at: at }).where('id', '=', id).execute();
        await record(ctx, trx, { action: 'request:submit', object: { type: 'oversight_request', id }, outcome: 'success', details: { kind: r.kind } });
        return toRequest(trx, { ...r, status: 'submitted', submitted_by: userOf(ctx), submitted_at: at });
      });
    },

    /** Withdraws a draft or submitted request before it is decided (NCO directors); emergency reviews cannot be withdrawn. */
    async withdrawRequest(ctx: RequestContext, id: string): Promise<OversightRequest> {
      policy.require(ctx, 'request:withdraw');
      await requireOn(ctx, 'request:withdraw', await requestRow(k, id));
      return db.transaction(async (trx) => {
        const r = await requestRow(trx, id, true);
        if (r.kind === 'emergency_review') throw conflict('An emergency review cannot be withdrawn: the commission must decide it or the deadline halts the action.', 'request.emergencyNotWithdrawable');
        if (r.status !== 'draft' && r.status !== 'submitted') throw conflict(`This request is ${r.status}; only drafts and submitted requests can be withdrawn.`, 'request.notWithdrawable', { status: r.status });
        await trx.updateTable('oversight_requests').set({ status: 'withdrawn' }).where('id', '=', id).execute();
        await record(ctx, trx, { action: 'request:withdraw', object: { type: 'oversight_request', id }, outcome: 'success', details: { kind: r.kind } });
        return toRequest(trx, { ...r, status: 'withdrawn' });
      });
    },

    /** A member declares a conflict of interest: from then on they may neither vote on nor decide the request. @see DPA Art. 38 ff. */
    async declareConflict(ctx: RequestContext, id: string, input: { reason: string }): Promise<OversightRequest> {
      policy.require(ctx, 'request:declare-conflict');
      const v = parseOrThrow(ConflictInputSchema, input, 'conflict declaration');
      await requireOn(ctx, 'request:declare-conflict', await requestRow(k, id));
      return db.transaction(async (trx) => {
        const r = await requestRow(trx, id, true);
        if (r.status !== 'submitted') throw conflict(`This request is ${r.status}; conflicts are declared on submitted requests.`, 'request.conflictNotSubmitted', { status: r.status });
        const member = userOf(ctx);
        if ((await trx.selectFrom('oversight_votes').select('member_id').where('request_id', '=', id).where('member_id', '=', member).executeTakeFirst()) !== undefined) {
          throw conflict('You already voted on this request; a conflict must be declared before voting. Tell the chair so the vote can be reviewed.', 'request.conflictAfterVote');
        }
        if ((await trx.selectFrom('oversight_conflicts').select('member_id').where('request_id', '=', id).where('member_id', '=', member).executeTakeFirst()) === undefined) {
          await trx.insertInto('oversight_conflicts').values({ request_id: id, member_id: member, reason: v.reason, declared_at: now() }).execute();
          await record(ctx, trx, { action: 'request:declare-conflict', object: { type: 'oversight_request', id }, outcome: 'success', details: { kind: r.kind, reasonSha256: sha256(v.reason) } });
        }
        return toRequest(trx, r);
      });
    },

    /** A member votes approve, deny or abstain, with reasons; one vote per member. @see DPA Art. 38 ff. */
    async castVote(ctx: RequestContext, id: string, input: VoteInput): Promise<OversightRequest> {
      policy.require(ctx, 'request:vote');
      const v = parseOrThrow(VoteInputSchema, input, 'vote');
      const r0 = await requestRow(k, id);
      await requireOn(ctx, 'request:vote', r0);
      return db.transaction(async (trx) => {
        const r = await requestRow(trx, id, true);
        reviewOpen(r);
        const member = userOf(ctx);
        if ((await trx.selectFrom('oversight_conflicts').select('member_id').where('request_id', '=', id).where('member_id', '=', member).executeTakeFirst()) !== undefined) {
          throw new AppError('FORBIDDEN', 'You declared a conflict on this request: you may not vote on it.', { reason: { code: 'request.conflictDeclared', params: {} } });
        }
        if ((await trx.selectFrom('oversight_votes').select('member_id').where('request_id', '=', id).where('member_id', '=', member).executeTakeFirst()) !== undefined) {
          throw conflict('You have already voted on this request; each member votes once.', 'request.alreadyVoted');
        }
        await trx.insertInto('oversight_votes').values({ request_id: id, member_id: member, vote: v.vote, reasons: v.reasons, cast_at: now() }).execute();
        await record(ctx, trx, { action: 'request:vote', object: { type: 'oversight_request', id }, outcome: 'success', details: { kind: r.kind, vote: v.vote, reasonsSha256: sha256(v.reasons) } });
        return toRequest(trx, r);
      });
    },

    /**
     * Closes the vote: with the quorum present, the configured majority approves or denies. An approval
     * may narrow the scope and add conditions; an approved acquisition becomes a legal basis, an approved
     * measure its authorization; a denied emergency review halts the action and purges its data.
     * @see DPA Art. 17, 22, 32
     */
    async decideRequest(ctx: RequestContext, id: string, input: DecideInput = {}): Promise<OversightRequest> {
      policy.require(ctx, 'request:decide');
      const v = parseOrThrow(DecideInputSchema, input, 'decision');
      const r0 = await requestRow(k, id);
      await requireOn(ctx, 'request:decide', r0);
      let haltId: string | undefined;
      const decided = await db.transaction(async (trx) => {
        const r = await requestRow(trx, id, true);
        reviewOpen(r);
        const votes = await votesOf(trx, id);
        const outcome = countVotes(votes.map((x) => x.vote), settings);
        if (!outcome.quorate) {
          throw new AppError('CONFLICT', `No quorum: ${votes.length} of the ${settings.quorum} members required have voted; ${outcome.needed} more must vote before the request can be decided.`, { details: [{ path: 'votes', message: `quorum ${settings.quorum}, present ${votes.length}` }], reason: { code: 'request.noQuorum', params: { votes: votes.length, quorum: settings.quorum, needed: outcome.needed } } });
        }
        const at = now();
        const nowMs = clock.nowMs();
        let narrowed = false;
        let approvalId: string | null = null;
        let agency: string | null = null;
        let basisId: string | null = null;
        if (r.kind === 'measure') agency = (JSON.parse(r.scope) as MeasureScope).agency;
        let emergency: EmergencyRow | undefined;
        if (r.kind === 'emergency_review') {
          emergency = (await trx.selectFrom('oversight_emergency_actions').selectAll().where('id', '=', r.emergency_action_id).executeTakeFirstOrThrow()) as EmergencyRow;
          agency = emergency.agency;
          if (v.narrowing !== undefined) throw new AppError('VALIDATION_FAILED', 'narrowing: an emergency review is ratified or denied as it was taken; add conditions instead, or deny it and ask for a new request.', { details: [{ path: 'narrowing', message: 'not allowed on an emergency review' }] });
        }
        if (outcome.result === 'approved') {
          let approval: Omit<ApprovalRow, 'id' | 'request_id' | 'revoked_at' | 'revoked_by' | 'revoke_reason' | 'expired_at' | 'created_at'>;
          const newApprovalId = newId(nowMs);
          if (r.kind === 'acquisition') {
            const n = narrowAcquisition(JSON.parse(r.scope) as AcquisitionScope, v.narrowing ?? {});
            if ('problem' in n) throw new AppError('VALIDATION_FAILED', `narrowing: ${n.problem}.`, { details: [{ path: 'narrowing', message: n.problem }] });
            narrowed = n.narrowed;
            const from = Math.max(nowMs, Date.parse(n.scope.periodStart));
            if (Date.parse(n.scope.periodEnd) <= from) throw conflict('The approved period has already ended; narrow it to a current period or deny the request.', 'request.approvedPeriodEnded');
            // The legal basis is issued right after this transaction commits (issueBasis), and retried by the sweep.
            approval = { kind: 'acquisition', scope: JSON.stringify(n.scope), conditions: JSON.stringify(v.conditions), valid_from: isoUtc(from), valid_until: n.scope.periodEnd, basis_id: null, measure_id: null, emergency: 0 };
          } else if (r.kind === 'measure') {
            const m = JSON.parse(r.scope) as MeasureScope;
            const until = Math.min(nowMs + settings.measureApprovalDays * 86_400_000, v.narrowing?.validUntil !== undefined ? Date.parse(v.narrowing.validUntil) : Infinity);
            if (v.narrowing !== undefined && Object.keys(v.narrowing).some((key) => key !== 'validUntil')) throw new AppError('VALIDATION_FAILED', 'narrowing: a measure is narrowed by validUntil and conditions only.', { details: [{ path: 'narrowing', message: 'only validUntil' }] });
            if (until <= nowMs) throw new AppError('VALIDATION_FAILED', 'narrowing.validUntil: must be in the future.', { details: [{ path: 'narrowing.validUntil', message: 'in the past' }], reason: { code: 'request.validUntilPast', params: {} } });
            narrowed = v.narrowing?.validUntil !== undefined;
            approval = { kind: 'measure', scope: r.scope, conditions: JSON.stringify(v.conditions), valid_from: at, valid_until: isoUtc(until), basis_id: null, measure_id: m.measureId, emergency: 0 };
          } else if (r.kind === 'reidentification') {
            const n = narrowReidentification(JSON.parse(r.scope) as ReidentificationScope, v.narrowing ?? {});
            if ('problem' in n) throw new AppError('VALIDATION_FAILED', `narrowing: ${n.problem}.`, { details: [{ path: 'narrowing', message: n.problem }] });
            const until = Math.min(nowMs + settings.reidentificationApprovalHours * 3_600_000, v.narrowing?.validUntil !== undefined ? Date.parse(v.narrowing.validUntil) : Infinity);
            if (until <= nowMs) throw new AppError('VALIDATION_FAILED', 'narrowing.validUntil: must be in the future.', { details: [{ path: 'narrowing.validUntil', message: 'in the past' }], reason: { code: 'request.validUntilPast', params: {} } });
            narrowed = n.narrowed || v.narrowing?.validUntil !== undefined;
            approval = { kind: 'reidentification', scope: JSON.stringify(n.scope), conditions: JSON.stringify(v.conditions), valid_from: at, valid_until: isoUtc(until), basis_id: null, measure_id: null, emergency: 0 };
          } else {
            // Ratifying an emergency action: it continues under an approval with the scope it was taken with.
            const e = emergency!;
            const until = e.kind === 'acquisition' ? (JSON.parse(e.scope) as AcquisitionScope).periodEnd : isoUtc(nowMs + settings.measureApprovalDays * 86_400_000);
            approval = { kind: e.kind, scope: e.scope, conditions: JSON.stringify(v.conditions), valid_from: e.acted_at, valid_until: until, basis_id: e.basis_id, measure_id: e.measure_id, emergency: 1 };
            basisId = e.basis_id;
            await trx.updateTable('oversight_emergency_actions').set({ status: 'ratified' }).where('id', '=', e.id).execute();
          }
          approvalId = newApprovalId;
          await trx.insertInto('oversight_approvals').values({ id: approvalId, request_id: id, ...approval, revoked_at: null, revoked_by: null, revoke_reason: null, expired_at: null, created_at: at }).execute();
        } else if (emergency !== undefined) {
          await trx.updateTable('oversight_emergency_actions').set({ status: 'halting', halt_reason: 'denied' }).where('id', '=', emergency.id).execute();
          haltId = emergency.id;
        }
        const decision: Decision = {
          result: outcome.result, tally: outcome.tally, quorum: settings.quorum, majority: settings.majority, decidedBy: userOf(ctx), decidedAt: at,
          narrowed, conditions: outcome.result === 'approved' ? v.conditions : [],
        };
        await trx.updateTable('oversight_requests').set({ status: outcome.result, decision: JSON.stringify(decision), decided_at: at, approval_id: approvalId }).where('id', '=', id).execute();
        await record(ctx, trx, {
          action: 'request:decide', object: { type: 'oversight_request', id }, outcome: 'success', legalBasis: basisId,
          details: { kind: r.kind, result: outcome.result, approve: outcome.tally.approve, deny: outcome.tally.deny, abstain: outcome.tally.abstain, quorum: settings.quorum, majority: settings.majority, narrowed, conditions: decision.conditions.length, agency, approvalId, emergencyActionId: r.emergency_action_id },
        });
        if (approvalId !== null) {
          const a = (await approvalRow(trx, approvalId))!;
          await record(ctx, trx, { action: 'approval:grant', object: { type: 'approval', id: approvalId }, outcome: 'success', legalBasis: basisId, details: { kind: a.kind, requestId: id, validFrom: a.valid_from, validUntil: a.valid_until, basisId, measureId: a.measure_id, emergency: a.emergency === 1 } });
        }
        return toRequest(trx, { ...r, status: outcome.result, decision: JSON.stringify(decision), decided_at: at, approval_id: approvalId });
      });
      if (haltId !== undefined) await haltEmergency(ctx, haltId);
      // A failure is retried by the sweep; until then the approval exists but nothing is acquired under it.
      if (decided.approvalId !== null) await issueBasis(ctx, decided.approvalId).catch(() => undefined);
      return decided;
    },

    /** One request with its votes and conflicts (the docket); the read is audited. */
    async getRequest(ctx: RequestContext, id: string): Promise<OversightRequest> {
      policy.require(ctx, 'request:read');
      const r = await requestRow(k, id);
      await requireOn(ctx, 'request:read', r);
      await audit.record(ctx, { action: 'request:read', object: { type: 'oversight_request', id }, outcome: 'success', details: { kind: r.kind } });
      return toRequest(k, r, true);
    },

    /** The docket, newest first, optionally by status and kind; the read is audited. */
    async listRequests(ctx: RequestContext, filter: { status?: string | undefined; kind?: string | undefined } & Partial<PageQuery> = {}): Promise<Page<OversightRequest>> {
      policy.require(ctx, 'request:read');
      const { rows, nextCursor } = await keysetPage(pageQuery(filter), { columns: ['raised_at', 'id'], shape: ['string', 'string'], direction: 'desc' }, (r: RequestRow) => [r.raised_at, r.id], async (after, take) => {
        let q = k.selectFrom('oversight_requests').selectAll().orderBy('raised_at', 'desc').orderBy('id', 'desc').limit(take);
        if (after !== undefined) q = q.where(after);
        if (filter.status !== undefined) q = q.where('status', '=', filter.status);
        if (filter.kind !== undefined) q = q.where('kind', '=', filter.kind);
        return (await q.execute()) as RequestRow[];
      });
      await audit.record(ctx, { action: 'request:read', object: null, outcome: 'success', details: { count: rows.length, status: filter.status ?? null, kind: filter.kind ?? null } });
      return { items: await Promise.all(rows.map((r) => toRequest(k, r))), nextCursor };
    },
  };
}
