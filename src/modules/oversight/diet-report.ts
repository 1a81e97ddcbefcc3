/** @module The report to the Diet: figures computed only from audit entries up to a signed checkpoint, checked against its root, rendered as JSON and bilingual HTML. */
import { createHash } from 'node:crypto';
import { canonicalize, hashLeaf, type AuditEntry } from '#modules/audit/index.js';
import { newId } from '#platform/ids/index.js';
import { AppError } from '#platform/errors/index.js';
import { DIET_REPORT_ACTIONS, isReadAction } from './diet-actions.js';
import { reconcileDietReport, type DietReconciliation } from './diet-reconcile.js';

export { DIET_REPORT_ACTIONS, isReadAction };

const CATEGORIES = ['transit', 'inbound', 'outbound', 'domestic'] as const;
const KINDS = ['acquisition', 'measure', 'reidentification', 'emergency_review'] as const;

/** Every figure of the report; each can be recomputed by filtering audit entries as `method` says. */
export interface DietFigures {
  entries: number;
  requests: Record<string, { submitted: number; approved: number; denied: number; withdrawn: number; lapsed: number; narrowed: number }>;
  approvals: { revoked: Record<string, number>; expired: Record<string, number> };
  emergency: {
    byKindAndAgency: Record<string, { acted: number; ratified: number; haltedDenied: number; haltedDeadline: number }>;
    purges: number;
    purgedFlows: number;
    /** Emergency actions halted in the period (their data purged): flagged for the Diet. */
    flagged: string[];
  };
  measures: Record<string, { approved: number; denied: number; emergencyActed: number; emergencyRatified: number; emergencyHalted: number }>;
  flows: Record<string, { kept: number; dropped: number }>;
  reidentifications: { approvedRequests: number; deniedRequests: number; performed: number; refused: number };
  deletions: {
    retentionRuns: number; retentionFlows: number; retentionPartitions: number; emergencyPurges: number; emergencyPurgedFlows: number;
    /** Partitions purged with their basis (revocation, refused emergency basis) and the flows they held. */
    basisPurgePartitions: number; basisPurgeFlows: number;
  };
  /** The data lifecycle: deletion certificates by cause and what they removed; keys destroyed; audit texts redacted. */
  lifecycle: {
    certificates: Record<string, number>;
    findingsDeleted: number; findingsWithdrawn: number; recallNotices: number; keysDestroyed: number; textsRedacted: number;
  };
  leakInvestigations: { total: number; byOutcome: Record<string, number> };
  reads: { total: number; byAction: Record<string, number> };
}

/** The report as written to JSON. */
export interface DietReport {
  id: string;
  title: { ja: string; en: string };
  window: { from: string; to: string };
  generatedAt: string;
  checkpoint: { size: number; root: string; createdAt: string; note: string };
  /** Every entry with index < checkpoint.size was read and hashed; their Merkle root equals checkpoint.root. */
  verified: { entriesHashed: number; rootMatches: true };
  figures: DietFigures;
  figuresSha256: string;
  method: Record<string, string>;
  /** Which parts of the system feed the figures (a zero from an unconnected part means "no data", not "none happened"). */
  sources: Record<string, boolean>;
  /** How the checkpoint's entries add up to what the figures count, with every difference explained. */
  reconciliation: DietReconciliation;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown, dflt = 'unknown'): string => (typeof v === 'string' && v !== '' ? v : dflt);
function bump(rec: Record<string, number>, key: string, by = 1): void {
  rec[key] = (rec[key] ?? 0) + by;
}

