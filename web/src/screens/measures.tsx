// Measures: the list by state, and one measure with its target, justification, authority and step log,
// with the action this role may take next (submit, the Prime Minister's order for the SDF, a Foreign
// Ministry consultation on a target abroad, execute, record a step, complete, review).
import { useState } from 'react';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { api } from '../lib/api.js';
import { Link, useRouter } from '../lib/router.js';
import { hasRole, useActor, type Actor } from '../lib/session.js';
import { useApi } from '../lib/use-api.js';
import { useAllPages } from '../lib/pages.js';
import { useSubmit } from '../lib/use-submit.js';
import { Async, Badge, Facts, FormMessage, PageTitle, Time } from '../components/ui.js';
import { ApprovalRef, FindingRef, RequestRef } from '../components/ref-links.js';
import { useMessageText, type ServerMessage } from '../lib/messages.js';

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
  sdfGrounds: { graveTarget: { kind: string; reference: string }; attackerAssessment: string; reasons: string } | null;
  order: { reference: string; issuedBy: string; issuedAt: string; reason: string } | null;
  consultations: { id: string; reference: string; outcome: 'no_objection' | 'concerns_noted'; summary: string; recordedAt: string }[];
  requestId: string | null;
  approvalId: string | null;
  authorization: unknown;
  steps: { action: string; result?: string | null; at?: string; actor?: string }[];
  events: MeasureEvent[];
  proposedAt: string;
  updatedAt: string;
}

const STATE_TONE: Record<string, 'ok' | 'warn' | 'bad' | 'info' | 'muted'> = { proposed: 'info', submitted: 'warn', approved: 'ok', ordered: 'ok', executing: 'warn', executed: 'ok', failed: 'bad', halted: 'bad', reviewed: 'muted' };

interface MeasureEvent { seq: number; transition: string; from: string | null; to: string; roles: string[]; at: string; reason: string | null; message?: ServerMessage | null; details?: Record<string, unknown> }

/** An event's reason: the system's in the reader's language (the approval it names linked), people's as written. */
function EventReason({ e }: { e: MeasureEvent }) {
  const say = useMessageText();
  if (e.reason === null) return null;
  const approvalId = e.message?.params['approvalId'];
  return <>: {say(e.message, e.reason)}{typeof approvalId === 'string' && <> (<ApprovalRef id={approvalId} />)</>}</>;
}

export function StateBadge({ state }: { state: string }) {
  const { t } = useI18n();
  return <Badge tone={STATE_TONE[state] ?? 'muted'}>{t(`measureState.${state}` as MessageKey)}</Badge>;
}

function targetText(target: Record<string, unknown>): string {
  return Object.entries(target).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join('; ');
}

