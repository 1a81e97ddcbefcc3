// The commission's docket: requests with their evidence, votes and deadlines; voting and closing the vote.
import { useState, type FormEvent } from 'react';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { api } from '../lib/api.js';
import { Link } from '../lib/router.js';
import { hasRole, useActor } from '../lib/session.js';
import { useApi } from '../lib/use-api.js';
import { minutesUntil } from '../lib/time.js';
import { Async, Badge, Facts, FormMessage, PageTitle, Time, useErrorText } from '../components/ui.js';

interface Vote { memberId: string; vote: 'approve' | 'deny' | 'abstain'; reasons: string; castAt: string }
interface Request {
  id: string;
  kind: string;
  status: string;
  title: string;
  scope: Record<string, unknown>;
  evidence: { type: string; id: string }[];
  raisedAt: string;
  submittedAt: string | null;
  decision: { result: string; tally: { approve: number; deny: number; abstain: number }; quorum: number; majority: string; decidedAt: string; narrowed: boolean; conditions: string[] } | null;
  approvalId: string | null;
  reviewDeadline: string | null;
  votes: Vote[];
  conflicts: { memberId: string; reason?: string }[];
}

const STATUS_TONE: Record<string, 'ok' | 'warn' | 'bad' | 'info' | 'muted'> = { draft: 'muted', submitted: 'warn', approved: 'ok', denied: 'bad', withdrawn: 'muted', lapsed: 'bad' };

function StatusBadge({ status }: { status: string }) {
  const { t } = useI18n();
  return <Badge tone={STATUS_TONE[status] ?? 'muted'}>{t(`requestStatus.${status}` as MessageKey)}</Badge>;
}

function Deadline({ iso }: { iso: string | null }) {
  const { t } = useI18n();
  if (iso === null) return <>—</>;
  const mins = minutesUntil(iso);
  return <><Time value={iso} /> {mins < 0 ? <Badge tone="bad">{t('requests.deadlinePassed')}</Badge> : <Badge tone={mins < 1440 ? 'warn' : 'info'}>{t('requests.hoursLeft', { h: Math.floor(mins / 60) })}</Badge>}</>;
}

export function RequestList() {
  const { t } = useI18n();
  const [status, setStatus] = useState('submitted');
  const list = useApi<{ requests: Request[] }>(`/api/v1/oversight/requests${status === '' ? '' : `?status=${status}`}`);
  return (
    <>
      <PageTitle>{t('requests.title')}</PageTitle>
      <div className="filters">
        <label htmlFor="status-filter">{t('requests.filter')}</label>
        <select id="status-filter" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">{t('requests.all')}</option>
          {['submitted', 'approved', 'denied', 'withdrawn', 'lapsed', 'draft'].map((s) => <option key={s} value={s}>{t(`requestStatus.${s}` as MessageKey)}</option>)}
        </select>
      </div>
      <Async value={list} isEmpty={(d) => d.requests.length === 0} empty={t('requests.empty')}>
        {(d) => (
          <div className="table-wrap"><table>
            <caption className="sr-only">{t('requests.title')}</caption>
            <thead><tr><th scope="col">{t('requests.name')}</th><th scope="col">{t('requests.kind')}</th><th scope="col">{t('requests.status')}</th><th scope="col">{t('requests.votes')}</th><th scope="col">{t('requests.deadline')}</th><th scope="col">{t('requests.submittedAt')}</th></tr></thead>
            <tbody>{d.requests.map((r) => (
              <tr key={r.id}>
                <td><Link to={`/app/requests/${r.id}`}>{r.title}</Link></td>
                <td>{t(`requestKind.${r.kind}` as MessageKey)}</td>
                <td><StatusBadge status={r.status} /></td>
                <td>{r.votes.length}</td>
                <td><Deadline iso={r.reviewDeadline} /></td>
                <td><Time value={r.submittedAt} /></td>
              </tr>
            ))}</tbody>
          </table></div>
        )}
      </Async>
    </>
  );
}

function VoteForm({ r, onDone }: { r: Request; onDone: (msg: string) => void }) {
  const { t } = useI18n();
  const errorText = useErrorText();
  const [vote, setVote] = useState<Vote['vote']>('approve');
  const [reasons, setReasons] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api(`/api/v1/oversight/requests/${r.id}/votes`, { method: 'POST', body: { vote, reasons } });
      onDone(t('requests.voted'));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} className="form action-form" aria-labelledby="vote-h">
      <h3 id="vote-h">{t('requests.vote')}</h3>
      <fieldset><legend>{t('requests.yourVote')}</legend>
        {(['approve', 'deny', 'abstain'] as const).map((v) => (
          <label key={v}><input type="radio" name="vote" value={v} checked={vote === v} onChange={() => setVote(v)} /> {t(`vote.${v}` as MessageKey)}</label>
        ))}
      </fieldset>
      <label htmlFor="reasons">{t('requests.reasons')}</label>
      <textarea id="reasons" required rows={3} value={reasons} onChange={(e) => setReasons(e.target.value)} />
      <FormMessage error={error} />
      <button type="submit" disabled={busy}>{busy ? t('state.working') : t('requests.castVote')}</button>
    </form>
  );
}

