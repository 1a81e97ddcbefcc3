import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from '#platform/db/index.js';
import { openCheckpoint, parseVerifierKey, signCheckpoint, type SignerKey } from './checkpoint.js';
import { latestCheckpoint, replaceCheckpointNote } from './checkpointer.js';
import { loadOrCreateSignerKey } from './keys.js';
import { createAuditFixture, events, type AuditFixture } from './test-support/fixture.js';
import { readWitnessState, runWitness, witnessStatePath, type WitnessedLog } from './witness.js';

const fixtures: AuditFixture[] = [];
afterEach(async () => { for (const f of fixtures.splice(0)) await f.close(); });

async function fixture(dir?: string): Promise<AuditFixture> {
  const f = await createAuditFixture(dir !== undefined ? { dir } : {});
  fixtures.push(f);
  return f;
}

function witnessedLog(f: AuditFixture): WitnessedLog {
  return {
    latest: () => latestCheckpoint(f.db.kysely),
    consistencyProof: async (a, b) => (await f.log.consistencyProof(a, b)).proof,
    storeCosigned: (size, prev, next) => replaceCheckpointNote(f.db.kysely, size, prev, next),
  };
}

const WITNESS = 'commission.test.example/witness';

describe('commission witness', () => {
  it('co-signs a checkpoint that extends the last one it co-signed, keeps its key 0600 and stores the co-signed note', async () => {
    const f = await fixture();
    const keyFile = join(f.dir, 'keys', 'commission-witness.key');
    const run = () => runWitness({ keyFile, name: WITNESS, logKey: f.checkpointer.verifier(), log: witnessedLog(f), nowMs: f.clock.nowMs() });
    await f.log.recordMany(f.ctx, events(5));
    await f.checkpointer.checkpointNow();
    const first = await run();
    expect(first.outcome).toBe('cosigned');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(witnessStatePath(keyFile)).mode & 0o777).toBe(0o600);
    const witnessKey = parseVerifierKey(readWitnessState(witnessStatePath(keyFile))!.witnessKey);
    expect(witnessKey.ok).toBe(true);
    const stored = (await latestCheckpoint(f.db.kysely))!;
    const opened = openCheckpoint(stored.note, f.checkpointer.verifier(), witnessKey.ok ? [witnessKey.value] : []);
    expect(opened.ok && opened.value.verified.map((v) => v.key.name)).toEqual([f.checkpointer.origin, WITNESS]);

    expect((await run()).outcome).toBe('unchanged');
    await f.log.recordMany(f.ctx, events(7, 5));
    await f.checkpointer.checkpointNow();
    const second = await run();
    expect(second).toMatchObject({ outcome: 'cosigned', size: 12 });
    expect(readWitnessState(witnessStatePath(keyFile))!.size).toBe(12);
  });

  describe('never co-signs a contradicting checkpoint', () => {
    /** A log the witness co-signed at size 6, and the log key to forge with. */
    async function cosignedAt6(): Promise<{ f: AuditFixture; keyFile: string; logSigner: SignerKey; run: (log?: WitnessedLog) => ReturnType<typeof runWitness> }> {
      const f = await fixture();
      const keyFile = join(f.dir, 'keys', 'commission-witness.key');
      await f.log.recordMany(f.ctx, events(6));
      await f.checkpointer.checkpointNow();
      const run = (log: WitnessedLog = witnessedLog(f)) => runWitness({ keyFile, name: WITNESS, logKey: f.checkpointer.verifier(), log, nowMs: f.clock.nowMs() });
      expect((await run()).outcome).toBe('cosigned');
      const logSigner = loadOrCreateSignerKey(join(f.dir, 'keys', 'audit-log.key'), f.checkpointer.origin, 0x01).key;
      return { f, keyFile, logSigner, run };
    }
    const before = (keyFile: string) => readFileSync(witnessStatePath(keyFile), 'utf8');

    it('same size, different root', async () => {
      const { f, keyFile, logSigner, run } = await cosignedAt6();
      const state = before(keyFile);
      const forged = signCheckpoint({ origin: f.checkpointer.origin, size: 6, rootHash: new Uint8Array(32).fill(7), extensions: [] }, logSigner);
      await expect(run({ ...witnessedLog(f), latest: async () => ({ size: 6, note: forged }) })).rejects.toThrow(/Not co-signed: the checkpoint of size 6 has root .* but the witness co-signed root/);
      expect(before(keyFile)).toBe(state);
    });

    it('a smaller size', async () => {
      const { f, keyFile, logSigner, run } = await cosignedAt6();
      const state = before(keyFile);
      const root = Buffer.from(await f.log.rootAt(4), 'base64');
      const smaller = signCheckpoint({ origin: f.checkpointer.origin, size: 4, rootHash: root, extensions: [] }, logSigner);
      await expect(run({ ...witnessedLog(f), latest: async () => ({ size: 4, note: smaller }) })).rejects.toThrow(/size 4, smaller than the size 6 already co-signed/);
      expect(before(keyFile)).toBe(state);
    });

    it('a failed consistency proof (a forked log signed with the same key)', async () => {
      const { f, keyFile, run } = await cosignedAt6();
      const state = before(keyFile);
      // A second log with different history, signed by the same key: a fork of size 10.
      const forkDir = mkdtempSync(join(tmpdir(), 'mamori-fork-'));
      mkdirSync(join(forkDir, 'keys'), { mode: 0o700 });
      copyFileSync(join(f.dir, 'keys', 'audit-log.key'), join(forkDir, 'keys', 'audit-log.key'));
      const fork = await fixture(forkDir);
      await fork.log.recordMany(fork.ctx, events(10, 500));
      await fork.checkpointer.checkpointNow();
      await expect(run(witnessedLog(fork))).rejects.toThrow(/consistency proof from size 6 to 10 fails/);
      expect(before(keyFile)).toBe(state);
      expect((await latestCheckpoint(fork.db.kysely))!.note).not.toContain(WITNESS);
    });

    it('a bad log signature, and a changed log key', async () => {
      const { f, run, keyFile } = await cosignedAt6();
      await f.log.recordMany(f.ctx, events(2, 6));
      const cp = (await f.checkpointer.checkpointNow())!;
      const tampered = cp.note.replace(/ (\S)(\S+)\n$/, (_m, a: string, rest: string) => ` ${a === 'A' ? 'B' : 'A'}${rest}\n`);
      await sql`update audit_checkpoints set note = ${tampered} where size = 8`.execute(f.db.kysely);
      await expect(run()).rejects.toThrow(/bad log signature/);
      const other = await fixture();
      await other.log.recordMany(other.ctx, events(9));
      await other.checkpointer.checkpointNow();
      await expect(runWitness({ keyFile, name: WITNESS, logKey: other.checkpointer.verifier(), log: witnessedLog(other), nowMs: 0 })).rejects.toThrow(/the log key changed/);
    });
  });
});
