/** @module `mamori report diet` and `mamori oversight sweep`: the commission's report to the Diet (JSON, HTML, PDF when Chromium is present) and a manual sweep. */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { systemContext } from '#platform/context/index.js';
import { renderDietReportHtml } from '#modules/oversight/index.js';
import { withCore } from '../context.js';

const CHROMIUMS = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

/** The first Chromium-family browser on PATH, if any. */
export function findChromium(pathVar: string | undefined): string | undefined {
  for (const dir of (pathVar ?? '').split(delimiter).filter((d) => d !== '')) {
    for (const name of CHROMIUMS) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** Registers `report diet` (beside any other `report` subcommands) and `oversight sweep`. */
export function registerOversightCommands(program: Command): void {
  const report = program.commands.find((c) => c.name() === 'report') ?? program.command('report').description('Reports.');
  report
    .command('diet')
    .description('The commission\'s report to the Diet for a period: JSON and HTML (and PDF when Chromium is installed), computed from the audit log at a freshly signed checkpoint.')
    .requiredOption('--from <date>', 'start of the period (ISO date or time, UTC), inclusive')
    .requiredOption('--to <date>', 'end of the period (ISO date or time, UTC), exclusive')
    .option('--out <dir>', 'where to write the files', '.')
    .action(async (opts: { from: string; to: string; out: string }, cmd: Command) => {
      await withCore(cmd, async (core) => {
        const r = await core.oversight.dietReport(systemContext('cli-diet-report'), { from: opts.from, to: opts.to });
        const dir = resolve(opts.out);
        mkdirSync(dir, { recursive: true });
        const base = join(dir, `diet-report_${r.window.from.slice(0, 10)}_${r.window.to.slice(0, 10)}`);
        writeFileSync(`${base}.json`, `${JSON.stringify(r, null, 2)}\n`);
        writeFileSync(`${base}.html`, renderDietReportHtml(r));
        const lines = [`${base}.json`, `${base}.html`];
        const chromium = findChromium(process.env['PATH']);
        if (chromium === undefined) {
          lines.push(`PDF: not written — no Chromium on PATH (looked for ${CHROMIUMS.join(', ')}); install Debian's chromium, or print the HTML.`);
        } else {
          const run = spawnSync(chromium, ['--headless', '--no-sandbox', '--disable-gpu', `--print-to-pdf=${base}.pdf`, '--no-pdf-header-footer', pathToFileURL(`${base}.html`).href], { stdio: 'ignore', timeout: 120_000 });
          lines.push(run.status === 0 ? `${base}.pdf` : `PDF: ${chromium} failed (exit ${run.status ?? 'timeout'}); the JSON and HTML are complete.`);
        }
        const x = r.reconciliation;
        lines.push(`computed at the signed checkpoint of size ${r.checkpoint.size}, root ${r.checkpoint.root}`,
          `reconciled: ${x.checkpointSize} entries = ${x.beforePeriod} before the period + ${x.inPeriod} in it + ${x.afterPeriod} after; in it ${x.counted} counted + ${x.notCounted} of actions no figure counts + ${x.notSuccessful} not successful`);
        process.stdout.write(`${lines.join('\n')}\n`);
      });
    });

  program
    .command('oversight')
    .description('The commission\'s housekeeping.')
    .command('sweep')
    .description('Expire approvals past their end and halt (and purge) emergency actions past their review deadline now; the server does this on a timer.')
    .action(async (_opts: unknown, cmd: Command) => {
      await withCore(cmd, async (core) => {
        const r = await core.oversight.sweep(systemContext('cli'));
        process.stdout.write(`expired ${r.expired} approvals, lapsed ${r.lapsed} emergency reviews, halted ${r.halted} emergency actions${r.failed > 0 ? `, ${r.failed} failed (retried next sweep)` : ''}\n`);
        if (r.failed > 0) process.exitCode = 1;
      });
    });
}
