// The commission's approvals: what each authorizes (narrowed as decided), its conditions, validity and state;
// a commissioner revokes one with a reason, after confirming (its basis stops matching, its measure halts).
import { BasisRef } from '../components/ref-links.js';
import { useState, type FormEvent, type ReactNode } from 'react';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { api } from '../lib/api.js';
import { Link } from '../lib/router.js';
import { hasRole, useActor } from '../lib/session.js';
import { useApi } from '../lib/use-api.js';
import { useAllPages } from '../lib/pages.js';
import { useSubmit } from '../lib/use-submit.js';
import { Async, Badge, Facts, FormMessage, PageTitle, Time } from '../components/ui.js';

type State = 'active' | 'pending' | 'revoked' | 'expired';
interface Approval {
  id: string;
  requestId: string;
  kind: 'acquisition' | 'measure' | 'reidentification';
  scope: Record<string, unknown>;
  conditions: string[];
  validFrom: string;
  validUntil: string;
  basisId: string | null;
  measureId: string | null;
  emergency: boolean;
  revokedAt: string | null;
  revokeReason: string | null;
  expiredAt: string | null;
  createdAt: string;
  state: State;
}

const STATES: State[] = ['active', 'pending', 'revoked', 'expired'];
const STATE_TONE = { active: 'ok', pending: 'info', revoked: 'bad', expired: 'muted' } as const;
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

function StateBadge({ state }: { state: State }) {
  const { t } = useI18n();
  return <Badge tone={STATE_TONE[state]}>{t(`approvalState.${state}`)}</Badge>;
}

/** One line saying what an approval authorizes, for the list. */
function useAuthorizes(): (a: Approval) => string {
  const { t } = useI18n();
  return (a) => {
    const s = a.scope;
    if (a.kind === 'measure') return `${t(`measureKind.${String(s['measureKind'])}` as MessageKey)} (${t(`agency.${String(s['agency'])}` as MessageKey)}) — ${String(s['summary'] ?? '')}`;
    if (a.kind === 'reidentification') return t('approvals.pseudonymCount', { n: strings(s['pseudonyms']).length });
    const sel = (s['selectors'] ?? {}) as Record<string, unknown>;
    return `${t(`basisKind.${String(s['basisKind'])}` as MessageKey)}: ${strings(sel['foreignPrefixes']).join(', ')}`;
  };
}

/** Every field of an approval's (or a request's) scope as facts, selectors one row each. */
export function ScopeFacts({ a }: { a: Pick<Approval, 'kind' | 'scope'> }) {
  const { t } = useI18n();
  const s = a.scope;
  const list = (v: unknown): ReactNode => (strings(v).length === 0 ? t('approvals.any') : <code>{strings(v).join(', ')}</code>);
  if (a.kind === 'measure') {
    return <Facts rows={[
      [t('measures.kind'), t(`measureKind.${String(s['measureKind'])}` as MessageKey)],
      [t('measures.agency'), t(`agency.${String(s['agency'])}` as MessageKey)],
      [t('approvals.summary'), String(s['summary'] ?? '')],
    ]} />;
  }
  if (a.kind === 'reidentification') {
    return <Facts rows={[
      [t('approvals.pseudonyms'), list(s['pseudonyms'])],
      [t('approvals.basis'), typeof s['basisId'] === 'string' ? <BasisRef id={s['basisId']} /> : '—'],
      [t('approvals.purpose'), String(s['purpose'] ?? '')],
    ]} />;
  }
  const sel = (s['selectors'] ?? {}) as Record<string, unknown>;
  return <Facts rows={[
    [t('approvals.basisKind'), t(`basisKind.${String(s['basisKind'])}` as MessageKey)],
    [t('selector.foreignPrefixes'), list(sel['foreignPrefixes'])],
    [t('selector.domesticPrefixes'), list(sel['domesticPrefixes'])],
    [t('selector.exporters'), list(sel['exporters'])],
    [t('selector.ports'), list(sel['ports'])],
    [t('selector.protocols'), list(sel['protocols'])],
    [t('approvals.period'), <><Time value={s['periodStart'] as string} /> – <Time value={s['periodEnd'] as string} /></>],
    [t('approvals.retention'), t('approvals.days', { n: Number(s['retentionDays'] ?? 0) })],
    [t('approvals.purpose'), String(s['purpose'] ?? '')],
  ]} />;
}

