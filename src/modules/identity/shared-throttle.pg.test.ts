/** @module The shared sign-in throttle on PostgreSQL: its sweep of old rows never waits on rows an attempt holds. */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { migrate, openDatabase, type Database } from '#platform/db/index.js';
import { createFreshPgDatabase } from '#server/test-support/pg.js';
import { identityMigrations } from './migrations.js';
import { createSharedLoginThrottle } from './shared-throttle.js';

let fresh: { url: string; drop(): Promise<void> };
let db: Database;
beforeAll(async () => {
  fresh = await createFreshPgDatabase();
  db = openDatabase({ url: fresh.url, dataDir: tmpdir() });
  await migrate(db, identityMigrations);
});
afterAll(async () => {
  await db?.close();
  await fresh?.drop();
});

const addressKey = (address: string): string => `a:${createHash('sha256').update(address).digest('hex')}`;

describe('shared sign-in throttle on PostgreSQL', () => {
  it('sweeps old rows without waiting on one an attempt holds locked (a deadlock with the attempt otherwise)', async () => {
    const clock = new ManualClock('2026-06-01T00:00:00.000Z');
    const throttle = createSharedLoginThrottle(db, { freeFailures: 5, backoffMaxMs: 60_000, addressFailuresPerMinute: 20 }, clock);
    await throttle.fail('old-a', '192.0.2.61', false);
    await throttle.fail('old-b', '192.0.2.62', false);
    clock.advance(3_600_000); // both rows are past every window now
    // Another session holds one of them, as an attempt does between its read and its count.
    const holder = new pg.Client({ connectionString: fresh.url });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query('select k from auth_throttle where k = $1 for update', [addressKey('192.0.2.61')]);
      // The next failure sweeps: it must finish while the row is held, leaving that row for a later sweep.
      const swept = Promise.resolve(throttle.fail('new', '192.0.2.63', false)).then(() => 'done');
      expect(await Promise.race([swept, new Promise((r) => setTimeout(() => r('waiting'), 3000))])).toBe('done');
      const left = (await db.kysely.selectFrom('auth_throttle').select('k').where('k', 'in', [addressKey('192.0.2.61'), addressKey('192.0.2.62')]).execute()) as { k: string }[];
      expect(left.map((r) => r.k)).toEqual([addressKey('192.0.2.61')]);
    } finally {
      await holder.query('rollback');
      await holder.end();
    }
  });
});
