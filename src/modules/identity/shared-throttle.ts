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
 * once all count (no read-modify-write between processes); a guesser spreading attempts over replicas is
 * slowed as if they went to one.
 * @see createLoginThrottle
 */
export function createSharedLoginThrottle(db: Database, settings: ThrottleSettings, clock: Clock): LoginThrottle {
  const rules = throttleRules(settings);
  const q = db.kysely;
  let prunedAt = 0;

  async function prune(now: number): Promise<void> {
    if (now - prunedAt < PRUNE_EVERY_MS) return;
    prunedAt = now;
    await sql`delete from auth_throttle where (k like ${'k:%'} and last_ms < ${now}) or (k not like ${'k:%'} and last_ms < ${now - Math.max(rules.forgetAfterMs, WINDOW_MS)})`.execute(q);
  }

  return {
    async check(account, address) {
      const now = clock.nowMs();
      const keys = [key('a', address), key('k', `${account}\n${address}`), key('b', backoffKey(account, address, false)), key('b', backoffKey(account, address, true))];
      const rows = (await q.selectFrom('auth_throttle').selectAll().where('k', 'in', keys).execute()) as Row[];
      const by = new Map(rows.map((r) => [r.k, { failures: Number(r.failures), start: Number(r.start_ms), last: Number(r.last_ms) }]));
      const knownClient = (by.get(keys[1]!)?.last ?? 0) > now;
      const w = by.get(keys[0]!);
      const b = by.get(keys[knownClient ? 3 : 2]!);
      return rules.verdict(now, knownClient, w && { startMs: w.start, failures: w.failures }, b && { failures: b.failures, lastFailureMs: b.last });
    },

    async fail(account, address, knownClient) {
      const now = clock.nowMs();
      // The window restarts when a minute has passed; the backoff when the account was quiet long enough.
      await sql`insert into auth_throttle (k, failures, start_ms, last_ms) values (${key('a', address)}, 1, ${now}, ${now})
        on conflict (k) do update set
          failures = case when ${now} - auth_throttle.start_ms >= ${WINDOW_MS} then 1 else auth_throttle.failures + 1 end,
          start_ms = case when ${now} - auth_throttle.start_ms >= ${WINDOW_MS} then ${now} else auth_throttle.start_ms end,
          last_ms = ${now}`.execute(q);
      await sql`insert into auth_throttle (k, failures, start_ms, last_ms) values (${key('b', backoffKey(account, address, knownClient))}, 1, ${now}, ${now})
        on conflict (k) do update set
          failures = case when ${now} - auth_throttle.last_ms >= ${rules.forgetAfterMs} then 1 else auth_throttle.failures + 1 end,
          last_ms = ${now}`.execute(q);
      await prune(now);
    },

    async succeed(account, address, knownClient) {
      const now = clock.nowMs();
      await q.deleteFrom('auth_throttle').where('k', '=', key('b', backoffKey(account, address, knownClient))).execute();
      await sql`insert into auth_throttle (k, failures, start_ms, last_ms) values (${key('k', `${account}\n${address}`)}, 0, ${now}, ${now + KNOWN_CLIENT_MS})
        on conflict (k) do update set last_ms = ${now + KNOWN_CLIENT_MS}`.execute(q);
    },
  };
}
