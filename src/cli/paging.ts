/** @module Paging of the CLI's list commands: the same `--limit`/`--cursor` on every one, and the line that says how to go on. */
import type { Command } from 'commander';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, parsePageQuery, type Page, type PageQuery } from '#platform/paging/index.js';

/** Adds `--limit` and `--cursor` to a list command. */
export function withPageOptions(cmd: Command, defaultLimit = DEFAULT_PAGE_LIMIT): Command {
  return cmd
    .option('--limit <n>', `items on this page (1–${MAX_PAGE_LIMIT})`, String(defaultLimit))
    .option('--cursor <cursor>', 'the next page: the cursor the previous page printed');
}

/** The page the options ask for; a bad --limit or --cursor is VALIDATION_FAILED naming it (exit 2), before anything is read. */
export function pageFromOptions(opts: { limit?: string; cursor?: string }): PageQuery {
  return parsePageQuery({ limit: opts.limit, cursor: opts.cursor });
}

/** The last line of a listed page: how many it showed and the option that shows the next one. */
export function pageFooter(page: Page<unknown>, noun: string): string {
  return `${page.items.length} ${noun}${page.nextCursor === null ? '' : `; next page: --cursor ${page.nextCursor}`}\n`;
}
