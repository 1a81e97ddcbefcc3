// Operator: computer notifications — the list with deliveries and receipts, and filing one on the form
// version in force today (a new computer, or a change to one already notified).
import { useState, type FormEvent } from 'react';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { ja } from '../i18n/ja.js';
import { api } from '../lib/api.js';
import { hasRole, useActor } from '../lib/session.js';
import { useApi } from '../lib/use-api.js';
import { useAllPages } from '../lib/pages.js';
import { nowJstInput } from '../lib/time.js';
import { fieldChange } from '../lib/diff.js';
import { Link } from '../lib/router.js';
import { ReceiptLinks } from '../components/receipt-links.js';
import { MoreRows } from '../components/data-table.js';
import { useCursorList } from '../lib/use-cursor-list.js';
import { Async, Badge, Empty, Facts, FormMessage, Loading, PageTitle, Time, useErrorText } from '../components/ui.js';

interface FormSummary { form: string; version: number; title: { ja: string; en: string }; effectiveFrom: string }
interface Field { key: string; label: { ja: string; en: string }; type: 'string' | 'text' | 'stringList' | 'ipList' | 'enum' | 'boolean' | 'date'; required: boolean; maxLength?: number; maxItems?: number; options?: string[] }
interface FormVersion extends FormSummary { fields: Field[] }
interface Notification {
  id: string;
  computerId: string;
  kind: 'introduction' | 'change';
  form: string;
  formVersion: number;
  fields: Record<string, unknown>;
  diff: { key: string; before: unknown; after: unknown }[] | null;
  previousId: string | null;
  filedAt: string;
  sha256: string;
  deliveries: { recipient: string; deliveredAt: string; acknowledgedAt: string | null }[];
  receiptId: string | null;
}

/** The latest version of `form` already in force on today's date in JST. */
function currentVersion(forms: FormSummary[], form: string): FormSummary | undefined {
  const today = nowJstInput().slice(0, 10);
  return forms.filter((f) => f.form === form && f.effectiveFrom <= today).sort((a, b) => b.version - a.version)[0];
}

const lines = (s: string) => s.split(/\r?\n/).map((x) => x.trim()).filter((x) => x !== '');

function optionLabel(t: (k: MessageKey) => string, key: string, option: string) {
  const k = `formOption.${key}.${option}`;
  return k in ja ? t(k as MessageKey) : option;
}

function FieldInput({ f, value, onChange }: { f: Field; value: string | boolean; onChange: (v: string | boolean) => void }) {
  const { t, pick } = useI18n();
  const id = `nf-${f.key}`;
  const label = <label htmlFor={id}>{pick(f.label)}{f.required ? ` ${t('notifications.required')}` : ''}</label>;
  switch (f.type) {
    case 'boolean':
      return <label htmlFor={id} className="check"><input id={id} type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked)} /> {pick(f.label)}</label>;
    case 'enum':
      return <>{label}<select id={id} required={f.required} value={String(value)} onChange={(e) => onChange(e.target.value)}>
        {!f.required && <option value="">—</option>}
        {(f.options ?? []).map((o) => <option key={o} value={o}>{optionLabel(t, f.key, o)}</option>)}
      </select></>;
    case 'text':
      return <>{label}<textarea id={id} required={f.required} maxLength={f.maxLength} rows={3} value={String(value)} onChange={(e) => onChange(e.target.value)} /></>;
    case 'stringList':
    case 'ipList':
      return <>{label}<textarea id={id} required={f.required} rows={3} value={String(value)} onChange={(e) => onChange(e.target.value)} aria-describedby={`${id}-help`} /><p id={`${id}-help`} className="help">{t('notifications.onePerLine')}</p></>;
    case 'date':
      return <>{label}<input id={id} type="date" required={f.required} value={String(value)} onChange={(e) => onChange(e.target.value)} /></>;
    default:
      return <>{label}<input id={id} required={f.required} maxLength={f.maxLength} value={String(value)} onChange={(e) => onChange(e.target.value)} /></>;
  }
}

type Values = Record<string, string | boolean>;

