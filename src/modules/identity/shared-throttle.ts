/** @module The sign-in throttle shared by API replicas: the same rules as the in-memory one, its counts in one database table. */
import { createHash } from 'node:crypto';
import type { Clock } from '#platform/clock/index.js';
import { sql, type Database } from '#platform/db/index.js';
import { backoffKey, KNOWN_CLIENT_MS, throttleRules, WINDOW_MS, type LoginThrottle, type ThrottleSettings } from './throttle.js';

/**
 * Rows: `a:` an address's minute window (failures, start), `b:` a backoff (failures, last failure), `k:` a known
 * client of an account (known until, in last_ms). After the prefix, the SHA-256 of the address or name: a password
 * typed into the username field must not be stored (the audit log keeps only its hash too).
 */
interface Row { k: string; failures: number | string; start_ms: number | string; last_ms: number | string }

const key = (kind: 'a' | 'b' | 'k', what: string): string => `${kind}:${createHash('sha256').update(what).digest('hex')}`;

/** Expired rows are swept at most this often per process. */
const PRUNE_EVERY_MS = 60_000;

/**
 * Creates the shared throttle. Counts are changed by single upserts, so failures sent to several replicas at
 * once all count, and `attempt` reads and counts under the rows' locks; a guesser spreading attempts over
 * replicas, or sending them all at once, is slowed as if they went one by one to one replica.
 * @see createLoginThrottle
 */
export function createSharedLoginThrottle(db: Database, settings: ThrottleSettings, clock: Clock): LoginThrottle {
  const rules = throttleRules(settings);
  const q = db.kysely;
  let prunedAt = 0;

  async function prune(now: number): Promise<void> {
    if (now - prunedAt < PRUNE_EVERY_MS) return;
    prunedAt = now;
    const expired = sql`(k like ${'k:%'} and last_ms < ${now}) or (k not like ${'k:%'} and last_ms < ${now - Math.max(rules.forgetAfterMs, WINDOW_MS)})`;
    // Rows an attempt holds locked are left for the next sweep: deleting them would wait on the attempt while it waits on
    // rows this delete already locked (a deadlock PostgreSQL ends by failing one of them). SQLite has one writer at a time.
    if (db.dialect === 'postgres') await sql`delete from auth_throttle where k in (select k from auth_throttle where ${expired} for update skip locked)`.execute(q);
    else await sql`delete from auth_throttle where ${expired}`.execute(q);
  }

  const keysOf = (account: string, address: string): [string, string, string, string] =>
    [key('a', address), key('k', `${account}\n${address}`), key('b', backoffKey(account, address, false)), key('b', backoffKey(account, address, true))];

  /** The verdict from the rows of `keysOf` (address window, known client, the two backoffs). */
  function verdictOf(keys: readonly string[], rows: Row[], now: number) {
    const by = new Map(rows.map((r) => [r.k, { failures: Number(r.failures), start: Number(r.start_ms), last: Number(r.last_ms) }]));
    const knownClient = (by.get(keys[1]!)?.last ?? 0) > now;
    const w = by.get(keys[0]!);
    const b = by.get(keys[knownClient ? 3 : 2]!);
    return rules.verdict(now, knownClient, w && { startMs: w.start, failures: w.failures }, b && { failures: b.failures, lastFailureMs: b.last });
  }

  /** Counts a failure: the window restarts when a minute has passed, the backoff when the account was quiet long enough. */
  async function record(x: typeof q, account: string, address: string, knownClient: boolean, now: number): Promise<void> {
    await sql`insert into auth_throttle (k, failures, start_ms, last_ms) values (${key('a', address)}, 1, ${now}, ${now})
      on conflict (k) do update set
        failures = case when ${now} - auth_throttle.start_ms >= ${WINDOW_MS} then 1 else auth_throttle.failures + 1 end,
        start_ms = case when ${now} - auth_throttle.start_ms >= ${WINDOW_MS} then ${now} else auth_throttle.start_ms end,
        last_ms = ${now}`.execute(x);
    await sql`insert into auth_throttle (k, failures, start_ms, last_ms) values (${key('b', backoffKey(account, address, knownClient))}, 1, ${now}, ${now})
      on conflict (k) do update set
        failures = case when ${now} - auth_throttle.last_ms >= ${rules.forgetAfterMs} then 1 else auth_throttle.failures + 1 end,
        last_ms = ${now}`.execute(x);
  }

  return {
    async check(account, address) {
      const now = clock.nowMs();
      const keys = keysOf(account, address);
      return verdictOf(keys, (await q.selectFrom('auth_throttle').selectAll().where('k', 'in', keys).execute()) as Row[], now);
    },

    async attempt(account, address) {
      const now = clock.nowMs();
      const keys = keysOf(account, address);
      const verdict = await db.transaction(async (trx) => {
        // The rows are made first when absent (counting nothing) and locked in one order: attempts at once, on any
        // replica, then take their turns, each seeing the failures counted before it (SQLite's writer lock does the same).
        const locked = [keys[0], keys[2], keys[3]].sort();
        await sql`insert into auth_throttle (k, failures, start_ms, last_ms)
          values ${sql.join(locked.map((k) => sql`(${k}, 0, ${now}, 0)`))} on conflict (k) do nothing`.execute(trx);
        let read = trx.selectFrom('auth_throttle').selectAll().where('k', 'in', keys).orderBy('k');
        if (db.dialect === 'postgres') read = read.forUpdate();
        const v = verdictOf(keys, (await read.execute()) as Row[], now);
        if (v.allowed) await record(trx, account, address, v.knownClient, now);
        return v;
      });
      await prune(now);
      return verdict;
    },

    async fail(account, address, knownClient) {
      const now = clock.nowMs();
      await record(q, account, address, knownClient, now);
      await prune(now);
    },

    async release(account, address, knownClient) {
      await sql`update auth_throttle set failures = failures - 1 where k in (${key('a', address)}, ${key('b', backoffKey(account, address, knownClient))}) and failures > 0`.execute(q);
    },

    async succeed(account, address, knownClient) {
      const now = clock.nowMs();
      await q.deleteFrom('auth_throttle').where('k', '=', key('b', backoffKey(account, address, knownClient))).execute();
      // The attempt was counted against its address when it began (attempt): a success is not a failure.
      await sql`update auth_throttle set failures = failures - 1 where k = ${key('a', address)} and failures > 0`.execute(q);
      await sql`insert into auth_throttle (k, failures, start_ms, last_ms) values (${key('k', `${account}\n${address}`)}, 0, ${now}, ${now + KNOWN_CLIENT_MS})
        on conflict (k) do update set last_ms = ${now + KNOWN_CLIENT_MS}`.execute(q);
    },
  };
}