export function ApprovalList() {
  const { t } = useI18n();
  const [state, setState] = useState<State | ''>('active');
  const [kind, setKind] = useState('');
  const query = new URLSearchParams({ ...(state === '' ? {} : { state }), ...(kind === '' ? {} : { kind }) }).toString();
  const list = useAllPages<Approval>(`/api/v1/oversight/approvals${query === '' ? '' : `?${query}`}`);
  const authorizes = useAuthorizes();
  return (
    <>
      <PageTitle>{t('approvals.title')}</PageTitle>
      <p>{t('approvals.intro')}</p>
      <div className="filters">
        <label htmlFor="approval-state">{t('approvals.filterState')}</label>
        <select id="approval-state" value={state} onChange={(e) => setState(e.target.value as State | '')}>
          <option value="">{t('requests.all')}</option>
          {STATES.map((s) => <option key={s} value={s}>{t(`approvalState.${s}`)}</option>)}
        </select>
      </div>
      <div className="filters">
        <label htmlFor="approval-kind">{t('approvals.filterKind')}</label>
        <select id="approval-kind" value={kind} onChange={(e) => setKind(e.target.value)}>
          <option value="">{t('requests.all')}</option>
          {(['acquisition', 'measure', 'reidentification'] as const).map((k) => <option key={k} value={k}>{t(`requestKind.${k}`)}</option>)}
        </select>
      </div>
      <Async value={list} isEmpty={(d) => d.items.length === 0} empty={t('approvals.empty')}>
        {(d) => (
          <div className="table-wrap"><table>
            <caption className="sr-only">{t('approvals.title')}</caption>
            <thead><tr><th scope="col">{t('requests.kind')}</th><th scope="col">{t('approvals.authorizes')}</th><th scope="col">{t('requests.conditions')}</th><th scope="col">{t('approvals.validity')}</th><th scope="col">{t('approvals.state')}</th></tr></thead>
            <tbody>{d.items.map((a) => (
              <tr key={a.id}>
                <td>{t(`requestKind.${a.kind}`)}{a.emergency && <> <Badge tone="warn">{t('approvals.emergency')}</Badge></>}</td>
                {/* The link names what is authorized, so each row's link says where it leads. */}
                <td><Link to={`/app/approvals/${a.id}`}>{authorizes(a)}</Link></td>
                <td>{a.conditions.length === 0 ? t('incidents.none') : <ul className="plain">{a.conditions.map((c) => <li key={c}>{c}</li>)}</ul>}</td>
                <td><Time value={a.validFrom} /> – <Time value={a.validUntil} /></td>
                <td><StateBadge state={a.state} /></td>
              </tr>
            ))}</tbody>
          </table></div>
        )}
      </Async>
    </>
  );
}

