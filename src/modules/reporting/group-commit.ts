/** @module Group commit: filings that arrive together share one transaction (one fsync) and one multi-row insert per table, and none is answered before that commit. */
import type { RequestContext } from '#platform/context/index.js';
import { CompiledQuery, type AnyDb, type Database, type Dialect } from '#platform/db/index.js';
import { isAppError } from '#platform/errors/index.js';
import type { AuditEntryRef, AuditEvent, AuditRecorder } from '#modules/audit/index.js';

/** Rows for one table; every row of one table must have the same columns. */
export interface TableRows {
  table: string;
  rows: readonly object[];
  /** Columns of a unique key: a row that would repeat it is skipped instead of failing. */
  skipConflictsOn?: readonly string[];
}

/** One filing's share of a group commit, prepared before it is queued (ids, hashes, receipt). */
export interface GroupWork<T> {
  /** Reads that decide whether this filing may be written, inside the shared transaction; an AppError refuses this filing alone, any other throw sends every filing of the batch to a transaction of its own. */
  check?: (trx: AnyDb) => Promise<void>;
  /** Rows to insert, in an order that satisfies the foreign keys (parents first). */
  inserts: readonly TableRows[];
  /** The filing's audit entry, written in the same transaction. */
  audit: { ctx: RequestContext; event: AuditEvent };
  /** What the caller gets once the commit is durable. */
  result: T;
}

/** Appends several entries, each with its own context, in the caller's transaction (the audit log's `recordBatch`). */
export type AuditBatchWriter = (items: readonly { ctx: RequestContext; event: AuditEvent }[], trx: AnyDb) => Promise<AuditEntryRef[]>;

/** Runs filings in shared transactions. */
export interface GroupCommitter {
  /** Queues `work` with whatever else is queued now; resolves with its result after the shared commit, or rejects with why this filing was not stored. */
  run<T>(work: GroupWork<T>): Promise<T>;
}

