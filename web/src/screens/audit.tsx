// The commission's audit log: entries filtered by actor, action, object, outcome and time (system and pipeline writes
// hidden unless asked for), paged through the server's cursor, each provable against the signed checkpoint in this browser.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { loadCheckpoint, proveEntry, type CheckpointView, type InclusionResult } from '../lib/audit.js';
import { useRouter } from '../lib/router.js';
import { useCursorList } from '../lib/use-cursor-list.js';
import { jstInputToIso } from '../lib/time.js';
import { Async, Badge, ErrorPanel, Loading, PageTitle, Time } from '../components/ui.js';
import { MoreRows } from '../components/data-table.js';
import { ObjectRef, useActionLabel } from '../components/audit-names.js';
import { ApiError } from '../lib/api.js';

interface Entry { index: number; time: string; action: string; outcome: string; actor: { kind: string; username: string; roles: string[] }; object: { type: string; id: string } | null; legalBasis: string | null }

const PAGE = 50;
/** The filters of the audit view, as URL parameters (the same names the search API takes, times as JST datetime-local values). */
const FILTERS = ['actor', 'action', 'objectType', 'objectId', 'outcome', 'since', 'until'] as const;
type Filter = (typeof FILTERS)[number];
const OUTCOMES = ['success', 'denied', 'failure'] as const;

/** The search API's path for the view's URL parameters; system writes are excluded unless `system=show`. */
export function auditSearchPath(search: URLSearchParams): string {
  const p = new URLSearchParams();
  for (const k of FILTERS) {
    const v = search.get(k)?.trim() ?? '';
    if (v === '') continue;
    if (k === 'since' || k === 'until') {
      const iso = jstInputToIso(v);
      if (iso !== undefined) p.set(k, iso);
    } else p.set(k, v);
  }
  p.set('system', search.get('system') === 'show' ? 'include' : 'exclude');
  return `/api/v1/audit/search?${p.toString()}`;
}

export function SignatureBadge({ cp }: { cp: CheckpointView }) {
  const { t } = useI18n();
  const tone = cp.signature === 'valid' ? 'ok' : cp.signature === 'unsupported' ? 'warn' : 'bad';
  return <Badge tone={tone}>{t(`signature.${cp.signature}` as MessageKey)}</Badge>;
}

function useCheckpoint(): { cp?: CheckpointView; error?: ApiError } {
  const [state, setState] = useState<{ cp?: CheckpointView; error?: ApiError }>({});
  useEffect(() => {
    loadCheckpoint().then((cp) => setState({ cp }), (e: unknown) => setState({ error: e instanceof ApiError ? e : new ApiError(0, 'CLIENT', String(e)) }));
  }, []);
  return state;
}

