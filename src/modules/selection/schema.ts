/** @module Legal bases (zod is the single source of their types): kinds, selectors, validity windows, allowed fields, retention. */
import { z } from 'zod';
import { parsePrefix } from './ranges.js';

/** Kinds of legal basis: a commission approval for transit or cross-border traffic, or an operator's consent agreement. */
export const BASIS_KINDS = ['transit_approval', 'cross_border_approval', 'consent_agreement'] as const;

/** One kind of basis. */
export type BasisKind = (typeof BASIS_KINDS)[number];

/**
 * The "mechanical" fields a basis may allow: times, addresses (domestic ones only ever as pseudonyms),
 * ports, protocol, TCP flags, counts, exporter, interfaces, sampling rate. There is no payload field.
 */
export const FLOW_FIELDS = ['start', 'end', 'srcAddr', 'dstAddr', 'srcPort', 'dstPort', 'proto', 'tcpFlags', 'bytes', 'packets', 'exporter', 'inIf', 'outIf', 'samplingRate'] as const;

/** One allow-listed field. */
export type FlowField = (typeof FLOW_FIELDS)[number];

/** Bit of each field in a row's field mask. */
export const FIELD_BIT: Readonly<Record<FlowField, number>> = Object.fromEntries(FLOW_FIELDS.map((f, i) => [f, 1 << i])) as Record<FlowField, number>;

/** Status of a basis: `expired` is computed from the validity window, `revoked` is recorded. */
export const BASIS_STATUSES = ['active', 'revoked', 'expired'] as const;

/** Longest validity window per kind in months (consent: as the agreement says). */
export const MAX_VALIDITY_MONTHS: Readonly<Record<BasisKind, number | null>> = { transit_approval: 6, cross_border_approval: 3, consent_agreement: null };

/** Adds calendar months in UTC, clamping to the month's last day (31 Jan + 1 month = 28/29 Feb). */
export function addMonthsUtc(ms: number, months: number): number {
  const d = new Date(ms);
  const day = d.getUTCDate();
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()));
  const last = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + 1, 0)).getUTCDate();
  t.setUTCDate(Math.min(day, last));
  return t.getTime();
}

const prefix = z.string().min(2).max(64).refine((s) => parsePrefix(s) !== undefined, 'write a.b.c.d/len or x:y::/len with the host bits zero');
const iso = z.string().datetime({ offset: true, message: 'use ISO 8601 with a time zone, e.g. 2026-04-01T00:00:00Z' });

/** Which traffic a basis covers; an empty list means "any" for that selector. */
export const SelectorsSchema = z.object({
  exporters: z.array(z.string().min(1).max(200)).max(1000).default([]),
  foreignPrefixes: z.array(prefix).max(10_000).default([]),
  domesticPrefixes: z.array(prefix).max(10_000).default([]),
  ports: z.array(z.number().int().min(0).max(65535)).max(1000).default([]),
  protocols: z.array(z.number().int().min(0).max(255)).max(256).default([]),
}).strict();

/** What creating a basis takes. Oversight calls this with the approving request's id in `createdBy`. */
export const BasisInputSchema = z.object({
  kind: z.enum(BASIS_KINDS),
  title: z.string().min(1).max(200),
  selectors: SelectorsSchema.prefault({}),
  validFrom: iso,
  validUntil: iso,
  allowedFields: z.array(z.enum(FLOW_FIELDS)).min(1).max(FLOW_FIELDS.length),
  retentionDays: z.number().int().min(1).max(3650),
  /** The oversight request that approved it, or the consent agreement's reference. */
  createdBy: z.string().min(1).max(200),
  /** For a consent agreement: the consenting operator's organization. */
  operatorOrgId: z.string().min(1).max(100).optional(),
}).strict().superRefine((v, ctx) => {
  const from = Date.parse(v.validFrom);
  const until = Date.parse(v.validUntil);
  if (!(until > from)) ctx.addIssue({ code: 'custom', path: ['validUntil'], message: 'must be after validFrom' });
  const months = MAX_VALIDITY_MONTHS[v.kind];
  if (months !== null && until > addMonthsUtc(from, months)) ctx.addIssue({ code: 'custom', path: ['validUntil'], message: `a ${v.kind} is valid for at most ${months} months` });
  if (!v.allowedFields.includes('start')) ctx.addIssue({ code: 'custom', path: ['allowedFields'], message: 'must include "start": every kept flow must show the time its basis covered' });
  if (v.kind === 'consent_agreement') {
    if (v.selectors.domesticPrefixes.length === 0) ctx.addIssue({ code: 'custom', path: ['selectors', 'domesticPrefixes'], message: 'a consent agreement covers the consenting operator\'s own prefixes: list them' });
    if (v.operatorOrgId === undefined) ctx.addIssue({ code: 'custom', path: ['operatorOrgId'], message: 'name the consenting operator' });
  } else if (v.selectors.foreignPrefixes.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['selectors', 'foreignPrefixes'], message: 'an approval names the foreign addresses it covers' });
  }
  if (v.kind === 'transit_approval' && v.selectors.domesticPrefixes.length > 0) ctx.addIssue({ code: 'custom', path: ['selectors', 'domesticPrefixes'], message: 'transit traffic has no domestic endpoint; leave this empty' });
});

/** Input of createBasis. */
export type BasisInput = z.input<typeof BasisInputSchema>;

/** Selectors after defaults. */
export type Selectors = z.infer<typeof SelectorsSchema>;

/** A legal basis as stored and returned. */
export interface LegalBasis {
  id: string;
  kind: BasisKind;
  title: string;
  selectors: Selectors;
  validFrom: string;
  validUntil: string;
  allowedFields: FlowField[];
  retentionDays: number;
  createdBy: string;
  operatorOrgId: string | null;
  status: (typeof BASIS_STATUSES)[number];
  createdAt: string;
  createdByActor: string;
  revokedAt: string | null;
  revokedReason: string | null;
}

/** Why a basis is revoked. */
export const RevokeInputSchema = z.object({ reason: z.string().min(1).max(500) }).strict();

/** The status of a basis at `nowMs`. */
export function basisStatus(b: Pick<LegalBasis, 'revokedAt' | 'validUntil'>, nowMs: number): LegalBasis['status'] {
  if (b.revokedAt !== null) return 'revoked';
  return nowMs >= Date.parse(b.validUntil) ? 'expired' : 'active';
}
