/** @module The embedded DuckDB driver behind a small interface: statements with parameters, typed bulk appends, rows out. */
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';

/** Column types the bulk appender understands. */
export type AppendType = 'double' | 'varchar';

/** An embedded analytical database handle. */
export interface DuckDb {
  /** Runs a statement with positional parameters ($1, $2, …). */
  run(sql: string, params?: readonly (string | number | boolean | null)[]): Promise<void>;
  /** Runs a query and returns its rows as plain JSON-safe objects (big integers as strings). */
  all(sql: string, params?: readonly (string | number | boolean | null)[]): Promise<Record<string, unknown>[]>;
  /** Appends rows to an existing table whose columns have the given types, in order. */
  append(table: string, types: readonly AppendType[], rows: Iterable<readonly (string | number | null)[]>): Promise<void>;
  close(): void;
}

/** Opens an in-memory DuckDB (nothing is written unless a statement writes files). @see https://duckdb.org/docs/stable/clients/node_neo/overview */
export async function openDuckDb(options: { threads?: number } = {}): Promise<DuckDb> {
  const instance = await DuckDBInstance.create(':memory:', { threads: String(options.threads ?? 1) });
  const conn: DuckDBConnection = await instance.connect();
  const p = (params: readonly (string | number | boolean | null)[] | undefined): DuckDBValue[] | undefined => (params === undefined ? undefined : [...params]);
  return {
    async run(sql, params) {
      await conn.run(sql, p(params));
    },
    async all(sql, params) {
      const reader = await conn.runAndReadAll(sql, p(params));
      return reader.getRowObjectsJson() as Record<string, unknown>[];
    },
    async append(table, types, rows) {
      const app = await conn.createAppender(table);
      try {
        for (const row of rows) {
          for (let c = 0; c < types.length; c++) {
            const v = row[c];
            if (v === null || v === undefined) app.appendNull();
            else if (types[c] === 'double') app.appendDouble(Number(v));
            else app.appendVarchar(String(v));
          }
          app.endRow();
        }
        app.flushSync();
      } finally {
        app.closeSync();
      }
    },
    close() {
      conn.closeSync();
      instance.closeSync();
    },
  };
}
