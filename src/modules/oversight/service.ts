/** @module Oversight: requests to the commission, votes and decisions, approvals and their expiry and revocation, the emergency path, inspection. */
import { createHash } from 'node:crypto';
import type { Clock } from '#platform/clock/index.js';
import { isoUtc } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import type { AnyDb, Database } from '#platform/db/index.js';
import { AppError, parseOrThrow, type Message } from '#platform/errors/index.js';
import { newId } from '#platform/ids/index.js';
import { keysetPage, pageQuery, type Page, type PageQuery } from '#platform/paging/index.js';
import type { PolicyEngine, PolicyResource } from '#platform/policy/index.js';
import type { AuditEvent, AuditRecorder, AuditLog } from '#modules/audit/index.js';
import type { CheckpointSource, OversightPorts } from './ports.js';
import { narrowAcquisition, narrowReidentification, periodProblem, periodReason } from './scope.js';
import { countVotes, type VotingRule } from './tally.js';
import { buildDietReport, isReadAction, type DietReport } from './diet-report.js';
import {
  ConflictInputSchema, DecideInputSchema, DraftInputSchema, EmergencyInputSchema, RevokeInputSchema, VoteInputSchema,
  type AcquisitionScope, type Approval, type ApprovalKind, type Conflict, type DecideInput, type Decision, type DraftInput,
  type EmergencyAction, type EmergencyInput, type EmergencyStatus, type Evidence, type MeasureScope, type OversightRequest,
  type ReidentificationScope, type RequestKind, type RequestStatus, type Vote, type VoteInput,
} from './schema.js';

/** Oversight's settings (configuration section `oversight`). */
export interface OversightSettings extends VotingRule {
  emergencyReviewHours: number;
  transitMaxMonths: number;
  crossBorderMaxMonths: number;
  measureApprovalDays: number;
  reidentificationApprovalHours: number;
}

/** What oversight needs from the rest of the system. */
export interface OversightDeps {
  db: Database;
  policy: PolicyEngine;
  audit: AuditRecorder;
  /** Reads of the log for inspection and the Diet report. */
  log: Pick<AuditLog, 'entries' | 'head'>;
  checkpoints: CheckpointSource;
  clock: Clock;
  settings: OversightSettings;
  ports?: OversightPorts;
  /** Display names of users, so votes and conflicts name their members. */
  people?: { namesOf(ids: readonly string[]): Promise<ReadonlyMap<string, string>> };
}

/** Why an approval does not authorize: a typed result, never an exception. */
export type ApprovalCheck =
  | { valid: true; approval: Approval }
  | { valid: false; reason: 'NOT_FOUND' | 'WRONG_KIND' | 'NOT_YET_VALID' | 'EXPIRED' | 'REVOKED' };

/** Whether a measure may proceed: by the commission's approval, or on the emergency path while its review is open. */
export type MeasureAuthorization =
  | { authorized: true; via: 'approval'; approvalId: string; conditions: string[]; agency: string; validUntil: string }
  | { authorized: true; via: 'emergency'; emergencyActionId: string; reviewDeadline: string; agency: string }
  | { authorized: false; reason: 'NO_APPROVAL' | 'EXPIRED' | 'REVOKED' | 'EMERGENCY_HALTED' };

/** What one sweep did. */
export interface SweepResult {
  expired: number;
  lapsed: number;
  halted: number;
  failed: number;
}