interface Job {
  work: GroupWork<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** Bound parameters per statement: under SQLite's 32,766 and PostgreSQL's 65,535. */
const MAX_PARAMS = 16_000;

const quote = (id: string) => `"${id.replace(/"/g, '""')}"`;

/**
 * Builds (and remembers) the text of a multi-row insert. Row counts are split into powers of two so a
 * handful of texts serve every batch and stay in the driver's prepared-statement cache.
 */
function insertText(cache: Map<string, string>, dialect: Dialect, table: string, columns: readonly string[], n: number, skipConflictsOn: readonly string[] | undefined): string {
  const key = `${table}\u0000${columns.join(',')}\u0000${n}\u0000${skipConflictsOn?.join(',') ?? ''}`;
  let text = cache.get(key);
  if (text === undefined) {
    const tuples: string[] = [];
    let p = 0;
    for (let r = 0; r < n; r++) tuples.push(`(${columns.map(() => (dialect === 'postgres' ? `$${++p}` : '?')).join(', ')})`);
    const conflict = skipConflictsOn === undefined ? '' : ` on conflict (${skipConflictsOn.map(quote).join(', ')}) do nothing`;
    text = `insert into ${quote(table)} (${columns.map(quote).join(', ')}) values ${tuples.join(', ')}${conflict}`;
    cache.set(key, text);
  }
  return text;
}

/** Inserts `rows` (all with the columns of the first) in as few statements as the parameter bound and the power-of-two split allow. */
async function insertRows(trx: AnyDb, dialect: Dialect, cache: Map<string, string>, t: TableRows): Promise<void> {
  const first = t.rows[0];
  if (first === undefined) return;
  const columns = Object.keys(first);
  const cap = Math.max(1, 2 ** Math.floor(Math.log2(Math.max(1, Math.floor(MAX_PARAMS / columns.length)))));
  let at = 0;
  while (at < t.rows.length) {
    const left = t.rows.length - at;
    const n = Math.min(cap, 2 ** Math.floor(Math.log2(left)));
    const params: unknown[] = [];
    for (let r = at; r < at + n; r++) {
      const row = t.rows[r] as Record<string, unknown>;
      for (const c of columns) {
        if (!(c in row)) throw new Error(`group commit: a row for ${t.table} lacks column ${c}`);
        params.push(row[c] ?? null);
      }
    }
    await trx.executeQuery(CompiledQuery.raw(insertText(cache, dialect, t.table, columns, n, t.skipConflictsOn), params));
    at += n;
  }
}

/** Merges the jobs' rows by table (keeping the order in which tables first appear, so parents precede children). */
function mergeInserts(works: readonly GroupWork<unknown>[]): TableRows[] {
  const byKey = new Map<string, { table: string; rows: object[]; skipConflictsOn?: readonly string[] }>();
  for (const w of works) {
    for (const t of w.inserts) {
      if (t.rows.length === 0) continue;
      const key = `${t.table}\u0000${Object.keys(t.rows[0]!).join(',')}\u0000${t.skipConflictsOn?.join(',') ?? ''}`;
      let m = byKey.get(key);
      if (m === undefined) {
        m = { table: t.table, rows: [], ...(t.skipConflictsOn !== undefined ? { skipConflictsOn: t.skipConflictsOn } : {}) };
        byKey.set(key, m);
      }
      for (const r of t.rows) m.rows.push(r);
    }
  }
  return [...byKey.values()];
}

/**
 * Creates a group committer. A synchronous=FULL commit costs one fsync (milliseconds on a loaded disk),
 * and every statement costs a driver round trip, so filings queued together (up to `maxBatch`) are
 * written with one multi-row insert per table, one audit append and one commit; each is answered only
 * after that commit. If the shared write fails, nothing of it is stored and each filing is retried in a
 * transaction of its own, so one bad filing never takes the others down; if that fails too, its caller
 * gets the error and nothing of that filing is stored. bench/reporting measures the effect.
 * @see https://www.sqlite.org/pragma.html#pragma_synchronous
 */
export function createGroupCommitter(db: Database, audit: { record: AuditRecorder['record']; recordBatch?: AuditBatchWriter | undefined }, options: { maxBatch?: number } = {}): GroupCommitter {
  const maxBatch = options.maxBatch ?? 256;
  const texts = new Map<string, string>();
  let queue: Job[] = [];
  let running = false;

  async function writeAudit(trx: AnyDb, works: readonly GroupWork<unknown>[]): Promise<void> {
    if (audit.recordBatch !== undefined) {
      await audit.recordBatch(works.map((w) => w.audit), trx);
      return;
    }
    for (const w of works) await audit.record(w.audit.ctx, w.audit.event, trx);
  }

  async function write(trx: AnyDb, works: readonly GroupWork<unknown>[]): Promise<void> {
    for (const t of mergeInserts(works)) await insertRows(trx, db.dialect, texts, t);
    await writeAudit(trx, works);
  }

  /** One job alone in its own transaction: the fallback when a shared write failed. */
  async function alone(job: Job): Promise<void> {
    try {
      await db.transaction(async (trx) => {
        await job.work.check?.(trx);
        await write(trx, [job.work]);
      });
    } catch (e) {
      job.reject(e);
      return;
    }
    job.resolve(job.work.result);
  }

  async function runBatch(batch: readonly Job[]): Promise<void> {
    const accepted: Job[] = [];
    const refused = new Set<Job>();
    try {
      await db.transaction(async (trx) => {
        for (const job of batch) {
          try {
            await job.work.check?.(trx);
            accepted.push(job);
          } catch (e) {
            // A refusal (AppError) only read, so it leaves nothing to undo. Any other error may be the
            // database's, and on PostgreSQL a failed statement aborts the whole transaction: every later
            // check and the write would fail with it, so give the shared transaction up.
            if (!isAppError(e)) throw e;
            refused.add(job);
            job.reject(e);
          }
        }
        if (accepted.length > 0) await write(trx, accepted.map((j) => j.work));
      });
    } catch {
      // Nothing of the shared transaction is stored; find out filing by filing which can be.
      for (const job of batch) if (!refused.has(job)) await alone(job);
      return;
    }
    for (const job of accepted) job.resolve(job.work.result);
  }

  async function drain(): Promise<void> {
    try {
      while (queue.length > 0) {
        const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
        queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
        await runBatch(batch);
      }
    } finally {
      running = false;
    }
  }

  return {
    run<T>(work: GroupWork<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
        // Wait one turn so requests arriving together join the same batch.
        if (!running) { running = true; setImmediate(() => { void drain(); }); }
      });
    },
  };
}
