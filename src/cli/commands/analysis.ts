/** @module `mamori findings` (list, show) and `mamori analyse` (run every detector over flow files and store the findings). */
import type { Command } from 'commander';
import { systemContext } from '#platform/context/index.js';
import { AppError } from '#platform/errors/index.js';
import { findingQuerySchema, type FindingUpdate } from '#modules/analysis/index.js';
import { withCore } from '../context.js';

/** Registers `mamori findings`. @see docs/detection.md#findings */
export function registerAnalysisCommands(program: Command): void {
  const findings = program.command('findings').description('Findings of the detectors (beacons, scans, DDoS, fan-in, known indicators); reads are audited as the system.');
  findings
    .command('list')
    .description('List findings, latest evidence first.')
    .option('--kind <kind>', 'beacon | scan-horizontal | scan-vertical | ddos-volumetric | ddos-reflection | botnet-fanin | known-indicator')
    .option('--min-level <level>', 'info | suspect | alert')
    .option('--limit <n>', 'at most this many (one page, at most 500)', '50')
    .option('--cursor <cursor>', 'the next page: the cursor the previous page printed')
    .option('--json', 'print JSON')
    .action(async (opts: { kind?: string; minLevel?: string; limit: string; cursor?: string; json?: boolean }, cmd: Command) => {
      const q = findingQuerySchema.safeParse({ kind: opts.kind, minLevel: opts.minLevel, limit: opts.limit, cursor: opts.cursor });
      if (!q.success) throw new AppError('VALIDATION_FAILED', `Bad option: ${q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      await withCore(cmd, async (core) => {
        const r = await core.analysis.listFindings(systemContext('cli'), q.data);
        if (opts.json === true) { process.stdout.write(`${JSON.stringify(r, null, 2)}\n`); return; }
        for (const f of r.items) {
          process.stdout.write(`${f.id}  ${f.level.padEnd(7)} ${f.kind.padEnd(16)} ${f.subject.kind}=${f.subject.value}  score ${f.score.toFixed(2)}  hosts ${f.hostCount}  ${new Date(f.firstSeen).toISOString()} → ${new Date(f.lastSeen).toISOString()}  rev ${f.revision}\n`);
        }
        process.stdout.write(`${r.items.length} of ${r.total}${r.nextCursor === null ? '' : `; next page: --cursor ${r.nextCursor}`}\n`);
      });
    });
  findings
    .command('show <id>')
    .description('One finding with its score detail and evidence (JSON).')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await withCore(cmd, async (core) => {
        process.stdout.write(`${JSON.stringify(await core.analysis.getFinding(systemContext('cli'), id), null, 2)}\n`);
      });
    });
}

/** Stores detector updates as the system (used by `mamori analyse`-like jobs and the demo). */
export async function storeFindings(core: { analysis: { recordFindings(ctx: ReturnType<typeof systemContext>, u: readonly FindingUpdate[]): Promise<string[]> } }, updates: readonly FindingUpdate[]): Promise<number> {
  if (updates.length === 0) return 0;
  return (await core.analysis.recordFindings(systemContext('analysis'), updates)).length;
}
