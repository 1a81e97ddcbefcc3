/** @module The embedded DuckDB driver behind a small interface: statements with parameters, typed bulk appends, rows out, and scans that read typed arrays. */
import { DuckDBInstance, DuckDBTableFunction, DOUBLE, ENUM, TIMESTAMP, UBIGINT, UINTEGER, USMALLINT, UTINYINT, type DuckDBConnection, type DuckDBDataChunk, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import bindings from '@duckdb/node-bindings';

/** Column types the bulk appender understands. */
export type AppendType = 'double' | 'varchar';

/**
 * Fixed-width column types a scan produces, each filled from a typed array of the same width: `timestamp` is int64
 * microseconds since the epoch (two little-endian 32-bit words a row); an enum is its member's index (u8 below 256
 * members, u16 below 65,536: enumWidth), and reads as VARCHAR once written to Parquet.
 */
export type ScanType = 'double' | 'u8' | 'u16' | 'u32' | 'u64' | 'timestamp' | { enum: readonly string[] };

/** Bytes a row of an enum column of `members` members takes in a scan. */
export const enumWidth = (members: number): 1 | 2 | 4 => (members < 256 ? 1 : members < 65_536 ? 2 : 4);

/**
 * Fills the next chunk of a scan: `put(column, values, valid?)` copies `rows` values of each column, and for a column
 * with NULLs its validity (bit r of byte r >> 3 set: row r holds a value; give it in every chunk); returns the rows, 0 at the end.
 */
export type ScanSource = (put: (column: number, values: ArrayBufferView, valid?: Uint8Array) => void, maxRows: number) => number;

/**
 * An error as a log may hold it: its type and the first line of its message with quoted literals left out (DuckDB quotes
 * the values it could not convert, which may be a flow's fields, and the paths it could not read, which the log names
 * otherwise; its further lines echo the statement). For every log of a DuckDB error that may concern archived flows.
 */
export function errorSummary(err: unknown): { type: string; message: string } {
  const e = err instanceof Error ? err : new Error(String(err));
  return { type: e.name, message: (e.message.split('\n')[0] ?? '').replace(/'(?:[^']|'')*'?|"(?:[^"]|"")*"?/g, '…') };
}

/** An embedded analytical database handle. */
export interface DuckDb {
  /** Runs a statement with positional parameters ($1, $2, …). */
  run(sql: string, params?: readonly (string | number | boolean | null)[]): Promise<void>;
  /** Runs a query and returns its rows as plain JSON-safe objects (big integers as strings). */
  all(sql: string, params?: readonly (string | number | boolean | null)[]): Promise<Record<string, unknown>[]>;
  /** Appends rows to an existing table whose columns have the given types, in order. */
  append(table: string, types: readonly AppendType[], rows: Iterable<readonly (string | number | null)[]>): Promise<void>;
  /**
   * Registers a table function `name()` with these columns (or the columns a function returns when a query binds it:
   * enum members that change from query to query) whose rows come from `source()` (asked once per query; its chunks
   * are copied straight from typed arrays, no value crosses one by one).
   */
  registerScan(name: string, columns: readonly (readonly [string, ScanType])[] | (() => readonly (readonly [string, ScanType])[]), source: () => ScanSource): void;
  close(): void;
}

/**
 * An engine opened on first use and shared after it; one whose open failed (a full disk, a spill directory that could not
 * be made) is opened again at the next use instead of staying failed. `close` closes it if it opened.
 */
export function lazyDuckDb(open: () => Promise<DuckDb>): { get(): Promise<DuckDb>; close(): Promise<void> } {
  let opened: Promise<DuckDb> | undefined;
  return {
    get() {
      if (opened !== undefined) return opened;
      const p: Promise<DuckDb> = open().catch((err: unknown) => {
        if (opened === p) opened = undefined;
        throw err;
      });
      opened = p;
      return p;
    },
    async close() {
      const o = opened;
      opened = undefined;
      if (o !== undefined) (await o.catch(() => undefined))?.close();
    },
  };
}

const SCAN_TYPES: Record<Exclude<ScanType, { enum: readonly string[] }>, DuckDBType> = { double: DOUBLE, u8: UTINYINT, u16: USMALLINT, u32: UINTEGER, u64: UBIGINT, timestamp: TIMESTAMP };
const scanType = (t: ScanType): DuckDBType => (typeof t === 'string' ? SCAN_TYPES[t] : ENUM(t.enum));

/**
 * Opens an in-memory DuckDB (nothing is written unless a statement writes files). `memoryLimitBytes` bounds the memory
 * its operators take (DuckDB's default is 80 % of the machine's, for each instance); past it, aggregates and sorts spill
 * to `spillDir` (default `.tmp` in the working directory).
 * @see https://duckdb.org/docs/stable/clients/node_neo/overview
 * @see https://duckdb.org/docs/stable/configuration/overview (memory_limit, temp_directory)
 */
export async function openDuckDb(options: { threads?: number; memoryLimitBytes?: number; spillDir?: string } = {}): Promise<DuckDb> {
  const config: Record<string, string> = { threads: String(options.threads ?? 1) };
  const limit = options.memoryLimitBytes;
  if (limit !== undefined) {
    if (!(Number.isSafeInteger(limit) && limit > 0)) throw new Error(`DuckDB memory limit: a whole number of bytes above 0, not ${limit}`);
    config['memory_limit'] = `${limit}B`;
  }
  if (options.spillDir !== undefined) config['temp_directory'] = options.spillDir;
  const instance = await DuckDBInstance.create(':memory:', config);
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
        bindFunction: (bind) => { for (const [n, t] of typeof columns === 'function' ? columns() : columns) bind.addResultColumn(n, scanType(t)); },
        initFunction: (init) => { init.setInitData({ next: source() }); },
        mainFunction: (info, out: DuckDBDataChunk) => {
          const next = (info.initData as { next: ScanSource }).next;
          const chunk = (out as unknown as { chunk: bindings.DataChunk }).chunk;
          const rows = next((column, values, valid) => {
            const v = bindings.data_chunk_get_vector(chunk, column);
            bindings.copy_data_to_vector(v, 0, values.buffer as ArrayBuffer, values.byteOffset, values.byteLength);
            if (valid === undefined) return;
            bindings.vector_ensure_validity_writable(v);
            bindings.copy_data_to_vector_validity(v, 0, valid.buffer as ArrayBuffer, valid.byteOffset, valid.byteLength);
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
