/** @module `mamori audit`: verify the log, sign a checkpoint now, print an inclusion proof, run the commission's witness. */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { AppError } from '#platform/errors/index.js';
import {
  defaultLogKeyPath, defaultWitnessKeyPath, latestCheckpoint, parseVerifierKey, readWitnessState, readWitnessVerifier,
  replaceCheckpointNote, runWitness, signedHighWater, verifyAuditLog, witnessStatePath, type VerifierKey,
} from '#modules/audit/index.js';
import type { Core } from '#server/core.js';
import { withCore } from '../context.js';
import { Progress } from '../io.js';

function vkeyOption(text: string, option: string): VerifierKey {
  const r = parseVerifierKey(text.trim());
  if (!r.ok) throw new AppError('VALIDATION_FAILED', `${option}: ${r.error.message}`);
  return r.value;
}

function intOption(v: string | undefined, option: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^(0|[1-9][0-9]*)$/.test(v) || !Number.isSafeInteger(Number(v))) throw new AppError('VALIDATION_FAILED', `${option}: give a non-negative whole number.`);
  return Number(v);
}

/**
 * The tree size `audit proof` proves against: `--size` if given, else the latest checkpoint's. The checkpoint is read
 * before the head: a server signing a larger head between the two reads would otherwise make the latest checkpoint
 * look past the head, and the command refuse a size nobody gave.
 */
export async function proofTreeSize(log: { latest(): Promise<{ size: number } | undefined>; head(): Promise<{ size: number }> }, given: number | undefined): Promise<number> {
  const size = given ?? (await log.latest())?.size;
  if (size === undefined) throw new AppError('NOT_FOUND', 'No checkpoint yet: give --size, or sign one with `mamori audit checkpoint`.');
  const head = await log.head();
  if (size < 1 || size > head.size) throw new AppError('VALIDATION_FAILED', `--size: give a tree size from 1 to ${head.size}.`);
  return size;
}

/** The log's verifier key: the one given, else the key file's (never created here). */
function logKeyOf(core: Core, given: string | undefined): VerifierKey {
  if (given !== undefined) return vkeyOption(given, '--log-key');
  const keyFile = core.config.audit.keyFile ?? defaultLogKeyPath(core.config.dataDir);
  if (!existsSync(keyFile)) throw new AppError('CONFIG_INVALID', `No log key at ${keyFile}: give the published key with --log-key (GET /api/v1/audit/keys), or start the server once to create it.`);
  return core.checkpointer.verifier();
}

function witnessKeyFile(core: Core, given: string | undefined): string {
  return given ?? core.config.audit.witnessKeyFile ?? defaultWitnessKeyPath(core.config.dataDir);
}

