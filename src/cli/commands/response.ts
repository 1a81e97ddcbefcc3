/** @module `mamori measures` (list, show) and `mamori measures artifact` (the RPZ zone, CIDR list, nftables set, JSON or STIX of measures in force, written atomically to a file). */
import { renameSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import type { Command } from 'commander';
import { systemContext } from '#platform/context/index.js';
import { AppError } from '#platform/errors/index.js';
import { ARTIFACT_FORMATS, type ArtifactFormat, type Measure, type ResponseService } from '#modules/response/index.js';
import { withCore } from '../context.js';
import { pageFooter, pageFromOptions, withPageOptions } from '../paging.js';

/** What `measures artifact` did: written (with its ETag), or left alone because the ETag matched. */
export interface ArtifactRun { format: ArtifactFormat; etag: string; written: boolean; bytes: number }

/**
 * Builds the artifact as the system and writes it to `out` through a temporary file and a rename, so a
 * resolver reloading the zone never reads half a file; with `ifNoneMatch` equal to the current ETag
 * nothing is written (a cron job can pass the ETag it printed last time).
 * @see RFC 9110 §13.1.2; docs/response.md "Artifacts"
 */
export async function writeArtifact(response: Pick<ResponseService, 'artifact'>, format: string, out: string | undefined, ifNoneMatch: string | undefined, write: (s: string) => void): Promise<ArtifactRun> {
  if (!(ARTIFACT_FORMATS as readonly string[]).includes(format)) throw new AppError('VALIDATION_FAILED', `format: choose one of ${ARTIFACT_FORMATS.join(', ')} (got "${format}").`);
  const f = format as ArtifactFormat;
  const { artifact, notModified } = await response.artifact(systemContext('cli'), f, ifNoneMatch);
  const body = artifact.body;
  if (notModified) return { format: f, etag: artifact.etag, written: false, bytes: 0 };
  if (out === undefined || out === '-') write(body);
  else {
    const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.tmp`);
    writeFileSync(tmp, body, { mode: 0o644 });
    renameSync(tmp, out);
  }
  return { format: f, etag: artifact.etag, written: true, bytes: Buffer.byteLength(body) };
}

/** One line of `measures list`. */
export function measureLine(m: Measure): string {
  const t = m.target as { domains?: string[]; prefixes?: string[]; addresses?: string[]; address?: string };
  const what = [...(t.domains ?? []), ...(t.prefixes ?? []), ...(t.addresses ?? []), ...(t.address !== undefined ? [t.address] : [])];
  const shown = what.length > 3 ? `${what.slice(0, 3).join(',')} +${what.length - 3}` : what.join(',');
  return `${m.id}  ${m.state.padEnd(10)} ${m.kind.padEnd(17)} ${m.agency.padEnd(6)} ${shown}  proposed ${m.proposedAt}`;
}

/** Registers `mamori measures`. @see docs/response.md */
export function registerResponseCommands(program: Command): void {
  const measures = program.command('measures').description('Measures against attack servers (sinkhole, block, takedown, …) and the artifacts built from those in force; reads are audited as the system.');
  const measuresList = measures
    .command('list')
    .description('List measures, newest first, one page at a time.')
    .option('--state <state>', 'only this state (proposed, submitted, approved, executing, completed, …)')
    .option('--kind <kind>', 'only this kind')
    .option('--json', 'print JSON ({ items, nextCursor })');
  withPageOptions(measuresList)
    .action(async (opts: { state?: string; kind?: string; json?: boolean; limit?: string; cursor?: string }, cmd: Command) => {
      const page = pageFromOptions(opts);
      await withCore(cmd, async (core) => {
        const list = await core.response.listMeasures(systemContext('cli'), { state: opts.state, kind: opts.kind, ...page });
        if (opts.json === true) { process.stdout.write(`${JSON.stringify(list, null, 2)}\n`); return; }
        for (const m of list.items) process.stdout.write(`${measureLine(m)}\n`);
        process.stdout.write(pageFooter(list, 'measure(s)'));
      });
    });
  measures
    .command('show <id>')
    .description('One measure with its orders, consultations, steps and transitions (JSON).')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await withCore(cmd, async (core) => {
        process.stdout.write(`${JSON.stringify(await core.response.getMeasure(systemContext('cli'), id), null, 2)}\n`);
      });
    });
  measures
    .command('artifact <format>')
    .description(`Write the artifact of the measures in force: ${ARTIFACT_FORMATS.join(' | ')} (rpz = DNS response policy zone).`)
    .option('-o, --out <file>', 'write to this file (atomically, by rename); default standard output')
    .option('--if-none-match <etag>', 'write nothing when the artifact still has this ETag (exit 0)')
    .action(async (format: string, opts: { out?: string; ifNoneMatch?: string }, cmd: Command) => {
      await withCore(cmd, async (core) => {
        const r = await writeArtifact(core.response, format, opts.out, opts.ifNoneMatch, (s) => process.stdout.write(s));
        if (opts.out !== undefined && opts.out !== '-') process.stderr.write(r.written ? `wrote ${r.bytes} bytes to ${opts.out}; ETag ${r.etag}\n` : `unchanged (ETag ${r.etag}); ${opts.out} left alone\n`);
        else if (!r.written) process.stderr.write(`unchanged (ETag ${r.etag})\n`);
      });
    });
}
