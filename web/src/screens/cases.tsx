// Analyst: cases — the list, opening one (from a finding or empty), and one case with its items and notes.
import { useMemo, useState } from 'react';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { api } from '../lib/api.js';
import { Link, useRouter } from '../lib/router.js';
import { hasRole, useActor } from '../lib/session.js';
import { useApi } from '../lib/use-api.js';
import { Async, Badge, Facts, FormMessage, PageTitle, Time } from '../components/ui.js';
import { useSubmit } from '../lib/use-submit.js';
import { DraftIntelForm } from './drafts.js';
import { DataTable, type Column } from '../components/data-table.js';
import { useCursorList } from '../lib/use-cursor-list.js';

const CASE_STATUSES = ['open', 'investigating', 'measure-proposed', 'closed'] as const;
type CaseStatus = (typeof CASE_STATUSES)[number];

interface CaseSummary { id: string; title: string; status: CaseStatus; ownerId: string; ownerName: string | null; createdBy: string; createdByName: string | null; createdAt: string; updatedAt: string }
interface Case extends CaseSummary {
  items: { type: 'finding' | 'report'; id: string; addedBy: string; addedByName: string | null; addedAt: string }[];
  notes: { id: string; authorId: string; authorName: string | null; text: string; createdAt: string }[];
}

const STATUS_TONE: Record<CaseStatus, 'ok' | 'warn' | 'info' | 'muted'> = { open: 'info', investigating: 'warn', 'measure-proposed': 'ok', closed: 'muted' };

function CaseStatusBadge({ status }: { status: CaseStatus }) {
  const { t } = useI18n();
  return <Badge tone={STATUS_TONE[status] ?? 'muted'}>{t(`caseStatus.${status}` as MessageKey)}</Badge>;
}

/** A person by the display name the API gives, marked when it is you; an id that names no user shows its last characters. */
function Who({ id, name }: { id: string; name: string | null }) {
  const { t } = useI18n();
  const actor = useActor();
  const label = name ?? t('cases.user', { id: id.slice(-6) });
  return <>{id === actor.id ? `${label} (${t('requests.you')})` : label}</>;
}

/** Opens a case (optionally holding one finding) and goes to it. */
export function OpenCaseForm({ findingId, defaultTitle = '' }: { findingId?: string; defaultTitle?: string }) {
  const { t } = useI18n();
  const { navigate } = useRouter();
  const submit = useSubmit();
  const [title, setTitle] = useState(defaultTitle);
  const run = submit.run(async () => {
    const c = await api<Case>('/api/v1/cases', { method: 'POST', body: { title, findingIds: findingId === undefined ? [] : [findingId] } });
    navigate(`/app/cases/${c.id}?opened=1`);
  });
  return (
    <section aria-labelledby="open-case" className="action-form">
      <h2 id="open-case">{findingId === undefined ? t('cases.new') : t('cases.fromFinding')}</h2>
      <form onSubmit={run} className="form">
        <label htmlFor="case-title">{t('cases.name')}</label>
        <input id="case-title" required maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} />
        <FormMessage error={submit.error} />
        <button type="submit" disabled={submit.busy}>{submit.busy ? t('state.working') : t('cases.open')}</button>
      </form>
    </section>
  );
}

