/** @module The Diet report's reconciliation: how the named checkpoint's entries add up to what the figures count, each difference explained in Japanese and English. */
import type { AuditEntry } from '#modules/audit/index.js';
import { AppError } from '#platform/errors/index.js';
import { DIET_REPORT_ACTIONS, isReadAction } from './diet-actions.js';

/** One difference between the checkpoint's size and what the figures count, with its cause in both languages. */
export interface DietDifference {
  key: 'beforePeriod' | 'afterPeriod' | 'notCounted' | 'notSuccessful' | 'afterCheckpoint' | 'sums';
  /** How many entries it accounts for (null: an explanation that removes no entry from the count). */
  entries: number | null;
  ja: string;
  en: string;
}

/**
 * checkpointSize = beforePeriod + inPeriod + afterPeriod, and inPeriod = counted + notCounted + notSuccessful:
 * every entry of the checkpoint is in exactly one place, so the report reconciles exactly with the checkpoint.
 */
export interface DietReconciliation {
  checkpointSize: number;
  beforePeriod: number;
  inPeriod: number;
  afterPeriod: number;
  /** Entries in the period that some figure counts. */
  counted: number;
  /** Entries in the period of actions no figure counts (sign-ins, drafts, votes, configuration…). */
  notCounted: number;
  /** Entries in the period of actions counted only on success, whose outcome was denied or failure. */
  notSuccessful: number;
  /** The entries in the period by action: how many, and how many each column above holds. */
  byAction: Record<string, { entries: number; counted: number; notCounted: number; notSuccessful: number }>;
  differences: DietDifference[];
}

/** Actions counted whatever their outcome (besides reads): attempts are what the Diet is told about. */
const ALL_OUTCOMES = new Set<string>([DIET_REPORT_ACTIONS.reidentify, DIET_REPORT_ACTIONS.leakInvestigation]);
/** Actions a figure counts only when they succeeded (computeDietFigures' switch). */
const SUCCESS_ONLY = new Set<string>(Object.values(DIET_REPORT_ACTIONS).filter((a) => !ALL_OUTCOMES.has(a)));

/** Where one entry of the period goes: counted by a figure, of an action no figure counts, or an unsuccessful attempt. */
export function dietColumn(e: Pick<AuditEntry, 'action' | 'outcome'>): 'counted' | 'notCounted' | 'notSuccessful' {
  if (isReadAction(e.action) || ALL_OUTCOMES.has(e.action)) return 'counted';
  if (SUCCESS_ONLY.has(e.action)) return e.outcome === 'success' ? 'counted' : 'notSuccessful';
  return 'notCounted';
}

const top = (byAction: DietReconciliation['byAction'], col: 'notCounted' | 'notSuccessful'): string =>
  Object.entries(byAction).filter(([, v]) => v[col] > 0).sort((a, b) => b[1][col] - a[1][col] || a[0].localeCompare(b[0]))
    .slice(0, 8).map(([a, v]) => `${a} ${v[col]}`).join(', ');

/**
 * Reconciles the entries [0, checkpoint.size) with the figures computed from the period's part of them.
 * Throws when the columns do not add up (a defect in the report's code, never silently published).
 */
export function reconcileDietReport(entries: readonly AuditEntry[], window: { from: string; to: string }, figures: { entries: number }): DietReconciliation {
  const r: DietReconciliation = { checkpointSize: entries.length, beforePeriod: 0, inPeriod: 0, afterPeriod: 0, counted: 0, notCounted: 0, notSuccessful: 0, byAction: {}, differences: [] };
  for (const e of entries) {
    if (e.time < window.from) { r.beforePeriod += 1; continue; }
    if (e.time >= window.to) { r.afterPeriod += 1; continue; }
    r.inPeriod += 1;
    const col = dietColumn(e);
    r[col] += 1;
    const row = (r.byAction[e.action] ??= { entries: 0, counted: 0, notCounted: 0, notSuccessful: 0 });
    row.entries += 1;
    row[col] += 1;
  }
  if (r.beforePeriod + r.inPeriod + r.afterPeriod !== r.checkpointSize || r.counted + r.notCounted + r.notSuccessful !== r.inPeriod || figures.entries !== r.inPeriod) {
    throw new AppError('INTERNAL', 'The Diet report\'s figures do not reconcile with its checkpoint; no report was made. This is a defect: report it with the period.');
  }
  const d = r.differences;
  if (r.beforePeriod > 0) d.push({ key: 'beforePeriod', entries: r.beforePeriod, ja: `チェックポイントの ${r.beforePeriod} 件は対象期間の開始前に記録されたもので、本報告の集計に含まれない。`, en: `${r.beforePeriod} entries of the checkpoint were written before the period began; they are not counted in this report.` });
  if (r.afterPeriod > 0) d.push({ key: 'afterPeriod', entries: r.afterPeriod, ja: `チェックポイントの ${r.afterPeriod} 件は対象期間の終了時刻以後の日時で記録されたもので、本報告の集計に含まれない。`, en: `${r.afterPeriod} entries of the checkpoint are dated at or after the period's end; they are not counted in this report.` });
  if (r.notCounted > 0) d.push({ key: 'notCounted', entries: r.notCounted, ja: `対象期間内の ${r.notCounted} 件は、どの数値も数えない操作の記録である（ログイン、下書き、投票、設定など。多い順に: ${top(r.byAction, 'notCounted')}）。操作ごとの内訳は byAction にある。`, en: `${r.notCounted} entries in the period record actions no figure counts (sign-ins, drafts, votes, configuration…; most frequent: ${top(r.byAction, 'notCounted')}); byAction lists them all.` });
  if (r.notSuccessful > 0) d.push({ key: 'notSuccessful', entries: r.notSuccessful, ja: `対象期間内の ${r.notSuccessful} 件は、成功した場合のみ数える操作の拒否・失敗の記録である（${top(r.byAction, 'notSuccessful')}）。`, en: `${r.notSuccessful} entries in the period record denied or failed attempts of actions counted only when they succeed (${top(r.byAction, 'notSuccessful')}).` });
  d.push({ key: 'sums', entries: null, ja: `残る ${r.counted} 件が数値の根拠である。通信件数・消去件数などは件数ではなく記録内の値の合計であり、読み取りは結果を問わず数える（算出方法を参照）。`, en: `The remaining ${r.counted} entries are what the figures count. Flows and deletions are sums of values inside those entries, not entry counts; reads are counted whatever their outcome (see the method).` });
  d.push({ key: 'afterCheckpoint', entries: null, ja: 'この報告の作成自体の記録（diet-report:create）と、チェックポイント以後の記録は本報告に含まれず、次の報告のチェックポイントに含まれる。', en: 'The entry recording this report (diet-report:create) and anything written after the checkpoint are not in this report; the next report\'s checkpoint includes them.' });
  return r;
}
