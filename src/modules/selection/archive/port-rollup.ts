/**
 * @module Port rollups (decision 0016): beside a partition's files, `<id>.ports` holds, for a set of those files (named
 * in its Parquet key-value metadata), flows, bytes, packets, first and last start by (category, foreign address, port,
 * proto) for every service port of ROLLUP_PORTS on either side of a flow. "Top foreign addresses on port 443 over the
 * hour" reads the rows of one port from it instead of ten columns of every flow. Written at compaction and, for the
 * hours not compacted yet, every `archive.rollupEverySeconds` for the files written since.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { DuckDb } from '#platform/duckdb/index.js';
import { foreignHalf, liveFiles, sqlString, TMP_DIR, type Partition } from './layout.js';

/** The suffix of a port rollup (not `.parquet`: readers of the archive's flows never take it; not `.rollup`: rollup.ts's). */
export const PORT_ROLLUP_SUFFIX = '.ports';

/**
 * The ports a rollup covers: IANA's system ports and registered ports often asked about. A flow is in the rollup under its
 * source port when that port is covered and under its destination port when that is covered and not the same (a flow
 * 53 → 53 once), so the rollup's rows of port p sum exactly the flows with `src_port = p OR dst_port = p`. Ephemeral
 * ports are left out: (foreign address, ephemeral port) pairs are about one a flow. Each rollup records the list it was
 * written with, so changing it here never makes an older rollup answer for a port it does not hold.
 */
export const ROLLUP_PORTS = '0-1023,1080,1194,1433,1521,1723,1883,2049,2375,2376,3128,3306,3389,4444,5060,5061,5432,5900,5985,5986,6379,6443,'
  + '8000,8080,8443,8888,9000,9090,9200,11211,27017';

/** Whether `port` is in a port list of the form ROLLUP_PORTS takes (`a-b` ranges and single ports, comma-separated). */
export function portListHas(list: string, port: number): boolean {
  return list.split(',').some((part) => {
    const [a, b] = part.split('-').map(Number);
    return a !== undefined && Number.isInteger(a) && (b === undefined ? port === a : Number.isInteger(b) && port >= a && port <= b);
  });
}

/** A SQL condition: `col` holds a port of the list (the list is ours: digits, commas and dashes only). */
function portListSql(list: string, col: string): string {
  if (!/^[0-9,-]+$/.test(list)) throw new Error('port list: digits, commas and dashes only');
  const ranges: string[] = [], singles: string[] = [];
  for (const part of list.split(',')) (part.includes('-') ? ranges : singles).push(part);
  const conds = ranges.map((r) => { const [a, b] = r.split('-'); return `${col} BETWEEN ${a} AND ${b}`; });
  if (singles.length > 0) conds.push(`${col} IN (${singles.join(', ')})`);
  return `(${conds.join(' OR ')})`;
}

/** What a port rollup says of itself (its key-value metadata). */
export interface PortRollup {
  file: string;
  /** Names of the files (in its partition) whose flows it sums. */
  covers: string[];
  ports: string;
  /** First and last start (epoch µs) of the flows it holds; undefined when it holds none. */
  span?: [bigint, bigint];
}

/** Reads the metadata of port rollups; one that cannot be read or lacks a field is left out (never used). */
export async function readPortRollups(e: DuckDb, files: readonly string[]): Promise<PortRollup[]> {
  if (files.length === 0) return [];
  const rows = await e.all(`SELECT file_name AS f, decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata([${files.map(sqlString).join(', ')}])`);
  const by = new Map<string, Map<string, string>>();
  for (const r of rows) {
    const m = by.get(String(r['f'])) ?? new Map<string, string>();
    m.set(String(r['k']), String(r['v']));
    by.set(String(r['f']), m);
  }
  const out: PortRollup[] = [];
  for (const [file, m] of by) {
    const r = portRollupOf(file, Object.fromEntries(m));
    if (r !== undefined) out.push(r);
  }
  return out.sort((a, b) => (a.file < b.file ? -1 : 1));
}

/** The port rollups lying in a partition directory (listed, not yet read). */
export const portRollupFiles = (partitionDir: string): string[] => {
  try {
    return readdirSync(partitionDir).filter((n) => n.endsWith(PORT_ROLLUP_SUFFIX)).map((n) => join(partitionDir, n));
  } catch {
    return []; // the partition went (retention, purge): nothing to take
  }
};

/**
 * Of the rollups of one partition, those a reader may take with its snapshot of `live` files (names): each covers live
 * files only and none covered by a rollup taken before it. Exact whatever else lies there: a rollup of files compaction
 * merged away is skipped (their merged file is read from rows until its own rollup is written).
 */
export function usableRollups(rollups: readonly PortRollup[], live: ReadonlySet<string>): PortRollup[] {
  const taken = new Set<string>();
  const out: PortRollup[] = [];
  for (const r of rollups) {
    if (r.covers.length === 0 || !r.covers.every((n) => live.has(n) && !taken.has(n))) continue;
    for (const n of r.covers) taken.add(n);
    out.push(r);
  }
  return out;
}

