// Analyst: findings with their evidence (interval histogram for a beacon, rate against baseline for a DDoS),
// proposing a measure from a finding, and the selection counters (kept versus dropped).
import { useMemo, useState, type FormEvent } from 'react';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { api } from '../lib/api.js';
import { Link, useRouter } from '../lib/router.js';
import { hasRole, useActor } from '../lib/session.js';
import { useApi } from '../lib/use-api.js';
import { Async, Badge, Facts, FormMessage, PageTitle, Time } from '../components/ui.js';
import { useSubmit } from '../lib/use-submit.js';
import { BarChart, RateChart } from '../components/charts.js';
import { protocolName, useBasisNames } from '../lib/names.js';
import { formatJst } from '../lib/time.js';
import { EntityLink } from '../components/entity-link.js';
import { OpenCaseForm } from './cases.js';
import { DataTable, type Column } from '../components/data-table.js';
import { useCursorList } from '../lib/use-cursor-list.js';
import { checkMeasureForm, type MeasureProblem } from '../lib/measure-form.js';
import { useFindingColumns } from './entity.js';
import { DraftIntelForm } from './drafts.js';

type FindingState = (typeof FINDING_STATES)[number];
type DismissReason = (typeof DISMISS_REASONS)[number];
interface FindingTriage { state: FindingState; reason: DismissReason | null; note: string | null; by: string | null; byName: string | null; at: string | null; caseIds: string[] }
interface TriageEvent { id: string; op: 'dismiss' | 'reopen'; reason: DismissReason | null; note: string | null; by: string; byName: string | null; at: string }

interface Finding {
  triage: FindingTriage;
  triageHistory?: TriageEvent[];
  id: string;
  kind: string;
  subject: { kind: string; value: string };
  level: 'info' | 'suspect' | 'alert';
  score: number;
  scoreDetail: { method?: string; components?: Record<string, number> } | null;
  evidence: Record<string, unknown>;
  firstSeen: number;
  lastSeen: number;
  hostCount: number;
  bases: string[];
  revision: number;
}

const LEVEL_TONE = { info: 'info', suspect: 'warn', alert: 'bad' } as const;

const FINDING_KINDS = ['beacon', 'botnet-fanin', 'scan-horizontal', 'scan-vertical', 'ddos-volumetric', 'ddos-reflection', 'known-indicator'] as const;
const FINDING_STATES = ['new', 'in-case', 'dismissed'] as const;
const DISMISS_REASONS = ['false_positive', 'benign', 'duplicate', 'out_of_scope', 'other'] as const;
const STATE_TONE = { new: 'info', 'in-case': 'ok', dismissed: 'muted' } as const;
/** Time ranges of the queue (last evidence within), in hours. */
const RANGES = { '1h': 1, '24h': 24, '7d': 168, '30d': 720 } as const;
const PAGE = 200;

/** A finding's triage state in words, with the dismissal's reason. */
export function TriageBadge({ triage }: { triage: FindingTriage }) {
  const { t } = useI18n();
  return (
    <Badge tone={STATE_TONE[triage.state]}>
      {triage.state === 'dismissed' && triage.reason !== null
        ? t('triage.withReason', { state: t('triage.state.dismissed'), reason: t(`triage.reason.${triage.reason}`) })
        : t(`triage.state.${triage.state}`)}
    </Badge>
  );
}

/** The findings query for the queue's filters (kept in the URL): level, kind, triage state and time range go to the server. */
export function findingsPath(search: URLSearchParams, nowMs: number): string {
  const p = new URLSearchParams();
  for (const k of ['level', 'kind', 'state'] as const) {
    const v = search.get(k);
    if (v !== null && v !== '') p.set(k, v);
  }
  const hours = RANGES[(search.get('range') ?? '') as keyof typeof RANGES];
  if (hours !== undefined) p.set('since', new Date(nowMs - hours * 3_600_000).toISOString());
  const q = p.toString();
  return `/api/v1/findings${q === '' ? '' : `?${q}`}`;
}

