// A table of loaded rows with sorting, a search box, paging and optional row selection (TanStack Table), its state
// kept in the page's URL so a sorted, filtered page can be bookmarked, shared and reached with the back button.
import { useMemo, type ReactNode } from 'react';
import {
  columnFilteringFeature, createFilteredRowModel, createPaginatedRowModel, createSortedRowModel, filterFn_includesString,
  globalFilteringFeature, rowPaginationFeature, rowSelectionFeature, rowSortingFeature, sortFn_alphanumeric, sortFn_basic,
  tableFeatures, useTable, type ColumnDef, type RowData, type PaginationState, type RowSelectionState, type SortingState, type Updater,
} from '@tanstack/react-table';
import { useI18n } from '../i18n/index.js';
import { useRouter } from '../lib/router.js';
import { Empty, useErrorText } from './ui.js';
import type { CursorList } from '../lib/use-cursor-list.js';

/** Under a table of a paged API list: how many rows are loaded (of the server's total when known) and a button for the next page. */
export function MoreRows({ list }: { list: CursorList<unknown> }) {
  const { t } = useI18n();
  const errorText = useErrorText();
  if (list.state.status !== 'ok') return null;
  const d = list.state.data;
  const hasMore = d.nextCursor !== null;
  if (!hasMore && list.moreError === undefined) return null;
  return (
    <div className="more-rows">
      <span role="status">{d.total !== undefined ? t('more.loadedOf', { n: d.items.length, total: d.total }) : t('more.loaded', { n: d.items.length })}</span>
      {hasMore && <button type="button" onClick={list.more} disabled={list.loadingMore}>{list.loadingMore ? t('state.working') : t('more.button')}</button>}
      {list.moreError !== undefined && <p className="error" role="alert">{errorText(list.moreError)}</p>}
    </div>
  );
}

const features = tableFeatures({
  rowSortingFeature,
  columnFilteringFeature,
  globalFilteringFeature,
  rowPaginationFeature,
  rowSelectionFeature,
  filteredRowModel: createFilteredRowModel(),
  sortedRowModel: createSortedRowModel(),
  paginatedRowModel: createPaginatedRowModel(),
  sortFns: { alphanumeric: sortFn_alphanumeric, basic: sortFn_basic },
  filterFns: { includesString: filterFn_includesString },
});
type Features = typeof features;

/** One column: its header, the value it sorts and searches by, and how a cell shows (the value itself by default). */
export interface Column<T> {
  id: string;
  header: string;
  value: (row: T) => string | number;
  cell?: (row: T) => ReactNode;
  /** Sortable unless false. */
  sort?: boolean;
  /** Numbers sort as numbers; text alphanumerically (so `10.0.0.9` comes before `10.0.0.10`). */
  numeric?: boolean;
}

export const PAGE_SIZES = [10, 25, 50, 100] as const;

/** The table's state as URL parameters (`sort=score.desc`, `page=2`, `size=25`, `q=…`), each prefixed when a page holds several tables. */
export function readTableState(search: URLSearchParams, prefix: string, defaultSort: SortingState, defaultSize: number): { sorting: SortingState; pagination: PaginationState; q: string } {
  const get = (k: string) => search.get(`${prefix}${k}`);
  const sortParam = get('sort');
  let sorting = defaultSort;
  if (sortParam !== null) {
    const m = /^([A-Za-z0-9_-]+)\.(asc|desc)$/.exec(sortParam);
    sorting = m === null ? defaultSort : [{ id: m[1]!, desc: m[2] === 'desc' }];
  }
  const size = Number(get('size'));
  const pageSize = (PAGE_SIZES as readonly number[]).includes(size) ? size : defaultSize;
  const page = Number(get('page'));
  const pageIndex = Number.isInteger(page) && page >= 1 ? page - 1 : 0;
  return { sorting, pagination: { pageIndex, pageSize }, q: get('q') ?? '' };
}

/** The URL search string for a table state (parameters equal to the defaults are left out). */
export function writeTableState(search: URLSearchParams, prefix: string, s: { sorting: SortingState; pagination: PaginationState; q: string }, defaultSort: SortingState, defaultSize: number): string {
  const next = new URLSearchParams(search);
  const set = (k: string, v: string | undefined) => (v === undefined ? next.delete(`${prefix}${k}`) : next.set(`${prefix}${k}`, v));
  const first = s.sorting[0];
  const def = defaultSort[0];
  set('sort', first === undefined || (def !== undefined && def.id === first.id && def.desc === first.desc) ? undefined : `${first.id}.${first.desc ? 'desc' : 'asc'}`);
  set('page', s.pagination.pageIndex === 0 ? undefined : String(s.pagination.pageIndex + 1));
  set('size', s.pagination.pageSize === defaultSize ? undefined : String(s.pagination.pageSize));
  set('q', s.q === '' ? undefined : s.q);
  const text = next.toString();
  return text === '' ? '' : `?${text}`;
}

const apply = <S,>(u: Updater<S>, old: S): S => (typeof u === 'function' ? (u as (o: S) => S)(old) : u);

