/** @module Oversight's data shapes (zod is the single source of their types): requests, votes, decisions, approvals, emergency actions. */
import { z } from 'zod';
import { isCidr } from './cidr.js';

/** What the commission is asked to decide. @see DPA Art. 17, 22, 32 */
export const REQUEST_KINDS = ['acquisition', 'measure', 'reidentification', 'emergency_review'] as const;
/** One request kind. */
export type RequestKind = (typeof REQUEST_KINDS)[number];

/** Where a request is in its life: draft → submitted → approved | denied; withdrawn; an emergency review past its deadline lapses. */
export const REQUEST_STATUSES = ['draft', 'submitted', 'approved', 'denied', 'withdrawn', 'lapsed'] as const;
/** One request status. */
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

/** The legal-basis kinds an acquisition approval becomes (selection owns the basis records). @see DPA Art. 17, 22 */
export const ACQUISITION_BASIS_KINDS = ['transit_approval', 'cross_border_approval'] as const;
/** One acquisition basis kind. */
export type AcquisitionBasisKind = (typeof ACQUISITION_BASIS_KINDS)[number];

/** Measure kinds of the response part. @see Police Duties Execution Act Art. 6-2 */
export const MEASURE_KINDS = ['dns_sinkhole', 'block', 'takedown_notice', 'access_neutralize'] as const;
/** Agencies that execute measures. */
export const AGENCIES = ['police', 'sdf'] as const;
/** One executing agency. */
export type Agency = (typeof AGENCIES)[number];

/** Kinds of evidence a request refers to (never the content itself). */
export const EVIDENCE_TYPES = ['finding', 'case', 'incident_report', 'report', 'flow_query', 'intel', 'measure', 'document'] as const;

const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
const isoTime = z.iso.datetime({ offset: false, message: 'give an ISO 8601 UTC time such as 2026-05-01T00:00:00Z' });
const cidr = z.string().refine(isCidr, 'give an address prefix such as 203.0.113.0/24 or 2001:db8::/32');

export const EvidenceSchema = z.object({ type: z.enum(EVIDENCE_TYPES), id: text(200) }).strict();
/** A reference to a finding, report or other evidence. */
export type Evidence = z.infer<typeof EvidenceSchema>;

export const SelectorsSchema = z
  .object({
    exporters: z.array(text(200)).min(1).max(1000).optional(),
    foreignPrefixes: z.array(cidr).min(1).max(10_000).optional(),
    domesticPrefixes: z.array(cidr).min(1).max(10_000).optional(),
    ports: z.array(z.number().int().min(0).max(65_535)).min(1).max(1000).optional(),
    protocols: z.array(z.number().int().min(0).max(255)).min(1).max(256).optional(),
  })
  .strict();
/** What an acquisition may select (selection's selector fields): exporters, foreign prefixes, domestic prefixes, ports, protocols. */
export type Selectors = z.infer<typeof SelectorsSchema>;

export const AcquisitionScopeSchema = z
  .object({
    basisKind: z.enum(ACQUISITION_BASIS_KINDS),
    selectors: SelectorsSchema.refine((s) => (s.foreignPrefixes?.length ?? 0) > 0, 'name at least one foreign prefix: acquisition without a foreign selector is not permitted'),
    periodStart: isoTime,
    periodEnd: isoTime,
    purpose: text(2000),
    /** How long acquired flows are kept (the commission approves it with the rest). */
    retentionDays: z.number().int().min(1).max(3650).default(90),
  })
  .strict();
/** An acquisition's scope: basis kind, selectors, period and purpose. @see DPA Art. 17, 22 */
export type AcquisitionScope = z.infer<typeof AcquisitionScopeSchema>;

export const MeasureScopeSchema = z
  .object({
    measureId: text(100),
    measureKind: z.enum(MEASURE_KINDS),
    agency: z.enum(AGENCIES),
    summary: text(2000),
  })
  .strict();
/** A measure's scope: the response part's measure id, its kind, the executing agency and a summary. */
export type MeasureScope = z.infer<typeof MeasureScopeSchema>;

export const ReidentificationScopeSchema = z
  .object({
    pseudonyms: z.array(text(200)).min(1).max(100),
    basisId: text(100),
    purpose: text(2000),
  })
  .strict();
/** A re-identification's scope: which pseudonyms, under which basis, why. */
export type ReidentificationScope = z.infer<typeof ReidentificationScopeSchema>;

const common = { title: text(300), evidence: z.array(EvidenceSchema).max(100).default([]) };

export const DraftInputSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('acquisition'), ...common, acquisition: AcquisitionScopeSchema }).strict(),
  z.object({ kind: z.literal('measure'), ...common, measure: MeasureScopeSchema }).strict(),
  z.object({ kind: z.literal('reidentification'), ...common, reidentification: ReidentificationScopeSchema }).strict(),
]);
/** What an analyst drafts. */
export type DraftInput = z.input<typeof DraftInputSchema>;

