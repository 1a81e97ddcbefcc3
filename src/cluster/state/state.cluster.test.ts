/**
 * The edges' selection state over NATS KV, with a nats-server of the test's own: the edge fails closed until the
 * centre publishes, pseudonymizes with the centre's period keys, stops matching a revoked basis within seconds
 * (measured), forgets a shredded period's key, resumes after a broker restart and fails closed once the centre's
 * heartbeat is too old; no byte in the bucket or on the server's disk holds a key in clear.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { appendFlow, createFlowBatch, type FlowRecord } from '#modules/collection/index.js';
import { openKeystore, periodOf, readSelectedFlow, type LegalBasis } from '#modules/selection/index.js';
import { basis, smallWorld } from '#modules/selection/test-support/fixtures.js';
import { systemClock } from '#platform/clock/index.js';
import { startNatsCluster, type NatsTestCluster } from '#platform/transport/test-support/nats-cluster.js';
import { createEdgeSelection } from '#cluster/edge/state-selection.js';
import { WIRE_VERSION, wireLayout } from '#cluster/wire/index.js';
import { connectNats, openBucket } from './bucket.js';
import { ENTRY } from './entries.js';
import { checkCentreLayout } from './layout-check.js';
import { createStateFollower, type StateFollower } from './follower.js';
import { wrapKeyFrom } from './keywrap.js';
import { createStatePublisher, periodsInUse } from './publisher.js';

const BUCKET = 'mamori_selection_test';
const layout = wireLayout(8, WIRE_VERSION);
let nats: NatsTestCluster;
const dir = mkdtempSync(join(tmpdir(), 'mamori-state-'));
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => { nats = await startNatsCluster(1); }, 60_000);
afterAll(async () => {
  for (const s of stops.reverse()) await s().catch(() => undefined);
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function until(what: string, cond: () => boolean | Promise<boolean>, ms: number): Promise<number> {
  const t0 = performance.now();
  while (!(await cond())) {
    if (performance.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - t0;
}

const now = Date.now();
const flow = (src: string, dst: string): FlowRecord => ({
  start: now - 30_000, end: now - 29_000, srcAddr: src, dstAddr: dst, srcPort: 40000, dstPort: 443, proto: 6, tcpFlags: 2, bytes: 100, packets: 1, samplingRate: 1, inIf: 0, outIf: 0, exporter: 'x',
});
const batchOf = (rs: FlowRecord[]) => {
  const b = createFlowBatch(rs.length);
  b.exporters = ['x'];
  for (const r of rs) appendFlow(b, r);
  return b;
};

/** Every file of the NATS server's store directory (where JetStream keeps the bucket's messages on disk). */
function storeFiles(): Buffer[] {
  const conf = readFileSync(`/proc/${nats.pid(0)}/cmdline`, 'utf8').split('\0');
  const store = /store_dir: "([^"]+)"/.exec(readFileSync(conf[conf.indexOf('-c') + 1]!, 'utf8'))![1]!;
  const files: Buffer[] = [];
  const walk = (d: string): void => { for (const f of readdirSync(d)) { const p = join(d, f); if (statSync(p).isDirectory()) walk(p); else files.push(readFileSync(p)); } };
  walk(store);
  return files;
}

/** Whether any 8-byte window of `secret`, raw, in hex or in base64, is on the server's disk. */
function storeHolds(secret: Uint8Array): boolean {
  const forms = [Buffer.from(secret), Buffer.from(Buffer.from(secret).toString('hex')), Buffer.from(Buffer.from(secret).toString('base64'))];
  return storeFiles().some((b) => forms.some((x) => { for (let i = 0; i + 8 <= x.length; i += 4) if (b.includes(x.subarray(i, i + 8))) return true; return false; }));
}

