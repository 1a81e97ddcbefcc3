// Commission: emergency actions under retroactive review (with their deadlines), the report to the Diet
// (its figures as tables, a printable HTML copy, publishing it on the public page), and inspection (data held by basis, discards, who read what).
import { useState, type FormEvent, type ReactNode } from 'react';
import { useActorLabel, useBasisNames } from '../lib/names.js';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { ja } from '../i18n/ja.js';
import { api } from '../lib/api.js';
import { Link, useRouter } from '../lib/router.js';
import { ReadGroups, useGroupKeys, type GroupBy } from './inspection-groups.js';
import { ObjectRef, useActionLabel } from '../components/audit-names.js';
import { useApi } from '../lib/use-api.js';
import { useAllPages } from '../lib/pages.js';
import { useSubmit } from '../lib/use-submit.js';
import { jstInputToIso, minutesUntil, nowJstInput } from '../lib/time.js';
import { Async, Badge, Facts, FormMessage, PageTitle, Time } from '../components/ui.js';

interface EmergencyAction {
  id: string;
  kind: string;
  title: string;
  justification: string;
  scope: Record<string, unknown>;
  evidence: { type: string; id: string }[];
  actedBy: string;
  actedAt: string;
  agency: string | null;
  measureId: string | null;
  reviewRequestId: string | null;
  reviewDeadline: string;
  status: 'awaiting_review' | 'ratified' | 'halting' | 'halted';
  haltReason: string | null;
  haltedAt: string | null;
  purgedFlows: number | null;
  flagged: boolean;
}

const EMERGENCY_TONE = { awaiting_review: 'warn', ratified: 'ok', halting: 'bad', halted: 'bad' } as const;

/** A review deadline with the time left, or "passed" (only while the review is open). */
function ReviewDeadline({ iso, open }: { iso: string; open: boolean }) {
  const { t } = useI18n();
  const mins = minutesUntil(iso);
  return (
    <><Time value={iso} /> {open && (mins < 0
      ? <Badge tone="bad">{t('requests.deadlinePassed')}</Badge>
      : <Badge tone={mins < 1440 ? 'warn' : 'info'}>{t('requests.hoursLeft', { h: Math.floor(mins / 60) })}</Badge>)}</>
  );
}

export function EmergencyList() {
  const { t, code } = useI18n();
  const [status, setStatus] = useState('awaiting_review');
  const list = useAllPages<EmergencyAction>(`/api/v1/oversight/emergency-actions${status === '' ? '' : `?status=${status}`}`);
  return (
    <>
      <PageTitle>{t('emergency.title')}</PageTitle>
      <p>{t('emergency.intro')}</p>
      <div className="filters">
        <label htmlFor="emergency-filter">{t('requests.filter')}</label>
        <select id="emergency-filter" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">{t('requests.all')}</option>
          {(['awaiting_review', 'ratified', 'halting', 'halted'] as const).map((s) => <option key={s} value={s}>{t(`emergencyStatus.${s}`)}</option>)}
        </select>
      </div>
      <Async value={list} isEmpty={(d) => d.items.length === 0} empty={t('emergency.empty')}>
        {(d) => (
          <div className="table-wrap"><table>
            <caption className="sr-only">{t('emergency.title')}</caption>
            <thead><tr><th scope="col">{t('emergency.name')}</th><th scope="col">{t('emergency.agency')}</th><th scope="col">{t('emergency.status')}</th><th scope="col">{t('emergency.actedAt')}</th><th scope="col">{t('emergency.deadline')}</th><th scope="col">{t('emergency.review')}</th></tr></thead>
            <tbody>{d.items.map((e) => (
              <tr key={e.id}>
                <td>
                  {e.measureId !== null ? <Link to={`/app/measures/${e.measureId}`}>{e.title}</Link> : e.title}
                  <p className="help">{e.justification}</p>
                  {e.flagged && <Badge tone="bad">{t('emergency.flagged')}</Badge>}
                </td>
                <td>{e.agency === null ? '—' : t(`role.${e.agency}` as MessageKey)}</td>
                <td>
                  <Badge tone={EMERGENCY_TONE[e.status]}>{t(`emergencyStatus.${e.status}`)}</Badge>
                  {e.haltReason !== null && <p className="help">{t('emergency.haltReason', { reason: code('emergencyHalt.', e.haltReason) })}</p>}
                  {e.purgedFlows !== null && <p className="help">{t('emergency.purged', { n: e.purgedFlows })}</p>}
                </td>
                <td><Time value={e.actedAt} /></td>
                <td><ReviewDeadline iso={e.reviewDeadline} open={e.status === 'awaiting_review'} /></td>
                <td>{e.reviewRequestId === null ? '—' : <Link to={`/app/requests/${e.reviewRequestId}`}>{t('emergency.openReview')}</Link>}</td>
              </tr>
            ))}</tbody>
          </table></div>
        )}
      </Async>
    </>
  );
}

