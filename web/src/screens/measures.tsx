// Measures: the list by state, and one measure with its target, justification, authority and step log,
// with the action this role may take next (submit, execute, record a step, complete, review).
import { useState, type FormEvent } from 'react';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { api } from '../lib/api.js';
import { Link, useRouter } from '../lib/router.js';
import { hasRole, useActor, type Actor } from '../lib/session.js';
import { useApi } from '../lib/use-api.js';
import { Async, Badge, Facts, FormMessage, PageTitle, Time, useErrorText } from '../components/ui.js';

interface Measure {
  id: string;
  kind: string;
  title: string;
  state: string;
  agency: 'police' | 'sdf';
  target: Record<string, unknown>;
  justification: { findings: string[]; reports: string[]; summary: string };
  expectedEffect: string;
  location: { abroad: boolean; countries: string[] } | null;
  requestId: string | null;
  approvalId: string | null;
  authorization: unknown;
  steps: { action: string; result?: string | null; at?: string; actor?: string }[];
  events: { seq: number; transition: string; from: string | null; to: string; roles: string[]; at: string; reason: string | null }[];
  proposedAt: string;
  updatedAt: string;
}

const STATE_TONE: Record<string, 'ok' | 'warn' | 'bad' | 'info' | 'muted'> = { proposed: 'info', submitted: 'warn', approved: 'ok', ordered: 'ok', executing: 'warn', executed: 'ok', failed: 'bad', halted: 'bad', reviewed: 'muted' };

export function StateBadge({ state }: { state: string }) {
  const { t } = useI18n();
  return <Badge tone={STATE_TONE[state] ?? 'muted'}>{t(`measureState.${state}` as MessageKey)}</Badge>;
}

function targetText(target: Record<string, unknown>): string {
  return Object.entries(target).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join('; ');
}

export function MeasureList() {
  const { t } = useI18n();
  const list = useApi<{ measures: Measure[] }>('/api/v1/response/measures');
  return (
    <>
      <PageTitle>{t('measures.title')}</PageTitle>
      <Async value={list} isEmpty={(d) => d.measures.length === 0} empty={t('measures.empty')}>
        {(d) => (
          <div className="table-wrap"><table>
            <caption className="sr-only">{t('measures.title')}</caption>
            <thead><tr><th scope="col">{t('measures.name')}</th><th scope="col">{t('measures.kind')}</th><th scope="col">{t('measures.state')}</th><th scope="col">{t('measures.agency')}</th><th scope="col">{t('measures.updatedAt')}</th></tr></thead>
            <tbody>{d.measures.map((m) => (
              <tr key={m.id}>
                <td><Link to={`/app/measures/${m.id}`}>{m.title}</Link></td>
                <td>{t(`measureKind.${m.kind}` as MessageKey)}</td>
                <td><StateBadge state={m.state} /></td>
                <td>{t(`agency.${m.agency}` as MessageKey)}</td>
                <td><Time value={m.updatedAt} /></td>
              </tr>
            ))}</tbody>
          </table></div>
        )}
      </Async>
    </>
  );
}

type ActionKind = 'submit' | 'execute' | 'step' | 'complete' | 'review';

function actionsFor(actor: Actor, m: Measure): ActionKind[] {
  const out: ActionKind[] = [];
  if (m.state === 'proposed' && hasRole(actor, 'nco_director')) out.push('submit');
  const executor = (m.agency === 'police' && hasRole(actor, 'police')) || (m.agency === 'sdf' && hasRole(actor, 'sdf'));
  if (executor && ((m.agency === 'police' && m.state === 'approved') || (m.agency === 'sdf' && m.state === 'ordered'))) out.push('execute');
  if (executor && m.state === 'executing') out.push('step', 'complete');
  if (['executed', 'failed', 'halted'].includes(m.state) && hasRole(actor, 'nco_director', 'commissioner')) out.push('review');
  return out;
}

