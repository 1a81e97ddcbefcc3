// Analyst: archived flows by category or legal basis over time (JST hours or days), each query with its stated purpose.
import { useState, type FormEvent } from 'react';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { api } from '../lib/api.js';
import { jstInputToIso, nowJstInput } from '../lib/time.js';
import { useApi } from '../lib/use-api.js';
import { useSubmit } from '../lib/use-submit.js';
import { pivot, stepFor, type GroupedRow, type Series } from '../lib/series.js';
import { Empty, Facts, FormMessage, PageTitle } from '../components/ui.js';
import { StackedBars } from '../components/series-chart.js';

type By = 'category' | 'basis';
interface Result { series: Series; by: By; step: 'hour' | 'day'; bases: string[]; partitions: number; truncated: boolean }

const LIMIT = 10_000;

export function Flows() {
  const { t } = useI18n();
  const submit = useSubmit();
  const now = Date.now();
  const [form, setForm] = useState({ purpose: '', from: nowJstInput(now - 24 * 3_600_000), to: nowJstInput(now + 60_000), by: 'category' as By });
  const [result, setResult] = useState<Result>();
  // Basis titles for the legend (the analyst may list bases); ids stand in if the list cannot be read.
  const bases = useApi<{ bases: { id: string; title: string }[] }>('/api/v1/legal-bases');
  const basisTitle = (id: string) => (bases.status === 'ok' ? bases.data.bases.find((b) => b.id === id)?.title : undefined) ?? id;
  const label = (key: string) => (key === 'unknown' ? t('flows.unknown') : result?.by === 'basis' ? basisTitle(key) : t(`flowCategory.${key}` as MessageKey));
  const set = (k: 'purpose' | 'from' | 'to') => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const from = jstInputToIso(form.from);
    const to = jstInputToIso(form.to);
    if (from === undefined || to === undefined || Date.parse(to) <= Date.parse(from)) return submit.fail(t('flows.badRange'));
    const by = form.by;
    return void submit.run(async () => {
      const res = await api<{ rows: GroupedRow[]; bases: string[]; partitions: number }>('/api/v1/flows/query', {
        method: 'POST',
        body: { purpose: form.purpose, filters: { from, to }, groupBy: ['hour', by], limit: LIMIT },
      });
      const step = stepFor(Date.parse(from), Date.parse(to));
      setResult({ series: pivot(res.rows, by, step, Date.parse(from), Date.parse(to)), by, step, bases: res.bases, partitions: res.partitions, truncated: res.rows.length >= LIMIT });
    })();
  };

  return (
    <>
      <PageTitle>{t('flows.title')}</PageTitle>
      <p>{t('flows.intro')}</p>
      <form className="form" onSubmit={onSubmit}>
        <label htmlFor="flows-purpose">{t('flows.purpose')}</label>
        <input id="flows-purpose" required minLength={10} maxLength={500} value={form.purpose} onChange={set('purpose')} aria-describedby="flows-purpose-help" />
        <p id="flows-purpose-help" className="help">{t('flows.purposeHelp')}</p>
        <label htmlFor="flows-from">{t('flows.from')}</label>
        <input id="flows-from" type="datetime-local" required value={form.from} onChange={set('from')} />
        <label htmlFor="flows-to">{t('flows.to')}</label>
        <input id="flows-to" type="datetime-local" required value={form.to} onChange={set('to')} aria-describedby="flows-range-help" />
        <p id="flows-range-help" className="help">{t('flows.rangeHelp')}</p>
        <fieldset>
          <legend>{t('flows.by')}</legend>
          {(['category', 'basis'] as const).map((b) => (
            <label key={b} className="check"><input type="radio" name="flows-by" value={b} checked={form.by === b} onChange={() => setForm({ ...form, by: b })} /> {t(`flows.by.${b}`)}</label>
          ))}
        </fieldset>
        <FormMessage error={submit.error} />
        <button type="submit" disabled={submit.busy}>{submit.busy ? t('state.working') : t('flows.submit')}</button>
      </form>
      <div aria-live="polite">
        {result !== undefined && (
          <section aria-labelledby="flows-result"><h2 id="flows-result">{t('flows.result')}</h2>
            <Facts rows={[
              [t('flows.step'), t(`flows.step.${result.step}`)],
              [t('flows.basesRead'), result.bases.length === 0 ? t('incidents.none') : result.bases.map(basisTitle).join(', ')],
              [t('flows.partitions'), String(result.partitions)],
            ]} />
            {result.truncated && <p className="notice" role="status">{t('flows.truncated', { n: LIMIT })}</p>}
            {result.series.series.length === 0
              ? <Empty>{t('flows.empty')}</Empty>
              : <StackedBars title={t(result.by === 'category' ? 'flows.chart.category' : 'flows.chart.basis')} buckets={result.series.buckets} series={result.series.series} label={label} />}
          </section>
        )}
      </div>
    </>
  );
}
