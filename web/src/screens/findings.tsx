// Analyst: findings with their evidence (interval histogram for a beacon, rate against baseline for a DDoS),
// proposing a measure from a finding, and the selection counters (kept versus dropped).
import { useState, type FormEvent } from 'react';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { api } from '../lib/api.js';
import { Link, useRouter } from '../lib/router.js';
import { hasRole, useActor } from '../lib/session.js';
import { useApi } from '../lib/use-api.js';
import { Async, Badge, Facts, FormMessage, PageTitle, Time, useErrorText } from '../components/ui.js';
import { BarChart, RateChart } from '../components/charts.js';
import { OpenCaseForm } from './cases.js';
import { DraftIntelForm } from './drafts.js';

interface Finding {
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

export function FindingList() {
  const { t } = useI18n();
  const list = useApi<{ items: Finding[]; total: number }>('/api/v1/findings');
  return (
    <>
      <PageTitle>{t('findings.title')}</PageTitle>
      <Async value={list} isEmpty={(d) => d.items.length === 0} empty={t('findings.empty')}>
        {(d) => (
          <div className="table-wrap"><table>
            <caption className="sr-only">{t('findings.title')}</caption>
            <thead><tr><th scope="col">{t('findings.kind')}</th><th scope="col">{t('findings.subject')}</th><th scope="col">{t('findings.level')}</th><th scope="col">{t('findings.score')}</th><th scope="col">{t('findings.hosts')}</th><th scope="col">{t('findings.lastSeen')}</th></tr></thead>
            <tbody>{d.items.map((f) => (
              <tr key={f.id}>
                <td><Link to={`/app/findings/${f.id}`}>{t(`findingKind.${f.kind}` as MessageKey)}</Link></td>
                <td><code>{f.subject.value}</code></td>
                <td><Badge tone={LEVEL_TONE[f.level]}>{t(`level.${f.level}` as MessageKey)}</Badge></td>
                <td>{f.score.toFixed(2)}</td>
                <td>{f.hostCount}</td>
                <td><Time value={f.lastSeen} /></td>
              </tr>
            ))}</tbody>
          </table></div>
        )}
      </Async>
    </>
  );
}

/** The finding's evidence as a chart when the detector gave one, and the remaining values as facts. */
function Evidence({ f }: { f: Finding }) {
  const { t } = useI18n();
  const e = f.evidence;
  const hist = e['intervalHistogram'] as { bucketsUpperS: (number | null)[]; counts: number[] } | undefined;
  const series = e['series'] as { t: string; pps: number; bps: number; baselinePps?: number }[] | undefined;
  const plain = Object.entries(e).filter(([k, v]) => k !== 'intervalHistogram' && k !== 'series' && (typeof v !== 'object' || v === null));
  return (
    <section aria-labelledby="evidence"><h2 id="evidence">{t('findings.evidence')}</h2>
      {hist !== undefined && <BarChart title={t('findings.histogram')} labels={hist.bucketsUpperS.map((u) => (u === null ? '∞' : `≤${u}s`))} values={hist.counts} />}
      {series !== undefined && series.length > 0 && <RateChart title={t('findings.rate')} points={series.map((p) => ({ t: p.t, value: p.pps, baseline: p.baselinePps ?? Number(e['baselinePps'] ?? 0) }))} />}
      {hist === undefined && series === undefined && <p className="state empty">{t('findings.noChart')}</p>}
      {plain.length > 0 && <Facts rows={plain.map(([k, v]) => [k, String(v)])} />}
      {f.scoreDetail?.components !== undefined && (
        <BarChart title={t('findings.scoreComponents', { method: f.scoreDetail.method ?? '' })} labels={Object.keys(f.scoreDetail.components)} values={Object.values(f.scoreDetail.components).map((v) => Math.round(v * 100) / 100)} />
      )}
    </section>
  );
}

function ProposeSinkhole({ f }: { f: Finding }) {
  const { t } = useI18n();
  const { navigate } = useRouter();
  const errorText = useErrorText();
  const [form, setForm] = useState({ title: '', domains: '', summary: '', expectedEffect: '', targetCountry: '' });
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const res = await api<{ measure: { id: string } }>('/api/v1/response/measures', {
        method: 'POST',
        body: {
          kind: 'dns_sinkhole',
          title: form.title,
          target: { domains: form.domains.split(/[\s,]+/).filter((d) => d !== '') },
          justification: { findings: [f.id], reports: [], summary: form.summary },
          expectedEffect: form.expectedEffect,
          ...(form.targetCountry !== '' ? { targetCountry: form.targetCountry.toUpperCase() } : {}),
        },
      });
      navigate(`/app/measures/${res.measure.id}?proposed=1`);
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="propose"><h2 id="propose">{t('propose.title')}</h2>
      <form onSubmit={submit} className="form">
        <label htmlFor="m-title">{t('propose.name')}</label>
        <input id="m-title" required maxLength={300} value={form.title} onChange={set('title')} />
        <label htmlFor="m-domains">{t('propose.domains')}</label>
        <textarea id="m-domains" required rows={2} value={form.domains} onChange={set('domains')} aria-describedby="m-domains-help" />
        <p id="m-domains-help" className="help">{t('propose.domainsHelp')}</p>
        <label htmlFor="m-summary">{t('propose.summary')}</label>
        <textarea id="m-summary" required rows={3} value={form.summary} onChange={set('summary')} />
        <label htmlFor="m-effect">{t('propose.effect')}</label>
        <textarea id="m-effect" required rows={2} value={form.expectedEffect} onChange={set('expectedEffect')} />
        <label htmlFor="m-country">{t('propose.country')}</label>
        <input id="m-country" maxLength={2} pattern="[A-Za-z]{2}" value={form.targetCountry} onChange={set('targetCountry')} aria-describedby="m-country-help" />
        <p id="m-country-help" className="help">{t('propose.countryHelp')}</p>
        <FormMessage error={error} />
        <button type="submit" disabled={busy}>{busy ? t('state.working') : t('propose.submit')}</button>
      </form>
    </section>
  );
}

