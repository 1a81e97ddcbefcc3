// Flows over time from the archive: a time-range picker (presets or JST times, kept in the URL), a stated purpose (every
// query is audited with it), and a zoomable chart at the finest resolution the range allows (minutes up to 12 h).
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { api } from '../lib/api.js';
import { useRouter } from '../lib/router.js';
import { resolutionFor, timeLines } from '../lib/series.js';
import { formatJst, jstInputToIso } from '../lib/time.js';
import { Empty, FormMessage } from './ui.js';
import { TimeSeries } from './time-series.js';
import { useSubmit } from '../lib/use-submit.js';

/** Filters of the archive query (as `POST /api/v1/flows/query` takes them), besides the time range. */
export interface FlowFilters { foreignAddress?: string; foreignPrefix?: string; pseudonym?: string }

const PRESETS = [['1h', 3_600_000], ['6h', 6 * 3_600_000], ['24h', 24 * 3_600_000], ['7d', 7 * 24 * 3_600_000], ['30d', 30 * 24 * 3_600_000]] as const;
const LIMIT = 10_000;
const PURPOSE_KEY = 'mamori.flowPurpose';

/** A datetime-local value (JST) of a UTC time. */
const toJstInput = (ms: number) => new Date(ms + 9 * 3_600_000).toISOString().slice(0, 16);

/** The range in the URL (`from`/`to` ISO, or `range=6h`), else the default preset. */
export function rangeOf(search: URLSearchParams, nowMs: number, defaultPreset = '6h'): { fromMs: number; toMs: number; preset?: string } {
  const from = Date.parse(search.get('from') ?? '');
  const to = Date.parse(search.get('to') ?? '');
  if (!Number.isNaN(from) && !Number.isNaN(to) && to > from) return { fromMs: from, toMs: to };
  const preset = PRESETS.find(([p]) => p === (search.get('range') ?? defaultPreset)) ?? PRESETS[1];
  return { fromMs: nowMs - preset[1], toMs: nowMs, preset: preset[0] };
}

/** A file of the archive set aside as damaged: its flows are missing from the answer. */
interface Damaged { basis: string; hour: string; file: string }
interface Answer { rows: Record<string, unknown>[]; bases: string[]; partitions: number; damaged?: Damaged[] }
interface Result extends Answer { damaged: Damaged[]; truncated: boolean; fromMs: number; toMs: number; stepMs: number }

