/** @module Finding locks: every writer that reads a finding and writes it back (merges, purges) serializes on these. */
import { sql, type AnyDb, type Database } from '#platform/db/index.js';

/** The lock key of a finding: its identity (kind and subject), which exists before the row does. */
export const findingLockKey = (kind: string, subjectKind: string, subjectValue: string): string =>
  `finding:${kind}/${subjectKind}/${subjectValue}`;

/**
 * Takes PostgreSQL transaction advisory locks on the given finding keys, all at once and in hash order, so that writers that
 * each lock several findings never wait on each other in a cycle. Call before any row lock and before the audit head.
 * SQLite serializes writers itself: nothing to do there.
 */
export async function lockFindingKeys(db: Database, trx: AnyDb, keys: readonly string[]): Promise<void> {
  if (db.dialect !== 'postgres' || keys.length === 0) return;
  const unique = [...new Set(keys)];
  await sql`select pg_advisory_xact_lock(h) from (select distinct hashtextextended(k, 0) as h from unnest(${unique}::text[]) as k order by h) as s`
    .execute(trx);
}
