/** @module Reporting: computer notifications and incident reports from designated operators, delivered to ministry and NCO inboxes, with receipts, clocks and indicators. */
import { createHash } from 'node:crypto';
import type { Clock } from '#platform/clock/index.js';
import { isoUtc } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import { sql, type AnyDb, type Database } from '#platform/db/index.js';
import { AppError, isAppError, parseOrThrow, type FieldIssue, type Message } from '#platform/errors/index.js';
import { newId } from '#platform/ids/index.js';
import type { PolicyEngine, PolicyResource } from '#platform/policy/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import type { RegistryService } from '#modules/registry/index.js';
import { cidrContains } from '#modules/registry/index.js';
import { afterKey, cutPage, decodeCursor, pageOf, pageQuery, yieldToEventLoop, type Page, type PageQuery } from '#platform/paging/index.js';
import { checkAttachment } from './attachments.js';
import { nameInbox, type InboxAbout } from './inbox-names.js';
import { deliveriesOf, loadReportParts, openDeadlinesOf, receiptsOf, type DeadlineRow, type VersionRow } from './report-batch.js';
import { createGroupCommitter, type AuditBatchWriter } from './group-commit.js';
import { addMonth, deadlinesFor, metByStage, ransomDeadline, reminderAt, DEADLINE_LABELS, type DeadlineKey } from './clocks.js';
import { diffValues, type FormRegistry, type FormValues } from './forms.js';
import { inboxMessage, overdueNote, reminderNote } from './messages.js';
import { extractIndicators, normalizeIndicator, type Indicator } from './indicators.js';
import { filingHash, makeReceipt, type Receipt, type ReceiptSigner } from './receipts.js';
import {
  AttachmentInputSchema, EscalationInputSchema, FollowUpInputSchema, IncidentInputSchema, NamingConsentSchema, NotificationInputSchema, ReportItemsSchema, ShareDecisionSchema,
  type ReportItems, type ReportingSettings,
} from './schema.js';

/** What reporting needs. */
export interface ReportingDeps {
  db: Database;
  policy: PolicyEngine;
  /** The audit log; with `recordBatch` a group commit appends all its filings' entries at once. */
  audit: AuditRecorder & { recordBatch?: AuditBatchWriter };
  clock: Clock;
  registry: RegistryService;
  forms: FormRegistry;
  /** The receipt signer, loaded on first use (its key file lives under dataDir). */
  signer: () => ReceiptSigner;
  settings: ReportingSettings;
}

/** Who receives a filing or notice. */
export type Recipient = 'ministry' | 'nco' | 'operator';

/** Delivery of a filing to one recipient, and its acknowledgement. */
export interface Delivery {
  inboxId: string;
  recipient: Recipient;
  deliveredAt: string;
  acknowledgedAt: string | null;
}

/** A computer notification as the API returns it. */
export interface ComputerNotification {
  id: string;
  orgId: string;
  sector: string;
  computerId: string;
  kind: 'introduction' | 'change';
  form: string;
  formVersion: number;
  fields: FormValues;
  diff: { key: string; before: unknown; after: unknown }[] | null;
  previousId: string | null;
  filedAt: string;
  sha256: string;
  deliveries: Delivery[];
  receiptId: string | null;
}

/** A deadline with its state now. */
export interface DeadlineView {
  key: DeadlineKey;
  label: { ja: string; en: string };
  dueAt: string;
  remindAt: string;
  metAt: string | null;
  state: 'met' | 'late' | 'open' | 'overdue';
  remindedAt: string | null;
  escalatedAt: string | null;
  /** When the sector's ministry escalated this overdue deadline by hand (to the NCO, with a demand to the operator). */
  ministryEscalatedAt: string | null;
}

/** An incident report's summary (lists). */
export interface IncidentSummary {
  id: string;
  orgId: string;
  sector: string;
  category: string;
  status: 'initial' | 'written';
  version: number;
  awareAt: string;
  regimes: string[];
  createdAt: string;
  updatedAt: string;
  overdue: DeadlineKey[];
  shareWithCouncil: boolean;
  operatorNamed: boolean;
}