/** The picker, the purpose and the chart; `by` splits the lines (category, basis) or gives one line of flows. */
export function FlowsOverTime({ filters, by, label, idPrefix = 'fot' }: { filters: FlowFilters; by?: 'category' | 'basis'; label?: (key: string) => string; idPrefix?: string }) {
  const { t } = useI18n();
  const { path, search, navigate } = useRouter();
  const submit = useSubmit();
  const [now] = useState(() => Date.now());
  const range = rangeOf(search, now);
  const [purpose, setPurpose] = useState(() => sessionStorage.getItem(PURPOSE_KEY) ?? '');
  const [stated, setStated] = useState<string>();
  const [custom, setCustom] = useState({ from: toJstInput(range.fromMs), to: toJstInput(range.toMs) });
  const [result, setResult] = useState<Result>();
  const filterKey = JSON.stringify(filters);
  // The JST fields follow the range shown (a preset or a zoom changes it).
  useEffect(() => setCustom({ from: toJstInput(range.fromMs), to: toJstInput(range.toMs) }), [range.fromMs, range.toMs]);

  const setRange = useCallback((next: { from?: number; to?: number; preset?: string }) => {
    const p = new URLSearchParams(search);
    p.delete('from'); p.delete('to'); p.delete('range');
    if (next.preset !== undefined) p.set('range', next.preset);
    else { p.set('from', new Date(next.from!).toISOString()); p.set('to', new Date(next.to!).toISOString()); }
    navigate(`${path}?${p.toString()}`, { replace: true });
  }, [path, search, navigate]);

  // The submit helper is new on every render; the query effect must not be (it would query again each time).
  const run = useRef(submit.run);
  run.current = submit.run;
  // Once a purpose is stated, each change of range (a preset, the JST fields or a zoom) queries again under it.
  useEffect(() => {
    if (stated === undefined) return;
    const { groupBy, stepMs } = resolutionFor(range.fromMs, range.toMs);
    void run.current(async () => {
      const res = await api<Answer>('/api/v1/flows/query', {
        method: 'POST',
        body: { purpose: stated, filters: { from: new Date(range.fromMs).toISOString(), to: new Date(range.toMs).toISOString(), ...JSON.parse(filterKey) as FlowFilters }, groupBy: by === undefined ? [groupBy] : [groupBy, by], limit: LIMIT },
      });
      setResult({ ...res, damaged: res.damaged ?? [], truncated: res.rows.length >= LIMIT, fromMs: range.fromMs, toMs: range.toMs, stepMs });
    })();
  }, [stated, range.fromMs, range.toMs, filterKey, by]);

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (purpose.trim().length < 10) return submit.fail(t('fot.purposeShort'));
    sessionStorage.setItem(PURPOSE_KEY, purpose.trim());
    setStated(purpose.trim());
  };
  const onCustom = (e: FormEvent) => {
    e.preventDefault();
    const from = jstInputToIso(custom.from);
    const to = jstInputToIso(custom.to);
    if (from === undefined || to === undefined || Date.parse(to) <= Date.parse(from)) return submit.fail(t('flows.badRange'));
    setRange({ from: Date.parse(from), to: Date.parse(to) });
  };

  const chart = useMemo(() => {
    if (result === undefined) return undefined;
    const r = timeLines(result.rows, { fromMs: result.fromMs, toMs: result.toMs, stepMs: result.stepMs, ...(by !== undefined ? { by } : {}) });
    return { times: r.times, lines: r.lines.map((l) => ({ label: l.key === 'flows' ? t('fot.flows') : label?.(l.key) ?? l.key, values: l.values })) };
  }, [result, by, label, t]);

  return (
    <div className="flows-over-time">
      <div className="range-picker" role="group" aria-label={t('fot.range')}>
        <span className="presets">{PRESETS.map(([p]) => (
          <button key={p} type="button" aria-pressed={range.preset === p} onClick={() => setRange({ preset: p })}>{t(`fot.preset.${p}` as MessageKey)}</button>
        ))}</span>
        <form className="inline" onSubmit={onCustom}>
          <label htmlFor={`${idPrefix}-from`}>{t('flows.from')}</label>
          <input id={`${idPrefix}-from`} type="datetime-local" value={custom.from} onChange={(e) => setCustom({ ...custom, from: e.target.value })} />
          <label htmlFor={`${idPrefix}-to`}>{t('flows.to')}</label>
          <input id={`${idPrefix}-to`} type="datetime-local" value={custom.to} onChange={(e) => setCustom({ ...custom, to: e.target.value })} />
          <button type="submit">{t('fot.apply')}</button>
        </form>
        <p className="help">
          {t('fot.showing', { from: formatJst(range.fromMs), to: formatJst(range.toMs) })}{' '}
          <button type="button" onClick={() => {
            const span = range.toMs - range.fromMs;
            setRange({ from: range.fromMs - span / 2, to: Math.min(Date.now(), range.toMs + span / 2) });
          }}>{t('fot.zoomOut')}</button>
        </p>
      </div>
      {stated === undefined ? (
        <form className="form" onSubmit={onSubmit}>
          <label htmlFor={`${idPrefix}-purpose`}>{t('flows.purpose')}</label>
          <input id={`${idPrefix}-purpose`} value={purpose} maxLength={500} onChange={(e) => setPurpose(e.target.value)} aria-describedby={`${idPrefix}-purpose-help`} aria-invalid={submit.error !== undefined} />
          <p id={`${idPrefix}-purpose-help`} className="help">{t('flows.purposeHelp')}</p>
          <FormMessage error={submit.error} />
          <button type="submit">{t('fot.show')}</button>
        </form>
      ) : (
        <p className="help">{t('fot.purposeStated', { purpose: stated })} <button type="button" className="link" onClick={() => setStated(undefined)}>{t('fot.changePurpose')}</button></p>
      )}
      <div aria-live="polite">
        {stated !== undefined && submit.busy && <p className="state loading" role="status">{t('state.loading')}</p>}
        {stated !== undefined && submit.error !== undefined && <FormMessage error={submit.error} />}
        {result !== undefined && chart !== undefined && (
          <>
            {result.truncated && <p className="notice" role="status">{t('flows.truncated', { n: LIMIT })}</p>}
            {result.damaged.length > 0 && (
              <p className="notice warn" role="status">{t('flows.damaged', {
                n: result.damaged.length,
                hours: [...new Set(result.damaged.map((d) => d.hour))].map((h) => formatJst(Date.parse(`${h}:00:00Z`))).join(', '),
              })}</p>
            )}
            {chart.lines.length === 0
              ? <Empty>{t('flows.empty')}</Empty>
              : <TimeSeries title={t('fot.chart', { step: t(`fot.step.${result.stepMs}` as MessageKey) })} times={chart.times} lines={chart.lines} unit={t('fot.unit')} onZoom={(from, to) => setRange({ from, to })} />}
          </>
        )}
      </div>
    </div>
  );
}
