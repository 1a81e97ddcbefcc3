/** @module Writes many incident reports straight into the tables (tests of paging and load): each report with a version, an open deadline and its two inbox deliveries, as filing would leave it. */
import { createHash } from 'node:crypto';
import type { AnyDb } from '#platform/db/index.js';
import { newId } from '#platform/ids/index.js';

/** How to seed: `count` reports of one org, `created_at` from `startMs` on, `stepMs` apart; `tie` reports share each time (to test sort ties). */
export interface BulkReports {
  orgId: string;
  sector: string;
  count: number;
  startMs: number;
  stepMs?: number;
  tie?: number;
  /** Leave each report's written-report clock open (default: met when filed). */
  openDeadlines?: boolean;
  /** Rows per INSERT statement (the statement's parameters stay far under both engines' limits). */
  batch?: number;
}

const ITEMS = JSON.stringify({
  category: 'malware', operatorOverview: 'Electricity transmission operator, 4,000 staff', summary: 'Beaconing from an engineering workstation to 203.0.113.45',
  affectedComputer: { description: 'Engineering workstation EWS-3' }, technicalDetails: 'Dropper contacted update.badcdn.example over 443/tcp', response: 'Isolated the workstation', other: '',
});

/** Inserts the reports in one transaction per batch; returns their ids, oldest first. */
export async function seedReportRows(db: AnyDb, opts: BulkReports): Promise<string[]> {
  const ids: string[] = [];
  const batch = opts.batch ?? 200;
  const step = opts.stepMs ?? 1000;
  const tie = Math.max(1, opts.tie ?? 1);
  const sha = createHash('sha256').update(ITEMS).digest('hex');
  for (let at = 0; at < opts.count; at += batch) {
    const n = Math.min(batch, opts.count - at);
    type Row = Record<string, string | number | null>;
    const reports: Row[] = [];
    const versions: Row[] = [];
    const deadlines: Row[] = [];
    const inbox: Row[] = [];
    for (let i = 0; i < n; i++) {
      const t = new Date(opts.startMs + Math.floor((at + i) / tie) * step).toISOString();
      const id = newId(opts.startMs + at + i);
      ids.push(id);
      reports.push({ id, org_id: opts.orgId, sector: opts.sector, aware_at: t, regimes: '["jp"]', status: 'initial', version: 1, category: 'malware', ransom_paid_at: null, share_with_council: 0, operator_named: 0, created_at: t, updated_at: t });
      versions.push({ report_id: id, version: 1, stage: 'initial', items: ITEMS, changed: '[]', filed_by: 'bulk', filed_at: t, sha256: sha });
      const due = new Date(Date.parse(t) + 30 * 86_400_000).toISOString();
      // Met on time, as most are: open past-due clocks would have the reporting scheduler escalate them all at start.
      deadlines.push({ id: newId(), report_id: id, key: 'jp.written', starts_at: t, due_at: due, remind_at: due, met_at: opts.openDeadlines === true ? null : t, reminded_at: null, escalated_at: null });
      for (const recipient of ['ministry', 'nco']) {
        inbox.push({ id: newId(), recipient, kind: 'filing', subject_type: 'incident_version', subject_id: `${id}#1`, report_id: id, org_id: opts.orgId, sector: opts.sector, note: null, created_at: t, acknowledged_at: null, acknowledged_by: null });
      }
    }
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('incident_reports').values(reports).execute();
      await trx.insertInto('incident_report_versions').values(versions).execute();
      await trx.insertInto('report_deadlines').values(deadlines).execute();
      await trx.insertInto('report_inbox').values(inbox).execute();
    });
  }
  return ids;
}
