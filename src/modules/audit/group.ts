/** @module Group commit of audit entries written on their own (reads, denials): entries queued together share one transaction and one fsync, and none is acknowledged before that commit. */
import type { RequestContext } from '#platform/context/index.js';
import type { AuditEntryRef, AuditEvent } from './types.js';

/** One queued entry. */
interface Job {
  item: { ctx: RequestContext; event: AuditEvent };
  resolve: (ref: AuditEntryRef) => void;
  reject: (e: unknown) => void;
}

/** Appends entries in one transaction of its own; resolves with their places in the log, in order. */
export type EntriesWriter = (items: readonly { ctx: RequestContext; event: AuditEvent }[]) => Promise<AuditEntryRef[]>;

/**
 * Queues entries and writes whatever is queued at once, one batch at a time: with SQLite's synchronous=FULL
 * each commit is an fsync that holds the event loop (~6 ms here), so 200 readers each committing their read's
 * entry alone queue behind one another's fsyncs. A batch that fails is retried entry by entry, so one bad
 * entry fails its own caller only. Each caller is answered after the commit that holds its entry.
 * @see https://www.sqlite.org/pragma.html#pragma_synchronous
 */
export function createEntryGroup(write: EntriesWriter, options: { maxBatch?: number } = {}): { append(ctx: RequestContext, event: AuditEvent): Promise<AuditEntryRef> } {
  const maxBatch = options.maxBatch ?? 512;
  let queue: Job[] = [];
  let running = false;

  async function flush(): Promise<void> {
    running = true;
    try {
      while (queue.length > 0) {
        const batch = queue.slice(0, maxBatch);
        queue = queue.slice(batch.length);
        try {
          const refs = await write(batch.map((j) => j.item));
          batch.forEach((j, i) => j.resolve(refs[i]!));
        } catch {
          for (const j of batch) await write([j.item]).then((refs) => j.resolve(refs[0]!), j.reject);
        }
      }
    } finally {
      running = false;
    }
  }

  return {
    append(ctx, event) {
      return new Promise<AuditEntryRef>((resolve, reject) => {
        queue.push({ item: { ctx, event }, resolve, reject });
        // After this turn of the event loop, so entries of requests handled in the same turn join one batch.
        if (!running && queue.length === 1) setImmediate(() => void flush());
      });
    },
  };
}