/** The analyst's queue: findings filtered on the server by level, kind, triage state and time (kept in the URL), sorted and paged. */
export function FindingList() {
  const { t } = useI18n();
  const { path, search, navigate } = useRouter();
  // The range is measured from when the filter was set (not every render), so the query stays the same while paging.
  const [now, setNow] = useState(() => Date.now());
  const list = useCursorList<Finding>(findingsPath(search, now), PAGE);
  const base = useFindingColumns();
  const columns = useMemo<Column<Finding>[]>(() => [...base, {
    id: 'state', header: t('triage.state'), value: (f: Finding) => t(`triage.state.${f.triage.state}`), cell: (f: Finding) => <TriageBadge triage={f.triage} />,
  }], [base, t]);
  const filter = (k: string) => search.get(k) ?? '';
  const setFilter = (k: 'level' | 'kind' | 'state' | 'range', v: string) => {
    const p = new URLSearchParams(search);
    if (v === '') p.delete(k); else p.set(k, v);
    p.delete('page');
    setNow(Date.now());
    navigate(`${path}${p.size > 0 ? `?${p.toString()}` : ''}`, { replace: true });
  };
  const select = (k: 'level' | 'kind' | 'state' | 'range', label: MessageKey, options: readonly string[], name: (o: string) => string) => (
    <span><label htmlFor={`f-${k}`}>{t(label)}</label>
      <select id={`f-${k}`} value={filter(k)} onChange={(e) => setFilter(k, e.target.value)}>
        <option value="">{t('findings.all')}</option>
        {options.map((o) => <option key={o} value={o}>{name(o)}</option>)}
      </select></span>
  );
  const toolbar = (
    <>
      {select('state', 'triage.state', FINDING_STATES, (o) => t(`triage.state.${o as FindingState}`))}
      {select('level', 'findings.level', ['alert', 'suspect', 'info'], (o) => t(`level.${o}` as MessageKey))}
      {select('kind', 'findings.kind', FINDING_KINDS, (o) => t(`findingKind.${o}` as MessageKey))}
      {select('range', 'triage.range', Object.keys(RANGES), (o) => t(`triage.range.${o as keyof typeof RANGES}`))}
    </>
  );
  return (
    <>
      <PageTitle>{t('findings.title')}</PageTitle>
      <Async value={list.state}>
        {(d) => (
          <DataTable rows={d.items} columns={columns} rowId={(f) => f.id} caption={t('findings.title')} defaultSort={[{ id: 'lastSeen', desc: true }]}
            toolbar={toolbar} more={list} empty={['level', 'kind', 'state', 'range'].some((k) => search.has(k)) ? t('triage.noneMatch') : t('findings.empty')} />
        )}
      </Async>
    </>
  );
}

/** An evidence value in words: yes/no, a protocol's name, a window in JST, lists joined. */
function evidenceValue(key: string, v: unknown, t: ReturnType<typeof useI18n>['t'], code: ReturnType<typeof useI18n>['code']): string {
  if (typeof v === 'boolean') return t(v ? 'evidence.yes' : 'evidence.no');
  if (key === 'proto' && typeof v === 'number') return protocolName(v);
  if (key === 'proto' && typeof v === 'string') return v.toUpperCase();
  if (key === 'sourceType' && typeof v === 'string') return code('indicatorSource.', v);
  if (key === 'indicatorKind' && typeof v === 'string') return code('indicatorKind.', v);
  // Words a detector wrote (how a baseline was taken) have their own entries; anything else is data.
  if (typeof v === 'string') return code('evidenceValue.', v);
  if (key === 'window' && typeof v === 'object' && v !== null) {
    const w = v as { from?: string; to?: string };
    return `${formatJst(w.from)} 〜 ${formatJst(w.to)}`;
  }
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'number' ? x.toLocaleString('ja-JP') : String(x))).join(', ');
  if (typeof v === 'number') return v.toLocaleString('ja-JP', { maximumFractionDigits: 3 });
  return String(v);
}