/** Computes every figure from audit entries whose time lies in [from, to). Pure: the same entries give the same figures. */
export function computeDietFigures(all: Iterable<AuditEntry>, window: { from: string; to: string }): DietFigures {
  const A = DIET_REPORT_ACTIONS;
  const f: DietFigures = {
    entries: 0,
    requests: Object.fromEntries(KINDS.map((k) => [k, { submitted: 0, approved: 0, denied: 0, withdrawn: 0, lapsed: 0, narrowed: 0 }])),
    approvals: { revoked: {}, expired: {} },
    emergency: { byKindAndAgency: {}, purges: 0, purgedFlows: 0, flagged: [] },
    measures: {},
    flows: Object.fromEntries(CATEGORIES.map((c) => [c, { kept: 0, dropped: 0 }])),
    reidentifications: { approvedRequests: 0, deniedRequests: 0, performed: 0, refused: 0 },
    deletions: { retentionRuns: 0, retentionFlows: 0, retentionPartitions: 0, emergencyPurges: 0, emergencyPurgedFlows: 0, basisPurgePartitions: 0, basisPurgeFlows: 0 },
    lifecycle: { certificates: {}, findingsDeleted: 0, findingsWithdrawn: 0, recallNotices: 0, keysDestroyed: 0, textsRedacted: 0 },
    leakInvestigations: { total: 0, byOutcome: {} },
    reads: { total: 0, byAction: {} },
  };
  const emergencyRow = (key: string) => (f.emergency.byKindAndAgency[key] ??= { acted: 0, ratified: 0, haltedDenied: 0, haltedDeadline: 0 });
  const measureRow = (agency: string) => (f.measures[agency] ??= { approved: 0, denied: 0, emergencyActed: 0, emergencyRatified: 0, emergencyHalted: 0 });
  const reqRow = (kind: string) => (f.requests[kind] ??= { submitted: 0, approved: 0, denied: 0, withdrawn: 0, lapsed: 0, narrowed: 0 });
  // Emergency actions acted on in the log: their kind and agency, for ratifications and halts that follow.
  const emergencyKind = new Map<string, { kind: string; agency: string }>();
  for (const e of all) {
    if (e.action === A.emergencyAct && e.outcome === 'success' && e.object !== null) emergencyKind.set(e.object.id, { kind: str(e.details['kind']), agency: str(e.details['agency']) });
    if (e.time < window.from || e.time >= window.to) continue;
    f.entries += 1;
    const d = e.details;
    if (isReadAction(e.action)) {
      f.reads.total += 1;
      bump(f.reads.byAction, e.action);
    }
    if (e.action === A.leakInvestigation) {
      f.leakInvestigations.total += 1;
      bump(f.leakInvestigations.byOutcome, e.outcome);
    }
    if (e.action === A.reidentify) {
      if (e.outcome === 'success') f.reidentifications.performed += 1;
      else f.reidentifications.refused += 1;
    }
    if (e.outcome !== 'success') continue;
    switch (e.action) {
      case A.submit: reqRow(str(d['kind'])).submitted += 1; break;
      case A.withdraw: reqRow(str(d['kind'])).withdrawn += 1; break;
      case A.lapse: reqRow(str(d['kind'])).lapsed += 1; break;
      case A.decide: {
        const kind = str(d['kind']);
        const approved = d['result'] === 'approved';
        const row = reqRow(kind);
        if (approved) row.approved += 1;
        else row.denied += 1;
        if (d['narrowed'] === true) row.narrowed += 1;
        if (kind === 'measure') {
          const m = measureRow(str(d['agency']));
          if (approved) m.approved += 1;
          else m.denied += 1;
        }
        if (kind === 'reidentification') {
          if (approved) f.reidentifications.approvedRequests += 1;
          else f.reidentifications.deniedRequests += 1;
        }
        if (kind === 'emergency_review') {
          const em = emergencyKind.get(str(d['emergencyActionId'], ''));
          const key = `${em?.kind ?? 'unknown'}/${str(d['agency'], em?.agency ?? 'unknown')}`;
          if (approved) emergencyRow(key).ratified += 1;
          if (approved && em?.kind === 'measure') measureRow(str(d['agency'], em.agency)).emergencyRatified += 1;
        }
        break;
      }
      case A.revoke: bump(f.approvals.revoked, str(d['kind'])); break;
      case A.expire: bump(f.approvals.expired, str(d['kind'])); break;
      case A.emergencyAct: {
        const kind = str(d['kind']);
        const agency = str(d['agency']);
        reqRow('emergency_review').submitted += 1;
        emergencyRow(`${kind}/${agency}`).acted += 1;
        if (kind === 'measure') measureRow(agency).emergencyActed += 1;
        break;
      }
      case A.emergencyHalt: {
        const kind = str(d['kind']);
        const agency = str(d['agency']);
        const row = emergencyRow(`${kind}/${agency}`);
        if (d['reason'] === 'deadline') row.haltedDeadline += 1;
        else row.haltedDenied += 1;
        if (kind === 'measure') measureRow(agency).emergencyHalted += 1;
        if (e.object !== null) f.emergency.flagged.push(e.object.id);
        break;
      }
      case A.emergencyPurge:
        f.emergency.purges += 1;
        f.emergency.purgedFlows += num(d['flows']);
        f.deletions.emergencyPurges += 1;
        f.deletions.emergencyPurgedFlows += num(d['flows']);
        break;
      case A.retentionDelete:
        f.deletions.retentionRuns += 1;
        f.deletions.retentionFlows += num(d['flows']);
        f.deletions.retentionPartitions += num(d['partitions']);
        break;
      case A.purgeDelete:
        f.deletions.basisPurgePartitions += num(d['partitions']);
        f.deletions.basisPurgeFlows += num(d['flows']);
        break;
      case A.certificate:
        bump(f.lifecycle.certificates, str(d['cause']));
        f.lifecycle.findingsDeleted += num(d['findingsDeleted']);
        f.lifecycle.findingsWithdrawn += num(d['findingsWithdrawn']);
        f.lifecycle.recallNotices += num(d['recallNotices']);
        break;
      case A.keyDestroyed: f.lifecycle.keysDestroyed += 1; break;
      case A.textRedacted: f.lifecycle.textsRedacted += 1; break;
      case A.selectionCounters:
        for (const [key, value] of Object.entries(d)) {
          const m = /^(kept|dropped)_([a-z_]+)$/.exec(key);
          if (m === null) continue;
          const row = (f.flows[m[2]!] ??= { kept: 0, dropped: 0 });
          row[m[1] as 'kept' | 'dropped'] += num(value);
        }
        break;
      default: break;
    }
  }
  return f;
}