/** Revocation: the reason first, then an explicit confirmation naming what stops at once. */
function RevokeForm({ a, onDone }: { a: Approval; onDone: () => void }) {
  const { t } = useI18n();
  const submit = useSubmit();
  const [reason, setReason] = useState('');
  const [confirming, setConfirming] = useState(false);
  const revoke = submit.run(async () => {
    await api(`/api/v1/oversight/approvals/${encodeURIComponent(a.id)}/revoke`, { method: 'POST', body: { reason } });
    setConfirming(false);
    onDone();
  });
  const onSubmit = (e: FormEvent) => {
    if (confirming) return void revoke(e);
    e.preventDefault();
    if (reason.trim() === '') return submit.fail(t('approvals.reasonRequired'));
    submit.reset();
    setConfirming(true);
  };
  const consequence = a.kind === 'acquisition' ? 'approvals.confirm.acquisition' : a.kind === 'measure' ? 'approvals.confirm.measure' : 'approvals.confirm.reidentification';
  return (
    <form onSubmit={onSubmit} className="form action-form" aria-labelledby="revoke-h">
      <h2 id="revoke-h">{t('approvals.revoke')}</h2>
      <p className="help" id="revoke-help">{t('approvals.revokeHelp')}</p>
      <label htmlFor="revoke-reason">{t('approvals.revokeReason')}</label>
      <textarea id="revoke-reason" required maxLength={2000} rows={3} value={reason} readOnly={confirming} onChange={(e) => setReason(e.target.value)} aria-describedby="revoke-help" />
      {confirming && <p className="notice warn" role="alert">{t(consequence)}</p>}
      <FormMessage error={submit.error} />
      <div className="actions">
        <button type="submit" className={confirming ? 'danger' : undefined} disabled={submit.busy}>{submit.busy ? t('state.working') : t(confirming ? 'approvals.confirmRevoke' : 'approvals.revoke')}</button>
        {confirming && <button type="button" className="secondary" onClick={() => setConfirming(false)}>{t('approvals.cancel')}</button>}
      </div>
    </form>
  );
}

export function ApprovalDetail({ id }: { id: string }) {
  const { t } = useI18n();
  const actor = useActor();
  const res = useApi<{ approval: Approval }>(`/api/v1/oversight/approvals/${encodeURIComponent(id)}`);
  const [revoked, setRevoked] = useState(false);
  return (
    <>
      <PageTitle>{t('approvals.detail')}</PageTitle>
      <div aria-live="polite">{revoked && <p className="notice success" role="status">{t('approvals.revoked')}</p>}</div>
      <Async value={res}>
        {({ approval: a }) => (
          <>
            <Facts rows={[
              [t('approvals.state'), <StateBadge state={a.state} />],
              [t('requests.kind'), <>{t(`requestKind.${a.kind}`)}{a.emergency && <> <Badge tone="warn">{t('approvals.emergency')}</Badge></>}</>],
              [t('approvals.request'), <Link to={`/app/requests/${a.requestId}`}>{t('approvals.openRequest')}</Link>],
              [t('approvals.validity'), <><Time value={a.validFrom} /> – <Time value={a.validUntil} /></>],
              ...(a.measureId !== null ? [[t('approvals.measure'), <Link to={`/app/measures/${a.measureId}`}>{a.measureId}</Link>] as [string, ReactNode]] : []),
              ...(a.basisId !== null ? [[t('approvals.basis'), <BasisRef id={a.basisId} />] as [string, ReactNode]] : []),
              ...(a.revokedAt !== null ? [[t('approvals.revokedAt'), <><Time value={a.revokedAt} /> — {a.revokeReason}</>] as [string, ReactNode]] : []),
              ...(a.expiredAt !== null ? [[t('approvals.expiredAt'), <Time value={a.expiredAt} />] as [string, ReactNode]] : []),
            ]} />
            <section aria-labelledby="authorizes"><h2 id="authorizes">{t('approvals.authorizes')}</h2><ScopeFacts a={a} /></section>
            <section aria-labelledby="conditions"><h2 id="conditions">{t('requests.conditions')}</h2>
              {a.conditions.length === 0 ? <p className="state empty">{t('approvals.noConditions')}</p> : <ul>{a.conditions.map((c) => <li key={c}>{c}</li>)}</ul>}
            </section>
            {hasRole(actor, 'commissioner') && (a.state === 'active' || a.state === 'pending') && <RevokeForm a={a} onDone={() => { setRevoked(true); res.reload(); }} />}
          </>
        )}
      </Async>
    </>
  );
}
