/** @module What oversight is given and gives back (settings, dependencies, checks, sweep results), and its rows as the API reads them. */
import { createHash } from 'node:crypto';
import type { Clock } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import type { Database } from '#platform/db/index.js';
import { AppError, type Message } from '#platform/errors/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import type { AuditRecorder, AuditLog } from '#modules/audit/index.js';
import type { CheckpointSource, OversightPorts } from './ports.js';
import type { VotingRule } from './tally.js';
import type { Approval, ApprovalKind, EmergencyAction, EmergencyStatus, Evidence, RequestKind, RequestStatus } from './schema.js';

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

/** A request's row. */
export interface RequestRow {
  id: string; kind: RequestKind; status: RequestStatus; title: string; scope: string; evidence: string; raised_by: string; raised_at: string;
  submitted_by: string | null; submitted_at: string | null; decision: string | null; decided_at: string | null; approval_id: string | null;
  emergency_action_id: string | null; review_deadline: string | null;
}
export interface ApprovalRow {
  id: string; request_id: string; kind: ApprovalKind; scope: string; conditions: string; valid_from: string; valid_until: string; basis_id: string | null;
  measure_id: string | null; emergency: number; revoked_at: string | null; revoked_by: string | null; revoke_reason: string | null; expired_at: string | null; created_at: string;
}
export interface EmergencyRow {
  id: string; kind: 'acquisition' | 'measure'; title: string; justification: string; scope: string; evidence: string; acted_by: string; acted_at: string;
  agency: string; measure_id: string | null; basis_id: string | null; review_request_id: string; review_deadline: string; status: EmergencyStatus;
  halt_reason: 'denied' | 'deadline' | null; halted_at: string | null; purged_flows: number | null;
}

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
export const userOf = (ctx: RequestContext): string => ctx.actor.userId ?? ctx.actor.id;

export function approvalState(r: ApprovalRow, atMs: number): Approval['state'] {
  if (r.revoked_at !== null && Date.parse(r.revoked_at) <= atMs) return 'revoked';
  if (Date.parse(r.valid_until) <= atMs) return 'expired';
  if (Date.parse(r.valid_from) > atMs) return 'pending';
  return 'active';
}

export function toApproval(r: ApprovalRow, atMs: number): Approval {
  return {
    id: r.id, requestId: r.request_id, kind: r.kind, scope: JSON.parse(r.scope) as Approval['scope'], conditions: JSON.parse(r.conditions) as string[],
    validFrom: r.valid_from, validUntil: r.valid_until, basisId: r.basis_id, measureId: r.measure_id, emergency: r.emergency === 1,
    revokedAt: r.revoked_at, revokeReason: r.revoke_reason, expiredAt: r.expired_at, createdAt: r.created_at, state: approvalState(r, atMs),
  };
}

export function toEmergency(r: EmergencyRow): EmergencyAction {
  return {
    id: r.id, kind: r.kind, title: r.title, justification: r.justification, scope: JSON.parse(r.scope) as EmergencyAction['scope'],
    evidence: JSON.parse(r.evidence) as Evidence[], actedBy: r.acted_by, actedAt: r.acted_at, agency: r.agency, measureId: r.measure_id,
    basisId: r.basis_id, reviewRequestId: r.review_request_id, reviewDeadline: r.review_deadline, status: r.status, haltReason: r.halt_reason,
    haltedAt: r.halted_at, purgedFlows: r.purged_flows === null ? null : Number(r.purged_flows), flagged: r.status === 'halted',
  };
}

export function conflict(message: string, code: string, params: Message['params'] = {}): AppError {
  return new AppError('CONFLICT', message, { reason: { code, params } });
}
