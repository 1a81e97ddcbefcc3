/**
 * The witness job as an API replicas' singleton on one PostgreSQL: two replicas (cores) compete for the leader lease;
 * the leader co-signs; when its session dies (as on kill -9) the other takes over within seconds and, with no witness
 * state file of its own, continues from the leader's cosignature in the store — co-signing the next checkpoint once.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { createPrivateFileOnce, createWitnessJob, latestCheckpoint, readWitnessState, verifyAuditLog, witnessStatePath, type WitnessJob } from '#modules/audit/index.js';
import { generateSignerKey, signerKeyToPem, SIG_COSIGNATURE_V1 } from '#modules/audit/checkpoint.js';
import { createTestCore } from '#server/test-support/harness.js';
import { createFreshPgDatabase } from '#server/test-support/pg.js';
import type { Core } from '#server/core.js';
import { openLeaderLease } from './lease.js';
import { createSingletonGroup, type SingletonGroup } from './singletons.js';

const WITNESS = 'commission.test.example/witness';
let db: { url: string; drop(): Promise<void> };
const dir = mkdtempSync(join(tmpdir(), 'mamori-witness-replicas-'));
const replicas: { id: string; core: Core; job: WitnessJob; group: SingletonGroup; keyFile: string }[] = [];

beforeAll(async () => {
  db = await createFreshPgDatabase();
  const pem = signerKeyToPem(generateSignerKey(WITNESS, SIG_COSIGNATURE_V1));
  for (const id of ['wa', 'wb']) {
    const dataDir = mkdtempSync(join(dir, `${id}-`));
    const core = await createTestCore({ url: db.url, clock: systemClock, config: { dataDir, audit: { keyFile: join(dir, 'audit-log.key') }, cluster: { servers: ['nats://127.0.0.1:1'] } } });
    // Each replica has its own copy of the commission's key, so its own state file.
    const keyFile = join(dataDir, 'keys', 'commission-witness.key');
    createPrivateFileOnce(keyFile, pem);
    const job = createWitnessJob({ keyFile, name: WITNESS, everySeconds: 1 }, { db: core.db.kysely, log: core.audit, logKey: () => core.checkpointer.verifier(), clock: core.clock });
    const group = createSingletonGroup({ openLease: () => openLeaderLease(db.url, 'test-witness', id, 1), jobs: [job], checkMs: 1000 });
    replicas.push({ id, core, job, group, keyFile });
  }
});

afterAll(async () => {
  for (const r of replicas) {
    await r.group.stop();
    await r.core.close();
  }
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function newCheckpoint(core: Core, n: number): Promise<number> {
  for (let i = 0; i < n; i++) await core.audit.record(systemContext('test'), { action: 'test:act', object: { type: 'Thing', id: `t${Date.now()}-${i}` }, outcome: 'success' });
  return (await core.checkpointer.checkpointNow())!.size;
}

/** The latest stored note once it carries exactly one cosignature by the witness, and its size. */
const cosignedAt = async (core: Core, size: number) => {
  const cp = await latestCheckpoint(core.db.kysely);
  return cp?.size === size && cp.note.split(`— ${WITNESS} `).length === 2 ? cp : undefined;
};

describe('the witness as an API replicas\' singleton', () => {
  it('co-signs on the leader only, moves to the other replica when the leader\'s session dies, and continues without a fork', async () => {
    await Promise.all(replicas.map((r) => r.group.start()));
    const leader = await until('a leader', () => replicas.find((r) => r.group.leader()));
    const standby = replicas.find((r) => r !== leader)!;
    expect(standby.group.leader()).toBe(false);
    const first = await newCheckpoint(leader.core, 5);
    await until('the leader\'s cosignature', () => cosignedAt(leader.core, first));
    expect(readWitnessState(witnessStatePath(leader.keyFile))?.size).toBe(first);
    expect(existsSync(witnessStatePath(standby.keyFile))).toBe(false);
    expect(standby.job.stats().cosigned).toBe(0);

    // The leader's session ends as on kill -9 (its process is gone: its jobs stop with it).
    const t0 = Date.now();
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [`mamori-api-${leader.id}`]);
    await admin.end();
    await leader.group.stop();
    await until('the standby leading', () => standby.group.leader());
    const takeoverMs = Date.now() - t0;
    expect(takeoverMs).toBeLessThan(30_000);

    const second = await newCheckpoint(standby.core, 4);
    await until('the new leader\'s cosignature', () => cosignedAt(standby.core, second));
    // Its own state file starts at the new cosignature; the log, with both cosignatures, verifies (witness-job.test.ts
    // shows a replica without state continuing from the store's cosignature, and refusing one that does not extend).
    expect(readWitnessState(witnessStatePath(standby.keyFile))).toMatchObject({ size: second });
    expect(standby.job.stats()).toMatchObject({ cosigned: 1, refusals: 0 });
    const report = await verifyAuditLog(standby.core.db, { logKey: standby.core.checkpointer.verifier(), witnessKeys: [standby.job.verifier()] });
    expect(report).toMatchObject({ ok: true });
    expect(report.cosigned).toBe(2);
    process.stdout.write(`witness failover: the standby led ${takeoverMs} ms after the leader's session ended (lease checked every 1 s)\n`);
  });
});