function DecideForm({ r, onDone }: { r: Request; onDone: (msg: string) => void }) {
  const { t } = useI18n();
  const errorText = useErrorText();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const decide = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const res = await api<{ request: Request }>(`/api/v1/oversight/requests/${r.id}/decision`, { method: 'POST', body: {} });
      onDone(t('requests.decided', { result: t(`requestStatus.${res.request.status}` as MessageKey) }));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="action-form" aria-labelledby="decide-h">
      <h3 id="decide-h">{t('requests.decide')}</h3>
      <p>{t('requests.decideHelp')}</p>
      <FormMessage error={error} />
      <button type="button" onClick={() => void decide()} disabled={busy}>{busy ? t('state.working') : t('requests.closeVote')}</button>
    </section>
  );
}

export function RequestDetail({ id }: { id: string }) {
  const { t } = useI18n();
  const actor = useActor();
  const req = useApi<{ request: Request }>(`/api/v1/oversight/requests/${encodeURIComponent(id)}`);
  const [done, setDone] = useState<string>();
  const after = (msg: string) => {
    setDone(msg);
    req.reload();
  };
  return (
    <>
      <PageTitle>{t('requests.detail')}</PageTitle>
      <div aria-live="polite">{done !== undefined && <p className="notice success" role="status">{done}</p>}</div>
      <Async value={req}>
        {({ request: r }) => {
          const mine = r.votes.find((v) => v.memberId === actor.id);
          const commissioner = hasRole(actor, 'commissioner');
          return (
            <>
              <h2 className="subtitle">{r.title}</h2>
              <Facts rows={[
                [t('requests.status'), <StatusBadge status={r.status} />],
                [t('requests.kind'), t(`requestKind.${r.kind}` as MessageKey)],
                [t('requests.scope'), <code className="scope">{JSON.stringify(r.scope, null, 1)}</code>],
                [t('requests.evidence'), r.evidence.length === 0 ? t('incidents.none') : <ul>{r.evidence.map((e) => <li key={`${e.type}:${e.id}`}>{t(`evidenceType.${e.type}` as MessageKey)}: {e.type === 'finding' ? <Link to={`/app/findings/${e.id}`}>{e.id}</Link> : <code>{e.id}</code>}</li>)}</ul>],
                [t('requests.submittedAt'), <Time value={r.submittedAt} />],
                [t('requests.deadline'), <Deadline iso={r.reviewDeadline} />],
              ]} />
              {r.decision !== null && (
                <section aria-labelledby="decision"><h2 id="decision">{t('requests.decision')}</h2>
                  <p><StatusBadge status={r.decision.result} /> {t('requests.tally', { approve: r.decision.tally.approve, deny: r.decision.tally.deny, abstain: r.decision.tally.abstain, quorum: r.decision.quorum })} — <Time value={r.decision.decidedAt} /></p>
                  {r.decision.conditions.length > 0 && <ul>{r.decision.conditions.map((c) => <li key={c}>{c}</li>)}</ul>}
                </section>
              )}
              <section aria-labelledby="votes"><h2 id="votes">{t('requests.votes')}</h2>
                {r.votes.length === 0 ? <p className="state empty">{t('requests.noVotes')}</p> : (
                  <ul>{r.votes.map((v) => <li key={v.memberId}><Badge tone={v.vote === 'approve' ? 'ok' : v.vote === 'deny' ? 'bad' : 'muted'}>{t(`vote.${v.vote}` as MessageKey)}</Badge> {v.memberId === actor.id ? t('requests.you') : t('requests.member', { id: v.memberId.slice(-6) })} — {v.reasons} (<Time value={v.castAt} />)</li>)}</ul>
                )}
              </section>
              {commissioner && r.status === 'submitted' && (mine === undefined ? <VoteForm r={r} onDone={after} /> : <p className="notice">{t('requests.alreadyVoted', { vote: t(`vote.${mine.vote}` as MessageKey) })}</p>)}
              {commissioner && r.status === 'submitted' && <DecideForm r={r} onDone={after} />}
            </>
          );
        }}
      </Async>
    </>
  );
}
