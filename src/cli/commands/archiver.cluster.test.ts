/** @module `mamori archiver` refuses to start on another wire layout than the one the centre publishes, before its lease. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectNats, ENTRY, openBucket } from '#cluster/state/index.js';
import { encodeEntry } from '#cluster/state/entries.js';
import { WIRE_VERSION, wireLayout } from '#cluster/wire/index.js';
import { startNatsCluster, type NatsTestCluster } from '#platform/transport/test-support/nats-cluster.js';
import { main } from '../main.js';

const BUCKET = 'mamori_archiver_layout_test';
const dir = mkdtempSync(join(tmpdir(), 'mamori-archiver-cli-'));
let nats: NatsTestCluster;

beforeAll(async () => {
  nats = await startNatsCluster(1);
  // The centre's layout entry: its workers read 8 partitions.
  const nc = await connectNats({ servers: nats.urls, name: 'test-centre' });
  const ob = (await openBucket(nc, { servers: nats.urls, bucket: BUCKET, replicas: 1, name: 'test-centre' }, true))!;
  await ob.kv.put(ENTRY.layout, encodeEntry({ v: 1, ...wireLayout(8, WIRE_VERSION) }));
  await nc.close();
}, 60_000);
afterAll(async () => {
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function run(partitions: number): Promise<{ code: number; err: string }> {
  let err = '';
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
  const o = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    // PostgreSQL on a port nothing listens on: the layout is refused before the lease is tried.
    writeFileSync(join(dir, 'archiver.yaml'), `dataDir: ${dir}\ndatabase:\n  url: postgres://mamori@127.0.0.1:1/none\n`
      + `cluster:\n  servers: [${nats.urls.join(', ')}]\n  stateBucket: ${BUCKET}\n  partitions: ${partitions}\n  replicas: 1\n`);
    await main(['node', 'mamori', '--config', join(dir, 'archiver.yaml'), 'archiver', '--duration', '1']);
  } finally {
    e.mockRestore();
    o.mockRestore();
  }
  return { code: Number(process.exitCode ?? 0), err };
}

describe('mamori archiver', () => {
  afterEach(() => { process.exitCode = undefined; });

  it('refuses another partition count than the centre\'s, saying what to set, before it takes the lease', async () => {
    const r = await run(4);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/into 8 partitions and this process into 4 \(set cluster\.partitions alike everywhere\)/);
  });
});