/**
 * Brings the port rollups of partition `p` up to date: deletes those a reader could no longer take (a covered file is
 * gone, or another rollup took it first) and writes one for the live files no kept rollup covers. Each is written to
 * `_tmp/` and renamed in whole; a file is immutable once in its partition, so a rollup stays exact for as long as every
 * file it names is live. Runs off the archive's chain (archive.ts rollupPass). Returns the rollups written. With `onError`,
 * a file whose footer cannot be read is left out of every chunk, and a chunk whose rollup cannot be written is handed to it
 * (its files), while the other chunks' rollups are still written.
 */
export async function portRollupPartition(e: DuckDb, archiveDir: string, p: Partition,
  options: { ports?: string; chunkRows?: number; onError?: (files: readonly string[], err: unknown) => void } = {}): Promise<number> {
  const ports = options.ports ?? ROLLUP_PORTS;
  const live = liveFiles(p.dir);
  const liveNames = new Set(live.map((f) => basename(f)));
  const existing = portRollupFiles(p.dir);
  const read = await readPortRollups(e, existing);
  const kept = usableRollups(read, liveNames);
  const keptFiles = new Set(kept.map((r) => r.file));
  for (const f of existing) if (!keptFiles.has(f)) unlinkSync(f);
  const covered = new Set(kept.flatMap((r) => r.covers));
  const todo = live.filter((f) => !covered.has(basename(f))).sort();
  if (todo.length === 0) return 0;
  // Files in name order (the writer's are numbered in time order) in chunks of about chunkRows: a range that cuts a
  // chunk's span reads that chunk's files from rows, so the rows a question reads stay bounded.
  const rowsOf = async (files: readonly string[]) => e.all(`SELECT file_name AS f, num_rows AS n FROM parquet_file_metadata([${files.map(sqlString).join(', ')}])`);
  const { onError } = options;
  let rows: Record<string, unknown>[];
  const unreadable = new Set<string>();
  try {
    rows = await rowsOf(todo);
  } catch (err) {
    if (onError === undefined) throw err;
    rows = []; // one file at a time, to leave out only the files that cannot be read
    for (const f of todo) rows.push(...await rowsOf([f]).catch((x: unknown) => { unreadable.add(f); onError([f], x); return []; }));
  }
  const count = new Map(rows.map((r) => [String(r['f']), Number(r['n'])]));
  const chunks = portRollupChunks(todo.filter((f) => !unreadable.has(f)), (f) => count.get(f) ?? 0, options.chunkRows);
  mkdirSync(join(archiveDir, TMP_DIR), { recursive: true });
  let written = 0;
  for (const chunk of chunks) {
    try {
      await writePortRollup(e, archiveDir, p, chunk, ports);
      written++;
    } catch (err) {
      if (onError === undefined) throw err;
      onError(chunk, err);
    }
  }
  return written;
}

/**
 * Files (in name order) in the chunks one port rollup each sums: a new chunk once the rows reach `chunkRows`, a file
 * never split. The cluster's bucket compaction chunks by it too, downloading one chunk's files at a time.
 */
export function portRollupChunks<T>(files: readonly T[], rowsOf: (f: T) => number, chunkRows = PORT_ROLLUP_CHUNK_ROWS): T[][] {
  const chunks: T[][] = [];
  let acc = Infinity;
  for (const f of files) {
    if (acc >= chunkRows) { chunks.push([]); acc = 0; }
    chunks[chunks.length - 1]!.push(f);
    acc += rowsOf(f);
  }
  return chunks;
}

/** Rows of the files one port rollup sums at most (when they come in files of fewer rows; a file is never split). */
export const PORT_ROLLUP_CHUNK_ROWS = 8_388_608;

