/** @module Inboxes and clocks: each recipient's inbox and acknowledgements, a ministry's escalation, the sweep that reminds and escalates. */
import type { RequestContext } from '#platform/context/index.js';
import { sql } from '#platform/db/index.js';
import { AppError, parseOrThrow } from '#platform/errors/index.js';
import { newId } from '#platform/ids/index.js';
import { afterKey, cutPage, decodeCursor, type Page, type PageQuery } from '#platform/paging/index.js';
import { nameInbox } from './inbox-names.js';
import type { DeadlineRow } from './report-batch.js';
import type { DeadlineKey } from './clocks.js';
import { overdueNote, reminderNote } from './messages.js';
import { EscalationInputSchema } from './schema.js';
import { inboxResource, MINISTRY_ESCALATION, sha256Hex, type InboxItem, type InboxRow, type ReportingDeps } from './model.js';
import type { ReportAccess } from './report-access.js';

/** Inboxes, acknowledgement, escalation by hand and the clocks' sweep. */
export function createInboxes(deps: ReportingDeps, access: ReportAccess) {
  const { db, audit, clock } = deps;
  const policy = deps.policy;
  const k = db.kysely;
  const { now, reportFor, ministryEscalations, recipientsOf, toInbox } = access;

  return {
    /** The caller's inbox (filings for a ministry's sectors or the NCO, reminders and overdue notices for an operator), newest first, one page. */
    async listInbox(ctx: RequestContext, options: { unacknowledged?: boolean } & PageQuery): Promise<Page<InboxItem>> {
      policy.require(ctx, 'inbox:read');
      const boxes = recipientsOf(ctx).filter((r) => r.sectors === undefined || r.sectors.length > 0);
      if (boxes.length === 0) return { items: [], nextCursor: null };
      let q = k.selectFrom('report_inbox').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.limit + 1)
        .where((eb) => eb.or(boxes.map((r) => eb.and([
          eb('recipient', '=', r.recipient),
          ...(r.sectors !== undefined ? [eb('sector', 'in', r.sectors)] : []),
          ...(r.orgId !== undefined ? [eb('org_id', '=', r.orgId)] : []),
        ]))));
      if (options.unacknowledged === true) q = q.where('acknowledged_at', 'is', null);
      if (options.cursor !== undefined) q = q.where(afterKey(['created_at', 'id'], decodeCursor(options.cursor, ['string', 'string']), 'desc'));
      const cut = cutPage((await q.execute()) as InboxRow[], options.limit, (r) => [r.created_at, r.id], (r) => policy.authorize(ctx, 'inbox:read', inboxResource(r)).allowed);
      await audit.record(ctx, { action: 'inbox:read', object: null, outcome: 'success', details: { count: cut.rows.length } });
      return { items: await nameInbox(k, cut.rows.map(toInbox)), nextCursor: cut.nextCursor };
    },

    /**
     * The sector's ministry escalates an overdue deadline of a report it supervises: the NCO inbox gets an
     * escalation and the operator a demand to file, both carrying the ministry's note; once per deadline.
     * @see 同法 Art. 5 (incident reports to the competent minister and the NCO)
     */
    async escalateOverdue(ctx: RequestContext, id: string, input: unknown): Promise<{ deadline: DeadlineKey; dueAt: string; escalatedAt: string; note: string }> {
      policy.require(ctx, 'incident:escalate');
      const v = parseOrThrow(EscalationInputSchema, input, 'escalation');
      return db.transaction(async (trx) => {
        const r = await reportFor(ctx, trx, id, 'incident:escalate');
        // Locked on PostgreSQL so that two escalations of one deadline take turns and the second sees the first.
        let dq = trx.selectFrom('report_deadlines').selectAll().where('report_id', '=', id).where('key', '=', v.deadline);
        if (db.dialect === 'postgres') dq = dq.forUpdate();
        const d = (await dq.executeTakeFirst()) as DeadlineRow | undefined;
        if (d === undefined) throw new AppError('VALIDATION_FAILED', `deadline: this report has no ${v.deadline} clock; see the report's deadlines.`, { details: [{ path: 'deadline', message: 'no such clock on this report' }] });
        const at = now();
        if (d.met_at !== null || d.due_at > at) {
          throw new AppError('CONFLICT', `The ${v.deadline} deadline is not overdue (${d.met_at !== null ? `met at ${d.met_at}` : `due ${d.due_at}`}); only an overdue deadline is escalated.`, {
            reason: d.met_at !== null ? { code: 'escalation.alreadyMet', params: { deadline: v.deadline, metAt: d.met_at } } : { code: 'escalation.notOverdue', params: { deadline: v.deadline, dueAt: d.due_at } },
          });
        }
        const done = (await ministryEscalations(trx, id)).get(d.id);
        if (done !== undefined) throw new AppError('CONFLICT', `The ${v.deadline} deadline was already escalated at ${done}.`, { reason: { code: 'escalation.already', params: { deadline: v.deadline, escalatedAt: done } } });
        const note = overdueNote(v.deadline, d.due_at, v.note);
        const base = { subject_type: MINISTRY_ESCALATION, subject_id: d.id, report_id: id, org_id: r.org_id, sector: r.sector, note, created_at: at, acknowledged_at: null, acknowledged_by: null };
        await trx.insertInto('report_inbox').values([
          { id: newId(clock.nowMs()), recipient: 'nco', kind: 'escalation', ...base },
          { id: newId(clock.nowMs()), recipient: 'operator', kind: 'overdue', ...base },
        ]).execute();
        await audit.record(ctx, { action: 'incident:escalate', object: { type: 'incident_report', id }, outcome: 'success', details: { deadline: v.deadline, dueAt: d.due_at, note: sha256Hex(Buffer.from(v.note)) } }, trx);
        return { deadline: v.deadline, dueAt: d.due_at, escalatedAt: at, note };
      });
    },

    /** Acknowledges a filing in the caller's inbox (the ministry or the NCO); acknowledging twice changes nothing. */
    async acknowledge(ctx: RequestContext, inboxId: string): Promise<InboxItem> {
      policy.require(ctx, 'inbox:acknowledge');
      return db.transaction(async (trx) => {
        // Locked on PostgreSQL so that two acknowledgements take turns: the first stands, recorded once.
        let iq = trx.selectFrom('report_inbox').selectAll().where('id', '=', inboxId);
        if (db.dialect === 'postgres') iq = iq.forUpdate();
        const r = (await iq.executeTakeFirst()) as InboxRow | undefined;
        if (r === undefined || !policy.authorize(ctx, 'inbox:read', inboxResource(r)).allowed) throw new AppError('NOT_FOUND', `No inbox item ${inboxId} in your inbox.`);
        policy.require(ctx, 'inbox:acknowledge', inboxResource(r));
        if (r.kind !== 'filing') throw new AppError('CONFLICT', 'Only filings are acknowledged; reminders and notices need no acknowledgement.', { reason: { code: 'inbox.onlyFilings', params: {} } });
        if (r.acknowledged_at !== null) return toInbox(r);
        const at = now();
        await trx.updateTable('report_inbox').set({ acknowledged_at: at, acknowledged_by: ctx.actor.userId ?? ctx.actor.id }).where('id', '=', inboxId).execute();
        await audit.record(ctx, { action: 'inbox:acknowledge', object: { type: r.subject_type, id: r.subject_id }, outcome: 'success', details: { inbox: inboxId, recipient: r.recipient } }, trx);
        return toInbox({ ...r, acknowledged_at: at });
      });
    },

    /**
     * Runs the clocks once: reminds operators of deadlines drawing near, and escalates overdue ones to
     * the sector's ministry and the NCO. Each notice is written once, with its audit entry.
     */
    async sweep(ctx: RequestContext): Promise<{ reminded: number; escalated: number }> {
      policy.require(ctx, 'reporting:sweep');
      const at = now();
      const due = (await k.selectFrom('report_deadlines as d').innerJoin('incident_reports as r', 'r.id', 'd.report_id')
        .select(['d.id', 'd.report_id', 'd.key', 'd.due_at', 'd.remind_at', 'd.reminded_at', 'd.escalated_at', 'r.org_id', 'r.sector'])
        .where('d.met_at', 'is', null)
        .where((eb) => eb.or([eb.and([eb('d.reminded_at', 'is', null), eb('d.remind_at', '<=', at)]), eb.and([eb('d.escalated_at', 'is', null), eb('d.due_at', '<=', at)])]))
        .execute()) as (DeadlineRow & { org_id: string; sector: string })[];
      let reminded = 0;
      let escalated = 0;
      for (const d of due) {
        await db.transaction(async (trx) => {
          const base = { subject_type: 'deadline', subject_id: d.id, report_id: d.report_id, org_id: d.org_id, sector: d.sector, created_at: at, acknowledged_at: null, acknowledged_by: null };
          // Each notice is claimed by a conditional update first: of two sweeps at once (two processes' schedulers)
          // only one writes it, and a deadline met since it was read is left alone.
          const claim = async (column: 'escalated_at' | 'reminded_at', set: Record<string, unknown>) => Number((await trx.updateTable('report_deadlines').set(set).where('id', '=', d.id).where(column, 'is', null).where('met_at', 'is', null).executeTakeFirst()).numUpdatedRows) === 1;
          if (d.due_at <= at && d.escalated_at === null) {
            if (!(await claim('escalated_at', { escalated_at: at, reminded_at: sql`coalesce(reminded_at, ${at})` }))) return;
            const note = overdueNote(d.key as DeadlineKey, d.due_at);
            await trx.insertInto('report_inbox').values([
              { id: newId(clock.nowMs()), recipient: 'operator', kind: 'overdue', note, ...base },
              { id: newId(clock.nowMs()), recipient: 'ministry', kind: 'escalation', note, ...base },
              { id: newId(clock.nowMs()), recipient: 'nco', kind: 'escalation', note, ...base },
            ]).execute();
            await audit.record(ctx, { action: 'reporting:escalate', object: { type: 'incident_report', id: d.report_id }, outcome: 'success', details: { deadline: d.key, dueAt: d.due_at } }, trx);
            escalated++;
          } else if (d.reminded_at === null) {
            if (!(await claim('reminded_at', { reminded_at: at }))) return;
            await trx.insertInto('report_inbox').values({ id: newId(clock.nowMs()), recipient: 'operator', kind: 'reminder', note: reminderNote(d.key as DeadlineKey, d.due_at), ...base }).execute();
            await audit.record(ctx, { action: 'reporting:remind', object: { type: 'incident_report', id: d.report_id }, outcome: 'success', details: { deadline: d.key, dueAt: d.due_at } }, trx);
            reminded++;
          }
        });
      }
      return { reminded, escalated };
    },
  };
}
