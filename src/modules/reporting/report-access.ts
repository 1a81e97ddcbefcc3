/** @module Who sees which filing, and filings in full: reports and notifications with deliveries, deadlines and indicators; receipts. */
import { isoUtc } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import type { AnyDb } from '#platform/db/index.js';
import { AppError } from '#platform/errors/index.js';
import { newId } from '#platform/ids/index.js';
import { afterKey, cutPage, decodeCursor } from '#platform/paging/index.js';
import { deliveriesOf, loadReportParts, receiptsOf, type DeadlineRow } from './report-batch.js';
import { DEADLINE_LABELS, type DeadlineKey } from './clocks.js';
import type { FormValues } from './forms.js';
import { inboxMessage } from './messages.js';
import { extractIndicators, normalizeIndicator, type Indicator } from './indicators.js';
import { makeReceipt, type Receipt } from './receipts.js';
import type { ReportItems } from './schema.js';
import {
  filing, INDICATOR_KEY, MINISTRY_ESCALATION, type ComputerNotification, type DeadlineView, type Delivery, type IncidentReport,
  type IncidentSummary, type InboxItem, type InboxRow, type NotificationRow, type Recipient, type ReportingDeps, type ReportRow,
} from './model.js';

/** The reads and writes every part of the reporting service shares: scopes, full views, delivery with receipts, indicators. */
export function createReportAccess(deps: ReportingDeps) {
  const { db, clock, registry } = deps;
  const policy = deps.policy;
  const k = db.kysely;
  const now = () => isoUtc(clock.nowMs());

  async function ownProfile(ctx: RequestContext) {
    if (ctx.actor.orgId === null) throw new AppError('FORBIDDEN', 'Your account belongs to no organization; only a designated operator\'s staff file reports.');
    const p = await registry.profileOf(ctx, ctx.actor.orgId);
    if (p === undefined) throw new AppError('CONFLICT', 'Your organization is not a designated operator in the registry; ask the competent ministry to register it.');
    return p;
  }

  /** Which rows the caller's roles reach before the per-row policy check. */
  function scope(ctx: RequestContext): { all: true } | { orgId: string } | { sectors: string[] } | { none: true } {
    const roles = ctx.actor.roles;
    if (ctx.actor.kind === 'system' || roles.includes('analyst') || roles.includes('nco_director')) return { all: true };
    if (roles.includes('ministry')) return { sectors: [...ctx.actor.sectors] };
    if (roles.includes('operator') && ctx.actor.orgId !== null) return { orgId: ctx.actor.orgId };
    return { none: true };
  }

  function scoped<Q>(q: Q, ctx: RequestContext, prefix = ''): Q | undefined {
    const s = scope(ctx);
    const w = q as unknown as { where(c: string, op: string, v: unknown): Q };
    if ('none' in s) return undefined;
    if ('orgId' in s) return w.where(`${prefix}org_id`, '=', s.orgId);
    if ('sectors' in s) return s.sectors.length === 0 ? undefined : w.where(`${prefix}sector`, 'in', s.sectors);
    return q;
  }

  async function deliveriesFor(q: AnyDb, subjectIds: readonly string[]): Promise<(Delivery & { subjectId: string })[]> {
    const rows = await deliveriesOf(q, subjectIds);
    return rows.map((r) => ({ inboxId: r.id, recipient: r.recipient as Recipient, deliveredAt: r.created_at, acknowledgedAt: r.acknowledged_at, subjectId: r.subject_id }));
  }

  /** The rows that deliver a filing to the sector's ministry and the NCO, and the operator's signed receipt with its row. */
  function deliveryRows(subject: { type: 'notification' | 'incident_version'; id: string; reportId: string | null; orgId: string; sector: string; sha256: string; filedAt: string }) {
    const inbox = (['ministry', 'nco'] as const).map((recipient) => ({ id: newId(clock.nowMs()), recipient, kind: 'filing', subject_type: subject.type, subject_id: subject.id, report_id: subject.reportId, org_id: subject.orgId, sector: subject.sector, note: null, created_at: subject.filedAt, acknowledged_at: null, acknowledged_by: null }));
    const delivered: Delivery[] = inbox.map((r) => ({ inboxId: r.id, recipient: r.recipient, deliveredAt: r.created_at, acknowledgedAt: null }));
    const receipt = makeReceipt(deps.signer(), { receiptId: newId(clock.nowMs()), subjectType: subject.type, subjectId: subject.id, orgId: subject.orgId, filedAt: subject.filedAt, sha256: subject.sha256, recipients: [`ministry:${subject.sector}`, 'nco'] });
    const receiptRow = { id: receipt.receiptId, subject_id: subject.id, org_id: subject.orgId, sector: subject.sector, receipt: JSON.stringify(receipt), created_at: subject.filedAt };
    return { inbox, delivered, receipt, receiptRow };
  }

  /** Delivers a filing to the sector's ministry and the NCO, and issues the operator's receipt, inside `trx`. */
  async function deliver(trx: AnyDb, subject: Parameters<typeof deliveryRows>[0]): Promise<Receipt> {
    const d = deliveryRows(subject);
    await trx.insertInto('report_inbox').values(d.inbox).execute();
    await trx.insertInto('report_receipts').values(d.receiptRow).execute();
    return d.receipt;
  }

  /** Indicator rows of a report (first and last seen at `seen`). */
  function indicatorRows(reportId: string, list: readonly (Indicator & { confidence: number })[], seen: string) {
    return list.map((i) => ({ id: newId(clock.nowMs()), kind: i.kind, value: i.value, source_type: 'incident_report', source_id: reportId, first_seen: seen, last_seen: seen, confidence: i.confidence }));
  }

  async function storeIndicators(trx: AnyDb, reportId: string, list: readonly (Indicator & { confidence: number })[]): Promise<void> {
    const rows = indicatorRows(reportId, list, now());
    // One statement per 100 (far under SQLite's bound-parameter limit); a value already listed for this report is kept.
    for (let at = 0; at < rows.length; at += 100) {
      await trx.insertInto('indicators').values(rows.slice(at, at + 100)).onConflict((oc) => oc.columns([...INDICATOR_KEY]).doNothing()).execute();
    }
  }

  function indicatorsOf(items: { [K in keyof ReportItems]?: ReportItems[K] | undefined }, given: readonly { kind: Indicator['kind']; value: string }[], path: string): (Indicator & { confidence: number })[] {
    const out = new Map<string, Indicator & { confidence: number }>();
    given.forEach((g, i) => {
      const n = normalizeIndicator(g.kind, g.value);
      if (n === undefined) throw new AppError('VALIDATION_FAILED', `${path}.${i}.value: not a valid ${g.kind}.`, { details: [{ path: `${path}.${i}.value`, message: `not a valid ${g.kind}` }] });
      out.set(`${n.kind}:${n.value}`, { ...n, confidence: 80 });
    });
    const text = [items.summary, items.technicalDetails, items.response, items.other].filter((s): s is string => typeof s === 'string').join('\n');
    for (const n of extractIndicators(text)) if (!out.has(`${n.kind}:${n.value}`)) out.set(`${n.kind}:${n.value}`, { ...n, confidence: 50 });
    return [...out.values()];
  }

  function deadlineView(d: DeadlineRow, nowMs: number, ministryEscalatedAt: string | null = null): DeadlineView {
    const due = Date.parse(d.due_at);
    const state = d.met_at !== null ? (Date.parse(d.met_at) <= due ? 'met' : 'late') : nowMs > due ? 'overdue' : 'open';
    return { key: d.key as DeadlineKey, label: DEADLINE_LABELS[d.key as DeadlineKey], dueAt: d.due_at, remindAt: d.remind_at, metAt: d.met_at, state, remindedAt: d.reminded_at, escalatedAt: d.escalated_at, ministryEscalatedAt };
  }

  /** When the ministry escalated each deadline of a report by hand (deadline id → time). */
  async function ministryEscalations(q: AnyDb, reportId: string): Promise<Map<string, string>> {
    const rows = (await q.selectFrom('report_inbox').select(['subject_id', 'created_at']).where('report_id', '=', reportId).where('subject_type', '=', MINISTRY_ESCALATION).where('recipient', '=', 'nco').execute()) as { subject_id: string; created_at: string }[];
    return new Map(rows.map((r) => [r.subject_id, r.created_at]));
  }

  function summaryOf(r: ReportRow, deadlines: readonly DeadlineRow[]): IncidentSummary {
    const nowMs = clock.nowMs();
    return {
      id: r.id, orgId: r.org_id, sector: r.sector, category: r.category, status: r.status as IncidentSummary['status'], version: Number(r.version), awareAt: r.aware_at,
      regimes: JSON.parse(r.regimes) as string[], createdAt: r.created_at, updatedAt: r.updated_at,
      overdue: deadlines.filter((d) => d.report_id === r.id && d.met_at === null && Date.parse(d.due_at) < nowMs).map((d) => d.key as DeadlineKey),
      shareWithCouncil: r.share_with_council === 1, operatorNamed: r.operator_named === 1,
    };
  }

  async function loadReport(q: AnyDb, id: string): Promise<ReportRow | undefined> {
    return (await q.selectFrom('incident_reports').selectAll().where('id', '=', id).executeTakeFirst()) as ReportRow | undefined;
  }

  /** The report if the caller may do `action` on it; otherwise NOT_FOUND (another org's report does not exist for you). */
  async function reportFor(ctx: RequestContext, q: AnyDb, id: string, action: string): Promise<ReportRow> {
    const r = await loadReport(q, id);
    if (r === undefined || !policy.authorize(ctx, action, filing(r.org_id, r.sector, r.id)).allowed) {
      throw new AppError('NOT_FOUND', `No incident report ${id} that you may see; list yours with GET /api/v1/incidents.`);
    }
    return r;
  }

  /** Reports in full, in the order given: a few queries per 500 reports (report-batch.ts), never a query per report. */
  /** One keyset page of the reports the caller's roles reach, per-row policy applied (see cutPage). */
  async function reportPage(ctx: RequestContext, page: { limit: number; cursor?: string | undefined }, direction: 'asc' | 'desc') {
    let q = k.selectFrom('incident_reports').selectAll().orderBy('created_at', direction).orderBy('id', direction).limit(page.limit + 1);
    if (page.cursor !== undefined) q = q.where(afterKey(['created_at', 'id'], decodeCursor(page.cursor, ['string', 'string']), direction));
    const s = scoped(q, ctx);
    const rows = s === undefined ? [] : ((await s.execute()) as ReportRow[]);
    return cutPage(rows, page.limit, (r) => [r.created_at, r.id], (r) => policy.authorize(ctx, 'incident:read', filing(r.org_id, r.sector, r.id)).allowed);
  }

  async function fullReports(q: AnyDb, rows: readonly ReportRow[]): Promise<IncidentReport[]> {
    const parts = await loadReportParts(q, rows.map((r) => r.id), MINISTRY_ESCALATION);
    const nowMs = clock.nowMs();
    return rows.map((r) => {
      const versions = parts.versions.get(r.id) ?? [];
      const deadlines = parts.deadlines.get(r.id) ?? [];
      const escalations = parts.escalations.get(r.id);
      const last = versions[versions.length - 1]!;
      return {
        ...summaryOf(r, deadlines),
        ransomPaidAt: r.ransom_paid_at,
        items: JSON.parse(last.items) as ReportItems,
        versions: versions.map((v) => ({ version: Number(v.version), stage: v.stage, changed: JSON.parse(v.changed) as string[], filedAt: v.filed_at, sha256: v.sha256, receiptId: parts.receipts.get(`${r.id}#${v.version}`) ?? null, items: JSON.parse(v.items) as ReportItems })),
        deadlines: deadlines.map((d) => deadlineView(d, nowMs, escalations?.get(d.id) ?? null)),
        attachments: (parts.attachments.get(r.id) ?? []).map((a) => ({ id: a.id, filename: a.filename, mediaType: a.media_type, size: Number(a.size), sha256: a.sha256, addedAt: a.added_at })),
        deliveries: versions.flatMap((v) => (parts.deliveries.get(`${r.id}#${v.version}`) ?? []).map((d) => ({ inboxId: d.id, recipient: d.recipient as Recipient, deliveredAt: d.created_at, acknowledgedAt: d.acknowledged_at, version: Number(v.version) })))
          .sort((a, b) => (a.deliveredAt < b.deliveredAt ? -1 : a.deliveredAt > b.deliveredAt ? 1 : 0)),
        indicators: (parts.indicators.get(r.id) ?? []) as Indicator[],
      };
    });
  }

  async function fullReport(q: AnyDb, r: ReportRow): Promise<IncidentReport> {
    return (await fullReports(q, [r]))[0]!;
  }

  async function notificationView(q: AnyDb, rows: readonly NotificationRow[]): Promise<ComputerNotification[]> {
    const ids = rows.map((r) => r.id);
    const dels = await deliveriesFor(q, ids);
    const rids = await receiptsOf(q, ids);
    return rows.map((r) => ({
      id: r.id, orgId: r.org_id, sector: r.sector, computerId: r.computer_id, kind: r.kind as ComputerNotification['kind'], form: r.form, formVersion: Number(r.form_version),
      fields: JSON.parse(r.fields) as FormValues, diff: r.diff === null ? null : (JSON.parse(r.diff) as ComputerNotification['diff']), previousId: r.previous_id, filedAt: r.filed_at, sha256: r.sha256,
      deliveries: dels.filter((d) => d.subjectId === r.id).map(({ subjectId: _s, ...d }) => d), receiptId: rids.get(r.id) ?? null,
    }));
  }

  function recipientsOf(ctx: RequestContext): { recipient: Recipient; sectors?: string[]; orgId?: string }[] {
    const out: { recipient: Recipient; sectors?: string[]; orgId?: string }[] = [];
    const roles = ctx.actor.roles;
    if (roles.includes('analyst') || roles.includes('nco_director')) out.push({ recipient: 'nco' });
    if (roles.includes('ministry')) out.push({ recipient: 'ministry', sectors: [...ctx.actor.sectors] });
    if (roles.includes('operator') && ctx.actor.orgId !== null) out.push({ recipient: 'operator', orgId: ctx.actor.orgId });
    return out;
  }

  const toInbox = (r: InboxRow): InboxItem => ({
    id: r.id, recipient: r.recipient as Recipient, kind: r.kind as InboxItem['kind'], subjectType: r.subject_type, subjectId: r.subject_id, reportId: r.report_id,
    orgId: r.org_id, sector: r.sector, note: r.note, message: inboxMessage(r.note), createdAt: r.created_at, acknowledgedAt: r.acknowledged_at, orgName: null, orgNameJa: null, about: null,
  });

  return {
    now, ownProfile, scoped, deliveryRows, deliver, indicatorRows, storeIndicators, indicatorsOf, deadlineView, ministryEscalations,
    summaryOf, reportFor, reportPage, fullReports, fullReport, notificationView, recipientsOf, toInbox,
  };
}

/** The shared part of the reporting service. */
export type ReportAccess = ReturnType<typeof createReportAccess>;
