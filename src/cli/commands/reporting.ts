/** @module `mamori registry` and `mamori report`: import and export the registry of designated operators, export incident reports, run the reporting clocks. */
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { isoUtc } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { AppError } from '#platform/errors/index.js';
import { EXPORT_FORMATS, renderExport, type ExportFormat } from '#modules/reporting/index.js';
import { withCore } from '../context.js';

function output(text: string, out: string | undefined): void {
  if (out === undefined) process.stdout.write(text);
  else {
    writeFileSync(out, text, { mode: 0o600 });
    process.stderr.write(`wrote ${out}\n`);
  }
}

/** Writes streamed text to standard output or a new file (mode 0600), waiting whenever the destination is full. */
async function streamOutput(text: AsyncIterable<string>, out: string | undefined): Promise<void> {
  if (out === undefined) {
    await pipeline(Readable.from(text), process.stdout, { end: false });
    return;
  }
  await pipeline(Readable.from(text), createWriteStream(out, { mode: 0o600 }));
  process.stderr.write(`wrote ${out}\n`);
}

/** Registers `registry` and `report` subcommands. */
export function registerReportingCommands(program: Command): void {
  const registry = program.command('registry').description('The registry of designated operators (runs on the host as the system; every change is audited).');
  registry
    .command('import <file>')
    .description('Import a registry CSV. With --dry-run, list every error with its line and change nothing; a real import is all or nothing.')
    .option('--dry-run', 'check the file and show what would change')
    .action(async (file: string, opts: { dryRun?: boolean }, cmd: Command) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        throw new AppError('BAD_REQUEST', `Cannot read ${file}; check the path.`);
      }
      await withCore(cmd, async (core) => {
        const dryRun = opts.dryRun === true;
        let r;
        try {
          r = await core.registry.importCsv(systemContext('cli'), text, { dryRun });
        } catch (e) {
          if (e instanceof AppError && e.details !== undefined) for (const d of e.details) process.stderr.write(`${file}:${d.path.replace(/^line /, '').replace('.', ': ')}: ${d.message}\n`);
          throw e;
        }
        for (const e of r.errors) process.stderr.write(`${file}:${e.line}: ${e.field}: ${e.message}\n`);
        for (const o of r.operators) process.stdout.write(`${dryRun ? 'would ' : ''}${o.action} ${o.name}\n`);
        process.stdout.write(`${dryRun ? 'dry run: ' : ''}${r.operators.length} operators, ${r.ranges} ranges, ${r.exporters} exporters${r.errors.length > 0 ? `; ${r.errors.length} error(s), nothing imported` : r.applied ? ' imported' : ''}\n`);
        if (r.errors.length > 0) process.exitCode = 2;
      });
    });
  registry
    .command('export')
    .description('Export the registry as CSV (the import format).')
    .option('-o, --out <file>', 'write to a file instead of standard output')
    .action(async (opts: { out?: string }, cmd: Command) => {
      await withCore(cmd, async (core) => output(await core.registry.exportCsv(systemContext('cli')), opts.out));
    });

  const report = program.command('report').description('Incident reports (exports and the reporting clocks).');
  report
    .command('export')
    .description('Export incident reports as JSON, CSV or a printable bilingual HTML form; the export is audited.')
    .option('-f, --format <format>', `one of ${EXPORT_FORMATS.join(', ')}`, 'json')
    .option('-o, --out <file>', 'write to a file instead of standard output')
    .action(async (opts: { format: string; out?: string }, cmd: Command) => {
      if (!(EXPORT_FORMATS as readonly string[]).includes(opts.format)) throw new AppError('VALIDATION_FAILED', `--format: use ${EXPORT_FORMATS.join(', ')}.`);
      await withCore(cmd, async (core) => {
        // Streamed chunk by chunk (each chunk audited): memory holds one chunk whatever the number of reports.
        const chunks = core.reporting.exportIncidents(systemContext('cli'), opts.format);
        await streamOutput(renderExport(chunks, opts.format as ExportFormat, isoUtc(core.clock.nowMs())), opts.out);
      });
    });
  report
    .command('sweep')
    .description('Run the reporting clocks once now: reminders and overdue escalation (the server does this on its own).')
    .action(async (_opts: unknown, cmd: Command) => {
      await withCore(cmd, async (core) => {
        const r = await core.reporting.sweep(systemContext('cli'));
        process.stdout.write(`reminded ${r.reminded}, escalated ${r.escalated}\n`);
      });
    });
}
