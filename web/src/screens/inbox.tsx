// The inbox: filings to acknowledge (ministry, NCO), reminders and overdue notices (operator).
import { useState } from 'react';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { api } from '../lib/api.js';
import { Link, useRouter } from '../lib/router.js';
import { hasRole, useActor } from '../lib/session.js';
import { useCursorList } from '../lib/use-cursor-list.js';
import { MoreRows } from '../components/data-table.js';
import { useMessageText, type ServerMessage } from '../lib/messages.js';
import { Async, Badge, FormMessage, PageTitle, Time, useErrorText } from '../components/ui.js';
import { OverdueEscalation } from './incidents.js';

/** For a ministry: an overdue notice opens the report's overdue deadlines, to escalate them to the NCO. */
function EscalateFromInbox({ reportId }: { reportId: string }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const panel = `escalate-${reportId}`;
  return (
    <>
      <button type="button" aria-expanded={open} aria-controls={panel} onClick={() => setOpen(!open)}>{t('escalate.open')}</button>
      <div id={panel} hidden={!open}>{open && <OverdueEscalation reportId={reportId} />}</div>
    </>
  );
}

type InboxAbout = { type: 'report'; category: string; awareAt: string; version: number | null } | { type: 'notification'; kind: 'introduction' | 'change'; computerName: string | null };
interface InboxItem {
  id: string; recipient: string; kind: string; subjectType: string; subjectId: string; reportId: string | null; sector: string; note: string | null; message?: ServerMessage | null; createdAt: string;
  acknowledgedAt: string | null; orgName: string | null; orgNameJa: string | null; about: InboxAbout | null;
}

/** What an entry is about, in words, linked to its page: the report's category, awareness time and version, or the notified computer. */
function Subject({ i }: { i: InboxItem }) {
  const { t, code } = useI18n();
  const a = i.about;
  if (a?.type === 'report' && i.reportId !== null) {
    return (
      <Link to={`/app/incidents/${i.reportId}`}>
        {t('inboxq.report', { category: code('category.', a.category) })}{a.version !== null ? ` ${t('inboxq.version', { v: a.version })}` : ''}
        <span className="sub">{t('inboxq.aware')} <Time value={a.awareAt} /></span>
      </Link>
    );
  }
  if (a?.type === 'notification') {
    return <Link to={`/app/notifications/${i.subjectId}`}>{t('inboxq.notification', { kind: t(`notifications.kind.${a.kind}`), name: a.computerName ?? t('inboxq.unnamed') })}</Link>;
  }
  return i.reportId !== null ? <Link to={`/app/incidents/${i.reportId}`}>{t('inbox.report')}</Link> : <>{t('inboxq.unnamed')}</>;
}

export function Inbox() {
  const { t, lang } = useI18n();
  const actor = useActor();
  const errorText = useErrorText();
  const { path, search, navigate } = useRouter();
  const pending = search.get('pending') === '1';
  const inbox = useCursorList<InboxItem>(`/api/v1/inbox${pending ? '?unacknowledged=true' : ''}`, 50);
  const say = useMessageText();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState<string>();
  const canAck = hasRole(actor, 'ministry', 'analyst', 'nco_director');
  const ministry = hasRole(actor, 'ministry');
  const ack = async (id: string) => {
    setError(undefined);
    setBusy(id);
    try {
      await api(`/api/v1/inbox/${id}/acknowledge`, { method: 'POST', body: {} });
      inbox.reload();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(undefined);
    }
  };
  const togglePending = (on: boolean) => {
    const p = new URLSearchParams(search);
    if (on) p.set('pending', '1'); else p.delete('pending');
    navigate(`${path}${p.size > 0 ? `?${p.toString()}` : ''}`, { replace: true });
  };
  const operator = (i: InboxItem) => (lang === 'ja' ? i.orgNameJa ?? i.orgName : i.orgName) ?? t('inboxq.unknownOperator');
  return (
    <>
      <PageTitle>{t('inbox.title')}</PageTitle>
      <div className="filters"><label className="check"><input type="checkbox" checked={pending} onChange={(e) => togglePending(e.target.checked)} /> {t('inboxq.pendingOnly')}</label></div>
      <FormMessage error={error} />
      <Async value={inbox.state} isEmpty={(d) => d.items.length === 0} empty={pending ? t('inboxq.nonePending') : t('inbox.empty')}>
        {(d) => (
          <>
            <div className="table-wrap"><table className="inbox">
              <caption className="sr-only">{t('inbox.title')}</caption>
              <thead><tr><th scope="col">{t('inbox.kind')}</th><th scope="col">{t('inboxq.operator')}</th><th scope="col">{t('inbox.subject')}</th><th scope="col">{t('inbox.received')}</th><th scope="col">{t('inbox.state')}</th></tr></thead>
              <tbody>{d.items.map((i) => (
                <tr key={i.id}>
                  <td>{t(`inboxKind.${i.kind}` as MessageKey)}</td>
                  <td>{operator(i)}</td>
                  <td><Subject i={i} />{i.note !== null && <p className="help">{say(i.message, i.note)}</p>}
                    {ministry && i.kind === 'escalation' && i.reportId !== null && <EscalateFromInbox reportId={i.reportId} />}</td>
                  <td><Time value={i.createdAt} /></td>
                  <td className="ack-cell">{i.kind !== 'filing' ? '—' : i.acknowledgedAt !== null ? <Badge tone="ok">{t('incidents.acknowledged')}</Badge>
                    : canAck ? <button type="button" className="small" disabled={busy === i.id} onClick={() => void ack(i.id)}>{t('inbox.acknowledge')}</button>
                    : <Badge tone="warn">{t('incidents.notAcknowledged')}</Badge>}</td>
                </tr>
              ))}</tbody>
            </table></div>
            <MoreRows list={inbox} />
          </>
        )}
      </Async>
    </>
  );
}