// ---- Diet report -------------------------------------------------------------------------------

type Figure = number | string | boolean | null | Figure[] | { [k: string]: Figure };
interface DietReport {
  id: string;
  title: { ja: string; en: string };
  window: { from: string; to: string };
  generatedAt: string;
  checkpoint: { size: number; root: string; createdAt: string };
  verified: { entriesHashed: number; rootMatches: boolean };
  figures: Record<string, Figure>;
  figuresSha256: string;
  sources: Record<string, boolean>;
  reconciliation: Reconciliation;
}

interface Reconciliation {
  checkpointSize: number; beforePeriod: number; inPeriod: number; afterPeriod: number; counted: number; notCounted: number; notSuccessful: number;
  byAction: Record<string, { entries: number; counted: number; notCounted: number; notSuccessful: number }>;
  differences: { key: 'beforePeriod' | 'afterPeriod' | 'notCounted' | 'notSuccessful' | 'afterCheckpoint' | 'sums'; entries: number | null }[];
}

/** How the checkpoint's entries add up to what the figures count; each difference in words, the period's entries by action. */
function ReconciliationView({ x }: { x: Reconciliation }) {
  const { t } = useI18n();
  const actionLabel = useActionLabel();
  const rows = Object.entries(x.byAction).sort((a, b) => b[1].entries - a[1].entries || a[0].localeCompare(b[0]));
  return (
    <section aria-labelledby="reconcile-h">
      <h2 id="reconcile-h">{t('reconcile.title')}</h2>
      <p className="help">{t('reconcile.intro')}</p>
      <Facts rows={[
        [t('reconcile.checkpoint'), String(x.checkpointSize)], [t('reconcile.before'), String(x.beforePeriod)], [t('reconcile.in'), String(x.inPeriod)],
        [t('reconcile.after'), String(x.afterPeriod)], [t('reconcile.counted'), String(x.counted)], [t('reconcile.notCounted'), String(x.notCounted)],
        [t('reconcile.notSuccessful'), String(x.notSuccessful)],
      ]} />
      <p><strong>{t('reconcile.sum', { size: x.checkpointSize, before: x.beforePeriod, inPeriod: x.inPeriod, after: x.afterPeriod, counted: x.counted, notCounted: x.notCounted, notSuccessful: x.notSuccessful })}</strong></p>
      <ol>{x.differences.map((d) => <li key={d.key}>{t(`reconcile.d.${d.key}`, { n: d.entries ?? 0 })}</li>)}</ol>
      <div className="table-wrap"><table>
        <caption>{t('reconcile.byAction')}</caption>
        <thead><tr><th scope="col">{t('reconcile.action')}</th><th scope="col">{t('reconcile.entries')}</th><th scope="col">{t('reconcile.counted')}</th><th scope="col">{t('reconcile.notCounted')}</th><th scope="col">{t('reconcile.notSuccessful')}</th></tr></thead>
        <tbody>{rows.map(([a, v]) => <tr key={a}><th scope="row" title={a}>{actionLabel(a)}</th><td>{v.entries}</td><td>{v.counted}</td><td>{v.notCounted}</td><td>{v.notSuccessful}</td></tr>)}</tbody>
      </table></div>
    </section>
  );
}

