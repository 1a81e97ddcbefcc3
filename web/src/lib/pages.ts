// Every page of a paged API list ({ items, nextCursor }): for screens that show a whole list or look names up in it.
import { api } from './api.js';
import { useLoad, type Loadable } from './use-api.js';

/** A page as the API answers it. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Pages read at most (× 500 items): a list past that is shown cut rather than loading for ever. */
const MAX_PAGES = 100;

/** Follows `nextCursor` from the first page of `path` (which may carry its own query) to the last; 500 items a page. */
export async function allPages<T>(path: string, signal?: AbortSignal): Promise<T[]> {
  const sep = path.includes('?') ? '&' : '?';
  const items: T[] = [];
  let cursor: string | null = null;
  for (let n = 0; n < MAX_PAGES; n++) {
    const page: Page<T> = await api<Page<T>>(`${path}${sep}limit=500${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`, signal === undefined ? {} : { signal });
    items.push(...page.items);
    cursor = page.nextCursor;
    if (cursor === null) break;
  }
  return items;
}

/** Loads every page of `path` for a screen, as `{ items }`. */
export function useAllPages<T>(path: string | null): Loadable<{ items: T[] }> & { reload: () => void } {
  return useLoad(path === null ? null : `all:${path}`, async (signal) => ({ items: await allPages<T>(path!, signal) }));
}