/** The finding's evidence as a chart when the detector gave one, and the remaining values as facts. */
function Evidence({ f }: { f: Finding }) {
  const { t, code } = useI18n();
  const e = f.evidence;
  const hist = e['intervalHistogram'] as { bucketsUpperS: (number | null)[]; counts: number[] } | undefined;
  const series = e['series'] as { t: string; pps: number; bps: number; baselinePps?: number }[] | undefined;
  // The indicator's id is not shown: its kind and value name it.
  const plain = Object.entries(e).filter(([k, v]) => k !== 'intervalHistogram' && k !== 'series' && k !== 'indicatorId' && (k === 'window' || Array.isArray(v) || typeof v !== 'object' || v === null));
  const components = f.scoreDetail?.components;
  return (
    <section aria-labelledby="evidence"><h2 id="evidence">{t('findings.evidence')}</h2>
      {hist !== undefined && <BarChart title={t('findings.histogram')} labels={hist.bucketsUpperS.map((u) => (u === null ? '∞' : `≤${u}`))} values={hist.counts} xLabel={t('findings.histogramX')} yLabel={t('findings.histogramY')} />}
      {series !== undefined && series.length > 0 && <RateChart title={t('findings.rate')} points={series.map((p) => ({ t: p.t, value: p.pps, baseline: p.baselinePps ?? Number(e['baselinePps'] ?? 0) }))} />}
      {hist === undefined && series === undefined && <p className="state empty">{t('findings.noChart')}</p>}
      {plain.length > 0 && <Facts rows={plain.map(([k, v]) => [code('evidence.', k), evidenceValue(k, v, t, code)])} />}
      {components !== undefined && (
        <BarChart title={t('findings.scoreComponents', { method: code('score.method.', f.kind) })} labels={Object.keys(components).map((k) => code('score.', k))} values={Object.values(components).map((v) => Math.round(v * 100) / 100)} />
      )}
    </section>
  );
}

const MEASURE_KINDS = ['dns_sinkhole', 'block', 'takedown_notice', 'access_neutralize'] as const;
type MeasureKind = (typeof MEASURE_KINDS)[number];
// The response API's SDF grounds (src/modules/response/schema.ts): a grave target and the attacker assessment.
const AGENCIES = ['police', 'sdf'] as const;
const GRAVE_TARGETS = ['specified_important_computer', 'government_critical_system', 'sdf_or_us_forces_system'] as const;
const ASSESSMENTS = ['highly_organized', 'state_backed', 'criminal', 'unknown'] as const;
/** Assessments that meet the SDF condition; with another the SDF may not execute (policy sdf-needs-grave-conditions). */
const SDF_ASSESSMENTS: readonly string[] = ['highly_organized', 'state_backed'];
const list = (text: string) => text.split(/[\s,]+/).filter((x) => x !== '');
const looksLikeAddress = (v: string) => /^[0-9.]+(\/\d+)?$/.test(v) || (v.includes(':') && /^[0-9a-f:]+(\/\d+)?$/i.test(v));

/** The measure form's fields in their order on the page: the first with a problem takes focus. */
const MEASURE_FIELD_ORDER = ['title', 'domains', 'prefixes', 'tdAddresses', 'tdDomains', 'urls', 'hostName', 'asn', 'abuse', 'address', 'ports', 'description',
  'summary', 'expectedEffect', 'graveRef', 'sdfReasons', 'targetCountry'] as const;

/** The target of each kind of measure, as the response API takes it, from the form's text fields. */
function targetOf(kind: MeasureKind, f: Record<string, string>): Record<string, unknown> {
  switch (kind) {
    case 'dns_sinkhole': return { domains: list(f['domains'] ?? '') };
    case 'block': return { prefixes: list(f['prefixes'] ?? '') };
    case 'takedown_notice': return {
      addresses: list(f['tdAddresses'] ?? ''), domains: list(f['tdDomains'] ?? ''), urls: list(f['urls'] ?? ''),
      hostingNetwork: { name: f['hostName'] ?? '', ...(f['asn'] !== undefined && f['asn'] !== '' ? { asn: Number(f['asn']) } : {}), abuseContact: f['abuse'] ?? '' },
    };
    case 'access_neutralize': return { address: f['address'] ?? '', ports: list(f['ports'] ?? '').map(Number), description: f['description'] ?? '' };
  }
}