describe('edge selection state over NATS KV', () => {
  it('fails closed until published, follows revocation within seconds, forgets a shredded key, keeps no clear key, resumes after an outage', async () => {
    const rotation = 'monthly' as const;
    const keystore = openKeystore(join(dir, 'keys'), randomBytes(32));
    const wrap = wrapKeyFrom(randomBytes(32));
    const foreign = { exporters: [], foreignPrefixes: ['8.0.0.0/8'], domesticPrefixes: [], ports: [], protocols: [] };
    let bases: LegalBasis[] = [basis({ id: 'b1', kind: 'cross_border_approval', selectors: foreign, validFrom: new Date(now - 86_400_000).toISOString(), validUntil: new Date(now + 30 * 86_400_000).toISOString() })];
    let version = 1;
    const settings = { servers: nats.urls, bucket: BUCKET, replicas: 1 };
    const removed: string[] = [];
    const sel = createEdgeSelection({
      state: { notCurrent: () => follower.notCurrent(), bases: () => follower.bases(), rotation: () => follower.rotation(), key: (p) => follower.key(p) },
      buildLocator: (prefixes) => smallWorld(['192.168.0.0/16', ...prefixes]),
      domesticPrefixes: (ranges) => [...ranges],
      clock: systemClock,
    });
    const follower: StateFollower = createStateFollower({ ...settings, name: 'edge-test', maxAgeMs: 60_000, rewatchAfterMs: 5000, layout }, {
      wrap, clock: systemClock, onKeyRemoved: (p) => { removed.push(p); sel.forgetPeriod(p); }, onRanges: (r) => sel.applyRanges(r),
    });
    await follower.start();
    stops.push(() => follower.stop());
    const out = batchOf([flow('133.1.2.3', '8.8.8.8')]);

    // Before the centre publishes: no bucket, nothing selected, every flow counted.
    await new Promise((r) => setTimeout(r, 1500));
    expect(follower.notCurrent()).toBe('no_bases');
    expect(sel.select(out).length).toBe(0);
    expect(sel.stats().droppedNoState).toBe(1);

    const publisher = createStatePublisher({ ...settings, name: 'centre-test', everyMs: 200, heartbeatMs: 1000, by: 'centre-1', layout }, {
      bases: () => ({ version: String(version), bases }), ranges: async () => ['1.0.16.0/20'], keys: keystore, rotation, wrap, clock: systemClock,
    });
    await publisher.start();
    stops.push(() => publisher.stop());
    const tCurrent = await until('edge state current', () => follower.notCurrent() === undefined, 10_000);
    const periods = periodsInUse(now, rotation);
    expect(follower.periods()).toEqual([...periods].sort());
    // The same key as the centre's keystore: the same pseudonyms at the centre and at every edge.
    const current = periodOf(now, rotation);
    expect(Buffer.from(follower.key(current)!).equals(Buffer.from(keystore.keyFor(current, false)!))).toBe(true);
    const kept = sel.select(out);
    expect(kept.length).toBe(1);
    expect(readSelectedFlow(kept, 0).pseudonymPeriod).toBe(current);

    // Revocation: the edge stops matching within seconds of the centre's change.
    const t0 = performance.now();
    bases = bases.map((b) => ({ ...b, revokedAt: new Date().toISOString(), status: 'revoked' }));
    version++;
    await publisher.publishNow();
    await until('revoked basis stops matching at the edge', () => sel.select(out).length === 0, 10_000);
    const revokeMs = performance.now() - t0;
    process.stdout.write(`edge state: current ${Math.round(tCurrent)} ms after the centre started publishing; a revoked basis stopped matching at the edge ${Math.round(revokeMs)} ms after the revocation\n`);
    expect(revokeMs).toBeLessThan(5000);

    // Crypto-shredding one period: the centre destroys it, the bucket loses it, the edge forgets it.
    const shredded = periods[0]!;
    const shreddedKey = new Uint8Array(follower.key(shredded)!);
    const nc = await connectNats({ servers: nats.urls, name: 'scan' });
    const jsm = await jetstreamManager(nc);
    const wrapped = await jsm.streams.getMessage(`KV_${BUCKET}`, { last_by_subj: `$KV.${BUCKET}.key.${shredded}` });
    const wrappedCt = Buffer.from((JSON.parse(Buffer.from(wrapped!.data).toString()) as { ct: string }).ct);
    expect(storeFiles().some((b) => b.includes(wrappedCt))).toBe(true); // the scan sees what the server stored
    const t1 = performance.now();
    keystore.destroy(shredded, new Date().toISOString());
    await until('edge forgets the shredded period', () => follower.key(shredded) === undefined, 10_000);
    process.stdout.write(`edge state: a shredded period's key was gone from the edge ${Math.round(performance.now() - t1)} ms after the centre destroyed it\n`);
    expect(removed).toContain(shredded);
    expect(follower.periods()).toEqual(periods.slice(1).sort());

    // The shredded entry's stored bytes were overwritten (JetStream's erase), not only marked deleted.
    expect(storeFiles().some((b) => b.includes(wrappedCt))).toBe(false);
    // No key in clear anywhere in the bucket's stream: read every stored message, then every byte of the server's store.
    const info = await jsm.streams.info(`KV_${BUCKET}`);
    let scanned = 0;
    const keys = [shreddedKey, ...periods.slice(1).map((p) => keystore.keyFor(p, false)!)];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(`KV_${BUCKET}`, { seq }).catch(() => null);
      if (m === null) continue;
      scanned++;
      for (const k of keys) for (let i = 0; i + 8 <= 32; i += 4) expect(Buffer.from(m.data).includes(Buffer.from(k.subarray(i, i + 8)))).toBe(false);
      if (m.subject.endsWith(`.key.${shredded}`)) expect(m.data.length).toBe(0); // only the purge marker remains
    }
    expect(scanned).toBeGreaterThan(0);
    await nc.close();
    for (const k of keys) expect(storeHolds(k)).toBe(false);

    // A broker outage: the edge keeps its (recent) state, and follows a change made after the server is back.
    await nats.kill(0);
    await new Promise((r) => setTimeout(r, 2000));
    expect(follower.notCurrent()).toBeUndefined();
    await nats.restart(0);
    bases = [...bases, basis({ id: 'b2', kind: 'cross_border_approval', selectors: foreign, validFrom: new Date(now - 86_400_000).toISOString(), validUntil: new Date(now + 30 * 86_400_000).toISOString() })];
    version++;
    const tBack = await until('edge follows a change after the outage', () => sel.select(out).length === 1, 30_000);
    process.stdout.write(`edge state: after the broker restarted, a new basis matched at the edge within ${Math.round(tBack)} ms\n`);

    // The centre silent past the edge's bound: its state is no longer current and every flow is dropped.
    await publisher.stop();
    const strict = createStateFollower({ ...settings, name: 'edge-strict', maxAgeMs: 2500, rewatchAfterMs: 5000, layout }, { wrap, clock: systemClock });
    await strict.start();
    stops.push(() => strict.stop());
    await until('strict follower has the state', () => strict.periods().length > 0 && strict.bases().bases.length === 2, 10_000);
    await until('state goes stale without the centre\'s heartbeat', () => strict.notCurrent() === 'stale', 10_000);
    // A follower with another wrapping key opens none of the keys (and says so), so it never selects with a wrong one.
    const wrong = createStateFollower({ ...settings, name: 'edge-wrong', maxAgeMs: 0, rewatchAfterMs: 5000, layout }, { wrap: wrapKeyFrom(randomBytes(32)), clock: systemClock });
    await wrong.start();
    stops.push(() => wrong.stop());
    await until('wrong-key follower read the bucket', () => wrong.stats().rejected >= 2, 10_000);
    expect(wrong.periods()).toEqual([]);
    // An edge placing flows into another number of partitions than the centre's workers read holds every flow back
    // (its flows would reach workers whose detectors hold none of their keys' state), and says what to set.
    const errors: string[] = [];
    const logger = { info: () => undefined, warn: () => undefined, error: (_o: object, m: string) => { errors.push(m); } };
    const other = createStateFollower({ ...settings, name: 'edge-other-layout', maxAgeMs: 0, rewatchAfterMs: 5000, layout: wireLayout(16, WIRE_VERSION) }, { wrap, clock: systemClock, logger });
    await other.start();
    stops.push(() => other.stop());
    await until('other-layout follower read the layout', () => other.notCurrent() === 'layout_differs', 10_000);
    expect(errors.join('\n')).toMatch(/into 8 partitions and this process into 16 \(set cluster\.partitions alike everywhere\)/);
    // The layout is an entry of its own: an edge built before it parses the heartbeat strictly, and would refuse every
    // heartbeat holding a key it does not know and go stale (it ignores entries it does not know).
    const before = z.object({ v: z.literal(1), at: z.string().datetime({ offset: true }), by: z.string().max(100), rotation: z.enum(['daily', 'monthly', 'yearly']) }).strict();
    const reader = await connectNats({ servers: nats.urls, name: 'read-heartbeat' });
    const beat = await (await openBucket(reader, { servers: nats.urls, bucket: BUCKET, replicas: 1, name: 'read-heartbeat' }, false))!.kv.get(ENTRY.heartbeat);
    await reader.close();
    expect(before.safeParse(JSON.parse(beat!.string())).error?.issues).toBeUndefined();
    // A worker compares its layout with the centre's before it starts, and refuses another.
    expect(await checkCentreLayout({ servers: nats.urls, bucket: BUCKET, name: 'worker-check' }, layout)).toEqual(layout);
    await expect(checkCentreLayout({ servers: nats.urls, bucket: BUCKET, name: 'worker-check' }, wireLayout(4, WIRE_VERSION)))
      .rejects.toThrow(/into 8 partitions and this process into 4 .*Not starting/);
    expect(await checkCentreLayout({ servers: nats.urls, bucket: 'mamori_no_such_bucket', name: 'worker-check' }, layout)).toBeUndefined();
  });
});
