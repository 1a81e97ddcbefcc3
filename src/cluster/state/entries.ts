/** @module The selection state in the KV bucket: entry names, the JSON each holds, and their strict parsing at the edge. */
import { z } from 'zod';
import { BASIS_KINDS, FLOW_FIELDS, ROTATIONS, type LegalBasis, type Rotation } from '#modules/selection/index.js';

/** Bucket entry names: the bases, the operators' ranges, the centre's heartbeat and wire layout, and `key.<period>` per wrapped key. */
export const ENTRY = { bases: 'bases', ranges: 'ranges', heartbeat: 'heartbeat', layout: 'layout', keyPrefix: 'key.' } as const;

/** The entry name of a period's wrapped key (periods are `YYYY`, `YYYY-MM` or `YYYY-MM-DD`: valid KV key characters). */
export const keyEntry = (period: string): string => `${ENTRY.keyPrefix}${period}`;

/** The period of a key entry name, or undefined for another entry. */
export function periodOfEntry(name: string): string | undefined {
  if (!name.startsWith(ENTRY.keyPrefix)) return undefined;
  const p = name.slice(ENTRY.keyPrefix.length);
  return /^\d{4}(-\d{2}){0,2}$/.test(p) ? p : undefined;
}

const iso = z.string().datetime({ offset: true });
const cidr = z.string().min(2).max(64);

/** One basis as edges need it: what matching reads (selectors, validity, revocation, allowed fields), nothing else. */
const EdgeBasisSchema = z.object({
  id: z.string().min(1).max(100),
  kind: z.enum(BASIS_KINDS),
  selectors: z.object({
    exporters: z.array(z.string().min(1).max(200)).max(1000),
    foreignPrefixes: z.array(cidr).max(10_000),
    domesticPrefixes: z.array(cidr).max(10_000),
    ports: z.array(z.number().int().min(0).max(65535)).max(1000),
    protocols: z.array(z.number().int().min(0).max(255)).max(256),
  }).strict(),
  validFrom: iso,
  validUntil: iso,
  allowedFields: z.array(z.enum(FLOW_FIELDS)).min(1),
  revokedAt: iso.nullable(),
}).strict();

/** The `bases` entry. */
export const BasesEntrySchema = z.object({ v: z.literal(1), version: z.string().max(200), bases: z.array(EdgeBasisSchema).max(100_000) }).strict();
/** The `ranges` entry: the designated operators' registered ranges (each edge adds its configured domestic prefixes). */
export const RangesEntrySchema = z.object({ v: z.literal(1), ranges: z.array(cidr).max(1_000_000) }).strict();
const layoutFields = { partitions: z.number().int().min(1).max(65_536), hash: z.string().min(1).max(64), wire: z.number().int().min(1).max(255) };
/**
 * The `layout` entry: how the centre's workers expect flows on the wire (`WireLayout`). An entry of its own, not a field
 * of the heartbeat: edges older than it parse the heartbeat strictly and would refuse every one, going stale.
 */
export const LayoutEntrySchema = z.object({ v: z.literal(1), ...layoutFields }).strict();
/**
 * The `heartbeat` entry: the centre's publisher is alive, and the pseudonym rotation it keys by (`layout`, written here
 * by centres of one day before the `layout` entry, is accepted and not read).
 */
export const HeartbeatEntrySchema = z.object({ v: z.literal(1), at: iso, by: z.string().max(100), rotation: z.enum(ROTATIONS), layout: z.object(layoutFields).strict().optional() }).strict();

/** The parsed `bases` entry. */
export type BasesEntry = z.infer<typeof BasesEntrySchema>;
/** The parsed `heartbeat` entry. */
export type HeartbeatEntry = z.infer<typeof HeartbeatEntrySchema>;

/** The fields of a basis that go to the edges (no title, reason, actors or retention: the edges need none of them). */
export function edgeBasis(b: LegalBasis): z.infer<typeof EdgeBasisSchema> {
  return {
    id: b.id, kind: b.kind,
    selectors: { exporters: b.selectors.exporters, foreignPrefixes: b.selectors.foreignPrefixes, domesticPrefixes: b.selectors.domesticPrefixes, ports: b.selectors.ports, protocols: b.selectors.protocols },
    validFrom: b.validFrom, validUntil: b.validUntil, allowedFields: b.allowedFields, revokedAt: b.revokedAt,
  };
}

/** A basis received at an edge, as the matcher takes it (the fields it does not read are left empty). */
export function basisAtEdge(b: z.infer<typeof EdgeBasisSchema>, nowMs: number): LegalBasis {
  const status = b.revokedAt !== null ? 'revoked' : nowMs >= Date.parse(b.validUntil) ? 'expired' : 'active';
  return { ...b, title: '', retentionDays: 1, createdBy: '', operatorOrgId: null, status, createdAt: b.validFrom, createdByActor: '', revokedReason: null };
}

const encoder = new TextEncoder();
/** JSON bytes of an entry. */
export const encodeEntry = (v: unknown): Uint8Array => encoder.encode(JSON.stringify(v));

/** Parses an entry's bytes with `schema`; a message that says which entry and what is wrong, never the value. */
export function parseEntry<T>(schema: z.ZodType<T>, name: string, data: Uint8Array): { ok: true; value: T } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    return { ok: false, error: `${name}: not JSON` };
  }
  const r = schema.safeParse(json);
  return r.success ? { ok: true, value: r.data } : { ok: false, error: `${name}: ${r.error.issues.slice(0, 3).map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}` };
}

/** The rotation type, re-exported for the follower. */
export type { Rotation };
