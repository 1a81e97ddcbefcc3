/** @module Incident reports: the initial report and follow-ups (clocks, indicators, delivery), reading and export, attachments, receipts. */
import { createHash } from 'node:crypto';
import { isoUtc } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import type { AnyDb } from '#platform/db/index.js';
import { AppError, parseOrThrow } from '#platform/errors/index.js';
import { newId } from '#platform/ids/index.js';
import { yieldToEventLoop, type Page, type PageQuery } from '#platform/paging/index.js';
import { checkAttachment } from './attachments.js';
import { openDeadlinesOf, type DeadlineRow, type VersionRow } from './report-batch.js';
import { createGroupCommitter } from './group-commit.js';
import { addMonth, deadlinesFor, metByStage, ransomDeadline, reminderAt, type DeadlineKey } from './clocks.js';
import { filingHash, type Receipt } from './receipts.js';
import { AttachmentInputSchema, FollowUpInputSchema, IncidentInputSchema, ReportItemsSchema, type ReportItems } from './schema.js';
import {
  filing, INDICATOR_KEY, sha256Hex, withPrefix, type IncidentReport, type IncidentSummary, type ReportingDeps, type ReportRow,
} from './model.js';
import type { ReportAccess } from './report-access.js';

/** Filing and reading incident reports; initial reports join a group commit (bench/reporting). @see 同法 Art. 5 */
export function createIncidents(deps: ReportingDeps, access: ReportAccess) {
  const { db, audit, clock, settings } = deps;
  const policy = deps.policy;
  const k = db.kysely;
  const group = createGroupCommitter(db, audit);
  const { now, ownProfile, deliveryRows, deliver, indicatorRows, storeIndicators, indicatorsOf, deadlineView, summaryOf, reportFor, reportPage, fullReports, fullReport } = access;

  return {
    /**
     * Files an initial incident report (速報): starts the clocks (initial and written report, and NIS2 or
     * CIRCIA when the operator is subject to them), extracts indicators, delivers to ministry and NCO.
     * @see 同法 Art. 5; NIS2 Art. 23; 6 U.S.C. §681b
     */
    async fileIncident(ctx: RequestContext, input: unknown): Promise<{ report: IncidentReport; receipt: Receipt }> {
      policy.require(ctx, 'incident:file');
      const v = parseOrThrow(IncidentInputSchema, input, 'incident report');
      const nowMs = clock.nowMs();
      const awareMs = Date.parse(v.awareAt);
      if (awareMs > nowMs + 300_000) throw new AppError('VALIDATION_FAILED', 'awareAt: lies in the future; give when you became aware of the incident.', { details: [{ path: 'awareAt', message: 'in the future' }] });
      const paidMs = v.ransomPaidAt === undefined ? undefined : Date.parse(v.ransomPaidAt);
      if (paidMs !== undefined && paidMs > nowMs + 300_000) throw new AppError('VALIDATION_FAILED', 'ransomPaidAt: lies in the future.', { details: [{ path: 'ransomPaidAt', message: 'in the future' }] });
      const indicators = indicatorsOf(v.items, v.indicators, 'indicators');
      const p = await ownProfile(ctx);
      const id = newId<'incident'>(nowMs);
      policy.require(ctx, 'incident:file', filing(p.orgId, p.sector, id));
      const filedAt = isoUtc(nowMs);
      const awareAt = isoUtc(awareMs);
      // Every row, the hash and the signed receipt are made before the filing joins a group commit, so the
      // shared transaction only checks and writes (bench/reporting); the receipt is handed out only after the commit.
      const row: ReportRow = { id, org_id: p.orgId, sector: p.sector, aware_at: awareAt, regimes: JSON.stringify(p.regimes), status: 'initial', version: 1, category: v.items.category, ransom_paid_at: paidMs === undefined ? null : isoUtc(paidMs), share_with_council: 0, operator_named: 0, created_at: filedAt, updated_at: filedAt };
      const clocks = deadlinesFor(awareMs, p.regimes, settings).map((d) => ({ ...d, startMs: awareMs }));
      if (paidMs !== undefined && p.regimes.includes('circia')) clocks.push({ ...ransomDeadline(paidMs), startMs: paidMs });
      const met = new Set<DeadlineKey>([...metByStage('initial'), 'circia.ransom_payment']);
      const deadlineRows: DeadlineRow[] = clocks.map((d) => ({ id: newId(nowMs), report_id: id, key: d.key, starts_at: isoUtc(d.startMs), due_at: isoUtc(d.dueMs), remind_at: isoUtc(reminderAt(d.startMs, d.dueMs, settings.reminderLeadHours)), met_at: met.has(d.key) ? filedAt : null, reminded_at: null, escalated_at: null }));
      const listed = indicators.map(({ kind, value }) => ({ kind, value }));
      const sha = filingHash({ type: 'incident-report', id, version: 1, stage: 'initial', orgId: p.orgId, sector: p.sector, awareAt, ransomPaidAt: row.ransom_paid_at, items: v.items, indicators: listed, filedAt });
      const versionRow = { report_id: id, version: 1, stage: 'initial', items: JSON.stringify(v.items), changed: JSON.stringify(Object.keys(v.items)), filed_by: ctx.actor.userId ?? ctx.actor.id, filed_at: filedAt, sha256: sha };
      const { inbox, delivered, receipt, receiptRow } = deliveryRows({ type: 'incident_version', id: `${id}#1`, reportId: id, orgId: p.orgId, sector: p.sector, sha256: sha, filedAt });
      const computerId = v.items.affectedComputer.computerId;
      await group.run({
        ...(computerId === undefined ? {} : {
          check: async (trx: AnyDb) => {
            const known = await trx.selectFrom('computer_notifications').select('id').where('computer_id', '=', computerId).where('org_id', '=', p.orgId).executeTakeFirst();
            if (known === undefined) throw new AppError('VALIDATION_FAILED', 'items.affectedComputer.computerId: your organization has notified no computer with this id.', { details: [{ path: 'items.affectedComputer.computerId', message: 'unknown computer' }] });
          },
        }),
        inserts: [
          { table: 'incident_reports', rows: [row] },
          { table: 'report_deadlines', rows: deadlineRows },
          { table: 'incident_report_versions', rows: [versionRow] },
          { table: 'indicators', rows: indicatorRows(id, indicators, filedAt), skipConflictsOn: INDICATOR_KEY },
          { table: 'report_inbox', rows: inbox },
          { table: 'report_receipts', rows: [receiptRow] },
        ],
        audit: { ctx, event: { action: 'incident:file', object: { type: 'incident_report', id }, outcome: 'success', details: { version: 1, stage: 'initial', sha256: sha, indicators: indicators.length } } },
        result: null,
      });
      // Built from what was just written rather than read back: the hot path of bench/reporting.
      const report: IncidentReport = {
        ...summaryOf(row, deadlineRows), ransomPaidAt: row.ransom_paid_at, items: v.items,
        versions: [{ version: 1, stage: 'initial', changed: Object.keys(v.items), filedAt, sha256: sha, receiptId: receipt.receiptId, items: v.items }],
        deadlines: [...deadlineRows].sort((a, b) => a.due_at.localeCompare(b.due_at)).map((d) => deadlineView(d, clock.nowMs())),
        attachments: [], deliveries: delivered.map((d) => ({ ...d, version: 1 })), indicators: listed.sort((a, b) => a.kind.localeCompare(b.kind) || a.value.localeCompare(b.value)),
        version: 1,
      };
      return { report, receipt };
    },

    /** Files a follow-up: a new version of the report (an update, or the written report 確報). @see 同法 Art. 5 para. 2 */
    async fileFollowUp(ctx: RequestContext, id: string, input: unknown): Promise<{ report: IncidentReport; receipt: Receipt }> {
      policy.require(ctx, 'incident:update');
      const v = parseOrThrow(FollowUpInputSchema, input, 'follow-up');
      const nowMs = clock.nowMs();
      const paidMs = v.ransomPaidAt === undefined ? undefined : Date.parse(v.ransomPaidAt);
      if (paidMs !== undefined && paidMs > nowMs + 300_000) throw new AppError('VALIDATION_FAILED', 'ransomPaidAt: lies in the future.', { details: [{ path: 'ransomPaidAt', message: 'in the future' }] });
      const indicators = indicatorsOf(v.items, v.indicators, 'indicators');
      const filedAt = isoUtc(nowMs);
      return db.transaction(async (trx) => {
        // Follow-ups of one report take turns, each reading the version the last one wrote: SQLite runs one
        // transaction at a time, PostgreSQL side by side unless the report row is locked first.
        if (db.dialect === 'postgres') await trx.selectFrom('incident_reports').select('id').where('id', '=', id).forUpdate().execute();
        const r = await reportFor(ctx, trx, id, 'incident:update');
        const last = (await trx.selectFrom('incident_report_versions').selectAll().where('report_id', '=', id).orderBy('version', 'desc').limit(1).executeTakeFirstOrThrow()) as VersionRow;
        const lastItems = JSON.parse(last.items) as ReportItems;
        const merged = withPrefix('items', () => parseOrThrow(ReportItemsSchema, { ...lastItems, ...v.items }, 'items'));
        const changes = (Object.keys(v.items) as (keyof ReportItems)[]).some((key) => JSON.stringify(merged[key]) !== JSON.stringify(lastItems[key]));
        if (v.stage === 'update' && !changes && v.indicators.length === 0 && v.ransomPaidAt === undefined && v.meets.length === 0) {
          throw new AppError('VALIDATION_FAILED', 'items: this update repeats the current version; change at least one item.', { details: [{ path: 'items', message: 'no change from the current version' }] });
        }
        const deadlines = (await trx.selectFrom('report_deadlines').selectAll().where('report_id', '=', id).execute()) as DeadlineRow[];
        v.meets.forEach((m, i) => {
          if (!deadlines.some((d) => d.key === m)) throw new AppError('VALIDATION_FAILED', `meets.${i}: this report has no ${m} deadline (the operator is not subject to that regime).`, { details: [{ path: `meets.${i}`, message: 'no such deadline on this report' }] });
        });
        const version = Number(r.version) + 1;
        const regimes = JSON.parse(r.regimes) as string[];
        const metNow = new Set<string>([...metByStage(v.stage), ...v.meets]);
        for (const d of deadlines) {
          if (d.met_at !== null || !metNow.has(d.key)) continue;
          await trx.updateTable('report_deadlines').set({ met_at: filedAt }).where('id', '=', d.id).execute();
          if (d.key === 'nis2.notification') {
            // NIS2's final report is due one month after the incident notification actually made.
            const fin = deadlines.find((x) => x.key === 'nis2.final' && x.met_at === null);
            if (fin !== undefined) {
              const due = addMonth(nowMs);
              await trx.updateTable('report_deadlines').set({ due_at: isoUtc(due), remind_at: isoUtc(reminderAt(nowMs, due, settings.reminderLeadHours)), starts_at: filedAt }).where('id', '=', fin.id).execute();
            }
          }
        }
        let ransomPaidAt = r.ransom_paid_at;
        if (paidMs !== undefined) {
          ransomPaidAt = isoUtc(paidMs);
          if (regimes.includes('circia') && !deadlines.some((d) => d.key === 'circia.ransom_payment')) {
            const rd = ransomDeadline(paidMs);
            await trx.insertInto('report_deadlines').values({ id: newId(nowMs), report_id: id, key: rd.key, starts_at: isoUtc(paidMs), due_at: isoUtc(rd.dueMs), remind_at: isoUtc(reminderAt(paidMs, rd.dueMs, settings.reminderLeadHours)), met_at: filedAt, reminded_at: null, escalated_at: null }).execute();
          }
        }
        const changed = Object.keys(v.items).filter((key) => JSON.stringify((JSON.parse(last.items) as Record<string, unknown>)[key]) !== JSON.stringify((merged as Record<string, unknown>)[key]));
        const body = { type: 'incident-report', id, version, stage: v.stage, orgId: r.org_id, sector: r.sector, awareAt: r.aware_at, ransomPaidAt, items: merged, indicators: indicators.map(({ kind, value }) => ({ kind, value })), meets: v.meets, filedAt };
        const sha = filingHash(body);
        await trx.insertInto('incident_report_versions').values({ report_id: id, version, stage: v.stage, items: JSON.stringify(merged), changed: JSON.stringify(changed), filed_by: ctx.actor.userId ?? ctx.actor.id, filed_at: filedAt, sha256: sha }).execute();
        const status = v.stage === 'written' ? 'written' : r.status;
        await trx.updateTable('incident_reports').set({ version, category: merged.category, status, ransom_paid_at: ransomPaidAt, updated_at: filedAt }).where('id', '=', id).execute();
        await storeIndicators(trx, id, indicators);
        const receipt = await deliver(trx, { type: 'incident_version', id: `${id}#${version}`, reportId: id, orgId: r.org_id, sector: r.sector, sha256: sha, filedAt });
        await audit.record(ctx, { action: 'incident:update', object: { type: 'incident_report', id }, outcome: 'success', details: { version, stage: v.stage, sha256: sha, indicators: indicators.length } }, trx);
        return { report: await fullReport(trx, { ...r, version, category: merged.category, status, ransom_paid_at: ransomPaidAt, updated_at: filedAt }), receipt };
      });
    },

    /** Incident reports the caller may see, newest first, one page of at most `page.limit` (keyset on created_at, id). */
    async listIncidents(ctx: RequestContext, page: PageQuery): Promise<Page<IncidentSummary>> {
      policy.require(ctx, 'incident:read');
      const rows = await reportPage(ctx, page, 'desc');
      const deadlines = await openDeadlinesOf(k, rows.rows.map((r) => r.id));
      await audit.record(ctx, { action: 'incident:read', object: null, outcome: 'success', details: { count: rows.rows.length } });
      return { items: rows.rows.map((r) => summaryOf(r, deadlines)), nextCursor: rows.nextCursor };
    },

    /** One incident report in full (every version, deadlines, attachments, deliveries). */
    async getIncident(ctx: RequestContext, id: string): Promise<IncidentReport> {
      policy.require(ctx, 'incident:read');
      const r = await reportFor(ctx, k, id, 'incident:read');
      const report = await fullReport(k, r);
      await audit.record(ctx, { action: 'incident:read', object: { type: 'incident_report', id }, outcome: 'success', details: { version: report.version, sha256: report.versions[report.versions.length - 1]!.sha256 } });
      return report;
    },

    /**
     * The reports the caller may see in full, oldest first, in chunks of at most `chunk`: each chunk is a few
     * bounded queries, audited (count and a hash of its ids) before it is handed out, and the event loop runs
     * between chunks. Stops between chunks when `signal` aborts (the client left, or the server is stopping).
     */
    async *exportIncidents(ctx: RequestContext, format: string, options: { chunk?: number; signal?: AbortSignal } = {}): AsyncGenerator<IncidentReport[]> {
      policy.require(ctx, 'incident:read');
      let cursor: string | undefined;
      let part = 0;
      do {
        // Throw, not return: a stream that ended cleanly would look like a complete export.
        if (options.signal?.aborted === true) throw new AppError('UNAVAILABLE', 'The export stopped before its end (the server is stopping or the client left); run it again.');
        const rows = await reportPage(ctx, { limit: options.chunk ?? 100, cursor }, 'asc');
        const reports = await fullReports(k, rows.rows);
        if (reports.length > 0) {
          const ids = createHash('sha256').update(reports.map((x) => x.id).join(',')).digest('hex');
          await audit.record(ctx, { action: 'incident:read', object: null, outcome: 'success', details: { export: format, part: part++, count: reports.length, ids } });
          yield reports;
        }
        cursor = rows.nextCursor ?? undefined;
        await yieldToEventLoop();
      } while (cursor !== undefined);
    },

    /** Attaches a file (size and media-type limits; stored with its SHA-256). */
    async addAttachment(ctx: RequestContext, id: string, input: unknown): Promise<IncidentReport['attachments'][number]> {
      policy.require(ctx, 'incident:update');
      const v = parseOrThrow(AttachmentInputSchema, input, 'attachment');
      const { mediaType, bytes } = checkAttachment(v, { maxBytes: settings.attachmentMaxBytes, mediaTypes: settings.attachmentMediaTypes });
      const sha = sha256Hex(bytes);
      const addedAt = now();
      const attId = newId(clock.nowMs());
      await db.transaction(async (trx) => {
        await reportFor(ctx, trx, id, 'incident:update');
        await trx.insertInto('report_attachments').values({ id: attId, report_id: id, filename: v.filename, media_type: mediaType, size: bytes.length, sha256: sha, content: bytes, added_by: ctx.actor.userId ?? ctx.actor.id, added_at: addedAt }).execute();
        await trx.updateTable('incident_reports').set({ updated_at: addedAt }).where('id', '=', id).execute();
        await audit.record(ctx, { action: 'incident:update', object: { type: 'incident_report', id }, outcome: 'success', details: { attachment: attId, sha256: sha, size: bytes.length, mediaType } }, trx);
      });
      return { id: attId, filename: v.filename, mediaType, size: bytes.length, sha256: sha, addedAt };
    },

    /** An attachment's bytes, if the caller may read the report. */
    async getAttachment(ctx: RequestContext, id: string, attachmentId: string): Promise<{ filename: string; mediaType: string; sha256: string; bytes: Buffer }> {
      policy.require(ctx, 'incident:read');
      await reportFor(ctx, k, id, 'incident:read');
      const a = (await k.selectFrom('report_attachments').selectAll().where('id', '=', attachmentId).where('report_id', '=', id).executeTakeFirst()) as { filename: string; media_type: string; sha256: string; content: Uint8Array } | undefined;
      if (a === undefined) throw new AppError('NOT_FOUND', `No attachment ${attachmentId} on this report.`);
      await audit.record(ctx, { action: 'incident:read', object: { type: 'incident_report', id }, outcome: 'success', details: { attachment: attachmentId, sha256: a.sha256 } });
      return { filename: a.filename, mediaType: a.media_type, sha256: a.sha256, bytes: Buffer.from(a.content) };
    },

    /** A receipt, with the public key that verifies it. */
    async getReceipt(ctx: RequestContext, receiptId: string): Promise<{ receipt: Receipt; publicKey: string; operator: { name: string; nameJa: string | null } | null }> {
      const row = (await k.selectFrom('report_receipts').selectAll().where('id', '=', receiptId).executeTakeFirst()) as { id: string; subject_id: string; org_id: string; sector: string; receipt: string } | undefined;
      const action = row?.subject_id.includes('#') === true ? 'incident:read' : 'notification:read';
      if (row === undefined || !policy.authorize(ctx, action, filing(row.org_id, row.sector, row.subject_id)).allowed) throw new AppError('NOT_FOUND', `No receipt ${receiptId} that you may see.`);
      await audit.record(ctx, { action, object: { type: 'receipt', id: receiptId }, outcome: 'success' });
      const org = (await k.selectFrom('orgs').select(['name', 'name_ja']).where('id', '=', row.org_id).executeTakeFirst()) as { name: string; name_ja: string | null } | undefined;
      return { receipt: JSON.parse(row.receipt) as Receipt, publicKey: deps.signer().publicKey, operator: org === undefined ? null : { name: org.name, nameJa: org.name_ja } };
    },

    /** The attachment limits the server enforces (the dashboard checks a file before sending it). */
    attachmentLimits(): { maxBytes: number; mediaTypes: readonly string[] } {
      return { maxBytes: settings.attachmentMaxBytes, mediaTypes: settings.attachmentMediaTypes };
    },
  };
}