export function CaseList() {
  const { t } = useI18n();
  const actor = useActor();
  const { path, search, navigate } = useRouter();
  // The status filter lives in the URL and goes to the server, so a filtered list holds every matching case, page by page.
  const status = (CASE_STATUSES as readonly string[]).includes(search.get('status') ?? '') ? search.get('status')! : '';
  const list = useCursorList<CaseSummary>(`/api/v1/cases${status === '' ? '' : `?status=${encodeURIComponent(status)}`}`, 100);
  const setStatus = (v: string) => {
    const p = new URLSearchParams(search);
    if (v === '') p.delete('status'); else p.set('status', v);
    p.delete('page');
    navigate(`${path}${p.size > 0 ? `?${p.toString()}` : ''}`, { replace: true });
  };
  const columns = useMemo<Column<CaseSummary>[]>(() => [
    { id: 'title', header: t('cases.name'), value: (c) => c.title, cell: (c) => <Link to={`/app/cases/${c.id}`}>{c.title}</Link> },
    { id: 'status', header: t('cases.status'), value: (c) => t(`caseStatus.${c.status}` as MessageKey), cell: (c) => <CaseStatusBadge status={c.status} /> },
    { id: 'owner', header: t('cases.owner'), value: (c) => c.ownerName ?? '', cell: (c) => <Who id={c.ownerId} name={c.ownerName} /> },
    { id: 'createdAt', header: t('cases.createdAt'), value: (c) => c.createdAt, cell: (c) => <Time value={c.createdAt} /> },
    { id: 'updatedAt', header: t('cases.updatedAt'), value: (c) => c.updatedAt, cell: (c) => <Time value={c.updatedAt} /> },
  ], [t]);
  const toolbar = (
    <span><label htmlFor="case-status-filter">{t('requests.filter')}</label>
      <select id="case-status-filter" value={status} onChange={(e) => setStatus(e.target.value)}>
        <option value="">{t('requests.all')}</option>
        {CASE_STATUSES.map((s) => <option key={s} value={s}>{t(`caseStatus.${s}` as MessageKey)}</option>)}
      </select></span>
  );
  return (
    <>
      <PageTitle>{t('cases.title')}</PageTitle>
      <Async value={list.state}>
        {(d) => (
          <DataTable rows={d.items} columns={columns} rowId={(c) => c.id} caption={t('cases.title')} defaultSort={[{ id: 'updatedAt', desc: true }]} toolbar={toolbar} more={list}
            empty={status === '' ? t('cases.empty') : t('cases.noneWithStatus', { status: t(`caseStatus.${status as CaseStatus}` as MessageKey) })} />
        )}
      </Async>
      {hasRole(actor, 'analyst', 'nco_director') && <OpenCaseForm />}
    </>
  );
}

function StatusForm({ c, onDone }: { c: Case; onDone: (msg: string) => void }) {
  const { t } = useI18n();
  const submit = useSubmit();
  const [status, setStatus] = useState<CaseStatus>(c.status);
  const run = submit.run(async () => {
    await api(`/api/v1/cases/${c.id}`, { method: 'PATCH', body: { status } });
    onDone(t('cases.statusChanged', { status: t(`caseStatus.${status}` as MessageKey) }));
  });
  return (
    <form onSubmit={run} className="form action-form" aria-labelledby="case-status-h">
      <h3 id="case-status-h">{t('cases.changeStatus')}</h3>
      <label htmlFor="case-status">{t('cases.status')}</label>
      <select id="case-status" value={status} onChange={(e) => setStatus(e.target.value as CaseStatus)}>
        {CASE_STATUSES.map((s) => <option key={s} value={s}>{t(`caseStatus.${s}` as MessageKey)}</option>)}
      </select>
      <FormMessage error={submit.error} />
      <button type="submit" disabled={submit.busy || status === c.status}>{submit.busy ? t('state.working') : t('cases.saveStatus')}</button>
    </form>
  );
}

function ItemForm({ c, onDone }: { c: Case; onDone: (msg: string) => void }) {
  const { t } = useI18n();
  const submit = useSubmit();
  const [type, setType] = useState<'finding' | 'report'>('finding');
  const [id, setId] = useState('');
  const run = submit.run(async () => {
    await api(`/api/v1/cases/${c.id}/items`, { method: 'POST', body: { type, id: id.trim() } });
    setId('');
    onDone(t('cases.itemAdded'));
  });
  return (
    <form onSubmit={run} className="form action-form" aria-labelledby="case-item-h">
      <h3 id="case-item-h">{t('cases.addItem')}</h3>
      <fieldset><legend>{t('cases.itemType')}</legend>
        {(['finding', 'report'] as const).map((v) => (
          <label key={v}><input type="radio" name="item-type" value={v} checked={type === v} onChange={() => setType(v)} /> {t(`evidenceType.${v}` as MessageKey)}</label>
        ))}
      </fieldset>
      <label htmlFor="case-item-id">{t('cases.itemId')}</label>
      <input id="case-item-id" required maxLength={100} value={id} onChange={(e) => setId(e.target.value)} aria-describedby="case-item-help" />
      <p id="case-item-help" className="help">{t('cases.itemHelp')}</p>
      <FormMessage error={submit.error} />
      <button type="submit" disabled={submit.busy}>{submit.busy ? t('state.working') : t('cases.add')}</button>
    </form>
  );
}

