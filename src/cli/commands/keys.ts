/** @module `mamori keys list`: pseudonym key periods, their state (active or destroyed) and the data still depending on each. */
import type { Command } from 'commander';
import { withCore } from '../context.js';

/** Registers `mamori keys list`. @see docs/selection.md "Keys and crypto-shredding" */
export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('Pseudonym keys: one per period, encrypted in the keystore, destroyed once nothing pseudonymized with them remains.');
  keys
    .command('list')
    .description('Every key period with its state and what still depends on it (archive partitions of its hours, findings naming hosts in it).')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withCore(cmd, async (core) => {
        const rows = await core.lifecycle.keyReport();
        if (opts.json === true) { process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`); return; }
        if (rows.length === 0) {
          process.stdout.write(core.config.secrets.pseudonymKey !== undefined
            ? 'Keys are derived from secrets.pseudonymKey: they cannot be destroyed, so no period is listed. Use the keystore (remove secrets.pseudonymKey).\n'
            : 'No key periods yet: nothing has been pseudonymized.\n');
          return;
        }
        for (const r of rows) {
          const state = r.state === 'destroyed' ? `destroyed ${r.destroyedAt ?? ''} — re-identification impossible` : `active, ${r.archivePartitions} archive partition(s) and ${r.findings} finding(s) depend on it`;
          process.stdout.write(`${r.period.padEnd(10)}  ${state}\n`);
        }
      });
    });
}