export function MeasureList() {
  const { t } = useI18n();
  const list = useAllPages<Measure>('/api/v1/response/measures');
  return (
    <>
      <PageTitle>{t('measures.title')}</PageTitle>
      <Async value={list} isEmpty={(d) => d.items.length === 0} empty={t('measures.empty')}>
        {(d) => (
          <div className="table-wrap"><table>
            <caption className="sr-only">{t('measures.title')}</caption>
            <thead><tr><th scope="col">{t('measures.name')}</th><th scope="col">{t('measures.kind')}</th><th scope="col">{t('measures.state')}</th><th scope="col">{t('measures.agency')}</th><th scope="col">{t('measures.updatedAt')}</th></tr></thead>
            <tbody>{d.items.map((m) => (
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

type ActionKind = 'submit' | 'order' | 'consult' | 'execute' | 'step' | 'complete' | 'review';

const BEFORE_EXECUTION = ['proposed', 'submitted', 'approved', 'ordered'];

function actionsFor(actor: Actor, m: Measure): ActionKind[] {
  const out: ActionKind[] = [];
  if (m.state === 'proposed' && hasRole(actor, 'nco_director')) out.push('submit');
  if (m.agency === 'sdf' && m.state === 'approved' && hasRole(actor, 'prime_minister')) out.push('order');
  if (m.location?.abroad === true && BEFORE_EXECUTION.includes(m.state) && hasRole(actor, 'foreign_ministry')) out.push('consult');
  const executor = (m.agency === 'police' && hasRole(actor, 'police')) || (m.agency === 'sdf' && hasRole(actor, 'sdf'));
  if (executor && ((m.agency === 'police' && m.state === 'approved') || (m.agency === 'sdf' && m.state === 'ordered'))) out.push('execute');
  if (executor && m.state === 'executing') out.push('step', 'complete');
  if (['executed', 'failed', 'halted'].includes(m.state) && hasRole(actor, 'nco_director', 'commissioner')) out.push('review');
  return out;
}

function ActionForm({ m, kind, onDone }: { m: Measure; kind: ActionKind; onDone: (msg: string) => void }) {
  const { t } = useI18n();
  const [reason, setReason] = useState('');
  const [result, setResult] = useState('');
  const [reference, setReference] = useState('');
  const [outcome, setOutcome] = useState<'executed' | 'failed'>('executed');
  const [consulted, setConsulted] = useState<'no_objection' | 'concerns_noted'>('no_objection');
  const s = useSubmit();
  const submit = s.run(async () => {
    const path = `/api/v1/response/measures/${m.id}/${kind === 'step' ? 'steps' : kind === 'consult' ? 'consultations' : kind}`;
    const body = kind === 'step' ? { action: reason, ...(result !== '' ? { result } : {}) }
      : kind === 'complete' ? { outcome, reason }
        : kind === 'order' ? { reference, reason }
          : kind === 'consult' ? { reference, outcome: consulted, summary: reason }
            : { reason };
    await api(path, { method: 'POST', body });
    setReason('');
    setResult('');
    setReference('');
    onDone(t(`measures.done.${kind}` as MessageKey));
  });
  const id = `act-${kind}`;
  const reasonLabel = kind === 'step' ? t('measures.stepAction') : kind === 'order' ? t('measures.orderReason') : kind === 'consult' ? t('measures.consultSummary') : t('measures.reason');
  return (
    <form onSubmit={submit} className="form action-form" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>{t(`measures.action.${kind}` as MessageKey)}</h3>
      {(kind === 'order' || kind === 'consult') && <><label htmlFor={`${id}-ref`}>{t('measures.reference')}</label><input id={`${id}-ref`} required value={reference} onChange={(e) => setReference(e.target.value)} /></>}
      {kind === 'complete' && (
        <fieldset><legend>{t('measures.outcome')}</legend>
          <label><input type="radio" name="outcome" checked={outcome === 'executed'} onChange={() => setOutcome('executed')} /> {t('measureState.executed')}</label>
          <label><input type="radio" name="outcome" checked={outcome === 'failed'} onChange={() => setOutcome('failed')} /> {t('measureState.failed')}</label>
        </fieldset>
      )}
      {kind === 'consult' && (
        <fieldset><legend>{t('measures.consultOutcome')}</legend>
          {(['no_objection', 'concerns_noted'] as const).map((o) => <label key={o}><input type="radio" name="consulted" checked={consulted === o} onChange={() => setConsulted(o)} /> {t(`consultOutcome.${o}`)}</label>)}
        </fieldset>
      )}
      <label htmlFor={`${id}-reason`}>{reasonLabel}</label>
      <textarea id={`${id}-reason`} required rows={2} value={reason} onChange={(e) => setReason(e.target.value)} />
      {kind === 'step' && <><label htmlFor={`${id}-result`}>{t('measures.stepResult')}</label><input id={`${id}-result`} value={result} onChange={(e) => setResult(e.target.value)} /></>}
      <FormMessage error={s.error} />
      <button type="submit" disabled={s.busy}>{s.busy ? t('state.working') : t(`measures.action.${kind}` as MessageKey)}</button>
    </form>
  );
}

/** The authority beyond the commission's approval: the SDF's grounds and the Prime Minister's order, and consultations on a target abroad. */
function Authority({ x }: { x: Measure }) {
  const { t } = useI18n();
  const waits = x.agency === 'sdf' && x.state === 'approved' && x.order === null ? t('measures.waitsForOrder')
    : x.location?.abroad === true && BEFORE_EXECUTION.includes(x.state) && x.consultations.length === 0 ? t('measures.waitsForConsult') : undefined;
  return (
    <>
      {waits !== undefined && <p className="notice" role="note">{waits}</p>}
      {x.agency === 'sdf' && (
        <section aria-labelledby="sdf"><h2 id="sdf">{t('measures.order')}</h2>
          {x.sdfGrounds !== null && <Facts rows={[
            [t('measures.sdfGrounds'), <>{t(`graveTarget.${x.sdfGrounds.graveTarget.kind}` as MessageKey)} (<code>{x.sdfGrounds.graveTarget.reference}</code>) · {t(`attacker.${x.sdfGrounds.attackerAssessment}` as MessageKey)} — {x.sdfGrounds.reasons}</>],
          ]} />}
          {x.order === null ? <p className="state empty">{t('measures.noOrder')}</p> : <Facts rows={[
            [t('measures.reference'), <><code>{x.order.reference}</code> (<Time value={x.order.issuedAt} />)</>],
            [t('measures.orderReason'), x.order.reason],
          ]} />}
        </section>
      )}
      {x.location?.abroad === true && (
        <section aria-labelledby="consultations"><h2 id="consultations">{t('measures.consultations')}</h2>
          {x.consultations.length === 0 ? <p className="state empty">{t('measures.noConsultations')}</p> : (
            <ul>{x.consultations.map((c) => <li key={c.id}><Badge tone={c.outcome === 'no_objection' ? 'ok' : 'warn'}>{t(`consultOutcome.${c.outcome}`)}</Badge> <code>{c.reference}</code> — {c.summary} (<Time value={c.recordedAt} />)</li>)}</ul>
          )}
        </section>
      )}
    </>
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
              [t('measures.location'), x.location === null ? '—' : `${x.location.abroad ? t('measures.abroad') : t('measures.domestic')}${x.location.countries.length > 0 ? ` (${x.location.countries.join(', ')})` : ''}`],
              [t('measures.justification'), x.justification.summary],
              [t('measures.findings'), x.justification.findings.length === 0 ? t('incidents.none') : <>{x.justification.findings.map((f, i) => <span key={f}>{i > 0 && ', '}<FindingRef id={f} /></span>)}</>],
              [t('measures.expectedEffect'), x.expectedEffect],
              [t('measures.request'), x.requestId === null ? t('measures.noRequest') : <RequestRef id={x.requestId} />],
              [t('measures.proposedAt'), <Time value={x.proposedAt} />],
            ]} />
            <Authority x={x} />
            {actionsFor(actor, x).map((k) => <ActionForm key={k} m={x} kind={k} onDone={(msg) => { setDone(msg); m.reload(); }} />)}
            <section aria-labelledby="events"><h2 id="events">{t('measures.events')}</h2>
              <ol className="timeline">{x.events.map((e) => (
                <li key={e.seq}><Time value={e.at} /> — <strong>{t(`transition.${e.transition}` as MessageKey)}</strong> ({e.from === null ? '' : `${t(`measureState.${e.from}` as MessageKey)} → `}{t(`measureState.${e.to}` as MessageKey)}) · {e.roles.length === 0 ? t('event.bySystem') : e.roles.map((r) => t(`role.${r}` as MessageKey)).join(', ')}<EventReason e={e} /></li>
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
