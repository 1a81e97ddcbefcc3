// A time series chart (uPlot, loaded with the first chart): time axis in JST, a value axis, values on hover in the legend,
// drag to zoom (the new range goes back to the page's time-range picker), double-click to zoom out; numbers in a table too.
import { useEffect, useRef, useState } from 'react';
import type uPlotType from 'uplot';
import { useI18n } from '../i18n/index.js';
import { formatJst } from '../lib/time.js';

/** One line of the chart: its label and one value per time (null where there is none). */
export interface Line { label: string; values: (number | null)[] }

/** Tick labels in JST: `09:30`, with the date (`12/06`) on the first tick and where the day changes. */
function ticksJst(splits: number[]): string[] {
  let lastDay = '';
  return splits.map((s) => {
    const iso = new Date(s * 1000 + 9 * 3_600_000).toISOString();
    const day = `${iso.slice(5, 7)}/${iso.slice(8, 10)}`;
    const hm = iso.slice(11, 16);
    const label = day !== lastDay ? `${hm}\n${day}` : hm;
    lastDay = day;
    return label;
  });
}

const COLOURS = ['#1f5fa8', '#c2410c', '#15803d', '#7e22ce', '#b91c1c', '#0e7490', '#a16207', '#4b5563'];

/** The time series; `onZoom` receives the range a drag selected (UTC ms). */
export function TimeSeries({ title, times, lines, unit, onZoom, height = 260 }: {
  title: string;
  /** Bucket starts, UTC ms, ascending. */
  times: number[];
  lines: Line[];
  unit: string;
  onZoom?: (fromMs: number, toMs: number) => void;
  height?: number;
}) {
  const { t } = useI18n();
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  const zoom = useRef(onZoom);
  zoom.current = onZoom;

  // The chart follows its box's width (down to a phone's).
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const ro = new ResizeObserver(() => setWidth(Math.floor(el.clientWidth)));
    ro.observe(el);
    setWidth(Math.floor(el.clientWidth));
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    const el = box.current;
    if (el === null || width === 0) return;
    let plot: uPlotType | undefined;
    let cancelled = false;
    void Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(([{ default: UPlot }]) => {
      if (cancelled) return;
      const opts: uPlotType.Options = {
        width,
        height,
        // Axis ticks and hover times in Japan Standard Time, whatever the browser's zone.
        tzDate: (ts) => UPlot.tzDate(new Date(ts * 1000), 'Asia/Tokyo'),
        // The selection is handed to the page (which queries the new range at its finer resolution) rather than zoomed here.
        cursor: { drag: { x: true, y: false, setScale: false } },
        scales: { x: { time: true } },
        axes: [
          { stroke: '#334155', grid: { stroke: '#e2e8f0' }, size: 44, values: (_u, splits) => ticksJst(splits) },
          { stroke: '#334155', grid: { stroke: '#e2e8f0' }, label: unit, size: 60, values: (_u, splits) => splits.map((v) => v.toLocaleString('ja-JP')) },
        ],
        series: [
          { label: t('chart.time'), value: (_u, v) => (v == null ? '—' : formatJst(v * 1000)) },
          ...lines.map((l, i) => ({ label: l.label, stroke: COLOURS[i % COLOURS.length]!, width: 2, points: { show: times.length < 80 }, value: (_u: uPlotType, v: number | null) => (v == null ? '—' : v.toLocaleString('ja-JP')) })),
        ],
        hooks: {
          setSelect: [(u) => {
            if (u.select.width <= 0) return;
            const from = u.posToVal(u.select.left, 'x');
            const to = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            if (to > from) zoom.current?.(Math.round(from * 1000), Math.round(to * 1000));
          }],
        },
      };
      plot = new UPlot(opts, [times.map((ms) => ms / 1000), ...lines.map((l) => l.values)] as uPlotType.AlignedData, el);
    });
    return () => {
      cancelled = true;
      plot?.destroy();
    };
  }, [width, height, times, lines, unit, t]);

  const total = lines.map((l) => l.values.reduce<number>((a, v) => a + (v ?? 0), 0));
  return (
    <figure className="chart time-series">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}: ${lines.map((l, i) => `${l.label} ${total[i]!.toLocaleString('ja-JP')}`).join(', ')}`} className="plot" />
      {onZoom !== undefined && <p className="help">{t('chart.zoomHelp')}</p>}
      <details>
        <summary>{t('chart.table')}</summary>
        <div className="table-wrap"><table>
          <thead><tr><th scope="col">{t('chart.time')}</th>{lines.map((l) => <th key={l.label} scope="col">{l.label}</th>)}</tr></thead>
          <tbody>{times.map((ms, i) => <tr key={ms}><th scope="row">{formatJst(ms)}</th>{lines.map((l) => <td key={l.label}>{l.values[i] ?? '—'}</td>)}</tr>)}</tbody>
        </table></div>
      </details>
    </figure>
  );
}