/** Registers `audit verify|checkpoint|proof|witness`. */
export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('The tamper-evident audit log: verify it, sign checkpoints, print proofs, witness.');

  audit
    .command('verify')
    .description('Recompute the whole log from the stored entries and check every hash, node and signed checkpoint; exits 1 naming the first bad entry.')
    .option('--checkpoint <file>', 'also check against a checkpoint note kept outside the system')
    .option('--log-key <vkey>', 'the log verifier key to trust (default: the key file\'s public key)')
    .option('--witness-key <vkey>', 'a witness verifier key whose cosignatures must verify (default: the commission witness, if set up)')
    .option('--page-size <n>', 'entries read per query', '5000')
    .action(async (opts: { checkpoint?: string; logKey?: string; witnessKey?: string; pageSize: string }, cmd: Command) => {
      const external = opts.checkpoint === undefined ? undefined : readFileSync(opts.checkpoint, 'utf8');
      const pageSize = intOption(opts.pageSize, '--page-size') ?? 5000;
      if (pageSize < 1) throw new AppError('VALIDATION_FAILED', '--page-size: give at least 1.');
      await withCore(cmd, async (core) => {
        const logKey = logKeyOf(core, opts.logKey);
        const witness = opts.witnessKey !== undefined ? vkeyOption(opts.witnessKey, '--witness-key') : readWitnessVerifier(witnessStatePath(witnessKeyFile(core, undefined)));
        const progress = new Progress('audit verify', undefined);
        let bar: Progress | undefined;
        // The largest trees signed, as the files outside the database remember them: a shrunk log fails.
        const signedElsewhere = signedHighWater(core.config.audit.keyFile ?? defaultLogKeyPath(core.config.dataDir), witnessStatePath(witnessKeyFile(core, undefined)));
        const r = await verifyAuditLog(core.db, {
          logKey, pageSize, signedElsewhere, ...(witness !== undefined ? { witnessKeys: [witness] } : {}), ...(external !== undefined ? { externalCheckpoint: external } : {}),
          onProgress: (done, total) => { bar ??= new Progress('audit verify', total); bar.update(done); },
        });
        const out = bar ?? progress;
        if (!r.ok) {
          out.finish('FAILED');
          const p = r.problem!;
          process.stderr.write(`mamori: audit log verification FAILED${p.index !== null ? ` at entry ${p.index}` : ''}: ${p.reason}\n`);
          process.exitCode = 1;
          return;
        }
        out.finish(`${r.size} entries`);
        process.stdout.write(`audit log OK: ${r.size} entries, root ${r.root}, ${r.checkpoints} signed checkpoints (${r.cosigned} co-signed by the witness)${external !== undefined ? ', external checkpoint matches' : ''}\n`);
      });
    });

  audit
    .command('checkpoint')
    .description('Sign a checkpoint of the current log now (after checking it extends the last one) and print the note.')
    .action(async (_opts: unknown, cmd: Command) => {
      await withCore(cmd, async (core) => {
        const cp = await core.checkpointer.checkpointNow();
        if (cp === undefined) throw new AppError('NOT_FOUND', 'The log is empty: there is nothing to sign yet.');
        process.stdout.write(cp.note);
      });
    });

  audit
    .command('proof')
    .description('Print the inclusion proof (JSON, docs/audit-formats.md) of an entry.')
    .requiredOption('--index <n>', 'the entry index (0-based)')
    .option('--size <n>', 'tree size to prove against (default: the latest checkpoint)')
    .action(async (opts: { index: string; size?: string }, cmd: Command) => {
      const index = intOption(opts.index, '--index')!;
      const sizeGiven = intOption(opts.size, '--size');
      await withCore(cmd, async (core) => {
        const size = await proofTreeSize({ latest: () => latestCheckpoint(core.db.kysely), head: () => core.audit.head() }, sizeGiven);
        if (index >= size) throw new AppError('VALIDATION_FAILED', `--index: entry ${index} is not in the tree of size ${size}.`);
        process.stdout.write(`${JSON.stringify(await core.audit.inclusionProof(index, size), null, 2)}\n`);
      });
    });

  audit
    .command('witness')
    .description('As the commission: check the latest checkpoint extends the last one co-signed, then co-sign it. Exits 1 naming the problem otherwise.')
    .option('--key-file <file>', 'the witness key file (default: audit.witnessKeyFile or <dataDir>/keys/commission-witness.key; created with mode 0600)')
    .option('--log-key <vkey>', 'the log verifier key to trust (default: pinned at the first run, else the log key file\'s)')
    .action(async (opts: { keyFile?: string; logKey?: string }, cmd: Command) => {
      await withCore(cmd, async (core) => {
        const keyFile = witnessKeyFile(core, opts.keyFile);
        const pinned = readWitnessState(witnessStatePath(keyFile))?.logKey;
        const logKey = opts.logKey !== undefined ? vkeyOption(opts.logKey, '--log-key') : pinned !== undefined ? vkeyOption(pinned, 'the witness state') : logKeyOf(core, undefined);
        const q = core.db.kysely;
        const out = await runWitness({
          keyFile, name: core.config.audit.witnessName, logKey, nowMs: core.clock.nowMs(),
          log: {
            latest: () => latestCheckpoint(q),
            consistencyProof: async (a, b) => (await core.audit.consistencyProof(a, b)).proof,
            storeCosigned: (size, previous, next) => replaceCheckpointNote(q, size, previous, next),
          },
        });
        process.stderr.write(out.outcome === 'cosigned' ? `co-signed the checkpoint of size ${out.size}\n` : `nothing new: the checkpoint of size ${out.size} is already co-signed\n`);
        process.stdout.write(out.note);
      });
    });
}
