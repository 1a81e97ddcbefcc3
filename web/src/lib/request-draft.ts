// Drafting a request to the commission in the browser: the form's fields, the checks oversight's DraftInputSchema
// and period rule make (so the analyst hears of a mistake before sending), and the API's field paths mapped back.
import type { MessageKey } from '../i18n/index.js';
import { jstInputToIso } from './time.js';
import { lines, parseSelector, SELECTORS, type SelectorKey } from './narrowing.js';

/** The kinds an analyst drafts here (measures reach the docket by being submitted on their own screen). */
export const DRAFT_KINDS = ['acquisition', 'reidentification'] as const;
export type DraftKind = (typeof DRAFT_KINDS)[number];
export const BASIS_KINDS = ['transit_approval', 'cross_border_approval'] as const;
export type BasisKind = (typeof BASIS_KINDS)[number];
/** Oversight's EVIDENCE_TYPES: what a request may refer to, by id. */
export const EVIDENCE_TYPES = ['finding', 'case', 'incident_report', 'report', 'flow_query', 'intel', 'measure', 'document'] as const;
/** The legal maximum of an acquisition period in months (configuration may only shorten it; the server then says so). @see DPA Art. 17, 22 */
export const MAX_MONTHS: Record<BasisKind, number> = { transit_approval: 6, cross_border_approval: 3 };

/** The drafting form as typed: times are datetime-local values read as JST, lists one a line. */
export interface DraftForm {
  kind: DraftKind;
  title: string;
  /** One reference a line, `type:id` (e.g. `finding:01J…`). */
  evidence: string;
  basisKind: BasisKind;
  selectors: Record<SelectorKey, string>;
  periodStart: string;
  periodEnd: string;
  retentionDays: string;
  purpose: string;
  pseudonyms: string;
  basisId: string;
}
export type DraftField = 'title' | 'evidence' | 'basisKind' | SelectorKey | 'periodStart' | 'periodEnd' | 'retentionDays' | 'purpose' | 'pseudonyms' | 'basisId';

/** What is wrong with one field: `code` picks the message (`newRequest.problem.<code>`), the rest fills it in. */
export interface FieldProblem {
  field: DraftField;
  code: 'required' | 'tooLong' | 'number' | 'prefix' | 'many' | 'time' | 'order' | 'period' | 'ended' | 'retention' | 'evidence' | 'server';
  value?: string;
  months?: number;
  /** The server's own message (code `server`). */
  message?: string;
}

/** The short name of each field, used in messages that name it. */
export const FIELD_NAME: Record<DraftField, MessageKey> = {
  title: 'newRequest.title', evidence: 'newRequest.evidence', basisKind: 'newRequest.basisKind',
  ...Object.fromEntries(SELECTORS.map((s) => [s.key, s.name])) as Record<SelectorKey, MessageKey>,
  periodStart: 'newRequest.periodStart', periodEnd: 'newRequest.periodEnd', retentionDays: 'newRequest.retentionDays',
  purpose: 'newRequest.purpose', pseudonyms: 'newRequest.pseudonyms', basisId: 'newRequest.basisId',
};

/** A time as a datetime-local value in JST (what the form's time fields hold). */
const jst = (ms: number): string => new Date(ms + 9 * 3_600_000).toISOString().slice(0, 16);

/** An empty form: an acquisition starting in an hour and lasting 30 days. */
export function emptyDraft(nowMs: number = Date.now()): DraftForm {
  const start = Math.ceil(nowMs / 3_600_000) * 3_600_000 + 3_600_000;
  return {
    kind: 'acquisition', title: '', evidence: '', basisKind: 'cross_border_approval',
    selectors: { foreignPrefixes: '', domesticPrefixes: '', exporters: '', ports: '', protocols: '' },
    periodStart: jst(start), periodEnd: jst(start + 30 * 86_400_000), retentionDays: '90', purpose: '', pseudonyms: '', basisId: '',
  };
}

/** A draft as the API gives it (`GET /api/v1/oversight/requests/:id`), enough to fill the form again. */
export interface StoredDraft { kind: string; title: string; evidence: { type: string; id: string }[]; scope: Record<string, unknown> }

/** The form holding a stored draft, to edit it: the inverse of `checkDraft`'s body (lists one a line, times in JST). */
export function formOfDraft(r: StoredDraft, nowMs: number = Date.now()): DraftForm {
  const form = emptyDraft(nowMs);
  const list = (v: unknown): string => (Array.isArray(v) ? v.map(String).join('\n') : '');
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const time = (v: unknown): string => (typeof v === 'string' && Number.isFinite(Date.parse(v)) ? jst(Date.parse(v)) : '');
  form.title = r.title;
  form.evidence = r.evidence.map((e) => `${e.type}:${e.id}`).join('\n');
  if (r.kind === 'reidentification') {
    return { ...form, kind: 'reidentification', pseudonyms: list(r.scope['pseudonyms']), basisId: str(r.scope['basisId']), purpose: str(r.scope['purpose']) };
  }
  const selectors = (r.scope['selectors'] ?? {}) as Record<string, unknown>;
  const basisKind = (BASIS_KINDS as readonly string[]).includes(str(r.scope['basisKind'])) ? (r.scope['basisKind'] as BasisKind) : form.basisKind;
  return {
    ...form, kind: 'acquisition', basisKind, purpose: str(r.scope['purpose']),
    selectors: Object.fromEntries(SELECTORS.map((f) => [f.key, list(selectors[f.key])])) as Record<SelectorKey, string>,
    periodStart: time(r.scope['periodStart']), periodEnd: time(r.scope['periodEnd']),
    retentionDays: typeof r.scope['retentionDays'] === 'number' ? String(r.scope['retentionDays']) : form.retentionDays,
  };
}

