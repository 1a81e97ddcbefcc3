// Flows over time are bucketed by JST hour or day, whatever the browser's zone, and no flow is lost or counted twice.
import { describe, expect, it } from 'vitest';
import { bucketLabel, bucketStart, pivot, resolutionFor, stepFor, timeLines } from './series.js';

const ms = (iso: string) => Date.parse(iso);

describe('flow series', () => {
  it('buckets by the JST hour and the JST day', () => {
    expect(new Date(bucketStart(ms('2026-04-10T14:59:59Z'), 'hour')).toISOString()).toBe('2026-04-10T14:00:00.000Z');
    // 15:00 UTC is midnight in Tokyo: the JST day starts there.
    expect(new Date(bucketStart(ms('2026-04-10T14:59:59Z'), 'day')).toISOString()).toBe('2026-04-09T15:00:00.000Z');
    expect(new Date(bucketStart(ms('2026-04-10T15:00:00Z'), 'day')).toISOString()).toBe('2026-04-10T15:00:00.000Z');
    expect(bucketLabel(ms('2026-04-10T15:00:00Z'), 'day')).toBe('2026-04-11');
    expect(bucketLabel(ms('2026-04-10T15:00:00Z'), 'hour')).toBe('04/11 00:00');
  });
  it('chooses hours up to three days and days beyond', () => {
    expect(stepFor(0, 72 * 3_600_000)).toBe('hour');
    expect(stepFor(0, 73 * 3_600_000)).toBe('day');
  });
  it('pivots grouped rows into one series per key with every bucket present', () => {
    const rows = [
      { hour: '2026-04-10T00', category: 'inbound', flows: 5 },
      { hour: '2026-04-10T00', category: 'outbound', flows: '2' },
      { hour: '2026-04-10T02', category: 'inbound', flows: 1 },
      { hour: '2026-04-10T02', category: null, flows: 4 },
      { hour: '2026-04-11T00', category: 'inbound', flows: 100 }, // outside the range
    ];
    const s = pivot(rows, 'category', 'hour', ms('2026-04-10T00:00:00Z'), ms('2026-04-10T03:00:00Z'));
    expect(s.buckets).toEqual(['04/10 09:00', '04/10 10:00', '04/10 11:00']);
    expect(s.series).toEqual([
      { key: 'inbound', values: [5, 0, 1], total: 6 },
      { key: 'unknown', values: [0, 0, 4], total: 4 },
      { key: 'outbound', values: [2, 0, 0], total: 2 },
    ]);
  });
  it('sums hours into JST days without losing a flow', () => {
    const rows = [
      { hour: '2026-04-09T14', basis: 'b1', flows: 1 }, // 23:00 JST on the 9th
      { hour: '2026-04-09T15', basis: 'b1', flows: 2 }, // 00:00 JST on the 10th
      { hour: '2026-04-10T14', basis: 'b1', flows: 3 }, // 23:00 JST on the 10th
    ];
    const s = pivot(rows, 'basis', 'day', ms('2026-04-09T00:00:00Z'), ms('2026-04-11T00:00:00Z'));
    expect(s.buckets).toEqual(['2026-04-09', '2026-04-10', '2026-04-11']);
    expect(s.series).toEqual([{ key: 'b1', values: [1, 5, 0], total: 6 }]);
  });
});

describe('time lines for the zoomable chart', () => {
  const from = Date.parse('2026-04-10T00:00:00Z');
  it('picks minutes for short ranges, hours and days for long ones', () => {
    expect(resolutionFor(from, from + 2 * 3_600_000)).toEqual({ groupBy: 'minute', stepMs: 60_000 });
    expect(resolutionFor(from, from + 6 * 3_600_000)).toEqual({ groupBy: 'minute', stepMs: 300_000 });
    expect(resolutionFor(from, from + 24 * 3_600_000)).toEqual({ groupBy: 'hour', stepMs: 3_600_000 });
    expect(resolutionFor(from, from + 7 * 24 * 3_600_000).stepMs).toBe(24 * 3_600_000);
  });
  it('fills every bucket, sums rows per bucket and per key, largest line first', () => {
    const rows = [
      { minute: '2026-04-10T00:01', category: 'outbound', flows: 2 },
      { minute: '2026-04-10T00:03', category: 'outbound', flows: '3' },
      { minute: '2026-04-10T00:07', category: 'inbound', flows: 1 },
      { minute: '2026-04-11T00:00', category: 'inbound', flows: 9 }, // outside the range
    ];
    const r = timeLines(rows, { fromMs: from, toMs: from + 10 * 60_000, stepMs: 5 * 60_000, by: 'category' });
    expect(r.times).toEqual([from, from + 300_000]);
    expect(r.lines).toEqual([{ key: 'outbound', values: [5, 0], total: 5 }, { key: 'inbound', values: [0, 1], total: 1 }]);
  });
  it('reads hourly rows too', () => {
    const r = timeLines([{ hour: '2026-04-10T01', flows: 4 }], { fromMs: from, toMs: from + 3 * 3_600_000, stepMs: 3_600_000 });
    expect(r.lines).toEqual([{ key: 'flows', values: [0, 4, 0], total: 4 }]);
  });
});