/** Proposes a measure of any kind the response module supports, resting on this finding. */
function ProposeMeasure({ f }: { f: Finding }) {
  const { t } = useI18n();
  const { navigate } = useRouter();
  const submit = useSubmit();
  const subject = f.subject.value;
  const isAddr = looksLikeAddress(subject);
  // The sinkhole first: the usual answer to a beacon's domains (and the end-to-end story's step).
  const [kind, setKind] = useState<MeasureKind>('dns_sinkhole');
  const [agency, setAgency] = useState<(typeof AGENCIES)[number]>('police');
  const [form, setForm] = useState<Record<string, string>>({
    title: '', summary: '', expectedEffect: '', targetCountry: '',
    graveKind: GRAVE_TARGETS[0], graveRef: '', assessment: 'highly_organized', sdfReasons: '',
    domains: isAddr ? '' : subject, prefixes: isAddr ? subject : '', tdAddresses: isAddr && !subject.includes('/') ? subject : '', tdDomains: isAddr ? '' : subject,
    urls: '', hostName: '', asn: '', abuse: '', address: isAddr && !subject.includes('/') ? subject : '', ports: '', description: '',
  });
  const [problems, setProblems] = useState<Record<string, MeasureProblem>>({});
  const set = (k: string) => (e: { target: { value: string } }) => {
    setForm({ ...form, [k]: e.target.value });
    if (problems[k] !== undefined) setProblems(({ [k]: _gone, ...rest }) => rest);
  };
  const problemText = (p: MeasureProblem): string => t(`mf.err.${p.code}`, { value: 'value' in p ? p.value : '', max: 'max' in p ? p.max : '' });
  const described = (k: string, help: boolean) => [help ? `m-${k}-help` : '', problems[k] !== undefined ? `m-${k}-error` : ''].filter((x) => x !== '').join(' ') || undefined;
  const field = (k: string, label: MessageKey, opts: { area?: boolean; required?: boolean; help?: MessageKey; type?: string; max?: number } = {}) => (
    <>
      <label htmlFor={`m-${k}`}>{t(label)}{opts.required === true && <span className="req">{t('mf.required')}</span>}</label>
      {opts.area === true
        ? <textarea id={`m-${k}`} rows={2} value={form[k]} onChange={set(k)} aria-invalid={problems[k] !== undefined ? true : undefined} aria-describedby={described(k, opts.help !== undefined)} />
        : <input id={`m-${k}`} type={opts.type === 'number' ? 'text' : opts.type ?? 'text'} inputMode={opts.type === 'number' ? 'numeric' : undefined} value={form[k]} onChange={set(k)}
          aria-invalid={problems[k] !== undefined ? true : undefined} aria-describedby={described(k, opts.help !== undefined)} />}
      {opts.help !== undefined && <p id={`m-${k}-help`} className="help">{t(opts.help)}</p>}
      {problems[k] !== undefined && <p id={`m-${k}-error`} className="field-error">{problemText(problems[k])}</p>}
    </>
  );
  const send = submit.run(async () => {
    const res = await api<{ measure: { id: string } }>('/api/v1/response/measures', {
      method: 'POST',
      body: {
        kind, title: form['title'], target: targetOf(kind, form),
        justification: { findings: [f.id], reports: [], summary: form['summary'] },
        expectedEffect: form['expectedEffect'],
        agency,
        ...(agency === 'sdf' ? { sdfGrounds: { graveTarget: { kind: form['graveKind'], reference: form['graveRef'] }, attackerAssessment: form['assessment'], reasons: form['sdfReasons'] } } : {}),
        ...(form['targetCountry'] !== '' ? { targetCountry: form['targetCountry']!.toUpperCase() } : {}),
      },
    });
    navigate(`/app/measures/${res.measure.id}?proposed=1`);
  });
  // The form's own checks first, field by field (the order of the form), the first bad field taking focus.
  const run = (e: FormEvent) => {
    e.preventDefault();
    const found = checkMeasureForm(kind, agency, form);
    setProblems(found);
    const first = MEASURE_FIELD_ORDER.find((k) => found[k] !== undefined);
    if (first !== undefined) {
      submit.fail(t('mf.fix', { n: Object.keys(found).length }));
      document.getElementById(`m-${first}`)?.focus();
      return;
    }
    void send();
  };
  return (
    <section aria-labelledby="propose"><h2 id="propose">{t('propose.title')}</h2>
      <form onSubmit={run} className="form" noValidate>
        <fieldset>
          <legend>{t('pm.kind')}</legend>
          {MEASURE_KINDS.map((k) => (
            <label key={k} className="check"><input type="radio" name="measure-kind" value={k} checked={kind === k} onChange={() => { submit.reset(); setKind(k); }} /> {t(`measureKind.${k}` as MessageKey)}</label>
          ))}
        </fieldset>
        <p className="help">{t(`pm.about.${kind}` as MessageKey)}</p>
        {field('title', 'propose.name', { required: true, max: 300 })}
        {kind === 'dns_sinkhole' && field('domains', 'propose.domains', { area: true, required: true, help: 'propose.domainsHelp' })}
        {kind === 'block' && field('prefixes', 'pm.prefixes', { area: true, required: true, help: 'pm.prefixesHelp' })}
        {kind === 'takedown_notice' && (
          <>
            {field('tdAddresses', 'pm.addresses', { area: true, help: 'pm.listHelp' })}
            {field('tdDomains', 'pm.tdDomains', { area: true })}
            {field('urls', 'pm.urls', { area: true, help: 'pm.takedownHelp' })}
            {field('hostName', 'pm.hostName', { required: true, max: 200 })}
            {field('asn', 'pm.asn', { type: 'number' })}
            {field('abuse', 'pm.abuse', { type: 'email', required: true })}
          </>
        )}
        {kind === 'access_neutralize' && (
          <>
            {field('address', 'pm.address', { required: true, help: 'pm.addressHelp' })}
            {field('ports', 'pm.ports', { help: 'pm.portsHelp' })}
            {field('description', 'pm.description', { area: true, required: true })}
          </>
        )}
        {field('summary', 'propose.summary', { area: true, required: true })}
        {field('expectedEffect', 'propose.effect', { area: true, required: true })}
        <fieldset>
          <legend>{t('propose.agency')}</legend>
          {AGENCIES.map((a) => (
            <label key={a} className="check"><input type="radio" name="measure-agency" value={a} checked={agency === a} onChange={() => { submit.reset(); setAgency(a); }} aria-describedby="m-agency-help" /> {t(`agency.${a}`)}</label>
          ))}
          <p id="m-agency-help" className="help">{t('propose.agencyHelp')}</p>
        </fieldset>
        {agency === 'sdf' && (
          <fieldset>
            <legend>{t('measures.sdfGrounds')}</legend>
            <label htmlFor="m-graveKind">{t('propose.graveTarget')}</label>
            <select id="m-graveKind" value={form['graveKind']} onChange={set('graveKind')}>
              {GRAVE_TARGETS.map((g) => <option key={g} value={g}>{t(`graveTarget.${g}`)}</option>)}
            </select>
            {field('graveRef', 'propose.graveRef', { required: true, max: 200, help: 'propose.graveRefHelp' })}
            <label htmlFor="m-assessment">{t('propose.assessment')}</label>
            <select id="m-assessment" value={form['assessment']} onChange={set('assessment')} aria-describedby="m-assessment-help">
              {ASSESSMENTS.map((a) => <option key={a} value={a}>{t(`attacker.${a}`)}</option>)}
            </select>
            <p id="m-assessment-help" className={SDF_ASSESSMENTS.includes(form['assessment']!) ? 'help' : 'help warn'} role={SDF_ASSESSMENTS.includes(form['assessment']!) ? undefined : 'note'}>
              {t(SDF_ASSESSMENTS.includes(form['assessment']!) ? 'propose.assessmentHelp' : 'propose.assessmentNotMet')}
            </p>
            {field('sdfReasons', 'propose.sdfReasons', { area: true, required: true })}
          </fieldset>
        )}
        <label htmlFor="m-targetCountry">{t('propose.country')}</label>
        <input id="m-targetCountry" maxLength={2} value={form['targetCountry']} onChange={set('targetCountry')} aria-invalid={problems['targetCountry'] !== undefined ? true : undefined}
          aria-describedby={described('targetCountry', true)} />
        <p id="m-targetCountry-help" className="help">{t('propose.countryHelp')}</p>
        {problems['targetCountry'] !== undefined && <p id="m-targetCountry-error" className="field-error">{problemText(problems['targetCountry'])}</p>}
        <FormMessage error={submit.error} />
        <button type="submit" disabled={submit.busy}>{submit.busy ? t('state.working') : t('propose.submit')}</button>
      </form>
    </section>
  );
}

