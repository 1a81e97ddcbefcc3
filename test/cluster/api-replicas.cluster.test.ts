/**
 * @module API replicas end to end, as separate OS processes on loopback: a three-node NATS cluster of its own, a fresh
 * PostgreSQL database and two `mamori serve` on it. Checked: one session works on both; failed sign-ins spread over
 * both are throttled as on one; a cache change on one reaches the other over NATS; the replica holding the singletons
 * is killed with -9 and the other takes over within 30 s, sending a reminder that fell due meanwhile exactly once;
 * `mamori audit verify` passes on the resulting database (entries and checkpoints from both replicas).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '#platform/config/index.js';
import { systemContext } from '#platform/context/index.js';
import { freePort, startNatsCluster, type NatsTestCluster } from '#platform/transport/test-support/nats-cluster.js';
import { addUser, designate, incidentBody } from '#modules/reporting/test-support/world.js';
import { createCore, type Core } from '#server/core.js';
import { createFreshPgDatabase } from '#server/test-support/pg.js';
import { connectNats, ENTRY as STATE_ENTRY, openBucket } from '#cluster/state/index.js';
import { createHarness, metric, type MamoriProcess } from './support/harness.js';

const PASSWORD = 'correct horse battery staple';

const h = createHarness('mamori-api-replica-');
let nats: NatsTestCluster;
let db: { url: string; drop(): Promise<void> };
let keys: string;

/** What every replica (and the test's own core) shares: the database, NATS and the key files. */
function sharedEnv(): Record<string, string> {
  return {
    MAMORI_DATABASE_URL: db.url, MAMORI_CLUSTER_SERVERS: nats.urls.join(','), MAMORI_SECRETS_PSEUDONYM_KEY: 'api-replicas-test-pseudonym-key-0123456789',
    MAMORI_AUDIT_KEY_FILE: join(keys, 'audit-log.key'), MAMORI_REPORTING_RECEIPT_KEY_FILE: join(keys, 'receipts.key'), MAMORI_SHARING_FINGERPRINT_KEY_FILE: join(keys, 'fingerprint.key'),
    MAMORI_CLUSTER_KEY_WRAP_FILE: join(keys, 'edge-key-wrap'),
    // Two failed sign-ins per address and minute: the shared throttle's minute window is what the test sees refuse. The
    // account's backoff waits only 1 s after its free failures, which two sign-ins over HTTP can outlast on a loaded machine.
    MAMORI_AUTH_MAX_FAILED_LOGINS: '2', MAMORI_AUTH_LOGIN_RATE_LIMIT_PER_MINUTE: '2', MAMORI_AUTH_COOKIE_SECURE: 'false', MAMORI_LOG_LEVEL: 'warn',
  };
}

const spawnMamori = (args: string[], extra: Record<string, string>): MamoriProcess => h.start(args, { ...sharedEnv(), ...extra });

/** A replica: `mamori serve` with the singletons checked every 2 s and the clocks swept every second. */
async function replica(id: string): Promise<{ proc: MamoriProcess; url: string }> {
  const port = await freePort();
  const proc = spawnMamori(['serve', '--host', '127.0.0.1', '--port', String(port)], {
    MAMORI_CLUSTER_API_ID: id, MAMORI_CLUSTER_API_LEASE_CHECK_SECONDS: '2', MAMORI_REPORTING_SWEEP_EVERY_SECONDS: '1', MAMORI_AUDIT_CHECKPOINT_EVERY_SECONDS: '2', MAMORI_COLLECTOR_ENABLED: 'false',
  });
  return { proc, url: `http://127.0.0.1:${port}` };
}

const until = (what: string, cond: () => Promise<boolean>, ms: number): Promise<number> => h.until(what, cond, ms, 200);

const leader = (url: string): Promise<number | undefined> => metric(url, 'mamori_api_singletons_leader');

async function login(url: string, username: string, password: string): Promise<Response> {
  return fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', origin: url }, body: JSON.stringify({ username, password }) });
}

beforeAll(async () => {
  nats = await startNatsCluster(3);
  h.defer(() => nats.stop());
  db = await createFreshPgDatabase();
  h.defer(() => db.drop().catch(() => undefined));
  keys = h.tempDir();
  writeFileSync(join(keys, 'edge-key-wrap'), randomBytes(32), { mode: 0o600 });
}, 120_000);

/** Which replica last wrote the edges' selection-state heartbeat (the leader publishes it: decision 0011). */
async function stateHeartbeatBy(): Promise<string | undefined> {
  const nc = await connectNats({ servers: nats.urls, name: 'test-heartbeat' });
  try {
    const ob = await openBucket(nc, { servers: nats.urls, bucket: 'mamori_selection', replicas: 3, name: 'test' }, false);
    const e = await ob?.kv.get(STATE_ENTRY.heartbeat);
    return e === null || e === undefined || e.operation !== 'PUT' ? undefined : (JSON.parse(e.string()) as { by: string }).by;
  } catch {
    return undefined;
  } finally {
    await nc.close();
  }
}

afterAll(() => h.teardown(), 60_000);

