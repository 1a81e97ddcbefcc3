/**
 * @module Test child for the crash tests: appends batches of `argv[3]` rows to an archive writer in `argv[2]` and prints
 * `acked <rows>` after each append returns (batch k's rows carry bytes = k + 1), until it is killed. With `argv[4]` =
 * `thread`, the writer writes Parquet in its thread as it goes (segments of 4 batches), so the kill lands mid-write.
 */
import { writeSync } from 'node:fs';
import { openDuckDb } from '#platform/duckdb/index.js';
import { createArchiveWriter } from '../archive/index.js';
import { syntheticSelected } from './selected.js';

const dir = process.argv[2]!;
const rows = Number(process.argv[3] ?? 5000);
let chain: Promise<unknown> = Promise.resolve();
const serial = <T>(fn: () => Promise<T>): Promise<T> => { const next = chain.then(fn, fn); chain = next.catch(() => undefined); return next; };
const threaded = process.argv[4] === 'thread';
// Large limits (no thread): nothing is written as Parquet before the kill, so everything acknowledged is in the segment.
const writer = threaded
  ? createArchiveWriter({ fileRows: rows * 4, maxAgeSeconds: 3600, bufferRows: 20_000_000, walSyncMs: 1000, thread: true }, { dir, engine: () => openDuckDb(), serial })
  : createArchiveWriter({ fileRows: 10_000_000, maxAgeSeconds: 3600, bufferRows: 20_000_000, walSyncMs: 1000 }, { dir, engine: () => openDuckDb(), serial });
await writer.start();
let acked = 0;
for (let k = 0; ; k++) {
  const r = writer.append(syntheticSelected(rows, { bytes: k + 1 }));
  if (!r.accepted) throw new Error(`refused: ${r.reason}`);
  acked += r.rows;
  writeSync(1, `acked ${acked} writes ${writer.stats().writes}\n`);
  if (k % 8 === 7) await new Promise((resolve) => setTimeout(resolve, 1));
}
