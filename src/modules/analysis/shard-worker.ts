/** @module Entry of a detector thread: runs its detector kinds over each shared batch, reading hosts from the pool's shared host table (see shards.ts). */
import { writeFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { HostTable } from './batch.js';
import { IndicatorMatcher } from './indicators.js';
import { createDetectors } from './pipeline.js';
import { createSlotBatch, type FromShard, type ShardInit, type SlotBatch, type ToShard } from './shards.js';

const init = workerData as ShardInit;
// Named, so `top -H` and bench/ingest's CPU by thread tell it from Node's other threads (all `node`); Linux only.
try { writeFileSync('/proc/thread-self/comm', 'mamori-detect'); } catch { /* not Linux: unnamed */ }
const port = parentPort;
if (port === null) throw new Error('shard-worker runs as a worker thread');
const hosts = HostTable.attach(init.hosts);
const detectors = createDetectors(hosts, init.config, new IndicatorMatcher(init.indicators), init.kinds);
const slots: SlotBatch[] = [];

function reply(m: FromShard): void {
  port!.postMessage(m);
}

port.on('message', (m: ToShard) => {
  if (m.t === 'batch') {
    if (m.buffer !== undefined) slots[m.slot] = createSlotBatch(m.capacity, hosts, m.buffer);
    const s = slots[m.slot]!;
    s.length = m.length;
    s.bases = m.bases;
    // The ids of this batch were interned before it was posted: the table as it was then.
    hosts.sync(m.hostCount, m.generation);
    try {
      detectors.ingest(s);
    } finally {
      // The batch goes back to the pool even if a detector threw (the error event then stops the pool).
      reply({ t: 'done', slot: m.slot });
    }
    return;
  }
  try {
    if (m.t === 'flush') reply({ t: 'flushed', id: m.id, byKind: detectors.flushByKind(m.nowMs, m.final) });
    else if (m.t === 'indicators') { detectors.setIndicators(new IndicatorMatcher(m.indicators)); reply({ t: 'ok', id: m.id }); }
    else {
      const st = detectors.stats();
      const by: Record<string, unknown> = {};
      for (const k of init.kinds) by[k] = st[k];
      reply({ t: 'ok', id: m.id, value: by });
    }
  } catch (e) {
    reply({ t: 'failed', id: m.id, message: e instanceof Error ? e.message : String(e) });
  }
});
