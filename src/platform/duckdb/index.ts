/** @module The embedded DuckDB driver behind a small interface: statements with parameters, typed bulk appends, rows out, and scans that read typed arrays. */
import { DuckDBInstance, DuckDBTableFunction, DOUBLE, UBIGINT, UINTEGER, USMALLINT, UTINYINT, type DuckDBConnection, type DuckDBDataChunk, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import bindings from '@duckdb/node-bindings';

/** Column types the bulk appender understands. */
export type AppendType = 'double' | 'varchar';

/** Fixed-width column types a scan produces, each filled from a typed array of the same width. */
export type ScanType = 'double' | 'u8' | 'u16' | 'u32' | 'u64';

/** Fills the next chunk of a scan: `put(column, values)` copies `rows` values of each column; returns the rows, 0 at the end. */
export type ScanSource = (put: (column: number, values: ArrayBufferView) => void, maxRows: number) => number;

/** An embedded analytical database handle. */
export interface DuckDb {
  /** Runs a statement with positional parameters ($1, $2, …). */
  run(sql: string, params?: readonly (string | number | boolean | null)[]): Promise<void>;
  /** Runs a query and returns its rows as plain JSON-safe objects (big integers as strings). */
  all(sql: string, params?: readonly (string | number | boolean | null)[]): Promise<Record<string, unknown>[]>;
  /** Appends rows to an existing table whose columns have the given types, in order. */
  append(table: string, types: readonly AppendType[], rows: Iterable<readonly (string | number | null)[]>): Promise<void>;
  /**
   * Registers a table function `name()` with these columns whose rows come from `source()` (asked once per
   * query; its chunks are copied straight from typed arrays, no value crosses one by one).
   */
  registerScan(name: string, columns: readonly (readonly [string, ScanType])[], source: () => ScanSource): void;
  close(): void;
}

const SCAN_TYPES: Record<ScanType, DuckDBType> = { double: DOUBLE, u8: UTINYINT, u16: USMALLINT, u32: UINTEGER, u64: UBIGINT };

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
    registerScan(name, columns, source) {
      // DuckDB calls these on the JavaScript thread (the query itself runs on its own threads); the chunk's
      // vectors are filled with one memory copy per column (bench/ingest: a value at a time cost ~0.4 µs a row).
      const fn = DuckDBTableFunction.create({
        name,
        bindFunction: (bind) => { for (const [n, t] of columns) bind.addResultColumn(n, SCAN_TYPES[t]); },
        initFunction: (init) => { init.setInitData({ next: source() }); },
        mainFunction: (info, out: DuckDBDataChunk) => {
          const next = (info.initData as { next: ScanSource }).next;
          const chunk = (out as unknown as { chunk: bindings.DataChunk }).chunk;
          const rows = next((column, values) => {
            bindings.copy_data_to_vector(bindings.data_chunk_get_vector(chunk, column), 0, values.buffer as ArrayBuffer, values.byteOffset, values.byteLength);
          }, bindings.vector_size());
          bindings.data_chunk_set_size(chunk, rows);
        },
      });
      conn.registerTableFunction(fn);
    },
    close() {
      conn.closeSync();
      instance.closeSync();
    },
  };
}