/** Writes the port rollup of `files` (live files of partition `p`) into the partition. */
async function writePortRollup(e: DuckDb, archiveDir: string, p: Partition, files: readonly string[], ports: string): Promise<void> {
  const id = `p${Date.now().toString(36).padStart(9, '0')}-${randomBytes(4).toString('hex')}`;
  const sums = join(archiveDir, TMP_DIR, `${id}.sums`), out = join(archiveDir, TMP_DIR, `${id}${PORT_ROLLUP_SUFFIX}`);
  try {
    const src = `read_parquet([${files.map(sqlString).join(', ')}], union_by_name = true)`;
    const agg = 'count(*) AS flows, sum(bytes) AS bytes, sum(packets) AS packets, min(start) AS first, max(start) AS last';
    const key = `category, ${foreignHalf('hi')} AS foreign_hi, ${foreignHalf('lo')} AS foreign_lo`;
    // A flow under each covered port it has: the source's, and the destination's when it is another port (IS DISTINCT:
    // a flow without a source port still counts under its destination's).
    await e.run(`COPY (SELECT ${key}, src_port AS port, proto, ${agg} FROM ${src} WHERE ${portListSql(ports, 'src_port')} GROUP BY ALL
      UNION ALL SELECT ${key}, dst_port AS port, proto, ${agg} FROM ${src}
      WHERE ${portListSql(ports, 'dst_port')} AND dst_port IS DISTINCT FROM src_port GROUP BY ALL) TO ${sqlString(sums)} (FORMAT PARQUET)`);
    const [span] = await e.all(`SELECT CAST(epoch_us(min(first)) AS VARCHAR) AS a, CAST(epoch_us(max(last)) AS VARCHAR) AS b FROM read_parquet(${sqlString(sums)})`);
    const first = span?.['a'] ?? null, last = span?.['b'] ?? null;
    const kv = { mamori_covers: JSON.stringify(files.map((f) => basename(f))), mamori_ports: ports, mamori_first: first === null ? '' : String(first), mamori_last: last === null ? '' : String(last) };
    // In port order, in row groups of 16,384: a question about one port reads that port's row groups only.
    await e.run(`COPY (SELECT * FROM read_parquet(${sqlString(sums)}) ORDER BY port, foreign_hi, foreign_lo, category, proto)
      TO ${sqlString(out)} (FORMAT PARQUET, ROW_GROUP_SIZE 16384, KV_METADATA {${Object.entries(kv).map(([k, v]) => `${k}: ${sqlString(v)}`).join(', ')}})`);
    renameSync(out, join(p.dir, `${id}${PORT_ROLLUP_SUFFIX}`));
  } finally {
    rmSync(sums, { force: true });
    rmSync(out, { force: true });
  }
}

/**
 * Of one partition's rollups (in name order), those a question about `port` over [fromMs, toMs) takes with its snapshot
 * of `live` files: usable (usableRollups), holding the port, and with every flow started within the range. The one rule
 * for a single node's read and for what a cluster replica fetches instead of the files they cover.
 */
export function rollupsAnswering(rollups: readonly PortRollup[], live: ReadonlySet<string>, port: number, fromMs: number,
  toMs: number): PortRollup[] {
  const from = BigInt(fromMs) * 1000n, to = BigInt(toMs) * 1000n;
  return usableRollups(rollups, live)
    .filter((r) => portListHas(r.ports, port) && (r.span === undefined || (r.span[0] >= from && r.span[1] < to)));
}

/** What a port rollup's key-value metadata says, as strings (a cluster stores them as its object's metadata too). */
export function portRollupMeta(r: PortRollup): Record<string, string> {
  return {
    mamori_covers: JSON.stringify(r.covers), mamori_ports: r.ports,
    mamori_first: r.span?.[0].toString() ?? '', mamori_last: r.span?.[1].toString() ?? '',
  };
}

/** A port rollup from such metadata (file: where it lies); undefined when a field is missing or malformed (never used). */
export function portRollupOf(file: string, m: Readonly<Record<string, string | undefined>>): PortRollup | undefined {
  const covers = m['mamori_covers'], ports = m['mamori_ports'], first = m['mamori_first'], last = m['mamori_last'];
  if (covers === undefined || ports === undefined || first === undefined || last === undefined) return undefined;
  let names: unknown;
  try { names = JSON.parse(covers); } catch { return undefined; }
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) return undefined;
  if ((first === '') !== (last === '') || (first !== '' && !/^-?\d+$/.test(first)) || (last !== '' && !/^-?\d+$/.test(last))) return undefined;
  return { file, covers: names as string[], ports, ...(first !== '' ? { span: [BigInt(first), BigInt(last)] as [bigint, bigint] } : {}) };
}

/** How a question filtered by one port reads a snapshot: the rollups it may take, and the files they leave to rows. */
export interface PortRollupPlan { rollups: string[]; rows: string[] }

/**
 * Which of a snapshot's files a question about `port` over [fromMs, toMs) reads from port rollups: those of usable
 * rollups (usableRollups) that cover the port and whose flows all started within the range; every other file from rows.
 */
export async function planPortRollups(e: DuckDb, files: readonly string[], port: number, fromMs: number, toMs: number): Promise<PortRollupPlan> {
  const byDir = new Map<string, Set<string>>();
  for (const f of files) {
    const d = dirname(f);
    const s = byDir.get(d) ?? new Set<string>();
    s.add(basename(f));
    byDir.set(d, s);
  }
  const listed = [...byDir.keys()].flatMap(portRollupFiles);
  const read = await readPortRollups(e, listed);
  const rollups: string[] = [];
  const rolled = new Set<string>();
  for (const [d, live] of byDir) {
    const mine = read.filter((r) => dirname(r.file) === d);
    for (const r of rollupsAnswering(mine, live, port, fromMs, toMs)) {
      rollups.push(r.file);
      for (const n of r.covers) rolled.add(join(d, n));
    }
  }
  return { rollups, rows: files.filter((f) => !rolled.has(f)) };
}
