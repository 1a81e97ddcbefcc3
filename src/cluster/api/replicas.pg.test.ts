/**
 * API replicas on one PostgreSQL, in one test process: two cores append to one audit log at once (group commits
 * of reads, entries inside callers' transactions, checkpoints from both) and the log verifies with no gap and no
 * fork; the leader lease moves when the holder's session ends; sessions and the sign-in throttle are shared.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { verifyAuditLog } from '#modules/audit/index.js';
import { createTestCore } from '#server/test-support/harness.js';
import { createFreshPgDatabase } from '#server/test-support/pg.js';
import type { Core } from '#server/core.js';
import { openLeaderLease } from './lease.js';

let db: { url: string; drop(): Promise<void> };
const cores: Core[] = [];
const dir = mkdtempSync(join(tmpdir(), 'mamori-replicas-'));
// What every replica shares: the log key and the cluster (which turns the throttle shared).
const shared = { audit: { keyFile: join(dir, 'audit-log.key') }, cluster: { servers: ['nats://127.0.0.1:1'] }, auth: { maxFailedLogins: 2 } };
// One clock for both, moved only by the test: the throttle's first wait is 1 s, which a loaded machine can spend between
// two attempts on the system clock (the attempt after it was then let through and the test failed).
const clock = new ManualClock();

beforeAll(async () => {
  db = await createFreshPgDatabase();
  for (const i of [0, 1]) cores.push(await createTestCore({ url: db.url, clock, config: { ...shared, dataDir: mkdtempSync(join(dir, `r${i}-`)) } }));
});

afterAll(async () => {
  for (const c of cores) await c.close();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('API replicas on one PostgreSQL', () => {
  it('append to one audit log from both at once: no gap, no fork, checkpoints from either verify', async () => {
    const work = cores.flatMap((core, r) => [
      // Reads and denials: the group commit of each replica.
      ...Array.from({ length: 150 }, (_, i) => core.audit.record(systemContext(`r${r}`, `read-${r}-${i}`), { action: 'finding:read', object: { type: 'finding', id: `f${i}` }, outcome: 'success' })),
      // Changes: the entry inside the caller's transaction, committed with it.
      ...Array.from({ length: 40 }, (_, i) => core.db.transaction((trx) => core.audit.record(systemContext(`r${r}`, `change-${r}-${i}`), { action: 'case:update', object: { type: 'case', id: `c${i}` }, outcome: 'success' }, trx))),
      // Both replicas sign now and then (the leader's timer, an operator's `audit checkpoint`): same size, same root.
      ...Array.from({ length: 5 }, () => core.checkpointer.checkpointNow()),
    ]);
    await Promise.all(work);
    await cores[0]!.checkpointer.checkpointNow();
    const rows = (await cores[0]!.db.kysely.selectFrom('audit_entries').select('idx').orderBy('idx').execute()) as { idx: number | string }[];
    expect(rows.map((r) => Number(r.idx))).toEqual(rows.map((_, i) => i));
    const head = await cores[1]!.audit.head();
    expect(head.size).toBe(rows.length);
    expect(rows.length).toBeGreaterThanOrEqual(2 * 190);
    const logKey = cores[0]!.checkpointer.verifier();
    const report = await verifyAuditLog(cores[1]!.db, { logKey });
    expect(report.problem).toBeUndefined();
    expect(report).toMatchObject({ ok: true, size: rows.length });
    expect(report.checkpoints).toBeGreaterThanOrEqual(2);
  });

  it('hands the leader lease to a standby when the holder\'s session ends', async () => {
    const a = await openLeaderLease(db.url, 'test-singletons', 'a', 2);
    const b = await openLeaderLease(db.url, 'test-singletons', 'b', 2);
    expect(await a.tryAcquire()).toBe(true);
    expect(await b.tryAcquire()).toBe(false);
    expect(await a.stillHeld()).toBe(true);
    expect(await b.stillHeld()).toBe(false);
    // The server ends the holder's session (as when its process dies): the lock is free once the backend has exited,
    // which the timeout form waits for (the plain call returns when the signal is sent).
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query("select pg_terminate_backend(pid, 5000) from pg_stat_activity where application_name = 'mamori-api-a'");
    await admin.end();
    expect(await a.stillHeld()).toBe(false);
    expect(await b.tryAcquire()).toBe(true);
    await a.close();
    await b.close();
  });

  it('share sessions and the sign-in throttle', async () => {
    const [one, two] = cores as [Core, Core];
    const sys = systemContext('test');
    await one.identity.createUser(sys, { username: 'kanri', displayName: 'Kanri', password: 'correct horse battery staple', roles: ['admin'], orgId: null });
    const login = await one.identity.login(sys, { username: 'kanri', password: 'correct horse battery staple' }, { address: '192.0.2.7', scheme: 'password' });
    expect(login.ok).toBe(true);
    if (!login.ok) return;
    expect((await two.identity.authenticateSession(login.value.sessionToken))?.actor.username).toBe('kanri');
    // Failures spread over both replicas count together: after two free ones the third attempt waits, wherever it goes.
    for (const core of [one, two]) expect((await core.identity.login(sys, { username: 'kanri', password: 'wrong' }, { address: '198.51.100.9', scheme: 'password' })).ok).toBe(false);
    const third = await one.identity.login(sys, { username: 'kanri', password: 'wrong' }, { address: '198.51.100.9', scheme: 'password' });
    expect(third).toMatchObject({ ok: false, error: { code: 'THROTTLED' } });
    const fourth = await two.identity.login(sys, { username: 'kanri', password: 'correct horse battery staple' }, { address: '198.51.100.9', scheme: 'password' });
    expect(fourth).toMatchObject({ ok: false, error: { code: 'THROTTLED', retryAfterSeconds: 1 } });
    // What was typed as a username, and the addresses, are kept only as hashes.
    const stored = JSON.stringify(await one.db.kysely.selectFrom('auth_throttle').selectAll().execute());
    expect(stored).not.toMatch(/kanri|198\.51\.100\.9|192\.0\.2\.7/);
    expect(stored).toMatch(/"k":"b:[0-9a-f]{64}"/);
    // The wait ends once its second has passed on the shared clock.
    clock.advance(1000);
    expect((await one.identity.login(sys, { username: 'kanri', password: 'correct horse battery staple' }, { address: '198.51.100.9', scheme: 'password' })).ok).toBe(true);
  });

  it('let only the free failures through when guesses go to both at once', async () => {
    const [one, two] = cores as [Core, Core];
    const sys = systemContext('test');
    // Each attempt is counted under the rows' locks as it begins, so the password checks running together do not all pass.
    const tries = await Promise.all(Array.from({ length: 12 }, (_, i) =>
      (i % 2 === 0 ? one : two).identity.login(sys, { username: 'heiretsu', password: `guess ${i}` }, { address: '203.0.113.50', scheme: 'password' })));
    expect(tries.filter((r) => !r.ok && r.error.code === 'INVALID_CREDENTIALS')).toHaveLength(2);
    expect(tries.filter((r) => !r.ok && r.error.code === 'THROTTLED')).toHaveLength(10);
  });
});
