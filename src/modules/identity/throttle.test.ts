import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock, type Clock } from '#platform/clock/index.js';
import { migrate, openDatabase, type Database } from '#platform/db/index.js';
import { identityMigrations } from './migrations.js';
import { createSharedLoginThrottle } from './shared-throttle.js';
import { createLoginThrottle, type LoginThrottle, type ThrottleSettings } from './throttle.js';

const settings = { freeFailures: 3, backoffMaxMs: 60_000, addressFailuresPerMinute: 100 };

type Make = (s: ThrottleSettings, clock: Clock) => Promise<LoginThrottle>;

// API replicas: two throttles on one database, each call going to the next one, behave as one throttle.
const dbs: Database[] = [];
const dir = mkdtempSync(join(tmpdir(), 'mamori-throttle-'));
afterAll(async () => {
  for (const d of dbs) await d.close();
  rmSync(dir, { recursive: true, force: true });
});
const shared: Make = async (s, clock) => {
  const db = openDatabase({ url: ':memory:', dataDir: dir });
  dbs.push(db);
  await migrate(db, identityMigrations);
  const replicas = [createSharedLoginThrottle(db, s, clock), createSharedLoginThrottle(db, s, clock)];
  let i = 0;
  const next = (): LoginThrottle => replicas[i++ % 2]!;
  return { check: (a, b) => next().check(a, b), attempt: (a, b) => next().attempt(a, b), release: (a, b, k) => next().release(a, b, k), fail: (a, b, k) => next().fail(a, b, k), succeed: (a, b, k) => next().succeed(a, b, k) };
};

describe.each([
  ['in memory', async (s: ThrottleSettings, clock: Clock) => createLoginThrottle(s, clock)],
  ['shared by two replicas in the database', shared],
] as [string, Make][])('login throttle %s', (_name, make) => {
  it('lets the free failures through, then doubles the wait up to the cap, and never locks', async () => {
    const clock = new ManualClock('2026-04-01T00:00:00.000Z');
    const t = await make(settings, clock);
    for (let i = 0; i < 3; i++) {
      expect(await t.check('alice', '198.51.100.1')).toEqual({ allowed: true, knownClient: false });
      await t.fail('alice', '198.51.100.1', false);
    }
    // The fourth failure's successor waits 1 s, then 2 s, 4 s, … capped at 60 s.
    const waits: number[] = [];
    for (let i = 0; i < 10; i++) {
      const v = await t.check('alice', '198.51.100.1');
      expect(v.allowed).toBe(false);
      if (v.allowed) return;
      waits.push(v.retryAfterMs);
      clock.advance(v.retryAfterMs);
      expect((await t.check('alice', '198.51.100.1')).allowed).toBe(true);
      await t.fail('alice', '198.51.100.1', false);
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000]);
  });

  it('counts an attempt as it begins: of attempts at once only the free ones pass, and a success does not count against its address', async () => {
    const clock = new ManualClock('2026-04-01T00:00:00.000Z');
    const t = await make({ ...settings, addressFailuresPerMinute: 5 }, clock);
    const verdicts = await Promise.all(Array.from({ length: 12 }, () => t.attempt('alice', '198.51.100.1')));
    expect(verdicts.filter((v) => v.allowed)).toHaveLength(3);
    expect(verdicts.filter((v) => !v.allowed && v.scope === 'account')).toHaveLength(9);
    // Successes from one address: each undoes its own count, so the address limit (5 a minute) never refuses them.
    for (let i = 0; i < 8; i++) {
      const v = await t.attempt(`user-${i}`, '192.0.2.44');
      expect(v.allowed).toBe(true);
      await t.succeed(`user-${i}`, '192.0.2.44', false);
    }
    expect((await t.attempt('user-x', '192.0.2.44')).allowed).toBe(true);
  });

  it('takes back an attempt that ended in an error: the free failures stay free', async () => {
    const clock = new ManualClock('2026-04-01T00:00:00.000Z');
    const t = await make({ ...settings, addressFailuresPerMinute: 3 }, clock);
    for (let i = 0; i < 6; i++) {
      expect((await t.attempt('alice', '198.51.100.7')).allowed).toBe(true);
      await t.release('alice', '198.51.100.7', false);
    }
    for (let i = 0; i < 3; i++) expect((await t.attempt('alice', '198.51.100.7')).allowed).toBe(true);
    expect((await t.attempt('alice', '198.51.100.7')).allowed).toBe(false);
  });

  it('keeps a client that signed the account in before apart from strangers\' failures', async () => {
    const clock = new ManualClock('2026-04-01T00:00:00.000Z');
    const t = await make({ ...settings, addressFailuresPerMinute: 3 }, clock);
    await t.succeed('alice', '192.0.2.10', false);
    for (let i = 0; i < 10; i++) await t.fail('alice', '198.51.100.66', false);
    expect(await t.check('alice', '198.51.100.66')).toMatchObject({ allowed: false, scope: 'address' });
    expect(await t.check('alice', '203.0.113.9')).toMatchObject({ allowed: false, scope: 'account' });
    expect(await t.check('alice', '192.0.2.10')).toEqual({ allowed: true, knownClient: true });
    // Strangers behind the owner's own NAT failing for other names do not keep the owner out either.
    for (const name of ['bob', 'carol', 'dave', 'erin']) await t.fail(name, '192.0.2.10', false);
    expect(await t.check('frank', '192.0.2.10')).toMatchObject({ allowed: false, scope: 'address' });
    expect(await t.check('alice', '192.0.2.10')).toEqual({ allowed: true, knownClient: true });
  });

  it('forgets a quiet account and a past address window', async () => {
    const clock = new ManualClock('2026-04-01T00:00:00.000Z');
    const t = await make({ ...settings, addressFailuresPerMinute: 2 }, clock);
    for (let i = 0; i < 5; i++) await t.fail('alice', '198.51.100.1', false);
    expect((await t.check('alice', '198.51.100.1')).allowed).toBe(false);
    clock.advance(60_000);
    expect((await t.check('bob', '198.51.100.1')).allowed).toBe(true);
    // Alice's count goes on while failures keep coming: a sixth waits 8 s …
    await t.fail('alice', '198.51.100.2', false);
    expect(await t.check('alice', '198.51.100.2')).toMatchObject({ allowed: false, retryAfterMs: 8000 });
    // … but after a quiet quarter of an hour a failure counts as the first again.
    clock.advance(15 * 60_000);
    await t.fail('alice', '198.51.100.2', false);
    expect((await t.check('alice', '198.51.100.2')).allowed).toBe(true);
  });

});

describe('login throttle in memory', () => {
  it('stays within its memory bound under a flood of names', () => {
    const clock = new ManualClock('2026-04-01T00:00:00.000Z');
    const t = createLoginThrottle({ ...settings, maxEntries: 100 }, clock);
    for (let i = 0; i < 1000; i++) t.fail(`user${i}`, `10.0.${i >> 8}.${i & 255}`, false);
    // The newest keys are remembered, the oldest forgotten.
    for (let i = 0; i < 3; i++) t.fail('user999', '10.0.3.231', false);
    expect(t.check('user999', '10.0.3.231').allowed).toBe(false);
  });
});