/** A sortable, searchable, paged table of `rows`; `selection` adds a checkbox per row. */
export function DataTable<T extends RowData>({
  rows, columns, rowId, caption, prefix = '', defaultSort = [], defaultSize = 25, search = true, empty, selection, toolbar, more,
}: {
  rows: readonly T[];
  columns: readonly Column<T>[];
  rowId: (row: T) => string;
  caption: string;
  prefix?: string;
  defaultSort?: SortingState;
  defaultSize?: number;
  search?: boolean;
  empty?: ReactNode;
  selection?: { selected: RowSelectionState; onChange: (s: RowSelectionState) => void; label: (row: T) => string };
  toolbar?: ReactNode;
  /** The paged API list the rows come from: adds the server's "more" under the table. */
  more?: CursorList<unknown>;
}) {
  const { t } = useI18n();
  const { path, search: params, navigate } = useRouter();
  const state = readTableState(params, prefix, defaultSort, defaultSize);
  const go = (next: Partial<typeof state>) => navigate(`${path}${writeTableState(params, prefix, { ...state, ...next }, defaultSort, defaultSize)}`, { replace: true });

  const defs = useMemo<ColumnDef<Features, T, unknown>[]>(() => columns.map((c) => ({
    id: c.id,
    header: c.header,
    accessorFn: (row: T) => c.value(row),
    enableSorting: c.sort !== false,
    sortFn: c.numeric === true ? 'basic' : 'alphanumeric',
    sortUndefined: 'last',
  }) as ColumnDef<Features, T, unknown>), [columns]);
  const data = useMemo(() => [...rows], [rows]);

  const table = useTable({
    features,
    columns: defs,
    data,
    getRowId: (row: T) => rowId(row),
    state: { sorting: state.sorting, pagination: state.pagination, globalFilter: state.q, rowSelection: selection?.selected ?? {} },
    onSortingChange: (u: Updater<SortingState>) => go({ sorting: apply(u, state.sorting), pagination: { ...state.pagination, pageIndex: 0 } }),
    onPaginationChange: (u: Updater<PaginationState>) => go({ pagination: apply(u, state.pagination) }),
    onRowSelectionChange: (u: Updater<RowSelectionState>) => selection?.onChange(apply(u, selection.selected)),
    globalFilterFn: 'includesString',
    getColumnCanGlobalFilter: () => true,
    enableSortingRemoval: false,
    autoResetPageIndex: false,
  });

  const byId = new Map(columns.map((c) => [c.id, c]));
  const pageRows = table.getRowModel().rows;
  const filtered = table.getFilteredRowModel().rows.length;
  const pageCount = Math.max(1, table.getPageCount());
  const pageIndex = Math.min(state.pagination.pageIndex, pageCount - 1);
  const from = filtered === 0 ? 0 : pageIndex * state.pagination.pageSize + 1;
  const to = Math.min(filtered, (pageIndex + 1) * state.pagination.pageSize);
  const searchId = `${prefix}table-q`;
  const sizeId = `${prefix}table-size`;

  return (
    <div className="data-table">
      <div className="table-tools">
        {search && (
          <span className="search">
            <label htmlFor={searchId}>{t('table.search')}</label>
            <input id={searchId} type="search" value={state.q} onChange={(e) => go({ q: e.target.value, pagination: { ...state.pagination, pageIndex: 0 } })} />
          </span>
        )}
        {toolbar}
      </div>
      {filtered === 0 ? <Empty>{empty ?? t('table.none')}</Empty> : (
        <div className="table-wrap"><table>
          <caption className="sr-only">{caption}</caption>
          <thead>{table.getHeaderGroups().map((g) => (
            <tr key={g.id}>
              {selection !== undefined && <th scope="col"><span className="sr-only">{t('table.select')}</span></th>}
              {g.headers.map((h) => {
                const c = byId.get(h.column.id)!;
                const sorted = h.column.getIsSorted();
                const aria = sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : 'none';
                return (
                  <th key={h.id} scope="col" aria-sort={h.column.getCanSort() ? aria : undefined}>
                    {h.column.getCanSort()
                      ? <button type="button" className="sort" onClick={h.column.getToggleSortingHandler()}>{c.header}<span aria-hidden="true">{sorted === 'asc' ? ' ▲' : sorted === 'desc' ? ' ▼' : ' ↕'}</span></button>
                      : c.header}
                  </th>
                );
              })}
            </tr>
          ))}</thead>
          <tbody>{pageRows.map((r) => (
            <tr key={r.id} className={r.getIsSelected() ? 'selected' : undefined}>
              {selection !== undefined && (
                <td><input type="checkbox" checked={r.getIsSelected()} onChange={r.getToggleSelectedHandler()} aria-label={selection.label(r.original)} /></td>
              )}
              {columns.map((c) => <td key={c.id}>{c.cell !== undefined ? c.cell(r.original) : c.value(r.original)}</td>)}
            </tr>
          ))}</tbody>
        </table></div>
      )}
      <nav className="pager" aria-label={t('table.pages', { caption })}>
        <span role="status">{t('table.range', { from, to, total: filtered })}</span>
        <button type="button" onClick={() => table.previousPage()} disabled={pageIndex === 0}>{t('table.previous')}</button>
        <span>{t('table.page', { page: pageIndex + 1, pages: pageCount })}</span>
        <button type="button" onClick={() => table.nextPage()} disabled={pageIndex >= pageCount - 1}>{t('table.next')}</button>
        <label htmlFor={sizeId}>{t('table.size')}</label>
        <select id={sizeId} value={state.pagination.pageSize} onChange={(e) => go({ pagination: { pageIndex: 0, pageSize: Number(e.target.value) } })}>
          {PAGE_SIZES.map((n) => <option key={n} value={n}>{n}</option>)}
        </select>
      </nav>
      {more !== undefined && <MoreRows list={more} />}
    </div>
  );
}
