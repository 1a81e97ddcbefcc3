/** @module Findings triage: the analyst's state of each finding (new, in a case, dismissed with a reason), dismissals and reopenings kept as history, every change audited. */
import type { ExpressionBuilder } from 'kysely';
import type { RequestContext } from '#platform/context/index.js';
import type { AnyDb, NamedMigration } from '#platform/db/index.js';
import { AppError, parseOrThrow } from '#platform/errors/index.js';
import { newId } from '#platform/ids/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import { dismissSchema, reopenSchema, type DismissReason, type FindingState, type FindingTriage, type TriageEvent } from './schema.js';

/** The triage tables: one row per finding currently dismissed, and the history of every dismissal and reopening. */
export const triageMigration: NamedMigration = {
  name: '0940_analysis_finding_triage',
  async up(db) {
    await db.schema.createTable('finding_dismissals')
      .addColumn('finding_id', 'text', (c) => c.primaryKey())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('note', 'text')
      .addColumn('dismissed_by', 'text', (c) => c.notNull())
      .addColumn('dismissed_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createTable('finding_triage_log')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('finding_id', 'text', (c) => c.notNull())
      .addColumn('op', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('note', 'text')
      .addColumn('actor_id', 'text', (c) => c.notNull())
      .addColumn('at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('finding_triage_log_finding').on('finding_triage_log').columns(['finding_id', 'at']).execute();
    await db.schema.createIndex('case_items_by_item').ifNotExists().on('case_items').columns(['item_type', 'item_id']).execute();
  },
};

type Row = Record<string, unknown>;

/** The `where` condition that keeps findings in one triage state (dismissal wins over a case). */
export function stateCondition(state: FindingState) {
  return (eb: ExpressionBuilder<Record<string, Record<string, unknown>>, string>) => {
    const dismissed = eb.exists(eb.selectFrom('finding_dismissals as d').select('d.finding_id').where('d.finding_id', '=', eb.ref('findings.id')));
    const inCase = eb.exists(eb.selectFrom('case_items as ci').select('ci.item_id').where('ci.item_type', '=', 'finding').where('ci.item_id', '=', eb.ref('findings.id')));
    if (state === 'dismissed') return dismissed;
    if (state === 'in-case') return eb.and([eb.not(dismissed), inCase]);
    return eb.and([eb.not(dismissed), eb.not(inCase)]);
  };
}

/** The triage of each finding in `ids` (new when neither dismissed nor in a case). */
export async function triageOf(q: AnyDb, ids: readonly string[], namesOf: (ids: string[]) => Promise<ReadonlyMap<string, string>>): Promise<Map<string, FindingTriage>> {
  const out = new Map<string, FindingTriage>();
  if (ids.length === 0) return out;
  const dismissals: Row[] = [];
  const items: Row[] = [];
  // Chunks keep each statement under SQLite's bound-parameter limit.
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    dismissals.push(...await q.selectFrom('finding_dismissals').selectAll().where('finding_id', 'in', chunk).execute() as Row[]);
    items.push(...await q.selectFrom('case_items').select(['case_id', 'item_id']).where('item_type', '=', 'finding').where('item_id', 'in', chunk).execute() as Row[]);
  }
  const names = await namesOf(dismissals.map((d) => String(d['dismissed_by'])));
  const cases = new Map<string, string[]>();
  for (const i of items) cases.set(String(i['item_id']), [...(cases.get(String(i['item_id'])) ?? []), String(i['case_id'])]);
  const byId = new Map(dismissals.map((d) => [String(d['finding_id']), d]));
  for (const id of ids) {
    const d = byId.get(id);
    const caseIds = cases.get(id) ?? [];
    out.set(id, d === undefined
      ? { state: caseIds.length > 0 ? 'in-case' : 'new', reason: null, note: null, by: null, byName: null, at: null, caseIds }
      : {
        state: 'dismissed', reason: d['reason'] as DismissReason, note: d['note'] === null ? null : String(d['note']),
        by: String(d['dismissed_by']), byName: names.get(String(d['dismissed_by'])) ?? null, at: String(d['dismissed_at']), caseIds,
      });
  }
  return out;
}

/** The dismissals and reopenings of one finding, oldest first. */
export async function triageHistory(q: AnyDb, id: string, namesOf: (ids: string[]) => Promise<ReadonlyMap<string, string>>): Promise<TriageEvent[]> {
  const rows = await q.selectFrom('finding_triage_log').selectAll().where('finding_id', '=', id).orderBy('at').orderBy('id').execute() as Row[];
  const names = await namesOf(rows.map((r) => String(r['actor_id'])));
  return rows.map((r) => ({
    id: String(r['id']), op: r['op'] as 'dismiss' | 'reopen', reason: r['reason'] === null ? null : r['reason'] as DismissReason,
    note: r['note'] === null ? null : String(r['note']), by: String(r['actor_id']), byName: names.get(String(r['actor_id'])) ?? null, at: String(r['at']),
  }));
}

/**
 * Dismisses a finding with a reason, or reopens a dismissed one with a note, in one transaction with its audit
 * entry (the note goes to the audit log's side table of free texts, referenced by hash). A finding already in the
 * asked state is a CONFLICT that changes nothing.
 */
export async function changeTriage(
  deps: { q: AnyDb; audit: AuditRecorder; now: () => string },
  ctx: RequestContext, actorId: string, id: string, op: 'dismiss' | 'reopen', input: unknown,
): Promise<void> {
  const body = op === 'dismiss' ? parseOrThrow(dismissSchema, input, 'dismissal') : { reason: null, ...parseOrThrow(reopenSchema, input, 'reopening') };
  const note = body.note === undefined || body.note === '' ? null : body.note;
  await deps.q.transaction().execute(async (trx) => {
    const f = await trx.selectFrom('findings').select('id').where('id', '=', id).executeTakeFirst();
    if (f === undefined) throw new AppError('NOT_FOUND', `No finding ${id}.`);
    const current = await trx.selectFrom('finding_dismissals').select('finding_id').where('finding_id', '=', id).executeTakeFirst();
    if (op === 'dismiss' && current !== undefined) throw new AppError('CONFLICT', 'The finding is already dismissed; reopen it first to change the reason.');
    if (op === 'reopen' && current === undefined) throw new AppError('CONFLICT', 'The finding is not dismissed; only a dismissed finding can be reopened.');
    const at = deps.now();
    const eventId = newId();
    if (op === 'dismiss') await trx.insertInto('finding_dismissals').values({ finding_id: id, reason: body.reason, note, dismissed_by: actorId, dismissed_at: at }).execute();
    else await trx.deleteFrom('finding_dismissals').where('finding_id', '=', id).execute();
    await trx.insertInto('finding_triage_log').values({ id: eventId, finding_id: id, op, reason: body.reason, note, actor_id: actorId, at }).execute();
    await deps.audit.record(ctx, {
      action: 'findings:triage', object: { type: 'finding', id }, outcome: 'success',
      details: { op, reason: body.reason, event: eventId, ...(note !== null ? { note } : {}) },
    }, trx);
  });
}