/** The finding's triage: its state, the history of dismissals and reopenings, and the form to dismiss (reason, note) or reopen (note). */
function Triage({ f, onChanged }: { f: Finding; onChanged: () => void }) {
  const { t } = useI18n();
  const actor = useActor();
  const submit = useSubmit();
  const [reason, setReason] = useState<DismissReason | ''>('');
  const [note, setNote] = useState('');
  const [errors, setErrors] = useState<{ reason?: string; note?: string }>({});
  const canTriage = hasRole(actor, 'analyst', 'nco_director');
  const dismissed = f.triage.state === 'dismissed';
  const send = submit.run(async () => {
    const errs: { reason?: string; note?: string } = {};
    if (!dismissed && reason === '') errs.reason = t('triage.err.reason');
    if ((dismissed || reason === 'other') && note.trim() === '') errs.note = t(dismissed ? 'triage.err.reopenNote' : 'triage.err.otherNote');
    setErrors(errs);
    if (errs.reason !== undefined || errs.note !== undefined) {
      document.getElementById(errs.reason !== undefined ? 'triage-reason' : 'triage-note')?.focus();
      return;
    }
    await api(`/api/v1/findings/${encodeURIComponent(f.id)}/${dismissed ? 'reopen' : 'dismiss'}`, {
      method: 'POST', body: dismissed ? { note: note.trim() } : { reason, ...(note.trim() !== '' ? { note: note.trim() } : {}) },
    });
    setNote('');
    setReason('');
    onChanged();
  });
  const history = f.triageHistory ?? [];
  return (
    <section aria-labelledby="triage-h" className="panel"><h2 id="triage-h">{t('triage.title')}</h2>
      <p><TriageBadge triage={f.triage} />{' '}
        {f.triage.state === 'in-case' && f.triage.caseIds.map((c, i) => <span key={c}>{i > 0 ? '、' : ''}<Link to={`/app/cases/${c}`}>{t('triage.openCase', { n: i + 1 })}</Link></span>)}
        {dismissed && f.triage.note !== null && <> — {f.triage.note}</>}
      </p>
      {history.length > 0 && (
        <ol className="history">{history.map((e) => (
          <li key={e.id}><Time value={e.at} /> {e.byName ?? t('triage.someone')}: {e.reason !== null ? t('triage.withReason', { state: t(`triage.op.${e.op}`), reason: t(`triage.reason.${e.reason}`) }) : t(`triage.op.${e.op}`)}{e.note !== null ? ` — ${e.note}` : ''}</li>
        ))}</ol>
      )}
      {canTriage && (
        <form onSubmit={send} className="form" noValidate>
          {!dismissed && (
            <>
              <label htmlFor="triage-reason">{t('triage.reason')}</label>
              <select id="triage-reason" value={reason} onChange={(e) => setReason(e.target.value as DismissReason | '')} aria-invalid={errors.reason !== undefined} aria-describedby={errors.reason !== undefined ? 'triage-reason-err' : undefined}>
                <option value="">{t('triage.choose')}</option>
                {DISMISS_REASONS.map((r) => <option key={r} value={r}>{t(`triage.reason.${r}`)}</option>)}
              </select>
              {errors.reason !== undefined && <p id="triage-reason-err" className="field-error" role="alert">{errors.reason}</p>}
            </>
          )}
          <label htmlFor="triage-note">{t(dismissed ? 'triage.reopenNote' : 'triage.note')}</label>
          <textarea id="triage-note" rows={2} maxLength={2000} value={note} onChange={(e) => setNote(e.target.value)} aria-invalid={errors.note !== undefined} aria-describedby={errors.note !== undefined ? 'triage-note-err' : undefined} />
          {errors.note !== undefined && <p id="triage-note-err" className="field-error" role="alert">{errors.note}</p>}
          <FormMessage error={submit.error} />
          <button type="submit" disabled={submit.busy}>{submit.busy ? t('state.working') : t(dismissed ? 'triage.reopen' : 'triage.dismiss')}</button>
        </form>
      )}
    </section>
  );
}