function NoteForm({ c, onDone }: { c: Case; onDone: (msg: string) => void }) {
  const { t } = useI18n();
  const submit = useSubmit();
  const [text, setText] = useState('');
  const run = submit.run(async () => {
    await api(`/api/v1/cases/${c.id}/notes`, { method: 'POST', body: { text } });
    setText('');
    onDone(t('cases.noteAdded'));
  });
  return (
    <form onSubmit={run} className="form action-form" aria-labelledby="case-note-h">
      <h3 id="case-note-h">{t('cases.addNote')}</h3>
      <label htmlFor="case-note">{t('cases.noteText')}</label>
      <textarea id="case-note" required rows={3} maxLength={10000} value={text} onChange={(e) => setText(e.target.value)} />
      <FormMessage error={submit.error} />
      <button type="submit" disabled={submit.busy}>{submit.busy ? t('state.working') : t('cases.saveNote')}</button>
    </form>
  );
}

export function CaseDetail({ id }: { id: string }) {
  const { t } = useI18n();
  const actor = useActor();
  const { search } = useRouter();
  const c = useApi<Case>(`/api/v1/cases/${encodeURIComponent(id)}`);
  const [done, setDone] = useState<string | undefined>(search.get('opened') === '1' ? t('cases.opened') : undefined);
  const after = (msg: string) => {
    setDone(msg);
    c.reload();
  };
  const writer = hasRole(actor, 'analyst', 'nco_director');
  return (
    <>
      <PageTitle>{t('cases.detail')}</PageTitle>
      <div aria-live="polite">{done !== undefined && <p className="notice success" role="status">{done}</p>}</div>
      <Async value={c}>
        {(c) => (
          <>
            <h2 className="subtitle">{c.title}</h2>
            <Facts rows={[
              [t('cases.status'), <CaseStatusBadge status={c.status} />],
              [t('cases.owner'), <Who id={c.ownerId} name={c.ownerName} />],
              [t('cases.createdBy'), <Who id={c.createdBy} name={c.createdByName} />],
              [t('cases.createdAt'), <Time value={c.createdAt} />],
              [t('cases.updatedAt'), <Time value={c.updatedAt} />],
            ]} />
            <section aria-labelledby="case-items"><h2 id="case-items">{t('cases.items')}</h2>
              {c.items.length === 0 ? <p className="state empty">{t('cases.noItems')}</p> : (
                <div className="table-wrap"><table>
                  <caption className="sr-only">{t('cases.items')}</caption>
                  <thead><tr><th scope="col">{t('cases.itemType')}</th><th scope="col">{t('cases.itemId')}</th><th scope="col">{t('cases.addedBy')}</th><th scope="col">{t('cases.addedAt')}</th></tr></thead>
                  <tbody>{c.items.map((i) => (
                    <tr key={`${i.type}:${i.id}`}>
                      <td>{t(`evidenceType.${i.type}` as MessageKey)}</td>
                      <td>{i.type === 'finding' ? <Link to={`/app/findings/${i.id}`}>{i.id}</Link> : <Link to={`/app/incidents/${i.id}`}>{i.id}</Link>}</td>
                      <td><Who id={i.addedBy} name={i.addedByName} /></td>
                      <td><Time value={i.addedAt} /></td>
                    </tr>
                  ))}</tbody>
                </table></div>
              )}
            </section>
            <section aria-labelledby="case-notes"><h2 id="case-notes">{t('cases.notes')}</h2>
              {c.notes.length === 0 ? <p className="state empty">{t('cases.noNotes')}</p> : (
                <ol className="notes">{c.notes.map((n) => (
                  <li key={n.id}><p>{n.text}</p><p className="help"><Who id={n.authorId} name={n.authorName} /> — <Time value={n.createdAt} /></p></li>
                ))}</ol>
              )}
            </section>
            {writer && <NoteForm c={c} onDone={after} />}
            {writer && <ItemForm c={c} onDone={after} />}
            {writer && <StatusForm key={c.status} c={c} onDone={after} />}
            {writer && c.items.length > 0 && <DraftIntelForm source="case" id={c.id} defaultTitle={c.title} />}
          </>
        )}
      </Async>
    </>
  );
}
