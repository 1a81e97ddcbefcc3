/** @module A worker's check of its wire layout against the one the centre publishes in its heartbeat. */
import { AppError } from '#platform/errors/index.js';
import { connectNats, openBucket, type BucketSettings } from './bucket.js';
import { ENTRY, HeartbeatEntrySchema, parseEntry } from './entries.js';
import { layoutDifference, type WireLayout } from '../wire/index.js';

/**
 * Compares `mine` with the layout in the centre's last heartbeat and refuses (CONFIG_INVALID, saying what to set) when
 * they differ: a worker reading another partition count would own partitions no edge fills, or leave some unread.
 * Returns what it compared with, or undefined when the centre has not published one yet (nothing to compare).
 */
export async function checkCentreLayout(s: Pick<BucketSettings, 'servers' | 'bucket' | 'name'>, mine: WireLayout): Promise<WireLayout | undefined> {
  const nc = await connectNats(s);
  try {
    const ob = await openBucket(nc, { ...s, replicas: 1 }, false);
    const e = ob === undefined ? null : await ob.kv.get(ENTRY.heartbeat);
    if (e === null || e.operation !== 'PUT') return undefined;
    const p = parseEntry(HeartbeatEntrySchema, ENTRY.heartbeat, e.value);
    if (!p.ok || p.value.layout === undefined) return undefined;
    const differs = layoutDifference(p.value.layout, mine);
    if (differs !== undefined) throw new AppError('CONFIG_INVALID', `${differs}. Not starting.`);
    return p.value.layout;
  } finally {
    await nc.close().catch(() => undefined);
  }
}
