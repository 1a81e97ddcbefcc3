/** @module Analysis's data shapes (zod, the single source of their types): findings as detectors emit them and as they are stored, and cases. */
import { z } from 'zod';
import { PageQuerySchema } from '#platform/paging/index.js';

/** The kinds of finding the detectors produce. */
export const FINDING_KINDS = ['beacon', 'scan-horizontal', 'scan-vertical', 'ddos-volumetric', 'ddos-reflection', 'botnet-fanin', 'known-indicator'] as const;
/** One kind of finding. */
export type FindingKind = (typeof FINDING_KINDS)[number];

/** How sure a finding is: `alert` is for action, `suspect` for an analyst's look, `info` for context. */
export const FINDING_LEVELS = ['info', 'suspect', 'alert'] as const;
/** One level. */
export type FindingLevel = (typeof FINDING_LEVELS)[number];

/** What a finding is about: a foreign address, prefix or ASN, a domestic host (by pseudonym), or a port. */
export const subjectSchema = z.object({
  kind: z.enum(['address', 'prefix', 'asn', 'pseudonym', 'port']),
  value: z.string().min(1).max(200),
});
/** A finding's subject. */
export type FindingSubject = z.infer<typeof subjectSchema>;

/** Evidence values are plain JSON: statistics, time windows and small series the dashboard charts. */
export type Evidence = Record<string, unknown>;

/**
 * What a detector emits: the current state of one finding. The store merges updates with the same
 * (kind, subject) into one row, so a finding grows with its evidence instead of multiplying.
 * @see docs/detection.md#findings
 */
export interface FindingUpdate {
  kind: FindingKind;
  subject: FindingSubject;
  level: FindingLevel;
  /** 0..1. */
  score: number;
  /** How the score was computed: method name and its components. */
  scoreDetail: { method: string; components: Record<string, number>; [k: string]: unknown };
  evidence: Evidence;
  firstSeen: number;
  lastSeen: number;
  /** Affected domestic hosts, as pseudonyms (at most MAX_FINDING_HOSTS kept). */
  hosts: string[];
  /** Distinct affected domestic hosts (may exceed hosts.length). */
  hostCount: number;
  /** Legal bases of the flows behind the finding. */
  bases: string[];
}

/** Most pseudonyms a finding lists (the count goes on). */
export const MAX_FINDING_HOSTS = 200;

/** A stored finding. */
export interface Finding extends FindingUpdate {
  id: string;
  revision: number;
  createdAt: string;
  updatedAt: string;
}

/** Where a finding stands in the analyst's triage: not looked at yet, held by a case, or dismissed with a reason. */
export const FINDING_STATES = ['new', 'in-case', 'dismissed'] as const;
/** One triage state. */
export type FindingState = (typeof FINDING_STATES)[number];

/** Why a finding is dismissed (a code the dashboard names; `other` needs a note). */
export const DISMISS_REASONS = ['false_positive', 'benign', 'duplicate', 'out_of_scope', 'other'] as const;
/** One dismissal reason. */
export type DismissReason = (typeof DISMISS_REASONS)[number];

/** Dismissing a finding: a reason code and a note (required for `other`). */
export const dismissSchema = z.object({
  reason: z.enum(DISMISS_REASONS),
  note: z.string().trim().max(2000).optional(),
}).strict().refine((d) => d.reason !== 'other' || (d.note ?? '') !== '', { path: ['note'], message: 'say why in a note when the reason is other' });

/** Reopening a dismissed finding: a note saying why. */
export const reopenSchema = z.object({ note: z.string().trim().min(1).max(2000) }).strict();

/** A finding's triage: its state, the last dismissal or reopening (who, when, why) and the cases holding it. */
export interface FindingTriage {
  state: FindingState;
  reason: DismissReason | null;
  note: string | null;
  by: string | null;
  byName: string | null;
  at: string | null;
  caseIds: string[];
}

/** A finding as the API returns it: with its triage. */
export interface TriagedFinding extends Finding {
  triage: FindingTriage;
}

/** One step of a finding's triage history. */
export interface TriageEvent { id: string; op: 'dismiss' | 'reopen'; reason: DismissReason | null; note: string | null; by: string; byName: string | null; at: string }

/** Filters of a findings listing (`since`/`until` bound the last evidence time; `state` is the triage state). */
export const findingQuerySchema = z.object({
  kind: z.enum(FINDING_KINDS).optional(),
  level: z.enum(FINDING_LEVELS).optional(),
  minLevel: z.enum(FINDING_LEVELS).optional(),
  subject: z.string().max(200).optional(),
  since: z.iso.datetime().optional(),
  until: z.iso.datetime().optional(),
  state: z.enum(FINDING_STATES).optional(),
}).extend(PageQuerySchema.shape).strict();
/** Parsed findings filters. */
export type FindingQuery = z.infer<typeof findingQuerySchema>;

/** Case status. */
export const CASE_STATUSES = ['open', 'investigating', 'measure-proposed', 'closed'] as const;
/** One status. */
export type CaseStatus = (typeof CASE_STATUSES)[number];

/** Input of a new case. */
export const caseCreateSchema = z.object({
  title: z.string().trim().min(1).max(200),
  ownerId: z.string().min(1).max(100).optional(),
  findingIds: z.array(z.string().min(1).max(100)).max(500).default([]),
}).strict();

/** A change of status or owner. */
export const casePatchSchema = z.object({
  status: z.enum(CASE_STATUSES).optional(),
  ownerId: z.string().min(1).max(100).optional(),
  title: z.string().trim().min(1).max(200).optional(),
}).strict();

/** An item to add to a case: a finding or an incident report. */
export const caseItemSchema = z.object({
  type: z.enum(['finding', 'report']),
  id: z.string().min(1).max(100),
}).strict();

/** A note on a case. */
export const caseNoteSchema = z.object({ text: z.string().trim().min(1).max(10_000) }).strict();

/** A case as returned. */
export interface Case {
  id: string;
  title: string;
  status: CaseStatus;
  ownerId: string;
  /** Display names, null when the id names no user (a token or the system). */
  ownerName: string | null;
  createdBy: string;
  createdByName: string | null;
  createdAt: string;
  updatedAt: string;
  items: Array<{ type: 'finding' | 'report'; id: string; addedBy: string; addedByName: string | null; addedAt: string }>;
  notes: Array<{ id: string; authorId: string; authorName: string | null; text: string; createdAt: string }>;
}

/** Orders levels for comparison. */
export function levelRank(l: FindingLevel): number {
  return FINDING_LEVELS.indexOf(l);
}
