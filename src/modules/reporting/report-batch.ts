/** @module Loads the parts of many incident reports at once (versions, deadlines, attachments, indicators, deliveries, receipts, escalations): a few bounded queries per chunk of reports, never one per report. */
import type { AnyDb } from '#platform/db/index.js';
import { chunked } from '#platform/paging/index.js';

/** Most ids in one `IN (…)` list: far under SQLite's bound-parameter limit (32,766) and PostgreSQL's (65,535). */
export const MAX_IN_LIST = 500;

/** A row of `incident_report_versions`. */
export interface VersionRow { report_id: string; version: number; stage: string; items: string; changed: string; filed_by: string; filed_at: string; sha256: string }
/** A row of `report_deadlines`. */
export interface DeadlineRow { id: string; report_id: string; key: string; starts_at: string; due_at: string; remind_at: string; met_at: string | null; reminded_at: string | null; escalated_at: string | null }
/** An attachment's metadata (never its bytes). */
export interface AttachmentMetaRow { id: string; report_id: string; filename: string; media_type: string; size: number; sha256: string; added_at: string }
/** A filing's delivery to one inbox. */
export interface DeliveryRow { id: string; recipient: string; subject_id: string; created_at: string; acknowledged_at: string | null }

/** The parts of a set of reports, each keyed by report id (deliveries and receipts by version subject `id#version`). */
export interface ReportParts {
  versions: Map<string, VersionRow[]>;
  deadlines: Map<string, DeadlineRow[]>;
  attachments: Map<string, AttachmentMetaRow[]>;
  indicators: Map<string, { kind: string; value: string }[]>;
  deliveries: Map<string, DeliveryRow[]>;
  receipts: Map<string, string>;
  /** Deadline id → when the sector's ministry escalated it by hand, per report. */
  escalations: Map<string, Map<string, string>>;
}

function group<R>(rows: readonly R[], keyOf: (r: R) => string): Map<string, R[]> {
  const out = new Map<string, R[]>();
  for (const r of rows) {
    const k = keyOf(r);
    const list = out.get(k);
    if (list === undefined) out.set(k, [r]);
    else list.push(r);
  }
  return out;
}

/** Runs `query` once per chunk of `ids` and concatenates the rows. */
async function inChunks<R>(ids: readonly string[], query: (chunk: string[]) => Promise<unknown[]>): Promise<R[]> {
  const out: R[] = [];
  for (const c of chunked(ids, MAX_IN_LIST)) out.push(...((await query(c)) as R[]));
  return out;
}

/** The deliveries (filing rows of the inboxes) of subjects, oldest first. */
export async function deliveriesOf(q: AnyDb, subjectIds: readonly string[]): Promise<DeliveryRow[]> {
  const rows = await inChunks<DeliveryRow>(subjectIds, (c) =>
    q.selectFrom('report_inbox').select(['id', 'recipient', 'subject_id', 'created_at', 'acknowledged_at']).where('kind', '=', 'filing').where('subject_id', 'in', c).execute());
  return rows.sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0));
}

/** Receipt ids by subject. */
export async function receiptsOf(q: AnyDb, subjectIds: readonly string[]): Promise<Map<string, string>> {
  const rows = await inChunks<{ id: string; subject_id: string }>(subjectIds, (c) => q.selectFrom('report_receipts').select(['id', 'subject_id']).where('subject_id', 'in', c).execute());
  return new Map(rows.map((r) => [r.subject_id, r.id]));
}

/** Open (unmet) deadlines of reports: what a list's `overdue` column needs. */
export async function openDeadlinesOf(q: AnyDb, reportIds: readonly string[]): Promise<DeadlineRow[]> {
  return inChunks<DeadlineRow>(reportIds, (c) => q.selectFrom('report_deadlines').selectAll().where('report_id', 'in', c).where('met_at', 'is', null).execute());
}

/** Every part of the reports `reportIds` in a fixed number of queries per {@link MAX_IN_LIST} reports. */
export async function loadReportParts(q: AnyDb, reportIds: readonly string[], escalationSubjectType: string): Promise<ReportParts> {
  const versions = await inChunks<VersionRow>(reportIds, (c) => q.selectFrom('incident_report_versions').selectAll().where('report_id', 'in', c).orderBy('report_id').orderBy('version').execute());
  const deadlines = await inChunks<DeadlineRow>(reportIds, (c) => q.selectFrom('report_deadlines').selectAll().where('report_id', 'in', c).orderBy('due_at').execute());
  const attachments = await inChunks<AttachmentMetaRow>(reportIds, (c) =>
    q.selectFrom('report_attachments').select(['id', 'report_id', 'filename', 'media_type', 'size', 'sha256', 'added_at']).where('report_id', 'in', c).orderBy('added_at').execute());
  const indicators = await inChunks<{ source_id: string; kind: string; value: string }>(reportIds, (c) =>
    q.selectFrom('indicators').select(['source_id', 'kind', 'value']).where('source_type', '=', 'incident_report').where('source_id', 'in', c).orderBy('kind').orderBy('value').execute());
  const escalations = await inChunks<{ report_id: string; subject_id: string; created_at: string }>(reportIds, (c) =>
    q.selectFrom('report_inbox').select(['report_id', 'subject_id', 'created_at']).where('report_id', 'in', c).where('subject_type', '=', escalationSubjectType).where('recipient', '=', 'nco').execute());
  const vids = versions.map((v) => `${v.report_id}#${v.version}`);
  const escalationsByReport = new Map<string, Map<string, string>>();
  for (const [reportId, rows] of group(escalations, (r) => r.report_id)) escalationsByReport.set(reportId, new Map(rows.map((r) => [r.subject_id, r.created_at])));
  return {
    versions: group(versions, (v) => v.report_id),
    deadlines: group(deadlines, (d) => d.report_id),
    attachments: group(attachments, (a) => a.report_id),
    indicators: new Map([...group(indicators, (i) => i.source_id)].map(([id, rows]) => [id, rows.map((r) => ({ kind: r.kind, value: r.value }))])),
    deliveries: group(await deliveriesOf(q, vids), (d) => d.subject_id),
    receipts: await receiptsOf(q, vids),
    escalations: escalationsByReport,
  };
}
