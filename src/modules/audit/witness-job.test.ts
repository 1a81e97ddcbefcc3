import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '#platform/config/index.js';
import { generateSignerKey, openCheckpoint, signerKeyToPem, SIG_COSIGNATURE_V1 } from './checkpoint.js';
import { latestCheckpoint } from './checkpointer.js';
import { createPrivateFileOnce } from './keys.js';
import { createAuditFixture, events, type AuditFixture } from './test-support/fixture.js';
import { readWitnessState, witnessStatePath } from './witness.js';
import { createWitnessJob, witnessVerifierOf, type WitnessJob } from './witness-job.js';

const WITNESS = 'commission.test.example/witness';
const fixtures: AuditFixture[] = [];
const jobs: WitnessJob[] = [];
afterEach(async () => {
  for (const j of jobs.splice(0)) await j.stop();
  for (const f of fixtures.splice(0)) await f.close();
});

async function fixture(dir?: string): Promise<AuditFixture> {
  const f = await createAuditFixture(dir !== undefined ? { dir } : {});
  fixtures.push(f);
  return f;
}

/** The commission's key, copied to `n` replicas' own directories (each gets its own state file beside it). */
function witnessKeyFiles(n: number): string[] {
  const pem = signerKeyToPem(generateSignerKey(WITNESS, SIG_COSIGNATURE_V1));
  return Array.from({ length: n }, () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mamori-witness-')), 'keys', 'commission-witness.key');
    createPrivateFileOnce(file, pem);
    return file;
  });
}

function job(f: AuditFixture, keyFile: string, opts: { errors?: string[]; cosigned?: number[] } = {}): WitnessJob {
  const j = createWitnessJob({ keyFile, name: WITNESS, everySeconds: 3600 }, {
    db: f.db.kysely, log: f.log, logKey: () => f.checkpointer.verifier(), clock: f.clock,
    logger: { info: () => undefined, warn: () => undefined, error: (o, m) => opts.errors?.push(`${m}: ${(o as { err: string }).err}`) },
    onCosigned: (size) => opts.cosigned?.push(size),
  });
  jobs.push(j);
  return j;
}

async function grow(f: AuditFixture, n: number, offset: number): Promise<void> {
  await f.log.recordMany(f.ctx, events(n, offset));
  await f.checkpointer.checkpointNow();
}

const cosignedBy = async (f: AuditFixture, keyFile: string): Promise<boolean> => {
  const w = witnessVerifierOf(keyFile, WITNESS)!;
  const opened = openCheckpoint((await latestCheckpoint(f.db.kysely))!.note, f.checkpointer.verifier(), [w]);
  return opened.ok && opened.value.verified.some((v) => v.key === w);
};

