// Incident reports: the list with their clocks, filing an initial report, and one report with versions, receipts and deliveries.
import { useState, type FormEvent } from 'react';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { api } from '../lib/api.js';
import { Link, useRouter } from '../lib/router.js';
import { hasRole, useActor } from '../lib/session.js';
import { jstInputToIso, minutesUntil, nowJstInput } from '../lib/time.js';
import { useApi } from '../lib/use-api.js';
import { useSubmit } from '../lib/use-submit.js';
import { attachmentProblem, formatBytes, guessMediaType, toBase64, type AttachmentLimits } from '../lib/attachments.js';
import { DraftIntelForm } from './drafts.js';
import { ReceiptLinks } from '../components/receipt-links.js';
import { MoreRows } from '../components/data-table.js';
import { useCursorList } from '../lib/use-cursor-list.js';
import { Async, Badge, Empty, Facts, FormMessage, PageTitle, Time, useErrorText } from '../components/ui.js';

export const CATEGORIES = ['unauthorized_access', 'malware', 'ransomware', 'denial_of_service', 'data_breach', 'tampering', 'service_disruption', 'other'] as const;

interface Deadline { key: string; label: { ja: string; en: string }; dueAt: string; metAt: string | null; state: string; ministryEscalatedAt: string | null }
interface IncidentSummary { id: string; category: string; status: string; version: number; awareAt: string; sector: string; createdAt: string; updatedAt: string; overdue: string[] }
interface Incident extends IncidentSummary {
  items: Record<string, unknown> & { summary?: string; operatorOverview?: string; affectedComputer?: { description?: string; computerId?: string } };
  deadlines: Deadline[];
  versions: { version: number; stage: string; changed: string[]; filedAt: string; sha256: string; receiptId: string | null; items: Incident['items'] }[];
  attachments: { id: string; filename: string; mediaType: string; size: number; sha256: string; addedAt: string }[];
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
  const paged = useCursorList<IncidentSummary>('/api/v1/incidents', 100);
  const list = { ...paged.state, reload: paged.reload };
  return (
    <>
      <PageTitle actions={<Link className="button" to="/app/incidents/new">{t('nav.fileIncident')}</Link>}>{t('incidents.title')}</PageTitle>
      <Async value={list} isEmpty={(d) => d.items.length === 0} empty={t('incidents.empty')}>
        {(d) => (
          <div className="table-wrap">
            <table>
              <caption className="sr-only">{t('incidents.title')}</caption>
              <thead><tr><th scope="col">{t('incidents.category')}</th><th scope="col">{t('incidents.status')}</th><th scope="col">{t('incidents.awareAt')}</th><th scope="col">{t('incidents.updatedAt')}</th><th scope="col">{t('incidents.overdue')}</th></tr></thead>
              <tbody>
                {d.items.map((i) => (
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
            <MoreRows list={paged} />
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

const ITEM_KEYS = ['operatorOverview', 'summary', 'affectedComputer', 'technicalDetails', 'response', 'other'] as const;
type ItemKey = (typeof ITEM_KEYS)[number];

/** One item of a report version as text (the affected computer is an object). */
function itemText(items: Incident['items'], key: ItemKey): string {
  const v = items[key];
  if (key === 'affectedComputer') return (v as { description?: string } | undefined)?.description ?? '';
  return typeof v === 'string' ? v : '';
}

/** The versions of the report: stage, what changed, hash, receipt, and every version's items behind a disclosure. */
function Versions({ i }: { i: Incident }) {
  const { t } = useI18n();
  return (
    <section aria-labelledby="versions"><h2 id="versions">{t('incidents.versions')}</h2>
      <div className="table-wrap"><table>
        <thead><tr><th scope="col">{t('incidents.version')}</th><th scope="col">{t('incidents.stage')}</th><th scope="col">{t('incidents.filedAt')}</th><th scope="col">{t('incidents.changed')}</th><th scope="col">SHA-256</th><th scope="col">{t('incidents.receipt')}</th></tr></thead>
        <tbody>{i.versions.map((v) => (
          <tr key={v.version}>
            <td>v{v.version}</td><td>{t(`incidentStatus.${v.stage}` as MessageKey)}</td><td><Time value={v.filedAt} /></td>
            <td>{v.version === 1 ? t('incidents.firstVersion') : v.changed.length === 0 ? t('incidents.none') : v.changed.map((k) => t(`reportItem.${k}` as MessageKey)).join(', ')}</td>
            <td><code className="hash" title={v.sha256}>{v.sha256.slice(0, 16)}…</code></td>
            <td>{v.receiptId === null ? '—' : <ReceiptLinks id={v.receiptId} download={t('incidents.downloadReceipt', { v: v.version })} />}</td>
          </tr>
        ))}</tbody>
      </table></div>
      {i.versions.map((v) => (
        <details key={v.version} className="version-items">
          <summary>{t('incidents.versionItems', { v: v.version })}</summary>
          <Facts rows={ITEM_KEYS.map((k) => [t(`reportItem.${k}` as MessageKey), itemText(v.items, k) === '' ? '—' : <span className="pre">{itemText(v.items, k)}</span>])} />
        </details>
      ))}
    </section>
  );
}

/** The operator files a follow-up: an update, or the written report (確報); only the items changed are sent. */
function FollowUpForm({ i, onFiled }: { i: Incident; onFiled: () => void }) {
  const { t } = useI18n();
  const submit = useSubmit();
  const initial = () => Object.fromEntries(ITEM_KEYS.map((k) => [k, itemText(i.items, k)])) as Record<ItemKey, string>;
  const [stage, setStage] = useState<'update' | 'written'>(i.status === 'written' ? 'update' : 'written');
  const [items, setItems] = useState(initial);
  const [indicators, setIndicators] = useState('');
  const meetable = i.deadlines.filter((d) => (d.key === 'nis2.notification' || d.key === 'nis2.final') && d.metAt === null).map((d) => d.key);
  const [meets, setMeets] = useState<string[]>([]);
  const send = () => {
    const before = initial();
    const changed: Record<string, unknown> = {};
    for (const k of ITEM_KEYS) {
      if (items[k].trim() === before[k].trim()) continue;
      changed[k] = k === 'affectedComputer' ? { ...(i.items.affectedComputer ?? {}), description: items[k] } : items[k];
    }
    const ind = parseIndicators(indicators);
    if (stage === 'update' && Object.keys(changed).length === 0 && ind.length === 0 && meets.length === 0) {
      submit.fail(t('followup.nothingChanged'));
      return Promise.resolve();
    }
    return submit.run(async () => {
      await api(`/api/v1/incidents/${encodeURIComponent(i.id)}/followups`, { method: 'POST', body: { stage, items: changed, indicators: ind, meets } });
      onFiled();
    })();
  };
  return (
    <section aria-labelledby="followup" className="action-form"><h2 id="followup">{t('followup.title')}</h2>
      <p>{t('followup.intro')}</p>
      <form className="form" onSubmit={(e) => { e.preventDefault(); void send(); }}>
        <fieldset>
          <legend>{t('followup.stage')}</legend>
          {(['written', 'update'] as const).map((s) => (
            <label key={s} className="check"><input type="radio" name="stage" value={s} checked={stage === s} onChange={() => setStage(s)} /> {t(`incidentStatus.${s}`)}</label>
          ))}
        </fieldset>
        {ITEM_KEYS.map((k) => (
          <div key={k} className="field">
            <label htmlFor={`fu-${k}`}>{t(`reportItem.${k}` as MessageKey)}</label>
            {k === 'operatorOverview' || k === 'affectedComputer'
              ? <input id={`fu-${k}`} maxLength={k === 'affectedComputer' ? 2000 : 4000} value={items[k]} onChange={(e) => setItems({ ...items, [k]: e.target.value })} />
              : <textarea id={`fu-${k}`} rows={3} value={items[k]} onChange={(e) => setItems({ ...items, [k]: e.target.value })} />}
          </div>
        ))}
        <label htmlFor="fu-indicators">{t('incidents.form.indicators')}</label>
        <textarea id="fu-indicators" rows={2} value={indicators} onChange={(e) => setIndicators(e.target.value)} aria-describedby="fu-indicators-help" />
        <p id="fu-indicators-help" className="help">{t('incidents.form.indicatorsHelp')}</p>
        {meetable.length > 0 && (
          <fieldset>
            <legend>{t('followup.meets')}</legend>
            {meetable.map((k) => {
              const d = i.deadlines.find((x) => x.key === k)!;
              return <label key={k} className="check"><input type="checkbox" checked={meets.includes(k)} onChange={(e) => setMeets(e.target.checked ? [...meets, k] : meets.filter((m) => m !== k))} /> <DeadlineName d={d} /></label>;
            })}
          </fieldset>
        )}
        <FormMessage error={submit.error} success={submit.success} />
        <button type="submit" disabled={submit.busy}>{submit.busy ? t('state.working') : t(stage === 'written' ? 'followup.submitWritten' : 'followup.submitUpdate')}</button>
      </form>
    </section>
  );
}

function DeadlineName({ d }: { d: Deadline }) {
  const { pick } = useI18n();
  return <>{pick(d.label)}</>;
}

/** The attachments with their SHA-256 and a download link; the operator adds one within the server's limits. */
function Attachments({ i, limits, canAdd, onAdded }: { i: Incident; limits: AttachmentLimits; canAdd: boolean; onAdded: () => void }) {
  const { t } = useI18n();
  const submit = useSubmit();
  const [file, setFile] = useState<File>();
  const [inputKey, setInputKey] = useState(0);
  const upload = (e: FormEvent) => {
    e.preventDefault();
    if (file === undefined) return submit.fail(t('attach.choose'));
    const mediaType = guessMediaType(file.name, file.type, limits.mediaTypes);
    const problem = attachmentProblem(file, mediaType, limits);
    if (problem !== undefined) return submit.fail(t(`attach.problem.${problem}`, { max: formatBytes(limits.maxBytes), types: limits.mediaTypes.join(', ') }));
    return void submit.run(async () => {
      const contentBase64 = toBase64(new Uint8Array(await file.arrayBuffer()));
      await api(`/api/v1/incidents/${encodeURIComponent(i.id)}/attachments`, { method: 'POST', body: { filename: file.name, mediaType, contentBase64 } });
      setFile(undefined);
      setInputKey((n) => n + 1);
      onAdded();
    }, t('attach.added', { name: file.name }))();
  };
  return (
    <section aria-labelledby="attachments"><h2 id="attachments">{t('attach.title')}</h2>
      {i.attachments.length === 0 ? <Empty>{t('attach.empty')}</Empty> : (
        <div className="table-wrap"><table>
          <thead><tr><th scope="col">{t('attach.name')}</th><th scope="col">{t('attach.type')}</th><th scope="col">{t('attach.size')}</th><th scope="col">SHA-256</th><th scope="col">{t('attach.addedAt')}</th></tr></thead>
          <tbody>{i.attachments.map((a) => (
            <tr key={a.id}>
              <td><a href={`/api/v1/incidents/${encodeURIComponent(i.id)}/attachments/${encodeURIComponent(a.id)}`} download={a.filename} aria-label={t('attach.download', { name: a.filename })}>{a.filename}</a></td>
              <td>{a.mediaType}</td><td>{formatBytes(a.size)}</td><td><code className="hash">{a.sha256}</code></td><td><Time value={a.addedAt} /></td>
            </tr>
          ))}</tbody>
        </table></div>
      )}
      {canAdd && (
        <form className="form" onSubmit={upload}>
          <label htmlFor="attach-file">{t('attach.file')}</label>
          <input key={inputKey} id="attach-file" type="file" accept={limits.mediaTypes.join(',')} onChange={(e) => { submit.reset(); setFile(e.target.files?.[0]); }} aria-describedby="attach-help" />
          <p id="attach-help" className="help">{t('attach.help', { max: formatBytes(limits.maxBytes), types: limits.mediaTypes.join(', ') })}</p>
          <FormMessage error={submit.error} success={submit.success} />
          <button type="submit" disabled={submit.busy}>{submit.busy ? t('state.working') : t('attach.submit')}</button>
        </form>
      )}
    </section>
  );
}

/** The ministry escalates an overdue deadline (to the NCO, with a demand to the operator), with a note. */
export function EscalateForm({ reportId, d, onDone }: { reportId: string; d: Deadline; onDone: () => void }) {
  const { t, pick } = useI18n();
  const submit = useSubmit();
  const [note, setNote] = useState('');
  const id = `esc-${d.key.replace(/\W/g, '-')}-${reportId.slice(-6)}`;
  return (
    <form className="form inline-form" onSubmit={submit.run(async () => {
      await api(`/api/v1/incidents/${encodeURIComponent(reportId)}/escalations`, { method: 'POST', body: { deadline: d.key, note } });
      onDone();
    }, t('escalate.done'))}>
      <label htmlFor={id}>{t('escalate.note', { deadline: pick(d.label) })}</label>
      <input id={id} required maxLength={2000} value={note} onChange={(e) => setNote(e.target.value)} aria-describedby={`${id}-help`} />
      <p id={`${id}-help`} className="help">{t('escalate.help')}</p>
      <FormMessage error={submit.error} success={submit.success} />
      <button type="submit" disabled={submit.busy}>{submit.busy ? t('state.working') : t('escalate.submit', { deadline: pick(d.label) })}</button>
    </form>
  );
}

/** The clocks; for a ministry, each overdue one not yet escalated by it can be escalated here. */
function Clocks({ i, onChange }: { i: Incident; onChange: () => void }) {
  const { t, pick } = useI18n();
  const actor = useActor();
  const ministry = hasRole(actor, 'ministry');
  const [done, setDone] = useState<string>();
  return (
    <section aria-labelledby="clocks"><h2 id="clocks">{t('incidents.clocks')}</h2>
      {done !== undefined && <p className="notice success" role="status">{t('escalate.doneOne', { deadline: done })}</p>}
      <ul className="clocks">{i.deadlines.map((d) => (
        <li key={d.key}>
          <Clock d={d} />
          {d.ministryEscalatedAt !== null && <> <Badge tone="warn">{t('escalate.escalatedAt')}</Badge> <Time value={d.ministryEscalatedAt} /></>}
          {ministry && d.metAt === null && d.state === 'overdue' && d.ministryEscalatedAt === null && <EscalateForm reportId={i.id} d={d} onDone={() => { setDone(pick(d.label)); onChange(); }} />}
        </li>
      ))}</ul>
    </section>
  );
}

/** A report's overdue deadlines, each with the escalation form (the ministry's inbox opens this on demand). */
export function OverdueEscalation({ reportId }: { reportId: string }) {
  const { t, pick } = useI18n();
  const inc = useApi<{ incident: Incident }>(`/api/v1/incidents/${encodeURIComponent(reportId)}`);
  const [done, setDone] = useState<string>();
  return (
    <>
      {done !== undefined && <p className="notice success" role="status">{t('escalate.doneOne', { deadline: done })}</p>}
      <Async value={inc} isEmpty={(d) => !d.incident.deadlines.some((x) => x.state === 'overdue' && x.ministryEscalatedAt === null)} empty={t('escalate.nothing')}>
        {({ incident: i }) => (
          <ul className="clocks">{i.deadlines.filter((d) => d.state === 'overdue' && d.ministryEscalatedAt === null).map((d) => (
            <li key={d.key}><Clock d={d} /><EscalateForm reportId={i.id} d={d} onDone={() => { setDone(pick(d.label)); inc.reload(); }} /></li>
          ))}</ul>
        )}
      </Async>
    </>
  );
}

export function IncidentDetail({ id }: { id: string }) {
  const { t, code } = useI18n();
  const { search } = useRouter();
  const actor = useActor();
  const inc = useApi<{ incident: Incident; attachmentLimits: AttachmentLimits }>(`/api/v1/incidents/${encodeURIComponent(id)}`);
  const operator = hasRole(actor, 'operator');
  const [filed, setFiled] = useState(false);
  return (
    <>
      <PageTitle>{t('incidents.detail.title')}</PageTitle>
      {search.get('filed') === '1' && <p className="notice success" role="status">{t('incidents.detail.filed')}</p>}
      <Async value={inc}>
        {({ incident: i, attachmentLimits }) => (
          <>
            <Facts rows={[
              [t('incidents.category'), t(`category.${i.category}` as MessageKey)],
              [t('incidents.status'), `${t(`incidentStatus.${i.status}` as MessageKey)} (v${i.version})`],
              [t('incidents.awareAt'), <Time value={i.awareAt} />],
              [t('incidents.form.summary'), i.items.summary ?? ''],
              [t('incidents.form.affected'), i.items.affectedComputer?.description ?? ''],
              [t('incidents.indicators'), i.indicators.length === 0 ? t('incidents.none') : <ul className="plain">{i.indicators.map((x) => <li key={`${x.kind}:${x.value}`}>{code('indicatorKind.', x.kind)} <code>{x.value}</code></li>)}</ul>],
            ]} />
            <Clocks i={i} onChange={inc.reload} />
            <Versions i={i} />
            <Attachments i={i} limits={attachmentLimits} canAdd={operator} onAdded={inc.reload} />
            {filed && <p className="notice success" role="status">{t('followup.filed')}</p>}
            {operator && <FollowUpForm key={i.version} i={i} onFiled={() => { setFiled(true); inc.reload(); }} />}
            {hasRole(actor, 'analyst', 'nco_director') && <DraftIntelForm source="report" id={i.id} />}
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
