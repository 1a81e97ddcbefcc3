// A stacked bar chart of several series over time (SVG, no library), with its numbers in a table.
import { useI18n } from '../i18n/index.js';

/** Stacked bars, one bar per bucket and one colour per series; the legend and the table name every series. */
export function StackedBars({ title, buckets, series, label }: { title: string; buckets: string[]; series: { key: string; values: number[]; total: number }[]; label: (key: string) => string }) {
  const { t } = useI18n();
  const w = 640;
  const h = 200;
  const totals = buckets.map((_, i) => series.reduce((a, s) => a + (s.values[i] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const bw = w / Math.max(1, buckets.length);
  // At most about a dozen axis labels, whatever the number of bars.
  const every = Math.max(1, Math.ceil(buckets.length / 12));
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${w} ${h + 28}`} role="img" aria-label={`${title}: ${series.map((s) => `${label(s.key)} ${s.total}`).join(', ')}`} preserveAspectRatio="xMidYMid meet">
        <text x={2} y={10} className="axis">{max}</text>
        {buckets.map((b, i) => {
          let y = h;
          return (
            <g key={b}>
              {series.map((s, k) => {
                const v = s.values[i] ?? 0;
                const bh = (v / max) * h;
                y -= bh;
                return v === 0 ? null : <rect key={s.key} x={i * bw + 1} y={y} width={Math.max(1, bw - 2)} height={bh} className={`series s${k % 8}`}><title>{`${b} ${label(s.key)}: ${v}`}</title></rect>;
              })}
              {i % every === 0 && <text x={i * bw + bw / 2} y={h + 16} textAnchor="middle" className="axis">{b}</text>}
            </g>
          );
        })}
      </svg>
      <ul className="legend series-legend">
        {series.map((s, k) => <li key={s.key}><span className={`key series s${k % 8}`} aria-hidden="true" />{label(s.key)} ({s.total})</li>)}
      </ul>
      <details>
        <summary>{t('chart.table')}</summary>
        <div className="table-wrap"><table>
          <thead><tr><th scope="col">{t('chart.time')}</th>{series.map((s) => <th key={s.key} scope="col">{label(s.key)}</th>)}<th scope="col">{t('flows.total')}</th></tr></thead>
          <tbody>{buckets.map((b, i) => <tr key={b}><th scope="row">{b}</th>{series.map((s) => <td key={s.key}>{s.values[i] ?? 0}</td>)}<td>{totals[i]}</td></tr>)}</tbody>
        </table></div>
      </details>
    </figure>
  );
}