/** An incident report in full. */
export interface IncidentReport extends IncidentSummary {
  ransomPaidAt: string | null;
  items: ReportItems;
  versions: { version: number; stage: string; changed: string[]; filedAt: string; sha256: string; receiptId: string | null; items: ReportItems }[];
  deadlines: DeadlineView[];
  attachments: { id: string; filename: string; mediaType: string; size: number; sha256: string; addedAt: string }[];
  deliveries: (Delivery & { version: number })[];
  indicators: Indicator[];
}

/** An inbox entry: a reference to a filing or a notice, never its content. */
export interface InboxItem {
  id: string;
  recipient: Recipient;
  kind: 'filing' | 'reminder' | 'overdue' | 'escalation';
  subjectType: string;
  subjectId: string;
  reportId: string | null;
  orgId: string;
  sector: string;
  note: string | null;
  /** The note as a code with parameters (`inbox.overdue`, `inbox.escalatedByMinistry`, `inbox.dueSoon`), for clients to word. */
  message: Message | null;
  createdAt: string;
  acknowledgedAt: string | null;
  /** The operator by name (English and Japanese), so the inbox reads at a glance. */
  orgName: string | null;
  orgNameJa: string | null;
  /** What the entry is about: a report (its category, awareness time, version) or a computer notification (its kind, the computer's name). */
  about: InboxAbout | null;
}

export type { InboxAbout } from './inbox-names.js';

interface ReportRow {
  id: string; org_id: string; sector: string; aware_at: string; regimes: string; status: string; version: number; category: string;
  ransom_paid_at: string | null; share_with_council: number; operator_named: number; created_at: string; updated_at: string;
}
interface NotificationRow { id: string; org_id: string; sector: string; computer_id: string; kind: string; form: string; form_version: number; fields: string; diff: string | null; previous_id: string | null; filed_by: string; filed_at: string; sha256: string }
interface InboxRow { id: string; recipient: string; kind: string; subject_type: string; subject_id: string; report_id: string | null; org_id: string; sector: string; note: string | null; created_at: string; acknowledged_at: string | null; acknowledged_by: string | null }

/** The inbox subject type of a ministry's escalation of an overdue deadline (its subject id is the deadline's id). */
const MINISTRY_ESCALATION = 'ministry_escalation';

const filing = (orgId: string, sector: string, id: string): PolicyResource => ({ type: 'Filing', id, attrs: { orgId, sector } });
const inboxResource = (r: InboxRow): PolicyResource => ({ type: 'InboxItem', id: r.id, attrs: { recipient: r.recipient, orgId: r.org_id, sector: r.sector } });
const sha256Hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** The unique key of `indicators`: a value listed twice for one source is stored once. */
const INDICATOR_KEY = ['kind', 'value', 'source_type', 'source_id'] as const;

