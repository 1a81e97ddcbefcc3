// The inbox: filings to acknowledge (ministry, NCO), reminders and overdue notices (operator).
import { useState } from 'react';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { api } from '../lib/api.js';
import { Link } from '../lib/router.js';
import { hasRole, useActor } from '../lib/session.js';
import { useApi } from '../lib/use-api.js';
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

interface InboxItem { id: string; recipient: string; kind: string; subjectType: string; reportId: string | null; sector: string; note: string | null; createdAt: string; acknowledgedAt: string | null }

export function Inbox() {
  const { t } = useI18n();
  const actor = useActor();
  const errorText = useErrorText();
  const inbox = useApi<{ items: InboxItem[] }>('/api/v1/inbox');
  const [error, setError] = useState<string>();
  const canAck = hasRole(actor, 'ministry', 'analyst', 'nco_director');
  const ministry = hasRole(actor, 'ministry');
  const ack = async (id: string) => {
    setError(undefined);
    try {
      await api(`/api/v1/inbox/${id}/acknowledge`, { method: 'POST', body: {} });
      inbox.reload();
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <>
      <PageTitle>{t('inbox.title')}</PageTitle>
      <FormMessage error={error} />
      <Async value={inbox} isEmpty={(d) => d.items.length === 0} empty={t('inbox.empty')}>
        {(d) => (
          <div className="table-wrap"><table>
            <thead><tr><th scope="col">{t('inbox.kind')}</th><th scope="col">{t('inbox.subject')}</th><th scope="col">{t('inbox.received')}</th><th scope="col">{t('inbox.state')}</th></tr></thead>
            <tbody>{d.items.map((i) => (
              <tr key={i.id}>
                <td>{t(`inboxKind.${i.kind}` as MessageKey)}</td>
                <td>{i.reportId !== null ? <Link to={`/app/incidents/${i.reportId}`}>{t('inbox.report')}</Link> : i.subjectType}{i.note !== null ? ` — ${i.note}` : ''}
                  {ministry && i.kind === 'escalation' && i.reportId !== null && <EscalateFromInbox reportId={i.reportId} />}</td>
                <td><Time value={i.createdAt} /></td>
                <td>{i.kind !== 'filing' ? '—' : i.acknowledgedAt !== null ? <Badge tone="ok">{t('incidents.acknowledged')}</Badge>
                  : canAck ? <button type="button" onClick={() => void ack(i.id)}>{t('inbox.acknowledge')}</button> : <Badge tone="warn">{t('incidents.notAcknowledged')}</Badge>}</td>
              </tr>
            ))}</tbody>
          </table></div>
        )}
      </Async>
    </>
  );
}
