/** @module Response's data shapes (zod is the single source of their types): measures, their targets and justification, orders, consultations, steps. */
import { z } from 'zod';
import { normalizeDomain, parsePrefix, formatPrefix } from './net.js';
import type { Message } from '#platform/errors/index.js';

/** What a measure does. @see Police Duties Execution Act Art. 6-2; SDF Act Art. 81-3 */
export const MEASURE_KINDS = ['dns_sinkhole', 'block', 'takedown_notice', 'access_neutralize'] as const;
/** One measure kind. */
export type MeasureKind = (typeof MEASURE_KINDS)[number];

/** Who executes: the police by default, the Self-Defense Forces only on the Prime Minister's order. @see SDF Act Art. 81-3 */
export const AGENCIES = ['police', 'sdf'] as const;
/** One executing agency. */
export type Agency = (typeof AGENCIES)[number];

/** Where a measure is in its life; `halted` is reached when its authority ends (emergency review denied, approval revoked). */
export const MEASURE_STATES = ['proposed', 'submitted', 'approved', 'ordered', 'executing', 'executed', 'failed', 'halted', 'reviewed'] as const;
/** One measure state. */
export type MeasureState = (typeof MEASURE_STATES)[number];

/** Grave targets for which the SDF may act (policy conditions). @see SDF Act Art. 81-3 */
export const GRAVE_TARGET_KINDS = ['specified_important_computer', 'government_critical_system', 'sdf_or_us_forces_system'] as const;
/** How the attacker is assessed; only the first two meet the SDF condition. */
export const ATTACKER_ASSESSMENTS = ['highly_organized', 'state_backed', 'criminal', 'unknown'] as const;
/** Assessments that meet the SDF condition. */
export const SDF_ATTACKER_ASSESSMENTS: readonly string[] = ['highly_organized', 'state_backed'];

const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
const domain = z.string().max(253).transform((s, ctx) => {
  const d = normalizeDomain(s);
  if (d === undefined) { ctx.addIssue({ code: 'custom', message: 'give a domain name such as bad.example.net (letters, digits and hyphens; no wildcard)' }); return z.NEVER; }
  return d;
});
const prefix = z.string().max(60).transform((s, ctx) => {
  const p = parsePrefix(s);
  if (p === undefined) { ctx.addIssue({ code: 'custom', message: 'give an address or prefix such as 203.0.113.7, 203.0.113.0/24 or 2001:db8::/32' }); return z.NEVER; }
  return formatPrefix(p);
});
const address = prefix.refine((s) => !s.includes('/'), 'give one address, not a prefix');
const country = z.string().regex(/^[A-Z]{2}$/, 'give an ISO 3166-1 alpha-2 country code such as JP or US');

export const SinkholeTargetSchema = z.object({ domains: z.array(domain).min(1).max(1000) }).strict();
export const BlockTargetSchema = z.object({ prefixes: z.array(prefix).min(1).max(10_000) }).strict();
export const TakedownTargetSchema = z.object({
  addresses: z.array(address).max(100).default([]),
  domains: z.array(domain).max(100).default([]),
  urls: z.array(z.url().max(2000)).max(100).default([]),
  hostingNetwork: z.object({
    name: text(200),
    asn: z.number().int().min(1).max(4_294_967_295).optional(),
    abuseContact: z.email('give the abuse mailbox of the hosting network, e.g. abuse@hoster.example'),
  }).strict(),
}).strict().refine((t) => t.addresses.length + t.domains.length + t.urls.length > 0, 'name at least one address, domain or URL');
export const NeutralizeTargetSchema = z.object({
  address,
  ports: z.array(z.number().int().min(0).max(65_535)).max(100).default([]),
  description: text(2000),
}).strict();

export const JustificationSchema = z.object({
  findings: z.array(text(100)).max(200).default([]),
  reports: z.array(text(100)).max(200).default([]),
  summary: text(4000),
}).strict().refine((j) => j.findings.length + j.reports.length > 0, 'cite at least one finding or report');
/** Why the measure is taken: the findings and reports it rests on, by id, and a summary. */
export type Justification = z.infer<typeof JustificationSchema>;

export const SdfGroundsSchema = z.object({
  graveTarget: z.object({ kind: z.enum(GRAVE_TARGET_KINDS), reference: text(200) }).strict(),
  attackerAssessment: z.enum(ATTACKER_ASSESSMENTS),
  reasons: text(4000),
}).strict();
/** Why the SDF rather than the police: the grave target and the assessment of the attacker. @see SDF Act Art. 81-3 */
export type SdfGrounds = z.infer<typeof SdfGroundsSchema>;