export function FindingDetail({ id }: { id: string }) {
  const { t } = useI18n();
  const actor = useActor();
  const detail = useApi<Finding>(`/api/v1/findings/${encodeURIComponent(id)}`);
  const basisName = useBasisNames(hasRole(actor, 'analyst', 'nco_director', 'commissioner'));
  return (
    <>
      <PageTitle>{t('findings.detail')}</PageTitle>
      <Async value={detail}>
        {(f) => (
          <>
            <Facts rows={[
              [t('findings.kind'), t(`findingKind.${f.kind}` as MessageKey)],
              [t('findings.subject'), <EntityLink value={f.subject.value} kind={f.subject.kind === 'pseudonym' ? 'pseudonym' : f.subject.value.includes('/') ? 'prefix' : 'address'} />],
              [t('findings.level'), <Badge tone={LEVEL_TONE[f.level]}>{t(`level.${f.level}` as MessageKey)}</Badge>],
              [t('findings.score'), f.score.toFixed(2)],
              [t('findings.hosts'), String(f.hostCount)],
              [t('findings.firstSeen'), <Time value={f.firstSeen} />],
              [t('findings.lastSeen'), <Time value={f.lastSeen} />],
              [t('findings.bases'), f.bases.length === 0 ? t('incidents.none') : <span title={f.bases.join(', ')}>{f.bases.map(basisName).join('、')}</span>],
            ]} />
            <Triage f={f} onChanged={detail.reload} />
            <Evidence f={f} />
            {hasRole(actor, 'analyst', 'nco_director') && <OpenCaseForm findingId={f.id} defaultTitle={`${t(`findingKind.${f.kind}` as MessageKey)}: ${f.subject.value}`} />}
            {hasRole(actor, 'analyst', 'nco_director') && <ProposeMeasure f={f} />}
            {hasRole(actor, 'analyst', 'nco_director') && <DraftIntelForm source="finding" id={f.id} defaultTitle={`${t(`findingKind.${f.kind}` as MessageKey)}: ${f.subject.value}`} />}
            {hasRole(actor, 'analyst', 'nco_director') && <p><Link to={`/app/requests/new?evidence=${encodeURIComponent(`finding:${f.id}`)}`}>{t('findings.draftRequest')}</Link></p>}
          </>
        )}
      </Async>
    </>
  );
}

