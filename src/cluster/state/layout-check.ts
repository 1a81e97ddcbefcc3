/** @module A worker's or an archiver's check of its wire layout against the one the centre publishes (the `layout` entry). */
import { AppError } from '#platform/errors/index.js';
import { connectNats, openBucket, type BucketSettings } from './bucket.js';
import { ENTRY, LayoutEntrySchema, parseEntry } from './entries.js';
import { layoutDifference, type WireLayout } from '../wire/index.js';

/**
 * Compares `mine` with the centre's `layout` entry and refuses (CONFIG_INVALID, saying what to set) when
 * they differ: a worker reading another partition count would own partitions no edge fills, or leave some unread.
 * Returns what it compared with, or undefined when the centre has not published one yet (nothing to compare).
 */
export async function checkCentreLayout(s: Pick<BucketSettings, 'servers' | 'bucket' | 'name'>, mine: WireLayout): Promise<WireLayout | undefined> {
  const nc = await connectNats(s);
  try {
    const ob = await openBucket(nc, { ...s, replicas: 1 }, false);
    const e = ob === undefined ? null : await ob.kv.get(ENTRY.layout);
    if (e === null || e.operation !== 'PUT') return undefined;
    const p = parseEntry(LayoutEntrySchema, ENTRY.layout, e.value);
    if (!p.ok) return undefined;
    const { v: _v, ...centre } = p.value;
    const differs = layoutDifference(centre, mine);
    if (differs !== undefined) throw new AppError('CONFIG_INVALID', `${differs}. Not starting.`);
    return centre;
  } finally {
    await nc.close().catch(() => undefined);
  }
}