/** The label of a figure's key: translated when the catalogue knows it, else the key itself as code. */
function useKeyLabel(): (k: string) => ReactNode {
  const { t } = useI18n();
  return (k) => (`diet.key.${k}` in ja ? t(`diet.key.${k}` as MessageKey) : <code>{k}</code>);
}

const isRecord = (v: Figure): v is { [k: string]: Figure } => typeof v === 'object' && v !== null && !Array.isArray(v);
const isFlat = (v: { [k: string]: Figure }) => Object.values(v).every((x) => !isRecord(x));

function Value({ v }: { v: Figure }) {
  const { t } = useI18n();
  if (Array.isArray(v)) return v.length === 0 ? <>{t('incidents.none')}</> : <>{v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(', ')}</>;
  if (typeof v === 'boolean') return <>{v ? t('diet.yes') : t('diet.no')}</>;
  if (isRecord(v)) return <code>{JSON.stringify(v)}</code>;
  return <>{v === null ? '—' : String(v)}</>;
}

/** One group of figures: a matrix when its values are records of numbers, a two-column table when flat. */
function FigureTable({ name, value, level }: { name: string; value: Figure; level: 2 | 3 }) {
  const { t } = useI18n();
  const label = useKeyLabel();
  const H = level === 2 ? 'h2' : 'h3';
  const id = `fig-${level}-${name}`;
  if (!isRecord(value)) return <p><strong>{label(name)}</strong>: <Value v={value} /></p>;
  const entries = Object.entries(value);
  if (entries.length === 0) return <section aria-labelledby={id}><H id={id}>{label(name)}</H><p className="state empty">{t('diet.nothing')}</p></section>;
  if (isFlat(value)) {
    return (
      <section aria-labelledby={id}><H id={id}>{label(name)}</H>
        <div className="table-wrap"><table aria-labelledby={id}>
          <thead><tr><th scope="col">{t('diet.item')}</th><th scope="col">{t('diet.value')}</th></tr></thead>
          <tbody>{entries.map(([k, v]) => <tr key={k}><th scope="row">{label(k)}</th><td><Value v={v} /></td></tr>)}</tbody>
        </table></div>
      </section>
    );
  }
  const rows = entries.filter(([, v]) => isRecord(v) && isFlat(v)) as [string, { [k: string]: Figure }][];
  const rest = entries.filter(([, v]) => !(isRecord(v) && isFlat(v)));
  const cols = [...new Set(rows.flatMap(([, v]) => Object.keys(v)))];
  return (
    <section aria-labelledby={id}><H id={id}>{label(name)}</H>
      {rows.length > 0 && (rows.every(([, v]) => Object.keys(v).length === 0)
        ? <p className="state empty">{t('diet.nothing')}</p>
        : (
          <div className="table-wrap"><table aria-labelledby={id}>
            <thead><tr><th scope="col">{t('diet.item')}</th>{cols.map((c) => <th key={c} scope="col">{label(c)}</th>)}</tr></thead>
            <tbody>{rows.map(([k, v]) => <tr key={k}><th scope="row">{label(k)}</th>{cols.map((c) => <td key={c}>{v[c] === undefined ? '—' : <Value v={v[c]!} />}</td>)}</tr>)}</tbody>
          </table></div>
        ))}
      {rest.map(([k, v]) => (level === 2 ? <FigureTable key={k} name={k} value={v} level={3} /> : <p key={k}><strong>{label(k)}</strong>: <Value v={v} /></p>))}
    </section>
  );
}

/** Publishes the report of this period on the public transparency page. */
function PublishReport({ from, to }: { from: string; to: string }) {
  const { t } = useI18n();
  const s = useSubmit();
  const submit = s.run(() => api('/api/v1/oversight/published-reports', { method: 'POST', body: { from, to } }), t('diet.published'));
  return (
    <form onSubmit={submit} className="action-form" aria-labelledby="publish-h">
      <h3 id="publish-h">{t('diet.publish')}</h3>
      <p className="help">{t('diet.publishHelp')}</p>
      <FormMessage error={s.error} success={s.success} />
      {s.success !== undefined && <p><Link to="/app/transparency">{t('nav.transparency')}</Link></p>}
      <button type="submit" disabled={s.busy || s.success !== undefined}>{s.busy ? t('state.working') : t('diet.publish')}</button>
    </form>
  );
}