/** How each figure is recomputed from the entries (published in the report). */
export const DIET_REPORT_METHOD: Record<string, string> = {
  window: 'entries whose `time` lies in [from, to), among entries with index < checkpoint.size; only outcome "success" unless stated',
  'requests.*.submitted': 'action request:submit by details.kind; emergency reviews: action emergency:act',
  'requests.*.approved|denied|narrowed': 'action request:decide by details.kind and details.result (details.narrowed = true)',
  'requests.*.withdrawn': 'action request:withdraw by details.kind',
  'requests.*.lapsed': 'action request:lapse by details.kind (emergency review deadline passed)',
  'approvals.revoked|expired': 'actions approval:revoke, approval:expire by details.kind',
  'emergency.byKindAndAgency': 'emergency:act (acted), request:decide kind emergency_review approved (ratified), emergency:halt by details.reason (denied | deadline)',
  'emergency.flagged': 'object ids of emergency:halt entries',
  'emergency.purgedFlows': 'sum of details.flows of emergency:purge',
  measures: 'request:decide kind measure by details.agency and details.result; emergency measures from emergency:act / emergency:halt with details.kind measure',
  flows: 'sum of details.kept_<category> and details.dropped_<category> of selection:counters',
  reidentifications: 'request:decide kind reidentification (approved/denied requests); pseudonym:reidentify by outcome (performed = success, refused = otherwise)',
  deletions: 'retention:delete (count, sum of details.flows and details.partitions); emergency:purge; flows:purge (sum of details.partitions and details.flows)',
  lifecycle: 'lifecycle:certificate by details.cause (sums of details.findingsDeleted, findingsWithdrawn, recallNotices); keys:destroy; audit:redact',
  leakInvestigations: 'leak:trace by outcome (all outcomes)',
  reconciliation: 'checkpoint.size = entries before the period + in it + after it; in the period: entries a figure counts + entries of actions no figure counts (by action) + entries of success-only actions whose outcome was not success (by action)',
  reads: 'actions ending in :read, :read-all, :read-own, :query, :export or :download (all outcomes)',
};

const HASH_EMPTY = createHash('sha256').digest();

function hashNode(l: Uint8Array, r: Uint8Array): Buffer {
  return createHash('sha256').update(Buffer.from([1])).update(l).update(r).digest();
}

/** A streaming RFC 9162 tree head: push leaf hashes in order, read the root. @see RFC 9162 §2.1.1 */
export class StreamingRoot {
  private readonly stack: { hash: Uint8Array; size: number }[] = [];
  push(leaf: Uint8Array): void {
    let node = { hash: leaf, size: 1 };
    while (this.stack.length > 0 && this.stack[this.stack.length - 1]!.size === node.size) {
      const left = this.stack.pop()!;
      node = { hash: hashNode(left.hash, node.hash), size: left.size * 2 };
    }
    this.stack.push(node);
  }
  root(): Uint8Array {
    if (this.stack.length === 0) return HASH_EMPTY;
    let h = this.stack[this.stack.length - 1]!.hash;
    for (let i = this.stack.length - 2; i >= 0; i--) h = hashNode(this.stack[i]!.hash, h);
    return h;
  }
}

