/** @module Group commit: filings that arrive together share one transaction (one fsync), each in its own savepoint so one failure never takes another down. */
import { sql, type AnyDb, type Database } from '#platform/db/index.js';

/** Runs units of work in shared transactions. */
export interface GroupCommitter {
  /** Runs `fn` inside a transaction shared with whatever else is queued now; resolves after the commit. */
  run<T>(fn: (trx: AnyDb) => Promise<T>): Promise<T>;
}

interface Job {
  fn: (trx: AnyDb) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/**
 * Creates a group committer. A synchronous=FULL commit costs one fsync (milliseconds on most disks),
 * so concurrent filings are batched (up to `maxBatch`) into one commit; every job still commits or
 * rolls back as a whole, with its audit entry (bench/reporting measures the effect).
 * @see https://www.sqlite.org/lang_savepoint.html
 */
export function createGroupCommitter(db: Database, options: { maxBatch?: number } = {}): GroupCommitter {
  const maxBatch = options.maxBatch ?? 128;
  let queue: Job[] = [];
  let running = false;

  async function drain(): Promise<void> {
    running = true;
    try {
      while (queue.length > 0) {
        const batch = queue.slice(0, maxBatch);
        queue = queue.slice(batch.length);
        const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
        try {
          await db.transaction(async (trx) => {
            for (const job of batch) {
              await sql`savepoint group_job`.execute(trx);
              try {
                outcomes.push({ ok: true, value: await job.fn(trx) });
                await sql`release savepoint group_job`.execute(trx);
              } catch (e) {
                await sql`rollback to savepoint group_job`.execute(trx);
                await sql`release savepoint group_job`.execute(trx);
                outcomes.push({ ok: false, error: e });
              }
            }
          });
        } catch (e) {
          // The commit itself failed: nothing of this batch is stored.
          for (const job of batch) job.reject(e);
          continue;
        }
        batch.forEach((job, i) => {
          const o = outcomes[i]!;
          if (o.ok) job.resolve(o.value);
          else job.reject(o.error);
        });
      }
    } finally {
      running = false;
    }
  }

  return {
    run<T>(fn: (trx: AnyDb) => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
        // Wait one turn so requests arriving together join the same batch.
        if (!running) { running = true; setImmediate(() => { void drain(); }); }
      });
    },
  };
}
