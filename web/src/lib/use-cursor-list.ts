// Loads a paged API list (`{ items, nextCursor }`) page by page: the first page for the path, then "more" appends the
// next page from the server's cursor, so a table can reach every row however long the list grows.
import { useCallback, useEffect, useState } from 'react';
import { api, ApiError } from './api.js';
import type { Loadable } from './use-api.js';

/** The rows loaded so far, the server's total when it gives one, and whether a next page exists. */
export interface CursorData<T> { items: T[]; nextCursor: string | null; total?: number }

export interface CursorList<T> {
  state: Loadable<CursorData<T>>;
  /** Loads the next page and appends it (no-op on the last page or while loading). */
  more: () => void;
  loadingMore: boolean;
  /** An error of the last "more" (the rows already loaded stay). */
  moreError: ApiError | undefined;
  reload: () => void;
}

/** The URL of a list page: `path` (which may carry filters) with `limit` and the `cursor`. */
export function pageUrl(path: string, limit: number, cursor?: string | null): string {
  const sep = path.includes('?') ? '&' : '?';
  return `${path}${sep}limit=${limit}${cursor != null ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
}

/** Loads `path` in pages of `limit` through the server's cursors; `null` loads nothing. */
export function useCursorList<T>(path: string | null, limit = 100): CursorList<T> {
  const [state, setState] = useState<Loadable<CursorData<T>>>({ status: 'loading' });
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<ApiError>();
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) return;
    const ctrl = new AbortController();
    setState({ status: 'loading' });
    setMoreError(undefined);
    api<CursorData<T>>(pageUrl(path, limit), { signal: ctrl.signal }).then(
      (data) => setState({ status: 'ok', data }),
      (e: unknown) => {
        if (ctrl.signal.aborted) return;
        setState({ status: 'error', error: e instanceof ApiError ? e : new ApiError(0, 'CLIENT', String(e)) });
      },
    );
    return () => ctrl.abort();
  }, [path, limit, tick]);
  const more = useCallback(() => {
    if (path === null || state.status !== 'ok' || state.data.nextCursor === null || loadingMore) return;
    const loaded = state.data;
    setLoadingMore(true);
    setMoreError(undefined);
    api<CursorData<T>>(pageUrl(path, limit, loaded.nextCursor)).then(
      (page) => setState({ status: 'ok', data: { ...page, items: [...loaded.items, ...page.items], ...(page.total !== undefined ? { total: page.total } : {}) } }),
      (e: unknown) => setMoreError(e instanceof ApiError ? e : new ApiError(0, 'CLIENT', String(e))),
    ).finally(() => setLoadingMore(false));
  }, [path, limit, state, loadingMore]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { state, more, loadingMore, moreError, reload };
}