export function AuditLog() {
  const { t } = useI18n();
  const actionLabel = useActionLabel();
  const { path, search, navigate } = useRouter();
  const { cp, error } = useCheckpoint();
  const list = useCursorList<Entry>(auditSearchPath(search), PAGE);
  const [draft, setDraft] = useState<Record<Filter, string>>(() => Object.fromEntries(FILTERS.map((k) => [k, search.get(k) ?? ''])) as Record<Filter, string>);
  const [results, setResults] = useState<Record<number, InclusionResult | 'checking'>>({});
  const [summary, setSummary] = useState<{ text: string; ok: boolean }>();
  const showSystem = search.get('system') === 'show';
  const loaded = list.state.status === 'ok' ? list.state.data.items : [];
  const seen = useMemo(() => ({
    actors: [...new Set(loaded.map((e) => e.actor.username))].sort(),
    actions: [...new Set(loaded.flatMap((e) => [e.action, `${e.action.split(':')[0]}:`]))].sort(),
    types: [...new Set(loaded.flatMap((e) => (e.object === null ? [] : [e.object.type])))].sort(),
  }), [loaded]);

  const go = (next: URLSearchParams) => navigate(`${path}${next.size > 0 ? `?${next.toString()}` : ''}`, { replace: true });
  const apply = (e: FormEvent) => {
    e.preventDefault();
    const next = new URLSearchParams(search);
    for (const k of FILTERS) { if (draft[k].trim() === '') next.delete(k); else next.set(k, draft[k].trim()); }
    go(next);
  };
  const clear = () => {
    setDraft(Object.fromEntries(FILTERS.map((k) => [k, ''])) as Record<Filter, string>);
    const next = new URLSearchParams(search);
    for (const k of FILTERS) next.delete(k);
    go(next);
  };
  const toggleSystem = (on: boolean) => {
    const next = new URLSearchParams(search);
    if (on) next.set('system', 'show'); else next.delete('system');
    go(next);
  };

  const check = async (e: Entry) => {
    if (cp === undefined) return undefined;
    setResults((r) => ({ ...r, [e.index]: 'checking' }));
    const res = await proveEntry(e, cp.note).catch((): InclusionResult => ({ ok: false, reason: 'proof-failed' }));
    setResults((r) => ({ ...r, [e.index]: res }));
    return res;
  };
  const checkAll = async (entries: Entry[]) => {
    setSummary(undefined);
    let ok = 0;
    let failed = 0;
    let pending = 0;
    for (const e of entries) {
      const r = await check(e);
      if (r === undefined) continue;
      if (r.ok) ok++;
      else if (r.reason === 'not-in-checkpoint') pending++;
      else failed++;
    }
    setSummary(failed === 0 ? { ok: true, text: t('audit.allVerified', { ok, pending }) } : { ok: false, text: t('audit.someFailed', { failed, ok }) });
  };
  const input = (k: Filter, label: MessageKey, opts: { type?: string; list?: string } = {}) => (
    <span className="filter"><label htmlFor={`af-${k}`}>{t(label)}</label>
      <input id={`af-${k}`} type={opts.type ?? 'text'} list={opts.list} value={draft[k]} onChange={(e) => setDraft({ ...draft, [k]: e.target.value })} /></span>
  );

  return (
    <>
      <PageTitle>{t('audit.title')}</PageTitle>
      <p>{t('audit.intro')}</p>
      {error !== undefined ? <ErrorPanel error={error} /> : cp === undefined ? <Loading /> : (
        <section aria-labelledby="cp-h" className="panel">
          <h2 id="cp-h">{t('audit.checkpoint')}</h2>
          <p>{t('audit.checkpointLine', { size: cp.note.size })} <SignatureBadge cp={cp} /> — <Time value={cp.createdAt} /></p>
          <p><span className="label">{t('audit.root')}</span> <code className="hash">{cp.note.root}</code></p>
        </section>
      )}
      <form className="filters audit-filters" onSubmit={apply} aria-label={t('auditf.title')}>
        {input('actor', 'audit.actor', { list: 'af-actors' })}
        {input('action', 'audit.action', { list: 'af-actions' })}
        {input('objectType', 'auditf.objectType', { list: 'af-types' })}
        {input('objectId', 'auditf.objectId')}
        <span className="filter"><label htmlFor="af-outcome">{t('audit.outcome')}</label>
          <select id="af-outcome" value={draft.outcome} onChange={(e) => setDraft({ ...draft, outcome: e.target.value })}>
            <option value="">{t('findings.all')}</option>
            {OUTCOMES.map((o) => <option key={o} value={o}>{t(`auditf.outcome.${o}`)}</option>)}
          </select></span>
        {input('since', 'auditf.since', { type: 'datetime-local' })}
        {input('until', 'auditf.until', { type: 'datetime-local' })}
        <datalist id="af-actors">{seen.actors.map((a) => <option key={a} value={a} />)}</datalist>
        <datalist id="af-actions">{seen.actions.map((a) => <option key={a} value={a} label={a.endsWith(':') ? undefined : actionLabel(a)} />)}</datalist>
        <datalist id="af-types">{seen.types.map((a) => <option key={a} value={a} />)}</datalist>
        <span className="filter-actions">
          <button type="submit">{t('auditf.apply')}</button>
          <button type="button" className="secondary" onClick={clear}>{t('auditf.clear')}</button>
        </span>
        <label className="check"><input type="checkbox" checked={showSystem} onChange={(e) => toggleSystem(e.target.checked)} /> {t('auditf.showSystem')}</label>
      </form>
      <p className="help">{t(showSystem ? 'auditf.systemShown' : 'auditf.systemHidden')}</p>
      <div aria-live="polite" className="form-message">{summary !== undefined && <p role="status" className={summary.ok ? 'success' : 'error'}>{summary.text}</p>}</div>
      <Async value={list.state} isEmpty={(d) => d.items.length === 0} empty={FILTERS.some((k) => search.has(k)) ? t('auditf.noneMatch') : t('audit.empty')}>
        {(d) => (
          <>
            <button type="button" onClick={() => void checkAll(d.items)}>{t('audit.verifyAll')}</button>
            <div className="table-wrap"><table>
              <caption className="sr-only">{t('audit.title')}</caption>
              <thead><tr><th scope="col">#</th><th scope="col">{t('audit.time')}</th><th scope="col">{t('audit.actor')}</th><th scope="col">{t('audit.action')}</th><th scope="col">{t('audit.object')}</th><th scope="col">{t('audit.outcome')}</th><th scope="col">{t('audit.proof')}</th></tr></thead>
              <tbody>{d.items.map((e) => {
                const r = results[e.index];
                return (
                  <tr key={e.index} data-index={e.index}>
                    <td>{e.index}</td>
                    <td><Time value={e.time} /></td>
                    <td>{e.actor.kind === 'system' ? <Badge tone="muted">{t('auditf.system')}</Badge> : null} <span translate="no">{e.actor.username}</span></td>
                    <td title={e.action}>{actionLabel(e.action)}</td>
                    <td>{e.object === null ? '—' : <ObjectRef o={e.object} />}</td>
                    <td><Badge tone={e.outcome === 'success' ? 'ok' : 'bad'}>{OUTCOMES.includes(e.outcome as (typeof OUTCOMES)[number]) ? t(`auditf.outcome.${e.outcome as (typeof OUTCOMES)[number]}`) : e.outcome}</Badge></td>
                    <td className="proof-cell">
                      {r === undefined ? <button type="button" className="small" onClick={() => void check(e)} aria-label={t('audit.verifyEntry', { index: e.index })}>{t('audit.verify')}</button>
                        : r === 'checking' ? <span role="status">{t('state.working')}</span>
                        : r.ok ? <Badge tone="ok">{t('audit.verified')}</Badge>
                        : <Badge tone={r.reason === 'not-in-checkpoint' ? 'muted' : 'bad'}>{t(`audit.${r.reason}` as MessageKey)}</Badge>}
                    </td>
                  </tr>
                );
              })}</tbody>
            </table></div>
            <MoreRows list={list} />
          </>
        )}
      </Async>
    </>
  );
}