const common = {
  title: text(300),
  justification: JustificationSchema,
  expectedEffect: text(2000),
  agency: z.enum(AGENCIES).default('police'),
  sdfGrounds: SdfGroundsSchema.optional(),
  /**
   * The target's country as the proposer assessed it (ISO alpha-2), for targets mamori cannot locate
   * from an address (domains). An address located abroad always counts as abroad whatever is declared.
   */
  targetCountry: country.optional(),
};

export const MeasureInputSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('dns_sinkhole'), target: SinkholeTargetSchema, ...common }).strict(),
  z.object({ kind: z.literal('block'), target: BlockTargetSchema, ...common }).strict(),
  z.object({ kind: z.literal('takedown_notice'), target: TakedownTargetSchema, ...common }).strict(),
  z.object({ kind: z.literal('access_neutralize'), target: NeutralizeTargetSchema, ...common }).strict(),
]);
/** What an analyst proposes. */
export type MeasureInput = z.input<typeof MeasureInputSchema>;
/** A parsed proposal. */
export type ParsedMeasure = z.infer<typeof MeasureInputSchema>;
/** A measure's target, by kind. */
export type MeasureTarget = ParsedMeasure['target'];

export const ReasonSchema = z.object({ reason: text(4000) }).strict();
export const OrderInputSchema = z.object({ reference: text(200), reason: text(4000) }).strict();
export const ConsultationInputSchema = z.object({
  reference: text(200),
  outcome: z.enum(['no_objection', 'concerns_noted']),
  summary: text(4000),
}).strict();
export const StepInputSchema = z.object({ action: text(2000), result: text(2000).optional() }).strict();
export const CompleteInputSchema = z.object({ outcome: z.enum(['executed', 'failed']), reason: text(4000) }).strict();

/** Where the target is: abroad unless every located address is domestic (fail closed). */
export interface TargetLocation {
  abroad: boolean;
  countries: string[];
  /** `locator`: from the addresses; `declared`: from targetCountry; `unknown`: neither, so treated as abroad. */
  source: 'locator' | 'declared' | 'unknown';
  declaredCountry: string | null;
}

/** The Prime Minister's order to the SDF, as recorded. @see SDF Act Art. 81-3 */
export interface PmOrder { reference: string; issuedBy: string; issuedAt: string; reason: string }
/** A Foreign Ministry consultation on a target abroad. */
export interface Consultation { id: string; reference: string; outcome: 'no_objection' | 'concerns_noted'; summary: string; recordedBy: string; recordedAt: string }
/** One step of an operation, recorded by the executing officer. @see Police Duties Execution Act Art. 6-2 */
export interface OperationStep { seq: number; officer: string; at: string; action: string; result: string | null }
/** One transition of a measure: who, when, why. */
/** One transition of a measure; `message` is the reason as a code with parameters when the system wrote it (null: people did). */
export interface MeasureEvent { seq: number; transition: string; from: MeasureState | null; to: MeasureState; actor: string; roles: string[]; at: string; reason: string; message: Message | null; details: Record<string, unknown> }

/** A measure as readers see it. */
export interface Measure {
  id: string;
  kind: MeasureKind;
  title: string;
  state: MeasureState;
  agency: Agency;
  target: MeasureTarget;
  justification: Justification;
  expectedEffect: string;
  sdfGrounds: SdfGrounds | null;
  location: TargetLocation;
  requestId: string | null;
  approvalId: string | null;
  authorization: 'prior' | 'emergency' | null;
  emergencyActionId: string | null;
  order: PmOrder | null;
  consultations: Consultation[];
  steps: OperationStep[];
  events: MeasureEvent[];
  proposedBy: string;
  proposedAt: string;
  updatedAt: string;
  executingSince: string | null;
  completedAt: string | null;
  haltReason: string | null;
}

/** True when the SDF grounds meet the policy's conditions: a grave target and a highly organized or state-backed attacker. @see SDF Act Art. 81-3 */
export function sdfGroundsMet(g: SdfGrounds | null | undefined): boolean {
  return g !== null && g !== undefined && GRAVE_TARGET_KINDS.includes(g.graveTarget.kind) && SDF_ATTACKER_ASSESSMENTS.includes(g.attackerAssessment);
}