interface RequestRow {
  id: string; kind: RequestKind; status: RequestStatus; title: string; scope: string; evidence: string; raised_by: string; raised_at: string;
  submitted_by: string | null; submitted_at: string | null; decision: string | null; decided_at: string | null; approval_id: string | null;
  emergency_action_id: string | null; review_deadline: string | null;
}
interface ApprovalRow {
  id: string; request_id: string; kind: ApprovalKind; scope: string; conditions: string; valid_from: string; valid_until: string; basis_id: string | null;
  measure_id: string | null; emergency: number; revoked_at: string | null; revoked_by: string | null; revoke_reason: string | null; expired_at: string | null; created_at: string;
}
interface EmergencyRow {
  id: string; kind: 'acquisition' | 'measure'; title: string; justification: string; scope: string; evidence: string; acted_by: string; acted_at: string;
  agency: string; measure_id: string | null; basis_id: string | null; review_request_id: string; review_deadline: string; status: EmergencyStatus;
  halt_reason: 'denied' | 'deadline' | null; halted_at: string | null; purged_flows: number | null;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const userOf = (ctx: RequestContext): string => ctx.actor.userId ?? ctx.actor.id;

function approvalState(r: ApprovalRow, atMs: number): Approval['state'] {
  if (r.revoked_at !== null && Date.parse(r.revoked_at) <= atMs) return 'revoked';
  if (Date.parse(r.valid_until) <= atMs) return 'expired';
  if (Date.parse(r.valid_from) > atMs) return 'pending';
  return 'active';
}

function toApproval(r: ApprovalRow, atMs: number): Approval {
  return {
    id: r.id, requestId: r.request_id, kind: r.kind, scope: JSON.parse(r.scope) as Approval['scope'], conditions: JSON.parse(r.conditions) as string[],
    validFrom: r.valid_from, validUntil: r.valid_until, basisId: r.basis_id, measureId: r.measure_id, emergency: r.emergency === 1,
    revokedAt: r.revoked_at, revokeReason: r.revoke_reason, expiredAt: r.expired_at, createdAt: r.created_at, state: approvalState(r, atMs),
  };
}

function toEmergency(r: EmergencyRow): EmergencyAction {
  return {
    id: r.id, kind: r.kind, title: r.title, justification: r.justification, scope: JSON.parse(r.scope) as EmergencyAction['scope'],
    evidence: JSON.parse(r.evidence) as Evidence[], actedBy: r.acted_by, actedAt: r.acted_at, agency: r.agency, measureId: r.measure_id,
    basisId: r.basis_id, reviewRequestId: r.review_request_id, reviewDeadline: r.review_deadline, status: r.status, haltReason: r.halt_reason,
    haltedAt: r.halted_at, purgedFlows: r.purged_flows === null ? null : Number(r.purged_flows), flagged: r.status === 'halted',
  };
}

function conflict(message: string, code: string, params: Message['params'] = {}): AppError {
  return new AppError('CONFLICT', message, { reason: { code, params } });
}

/** A Diet report as the public sees it once the commission published it. */
export type PublishedDietReport = Omit<DietReport, 'reconciliation'> & { publishedAt: string; reconciliation?: DietReport['reconciliation'] };
/** One line of the public list of published Diet reports. */
export type PublishedDietReportSummary = Pick<PublishedDietReport, 'id' | 'title' | 'window' | 'publishedAt' | 'checkpoint' | 'figuresSha256'>;

/** The public form of a report: its fields named one by one, so nothing added to the report later is published unseen (its checkpoint note lets readers check the signature). */
function publicReport(r: DietReport, publishedAt: string): PublishedDietReport {
  return {
    id: r.id, title: r.title, window: r.window, generatedAt: r.generatedAt, publishedAt,
    checkpoint: { size: r.checkpoint.size, root: r.checkpoint.root, createdAt: r.checkpoint.createdAt, note: r.checkpoint.note },
    verified: r.verified, figures: r.figures, figuresSha256: r.figuresSha256, method: r.method, sources: r.sources,
    // Reports published before the reconciliation existed have none.
    ...(r.reconciliation !== undefined ? { reconciliation: r.reconciliation } : {}),
  };
}

/** Creates the oversight service. @see DPA Art. 17, 22, 32, 38 ff. */
export function createOversightService(deps: OversightDeps) {
  const { db, policy, audit, clock, settings } = deps;
  const k = db.kysely;
  const ports: OversightPorts = { ...(deps.ports ?? {}) };
  const now = (): string => isoUtc(clock.nowMs());

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

  const service = {
    /** Connects selection's and response's hooks once they exist (the composition root calls this). */
    connect(more: OversightPorts): void {
      Object.assign(ports, more);
    },

    /** Which hooks are connected (for inspection and the docs). */
    connected(): Record<keyof OversightPorts, boolean> {
      return { basisIssuer: ports.basisIssuer !== undefined, purger: ports.purger !== undefined, halter: ports.halter !== undefined, inventory: ports.inventory !== undefined };
    },

    /** Drafts a request to the commission (analysts and NCO directors). @see DPA Art. 17, 22, 32 */
    async draftRequest(ctx: RequestContext, input: DraftInput): Promise<OversightRequest> {
      policy.require(ctx, 'request:draft');
      const v = parseOrThrow(DraftInputSchema, input, 'request');
      if (v.kind === 'acquisition') {
        const p = periodProblem(v.acquisition, settings);
        if (p !== undefined) throw new AppError('VALIDATION_FAILED', `acquisition: ${p}.`, { details: [{ path: 'acquisition.periodEnd', message: p }], reason: periodReason(v.acquisition, settings) });
      }
      const scope = v.kind === 'acquisition' ? v.acquisition : v.kind === 'measure' ? v.measure : v.reidentification;
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
      const r = await service.isApprovalValid(ctx, approvalId, 'reidentification', at);
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

    /** Inspection: holdings by basis and discard counters from selection, with the approvals behind them; the read is audited. */
    async inspectInventory(ctx: RequestContext): Promise<{ connected: boolean; holdings: Awaited<ReturnType<NonNullable<OversightPorts['inventory']>['inventoryByBasis']>>; discards: Awaited<ReturnType<NonNullable<OversightPorts['inventory']>['discardCounters']>>; hooks: Record<keyof OversightPorts, boolean> }> {
      policy.require(ctx, 'inspection:read');
      const inv = ports.inventory;
      const holdings = inv === undefined ? [] : await inv.inventoryByBasis(ctx);
      const discards = inv === undefined ? [] : await inv.discardCounters(ctx);
      await audit.record(ctx, { action: 'inspection:read', object: { type: 'inventory', id: 'flows' }, outcome: 'success', details: { bases: holdings.length, connected: inv !== undefined } });
      return { connected: inv !== undefined, holdings, discards, hooks: service.connected() };
    },

    /**
     * Inspection: the deletion certificates of every purge and retention run (`lifecycle:certificate`: what
     * went, how many, hashes of the content), newest first; the read is audited.
     * @see DESIGN.md invariant 4
     */
    async inspectDeletions(ctx: RequestContext): Promise<{ certificates: { index: number; time: string; basisId: string | null; details: Record<string, unknown> }[] }> {
      policy.require(ctx, 'inspection:read');
      const { size } = await deps.log.head();
      const entries = await deps.log.entries({ from: 0, to: size, actions: ['lifecycle:certificate'] });
      const certificates = entries.reverse().slice(0, 1000).map((e) => ({ index: e.index, time: e.time, basisId: e.legalBasis, details: e.details }));
      await audit.record(ctx, { action: 'inspection:read', object: { type: 'AuditLog', id: 'deletions' }, outcome: 'success', details: { what: 'deletions', count: certificates.length } });
      return { certificates };
    },

    /** Inspection: who read what — audit entries of read actions with index in [from, to); the read is audited. */
    async inspectReads(ctx: RequestContext, asked: { from: number; to: number } | { latest: number }): Promise<{ from: number; to: number; size: number; reads: { index: number; time: string; actor: string; userId: string; roles: string[]; action: string; object: { type: string; id: string } | null; legalBasis: string | null; outcome: string }[] }> {
      policy.require(ctx, 'inspection:read');
      const { size } = await deps.log.head();
      const range = 'latest' in asked ? { from: Math.max(0, size - asked.latest), to: size } : asked;
      const end = Math.min(range.to, size);
      const entries = range.from >= end ? [] : await deps.log.entries({ from: range.from, to: end });
      const reads = entries.filter((e) => isReadAction(e.action)).map((e) => ({ index: e.index, time: e.time, actor: e.actor.username, userId: e.actor.userId ?? e.actor.id, roles: e.actor.roles, action: e.action, object: e.object, legalBasis: e.legalBasis, outcome: e.outcome }));
      await audit.record(ctx, { action: 'inspection:read', object: { type: 'AuditLog', id: `${range.from}-${end}` }, outcome: 'success', details: { what: 'reads', from: range.from, to: end, count: reads.length } });
      return { from: range.from, to: end, size, reads };
    },

    /**
     * The report to the Diet for [from, to): signs a checkpoint, checks that the entries read hash to
     * its root, and computes every figure from those entries alone. The report is itself audited.
     * @see DPA (the commission's report to the Diet)
     */
    async dietReport(ctx: RequestContext, window: { from: string; to: string }): Promise<DietReport> {
      policy.require(ctx, 'diet-report:create');
      const from = Date.parse(window.from);
      const to = Date.parse(window.to);
      if (!Number.isFinite(from) || !Number.isFinite(to)) throw new AppError('VALIDATION_FAILED', 'from and to: give ISO 8601 dates or times (e.g. 2026-04-01 or 2026-04-01T00:00:00Z).', { details: [{ path: 'from', message: 'not a date' }] });
      if (to <= from) throw new AppError('VALIDATION_FAILED', 'to: must be after from.', { details: [{ path: 'to', message: 'not after from' }] });
      const cp = await deps.checkpoints.checkpointNow();
      if (cp === undefined) throw new AppError('NOT_FOUND', 'The audit log has no entries yet: there is nothing to report.');
      if (!deps.checkpoints.verify(cp.note, cp.size, cp.root)) throw new AppError('AUDIT_VERIFY_FAILED', `The checkpoint of size ${cp.size} does not carry a valid log signature; run \`mamori audit verify\`. No report was made.`);
      const report = await buildDietReport({
        window: { from: isoUtc(from), to: isoUtc(to) },
        checkpoint: cp,
        generatedAt: now(),
        readEntries: (a, b) => deps.log.entries({ from: a, to: b }),
        connected: service.connected(),
      });
      await audit.record(ctx, { action: 'diet-report:create', object: { type: 'diet_report', id: report.id }, outcome: 'success', details: { from: report.window.from, to: report.window.to, checkpointSize: cp.size, figuresSha256: report.figuresSha256 } });
      return report;
    },

    /**
     * Publishes the report for a period: computes it as `dietReport` does (at a freshly signed
     * checkpoint) and keeps it for the public transparency page. Who published it is recorded in
     * the audit log, not shown to the public. @see DPA (the commission's report to the Diet)
     */
    async publishDietReport(ctx: RequestContext, window: { from: string; to: string }): Promise<PublishedDietReport> {
      policy.require(ctx, 'diet-report:publish');
      const report = await service.dietReport(ctx, window);
      const publishedAt = now();
      await db.transaction(async (trx) => {
        await trx.insertInto('oversight_published_reports').values({ id: report.id, window_from: report.window.from, window_to: report.window.to, report: JSON.stringify(report), published_by: userOf(ctx), published_at: publishedAt }).execute();
        await record(ctx, trx, { action: 'diet-report:publish', object: { type: 'diet_report', id: report.id }, outcome: 'success', details: { from: report.window.from, to: report.window.to, checkpointSize: report.checkpoint.size, figuresSha256: report.figuresSha256 } });
      });
      return publicReport(report, publishedAt);
    },

    /** The published Diet reports, newest first (public: figures, window and checkpoint only). */
    async listPublishedReports(page: Partial<PageQuery> = {}): Promise<Page<PublishedDietReportSummary>> {
      type Row = { id: string; report: string; published_at: string };
      const { rows, nextCursor } = await keysetPage(pageQuery(page), { columns: ['published_at', 'id'], shape: ['string', 'string'], direction: 'desc' }, (r: Row) => [r.published_at, r.id], async (after, take) => {
        let q = k.selectFrom('oversight_published_reports').select(['id', 'report', 'published_at']).orderBy('published_at', 'desc').orderBy('id', 'desc').limit(take);
        if (after !== undefined) q = q.where(after);
        return (await q.execute()) as Row[];
      });
      const items = rows.map((r) => {
        const p = publicReport(JSON.parse(r.report) as DietReport, r.published_at);
        return { id: p.id, title: p.title, window: p.window, publishedAt: p.publishedAt, checkpoint: p.checkpoint, figuresSha256: p.figuresSha256 };
      });
      return { items, nextCursor };
    },

    /** One published Diet report (public). */
    async getPublishedReport(id: string): Promise<PublishedDietReport> {
      const r = (await k.selectFrom('oversight_published_reports').select(['report', 'published_at']).where('id', '=', id).executeTakeFirst()) as { report: string; published_at: string } | undefined;
      if (r === undefined) throw new AppError('NOT_FOUND', `No published Diet report with id ${id}; list them with GET /api/v1/oversight/published-reports.`);
      return publicReport(JSON.parse(r.report) as DietReport, r.published_at);
    },
  };
  return service;
}

/** The oversight service's interface. */
export type OversightService = ReturnType<typeof createOversightService>;
