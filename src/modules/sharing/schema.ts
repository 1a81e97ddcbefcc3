/** @module Sharing's input shapes (zod is the single source of their types): groups, council members, drafts, sightings, feeds. */
import { z } from 'zod';
import { TLP_LEVELS } from './stix/index.js';

/** A sharing group (one TAXII collection). */
export const GroupInputSchema = z.object({ name: z.string().min(1).max(200), description: z.string().max(2000).default('') }).strict();
export type GroupInput = z.input<typeof GroupInputSchema>;

/** An organization joining a group, with its rights on the group's collection. @see TAXII 2.1 §5.2 can_read/can_write */
export const GroupMemberInputSchema = z.object({ orgId: z.string().min(1).max(100), canRead: z.boolean().default(true), canWrite: z.boolean().default(false) }).strict();
export type GroupMemberInput = z.input<typeof GroupMemberInputSchema>;

/** A council member organization and the organizations it serves (its clients, whom TLP:AMBER reaches). */
export const CouncilMemberInputSchema = z.object({ orgId: z.string().min(1).max(100), clients: z.array(z.string().min(1).max(100)).max(1000).default([]) }).strict();
export type CouncilMemberInput = z.input<typeof CouncilMemberInputSchema>;

/** Kinds of values a draft may carry; `pseudonym` values are always removed by sanitization. */
export const INDICATOR_KINDS = ['ipv4', 'ipv6', 'domain', 'url', 'md5', 'sha1', 'sha256', 'email', 'pseudonym'] as const;

/**
 * What analysis and reporting hand to sharing to draft intelligence from a finding, case or report.
 * @see DESIGN.md "sharing"; STIX 2.1 §4.7
 */
export const DraftInputSchema = z
  .object({
    title: z.string().min(1).max(300),
    description: z.string().max(10_000).optional(),
    indicators: z.array(z.object({ kind: z.enum(INDICATOR_KINDS), value: z.string().min(1).max(2048) }).strict()).min(1).max(10_000),
    tlp: z.enum(TLP_LEVELS),
    sourceRef: z.object({ type: z.enum(['finding', 'case', 'report']), id: z.string().min(1).max(200) }).strict(),
    /** For TLP:RED: the user ids or usernames of the people named as recipients. */
    redRecipients: z.array(z.string().min(1).max(100)).max(100).default([]),
    /** Operators that consented to be named in this intelligence. */
    consentedOrgIds: z.array(z.string().min(1).max(100)).max(1000).default([]),
    labels: z.array(z.string().min(1).max(100)).max(50).default([]),
    confidence: z.number().int().min(0).max(100).default(70),
    validDays: z.number().int().min(1).max(3650).default(90),
  })
  .strict();
export type DraftInput = z.input<typeof DraftInputSchema>;

/** Releasing a draft to sharing groups. */
export const ReleaseInputSchema = z.object({ groupIds: z.array(z.string().min(1).max(100)).min(1).max(100) }).strict();
export type ReleaseInput = z.input<typeof ReleaseInputSchema>;

/** A member reporting back that it saw (or wrongly saw) an indicator. @see STIX 2.1 §5.2 */
export const SightingInputSchema = z
  .object({ indicatorId: z.string().regex(/^indicator--[0-9a-f-]{36}$/, 'give an indicator id'), outcome: z.enum(['confirmed', 'false_positive']), count: z.number().int().min(1).max(1_000_000).default(1) })
  .strict();
export type SightingInput = z.input<typeof SightingInputSchema>;

/** How mamori authenticates to an external TAXII server. */
export const FeedAuthSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }).strict(),
  z.object({ kind: z.literal('basic'), username: z.string().min(1).max(200), password: z.string().min(1).max(500) }).strict(),
  z.object({ kind: z.literal('bearer'), token: z.string().min(1).max(2000) }).strict(),
]);
export type FeedAuth = z.output<typeof FeedAuthSchema>;

/** An external TAXII 2.1 collection to pull indicators from. */
export const FeedInputSchema = z
  .object({
    name: z.string().min(1).max(200),
    /** The collection URL, e.g. https://feeds.example/taxii2/root/collections/<id>/ */
    url: z.url().refine((u) => /^https?:\/\//.test(u), 'use an http(s) URL')
      // Credentials go in `auth`, which is stored apart and never listed; a URL is shown as it is.
      .refine((u) => { const x = new URL(u); return x.username === '' && x.password === ''; }, 'put no user or password in the URL; give them as auth (basic or bearer)'),
    auth: FeedAuthSchema.default({ kind: 'none' }),
    intervalSeconds: z.number().int().min(60).max(86_400 * 7).default(3600),
    defaultConfidence: z.number().int().min(0).max(100).default(50),
  })
  .strict();
export type FeedInput = z.input<typeof FeedInputSchema>;

/** A sharing group as returned by the API. */
export interface Group {
  id: string;
  name: string;
  description: string;
  createdAt: string;
  members: { orgId: string; canRead: boolean; canWrite: boolean }[];
}

/** A draft as returned by the API. */
export interface Draft {
  id: string;
  title: string;
  tlp: string;
  status: 'draft' | 'released';
  sourceRef: { type: string; id: string };
  objects: Record<string, unknown>[];
  removed: { path: string; reason: string }[];
  redRecipients: string[];
  createdBy: string;
  createdAt: string;
  releasedBy: string | null;
  releasedAt: string | null;
  releasedTo: string[];
}

/** A feed as returned by the API: its credentials never leave. */
export interface Feed {
  id: string;
  name: string;
  url: string;
  auth: 'none' | 'basic' | 'bearer';
  intervalSeconds: number;
  defaultConfidence: number;
  cursor: string | null;
  lastPulledAt: string | null;
  lastError: string | null;
  pulledObjects: number;
}
