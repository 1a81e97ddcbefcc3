/** @module `mamori feeds add|list|pull` (external TAXII 2.1 feeds into the indicator store) and `mamori leak trace FILE`. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { systemContext } from '#platform/context/index.js';
import { AppError } from '#platform/errors/index.js';
import { withCore } from '../context.js';
import { pageFooter, pageFromOptions, withPageOptions } from '../paging.js';
import { readStdin } from '../io.js';

/** Registers `feeds` and `leak` subcommands. */
export function registerSharingCommands(program: Command): void {
  const feeds = program.command('feeds').description('External TAXII 2.1 feeds pulled into the indicator store (runs on the host as the system; audited).');

  feeds
    .command('add')
    .description('Add a TAXII 2.1 collection to pull from.')
    .requiredOption('--name <name>', 'a name for the feed')
    .requiredOption('--url <url>', 'the collection URL, e.g. https://host/taxii2/root/collections/<id>/')
    .option('--username <user>', 'HTTP Basic user (the password is read from standard input)')
    .option('--token-stdin', 'read a Bearer token from standard input')
    .option('--interval <seconds>', 'pull interval in seconds (at least 60)', '3600')
    .option('--confidence <0-100>', 'confidence of indicators that state none', '50')
    .action(async (opts: { name: string; url: string; username?: string; tokenStdin?: boolean; interval: string; confidence: string }, cmd: Command) => {
      if (opts.username !== undefined && opts.tokenStdin === true) throw new AppError('VALIDATION_FAILED', 'Give either --username (Basic) or --token-stdin (Bearer), not both.');
      const secret = opts.username !== undefined || opts.tokenStdin === true ? await readStdin() : undefined;
      const auth = opts.username !== undefined ? { kind: 'basic' as const, username: opts.username, password: secret ?? '' } : opts.tokenStdin === true ? { kind: 'bearer' as const, token: secret ?? '' } : { kind: 'none' as const };
      await withCore(cmd, async (core) => {
        const feed = await core.sharing.addFeed(systemContext('cli'), { name: opts.name, url: opts.url, auth, intervalSeconds: Number(opts.interval), defaultConfidence: Number(opts.confidence) });
        process.stdout.write(`feed ${feed.name} added (${feed.id}); pulled every ${feed.intervalSeconds} s while the server runs, or now with \`mamori feeds pull ${feed.name}\`\n`);
      });
    });

  withPageOptions(feeds
    .command('list')
    .description('List feeds by name, their cursors and last errors (never their credentials), one page at a time.')
    .option('--json', 'print JSON ({ items, nextCursor })'))
    .action(async (opts: { json?: boolean; limit?: string; cursor?: string }, cmd: Command) => {
      const page = pageFromOptions(opts);
      await withCore(cmd, async (core) => {
        const list = await core.sharing.listFeeds(systemContext('cli'), page);
        if (opts.json === true) { process.stdout.write(`${JSON.stringify(list, null, 2)}\n`); return; }
        if (list.items.length === 0 && page.cursor === undefined) { process.stdout.write('no feeds; add one with `mamori feeds add --name NAME --url URL`\n'); return; }
        for (const f of list.items) process.stdout.write(`${f.name}\t${f.url}\tauth=${f.auth}\tevery ${f.intervalSeconds}s\tlast=${f.lastPulledAt ?? 'never'}\tobjects=${f.pulledObjects}${f.lastError !== null ? `\terror=${f.lastError}` : ''}\n`);
        process.stdout.write(pageFooter(list, 'feed(s)'));
      });
    });

  feeds
    .command('pull')
    .description('Pull one feed (or every due feed with --due) now.')
    .argument('[name]', 'feed name or id')
    .option('--due', 'pull every feed whose interval has passed')
    .action(async (name: string | undefined, opts: { due?: boolean }, cmd: Command) => {
      await withCore(cmd, async (core) => {
        const ctx = systemContext('cli');
        if (opts.due === true) {
          const r = await core.sharing.pullDueFeeds(ctx);
          process.stdout.write(`pulled ${r.pulled} feed(s), ${r.failed} failed (see \`mamori feeds list\`)\n`);
          if (r.failed > 0) process.exitCode = 1;
          return;
        }
        if (name === undefined) throw new AppError('VALIDATION_FAILED', 'Name the feed to pull, or give --due.');
        const r = await core.sharing.pullFeed(ctx, name);
        process.stdout.write(`${r.feed.name}: ${r.objects} object(s), ${r.indicators} indicator value(s); cursor ${r.feed.cursor ?? '(none)'}\n`);
      });
    });

  const leak = program.command('leak').description('Leak attribution of shared intelligence.');
  leak
    .command('trace')
    .description('Name the recipient(s) whose copy a leaked bundle, object or fragment is, with the evidence ("-" reads standard input).')
    .argument('<file>', 'the leaked text')
    .option('--json', 'print the full report as JSON')
    .action(async (file: string, opts: { json?: boolean }, cmd: Command) => {
      const text = file === '-' ? await readStdin() : readFileSync(file, 'utf8');
      await withCore(cmd, async (core) => {
        const report = await core.sharing.traceLeak(systemContext('cli'), text);
        if (opts.json === true) { process.stdout.write(`${JSON.stringify(report, null, 2)}\n`); return; }
        if (report.verdict.length === 0) {
          process.stdout.write(`no recipient identified (${report.objects.length} object(s) examined; the marks may have been stripped — see docs/sharing.md)\n`);
          process.exitCode = 1;
          return;
        }
        for (const v of report.verdict) process.stdout.write(`${v.conclusive ? 'IDENTIFIED' : 'candidate '}  ${v.username ?? v.userId}  org=${v.orgId ?? '-'}  score=${v.score} bits over ${v.objects} object(s)\n`);
        for (const o of report.objects) {
          const top = o.candidates[0];
          if (top === undefined) continue;
          process.stdout.write(`  ${o.leakedId ?? '(no id)'} -> ${o.canonicalId ?? '?'}: ${top.username ?? top.userId} ${top.evidence.map((e) => `${e.mark}${e.matched ? '✓' : '✗'}`).join(' ')}${top.received.length > 0 ? `; received via ${top.received[0]!.channel} at ${top.received[0]!.at}` : ''}\n`);
        }
      });
    });
}
