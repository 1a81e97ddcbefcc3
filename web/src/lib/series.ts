// Flows over time: rows grouped by archive hour (UTC) and a key, put into JST hour or JST day buckets for a chart.

/** One grouped row of `POST /api/v1/flows/query` with `groupBy: ['hour', by]`. */
export interface GroupedRow { hour: string; flows: number | string; bytes?: number | string | null; [key: string]: unknown }

/** A chart's data: bucket labels (JST) and one series per key, in descending order of total flows. */
export interface Series { buckets: string[]; series: { key: string; values: number[]; total: number }[] }

const H = 3_600_000;
const JST_MS = 9 * H;

/** The start (UTC ms) of the JST hour or JST day holding `ms`. */
export function bucketStart(ms: number, step: 'hour' | 'day'): number {
  const size = step === 'hour' ? H : 24 * H;
  return Math.floor((ms + JST_MS) / size) * size - JST_MS;
}

/** A bucket's label in JST: `04/10 09:00` for hours, `2026-04-10` for days. */
export function bucketLabel(ms: number, step: 'hour' | 'day'): string {
  const d = new Date(ms + JST_MS).toISOString();
  return step === 'day' ? d.slice(0, 10) : `${d.slice(5, 7)}/${d.slice(8, 10)} ${d.slice(11, 16)}`;
}

/** The step that keeps a chart readable: hours up to three days, days beyond. */
export function stepFor(fromMs: number, toMs: number): 'hour' | 'day' {
  return toMs - fromMs > 72 * H ? 'day' : 'hour';
}

/**
 * Puts grouped rows into buckets from `fromMs` to `toMs` (every bucket present, empty ones zero), one series
 * per value of `by`. The archive's `hour` is a UTC hour `YYYY-MM-DDTHH`; a missing key counts as "unknown".
 */
export function pivot(rows: readonly GroupedRow[], by: string, step: 'hour' | 'day', fromMs: number, toMs: number): Series {
  const starts: number[] = [];
  for (let b = bucketStart(fromMs, step); b < toMs; b += step === 'hour' ? H : 24 * H) starts.push(b);
  const index = new Map(starts.map((s, i) => [s, i]));
  const byKey = new Map<string, number[]>();
  for (const r of rows) {
    const ms = Date.parse(`${r.hour}:00:00Z`);
    if (Number.isNaN(ms)) continue;
    const i = index.get(bucketStart(ms, step));
    if (i === undefined) continue;
    const raw = r[by];
    const key = raw === null || raw === undefined || raw === '' ? 'unknown' : String(raw);
    let values = byKey.get(key);
    if (values === undefined) byKey.set(key, (values = starts.map(() => 0)));
    values[i]! += Number(r.flows);
  }
  const series = [...byKey.entries()].map(([key, values]) => ({ key, values, total: values.reduce((a, b) => a + b, 0) })).sort((a, b) => b.total - a.total || a.key.localeCompare(b.key));
  return { buckets: starts.map((s) => bucketLabel(s, step)), series };
}

const MIN = 60_000;

/** The finest grouping the archive query needs for a range, and the bucket size a chart of it uses (UTC ms). */
export function resolutionFor(fromMs: number, toMs: number): { groupBy: 'minute' | 'hour'; stepMs: number } {
  const span = toMs - fromMs;
  if (span <= 3 * H) return { groupBy: 'minute', stepMs: MIN };
  if (span <= 12 * H) return { groupBy: 'minute', stepMs: 5 * MIN };
  if (span <= 72 * H) return { groupBy: 'hour', stepMs: H };
  return { groupBy: 'hour', stepMs: 24 * H };
}

/** The time of a grouped row: `minute` (`YYYY-MM-DDTHH:MM`) when present, else the archive hour (`YYYY-MM-DDTHH`), UTC. */
function rowTime(r: Record<string, unknown>): number {
  const m = r['minute'];
  if (typeof m === 'string') return Date.parse(`${m}:00Z`);
  return Date.parse(`${String(r['hour'])}:00:00Z`);
}

/**
 * Grouped rows as a chart's lines: one bucket every `stepMs` from `fromMs` to `toMs` (JST-aligned days), every bucket
 * present (empty ones zero), one line per value of `by` (or one "flows" line), largest total first.
 */
export function timeLines(rows: readonly Record<string, unknown>[], opts: { fromMs: number; toMs: number; stepMs: number; by?: string; measure?: 'flows' | 'bytes' }): { times: number[]; lines: { key: string; values: number[]; total: number }[] } {
  const align = opts.stepMs >= 24 * H ? (ms: number) => bucketStart(ms, 'day') : (ms: number) => Math.floor(ms / opts.stepMs) * opts.stepMs;
  const times: number[] = [];
  for (let b = align(opts.fromMs); b < opts.toMs; b += opts.stepMs) times.push(b);
  const index = new Map(times.map((s, i) => [s, i]));
  const byKey = new Map<string, number[]>();
  for (const r of rows) {
    const ms = rowTime(r);
    if (Number.isNaN(ms)) continue;
    const i = index.get(align(ms));
    if (i === undefined) continue;
    const raw = opts.by === undefined ? 'flows' : r[opts.by];
    const key = raw === null || raw === undefined || raw === '' ? 'unknown' : String(raw);
    let values = byKey.get(key);
    if (values === undefined) byKey.set(key, (values = times.map(() => 0)));
    values[i]! += Number(r[opts.measure ?? 'flows'] ?? 0);
  }
  const lines = [...byKey.entries()].map(([key, values]) => ({ key, values, total: values.reduce((a, b) => a + b, 0) })).sort((a, b) => b.total - a.total || a.key.localeCompare(b.key));
  return { times, lines };
}