/** Re-throws a validation error with every field path under `prefix`. */
function withPrefix<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isAppError(e) && e.code === 'VALIDATION_FAILED' && e.details !== undefined) {
      const details: FieldIssue[] = e.details.map((d) => ({ path: d.path === '(root)' ? prefix : `${prefix}.${d.path}`, message: d.message }));
      throw new AppError('VALIDATION_FAILED', `Invalid ${prefix}: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, { details });
    }
    throw e;
  }
}

/** Creates the reporting service. @see 重要電子計算機に対する不正な行為による被害の防止に関する法律 Art. 4 (notifications), Art. 5 (incident reports) */
export function createReportingService(deps: ReportingDeps) {
  const { db, audit, clock, registry, forms, settings } = deps;
  const policy = deps.policy;
  const k = db.kysely;
  const now = () => isoUtc(clock.nowMs());
  const group = createGroupCommitter(db, audit);

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
    /** The notification forms loaded from the forms directory, every version, by name then version: one page. */
    listForms(ctx: RequestContext, page: Partial<PageQuery> = {}) {
      policy.require(ctx, 'form:read');
      return pageOf(forms.list(), pageQuery(page), { shape: ['string', 'number'], direction: 'asc' }, (f) => [f.form, f.version]);
    },

    /** One form definition with its fields and their Japanese and English labels. */
    getForm(ctx: RequestContext, form: string, version: number) {
      policy.require(ctx, 'form:read');
      const def = forms.get(form, version);
      if (def === undefined) throw new AppError('NOT_FOUND', `No form ${form} version ${version}; list them with GET /api/v1/forms.`);
      return def;
    },

    /**
     * Files a computer notification: on introduction (no `computerId`) or on a change of any notified
     * field (with `computerId`; the diff is stored). Delivered to the sector ministry and the NCO; the
     * operator receives a signed receipt with the SHA-256 of the canonical filing.
     * @see 同法 Art. 4 paras. 1–2
     */
    async fileNotification(ctx: RequestContext, input: unknown): Promise<{ notification: ComputerNotification; receipt: Receipt }> {
      policy.require(ctx, 'notification:file');
      const v = parseOrThrow(NotificationInputSchema, input, 'notification');
      const def = forms.get(v.form, v.formVersion);
      if (def === undefined) {
        const versions = forms.list().filter((f) => f.form === v.form).map((f) => f.version);
        const path = versions.length === 0 ? 'form' : 'formVersion';
        throw new AppError('VALIDATION_FAILED', versions.length === 0 ? `form: there is no form "${v.form}"; list forms with GET /api/v1/forms.` : `formVersion: form ${v.form} has no version ${v.formVersion}; versions: ${versions.join(', ')}.`, { details: [{ path, message: 'no such form version' }] });
      }
      const fields = withPrefix('fields', () => parseOrThrow(forms.validator(v.form, v.formVersion)!, v.fields, 'fields'));
      const p = await ownProfile(ctx);
      const filedAt = now();
      const id = newId<'notification'>(clock.nowMs());
      policy.require(ctx, 'notification:file', filing(p.orgId, p.sector, id));
      return db.transaction(async (trx) => {
        let computerId: string = newId(clock.nowMs());
        let previous: NotificationRow | undefined;
        let diff: ReturnType<typeof diffValues> | null = null;
        if (v.computerId !== undefined) {
          // Changes of one computer take turns (see fileFollowUp): on PostgreSQL lock its filings, then read
          // them again in a new statement, which sees what a change committed meanwhile.
          if (db.dialect === 'postgres') await trx.selectFrom('computer_notifications').select('id').where('computer_id', '=', v.computerId).where('org_id', '=', p.orgId).forUpdate().execute();
          // The latest filing is the one no other filing names as its previous (times may tie within a millisecond).
          const chain = (await trx.selectFrom('computer_notifications').selectAll().where('computer_id', '=', v.computerId).where('org_id', '=', p.orgId).execute()) as NotificationRow[];
          const superseded = new Set(chain.map((c) => c.previous_id));
          previous = chain.find((c) => !superseded.has(c.id));
          if (previous === undefined) throw new AppError('VALIDATION_FAILED', 'computerId: your organization has notified no computer with this id; omit it to notify a new computer.', { details: [{ path: 'computerId', message: 'unknown computer' }] });
          diff = diffValues(JSON.parse(previous.fields) as FormValues, fields);
          if (diff.length === 0) throw new AppError('CONFLICT', 'fields: no notified field changed, so there is nothing to notify.');
          computerId = v.computerId;
        }
        const kind = previous === undefined ? 'introduction' : 'change';
        const body = { type: 'computer-notification', id, orgId: p.orgId, sector: p.sector, computerId, kind, form: v.form, formVersion: v.formVersion, fields, diff, filedAt };
        const sha = filingHash(body);
        const row: NotificationRow = { id, org_id: p.orgId, sector: p.sector, computer_id: computerId, kind, form: v.form, form_version: v.formVersion, fields: JSON.stringify(fields), diff: diff === null ? null : JSON.stringify(diff), previous_id: previous?.id ?? null, filed_by: ctx.actor.userId ?? ctx.actor.id, filed_at: filedAt, sha256: sha };
        await trx.insertInto('computer_notifications').values(row).execute();
        const receipt = await deliver(trx, { type: 'notification', id, reportId: null, orgId: p.orgId, sector: p.sector, sha256: sha, filedAt });
        await audit.record(ctx, { action: 'notification:file', object: { type: 'notification', id }, outcome: 'success', details: { kind, form: v.form, formVersion: v.formVersion, sha256: sha, changedFields: diff?.length ?? null } }, trx);
        const [view] = await notificationView(trx, [row]);
        return { notification: view!, receipt };
      });
    },

    /** Notifications the caller may see (its own org's, its sectors', or all for the NCO), newest first, one page. */
    async listNotifications(ctx: RequestContext, page: PageQuery): Promise<Page<ComputerNotification>> {
      policy.require(ctx, 'notification:read');
      let q = k.selectFrom('computer_notifications').selectAll().orderBy('filed_at', 'desc').orderBy('id', 'desc').limit(page.limit + 1);
      if (page.cursor !== undefined) q = q.where(afterKey(['filed_at', 'id'], decodeCursor(page.cursor, ['string', 'string']), 'desc'));
      const s = scoped(q, ctx);
      const rows = s === undefined ? [] : ((await s.execute()) as NotificationRow[]);
      const cut = cutPage(rows, page.limit, (r) => [r.filed_at, r.id], (r) => policy.authorize(ctx, 'notification:read', filing(r.org_id, r.sector, r.id)).allowed);
      await audit.record(ctx, { action: 'notification:read', object: null, outcome: 'success', details: { count: cut.rows.length } });
      return { items: await notificationView(k, cut.rows), nextCursor: cut.nextCursor };
    },

    /** One notification, if the caller may see it. */
    async getNotification(ctx: RequestContext, id: string): Promise<ComputerNotification> {
      policy.require(ctx, 'notification:read');
      const r = (await k.selectFrom('computer_notifications').selectAll().where('id', '=', id).executeTakeFirst()) as NotificationRow | undefined;
      if (r === undefined || !policy.authorize(ctx, 'notification:read', filing(r.org_id, r.sector, r.id)).allowed) throw new AppError('NOT_FOUND', `No notification ${id} that you may see.`);
      await audit.record(ctx, { action: 'notification:read', object: { type: 'notification', id }, outcome: 'success', details: { sha256: r.sha256 } });
      return (await notificationView(k, [r]))[0]!;
    },

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

    /** The operator agrees (or not) to be named when its report is shared with the council. */
    async setNamingConsent(ctx: RequestContext, id: string, input: unknown): Promise<IncidentSummary> {
      policy.require(ctx, 'incident:update');
      const v = parseOrThrow(NamingConsentSchema, input, 'naming consent');
      return db.transaction(async (trx) => {
        const r = await reportFor(ctx, trx, id, 'incident:update');
        await trx.updateTable('incident_reports').set({ operator_named: v.operatorNamed ? 1 : 0 }).where('id', '=', id).execute();
        await audit.record(ctx, { action: 'incident:update', object: { type: 'incident_report', id }, outcome: 'success', details: { operatorNamed: v.operatorNamed } }, trx);
        return summaryOf({ ...r, operator_named: v.operatorNamed ? 1 : 0 }, []);
      });
    },

    /** The NCO flags (or unflags) a report for sharing with the council, sanitized. @see 同法 Art. 45 (information-sharing council) */
    async setSharing(ctx: RequestContext, id: string, input: unknown): Promise<IncidentSummary> {
      policy.require(ctx, 'incident:share');
      const v = parseOrThrow(ShareDecisionSchema, input, 'sharing decision');
      return db.transaction(async (trx) => {
        const r = await reportFor(ctx, trx, id, 'incident:share');
        await trx.updateTable('incident_reports').set({ share_with_council: v.shareWithCouncil ? 1 : 0 }).where('id', '=', id).execute();
        await audit.record(ctx, { action: 'incident:share', object: { type: 'incident_report', id }, outcome: 'success', details: { shareWithCouncil: v.shareWithCouncil } }, trx);
        return summaryOf({ ...r, share_with_council: v.shareWithCouncil ? 1 : 0 }, []);
      });
    },

    /** Reports flagged for the council, sanitized (the operator anonymous unless it agreed, contact details and its own addresses removed), newest first, one page. */
    async listShared(ctx: RequestContext, page: PageQuery): Promise<Page<ReturnType<typeof sanitize>>> {
      policy.require(ctx, 'shared-report:read');
      let q = k.selectFrom('incident_reports').selectAll().where('share_with_council', '=', 1).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit + 1);
      if (page.cursor !== undefined) q = q.where(afterKey(['created_at', 'id'], decodeCursor(page.cursor, ['string', 'string']), 'desc'));
      const cut = cutPage((await q.execute()) as ReportRow[], page.limit, (r) => [r.created_at, r.id]);
      const full = await fullReports(k, cut.rows);
      const profiles = new Map<string, Awaited<ReturnType<typeof registry.profileOf>>>();
      for (const orgId of new Set(cut.rows.map((r) => r.org_id))) profiles.set(orgId, await registry.profileOf(ctx, orgId));
      const items = cut.rows.map((r, i) => {
        const profile = profiles.get(r.org_id);
        const ranges = r.operator_named === 1 ? [] : (profile?.ranges ?? []);
        return sanitize(full[i]!, r.operator_named === 1 ? profile?.name ?? null : null, ranges);
      });
      await audit.record(ctx, { action: 'shared-report:read', object: null, outcome: 'success', details: { count: items.length } });
      return { items, nextCursor: cut.nextCursor };
    },

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

    /** The attachment limits the server enforces (the dashboard checks a file before sending it). */
    attachmentLimits(): { maxBytes: number; mediaTypes: readonly string[] } {
      return { maxBytes: settings.attachmentMaxBytes, mediaTypes: settings.attachmentMediaTypes };
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

    /** Indicators from reports (for the analysis module and analysts). */
    async listIndicators(ctx: RequestContext, options: { sourceId?: string } & PageQuery): Promise<Page<{ id: string; kind: string; value: string; sourceType: string; sourceId: string; firstSeen: string; confidence: number }>> {
      policy.require(ctx, 'indicator:read');
      let q = k.selectFrom('indicators').selectAll().orderBy('first_seen', 'desc').orderBy('id', 'desc').limit(options.limit + 1);
      if (options.sourceId !== undefined) q = q.where('source_id', '=', options.sourceId);
      if (options.cursor !== undefined) q = q.where(afterKey(['first_seen', 'id'], decodeCursor(options.cursor, ['string', 'string']), 'desc'));
      const cut = cutPage((await q.execute()) as { id: string; kind: string; value: string; source_type: string; source_id: string; first_seen: string; confidence: number }[], options.limit, (r) => [r.first_seen, r.id]);
      await audit.record(ctx, { action: 'indicator:read', object: null, outcome: 'success', details: { count: cut.rows.length } });
      return { items: cut.rows.map((r) => ({ id: r.id, kind: r.kind, value: r.value, sourceType: r.source_type, sourceId: r.source_id, firstSeen: r.first_seen, confidence: Number(r.confidence) })), nextCursor: cut.nextCursor };
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

/** A report with the operator anonymous (unless named), contact details and the operator's own addresses removed. */
export function sanitize(r: IncidentReport, operatorName: string | null, ownRanges: readonly string[]) {
  const scrub = (s: string) => {
    let out = s.replace(/[\w.+-]+@[\w-]+(\.[\w-]+)+/g, '[email]').replace(/(\+?\d[\d -]{8,}\d)/g, '[phone]');
    for (const m of out.match(/(?:\d{1,3}\.){3}\d{1,3}|[0-9a-f]*:[0-9a-f:]+/gi) ?? []) if (ownRanges.some((c) => cidrContains(c, m))) out = out.split(m).join('[operator address]');
    return out;
  };
  return {
    id: r.id,
    operator: operatorName ?? `a designated operator (${r.sector})`,
    sector: r.sector,
    category: r.category,
    awareAt: r.awareAt,
    version: r.version,
    summary: scrub(r.items.summary),
    technicalDetails: scrub(r.items.technicalDetails),
    response: scrub(r.items.response),
    indicators: r.indicators.filter((i) => !ownRanges.some((c) => cidrContains(c, i.value))),
  };
}

/** The reporting service's interface. */
export type ReportingService = ReturnType<typeof createReportingService>;
