// Small accessible SVG charts for categories (bars with a value axis and numbers) and a rate against its baseline; time
// series with zoom use uPlot (time-series.tsx).
import { useI18n } from '../i18n/index.js';

/** A bar chart with a value axis, each bar's number above it and its label below (thinned when crowded); numbers in a table too. */
export function BarChart({ title, labels, values, unit, xLabel, yLabel }: { title: string; labels: string[]; values: number[]; unit?: string; xLabel?: string; yLabel?: string }) {
  const { t } = useI18n();
  const max = Math.max(...values, 0) > 0 ? Math.max(...values) : 1;
  const left = 44;
  const w = 600;
  const h = 180;
  const top = 18;
  const plotW = w - left - 8;
  const bw = plotW / Math.max(1, values.length);
  // Labels need about 34 px each; beyond that every other (or every third) bar is labelled.
  const every = Math.max(1, Math.ceil(34 / bw));
  const fmt = (v: number) => (Number.isInteger(v) ? v.toLocaleString('ja-JP') : v.toFixed(2));
  const ticks = [0, max / 2, max];
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${w} ${top + h + (xLabel !== undefined ? 40 : 26)}`} role="img" aria-label={`${title}: ${labels.map((l, i) => `${l} ${fmt(values[i]!)}`).join(', ')}`} preserveAspectRatio="xMidYMid meet">
        {ticks.map((v) => {
          const y = top + h - (v / max) * h;
          return <g key={v}><line x1={left} x2={w - 8} y1={y} y2={y} className="grid" /><text x={left - 4} y={y + 4} textAnchor="end" className="axis">{fmt(v)}</text></g>;
        })}
        {yLabel !== undefined && <text x={4} y={12} className="axis">{yLabel}</text>}
        {values.map((v, i) => {
          const bh = (v / max) * h;
          const x = left + i * bw;
          return (
            <g key={i}>
              <rect x={x + 3} y={top + h - bh} width={Math.max(1, bw - 6)} height={bh} className="bar"><title>{`${labels[i]}: ${fmt(v)}${unit ?? ''}`}</title></rect>
              {v > 0 && <text x={x + bw / 2} y={top + h - bh - 3} textAnchor="middle" className="value">{fmt(v)}</text>}
              {i % every === 0 && <text x={x + bw / 2} y={top + h + 14} textAnchor="middle" className="axis">{labels[i]}</text>}
            </g>
          );
        })}
        {xLabel !== undefined && <text x={left + plotW / 2} y={top + h + 34} textAnchor="middle" className="axis">{xLabel}</text>}
      </svg>
      <details>
        <summary>{t('chart.table')}</summary>
        <table>
          <tbody>{values.map((v, i) => <tr key={i}><th scope="row">{labels[i]}</th><td>{fmt(v)}{unit ?? ''}</td></tr>)}</tbody>
        </table>
      </details>
    </figure>
  );
}

/** A rate series against its baseline (DDoS evidence). */
export function RateChart({ title, points }: { title: string; points: { t: string; value: number; baseline: number }[] }) {
  const { t } = useI18n();
  const w = 560;
  const h = 180;
  const max = Math.max(1, ...points.map((p) => Math.max(p.value, p.baseline)));
  const x = (i: number) => (points.length <= 1 ? 0 : (i / (points.length - 1)) * w);
  const y = (v: number) => h - (v / max) * h;
  const line = (sel: (p: (typeof points)[number]) => number) => points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(sel(p)).toFixed(1)}`).join(' ');
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${w} ${h + 4}`} role="img" aria-label={title}>
        <path d={line((p) => p.baseline)} className="line-baseline" />
        <path d={line((p) => p.value)} className="line-value" />
      </svg>
      <p className="legend"><span className="key key-value" aria-hidden="true" />{t('chart.rate')} <span className="key key-baseline" aria-hidden="true" />{t('chart.baseline')}</p>
      <details>
        <summary>{t('chart.table')}</summary>
        <table>
          <thead><tr><th scope="col">{t('chart.time')}</th><th scope="col">{t('chart.rate')}</th><th scope="col">{t('chart.baseline')}</th></tr></thead>
          <tbody>{points.map((p) => <tr key={p.t}><td>{p.t}</td><td>{p.value}</td><td>{p.baseline}</td></tr>)}</tbody>
        </table>
      </details>
    </figure>
  );
}
