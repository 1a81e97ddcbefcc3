import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAppError } from '#platform/errors/index.js';
import { chunked, cutPage, decodeCursor, encodeCursor, MAX_PAGE_LIMIT, pageOf, parsePageQuery } from './index.js';

const rejects = (fn: () => unknown, field: string) => {
  try {
    fn();
  } catch (e) {
    expect(isAppError(e) && e.code === 'VALIDATION_FAILED' && e.details?.some((d) => d.path === field)).toBe(true);
    return;
  }
  throw new Error('accepted');
};

describe('paging', () => {
  it('round-trips any sort key through an opaque cursor', () => {
    fc.assert(fc.property(fc.string(), fc.integer(), fc.string(), (a, n, b) => {
      expect(decodeCursor(encodeCursor([a, n, b]), ['string', 'number', 'string'])).toEqual([a, n, b]);
    }));
  });

  it('refuses cursors that are not of this list, naming the cursor', () => {
    for (const bad of ['', 'x', 'c1.', 'c1.!!!', `c1.${Buffer.from('{"a":1}').toString('base64url')}`, encodeCursor(['a']), encodeCursor([1, 'b'])]) {
      rejects(() => decodeCursor(bad, ['string', 'string']), 'cursor');
    }
    rejects(() => decodeCursor(`c1.${Buffer.from('[1e999]').toString('base64url')}`, ['number']), 'cursor');
  });

  it('takes limit 1…500 with a default, and refuses the rest', () => {
    expect(parsePageQuery({})).toEqual({ limit: 100 });
    expect(parsePageQuery({ limit: '7', cursor: 'c1.x', other: 'kept for the route' })).toEqual({ limit: 7, cursor: 'c1.x' });
    for (const limit of ['0', '-1', '1.5', String(MAX_PAGE_LIMIT + 1), 'ten']) rejects(() => parsePageQuery({ limit }), 'limit');
    rejects(() => parsePageQuery({ cursor: 'c'.repeat(600) }), 'cursor');
  });

  it('cuts limit + 1 rows into a page and the cursor of its last row, filtering after the cut', () => {
    const rows = [5, 4, 3, 2, 1];
    const page = cutPage(rows, 3, (r) => [r], (r) => r !== 4);
    expect(page.rows).toEqual([5, 3]);
    expect(decodeCursor(page.nextCursor!, ['number'])).toEqual([3]);
    expect(cutPage(rows, 5, (r) => [r]).nextCursor).toBeNull();
  });

  it('chunks long lists', () => {
    expect(chunked([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunked([], 2)).toEqual([]);
  });
  it('pages a list made in memory by the same cursor rule: every row once, in key order, whatever the page size', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.string({ maxLength: 3 }), fc.integer({ min: 0, max: 5 })), { maxLength: 40 }), fc.integer({ min: 1, max: 7 }), fc.boolean(), (raw, limit, desc) => {
      // Unique keys, as a list's last key column (its id) makes them.
      const rows = [...new Map(raw.map((r) => [JSON.stringify(r), { name: r[0], n: r[1] }])).values()];
      const order = { shape: ['string', 'number'] as const, direction: desc ? 'desc' as const : 'asc' as const };
      const keyOf = (r: { name: string; n: number }) => [r.name, r.n];
      const seen: typeof rows = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = pageOf(rows, { limit, ...(cursor !== undefined ? { cursor } : {}) }, order, keyOf);
        expect(page.items.length).toBeLessThanOrEqual(limit);
        seen.push(...page.items);
        cursor = page.nextCursor ?? undefined;
        pages++;
      } while (cursor !== undefined && pages <= rows.length + 1);
      expect(seen).toHaveLength(rows.length);
      const sorted = [...rows].sort((a, b) => (a.name === b.name ? a.n - b.n : a.name < b.name ? -1 : 1));
      expect(seen).toEqual(desc ? sorted.reverse() : sorted);
    }));
  });
});
