/** @module Keyset paging shared by every list: the `limit`/`cursor` query schema, opaque cursors, the `{ items, nextCursor }` page, and yielding to the event loop between chunks. */
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { sql, type RawBuilder } from 'kysely';
import { z } from 'zod';
import { AppError, parseOrThrow } from '#platform/errors/index.js';

/** Items on a page when the caller gives no `limit`. */
export const DEFAULT_PAGE_LIMIT = 100;
/** Most items one page may hold: a page is one bounded query, whatever the caller asks. */
export const MAX_PAGE_LIMIT = 500;
/** Longest cursor accepted (a cursor holds a few sort keys, never a list). */
const MAX_CURSOR_CHARS = 512;

/** The paging part of a list's query string: `limit` (1…500, default 100) and the opaque `cursor` of the previous page. */
export const PageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).default(DEFAULT_PAGE_LIMIT),
  cursor: z.string().min(1).max(MAX_CURSOR_CHARS).optional(),
});

/** What a paged route's summary says of its answer (OpenAPI). */
export const PAGED = 'One page: { items, nextCursor } (?limit= 1–500, default 100; ?cursor= the nextCursor of the previous page).';

/** A page request after validation. */
export type PageQuery = z.infer<typeof PageQuerySchema>;

/** What every list endpoint answers: a page of items and the cursor of the next page, `null` on the last. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** One value of a sort key: the columns lists sort by are text (times, ids) or numbers. */
export type KeyPart = string | number;

/** The type of each part of a list's sort key, in order (checked when a cursor comes back). */
export type KeyShape = readonly ('string' | 'number')[];

/** Validates the paging parameters of a query string (other keys are left to the route); VALIDATION_FAILED names the bad one. */
export function parsePageQuery(query: unknown): PageQuery {
  const q = (typeof query === 'object' && query !== null ? query : {}) as Record<string, unknown>;
  return parseOrThrow(PageQuerySchema, { limit: q['limit'], cursor: q['cursor'] }, 'paging');
}

/** A page request from a service's caller that may leave out the limit (the default page) or the cursor (the first page). */
export function pageQuery(p: Partial<PageQuery>): PageQuery {
  return { limit: Math.max(1, Math.min(MAX_PAGE_LIMIT, p.limit ?? DEFAULT_PAGE_LIMIT)), ...(p.cursor !== undefined ? { cursor: p.cursor } : {}) };
}

/** Encodes the sort key of the last row of a page as an opaque cursor (base64url of a JSON array, prefixed with its format). */
export function encodeCursor(key: readonly KeyPart[]): string {
  return `c1.${Buffer.from(JSON.stringify(key), 'utf8').toString('base64url')}`;
}

function badCursor(): AppError {
  return new AppError('VALIDATION_FAILED', 'cursor: not a cursor of this list; pass the nextCursor of the previous page unchanged, or omit it for the first page.', {
    details: [{ path: 'cursor', message: 'not a cursor of this list' }],
  });
}

/** Decodes a cursor made by {@link encodeCursor} for a list whose key has `shape`; VALIDATION_FAILED on anything else. */
export function decodeCursor(cursor: string, shape: KeyShape): KeyPart[] {
  if (!cursor.startsWith('c1.')) throw badCursor();
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor.slice(3), 'base64url').toString('utf8'));
  } catch {
    throw badCursor();
  }
  if (!Array.isArray(key) || key.length !== shape.length) throw badCursor();
  key.forEach((part, i) => {
    if (typeof part !== shape[i] || (typeof part === 'number' && !Number.isFinite(part))) throw badCursor();
  });
  return key as KeyPart[];
}

/**
 * The keyset condition "after `key`" for rows sorted by `columns` all in `direction`: a row-value
 * comparison, which SQLite (≥ 3.15) and PostgreSQL both answer from an index on those columns.
 */