describe('witness job', () => {
  it('co-signs each new checkpoint at start and on each run, once, and tells the server', async () => {
    const f = await fixture();
    const [keyFile] = witnessKeyFiles(1) as [string];
    const cosigned: number[] = [];
    const j = job(f, keyFile, { cosigned });
    await grow(f, 5, 0);
    await j.start();
    expect(await cosignedBy(f, keyFile)).toBe(true);
    expect(await j.runOnce()).toMatchObject({ outcome: 'unchanged', size: 5 });
    await grow(f, 4, 5);
    expect(await j.runOnce()).toMatchObject({ outcome: 'cosigned', size: 9 });
    expect(cosigned).toEqual([5, 9]);
    expect(readWitnessState(witnessStatePath(keyFile))?.size).toBe(9);
    expect(j.stats()).toMatchObject({ cosigned: 2, refusals: 0, refusing: false, size: 9 });
  });

  it('the leader moves: a replica with no state, then one with an older state file, continue from the co-signed checkpoints', async () => {
    const f = await fixture();
    const [fileA, fileB] = witnessKeyFiles(2) as [string, string];
    const a = job(f, fileA);
    const b = job(f, fileB);
    await grow(f, 5, 0);
    expect((await a.runOnce())?.outcome).toBe('cosigned');
    // B leads now; it never ran. It starts from A's cosignature at 5 (found in the store) rather than trusting blindly,
    await grow(f, 4, 5);
    expect(await b.runOnce()).toMatchObject({ outcome: 'cosigned', size: 9 });
    expect(readWitnessState(witnessStatePath(fileB))?.size).toBe(9);
    // and, with nothing new, does not co-sign the same note twice (two cosignatures by one key would spoil the note).
    expect((await b.runOnce())?.outcome).toBe('unchanged');
    // A leads again with its state file at 5: the proof 5 → 9 (B's) and 5 → 12 hold; its state moves to 12.
    await grow(f, 3, 9);
    expect(await a.runOnce()).toMatchObject({ outcome: 'cosigned', size: 12 });
    expect(readWitnessState(witnessStatePath(fileA))?.size).toBe(12);
    // B, now behind, catches its state file up from A's cosignature without signing again.
    expect(await b.runOnce()).toMatchObject({ outcome: 'unchanged', size: 12 });
    expect(readWitnessState(witnessStatePath(fileB))?.size).toBe(12);
  });

  it('refuses a fork co-signed by another replica that had no state of its own, alerts once per problem, and changes nothing', async () => {
    const f = await fixture();
    const [fileA, fileB] = witnessKeyFiles(2) as [string, string];
    const errors: string[] = [];
    const a = job(f, fileA, { errors });
    await grow(f, 6, 0);
    expect((await a.runOnce())?.outcome).toBe('cosigned');
    const stateA = readFileSync(witnessStatePath(fileA), 'utf8');
    // A rewritten log (same log key, other history) of size 10, which replica B — no state file — co-signs on first use.
    const forkDir = mkdtempSync(join(tmpdir(), 'mamori-fork-'));
    mkdirSync(join(forkDir, 'keys'), { mode: 0o700 });
    copyFileSync(join(f.dir, 'keys', 'audit-log.key'), join(forkDir, 'keys', 'audit-log.key'));
    const fork = await fixture(forkDir);
    await grow(fork, 10, 500);
    expect((await job(fork, fileB).runOnce())?.outcome).toBe('cosigned');
    // A, leading on the rewritten log, finds its own key's cosignature at 10 but it does not extend its 6: refused.
    const onFork = job(fork, fileA, { errors });
    expect(await onFork.runOnce()).toBeUndefined();
    expect(await onFork.runOnce()).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/REFUSED.*cosignature but does not extend the size 6 in its state file/);
    expect(onFork.stats()).toMatchObject({ refusals: 2, refusing: true, cosigned: 0 });
    expect(readFileSync(witnessStatePath(fileA), 'utf8')).toBe(stateA);
    // A rewritten log not co-signed by anyone is refused by the consistency proof from A's state.
    const fork2Dir = mkdtempSync(join(tmpdir(), 'mamori-fork-'));
    mkdirSync(join(fork2Dir, 'keys'), { mode: 0o700 });
    copyFileSync(join(f.dir, 'keys', 'audit-log.key'), join(fork2Dir, 'keys', 'audit-log.key'));
    const fork2 = await fixture(fork2Dir);
    await grow(fork2, 8, 900);
    const onFork2 = job(fork2, fileA, { errors });
    expect(await onFork2.runOnce()).toBeUndefined();
    expect(errors[1]).toMatch(/consistency proof from size 6 to 8 fails/);
    expect(await cosignedBy(fork2, fileA)).toBe(false);
  });

  it('refuses to start without the commission key file, and never creates one', async () => {
    const f = await fixture();
    const keyFile = join(f.dir, 'keys', 'commission-witness.key');
    await expect(job(f, keyFile).start()).rejects.toThrow(/witness key file .* does not exist.*never creates it/);
    expect(existsSync(keyFile)).toBe(false);
    // A key file others can read is refused at start too (not later, on the leader).
    const [readable] = witnessKeyFiles(1) as [string];
    chmodSync(readable, 0o644);
    await expect(job(f, readable).start()).rejects.toThrow(/readable by others .*chmod 600/);
  });
});

describe('witness configuration', () => {
  it('is off by default and needs the key file when on', () => {
    expect(parseConfig({}).audit.witnessEverySeconds).toBe(0);
    expect(() => parseConfig({ audit: { witnessEverySeconds: 60 } })).toThrow(/witnessEverySeconds.*set audit.witnessKeyFile/);
    expect(() => parseConfig({ audit: { witnessEverySeconds: -1, witnessKeyFile: '/k' } })).toThrow(/witnessEverySeconds/);
    expect(parseConfig({ audit: { witnessEverySeconds: 60, witnessKeyFile: '/k' } }).audit.witnessEverySeconds).toBe(60);
  });
});
