/** @module The database: Kysely over SQLite (embedded default) or PostgreSQL, with migrations and transactions. */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Migration, type MigrationProvider } from 'kysely';
import pg from 'pg';
import { AppError } from '#platform/errors/index.js';

// int8 columns (counts, sizes, audit indices) come back as numbers, as they do from SQLite; all stay below 2^53.
pg.types.setTypeParser(20, (v: string) => Number(v));

export { sql, CompiledQuery } from 'kysely';
export type { Kysely, Transaction } from 'kysely';

/** Which SQL engine is behind a database handle. */
export type Dialect = 'sqlite' | 'postgres';

/**
 * Any Kysely handle: the database or a transaction on it. Its table map is `any` on purpose: each module
 * owns its tables and migrations, and no single type lists them all (STYLE.md §1).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyDb = Kysely<any>;

/** A database handle: the query builder, the dialect, and lifecycle. */
export interface Database {
  readonly kysely: AnyDb;
  readonly dialect: Dialect;
  /** Where it lives, with any password removed: for logs and `mamori config`. */
  readonly description: string;
  /** Runs `fn` in one transaction: everything commits together or nothing does. */
  transaction<T>(fn: (trx: AnyDb) => Promise<T>): Promise<T>;
  /** True when a trivial query answers. */
  ping(): Promise<boolean>;
  /**
   * Makes deleted rows unreadable on disk after a purge: SQLite overwrites freed content (secure_delete) and
   * here folds the write-ahead log into the file and truncates it (old page images would keep deleted rows);
   * PostgreSQL rewrites `tables` (VACUUM FULL) so neither dead row versions nor index entries stay in their files.
   */
  scrub(tables?: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** How to open the database. */
export interface DatabaseOptions {
  /** `postgres://…`, `sqlite:PATH`, `:memory:`, or undefined for `<dataDir>/mamori.db`. */
  url?: string | undefined;
  dataDir: string;
  busyTimeoutMs?: number;
  poolSize?: number;
}

/** Opens SQLite (WAL, foreign keys, busy timeout, full sync) or PostgreSQL depending on the URL. */
export function openDatabase(options: DatabaseOptions): Database {
  const url = options.url;
  if (url !== undefined && /^postgres(ql)?:\/\//.test(url)) {
    const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
    // A pool error on an idle client must not crash the process; queries on it fail and are reported.
    pool.on('error', () => undefined);
    const kysely = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) }) as AnyDb;
    const safe = new URL(url);
    if (safe.password !== '') safe.password = 'redacted';
    return wrap(kysely, 'postgres', `postgres ${safe.host}${safe.pathname}`);
  }
  let file: string;
  if (url === ':memory:' || url === 'sqlite::memory:') file = ':memory:';
  else if (url !== undefined && url.startsWith('sqlite:')) file = resolve(url.slice('sqlite:'.length));
  else if (url !== undefined) throw new AppError('CONFIG_INVALID', 'database.url must start with postgres://, postgresql:// or sqlite:, or be :memory:.');
  else file = resolve(join(options.dataDir, 'mamori.db'));
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const handle = new SQLite(file, { timeout: options.busyTimeoutMs ?? 5000 });
  handle.pragma('journal_mode = WAL');
  handle.pragma('foreign_keys = ON');
  // FULL keeps every acknowledged commit across a power loss, which WAL's NORMAL does not promise.
  handle.pragma('synchronous = FULL');
  handle.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  // Deleted rows are overwritten with zeros, not left in free pages: purged data must not survive in the file.
  handle.pragma('secure_delete = ON');
  const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: withStatementCache(handle) }) }) as AnyDb;
  return wrap(kysely, 'sqlite', `sqlite ${file}`);
}

/**
 * Reuses prepared statements by SQL text (bounded, least recently used out): Kysely prepares every
 * query anew, and preparing costs more than running most of ours. One connection runs one statement
 * at a time, so sharing a statement is safe. Measured by bench/reporting and bench/audit.
 */
function withStatementCache(handle: SQLite.Database, max = 1000): { close(): void; prepare(sql: string): SQLite.Statement } {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => handle.close(),
    prepare(sqlText: string): SQLite.Statement {
      let st = cache.get(sqlText);
      if (st !== undefined) {
        cache.delete(sqlText);
        cache.set(sqlText, st);
        return st;
      }
      st = handle.prepare(sqlText);
      cache.set(sqlText, st);
      if (cache.size > max) cache.delete(cache.keys().next().value as string);
      return st;
    },
  };
}

function wrap(kysely: AnyDb, dialect: Dialect, description: string): Database {
  return {
    kysely,
    dialect,
    description,
    transaction: (fn) => kysely.transaction().execute(fn),
    async ping() {
      try {
        await sql`select 1 as one`.execute(kysely);
        return true;
      } catch {
        return false;
      }
    },
    async scrub(tables = []) {
      if (dialect === 'sqlite') await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(kysely);
      // VACUUM FULL rewrites table, TOAST and indexes into new files (a plain VACUUM leaves deleted index tuples' bytes
      // in index pages); the old files are removed. It locks each table briefly: purges are rare.
      else for (const t of tables) await sql`VACUUM FULL ${sql.table(t)}`.execute(kysely);
    },
    close: () => kysely.destroy(),
  };
}

/** A named schema change a module owns; names sort in the order they must run (e.g. `0001_identity`). */
export interface NamedMigration {
  name: string;
  up(db: AnyDb, dialect: Dialect): Promise<void>;
}

/** Applies every pending migration in name order; returns the names it applied. */
export async function migrate(db: Database, migrations: readonly NamedMigration[]): Promise<string[]> {
  const names = new Set<string>();
  for (const m of migrations) {
    if (names.has(m.name)) throw new AppError('INTERNAL', `Two migrations share the name ${m.name}.`);
    names.add(m.name);
  }
  const provider: MigrationProvider = {
    getMigrations: async () => {
      const out: Record<string, Migration> = {};
      for (const m of migrations) out[m.name] = { up: (k) => m.up(k, db.dialect) };
      return out;
    },
  };
  const migrator = new Migrator({ db: db.kysely, provider, migrationTableName: 'schema_migrations', migrationLockTableName: 'schema_migrations_lock' });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new AppError('INTERNAL', `Database migration ${failed} failed; nothing after it was applied. See the server log for the cause.`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Column types that differ between the engines. */
export function columnTypes(dialect: Dialect): { blob: 'blob' | 'bytea'; bigint: 'integer' | 'bigint' } {
  return dialect === 'postgres' ? { blob: 'bytea', bigint: 'bigint' } : { blob: 'blob', bigint: 'integer' };
}
