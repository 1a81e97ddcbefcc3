/** @module `mamori flows query`: filtered, grouped questions over the flow archive with a stated purpose, each audited through the archive's queryFlows. */
import type { Command } from 'commander';
import { systemContext } from '#platform/context/index.js';
import { AppError } from '#platform/errors/index.js';
import { GROUP_KEYS, type FlowQuery } from '#modules/selection/index.js';
import { isReplicated, type Core } from '#server/core.js';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { withCore } from '../context.js';

/** Options of `mamori flows query` as commander gives them. */
export interface FlowQueryOptions {
  purpose?: string;
  from?: string;
  to?: string;
  basis?: string[];
  foreignAddress?: string;
  foreignPrefix?: string;
  port?: string;
  proto?: string;
  category?: string;
  groupBy?: string;
  limit?: string;
  json?: boolean;
}

const PROTOCOLS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, gre: 47, esp: 50, icmpv6: 58, sctp: 132 };

/** `2026-04-01T00:00:00Z`, `2026-04-01` (UTC midnight), or `2h` / `30m` / `7d` ago. */
function timeOf(text: string, what: string, nowMs: number): string {
  const rel = /^(\d+)([smhd])$/.exec(text.trim());
  if (rel !== null) return new Date(nowMs - Number(rel[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd']).toISOString();
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (!Number.isFinite(ms) || !(/[zZ]|[+-]\d{2}:?\d{2}$/.test(text) || /^\d{4}-\d{2}-\d{2}$/.test(text))) {
    throw new AppError('VALIDATION_FAILED', `--${what} ${text}: give an ISO 8601 time with a zone (2026-04-01T09:00:00+09:00), a date (2026-04-01, UTC) or a duration ago (2h, 30m, 7d).`);
  }
  return new Date(ms).toISOString();
}

function intOf(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new AppError('VALIDATION_FAILED', `--${what} ${text}: give a whole number.`);
  return Number(text);
}

/** Turns command-line options into a flow query (defaults: the last 24 hours, 1000 rows). @see docs/selection.md */
export function flowQueryFromOptions(opts: FlowQueryOptions, nowMs: number): FlowQuery {
  if (opts.purpose === undefined || opts.purpose.trim() === '') throw new AppError('VALIDATION_FAILED', '--purpose: say why you query the flows (at least 10 characters); it goes into the audit log.');
  const to = opts.to !== undefined ? timeOf(opts.to, 'to', nowMs) : new Date(nowMs).toISOString();
  const from = opts.from !== undefined ? timeOf(opts.from, 'from', nowMs) : new Date(Date.parse(to) - 86_400_000).toISOString();
  const groupBy = (opts.groupBy ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const g of groupBy) if (!(g in GROUP_KEYS)) throw new AppError('VALIDATION_FAILED', `--group-by ${g}: choose from ${Object.keys(GROUP_KEYS).join(', ')}.`);
  let proto: number | undefined;
  if (opts.proto !== undefined) proto = PROTOCOLS[opts.proto.toLowerCase()] ?? intOf(opts.proto, 'proto');
  return {
    purpose: opts.purpose,
    filters: {
      from, to,
      ...(opts.basis !== undefined && opts.basis.length > 0 ? { basisIds: opts.basis } : {}),
      ...(opts.foreignAddress !== undefined ? { foreignAddress: opts.foreignAddress } : {}),
      ...(opts.foreignPrefix !== undefined ? { foreignPrefix: opts.foreignPrefix } : {}),
      ...(opts.port !== undefined ? { port: intOf(opts.port, 'port') } : {}),
      ...(proto !== undefined ? { proto } : {}),
      ...(opts.category !== undefined ? { category: opts.category as 'transit' } : {}),
    },
    groupBy: groupBy as (keyof typeof GROUP_KEYS)[],
    ...(opts.limit !== undefined ? { limit: intOf(opts.limit, 'limit') } : {}),
  };
}

const cell = (v: unknown): string => (v === null || v === undefined ? '-' : v instanceof Date ? v.toISOString() : typeof v === 'bigint' ? v.toString() : typeof v === 'object' ? JSON.stringify(v) : String(v as string | number | boolean));

/** Renders rows as an aligned text table (columns in the order of the first row). */
export function renderTable(rows: readonly Record<string, unknown>[]): string {
  if (rows.length === 0) return '';
  const cols = Object.keys(rows[0]!);
  const text = rows.map((r) => cols.map((c) => cell(r[c])));
  const width = cols.map((c, i) => Math.max(c.length, ...text.map((t) => t[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(width[i]!)).join('  ').trimEnd();
  return `${[line(cols), line(width.map((w) => '-'.repeat(w))), ...text.map(line)].join('\n')}\n`;
}

/** Runs one query as `ctx` (audited by the archive with its purpose and the bases read) and writes the answer. */
export async function runFlowQuery(core: Pick<Core, 'archive' | 'clock'>, opts: FlowQueryOptions, write: (s: string) => void, ctx = systemContext('cli')): Promise<{ rows: number }> {
  const query = flowQueryFromOptions(opts, core.clock.nowMs());
  const r = await core.archive.queryFlows(ctx, query);
  if (opts.json === true) {
    write(`${JSON.stringify({ query, ...r }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
    return { rows: r.rows.length };
  }
  write(renderTable(r.rows));
  write(`${r.rows.length} rows from ${r.partitions} partitions (${query.filters.from} → ${query.filters.to})${r.bases.length > 0 ? ` under bases ${r.bases.join(', ')}` : ''}; recorded in the audit log as flows:query with the purpose\n`);
  for (const d of r.damaged) {
    const where = `basis=${d.basis}/hour=${d.hour}/damaged/${d.file}`;
    write(`warning: the flows of ${where} are missing from this answer (set aside ${d.at}: ${d.reason})\n`);
  }
  return { rows: r.rows.length };
}

/** Adds `query` under `mamori flows` (creating `flows` if no other part did). @see docs/selection.md "Flow archive" */
export function registerFlowQueryCommand(program: Command): void {
  const flows = program.commands.find((c) => c.name() === 'flows') ?? program.command('flows').description('Work with flows.');
  flows
    .command('query')
    .description('Ask the flow archive a filtered, grouped question with a stated purpose (audited as flows:query, as the system).')
    .requiredOption('--purpose <text>', 'why you ask (at least 10 characters; recorded in the audit log)')
    .option('--from <time>', 'start: ISO 8601 with a zone, a date (UTC), or a duration ago such as 2h (default: 24h before --to)')
    .option('--to <time>', 'end (exclusive), same forms (default: now)')
    .option('--basis <id>', 'only this legal basis (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--foreign-address <addr>', 'flows with this foreign endpoint')
    .option('--foreign-prefix <prefix>', 'flows with a foreign endpoint in this prefix')
    .option('--port <n>', 'flows with this source or destination port')
    .option('--proto <p>', 'protocol number or name (tcp, udp, icmp, …)')
    .option('--category <c>', 'transit | inbound | outbound')
    .option('--group-by <keys>', `comma-separated: ${Object.keys(GROUP_KEYS).join(', ')} (with flow, byte and packet sums)`)
    .option('--limit <n>', 'at most this many rows (1–10000)', '1000')
    .option('--json', 'print JSON')
    .action(async (opts: FlowQueryOptions, cmd: Command) => {
      // In a cluster the query fetches what it reads from the archive bucket into a cache of its own (a replica on the
      // same host keeps its cache in <dataDir>/archive), deleted afterwards.
      let cacheDir: string | undefined;
      try {
        await withCore(cmd, async (core) => {
          await core.archiveHub?.component.start();
          try {
            await runFlowQuery(core, opts, (s) => process.stdout.write(s));
          } finally {
            await core.archiveHub?.component.stop();
          }
        }, (config) => {
          if (!isReplicated(config)) return {};
          mkdirSync(config.dataDir, { recursive: true });
          return { archiveCacheDir: (cacheDir = mkdtempSync(join(config.dataDir, 'cli-archive-cache-'))) };
        });
      } finally {
        if (cacheDir !== undefined) rmSync(cacheDir, { recursive: true, force: true });
      }
    });
}
