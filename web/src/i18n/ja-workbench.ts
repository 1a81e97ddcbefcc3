// Japanese strings of the analyst's workbench (tables, charts, entity pages, intel search, work queues); part of ja.ts.
export const jaWorkbench = {
  'table.search': '絞り込み',
  'table.none': '該当する行はありません。',
  'table.select': '選択',
  'table.pages': '{caption}のページ',
  'table.range': '{total} 件中 {from}–{to} 件',
  'table.previous': '前へ',
  'table.page': '{page} / {pages} ページ',
  'table.next': '次へ',
  'table.size': '1 ページの件数',
} as const;
