// Small accessible SVG charts (no chart library): bars and a line against a baseline, each with a data table.
import { useI18n } from '../i18n/index.js';

/** A bar chart with its numbers also in a table for screen readers. */
export function BarChart({ title, labels, values, unit }: { title: string; labels: string[]; values: number[]; unit?: string }) {
  const { t } = useI18n();
  const max = Math.max(1, ...values);
  const w = 560;
  const h = 180;
  const bw = w / Math.max(1, values.length);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${w} ${h + 24}`} role="img" aria-label={title} preserveAspectRatio="xMidYMid meet">
        {values.map((v, i) => {
          const bh = (v / max) * h;
          return (
            <g key={i}>
              <rect x={i * bw + 4} y={h - bh} width={Math.max(1, bw - 8)} height={bh} className="bar"><title>{`${labels[i]}: ${v}${unit ?? ''}`}</title></rect>
              <text x={i * bw + bw / 2} y={h + 16} textAnchor="middle" className="axis">{labels[i]}</text>
            </g>
          );
        })}
      </svg>
      <details>
        <summary>{t('chart.table')}</summary>
        <table>
          <tbody>{values.map((v, i) => <tr key={i}><th scope="row">{labels[i]}</th><td>{v}{unit ?? ''}</td></tr>)}</tbody>
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