function DietReportView({ from, to }: { from: string; to: string }) {
  const { t, pick } = useI18n();
  const r = useApi<{ report: DietReport }>(`/api/v1/oversight/diet-report?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
  const label = useKeyLabel();
  return (
    <Async value={r}>
      {({ report }) => (
        <>
          <h2 className="subtitle">{pick(report.title)}</h2>
          <Facts rows={[
            [t('diet.window'), <><Time value={report.window.from} /> – <Time value={report.window.to} /></>],
            [t('diet.generatedAt'), <Time value={report.generatedAt} />],
            [t('diet.checkpoint'), <>{t('diet.checkpointSize', { n: report.checkpoint.size })} <code>{report.checkpoint.root}</code></>],
            [t('diet.verified'), report.verified.rootMatches
              ? <Badge tone="ok">{t('diet.rootMatches', { n: report.verified.entriesHashed })}</Badge>
              : <Badge tone="bad">{t('diet.rootMismatch')}</Badge>],
            [t('diet.sha'), <code>{report.figuresSha256}</code>],
            [t('diet.sources'), <ul>{Object.entries(report.sources).map(([k, v]) => <li key={k}>{label(k)}: {v ? t('diet.yes') : t('diet.no')}</li>)}</ul>],
          ]} />
          <p><a href={`/api/v1/oversight/diet-report?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&format=html`} target="_blank" rel="noopener">{t('diet.printable')}</a></p>
          <PublishReport from={from} to={to} />
          {Object.entries(report.figures).map(([k, v]) => <FigureTable key={k} name={k} value={v} level={2} />)}
          <ReconciliationView x={report.reconciliation} />
        </>
      )}
    </Async>
  );
}

export function DietReportScreen() {
  const { t } = useI18n();
  const now = nowJstInput();
  const [from, setFrom] = useState(`${now.slice(0, 4)}-01-01T00:00`);
  const [to, setTo] = useState(now);
  const [period, setPeriod] = useState<{ from: string; to: string }>();
  const [error, setError] = useState<string>();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const f = jstInputToIso(from);
    const u = jstInputToIso(to);
    if (f === undefined || u === undefined || f >= u) {
      setError(t('diet.badPeriod'));
      return;
    }
    setError(undefined);
    setPeriod({ from: f, to: u });
  };
  return (
    <>
      <PageTitle>{t('diet.title')}</PageTitle>
      <p>{t('diet.intro')}</p>
      <form onSubmit={submit} className="form filters" aria-label={t('diet.period')}>
        <label htmlFor="diet-from">{t('diet.from')}</label>
        <input id="diet-from" type="datetime-local" required value={from} onChange={(e) => setFrom(e.target.value)} aria-describedby="diet-help" />
        <label htmlFor="diet-to">{t('diet.to')}</label>
        <input id="diet-to" type="datetime-local" required value={to} onChange={(e) => setTo(e.target.value)} aria-describedby="diet-help" />
        <p id="diet-help" className="help">{t('diet.help')}</p>
        <div aria-live="assertive">{error !== undefined && <p className="error" role="alert">{error}</p>}</div>
        <button type="submit">{t('diet.compute')}</button>
      </form>
      {period !== undefined && <DietReportView key={`${period.from}|${period.to}`} from={period.from} to={period.to} />}
    </>
  );
}

// ---- Inspection ----------------------------------------------------------------------------------

interface Inventory {
  connected: boolean;
  holdings: { basisId: string; flows: number; bytes: number; partitions: number; oldest: string | null; newest: string | null }[];
  discards: { exporter: string; category: string; reason: string; count: number }[];
}
interface Reads {
  from: number;
  to: number;
  size: number;
  reads: { index: number; time: string; actor: string; userId: string; roles: string[]; action: string; object: { type: string; id: string } | null; legalBasis: string | null; outcome: string }[];
}

const PAGE = 1000;

export function Inspection() {
  const { t, code } = useI18n();
  const basisName = useBasisNames();
  const actionLabel = useActionLabel();
  const { path, search, navigate } = useRouter();
  const groupBy: GroupBy = search.get('group') === 'request' ? 'request' : search.get('group') === 'none' ? 'none' : 'basis';
  const { keysOf, requestTitle } = useGroupKeys(groupBy);
  const openGroup = groupBy === 'none' ? null : search.get('in');
  const setGroup = (g: string) => {
    const p = new URLSearchParams(search);
    if (g === 'basis') p.delete('group'); else p.set('group', g);
    p.delete('in');
    navigate(`${path}${p.size > 0 ? `?${p.toString()}` : ''}`, { replace: true });
  };
  const actorLabel = useActorLabel();
  const inv = useApi<Inventory>('/api/v1/oversight/inspection/inventory');
  const [from, setFrom] = useState<number>();
  const reads = useApi<Reads>(`/api/v1/oversight/inspection/reads${from === undefined ? '' : `?from=${from}&to=${from + PAGE}`}`);
  const deletions = useApi<{ certificates: { index: number; time: string; basisId: string | null; details: Record<string, string | number | boolean | null> }[] }>('/api/v1/oversight/inspection/deletions');
  const n = (v: unknown): string => (typeof v === 'number' ? String(v) : '0');
  return (
    <>
      <PageTitle>{t('inspection.title')}</PageTitle>
      <p>{t('inspection.intro')}</p>
      <section aria-labelledby="holdings"><h2 id="holdings">{t('inspection.holdings')}</h2>
        <Async value={inv}>
          {(d) => (
            <>
              {!d.connected && <p className="notice" role="status">{t('inspection.notConnected')}</p>}
              {d.holdings.length === 0 ? <p className="state empty">{t('inspection.noHoldings')}</p> : (
                <div className="table-wrap"><table>
                  <caption className="sr-only">{t('inspection.holdings')}</caption>
                  <thead><tr><th scope="col">{t('inspection.basis')}</th><th scope="col">{t('inspection.flows')}</th><th scope="col">{t('inspection.bytes')}</th><th scope="col">{t('inspection.partitions')}</th><th scope="col">{t('inspection.oldest')}</th><th scope="col">{t('inspection.newest')}</th></tr></thead>
                  <tbody>{d.holdings.map((h) => <tr key={h.basisId}><td title={h.basisId}>{basisName(h.basisId)}</td><td>{h.flows}</td><td>{h.bytes}</td><td>{h.partitions}</td><td><Time value={h.oldest} /></td><td><Time value={h.newest} /></td></tr>)}</tbody>
                </table></div>
              )}
              <h2 id="discards">{t('inspection.discards')}</h2>
              {d.discards.length === 0 ? <p className="state empty">{t('inspection.noDiscards')}</p> : (
                <div className="table-wrap"><table aria-labelledby="discards">
                  <thead><tr><th scope="col">{t('counters.exporter')}</th><th scope="col">{t('counters.category')}</th><th scope="col">{t('inspection.reason')}</th><th scope="col">{t('counters.flows')}</th></tr></thead>
                  <tbody>{d.discards.map((r) => <tr key={`${r.exporter}|${r.category}|${r.reason}`}><td>{r.exporter}</td><td>{t(`flowCategory.${r.category}` as MessageKey)}</td><td>{code('discardReason.', r.reason)}</td><td>{r.count}</td></tr>)}</tbody>
                </table></div>
              )}
            </>
          )}
        </Async>
      </section>
      <section aria-labelledby="deletions"><h2 id="deletions">{t('inspection.deletions')}</h2>
        <p className="help">{t('inspection.deletionsHelp')}</p>
        <Async value={deletions} isEmpty={(d) => d.certificates.length === 0} empty={t('inspection.noDeletions')}>
          {(d) => (
            <div className="table-wrap"><table aria-labelledby="deletions">
              <thead><tr><th scope="col">#</th><th scope="col">{t('inspection.time')}</th><th scope="col">{t('inspection.basis')}</th><th scope="col">{t('inspection.cause')}</th><th scope="col">{t('inspection.flows')}</th><th scope="col">{t('inspection.findingsGone')}</th><th scope="col">{t('inspection.recalls')}</th><th scope="col">{t('inspection.hashes')}</th></tr></thead>
              <tbody>{d.certificates.map((c) => (
                <tr key={c.index}>
                  <td>{c.index}</td>
                  <td><Time value={c.time} /></td>
                  <td>{c.basisId === null ? '—' : <span title={c.basisId}>{basisName(c.basisId)}</span>}</td>
                  <td>{code('deletionCause.', String(c.details['cause']))}</td>
                  <td>{n(c.details['archiveFlows'])} / {n(c.details['archivePartitions'])}</td>
                  <td>{n(c.details['findingsDeleted'])} / {n(c.details['findingsWithdrawn'])}</td>
                  <td>{n(c.details['recallNotices'])}</td>
                  <td><code title={String(c.details['archiveHash'] ?? '')}>{String(c.details['archiveHash'] ?? '').slice(0, 12)}…</code></td>
                </tr>
              ))}</tbody>
            </table></div>
          )}
        </Async>
      </section>
      <section aria-labelledby="reads"><h2 id="reads">{t('inspection.reads')}</h2>
        <Async value={reads}>
          {(d) => (
            <>
              <p>{t('inspection.range', { from: d.from, to: d.to, size: d.size })}</p>
              <div className="actions">
                <button type="button" disabled={d.from === 0} onClick={() => setFrom(Math.max(0, d.from - PAGE))}>{t('inspection.earlier')}</button>{' '}
                <button type="button" disabled={d.to >= d.size} onClick={() => setFrom(d.to)}>{t('inspection.later')}</button>
              </div>
              <div className="filters"><label htmlFor="insp-group">{t('inspectq.groupBy')}</label>
                <select id="insp-group" value={groupBy} onChange={(e) => setGroup(e.target.value)}>
                  <option value="basis">{t('inspectq.byBasis')}</option>
                  <option value="request">{t('inspectq.byRequest')}</option>
                  <option value="none">{t('inspectq.ungrouped')}</option>
                </select></div>
              {groupBy !== 'none' && d.reads.length > 0 && (
                <ReadGroups reads={d.reads} groupBy={groupBy} keysOf={keysOf} name={groupBy === 'basis' ? basisName : requestTitle} />
              )}
              {openGroup !== null && <h3>{t('inspectq.readsIn', { group: openGroup === '-' ? t(groupBy === 'basis' ? 'inspectq.noBasis' : 'inspectq.noRequest') : groupBy === 'basis' ? basisName(openGroup) : requestTitle(openGroup) })}</h3>}
              {groupBy !== 'none' && openGroup === null && d.reads.length > 0 && <p className="help">{t('inspectq.pick')}</p>}
              {d.reads.length === 0 ? <p className="state empty">{t('inspection.noReads')}</p> : (
                <div className="table-wrap"><table aria-labelledby="reads">
                  <thead><tr><th scope="col">#</th><th scope="col">{t('inspection.time')}</th><th scope="col">{t('inspection.who')}</th><th scope="col">{t('inspection.action')}</th><th scope="col">{t('inspection.object')}</th><th scope="col">{t('inspection.basis')}</th><th scope="col">{t('inspection.outcome')}</th></tr></thead>
                  <tbody>{d.reads.filter((r) => openGroup === null || keysOf(r).includes(openGroup)).map((r) => (
                    <tr key={r.index}>
                      <td>{r.index}</td>
                      <td><Time value={r.time} /></td>
                      <td title={r.actor}>{actorLabel(r.actor)} ({r.roles.map((x) => t(`role.${x}` as MessageKey)).join(', ')})</td>
                      <td title={r.action}>{actionLabel(r.action)}</td>
                      <td>{r.object === null ? '—' : <ObjectRef o={r.object} />}</td>
                      <td>{r.legalBasis === null ? '—' : <span title={r.legalBasis}>{r.legalBasis.split(',').map(basisName).join('、')}</span>}</td>
                      <td><Badge tone={r.outcome === 'success' ? 'ok' : 'bad'}>{r.outcome === 'success' ? t('inspection.success') : t('inspection.failure')}</Badge></td>
                    </tr>
                  ))}</tbody>
                </table></div>
              )}
            </>
          )}
        </Async>
      </section>
    </>
  );
}
