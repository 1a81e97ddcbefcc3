/** @module Reporting clocks: which deadlines an incident report starts under the Japanese act and, when the operator is subject to them, NIS2 and CIRCIA. */
import type { ReportingSettings } from './schema.js';

const HOUR = 3_600_000;

/** A deadline key: regime and stage. */
export type DeadlineKey = 'jp.initial' | 'jp.written' | 'nis2.early_warning' | 'nis2.notification' | 'nis2.final' | 'circia.report' | 'circia.ransom_payment';

/** Deadline labels, Japanese and English. */
export const DEADLINE_LABELS: Record<DeadlineKey, { ja: string; en: string }> = {
  'jp.initial': { ja: '速報（直ちに）', en: 'Initial report (promptly)' },
  'jp.written': { ja: '確報（認知から30日以内）', en: 'Written report (within 30 days of awareness)' },
  'nis2.early_warning': { ja: 'NIS2 早期警告（24時間）', en: 'NIS2 early warning (24 h)' },
  'nis2.notification': { ja: 'NIS2 インシデント通知（72時間）', en: 'NIS2 incident notification (72 h)' },
  'nis2.final': { ja: 'NIS2 最終報告（1か月）', en: 'NIS2 final report (1 month)' },
  'circia.report': { ja: 'CIRCIA 報告（72時間）', en: 'CIRCIA covered incident report (72 h)' },
  'circia.ransom_payment': { ja: 'CIRCIA 身代金支払報告（24時間）', en: 'CIRCIA ransom payment report (24 h)' },
};

/** One month later on the calendar (UTC), clamped to the month's last day. @see NIS2 Art. 23(4)(d) */
export function addMonth(ms: number): number {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + 1;
  const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return Date.UTC(y, m, Math.min(d.getUTCDate(), last), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
}

/** The deadlines an incident starts, with their due times. @see 同法 Art. 5; NIS2 Art. 23(4); CIRCIA 6 U.S.C. §681b(a)(1)-(2) */
export function deadlinesFor(awareMs: number, regimes: readonly string[], s: Pick<ReportingSettings, 'initialReportHours' | 'writtenReportDays'>): { key: DeadlineKey; dueMs: number }[] {
  const out: { key: DeadlineKey; dueMs: number }[] = [
    { key: 'jp.initial', dueMs: awareMs + s.initialReportHours * HOUR },
    { key: 'jp.written', dueMs: awareMs + s.writtenReportDays * 24 * HOUR },
  ];
  if (regimes.includes('nis2')) {
    out.push({ key: 'nis2.early_warning', dueMs: awareMs + 24 * HOUR }, { key: 'nis2.notification', dueMs: awareMs + 72 * HOUR });
    // The final report is due one month after the incident notification; until that is filed, after its due time.
    out.push({ key: 'nis2.final', dueMs: addMonth(awareMs + 72 * HOUR) });
  }
  if (regimes.includes('circia')) out.push({ key: 'circia.report', dueMs: awareMs + 72 * HOUR });
  return out;
}

/** The ransom-payment deadline, when the operator is subject to CIRCIA. @see 6 U.S.C. §681b(a)(2) */
export function ransomDeadline(paidMs: number): { key: DeadlineKey; dueMs: number } {
  return { key: 'circia.ransom_payment', dueMs: paidMs + 24 * HOUR };
}

/** When the operator is reminded of a deadline: `lead` hours before, but never earlier than halfway through its window. */
export function reminderAt(startMs: number, dueMs: number, leadHours: number): number {
  return Math.max(startMs + Math.floor((dueMs - startMs) / 2), dueMs - leadHours * HOUR);
}

/** The deadlines a filing of `stage` meets by itself. */
export function metByStage(stage: 'initial' | 'update' | 'written'): DeadlineKey[] {
  if (stage === 'initial') return ['jp.initial', 'nis2.early_warning', 'circia.report'];
  if (stage === 'written') return ['jp.written'];
  return [];
}
