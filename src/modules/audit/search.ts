/** @module Searching the audit log for the commission's audit view: by actor, action, object, outcome and time, system and pipeline writes left out on request, newest first in keyset pages. */
import { z } from 'zod';
import type { AnyDb } from '#platform/db/index.js';
import { parseOrThrow } from '#platform/errors/index.js';
import { PageQuerySchema, afterKey, cutPage, decodeCursor, type Page } from '#platform/paging/index.js';
import type { AuditEntry } from './log.js';

/** The audit search's query: every filter optional; `system` says whether system and pipeline actors' entries are included, excluded or alone. */
export const auditSearchSchema = z.object({
  /** An actor: a user's id, or `system:<component>` for a system actor. */
  actor: z.string().trim().min(1).max(200).optional(),
  /** An action (`findings:read`), or a family ending in `:` or `:*` (`findings:`). */
  action: z.string().trim().regex(/^[a-z][a-z0-9_-]*(:[a-z0-9_*-]*)?$/i, 'an action such as findings:read, or a family such as findings:').max(100).optional(),
  objectType: z.string().trim().min(1).max(100).optional(),
  objectId: z.string().trim().min(1).max(200).optional(),
  outcome: z.enum(['success', 'denied', 'failure']).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  system: z.enum(['include', 'exclude', 'only']).default('include'),
}).extend(PageQuerySchema.shape).strict();

/** A parsed audit search. */
export type AuditSearch = z.infer<typeof auditSearchSchema>;

/** One page of entries matching `input`, newest first (keyset on the entry index). */
export async function searchAuditEntries(q: AnyDb, input: unknown): Promise<Page<AuditEntry> & { query: AuditSearch }> {
  const s = parseOrThrow(auditSearchSchema, input, 'audit search');
  let sel = q.selectFrom('audit_entries').select(['idx', 'entry']);
  if (s.actor !== undefined) {
    sel = s.actor.startsWith('system:')
      ? sel.where('actor_kind', '=', 'system').where('actor_id', '=', s.actor.slice('system:'.length))
      : sel.where('actor_user', '=', s.actor);
  }
  if (s.action !== undefined) {
    const family = /:\*?$/.exec(s.action);
    sel = family !== null || !s.action.includes(':')
      ? sel.where('action', 'like', `${s.action.replace(/:\*?$/, '')}:%`)
      : sel.where('action', '=', s.action);
  }
  if (s.objectType !== undefined) sel = sel.where('object_type', '=', s.objectType);
  if (s.objectId !== undefined) sel = sel.where('object_id', '=', s.objectId);
  if (s.outcome !== undefined) sel = sel.where('outcome', '=', s.outcome);
  if (s.since !== undefined) sel = sel.where('time', '>=', new Date(s.since).toISOString());
  if (s.until !== undefined) sel = sel.where('time', '<', new Date(s.until).toISOString());
  if (s.system === 'exclude') sel = sel.where('actor_kind', '!=', 'system');
  if (s.system === 'only') sel = sel.where('actor_kind', '=', 'system');
  if (s.cursor !== undefined) sel = sel.where(afterKey(['idx'], decodeCursor(s.cursor, ['number']), 'desc'));
  const rows = await sel.orderBy('idx', 'desc').limit(s.limit + 1).execute() as { idx: number | string; entry: string }[];
  const cut = cutPage(rows, s.limit, (r) => [Number(r.idx)]);
  return { items: cut.rows.map((r) => JSON.parse(r.entry) as AuditEntry), nextCursor: cut.nextCursor, query: s };
}
