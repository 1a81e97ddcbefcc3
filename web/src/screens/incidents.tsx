// Incident reports: the list with their clocks, filing an initial report, and one report with versions, receipts and deliveries.
import { useState, type FormEvent } from 'react';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { api } from '../lib/api.js';
import { Link, useRouter } from '../lib/router.js';
import { jstInputToIso, minutesUntil, nowJstInput } from '../lib/time.js';
import { useApi } from '../lib/use-api.js';
import { Async, Badge, Facts, FormMessage, PageTitle, Time, useErrorText } from '../components/ui.js';

export const CATEGORIES = ['unauthorized_access', 'malware', 'ransomware', 'denial_of_service', 'data_breach', 'tampering', 'service_disruption', 'other'] as const;

interface Deadline { key: string; label: { ja: string; en: string }; dueAt: string; metAt: string | null; state: string }
interface IncidentSummary { id: string; category: string; status: string; version: number; awareAt: string; sector: string; createdAt: string; updatedAt: string; overdue: string[] }
interface Incident extends IncidentSummary {
  items: Record<string, unknown> & { summary?: string; operatorOverview?: string; affectedComputer?: { description?: string } };
  deadlines: Deadline[];
  versions: { version: number; stage: string; filedAt: string; sha256: string; receiptId: string | null }[];
  deliveries: { inboxId: string; recipient: string; deliveredAt: string; acknowledgedAt: string | null; version: number }[];
  indicators: { kind: string; value: string }[];
}

/** A deadline as a clock: met, time left, or overdue. */
export function Clock({ d }: { d: Deadline }) {
  const { t, pick } = useI18n();
  if (d.metAt !== null) return <><Badge tone="ok">{t('clock.met')}</Badge> {pick(d.label)}</>;
  const mins = minutesUntil(d.dueAt);
  const span = Math.abs(mins) >= 1440 ? t('clock.days', { n: Math.floor(Math.abs(mins) / 1440) }) : t('clock.hours', { h: Math.floor(Math.abs(mins) / 60), m: Math.abs(mins) % 60 });
  return mins < 0
    ? <><Badge tone="bad">{t('clock.overdue', { span })}</Badge> {pick(d.label)}</>
    : <><Badge tone={mins < 24 * 60 ? 'warn' : 'info'}>{t('clock.left', { span })}</Badge> {pick(d.label)} (<Time value={d.dueAt} />)</>;
}

