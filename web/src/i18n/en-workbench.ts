// English strings of the analyst's workbench: exactly the keys of ja-workbench.ts; part of en.ts.
import type { jaWorkbench } from './ja-workbench.js';

export const enWorkbench: Record<keyof typeof jaWorkbench, string> = {
  'table.search': 'Filter',
  'table.none': 'No rows match.',
  'table.select': 'Select',
  'table.pages': 'Pages of {caption}',
  'table.range': '{from}–{to} of {total}',
  'table.previous': 'Previous',
  'table.page': 'Page {page} of {pages}',
  'table.next': 'Next',
  'table.size': 'Rows per page',
};
