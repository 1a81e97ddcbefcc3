/** @module Wires response to its neighbours: oversight authorizes, receives submissions and emergency actions, and halts measures; analysis's findings feed the effect chart. */
import type { Database } from '#platform/db/index.js';
import type { OversightService } from '#modules/oversight/index.js';
import type { EmergencyRecorder, FindingSource, FindingSnapshot, MeasureAuthorizer, MeasureSubmitter, MeasureSummary } from '#modules/response/index.js';

const evidenceOf = (m: MeasureSummary) => [...m.findings.map((id) => ({ type: 'finding' as const, id })), ...m.reports.map((id) => ({ type: 'report' as const, id }))].slice(0, 100);
const scopeOf = (m: MeasureSummary) => ({ measureId: m.measureId, measureKind: m.kind, agency: m.agency, summary: m.summary });

/** Oversight's measure authorization as response's MeasureAuthorizer. @see Police Duties Execution Act Art. 6-2 */
export function oversightMeasureAuthorizer(oversight: () => OversightService): MeasureAuthorizer {
  return {
    async authorizationFor(ctx, measureId, at) {
      const a = await oversight().measureAuthorization(ctx, measureId, at);
      if (!a.authorized) return undefined;
      return a.via === 'approval'
        ? { approvalId: a.approvalId, kind: 'prior', conditions: a.conditions, agency: a.agency }
        : { approvalId: a.emergencyActionId, kind: 'emergency', conditions: [], agency: a.agency };
    },
  };
}

/** Drafts and submits the commission request of a measure (the NCO director does both). @see DPA; Police Duties Execution Act Art. 6-2 */
export function oversightMeasureSubmitter(oversight: () => OversightService): MeasureSubmitter {
  return {
    async submit(ctx, m) {
      const draft = await oversight().draftRequest(ctx, { kind: 'measure', title: m.title.slice(0, 300), evidence: evidenceOf(m), measure: scopeOf(m) });
      const submitted = await oversight().submitRequest(ctx, draft.id);
      return { requestId: submitted.id };
    },
  };
}

/** Records a police action taken first; oversight opens its retroactive review. @see Police Duties Execution Act Art. 6-2 */
export function oversightEmergencyRecorder(oversight: () => OversightService): EmergencyRecorder {
  return {
    async actFirst(ctx, m, justification) {
      const e = await oversight().recordEmergencyAction(ctx, { kind: 'measure', title: m.title.slice(0, 300), justification, evidence: evidenceOf(m), measure: scopeOf(m) });
      return { emergencyActionId: e.id, reviewDeadline: e.reviewDeadline };
    },
  };
}

/**
 * Analysis's findings table as response's FindingSource (current state of each finding; analysis
 * keeps no history, so response samples it). Answers nothing while the table does not exist.
 * @see docs/response.md#effect
 */
export function dbFindingSource(db: Database): FindingSource {
  return {
    async snapshot(_ctx, ids) {
      if (ids.length === 0) return [];
      let rows: Record<string, unknown>[];
      try {
        rows = (await db.kysely.selectFrom('findings').select(['id', 'subject_kind', 'subject_value', 'score', 'host_count', 'level', 'last_seen']).where('id', 'in', [...ids]).execute()) as Record<string, unknown>[];
      } catch {
        return [];
      }
      return rows.map((r): FindingSnapshot => ({
        id: String(r['id']), subject: { kind: String(r['subject_kind']), value: String(r['subject_value']) }, score: Number(r['score']),
        hostCount: Number(r['host_count']), level: String(r['level']), lastSeen: String(r['last_seen']),
      }));
    },
  };
}