function toValues(fields: Field[], from?: Record<string, unknown>): Values {
  const v: Values = {};
  for (const f of fields) {
    const x = from?.[f.key];
    if (f.type === 'boolean') v[f.key] = x === true;
    else if (f.type === 'stringList' || f.type === 'ipList') v[f.key] = Array.isArray(x) ? x.join('\n') : '';
    else if (f.type === 'enum') v[f.key] = typeof x === 'string' ? x : f.required ? (f.options?.[0] ?? '') : '';
    else v[f.key] = typeof x === 'string' ? x : '';
  }
  return v;
}

function fromValues(fields: Field[], v: Values): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const x = v[f.key];
    if (f.type === 'boolean') out[f.key] = x === true;
    else if (f.type === 'stringList' || f.type === 'ipList') {
      const l = lines(String(x ?? ''));
      if (l.length > 0 || f.required) out[f.key] = l;
    } else if (String(x ?? '') !== '') out[f.key] = String(x);
  }
  return out;
}

/** The latest notification of each computer (what a change starts from). */
function latestByComputer(list: Notification[]): Notification[] {
  const m = new Map<string, Notification>();
  for (const n of list) {
    const prev = m.get(n.computerId);
    if (prev === undefined || prev.filedAt < n.filedAt) m.set(n.computerId, n);
  }
  return [...m.values()];
}

