/** @module PostgreSQL for tests: a database created fresh for each run and dropped afterwards; fails loudly when no server answers. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The administrative connection used to create test databases (override with MAMORI_TEST_PG_ADMIN_URL). */
export function pgAdminUrl(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env['MAMORI_TEST_PG_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

/** Creates `mamori_test_<random>` and returns its URL and a function that drops it. */
export async function createFreshPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = new pg.Client({ connectionString: pgAdminUrl() });
  try {
    await admin.connect();
  } catch (e) {
    throw new Error(`PostgreSQL is not reachable at ${pgAdminUrl().replace(/:[^:@/]+@/, ':***@')} (${(e as Error).message}). Start it (pg_ctlcluster <version> main start) or set MAMORI_TEST_PG_ADMIN_URL.`, { cause: e });
  }
  const name = `mamori_test_${randomBytes(6).toString('hex')}`;
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(pgAdminUrl());
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: pgAdminUrl() });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
