/** @module Entry of the archive writer's thread: writes the sealed segments it is told to (segment-write.ts) with its own DuckDB. */
import { parentPort, workerData } from 'node:worker_threads';
import { openDuckDb, type DuckDb } from '#platform/duckdb/index.js';
import { Scratch } from '../scratch.js';
import { writeSegment } from './segment-write.js';
import { engineSettings, type FromWriteThread, type ToWriteThread, type WriteThreadInit } from './write-thread.js';

const init = workerData as WriteThreadInit;
const port = parentPort;
if (port === null) throw new Error('write-worker runs as a worker thread');
let engine: Promise<DuckDb> | undefined;
// The segments' arrays, kept from one write to the next (scratch.ts: new ones each time kept V8 collecting).
const scratch = new Scratch();
// One write at a time (callers send one at a time too): the scratch is reset by each.
let turn: Promise<void> = Promise.resolve();

port.on('message', (m: ToWriteThread) => {
  if (m.t === 'close') {
    const done = (): void => port.close();
    if (engine === undefined) { done(); return; }
    engine.then((e) => e.close(), () => undefined).finally(done);
    return;
  }
  turn = turn.then(async () => {
    // Bounded and spilling inside the archive (init): unbounded, DuckDB takes up to 80 % of the machine and spills into the working directory.
    engine ??= openDuckDb({ threads: 1, spillDir: init.spillDir, ...(init.memoryLimitBytes !== undefined ? { memoryLimitBytes: init.memoryLimitBytes } : {}) })
      .catch((e: unknown) => { engine = undefined; throw e; });
    if (m.t === 'warm') { port.postMessage({ t: 'warm', id: m.id, settings: await engineSettings(await engine) } satisfies FromWriteThread); return; }
    const result = await writeSegment(await engine, init.dir, m.segment, m.options, scratch);
    port.postMessage({ t: 'written', id: m.id, result } satisfies FromWriteThread);
  }).catch((e: unknown) => {
    port.postMessage({ t: 'failed', id: m.id, message: e instanceof Error ? e.message : String(e) } satisfies FromWriteThread);
  });
});
