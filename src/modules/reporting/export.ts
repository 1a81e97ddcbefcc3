/** @module Renders incident reports for export, whole or streamed chunk by chunk: JSON, CSV (one line per report) and a printable bilingual HTML form. */
import { csvLine } from '#modules/registry/index.js';
import { INCIDENT_CATEGORIES, REPORT_ITEM_LABELS } from './schema.js';
import type { IncidentReport } from './service.js';

/** Export formats. */
export const EXPORT_FORMATS = ['json', 'csv', 'html'] as const;
/** One export format. */
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
const jst = (iso: string) => new Date(Date.parse(iso) + 9 * 3_600_000).toISOString().replace('T', ' ').slice(0, 16) + ' JST';

/** Renders reports in `format` at once (small sets, tests); large exports stream with {@link renderExport}. @see 同法施行規則 (報告様式) */
export function renderReports(reports: readonly IncidentReport[], format: ExportFormat, generatedAt: string): string {
  return exportHead(format, generatedAt) + exportChunk(reports, format, true) + exportTail(format);
}

/**
 * Renders an export as it is read: the head, then each chunk of reports as it arrives, then the tail, so
 * memory holds one chunk at a time whatever the number of reports. @see 同法施行規則 (報告様式)
 */
export async function* renderExport(chunks: AsyncIterable<readonly IncidentReport[]>, format: ExportFormat, generatedAt: string): AsyncGenerator<string> {
  yield exportHead(format, generatedAt);
  let first = true;
  for await (const reports of chunks) {
    if (reports.length === 0) continue;
    yield exportChunk(reports, format, first);
    first = false;
  }
  yield exportTail(format);
}

const CSV_HEAD = ['id', 'org_id', 'sector', 'category', 'status', 'version', 'aware_at', 'created_at', 'updated_at', 'overdue', 'summary', 'affected_computer', 'response', 'latest_sha256'];

function exportHead(format: ExportFormat, generatedAt: string): string {
  if (format === 'json') return `{"generatedAt":${JSON.stringify(generatedAt)},"reports":[`;
  if (format === 'csv') return `${csvLine(CSV_HEAD)}\n`;
  return `<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>mamori incident reports</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;width:100%}th,td{border:1px solid #444;padding:.4em;vertical-align:top;text-align:left}th{width:28%;background:#f2f2f2}small{color:#555}.report{page-break-after:always}.meta{font-size:.9em}@media print{body{margin:0}}</style>
</head><body>
<p>出力日時 Generated ${esc(jst(generatedAt))}</p>
`;
}

function exportTail(format: ExportFormat): string {
  if (format === 'json') return '\n]}\n';
  if (format === 'csv') return '';
  return '</body></html>\n';
}

/** One chunk: JSON array elements one per line (a comma before all but the first chunk), CSV lines, or HTML sections. */
function exportChunk(reports: readonly IncidentReport[], format: ExportFormat, first: boolean): string {
  if (reports.length === 0) return '';
  // Compact, one report per line: indenting 100,000 reports cost as much as reading them.
  if (format === 'json') return `${first ? '' : ','}\n${reports.map((r) => JSON.stringify(r)).join(',\n')}`;
  if (format === 'csv') {
    return reports.map((r) => `${csvLine([r.id, r.orgId, r.sector, r.category, r.status, r.version, r.awareAt, r.createdAt, r.updatedAt, r.overdue.join(';'), r.items.summary, r.items.affectedComputer.description, r.items.response, r.versions[r.versions.length - 1]?.sha256])}\n`).join('');
  }
  const L = REPORT_ITEM_LABELS;
  const row = (label: { ja: string; en: string }, value: string) => `<tr><th>${esc(label.ja)}<br><small>${esc(label.en)}</small></th><td>${esc(value).replace(/\n/g, '<br>')}</td></tr>`;
  return reports.map((r) => {
    const cat = INCIDENT_CATEGORIES[r.items.category as keyof typeof INCIDENT_CATEGORIES];
    const last = r.versions[r.versions.length - 1];
    return `<section class="report">
<h1>特定重要電子計算機に係る事象の報告 <small>Incident report</small></h1>
<p class="meta">報告番号 Report ${esc(r.id)} — 版 Version ${r.version} (${esc(r.status)}) — 認知日時 Aware ${esc(jst(r.awareAt))} — SHA-256 ${esc(last?.sha256 ?? '')}</p>
<table>
${row(L.category, `${cat?.ja ?? r.items.category} / ${cat?.en ?? ''}`)}
${row(L.operatorOverview, r.items.operatorOverview)}
${row(L.summary, r.items.summary)}
${row(L.affectedComputer, r.items.affectedComputer.description)}
${row(L.technicalDetails, r.items.technicalDetails)}
${row(L.response, r.items.response)}
${row(L.other, r.items.other)}
</table>
<h2>期限 <small>Deadlines</small></h2>
<table>${r.deadlines.map((d) => `<tr><th>${esc(d.label.ja)}<br><small>${esc(d.label.en)}</small></th><td>${esc(jst(d.dueAt))} — ${esc(d.state)}${d.metAt !== null ? ` (${esc(jst(d.metAt))})` : ''}</td></tr>`).join('')}</table>
<h2>添付 <small>Attachments</small></h2>
<ul>${r.attachments.map((a) => `<li>${esc(a.filename)} (${esc(a.mediaType)}, ${a.size} bytes, SHA-256 ${esc(a.sha256)})</li>`).join('') || '<li>なし / none</li>'}</ul>
</section>
`;
  }).join('');
}