export function IncidentList() {
  const { t } = useI18n();
  const list = useApi<{ incidents: IncidentSummary[] }>('/api/v1/incidents');
  return (
    <>
      <PageTitle actions={<Link className="button" to="/app/incidents/new">{t('nav.fileIncident')}</Link>}>{t('incidents.title')}</PageTitle>
      <Async value={list} isEmpty={(d) => d.incidents.length === 0} empty={t('incidents.empty')}>
        {(d) => (
          <div className="table-wrap">
            <table>
              <caption className="sr-only">{t('incidents.title')}</caption>
              <thead><tr><th scope="col">{t('incidents.category')}</th><th scope="col">{t('incidents.status')}</th><th scope="col">{t('incidents.awareAt')}</th><th scope="col">{t('incidents.updatedAt')}</th><th scope="col">{t('incidents.overdue')}</th></tr></thead>
              <tbody>
                {d.incidents.map((i) => (
                  <tr key={i.id}>
                    <td><Link to={`/app/incidents/${i.id}`}>{t(`category.${i.category}` as MessageKey)}</Link></td>
                    <td>{t(`incidentStatus.${i.status}` as MessageKey)} (v{i.version})</td>
                    <td><Time value={i.awareAt} /></td>
                    <td><Time value={i.updatedAt} /></td>
                    <td>{i.overdue.length === 0 ? <Badge tone="ok">{t('incidents.onTime')}</Badge> : <Badge tone="bad">{t('incidents.overdueCount', { n: i.overdue.length })}</Badge>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Async>
    </>
  );
}

function parseIndicators(text: string): { kind: string; value: string }[] {
  return text.split(/\s+/).filter((s) => s !== '').map((value) => ({
    value,
    kind: /^\d{1,3}(\.\d{1,3}){3}$/.test(value) ? 'ipv4' : value.includes(':') ? 'ipv6' : /^[0-9a-f]{64}$/i.test(value) ? 'sha256' : /^[0-9a-f]{40}$/i.test(value) ? 'sha1' : /^[0-9a-f]{32}$/i.test(value) ? 'md5' : 'domain',
  }));
}

export function FileIncident() {
  const { t } = useI18n();
  const { navigate } = useRouter();
  const errorText = useErrorText();
  const [form, setForm] = useState({ category: 'malware', awareAt: nowJstInput(), operatorOverview: '', summary: '', affected: '', technicalDetails: '', response: '', indicators: '' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const awareAt = jstInputToIso(form.awareAt);
    if (awareAt === undefined) return setError(t('incidents.form.badTime'));
    setBusy(true);
    setError(undefined);
    try {
      const res = await api<{ report: { id: string } }>('/api/v1/incidents', {
        method: 'POST',
        body: {
          awareAt,
          items: { category: form.category, operatorOverview: form.operatorOverview, summary: form.summary, affectedComputer: { description: form.affected }, technicalDetails: form.technicalDetails, response: form.response },
          indicators: parseIndicators(form.indicators),
        },
      });
      navigate(`/app/incidents/${res.report.id}?filed=1`);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return (
    <>
      <PageTitle>{t('incidents.form.title')}</PageTitle>
      <p>{t('incidents.form.intro')}</p>
      <form onSubmit={submit} className="form">
        <label htmlFor="category">{t('incidents.category')}</label>
        <select id="category" value={form.category} onChange={set('category')}>
          {CATEGORIES.map((c) => <option key={c} value={c}>{t(`category.${c}` as MessageKey)}</option>)}
        </select>
        <label htmlFor="awareAt">{t('incidents.form.awareAt')}</label>
        <input id="awareAt" type="datetime-local" required value={form.awareAt} onChange={set('awareAt')} aria-describedby="awareAt-help" />
        <p id="awareAt-help" className="help">{t('incidents.form.awareAtHelp')}</p>
        <label htmlFor="operatorOverview">{t('incidents.form.operatorOverview')}</label>
        <input id="operatorOverview" required maxLength={4000} value={form.operatorOverview} onChange={set('operatorOverview')} />
        <label htmlFor="summary">{t('incidents.form.summary')}</label>
        <textarea id="summary" required rows={4} maxLength={10000} value={form.summary} onChange={set('summary')} />
        <label htmlFor="affected">{t('incidents.form.affected')}</label>
        <input id="affected" required maxLength={2000} value={form.affected} onChange={set('affected')} />
        <label htmlFor="technicalDetails">{t('incidents.form.technicalDetails')}</label>
        <textarea id="technicalDetails" rows={3} value={form.technicalDetails} onChange={set('technicalDetails')} />
        <label htmlFor="response">{t('incidents.form.response')}</label>
        <textarea id="response" rows={3} value={form.response} onChange={set('response')} />
        <label htmlFor="indicators">{t('incidents.form.indicators')}</label>
        <textarea id="indicators" rows={3} value={form.indicators} onChange={set('indicators')} aria-describedby="indicators-help" />
        <p id="indicators-help" className="help">{t('incidents.form.indicatorsHelp')}</p>
        <FormMessage error={error} />
        <button type="submit" disabled={busy}>{busy ? t('state.working') : t('incidents.form.submit')}</button>
      </form>
    </>
  );
}

export function IncidentDetail({ id }: { id: string }) {
  const { t } = useI18n();
  const { search } = useRouter();
  const inc = useApi<{ incident: Incident }>(`/api/v1/incidents/${encodeURIComponent(id)}`);
  return (
    <>
      <PageTitle>{t('incidents.detail.title')}</PageTitle>
      {search.get('filed') === '1' && <p className="notice success" role="status">{t('incidents.detail.filed')}</p>}
      <Async value={inc}>
        {({ incident: i }) => (
          <>
            <Facts rows={[
              [t('incidents.category'), t(`category.${i.category}` as MessageKey)],
              [t('incidents.status'), `${t(`incidentStatus.${i.status}` as MessageKey)} (v${i.version})`],
              [t('incidents.awareAt'), <Time value={i.awareAt} />],
              [t('incidents.form.summary'), i.items.summary ?? ''],
              [t('incidents.form.affected'), i.items.affectedComputer?.description ?? ''],
              [t('incidents.indicators'), i.indicators.length === 0 ? t('incidents.none') : i.indicators.map((x) => `${x.kind}:${x.value}`).join(', ')],
            ]} />
            <section aria-labelledby="clocks"><h2 id="clocks">{t('incidents.clocks')}</h2>
              <ul className="clocks">{i.deadlines.map((d) => <li key={d.key}><Clock d={d} /></li>)}</ul>
            </section>
            <section aria-labelledby="versions"><h2 id="versions">{t('incidents.versions')}</h2>
              <div className="table-wrap"><table>
                <thead><tr><th scope="col">{t('incidents.version')}</th><th scope="col">{t('incidents.stage')}</th><th scope="col">{t('incidents.filedAt')}</th><th scope="col">SHA-256</th><th scope="col">{t('incidents.receipt')}</th></tr></thead>
                <tbody>{i.versions.map((v) => (
                  <tr key={v.version}>
                    <td>v{v.version}</td><td>{t(`incidentStatus.${v.stage}` as MessageKey)}</td><td><Time value={v.filedAt} /></td><td><code className="hash">{v.sha256.slice(0, 16)}…</code></td>
                    <td>{v.receiptId === null ? '—' : <a href={`/api/v1/receipts/${v.receiptId}`} download>{t('incidents.downloadReceipt', { v: v.version })}</a>}</td>
                  </tr>
                ))}</tbody>
              </table></div>
            </section>
            <section aria-labelledby="deliveries"><h2 id="deliveries">{t('incidents.deliveries')}</h2>
              <ul>{i.deliveries.map((d) => (
                <li key={d.inboxId}>{t(`recipient.${d.recipient}` as MessageKey)} v{d.version}: {t('incidents.deliveredAt')} <Time value={d.deliveredAt} /> — {d.acknowledgedAt === null ? <Badge tone="warn">{t('incidents.notAcknowledged')}</Badge> : <><Badge tone="ok">{t('incidents.acknowledged')}</Badge> <Time value={d.acknowledgedAt} /></>}</li>
              ))}</ul>
            </section>
          </>
        )}
      </Async>
    </>
  );
}