function FileForm({ form, computers, onFiled }: { form: FormVersion; computers: Notification[]; onFiled: () => void }) {
  const { t, pick } = useI18n();
  const errorText = useErrorText();
  const [computerId, setComputerId] = useState('');
  const [values, setValues] = useState<Values>(() => toValues(form.fields));
  const [error, setError] = useState<string>();
  const [success, setSuccess] = useState<string>();
  const [busy, setBusy] = useState(false);
  const choose = (id: string) => {
    setComputerId(id);
    setValues(toValues(form.fields, computers.find((c) => c.computerId === id)?.fields));
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setSuccess(undefined);
    try {
      await api('/api/v1/notifications', { method: 'POST', body: { form: form.form, formVersion: form.version, ...(computerId === '' ? {} : { computerId }), fields: fromValues(form.fields, values) } });
      setSuccess(t('notifications.filed'));
      setComputerId('');
      setValues(toValues(form.fields));
      onFiled();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="file-notification" className="action-form">
      <h2 id="file-notification">{t('notifications.file')}</h2>
      <p>{t('notifications.formInForce', { title: pick(form.title), version: form.version, from: form.effectiveFrom })}</p>
      <form onSubmit={submit} className="form">
        <label htmlFor="nf-computer">{t('notifications.kind')}</label>
        <select id="nf-computer" value={computerId} onChange={(e) => choose(e.target.value)} aria-describedby="nf-computer-help">
          <option value="">{t('notifications.newComputer')}</option>
          {computers.map((c) => <option key={c.computerId} value={c.computerId}>{t('notifications.changeOf', { name: String(c.fields['computerName'] ?? c.computerId) })}</option>)}
        </select>
        <p id="nf-computer-help" className="help">{t('notifications.kindHelp')}</p>
        {form.fields.map((f) => <FieldInput key={f.key} f={f} value={values[f.key] ?? ''} onChange={(v) => setValues({ ...values, [f.key]: v })} />)}
        <FormMessage error={error} success={success} />
        <button type="submit" disabled={busy}>{busy ? t('state.working') : t('notifications.submit')}</button>
      </form>
    </section>
  );
}

function FileSection({ computers, onFiled }: { computers: Notification[]; onFiled: () => void }) {
  const { t } = useI18n();
  const forms = useAllPages<FormSummary>('/api/v1/forms');
  const current = forms.status === 'ok' ? currentVersion(forms.data.items, 'computer-notification') : undefined;
  const form = useApi<{ form: FormVersion }>(current === undefined ? null : `/api/v1/forms/${current.form}/${current.version}`);
  if (forms.status !== 'ok') return <Async value={forms}>{() => null}</Async>;
  if (current === undefined) return <Empty>{t('notifications.noForm')}</Empty>;
  return <Async value={form}>{(d) => <FileForm key={`${d.form.form}/${d.form.version}`} form={d.form} computers={computers} onFiled={onFiled} />}</Async>;
}

export function Notifications() {
  const { t } = useI18n();
  const actor = useActor();
  const paged = useCursorList<Notification>('/api/v1/notifications', 100);
  const list = { ...paged.state, reload: paged.reload };
  return (
    <>
      <PageTitle>{t('notifications.title')}</PageTitle>
      <p>{t('notifications.intro')}</p>
      <Async value={list} isEmpty={(d) => d.items.length === 0} empty={t('notifications.empty')}>
        {(d) => (
          <div className="table-wrap"><table>
            <caption className="sr-only">{t('notifications.title')}</caption>
            <thead><tr><th scope="col">{t('notifications.computer')}</th><th scope="col">{t('notifications.kindCol')}</th><th scope="col">{t('notifications.form')}</th><th scope="col">{t('notifications.filedAt')}</th><th scope="col">{t('notifications.deliveries')}</th><th scope="col">{t('incidents.receipt')}</th></tr></thead>
            <tbody>{[...d.items].sort((a, b) => b.filedAt.localeCompare(a.filedAt)).map((n) => (
              <tr key={n.id}>
                <td><Link to={`/app/notifications/${n.id}`}>{String(n.fields['computerName'] ?? n.computerId)}</Link>{n.diff !== null && <ChangedFields form={n.form} version={n.formVersion} keys={n.diff.map((c) => c.key)} />}</td>
                <td><Badge tone={n.kind === 'introduction' ? 'info' : 'warn'}>{t(`notifications.kind.${n.kind}`)}</Badge></td>
                <td>{t('notifications.version', { v: n.formVersion })}</td>
                <td><Time value={n.filedAt} /></td>
                <td><ul>{n.deliveries.map((x) => <li key={x.recipient}>{t(`notifications.recipient.${x.recipient}` as MessageKey)}: {x.acknowledgedAt === null ? <Badge tone="warn">{t('notifications.notAcknowledged')}</Badge> : <Badge tone="ok">{t('notifications.acknowledged')}</Badge>}</li>)}</ul></td>
                <td>{n.receiptId === null ? '—' : <ReceiptLinks id={n.receiptId} download={t('notifications.downloadReceipt')} />}</td>
              </tr>
            ))}</tbody>
          </table><MoreRows list={paged} /></div>
        )}
      </Async>
      {hasRole(actor, 'operator') && <FileSection computers={list.status === 'ok' ? latestByComputer(list.data.items) : []} onFiled={list.reload} />}
    </>
  );
}

/** The fields a change touched, by their labels on the form it was filed on. */
function ChangedFields({ form, version, keys }: { form: string; version: number; keys: string[] }) {
  const { t, pick, lang } = useI18n();
  const f = useApi<{ form: FormVersion }>(`/api/v1/forms/${encodeURIComponent(form)}/${version}`);
  const label = (key: string) => (f.status === 'ok' ? pick(f.data.form.fields.find((x) => x.key === key)?.label) || key : key);
  if (f.status !== 'ok') return null;
  return <p className="help">{t('notifications.changed', { fields: keys.map(label).join(lang === 'ja' ? '、' : ', ') })}</p>;
}

/** A field's value as text: lists one item a line, yes/no for booleans, a choice by its label. */
function ValueText({ v, field }: { v: unknown; field?: string }) {
  const { t } = useI18n();
  if (v === null || v === undefined || v === '') return <>—</>;
  if (typeof v === 'boolean') return <>{t(v ? 'ntf.yes' : 'ntf.no')}</>;
  if (typeof v === 'string' && field !== undefined) return <span className="pre">{optionLabel(t, field, v)}</span>;
  if (Array.isArray(v)) return v.length === 0 ? <>—</> : <ul className="plain">{v.map((x, i) => <li key={i}>{String(x)}</li>)}</ul>;
  return <span className="pre">{typeof v === 'object' ? JSON.stringify(v) : String(v)}</span>;
}

/** One change of the diff: a list's removed and added items, or the value before and after. */
function ChangeCells({ field, before, after }: { field: string; before: unknown; after: unknown }) {
  const { t } = useI18n();
  const c = fieldChange(before, after);
  if (c.kind === 'value') return <><td><ValueText v={c.before} field={field} /></td><td><ValueText v={c.after} field={field} /></td></>;
  return (
    <>
      <td>{c.removed.length === 0 ? t('ntf.noneRemoved') : <ul className="plain">{c.removed.map((x) => <li key={x}><del><span className="sr-only">{t('ntf.removed')} </span>− {x}</del></li>)}</ul>}</td>
      <td>{c.added.length === 0 ? t('ntf.noneAdded') : <ul className="plain">{c.added.map((x) => <li key={x}><ins><span className="sr-only">{t('ntf.added')} </span>+ {x}</ins></li>)}</ul>}
        {c.kept.length > 0 && <p className="help">{t('ntf.kept', { items: c.kept.join(', ') })}</p>}</td>
    </>
  );
}

/** One notification: its fields with the form's labels, the full before/after of a change, deliveries and receipt. */
export function NotificationDetail({ id }: { id: string }) {
  const { t, pick } = useI18n();
  const n = useApi<{ notification: Notification }>(`/api/v1/notifications/${encodeURIComponent(id)}`);
  const form = useApi<{ form: FormVersion }>(n.status === 'ok' ? `/api/v1/forms/${encodeURIComponent(n.data.notification.form)}/${n.data.notification.formVersion}` : null);
  // The fields are shown once their form's labels are there (until then its keys would show, codes in either language).
  const label = (key: string) => (form.status === 'ok' ? pick(form.data.form.fields.find((f) => f.key === key)?.label) || key : key);
  return (
    <>
      <PageTitle>{t('ntf.title')}</PageTitle>
      <p><Link to="/app/notifications">{t('ntf.back')}</Link></p>
      <Async value={n}>
        {({ notification: x }) => (form.status === 'loading' ? <Loading /> : (
          <>
            <Facts rows={[
              [t('notifications.computer'), String(x.fields['computerName'] ?? x.computerId)],
              [t('notifications.kindCol'), <Badge tone={x.kind === 'introduction' ? 'info' : 'warn'}>{t(`notifications.kind.${x.kind}`)}</Badge>],
              [t('notifications.form'), `${form.status === 'ok' ? pick(form.data.form.title) : x.form} — ${t('notifications.version', { v: x.formVersion })}`],
              [t('notifications.filedAt'), <Time value={x.filedAt} />],
              ['SHA-256', <code className="hash">{x.sha256}</code>],
              [t('ntf.previous'), x.previousId === null ? t('ntf.noPrevious') : <Link to={`/app/notifications/${x.previousId}`}>{t('ntf.openPrevious')}</Link>],
              [t('incidents.receipt'), x.receiptId === null ? '—' : <ReceiptLinks id={x.receiptId} download={t('notifications.downloadReceipt')} />],
            ]} />
            {x.diff !== null && (
              <section aria-labelledby="ntf-diff"><h2 id="ntf-diff">{t('ntf.diff')}</h2>
                {x.diff.length === 0 ? <Empty>{t('ntf.noChanges')}</Empty> : (
                  <div className="table-wrap"><table>
                    <caption className="sr-only">{t('ntf.diff')}</caption>
                    <thead><tr><th scope="col">{t('ntf.field')}</th><th scope="col">{t('ntf.before')}</th><th scope="col">{t('ntf.after')}</th></tr></thead>
                    <tbody>{x.diff.map((c) => <tr key={c.key}><th scope="row">{label(c.key)}</th><ChangeCells field={c.key} before={c.before} after={c.after} /></tr>)}</tbody>
                  </table></div>
                )}
              </section>
            )}
            <section aria-labelledby="ntf-fields"><h2 id="ntf-fields">{t('ntf.fields')}</h2>
              <Facts rows={(form.status === 'ok' ? form.data.form.fields.map((f) => f.key) : Object.keys(x.fields)).map((k) => [label(k), <ValueText v={x.fields[k]} field={k} />])} />
            </section>
            <section aria-labelledby="ntf-deliveries"><h2 id="ntf-deliveries">{t('notifications.deliveries')}</h2>
              <ul>{x.deliveries.map((d) => (
                <li key={d.recipient}>{t(`notifications.recipient.${d.recipient}` as MessageKey)}: {t('incidents.deliveredAt')} <Time value={d.deliveredAt} /> — {d.acknowledgedAt === null ? <Badge tone="warn">{t('notifications.notAcknowledged')}</Badge> : <><Badge tone="ok">{t('notifications.acknowledged')}</Badge> <Time value={d.acknowledgedAt} /></>}</li>
              ))}</ul>
            </section>
          </>
        ))}
      </Async>
    </>
  );
}