/**
 * `iso` plus `months` calendar months (UTC), clamped to the month's last day: oversight's `addMonths` (scope.ts)
 * again, since the dashboard's bundle never imports the server's modules; its cases are pinned in request-draft.test.ts.
 */
export function addMonths(iso: string, months: number): number {
  const d = new Date(iso);
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d.getTime();
}

function text(field: DraftField, value: string, max: number, out: FieldProblem[]): string {
  const v = value.trim();
  if (v === '') out.push({ field, code: 'required' });
  else if (v.length > max) out.push({ field, code: 'tooLong', value: String(max) });
  return v;
}

/** The request body for `POST /api/v1/oversight/requests`, or every problem the form has (each naming its field). */
export function checkDraft(form: DraftForm, nowMs: number = Date.now()): { body: Record<string, unknown> } | { problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const title = text('title', form.title, 300, problems);
  const purpose = text('purpose', form.purpose, 2000, problems);
  const evidence: { type: string; id: string }[] = [];
  const refs = lines(form.evidence);
  if (refs.length > 100) problems.push({ field: 'evidence', code: 'many', value: '100' });
  for (const ref of refs) {
    const colon = ref.indexOf(':');
    const type = ref.slice(0, colon).trim();
    const id = ref.slice(colon + 1).trim();
    if (colon < 0 || !(EVIDENCE_TYPES as readonly string[]).includes(type) || id === '' || id.length > 200) {
      problems.push({ field: 'evidence', code: 'evidence', value: ref });
      break;
    }
    evidence.push({ type, id });
  }
  const common = { title, evidence };
  if (form.kind === 'reidentification') {
    const pseudonyms = lines(form.pseudonyms);
    if (pseudonyms.length === 0) problems.push({ field: 'pseudonyms', code: 'required' });
    else if (pseudonyms.length > 100) problems.push({ field: 'pseudonyms', code: 'many', value: '100' });
    else if (pseudonyms.some((p) => p.length > 200)) problems.push({ field: 'pseudonyms', code: 'tooLong', value: '200' });
    const basisId = text('basisId', form.basisId, 100, problems);
    if (problems.length > 0) return { problems };
    return { body: { kind: 'reidentification', ...common, reidentification: { pseudonyms, basisId, purpose } } };
  }
  const selectors: Record<string, (string | number)[]> = {};
  for (const f of SELECTORS) {
    const parsed = parseSelector(f.key, form.selectors[f.key]);
    if ('bad' in parsed) problems.push({ field: f.key, code: parsed.bad === 'long' ? 'tooLong' : parsed.bad, value: parsed.bad === 'long' ? '200' : parsed.bad === 'many' ? String(f.most) : parsed.value });
    else if (parsed.values.length > 0) selectors[f.key] = parsed.values;
  }
  if (selectors['foreignPrefixes'] === undefined && !problems.some((p) => p.field === 'foreignPrefixes')) problems.push({ field: 'foreignPrefixes', code: 'required' });
  const periodStart = jstInputToIso(form.periodStart);
  const periodEnd = jstInputToIso(form.periodEnd);
  if (periodStart === undefined) problems.push({ field: 'periodStart', code: 'time' });
  if (periodEnd === undefined) problems.push({ field: 'periodEnd', code: 'time' });
  if (periodStart !== undefined && periodEnd !== undefined) {
    const months = MAX_MONTHS[form.basisKind];
    if (Date.parse(periodEnd) <= Date.parse(periodStart)) problems.push({ field: 'periodEnd', code: 'order' });
    else if (Date.parse(periodEnd) > addMonths(periodStart, months)) problems.push({ field: 'periodEnd', code: 'period', months });
    else if (Date.parse(periodEnd) <= nowMs) problems.push({ field: 'periodEnd', code: 'ended' });
  }
  const retention = form.retentionDays.trim();
  if (!/^\d{1,4}$/.test(retention) || Number(retention) < 1 || Number(retention) > 3650) problems.push({ field: 'retentionDays', code: 'retention', value: retention });
  if (problems.length > 0) return { problems };
  return {
    body: {
      kind: 'acquisition', ...common,
      acquisition: { basisKind: form.basisKind, selectors, periodStart, periodEnd, purpose, retentionDays: Number(retention) },
    },
  };
}

const DIRECT: readonly DraftField[] = ['title', 'basisKind', 'periodStart', 'periodEnd', 'retentionDays', 'purpose', 'pseudonyms', 'basisId'];

/** The form field an API error detail's path names (`acquisition.selectors.ports.0` → `ports`), or undefined for the form as a whole. */
export function fieldOfApiPath(path: string): DraftField | undefined {
  const parts = path.split('.').filter((p) => p !== 'acquisition' && p !== 'reidentification');
  const [head, next] = parts;
  if (head === 'evidence') return 'evidence';
  if (head === 'selectors') {
    // The rule "at least one foreign prefix" is reported on the selectors as a whole.
    return next !== undefined && SELECTORS.some((s) => s.key === next) ? (next as SelectorKey) : 'foreignPrefixes';
  }
  return head !== undefined && (DIRECT as readonly string[]).includes(head) ? (head as DraftField) : undefined;
}
