/** @module Free text kept out of the append-only log: purposes, reasons, titles and notes go to a side table the entry references by a salted hash, and the commission may redact them by an audited order while the log still verifies. */
import { createHash, randomBytes } from 'node:crypto';
import type { AnyDb, NamedMigration } from '#platform/db/index.js';

/** The side table of audit texts (part of auditMigrations). */
export const auditTextMigration: NamedMigration = {
  name: '0011_audit_texts',
  async up(db) {
    await db.schema.createTable('audit_texts')
      .addColumn('ref', 'text', (c) => c.primaryKey())
      .addColumn('salt', 'text')
      .addColumn('text', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('redacted_at', 'text')
      .addColumn('redacted_by', 'text')
      .addColumn('redaction_order', 'text')
      .execute();
  },
};

/** Detail keys whose string values are free text, never written into an entry. */
export const FREE_TEXT_KEYS: readonly string[] = ['purpose', 'reason', 'reasons', 'title', 'note', 'notes', 'justification', 'text', 'description', 'comment'];

/** A machine code (`invalid_input`, `NOT_FOUND`, `party_to_request`) stays in the entry: it is not free text. */
const CODE = /^[A-Za-z][A-Za-z0-9_:-]{0,47}$/;

/**
 * Moves the free text of `details` to the side table (in `trx`, the entry's transaction) and returns the
 * details with `<key>Ref: "text:<sha256(salt‖text)>"` in its place. The hash is salted so that a short text
 * (an address typed as a purpose) cannot be found again by hashing guesses once the row is redacted.
 * @see DESIGN.md invariant 5 (references and hashes, never the sensitive content)
 */
export async function externalizeText(trx: AnyDb, details: Record<string, string | number | boolean | null>, nowIso: string): Promise<Record<string, string | number | boolean | null>> {
  let out: Record<string, string | number | boolean | null> | undefined;
  for (const key of FREE_TEXT_KEYS) {
    const value = details[key];
    if (typeof value !== 'string' || CODE.test(value)) continue;
    const salt = randomBytes(16).toString('hex');
    const ref = `text:${createHash('sha256').update(salt).update(value).digest('hex')}`;
    await trx.insertInto('audit_texts').values({ ref, salt, text: value, created_at: nowIso, redacted_at: null, redacted_by: null, redaction_order: null }).execute();
    out ??= { ...details };
    delete out[key];
    out[`${key}Ref`] = ref;
  }
  return out ?? details;
}

/** One side-table text as the commission sees it (null once redacted). */
export interface AuditText {
  ref: string;
  text: string | null;
  createdAt: string;
  redactedAt: string | null;
  redactionOrder: string | null;
}

/** Reads a side-table text. */
export async function readAuditText(q: AnyDb, ref: string): Promise<AuditText | undefined> {
  const r = (await q.selectFrom('audit_texts').selectAll().where('ref', '=', ref).executeTakeFirst()) as Record<string, string | null> | undefined;
  if (r === undefined) return undefined;
  return { ref, text: r['text'] ?? null, createdAt: String(r['created_at']), redactedAt: r['redacted_at'] ?? null, redactionOrder: r['redaction_order'] ?? null };
}

/** Erases a side-table text and its salt (the entry keeps its now unlinkable reference). */
export async function redactAuditText(trx: AnyDb, ref: string, by: string, order: string, nowIso: string): Promise<boolean> {
  const r = await trx.updateTable('audit_texts').set({ text: null, salt: null, redacted_at: nowIso, redacted_by: by, redaction_order: order }).where('ref', '=', ref).where('redacted_at', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
