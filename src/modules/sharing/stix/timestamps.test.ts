/** @module Tests of STIX timestamp checking and comparison. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareTimestampText, isValidTimestampText } from './timestamps.js';

describe('isValidTimestampText', () => {
  it.each(['2026-01-31T09:00:00Z', '2026-01-31T09:00:00.123Z', '2024-02-29T00:00:00.000000001Z', '2016-12-31T23:59:60Z'])('accepts %s', (t) => {
    expect(isValidTimestampText(t)).toBe(true);
  });

  it.each(['2026-02-29T00:00:00Z', '2026-13-01T00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T00:60:00Z', '2026-01-01T00:00:00', '2026-01-01T00:00:00+00:00', '2026-01-01 00:00:00Z', '2026-01-01T00:00:00.Z', 'x'])(
    'rejects %s',
    (t) => {
      expect(isValidTimestampText(t)).toBe(false);
    },
  );
});

describe('compareTimestampText', () => {
  it('orders by instant, whatever the number of fractional digits', () => {
    expect(compareTimestampText('2026-01-01T00:00:00Z', '2026-01-01T00:00:00.000Z')).toBe(0);
    expect(compareTimestampText('2026-01-01T00:00:00.0001Z', '2026-01-01T00:00:00.000Z')).toBe(1);
    expect(compareTimestampText('2026-01-01T00:00:00.9Z', '2026-01-01T00:00:01Z')).toBe(-1);
  });

  it('agrees with Date on millisecond timestamps', () => {
    const date = fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true });
    fc.assert(
      fc.property(date, date, (a, b) => {
        expect(compareTimestampText(a.toISOString(), b.toISOString())).toBe(Math.sign(a.getTime() - b.getTime()));
      }),
    );
  });
});