/** Inputs of one report. */
export interface DietReportInput {
  window: { from: string; to: string };
  checkpoint: { size: number; root: string; createdAt: string; note: string };
  generatedAt: string;
  readEntries: (from: number, to: number) => Promise<AuditEntry[]>;
  connected: Record<string, boolean>;
  pageSize?: number;
}

/** Reads entries [0, checkpoint.size), checks they hash to its root, and computes the figures. @see RFC 9162 §2.1.1 */
export async function buildDietReport(input: DietReportInput): Promise<DietReport> {
  const page = input.pageSize ?? 5000;
  const tree = new StreamingRoot();
  const entries: AuditEntry[] = [];
  for (let i = 0; i < input.checkpoint.size; i += page) {
    const batch = await input.readEntries(i, Math.min(i + page, input.checkpoint.size));
    for (const e of batch) {
      if (e.index !== entries.length) throw new AppError('AUDIT_VERIFY_FAILED', `The audit log skips entry ${entries.length}; run \`mamori audit verify\`. No report was made.`);
      tree.push(hashLeaf(new TextEncoder().encode(canonicalize(e))));
      entries.push(e);
    }
  }
  const root = Buffer.from(tree.root()).toString('base64');
  if (entries.length !== input.checkpoint.size || root !== input.checkpoint.root) {
    throw new AppError('AUDIT_VERIFY_FAILED', `The ${entries.length} audit entries read do not hash to the signed checkpoint of size ${input.checkpoint.size}; run \`mamori audit verify\`. No report was made.`);
  }
  const figures = computeDietFigures(entries, input.window);
  const reconciliation = reconcileDietReport(entries, input.window, figures);
  const figuresText = canonicalize(figures);
  return {
    id: newId(Date.parse(input.generatedAt)),
    title: { ja: 'サイバー通信情報監理委員会 国会報告', en: 'Cyber Communications Information Supervisory Commission — Report to the Diet' },
    window: input.window,
    generatedAt: input.generatedAt,
    checkpoint: input.checkpoint,
    verified: { entriesHashed: entries.length, rootMatches: true },
    figures,
    figuresSha256: createHash('sha256').update(figuresText).digest('hex'),
    method: DIET_REPORT_METHOD,
    sources: {
      oversight: true,
      selectionCounters: entries.some((e) => e.action === DIET_REPORT_ACTIONS.selectionCounters),
      selectionRetention: entries.some((e) => e.action === DIET_REPORT_ACTIONS.retentionDelete),
      selectionReidentification: entries.some((e) => e.action === DIET_REPORT_ACTIONS.reidentify),
      sharingLeakInvestigations: entries.some((e) => e.action === DIET_REPORT_ACTIONS.leakInvestigation),
      ...Object.fromEntries(Object.entries(input.connected).map(([k, v]) => [`hook:${k}`, v])),
    },
    reconciliation,
  };
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const L = {
  window: ['対象期間', 'Period'], generated: ['作成日時', 'Generated'], checkpoint: ['署名付きチェックポイント', 'Signed checkpoint'],
  requests: ['委員会への請求（種類・結果別）', 'Requests to the commission by kind and outcome'],
  kind: ['種類', 'Kind'], submitted: ['提出', 'Submitted'], approved: ['承認', 'Approved'], denied: ['不承認', 'Denied'], withdrawn: ['取下げ', 'Withdrawn'], lapsed: ['期限経過', 'Lapsed'], narrowed: ['範囲限定', 'Narrowed'],
  emergency: ['緊急時の措置と結果', 'Emergency actions and outcomes'], kindAgency: ['種類／機関', 'Kind / agency'], acted: ['実施', 'Acted'], ratified: ['事後承認', 'Ratified'], haltedDenied: ['不承認により停止', 'Halted (denied)'], haltedDeadline: ['期限経過により停止', 'Halted (deadline)'],
  flagged: ['停止・消去された緊急措置（要報告）', 'Emergency actions halted and purged (flagged)'],
  measures: ['措置（機関・結果別）', 'Measures by agency and outcome'], agency: ['機関', 'Agency'],
  flows: ['通信情報の保存・破棄（区分別）', 'Flows kept and dropped by category'], category: ['区分', 'Category'], kept: ['保存', 'Kept'], dropped: ['破棄', 'Dropped'],
  reid: ['仮名の再識別', 'Re-identifications'], deletions: ['消去', 'Deletions'], leaks: ['漏えい調査', 'Leak investigations'], reads: ['閲覧記録', 'Reads recorded'],
  count: ['件数', 'Count'], method: ['算出方法', 'How each figure is recomputed'], none: ['なし', 'none'],
  emergencyKinds: { acquisition: ['取得', 'acquisition'], measure: ['措置', 'measure'], reidentification: ['再識別', 're-identification'], emergency_review: ['緊急時の事後審査', 'emergency review'] } as Record<string, [string, string]>,
  categories: { transit: ['外外通信', 'transit'], inbound: ['外内通信', 'inbound'], outbound: ['内外通信', 'outbound'], domestic: ['内内通信（破棄・計数のみ）', 'domestic (dropped, counted only)'] } as Record<string, [string, string]>,
  sources: ['データ源', 'Sources'],
  lifecycle: ['データのライフサイクル（消去証明・鍵の破棄・記録文の抹消）', 'Data lifecycle (deletion certificates, keys destroyed, audit texts redacted)'],
  reconcile: ['チェックポイントとの照合', 'Reconciliation with the checkpoint'],
  action: ['操作', 'Action'], entries: ['件数', 'Entries'], counted: ['集計', 'Counted'], notCounted: ['集計対象外', 'Not counted'], notSuccessful: ['不成功', 'Not successful'],
};

/** The reconciliation: the checkpoint's entries split into before / in / after the period, the period's by column and action, and each difference in words. */
function reconciliationHtml(x: DietReconciliation): string {
  const sum = table([L.kind, L.entries] as [string, string][], [
    ['checkpoint / チェックポイント', x.checkpointSize], ['before the period / 期間前', x.beforePeriod], ['in the period / 期間内', x.inPeriod], ['after the period / 期間後', x.afterPeriod],
    ['counted / 集計', x.counted], ['not counted / 集計対象外', x.notCounted], ['not successful / 不成功', x.notSuccessful],
  ].map(([a, b]) => [esc(String(a)), b!]));
  const diffs = `<ol>${x.differences.map((d) => `<li>${esc(d.ja)}<br><span lang="en">${esc(d.en)}</span></li>`).join('')}</ol>`;
  const byAction = table([L.action, L.entries, L.counted, L.notCounted, L.notSuccessful] as [string, string][], Object.entries(x.byAction).sort((a, b) => a[0].localeCompare(b[0])).map(([a, v]) => [`<code>${esc(a)}</code>`, v.entries, v.counted, v.notCounted, v.notSuccessful]));
  return `<h2>${bi(L.reconcile as [string, string])}</h2>${sum}${diffs}${byAction}`;
}

const bi = (pair: readonly [string, string]): string => `${esc(pair[0])}<br><span lang="en">${esc(pair[1])}</span>`;

function table(head: readonly (readonly [string, string])[], rows: (string | number)[][]): string {
  const th = head.map((h) => `<th>${bi(h)}</th>`).join('');
  const body = rows.length === 0 ? `<tr><td colspan="${head.length}">${bi(L.none as [string, string])}</td></tr>` : rows.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${typeof c === 'string' ? c : String(c)}</th>` : `<td>${esc(String(c))}</td>`)).join('')}</tr>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
}

/** Renders the report as a self-contained HTML page with Japanese and English labels. */
export function renderDietReportHtml(r: Omit<DietReport, 'reconciliation'> & { reconciliation?: DietReconciliation | undefined }): string {
  const f = r.figures;
  const label = (map: Record<string, [string, string]>, k: string): string => (map[k] !== undefined ? bi(map[k]) : esc(k));
  const sections = [
    `<h2>${bi(L.requests as [string, string])}</h2>` + table([L.kind, L.submitted, L.approved, L.denied, L.withdrawn, L.lapsed, L.narrowed] as [string, string][], Object.entries(f.requests).map(([k, v]) => [label(L.emergencyKinds, k), v.submitted, v.approved, v.denied, v.withdrawn, v.lapsed, v.narrowed])),
    `<h2>${bi(L.emergency as [string, string])}</h2>` + table([L.kindAgency, L.acted, L.ratified, L.haltedDenied, L.haltedDeadline] as [string, string][], Object.entries(f.emergency.byKindAndAgency).map(([k, v]) => [esc(k), v.acted, v.ratified, v.haltedDenied, v.haltedDeadline]))
      + `<h3>${bi(L.flagged as [string, string])}</h3>` + (f.emergency.flagged.length === 0 ? `<p>${bi(L.none as [string, string])}</p>` : `<ul>${f.emergency.flagged.map((id) => `<li><code>${esc(id)}</code></li>`).join('')}</ul>`),
    `<h2>${bi(L.measures as [string, string])}</h2>` + table([L.agency, L.approved, L.denied, L.acted, L.ratified, L.haltedDenied] as [string, string][], Object.entries(f.measures).map(([k, v]) => [esc(k), v.approved, v.denied, v.emergencyActed, v.emergencyRatified, v.emergencyHalted])),
    `<h2>${bi(L.flows as [string, string])}</h2>` + table([L.category, L.kept, L.dropped] as [string, string][], Object.entries(f.flows).map(([k, v]) => [label(L.categories, k), v.kept, v.dropped])),
    `<h2>${bi(L.reid as [string, string])}</h2>` + table([L.kind, L.count] as [string, string][], [['approved requests / 承認された請求', f.reidentifications.approvedRequests], ['denied requests / 不承認の請求', f.reidentifications.deniedRequests], ['performed / 実施', f.reidentifications.performed], ['refused / 拒否', f.reidentifications.refused]].map(([a, b]) => [esc(String(a)), b!])),
    `<h2>${bi(L.deletions as [string, string])}</h2>` + table([L.kind, L.count] as [string, string][], [['retention runs / 保存期間経過による消去', f.deletions.retentionRuns], ['retention flows deleted / 消去件数', f.deletions.retentionFlows], ['retention partitions / 消去区画', f.deletions.retentionPartitions], ['emergency purges / 緊急措置の消去', f.deletions.emergencyPurges], ['emergency flows purged / 緊急措置の消去件数', f.deletions.emergencyPurgedFlows]].map(([a, b]) => [esc(String(a)), b!])),
    `<h2>${bi(L.leaks as [string, string])}</h2>` + table([L.kind, L.count] as [string, string][], [['total / 合計', f.leakInvestigations.total], ...Object.entries(f.leakInvestigations.byOutcome)].map(([a, b]) => [esc(String(a)), b!])),
    `<h2>${bi(L.reads as [string, string])}</h2>` + table([L.kind, L.count] as [string, string][], [['total / 合計', f.reads.total] as [string, number], ...Object.entries(f.reads.byAction)].map(([a, b]) => [esc(String(a)), b])),
    ...(r.reconciliation !== undefined ? [reconciliationHtml(r.reconciliation)] : []),
    `<h2>${bi(L.sources as [string, string])}</h2><ul>${Object.entries(r.sources).map(([k, v]) => `<li><code>${esc(k)}</code>: ${v ? 'yes / あり' : 'no data / データなし'}</li>`).join('')}</ul>`,
    `<h2>${bi(L.method as [string, string])}</h2><dl>${Object.entries(r.method).map(([k, v]) => `<dt><code>${esc(k)}</code></dt><dd>${esc(v)}</dd>`).join('')}</dl>`,
  ];
  return `<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>${esc(r.title.ja)} / ${esc(r.title.en)}</title>
<style>body{font-family:"Noto Sans JP","Hiragino Sans",sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #999;padding:.3em .6em;text-align:right}thead th,tbody th{text-align:left;background:#f3f3f3}span[lang=en]{color:#555;font-size:.85em}pre{white-space:pre-wrap;font-size:.8em;background:#f7f7f7;padding:.5em}</style>
</head><body>
<h1>${esc(r.title.ja)}<br><span lang="en">${esc(r.title.en)}</span></h1>
<p>${bi(L.window as [string, string])}: <time>${esc(r.window.from)}</time> – <time>${esc(r.window.to)}</time> (UTC)<br>
${bi(L.generated as [string, string])}: <time>${esc(r.generatedAt)}</time></p>
<h2>${bi(L.checkpoint as [string, string])}</h2>
<p>size ${r.checkpoint.size}, root <code>${esc(r.checkpoint.root)}</code>, ${esc(r.checkpoint.createdAt)}; ${r.verified.entriesHashed} entries re-hashed to this root. Figures SHA-256 <code>${r.figuresSha256}</code>.</p>
<pre>${esc(r.checkpoint.note)}</pre>
${sections.join('\n')}
</body></html>
`;
}