interface CounterRow { exporter: string; category: string; outcome: string; flows: number }

export function Counters() {
  const { t } = useI18n();
  const c = useApi<{ since: string; rows: CounterRow[]; lost?: { reason: string; flows: number }[] }>('/api/v1/selection/counters');
  return (
    <>
      <PageTitle>{t('counters.title')}</PageTitle>
      <p>{t('counters.intro')}</p>
      <Async value={c} isEmpty={(d) => d.rows.length === 0} empty={t('counters.empty')}>
        {(d) => {
          const byOutcome = new Map<string, number>();
          for (const r of d.rows) byOutcome.set(r.outcome, (byOutcome.get(r.outcome) ?? 0) + r.flows);
          return (
            <>
              <p>{t('counters.since')} <Time value={d.since} /></p>
              <BarChart title={t('counters.chart')} labels={[...byOutcome.keys()].map((o) => t(`outcome.${o}` as MessageKey))} values={[...byOutcome.values()]} />
              <div className="table-wrap"><table>
                <thead><tr><th scope="col">{t('counters.exporter')}</th><th scope="col">{t('counters.category')}</th><th scope="col">{t('counters.outcome')}</th><th scope="col">{t('counters.flows')}</th></tr></thead>
                <tbody>{d.rows.map((r) => <tr key={`${r.exporter}|${r.category}|${r.outcome}`}><td>{r.exporter}</td><td>{t(`flowCategory.${r.category}` as MessageKey)}</td><td>{t(`outcome.${r.outcome}` as MessageKey)}</td><td>{r.flows}</td></tr>)}</tbody>
              </table></div>
              <h2>{t('counters.lostTitle')}</h2>
              <p>{t('counters.lostIntro')}</p>
              {(d.lost ?? []).length === 0 ? <p>{t('counters.lostNone')}</p> : (
                <div className="table-wrap"><table>
                  <thead><tr><th scope="col">{t('counters.lostReason')}</th><th scope="col">{t('counters.flows')}</th></tr></thead>
                  <tbody>{(d.lost ?? []).map((l) => <tr key={l.reason}><td>{t(`lost.${l.reason}` as MessageKey)}</td><td>{l.flows}</td></tr>)}</tbody>
                </table></div>
              )}
            </>
          );
        }}
      </Async>
    </>
  );
}