describe('cluster: API replicas on one PostgreSQL', () => {
  it('share sessions, the sign-in throttle and cache invalidations; the singletons move within 30 s of a kill -9 and a reminder due meanwhile is sent once; the audit log verifies', async () => {
    // The world, made by a core of the test's own on the cluster's database (it migrates it).
    const centre: Core = await createCore(loadConfig({ env: { ...sharedEnv(), MAMORI_DATA_DIR: h.tempDir() } }).config);
    const sys = systemContext('test');
    const admin = await centre.identity.createUser(sys, { username: 'kanri', displayName: 'Kanri', password: PASSWORD, roles: ['admin'], orgId: null });
    expect(admin.username).toBe('kanri');
    const nco = await centre.identity.createOrg(sys, { name: 'National Cybersecurity Office', kind: 'nco', sectors: [] });
    const director = await centre.identity.createUser(sys, { username: 'director', displayName: 'Director', password: PASSWORD, roles: ['nco_director'], orgId: nco.id });
    const { token: directorToken } = await centre.identity.createToken(sys, { name: 'test', expiresInDays: 1 }, director.id);
    const bank = await centre.identity.createOrg(sys, { name: 'Council Member Bank', kind: 'council_member', sectors: ['finance'] });
    const op = await addUser(centre, { name: 'Kanto Electric', kind: 'operator', sectors: ['electricity'] }, 'operator', 'kanto');
    await designate(centre, op.orgId, 'electricity');
    const opCtx = { actor: (await centre.identity.authenticateToken(op.token))!, requestId: 'test-file' };
    const { report } = await centre.reporting.fileIncident(opCtx, incidentBody(new Date(Date.now() - 3_600_000).toISOString()));

    // Two replicas; the first one up takes the singletons.
    const a = await replica('api-a');
    await until('replica a leads', async () => (await leader(a.url)) === 1, 90_000);
    const b = await replica('api-b');
    await until('replica b stands by', async () => (await leader(b.url)) === 0, 90_000);
    expect(await leader(a.url)).toBe(1);
    await until('the leader publishes the edges\' selection state', async () => (await stateHeartbeatBy()) === 'api-a', 30_000);

    // One session, both replicas.
    const signedIn = await login(a.url, 'kanri', PASSWORD);
    expect(signedIn.status).toBe(200);
    const cookie = signedIn.headers.get('set-cookie')!.split(';')[0]!;
    for (const r of [a, b]) {
      const me = await fetch(`${r.url}/api/v1/auth/me`, { headers: { cookie } });
      expect(me.status).toBe(200);
      expect(((await me.json()) as { actor: { username: string } }).actor.username).toBe('kanri');
    }

    // Two failures from this address (one on each replica) use up its minute: the next attempt waits, on either replica,
    // until the minute is over (a wait of seconds, not the backoff's one second a slow run could outlast).
    expect((await login(a.url, 'director', 'wrong')).status).toBe(401);
    expect((await login(b.url, 'director', 'wrong')).status).toBe(401);
    for (const r of [a, b]) {
      const throttled = await login(r.url, 'director', PASSWORD);
      expect(throttled.status).toBe(429);
      expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(1);
    }

    // A council change on a drops a's caches and tells b, which drops its own.
    const before = (await metric(b.url, 'mamori_api_cache_invalidations_total', { direction: 'received' })) ?? 0;
    const council = await fetch(`${a.url}/api/v1/sharing/council`, { method: 'POST', headers: { authorization: `Bearer ${directorToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ orgId: bank.id, clients: [] }) });
    expect(council.status).toBe(201);
    await until('b hears the invalidation', async () => ((await metric(b.url, 'mamori_api_cache_invalidations_total', { direction: 'received' })) ?? 0) > before, 5_000);

    // Kill -9 the leader; a reminder falls due while nobody holds the singletons.
    const deadline = (await centre.db.kysely.selectFrom('report_deadlines').select(['id', 'key']).where('report_id', '=', report.id).where('met_at', 'is', null).orderBy('due_at', 'desc').executeTakeFirstOrThrow()) as { id: string; key: string };
    await a.proc.kill('SIGKILL');
    await centre.db.kysely.updateTable('report_deadlines').set({ remind_at: new Date(Date.now() + 1000).toISOString() }).where('id', '=', deadline.id).execute();
    const reminders = async (): Promise<number> => ((await centre.db.kysely.selectFrom('report_inbox').select('id').where('report_id', '=', report.id).where('kind', '=', 'reminder').where('note', 'like', `${deadline.key} %`).execute()) as unknown[]).length;
    expect(await reminders()).toBe(0);
    const takeover = await until('b takes the singletons over', async () => (await leader(b.url)) === 1, 30_000);
    expect(takeover).toBeLessThan(30_000);
    process.stdout.write(`api replicas: b took the singletons over ${takeover} ms after a was killed (lease checked every 2 s)\n`);
    await until('the new leader publishes the edges\' selection state', async () => (await stateHeartbeatBy()) === 'api-b', 15_000);
    await until('the reminder is sent', async () => (await reminders()) === 1, 30_000);
    // a comes back as a standby; nothing is sent twice.
    const a2 = await replica('api-a');
    await until('a is back as a standby', async () => (await leader(a2.url)) === 0, 90_000);
    await new Promise((r) => setTimeout(r, 4000));
    expect(await reminders()).toBe(1);
    const remindAudits = (await centre.db.kysely.selectFrom('audit_entries').select('entry').where('action', '=', 'reporting:remind').where('object_id', '=', report.id).execute()) as { entry: string }[];
    expect(remindAudits.filter((e) => e.entry.includes(`"deadline":"${deadline.key}"`))).toHaveLength(1);

    // Reads and writes on both, then both stop; the log they wrote verifies.
    for (const r of [a2, b]) expect((await fetch(`${r.url}/api/v1/auth/me`, { headers: { cookie } })).status).toBe(200);
    await centre.close();
    expect(await Promise.all([a2.proc.kill('SIGTERM'), b.proc.kill('SIGTERM')])).toEqual([0, 0]);
    const verify = spawnMamori(['audit', 'verify'], {});
    expect(await verify.exited()).toBe(0);
    expect(verify.log()).toMatch(/audit log OK: \d+ entries, root \S+, [1-9]\d* signed checkpoints/);
  }, 300_000);
});