export function afterKey(columns: readonly string[], key: readonly KeyPart[], direction: 'asc' | 'desc'): RawBuilder<boolean> {
  if (columns.length !== key.length || columns.length === 0) throw new AppError('INTERNAL', 'A keyset condition needs one value per sort column.');
  const refs = sql.join(columns.map((c) => sql.ref(c)));
  const values = sql.join(key.map((v) => sql`${v}`));
  return direction === 'desc' ? sql<boolean>`(${refs}) < (${values})` : sql<boolean>`(${refs}) > (${values})`;
}

/**
 * Cuts the `limit + 1` rows a page query fetched into the page's rows and the next cursor (from the last
 * row kept). `keep` filters rows after the query (a per-row policy check): a page may then hold fewer
 * than `limit` items while a next page still exists, so callers follow `nextCursor` until it is null.
 */
export function cutPage<R>(rows: readonly R[], limit: number, keyOf: (row: R) => readonly KeyPart[], keep: (row: R) => boolean = () => true): { rows: R[]; nextCursor: string | null } {
  const more = rows.length > limit;
  const taken = more ? rows.slice(0, limit) : rows;
  const last = taken[taken.length - 1];
  return { rows: taken.filter(keep), nextCursor: more && last !== undefined ? encodeCursor(keyOf(last)) : null };
}

/** Lets timers and sockets run (a macrotask, not a microtask): long reads call it between chunks so `/healthz` and other clients still answer. */
export function yieldToEventLoop(): Promise<void> {
  return nextMacrotask();
}

/** Splits `values` into chunks of at most `size`: an `IN (…)` list stays bounded whatever the input's length. */
export function chunked<T>(values: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let at = 0; at < values.length; at += size) out.push(values.slice(at, at + size));
  return out;
}

/** How a list sorts: its key columns (the last one unique, e.g. the id), their types, and the direction. */
export interface KeysetOrder {
  columns: readonly string[];
  shape: KeyShape;
  direction: 'asc' | 'desc';
}

/**
 * One keyset page of a query: `fetch` runs the list's query with `after` (the condition "past the cursor",
 * `undefined` on the first page) in its WHERE, ordered by `order`'s columns, limited to `take` rows. The
 * page is the first `limit` of them (filtered by `keep`), and the cursor the key of the last one read.
 */
export async function keysetPage<R>(
  page: PageQuery,
  order: KeysetOrder,
  keyOf: (row: R) => readonly KeyPart[],
  fetch: (after: RawBuilder<boolean> | undefined, take: number) => Promise<readonly R[]>,
  keep?: (row: R) => boolean,
): Promise<{ rows: R[]; nextCursor: string | null }> {
  const after = page.cursor === undefined ? undefined : afterKey(order.columns, decodeCursor(page.cursor, order.shape), order.direction);
  return cutPage(await fetch(after, page.limit + 1), page.limit, keyOf, keep);
}

/**
 * One page of a list that is made in memory (definitions from files, a few rows joined in code), by the same
 * cursor rule: `rows` sorted here by `keyOf` in `order.direction` (code-unit order for text, as SQLite's BINARY
 * collation), then the `limit` rows after the cursor's key.
 */
export function pageOf<R>(rows: readonly R[], page: PageQuery, order: Pick<KeysetOrder, 'shape' | 'direction'>, keyOf: (row: R) => readonly KeyPart[]): Page<R> {
  const sign = order.direction === 'asc' ? 1 : -1;
  const sorted = [...rows].sort((a, b) => sign * compareKeys(keyOf(a), keyOf(b)));
  let from = 0;
  if (page.cursor !== undefined) {
    const key = decodeCursor(page.cursor, order.shape);
    from = sorted.findIndex((r) => sign * compareKeys(keyOf(r), key) > 0);
    if (from < 0) from = sorted.length;
  }
  const { rows: items, nextCursor } = cutPage(sorted.slice(from, from + page.limit + 1), page.limit, keyOf);
  return { items, nextCursor };
}

function compareKeys(a: readonly KeyPart[], b: readonly KeyPart[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}