function ActionForm({ m, kind, onDone }: { m: Measure; kind: ActionKind; onDone: (msg: string) => void }) {
  const { t } = useI18n();
  const errorText = useErrorText();
  const [reason, setReason] = useState('');
  const [result, setResult] = useState('');
  const [outcome, setOutcome] = useState<'executed' | 'failed'>('executed');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const path = `/api/v1/response/measures/${m.id}/${kind === 'step' ? 'steps' : kind}`;
      const body = kind === 'step' ? { action: reason, ...(result !== '' ? { result } : {}) } : kind === 'complete' ? { outcome, reason } : { reason };
      await api(path, { method: 'POST', body });
      setReason('');
      setResult('');
      onDone(t(`measures.done.${kind}` as MessageKey));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const id = `act-${kind}`;
  return (
    <form onSubmit={submit} className="form action-form" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>{t(`measures.action.${kind}` as MessageKey)}</h3>
      {kind === 'complete' && (
        <fieldset><legend>{t('measures.outcome')}</legend>
          <label><input type="radio" name="outcome" checked={outcome === 'executed'} onChange={() => setOutcome('executed')} /> {t('measureState.executed')}</label>
          <label><input type="radio" name="outcome" checked={outcome === 'failed'} onChange={() => setOutcome('failed')} /> {t('measureState.failed')}</label>
        </fieldset>
      )}
      <label htmlFor={`${id}-reason`}>{kind === 'step' ? t('measures.stepAction') : t('measures.reason')}</label>
      <textarea id={`${id}-reason`} required rows={2} value={reason} onChange={(e) => setReason(e.target.value)} />
      {kind === 'step' && <><label htmlFor={`${id}-result`}>{t('measures.stepResult')}</label><input id={`${id}-result`} value={result} onChange={(e) => setResult(e.target.value)} /></>}
      <FormMessage error={error} />
      <button type="submit" disabled={busy}>{busy ? t('state.working') : t(`measures.action.${kind}` as MessageKey)}</button>
    </form>
  );
}

export function MeasureDetail({ id }: { id: string }) {
  const { t } = useI18n();
  const actor = useActor();
  const { search } = useRouter();
  const m = useApi<{ measure: Measure }>(`/api/v1/response/measures/${encodeURIComponent(id)}`);
  const [done, setDone] = useState<string | undefined>(search.get('proposed') === '1' ? t('measures.done.propose') : undefined);
  return (
    <>
      <PageTitle>{t('measures.detail')}</PageTitle>
      <div aria-live="polite">{done !== undefined && <p className="notice success" role="status">{done}</p>}</div>
      <Async value={m}>
        {({ measure: x }) => (
          <>
            <h2 className="subtitle">{x.title}</h2>
            <Facts rows={[
              [t('measures.state'), <StateBadge state={x.state} />],
              [t('measures.kind'), t(`measureKind.${x.kind}` as MessageKey)],
              [t('measures.agency'), t(`agency.${x.agency}` as MessageKey)],
              [t('measures.target'), <code>{targetText(x.target)}</code>],
              [t('measures.location'), x.location === null ? '—' : `${x.location.abroad ? t('measures.abroad') : t('measures.domestic')} (${x.location.countries.join(', ')})`],
              [t('measures.justification'), x.justification.summary],
              [t('measures.findings'), x.justification.findings.length === 0 ? t('incidents.none') : <>{x.justification.findings.map((f) => <Link key={f} to={`/app/findings/${f}`}>…{f.slice(-8)}</Link>)}</>],
              [t('measures.expectedEffect'), x.expectedEffect],
              [t('measures.request'), x.requestId === null ? t('measures.noRequest') : <Link to={`/app/requests/${x.requestId}`}>…{x.requestId.slice(-8)}</Link>],
              [t('measures.proposedAt'), <Time value={x.proposedAt} />],
            ]} />
            {actionsFor(actor, x).map((k) => <ActionForm key={k} m={x} kind={k} onDone={(msg) => { setDone(msg); m.reload(); }} />)}
            <section aria-labelledby="events"><h2 id="events">{t('measures.events')}</h2>
              <ol className="timeline">{x.events.map((e) => (
                <li key={e.seq}><Time value={e.at} /> — <strong>{t(`transition.${e.transition}` as MessageKey)}</strong> ({e.from === null ? '' : `${t(`measureState.${e.from}` as MessageKey)} → `}{t(`measureState.${e.to}` as MessageKey)}) · {e.roles.map((r) => t(`role.${r}` as MessageKey)).join(', ')}{e.reason !== null ? `: ${e.reason}` : ''}</li>
              ))}</ol>
            </section>
            {x.steps.length > 0 && (
              <section aria-labelledby="steps"><h2 id="steps">{t('measures.steps')}</h2>
                <ol>{x.steps.map((s, i) => <li key={i}>{s.at !== undefined && <><Time value={s.at} /> — </>}{s.action}{s.result != null ? ` → ${s.result}` : ''}</li>)}</ol>
              </section>
            )}
          </>
        )}
      </Async>
    </>
  );
}