export function FindingDetail({ id }: { id: string }) {
  const { t } = useI18n();
  const actor = useActor();
  const f = useApi<Finding>(`/api/v1/findings/${encodeURIComponent(id)}`);
  return (
    <>
      <PageTitle>{t('findings.detail')}</PageTitle>
      <Async value={f}>
        {(f) => (
          <>
            <Facts rows={[
              [t('findings.kind'), t(`findingKind.${f.kind}` as MessageKey)],
              [t('findings.subject'), <code>{f.subject.value}</code>],
              [t('findings.level'), <Badge tone={LEVEL_TONE[f.level]}>{t(`level.${f.level}` as MessageKey)}</Badge>],
              [t('findings.score'), f.score.toFixed(2)],
              [t('findings.hosts'), String(f.hostCount)],
              [t('findings.firstSeen'), <Time value={f.firstSeen} />],
              [t('findings.lastSeen'), <Time value={f.lastSeen} />],
              [t('findings.bases'), f.bases.length === 0 ? t('incidents.none') : f.bases.join(', ')],
            ]} />
            <Evidence f={f} />
            {hasRole(actor, 'analyst', 'nco_director') && <OpenCaseForm findingId={f.id} defaultTitle={`${t(`findingKind.${f.kind}` as MessageKey)}: ${f.subject.value}`} />}
            {hasRole(actor, 'analyst', 'nco_director') && <ProposeSinkhole f={f} />}
            {hasRole(actor, 'analyst', 'nco_director') && <DraftIntelForm source="finding" id={f.id} defaultTitle={`${t(`findingKind.${f.kind}` as MessageKey)}: ${f.subject.value}`} />}
          </>
        )}
      </Async>
    </>
  );
}

interface CounterRow { exporter: string; category: string; outcome: string; flows: number }

export function Counters() {
  const { t } = useI18n();
  const c = useApi<{ since: string; rows: CounterRow[] }>('/api/v1/selection/counters');
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
            </>
          );
        }}
      </Async>
    </>
  );
}