export const VoteInputSchema = z.object({ vote: z.enum(['approve', 'deny', 'abstain']), reasons: text(4000) }).strict();
/** One member's vote with reasons. */
export type VoteInput = z.input<typeof VoteInputSchema>;
/** A vote value. */
export type VoteValue = z.infer<typeof VoteInputSchema>['vote'];

export const ConflictInputSchema = z.object({ reason: text(2000) }).strict();

export const NarrowingSchema = z
  .object({
    selectors: SelectorsSchema.optional(),
    periodStart: isoTime.optional(),
    periodEnd: isoTime.optional(),
    pseudonyms: z.array(text(200)).min(1).max(100).optional(),
    validUntil: isoTime.optional(),
  })
  .strict();
/** How an approval narrows what was asked: fewer selectors, a shorter period, fewer pseudonyms, an earlier end. */
export type Narrowing = z.infer<typeof NarrowingSchema>;

export const DecideInputSchema = z
  .object({
    narrowing: NarrowingSchema.optional(),
    conditions: z.array(text(1000)).max(20).default([]),
  })
  .strict();
/** What the member closing the vote gives: an optional narrowing and conditions (used only if approved). */
export type DecideInput = z.input<typeof DecideInputSchema>;

export const RevokeInputSchema = z.object({ reason: text(2000) }).strict();

export const EmergencyInputSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('acquisition'), title: text(300), justification: text(4000), evidence: common.evidence, acquisition: AcquisitionScopeSchema }).strict(),
  z.object({ kind: z.literal('measure'), title: text(300), justification: text(4000), evidence: common.evidence, measure: MeasureScopeSchema }).strict(),
]);
/** What an agency records when it acts first. @see DPA (emergency acquisition); Police Duties Execution Act Art. 6-2 */
export type EmergencyInput = z.input<typeof EmergencyInputSchema>;

/** A member's vote as shown to readers. */
export interface Vote {
  memberId: string;
  /** The member's display name (null when the id names no user). */
  memberName?: string | null;
  vote: VoteValue;
  reasons: string;
  castAt: string;
}

/** A declared conflict of interest. */
export interface Conflict {
  memberId: string;
  /** The member's display name (null when the id names no user). */
  memberName?: string | null;
  reason: string;
  declaredAt: string;
}

/** The count of votes behind a decision. */
export interface Tally {
  approve: number;
  deny: number;
  abstain: number;
}

/** The commission's decision on a request. */
export interface Decision {
  result: 'approved' | 'denied';
  tally: Tally;
  quorum: number;
  majority: 'simple' | 'absolute' | 'two_thirds';
  decidedBy: string;
  decidedAt: string;
  narrowed: boolean;
  conditions: string[];
}

/** A request to the commission, as readers see it. */
export interface OversightRequest {
  id: string;
  kind: RequestKind;
  status: RequestStatus;
  title: string;
  /** The scope asked for: an acquisition, a measure, a re-identification, or (emergency review) the emergency action's scope. */
  scope: AcquisitionScope | MeasureScope | ReidentificationScope | { emergencyActionId: string };
  evidence: Evidence[];
  raisedBy: string;
  raisedAt: string;
  submittedBy: string | null;
  submittedAt: string | null;
  decision: Decision | null;
  approvalId: string | null;
  emergencyActionId: string | null;
  reviewDeadline: string | null;
  votes: Vote[];
  conflicts: Conflict[];
}

/** Approval kinds: what an approval authorizes. */
export const APPROVAL_KINDS = ['acquisition', 'measure', 'reidentification'] as const;
/** One approval kind. */
export type ApprovalKind = (typeof APPROVAL_KINDS)[number];

/** An approval the commission granted (possibly narrowed, possibly with conditions). */
export interface Approval {
  id: string;
  requestId: string;
  kind: ApprovalKind;
  scope: AcquisitionScope | MeasureScope | ReidentificationScope;
  conditions: string[];
  validFrom: string;
  validUntil: string;
  /** The legal basis selection created from it (acquisitions), once issued. */
  basisId: string | null;
  measureId: string | null;
  /** True when it ratifies an emergency action after the fact. */
  emergency: boolean;
  revokedAt: string | null;
  revokeReason: string | null;
  expiredAt: string | null;
  createdAt: string;
  /** active, revoked or expired at the time of reading. */
  state: 'active' | 'pending' | 'revoked' | 'expired';
}

/** Where an emergency action is: awaiting the commission's review, ratified, being halted, or halted (denied or deadline passed). */
export type EmergencyStatus = 'awaiting_review' | 'ratified' | 'halting' | 'halted';

/** An action taken before approval on the emergency path. */
export interface EmergencyAction {
  id: string;
  kind: 'acquisition' | 'measure';
  title: string;
  justification: string;
  scope: AcquisitionScope | MeasureScope;
  evidence: Evidence[];
  actedBy: string;
  actedAt: string;
  agency: string;
  measureId: string | null;
  basisId: string | null;
  reviewRequestId: string;
  reviewDeadline: string;
  status: EmergencyStatus;
  haltReason: 'denied' | 'deadline' | null;
  haltedAt: string | null;
  purgedFlows: number | null;
  /** Flagged for the Diet report: halted, its data purged. */
  flagged: boolean;
}
