// The commission's docket: requests with their evidence, votes and deadlines; declaring a conflict, voting,
// and closing the vote (narrowing what is approved and adding conditions).
import { EmergencyRef } from '../components/ref-links.js';
import { useState, type FormEvent, type ReactNode } from 'react';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { api } from '../lib/api.js';
import { Link, useRouter } from '../lib/router.js';
import { hasRole, useActor } from '../lib/session.js';
import { useApi } from '../lib/use-api.js';
import { useAllPages } from '../lib/pages.js';
import { jstInputToIso, minutesUntil } from '../lib/time.js';
import { useSubmit } from '../lib/use-submit.js';
import { askedList, lines, narrowSelectors, SELECTORS, type Scope, type SelectorKey } from '../lib/narrowing.js';
import { ScopeFacts } from './approvals.js';
import { Async, Badge, Facts, FormMessage, PageTitle, Time, useErrorText } from '../components/ui.js';

/** A commission member by name (the id on hover); you, when it is you. */
function Member({ id, name }: { id: string; name?: string | null | undefined }) {
  const { t } = useI18n();
  const actor = useActor();
  if (id === actor.id) return <>{t('requests.you')}</>;
  return <span title={id}>{name ?? t('requests.unnamedMember')}</span>;
}

interface Vote { memberId: string; memberName?: string | null; vote: 'approve' | 'deny' | 'abstain'; reasons: string; castAt: string }
interface Request {
  id: string;
  kind: string;
  status: string;
  title: string;
  scope: Record<string, unknown>;
  evidence: { type: string; id: string }[];
  raisedBy: string;
  raisedAt: string;
  submittedAt: string | null;
  decision: { result: string; tally: { approve: number; deny: number; abstain: number }; quorum: number; majority: string; decidedAt: string; narrowed: boolean; conditions: string[] } | null;
  approvalId: string | null;
  reviewDeadline: string | null;
  votes: Vote[];
  conflicts: { memberId: string; memberName?: string | null; reason: string; declaredAt: string }[];
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
  const actor = useActor();
  const [status, setStatus] = useState('submitted');
  const list = useAllPages<Request>(`/api/v1/oversight/requests${status === '' ? '' : `?status=${status}`}`);
  return (
    <>
      <PageTitle actions={hasRole(actor, 'analyst', 'nco_director') ? <Link to="/app/requests/new">{t('requests.new')}</Link> : undefined}>{t('requests.title')}</PageTitle>
      <div className="filters">
        <label htmlFor="status-filter">{t('requests.filter')}</label>
        <select id="status-filter" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">{t('requests.all')}</option>
          {['submitted', 'approved', 'denied', 'withdrawn', 'lapsed', 'draft'].map((s) => <option key={s} value={s}>{t(`requestStatus.${s}` as MessageKey)}</option>)}
        </select>
      </div>
      <Async value={list} isEmpty={(d) => d.items.length === 0} empty={t('requests.empty')}>
        {(d) => (
          <div className="table-wrap"><table>
            <caption className="sr-only">{t('requests.title')}</caption>
            <thead><tr><th scope="col">{t('requests.name')}</th><th scope="col">{t('requests.kind')}</th><th scope="col">{t('requests.status')}</th><th scope="col">{t('requests.votes')}</th><th scope="col">{t('requests.deadline')}</th><th scope="col">{t('requests.submittedAt')}</th></tr></thead>
            <tbody>{d.items.map((r) => (
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

/** An ISO UTC time as a datetime-local value in JST. */
function isoToJstInput(iso: string): string {
  return new Date(Date.parse(iso) + 9 * 3_600_000).toISOString().slice(0, 16);
}


function ConflictForm({ r, onDone }: { r: Request; onDone: (msg: string) => void }) {
  const { t } = useI18n();
  const [reason, setReason] = useState('');
  const s = useSubmit();
  const submit = s.run(async () => {
    await api(`/api/v1/oversight/requests/${r.id}/conflicts`, { method: 'POST', body: { reason } });
    onDone(t('requests.conflictDeclared'));
  });
  return (
    <form onSubmit={submit} className="form action-form" aria-labelledby="conflict-h">
      <h3 id="conflict-h">{t('requests.declareConflict')}</h3>
      <p className="help" id="conflict-help">{t('requests.conflictHelp')}</p>
      <label htmlFor="conflict-reason">{t('requests.conflictReason')}</label>
      <textarea id="conflict-reason" required rows={2} value={reason} onChange={(e) => setReason(e.target.value)} aria-describedby="conflict-help" />
      <FormMessage error={s.error} />
      <button type="submit" disabled={s.busy}>{s.busy ? t('state.working') : t('requests.declareConflict')}</button>
    </form>
  );
}

interface Narrowing { selectors?: Scope; periodStart?: string; periodEnd?: string; pseudonyms?: string[]; validUntil?: string }

/** The narrowing fields of a request's kind, each starting at what was asked; `narrowing()` gives only what changed. */
function useNarrowing(r: Request) {
  const sc = r.scope;
  const sel = (sc['selectors'] ?? {}) as Scope;
  const askedPseudonyms = Array.isArray(sc['pseudonyms']) ? (sc['pseudonyms'] as string[]) : [];
  const [selectors, setSelectors] = useState(() => Object.fromEntries(SELECTORS.map((f) => [f.key, askedList(sel, f.key).join('\n')])) as Record<SelectorKey, string>);
  const [start, setStart] = useState(typeof sc['periodStart'] === 'string' ? isoToJstInput(sc['periodStart']) : '');
  const [end, setEnd] = useState(typeof sc['periodEnd'] === 'string' ? isoToJstInput(sc['periodEnd']) : '');
  const [pseudonyms, setPseudonyms] = useState<string[]>(askedPseudonyms);
  const [validUntil, setValidUntil] = useState('');
  const narrowing = (): Narrowing | 'bad-time' | 'bad-number' | 'bad-prefix' => {
    const n: Narrowing = {};
    if (r.kind === 'acquisition') {
      const narrowed = narrowSelectors(sel, selectors);
      if (narrowed === 'bad-number' || narrowed === 'bad-prefix') return narrowed;
      if (narrowed !== undefined) n.selectors = narrowed;
      if (start !== isoToJstInput(sc['periodStart'] as string)) {
        const iso = jstInputToIso(start);
        if (iso === undefined) return 'bad-time';
        n.periodStart = iso;
      }
      if (end !== isoToJstInput(sc['periodEnd'] as string)) {
        const iso = jstInputToIso(end);
        if (iso === undefined) return 'bad-time';
        n.periodEnd = iso;
      }
    } else if (r.kind === 'reidentification') {
      if (pseudonyms.length !== askedPseudonyms.length) n.pseudonyms = pseudonyms;
    } else if (r.kind === 'measure' && validUntil !== '') {
      const iso = jstInputToIso(validUntil);
      if (iso === undefined) return 'bad-time';
      n.validUntil = iso;
    }
    return n;
  };
  return { askedPseudonyms, selectors, setSelectors, start, setStart, end, setEnd, pseudonyms, setPseudonyms, validUntil, setValidUntil, narrowing };
}

function DecideForm({ r, onDone }: { r: Request; onDone: (msg: string) => void }) {
  const { t } = useI18n();
  const s = useSubmit();
  const n = useNarrowing(r);
  const [conditions, setConditions] = useState('');
  const submit = (e: FormEvent) => {
    const narrowing = n.narrowing();
    if (narrowing === 'bad-time' || narrowing === 'bad-number' || narrowing === 'bad-prefix') {
      e.preventDefault();
      s.fail(t(narrowing === 'bad-time' ? 'requests.badTime' : narrowing === 'bad-prefix' ? 'requests.badPrefix' : 'requests.badNumber'));
      return;
    }
    void s.run(async () => {
      const body = { ...(Object.keys(narrowing).length > 0 ? { narrowing } : {}), conditions: lines(conditions) };
      const res = await api<{ request: Request }>(`/api/v1/oversight/requests/${r.id}/decision`, { method: 'POST', body });
      onDone(t('requests.decided', { result: t(`requestStatus.${res.request.status}` as MessageKey) }));
    })(e);
  };
  return (
    <form onSubmit={submit} className="form action-form" aria-labelledby="decide-h">
      <h3 id="decide-h">{t('requests.decide')}</h3>
      <p>{t('requests.decideHelp')}</p>
      {r.kind !== 'emergency_review' && (
        <fieldset><legend>{t('requests.narrow')}</legend>
          <p className="help" id="narrow-help">{t('requests.narrowHelp')}</p>
          {r.kind === 'acquisition' && <>
            {SELECTORS.map((f) => (
              <div key={f.key} className="field">
                <label htmlFor={`narrow-${f.key}`}>{t(f.label)}</label>
                <textarea id={`narrow-${f.key}`} rows={f.key === 'foreignPrefixes' ? 3 : 2} value={n.selectors[f.key]} onChange={(e) => n.setSelectors({ ...n.selectors, [f.key]: e.target.value })} aria-describedby={f.key === 'foreignPrefixes' ? 'narrow-help' : 'narrow-help narrow-selectors-help'} />
              </div>
            ))}
            <p className="help" id="narrow-selectors-help">{t('requests.narrowSelectorsHelp')}</p>
            <label htmlFor="narrow-start">{t('requests.narrowStart')}</label>
            <input id="narrow-start" type="datetime-local" value={n.start} onChange={(e) => n.setStart(e.target.value)} aria-describedby="narrow-help" />
            <label htmlFor="narrow-end">{t('requests.narrowEnd')}</label>
            <input id="narrow-end" type="datetime-local" value={n.end} onChange={(e) => n.setEnd(e.target.value)} aria-describedby="narrow-help" />
          </>}
          {r.kind === 'reidentification' && n.askedPseudonyms.map((p) => (
            <label key={p}><input type="checkbox" checked={n.pseudonyms.includes(p)} onChange={(e) => n.setPseudonyms(e.target.checked ? [...n.pseudonyms, p] : n.pseudonyms.filter((x) => x !== p))} /> <code>{p}</code></label>
          ))}
          {r.kind === 'measure' && <>
            <label htmlFor="narrow-until">{t('requests.narrowUntil')}</label>
            <input id="narrow-until" type="datetime-local" value={n.validUntil} onChange={(e) => n.setValidUntil(e.target.value)} aria-describedby="narrow-help" />
          </>}
        </fieldset>
      )}
      <label htmlFor="decide-conditions">{t('requests.conditions')}</label>
      <textarea id="decide-conditions" rows={3} value={conditions} onChange={(e) => setConditions(e.target.value)} aria-describedby="conditions-help" />
      <p className="help" id="conditions-help">{t('requests.conditionsHelp')}</p>
      <FormMessage error={s.error} />
      <button type="submit" disabled={s.busy}>{s.busy ? t('state.working') : t('requests.closeVote')}</button>
    </form>
  );
}

function SubmitForm({ r, onDone }: { r: Request; onDone: (msg: string) => void }) {
  const { t } = useI18n();
  const s = useSubmit();
  const submit = s.run(async () => {
    await api(`/api/v1/oversight/requests/${r.id}/submit`, { method: 'POST', body: {} });
    onDone(t('requests.submitted'));
  });
  return (
    <form onSubmit={submit} className="form action-form" aria-labelledby="submit-h">
      <h3 id="submit-h">{t('requests.submitTitle')}</h3>
      <p className="help">{t('requests.submitHelp')}</p>
      <FormMessage error={s.error} />
      <button type="submit" disabled={s.busy}>{s.busy ? t('state.working') : t('requests.submit')}</button>
    </form>
  );
}

/** Withdrawing is final: a first press says what it ends, the second withdraws. */
function WithdrawForm({ r, onDone }: { r: Request; onDone: (msg: string) => void }) {
  const { t } = useI18n();
  const s = useSubmit();
  const [confirming, setConfirming] = useState(false);
  const withdraw = s.run(async () => {
    await api(`/api/v1/oversight/requests/${r.id}/withdraw`, { method: 'POST', body: {} });
    onDone(t('requests.withdrawn'));
  });
  const onSubmit = (e: FormEvent) => {
    if (confirming) return void withdraw(e);
    e.preventDefault();
    setConfirming(true);
  };
  return (
    <form onSubmit={onSubmit} className="form action-form" aria-labelledby="withdraw-h">
      <h3 id="withdraw-h">{t('requests.withdrawTitle')}</h3>
      <p className="help">{t('requests.withdrawHelp')}</p>
      {confirming && <p className="notice warn" role="alert">{t(r.status === 'submitted' ? 'requests.withdrawConfirmSubmitted' : 'requests.withdrawConfirmDraft')}</p>}
      <FormMessage error={s.error} />
      <div className="actions">
        <button type="submit" className={confirming ? 'danger' : 'secondary'} disabled={s.busy}>{s.busy ? t('state.working') : t(confirming ? 'requests.withdrawConfirm' : 'requests.withdraw')}</button>
        {confirming && <button type="button" className="secondary" onClick={() => setConfirming(false)}>{t('approvals.cancel')}</button>}
      </div>
    </form>
  );
}

export function RequestDetail({ id }: { id: string }) {
  const { t } = useI18n();
  const actor = useActor();
  const { search } = useRouter();
  const req = useApi<{ request: Request }>(`/api/v1/oversight/requests/${encodeURIComponent(id)}`);
  // Arriving from the drafting form says the draft was made (and who takes it further).
  const [done, setDone] = useState<string | undefined>(() => (search.get('drafted') === '1' ? t('requests.drafted') : search.get('edited') === '1' ? t('requests.edited') : undefined));
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
          const myConflict = r.conflicts.find((c) => c.memberId === actor.id);
          const commissioner = hasRole(actor, 'commissioner');
          const open = commissioner && r.status === 'submitted' && myConflict === undefined;
          return (
            <>
              <h2 className="subtitle">{r.title}</h2>
              <Facts rows={[
                [t('requests.status'), <StatusBadge status={r.status} />],
                [t('requests.kind'), t(`requestKind.${r.kind}` as MessageKey)],
                ...(r.kind === 'emergency_review' ? [[t('requests.scope'), typeof (r.scope as { emergencyActionId?: unknown }).emergencyActionId === 'string' ? <EmergencyRef id={(r.scope as { emergencyActionId: string }).emergencyActionId} /> : '—'] as [string, ReactNode]] : []),
                [t('requests.evidence'), r.evidence.length === 0 ? t('incidents.none') : <ul>{r.evidence.map((e) => <li key={`${e.type}:${e.id}`}>{t(`evidenceType.${e.type}` as MessageKey)}: {e.type === 'finding' ? <Link to={`/app/findings/${e.id}`}>{e.id}</Link> : <code>{e.id}</code>}</li>)}</ul>],
                [t('requests.submittedAt'), <Time value={r.submittedAt} />],
                [t('requests.deadline'), <Deadline iso={r.reviewDeadline} />],
              ]} />
              {(r.kind === 'acquisition' || r.kind === 'measure' || r.kind === 'reidentification') && (
                <section aria-labelledby="scope-h"><h2 id="scope-h">{t('requests.scope')}</h2><ScopeFacts a={{ kind: r.kind, scope: r.scope }} /></section>
              )}
              {r.decision !== null && (
                <section aria-labelledby="decision"><h2 id="decision">{t('requests.decision')}</h2>
                  <p><StatusBadge status={r.decision.result} /> {t('requests.tally', { approve: r.decision.tally.approve, deny: r.decision.tally.deny, abstain: r.decision.tally.abstain, quorum: r.decision.quorum })} — <Time value={r.decision.decidedAt} /></p>
                  {r.decision.narrowed && <p><Badge tone="info">{t('requests.narrowed')}</Badge></p>}
                  {r.approvalId !== null && <p><Link to={`/app/approvals/${r.approvalId}`}>{t('requests.openApproval')}</Link></p>}
                  {r.decision.conditions.length > 0 && <><h3>{t('requests.conditions')}</h3><ul>{r.decision.conditions.map((c) => <li key={c}>{c}</li>)}</ul></>}
                </section>
              )}
              <section aria-labelledby="votes"><h2 id="votes">{t('requests.votes')}</h2>
                {r.votes.length === 0 ? <p className="state empty">{t('requests.noVotes')}</p> : (
                  <ul>{r.votes.map((v) => <li key={v.memberId}><Badge tone={v.vote === 'approve' ? 'ok' : v.vote === 'deny' ? 'bad' : 'muted'}>{t(`vote.${v.vote}` as MessageKey)}</Badge> <Member id={v.memberId} name={v.memberName} /> — {v.reasons} (<Time value={v.castAt} />)</li>)}</ul>
                )}
              </section>
              {r.conflicts.length > 0 && (
                <section aria-labelledby="conflicts"><h2 id="conflicts">{t('requests.conflicts')}</h2>
                  <ul>{r.conflicts.map((c) => <li key={c.memberId}><Member id={c.memberId} name={c.memberName} /> — {c.reason} (<Time value={c.declaredAt} />)</li>)}</ul>
                </section>
              )}
              {myConflict !== undefined && r.status === 'submitted' && <p className="notice" role="note">{t('requests.excluded')}</p>}
              {open && (mine === undefined ? <VoteForm r={r} onDone={after} /> : <p className="notice">{t('requests.alreadyVoted', { vote: t(`vote.${mine.vote}` as MessageKey) })}</p>)}
              {open && mine === undefined && <ConflictForm r={r} onDone={after} />}
              {open && <DecideForm r={r} onDone={after} />}
              {r.status === 'draft' && (r.raisedBy === actor.id || hasRole(actor, 'nco_director')) && (
                <p><Link to={`/app/requests/${encodeURIComponent(r.id)}/edit`}>{t('requests.edit')}</Link></p>
              )}
              {r.status === 'draft' && hasRole(actor, 'nco_director') && <SubmitForm r={r} onDone={after} />}
              {(r.status === 'draft' || r.status === 'submitted') && r.kind !== 'emergency_review' && hasRole(actor, 'nco_director') && <WithdrawForm r={r} onDone={after} />}
            </>
          );
        }}
      </Async>
    </>
  );
}
