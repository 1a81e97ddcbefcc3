/** @module Analysis workers over the in-process transport: the same findings as the single-process detectors, partitions never owned twice, and a dead worker's partitions taken over with state rebuilt by replay. */
import { describe, expect, it } from 'vitest';
import { createDetectors, HostTable, type FindingUpdate } from '#modules/analysis/index.js';
import { createMemoryTransport, type Transport } from '#platform/transport/index.js';
import { collectGarbage, ownBytes } from '#platform/transport/test-support/gc.js';
import { inThreadDetectors } from '#server/pipeline.js';
import { createEdge } from '../edge/index.js';
import { partitionSubject, splitByPartition } from '../wire/index.js';
import { attackRecords, batchesOf, NOW, testSelector } from '../test-support/fixtures.js';
import type { Leases, PartitionKey } from './leases.js';
import { createAnalysisWorker, type AnalysisWorker, type WorkerSettings } from './worker.js';

const STREAM = { name: 'FLOWS', subjects: ['mamori.flows.>'], replicas: 1, maxAgeMs: 86_400_000, duplicateWindowMs: 120_000 };
const PARTS = 4;

/** Advisory locks in memory: what pgLeases does, shared by the workers of one test. */
function lockTable() {
  const workers = new Set<string>();
  const parts = new Map<number, string>();
  return {
    parts,
    leasesFor(id: string): Leases {
      let up = true;
      const key = (p: PartitionKey): number => p.family * 65_536 + p.partition;
      return {
        async join() { if (workers.has(id)) throw new Error('duplicate'); workers.add(id); },
        liveWorkers: async () => workers.size,
        held: async () => new Set(parts.keys()),
        async tryTake(p) { if (parts.has(key(p))) return false; parts.set(key(p), id); return true; },
        async release(p) { if (parts.get(key(p)) === id) parts.delete(key(p)); },
        healthy: () => up,
        // A closed session (or a killed worker) frees every lock at once.
        async close() { up = false; workers.delete(id); for (const [k, v] of [...parts]) if (v === id) parts.delete(k); },
      };
    },
  };
}

type Found = Map<string, FindingUpdate>;
const key = (u: FindingUpdate): string => `${u.kind} ${u.subject.kind}:${u.subject.value}`;
const summary = (m: Found): string[] => [...m.values()].map((u) => `${key(u)} ${u.level} hosts=${u.hostCount}`).sort();

type Gauges = Map<string, () => { labels: Record<string, string>; value: number }[]>;

function worker(t: Transport, locks: ReturnType<typeof lockTable>, id: string, found: Found, over: Partial<WorkerSettings> = {}, gauges?: Gauges,
  beforeStore?: () => Promise<void>): AnalysisWorker {
  const settings: WorkerSettings = { workerId: id, stream: 'FLOWS', subjectPrefix: 'mamori.flows', partitions: PARTS, replayMs: 86_400_000, flushEveryMs: 60_000, rebalanceEveryMs: 60_000, ackWaitMs: 1000, replayTimeoutMs: 10_000, finalAfterIdleMs: 0, maxHosts: 100_000, ...over };
  return createAnalysisWorker(settings, {
    transport: t, leases: locks.leasesFor(id), indicators: async () => [], nowMs: () => NOW,
    recordFindings: async (us) => { await beforeStore?.(); for (const u of us) found.set(key(u), u); },
    ...(gauges !== undefined ? { metrics: { collect: (name, _help, _type, fn) => { gauges.set(name, fn); } } } : {}),
  });
}

/** Publishes the scenario once; returns the flows put in both families (d: every kept flow; s: those the scan detector reads). */
async function publishAll(t: Transport): Promise<number> {
  const sel = testSelector();
  const edge = createEdge({ edgeId: 'e1', partitions: PARTS, subjectPrefix: 'mamori.flows', maxInFlight: 4, bufferBytes: 64 << 20, publishTimeoutMs: 1000 }, { transport: t, select: sel.select, nowMs: () => NOW });
  await edge.start();
  for (const b of batchesOf(attackRecords())) edge.sink.write(b);
  expect(await edge.drained(10_000)).toBe(true);
  let scanRows = 0;
  const again = testSelector();
  for (const b of batchesOf(attackRecords())) for (const part of splitByPartition(again.select(b), 's', PARTS)) scanRows += part?.length ?? 0;
  return edge.stats().kept + scanRows;
}

/** Publishes `records` from edge `edgeId`; returns the flows put in both families. */
async function publishFrom(t: Transport, edgeId: string, records: ReturnType<typeof attackRecords>, batchSize = 500): Promise<number> {
  const edge = createEdge({ edgeId, partitions: PARTS, subjectPrefix: 'mamori.flows', maxInFlight: 4, bufferBytes: 64 << 20, publishTimeoutMs: 1000 }, { transport: t, select: testSelector().select, nowMs: () => NOW });
  await edge.start();
  for (const b of batchesOf(records, batchSize)) edge.sink.write(b);
  expect(await edge.drained(10_000)).toBe(true);
  let scanRows = 0;
  const again = testSelector();
  for (const b of batchesOf(records, batchSize)) for (const part of splitByPartition(again.select(b), 's', PARTS)) scanRows += part?.length ?? 0;
  return edge.stats().kept + scanRows;
}

/** A DDoS finding with what depends on every flow of every bin: level, score and evidence (peak rates, bins). */
const ddosDetail = (us: Iterable<FindingUpdate>): string[] =>
  [...us].filter((u) => u.kind.startsWith('ddos-')).map((u) => `${key(u)} ${u.level} ${u.score.toFixed(4)} ${JSON.stringify(u.evidence)}`).sort();

/** The single process's DDoS findings in detail. */
function singleDdos(): string[] {
  const sel = testSelector();
  const hosts = new HostTable(100_000);
  const det = createDetectors(hosts);
  const ingest = inThreadDetectors(det, hosts);
  for (const b of batchesOf(attackRecords())) void ingest.ingest(sel.select(b));
  return ddosDetail(det.flush(NOW, true));
}

/** What the single process finds in the same kept flows: one detector set over everything, flushed as final. */
function singleProcess(): string[] {
  const sel = testSelector();
  const hosts = new HostTable(100_000);
  const det = createDetectors(hosts);
  const ingest = inThreadDetectors(det, hosts);
  for (const b of batchesOf(attackRecords())) void ingest.ingest(sel.select(b));
  const m: Found = new Map();
  for (const u of det.flush(NOW, true)) m.set(key(u), u);
  return summary(m);
}

/** Waits until a worker has analysed nothing new for 300 ms (what it can reach is analysed). */
async function quiet(w: AnalysisWorker): Promise<void> {
  let last = -1;
  for (let i = 0; i < 100 && w.stats().flows !== last; i++) { last = w.stats().flows; await new Promise((r) => setTimeout(r, 300)); }
}

const subjectOf = (f: 'd' | 's', p: number): string => partitionSubject('mamori.flows', f, p);

async function settle(workers: AnalysisWorker[], flows: number): Promise<void> {
  const end = Date.now() + 20_000;
  while (workers.reduce((a, w) => a + w.stats().flows + w.stats().replayedFlows, 0) < flows && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

describe('analysis workers', () => {
  const want = singleProcess();

  it('the single-process run finds every kind of the scenario (so the comparisons below mean something)', () => {
    expect(want.some((s) => s.startsWith('beacon '))).toBe(true);
    expect(want.some((s) => s.startsWith('botnet-fanin '))).toBe(true);
    expect(want.some((s) => s.startsWith('scan-horizontal '))).toBe(true);
    expect(want.some((s) => s.startsWith('ddos-'))).toBe(true);
  });

  it('two workers split the partitions without overlap and find what one process finds', async () => {
    const t = createMemoryTransport();
    await t.ensureStream(STREAM);
    const kept = await publishAll(t);
    const locks = lockTable();
    const found: Found = new Map();
    const a = worker(t, locks, 'a', found), b = worker(t, locks, 'b', found);
    await a.start();
    await b.start();
    await a.rebalance(); // a lets go of what is b's share now
    await b.rebalance();
    const owned = [...a.stats().owned, ...b.stats().owned];
    expect(owned.length).toBe(2 * PARTS);
    expect(new Set(owned).size).toBe(2 * PARTS);
    expect(a.stats().owned.length).toBe(PARTS);
    await settle([a, b], kept);
    await a.flush(true);
    await b.flush(true);
    expect(summary(found)).toEqual(want);
    await a.stop();
    await b.stop();
  });

  it('closes its windows once idle for finalAfterIdleMs, without waiting for the next periodic flush (a minute away here)', async () => {
    const t = createMemoryTransport();
    await t.ensureStream(STREAM);
    const kept = await publishAll(t);
    const found: Found = new Map();
    const w = worker(t, lockTable(), 'a', found, { finalAfterIdleMs: 400 });
    await w.start();
    await settle([w], kept);
    const end = Date.now() + 10_000;
    while (found.size < want.length && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(summary(found)).toEqual(want);
    await w.stop();
  });

  it('an idle close queued behind a busy turn is dropped when flows were analysed before it ran (no close mid-stream)', async () => {
    const t = createMemoryTransport();
    await t.ensureStream(STREAM);
    const first = await publishFrom(t, 'e1', attackRecords());
    const gauges: Gauges = new Map();
    let entered = false;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => { release = r; });
    const w = worker(t, lockTable(), 'a', new Map(), { finalAfterIdleMs: 400 }, gauges, async () => { entered = true; await gate; });
    const finals = (): Record<string, number> => Object.fromEntries((gauges.get('mamori_worker_final_flushes_total')?.() ?? []).map((x) => [x.labels['family'], x.value]));
    await w.start();
    await settle([w], first);
    // The idle close of the first stream holds its family's turn (its store waits at the gate) while a second edge's flows
    // queue behind it and the idle timer keeps firing on the old last-message time.
    for (const end = Date.now() + 10_000; !entered && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
    expect(entered).toBe(true);
    const second = await publishFrom(t, 'e2', attackRecords());
    await new Promise((r) => setTimeout(r, 1_200));
    release();
    await settle([w], first + second);
    for (const end = Date.now() + 10_000; Object.values(finals()).some((n) => n < 2) && Date.now() < end;) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 600));
    // At most one close after each stream (a family whose first close had not begun by the second stream closes once): the
    // closes the timer queued during the wait found the family busy with new flows. Before they were checked again in the
    // family's turn, each one closed the windows again right after the second stream's first flows (d: 6 in a run).
    const n = finals();
    expect(n['d']! >= 1 && n['d']! <= 2 && n['s']! >= 1 && n['s']! <= 2, `final flushes ${JSON.stringify(n)}`).toBe(true);
    expect(Object.fromEntries((gauges.get('mamori_worker_windows_open')?.() ?? []).map((x) => [x.labels['family'], x.value]))).toEqual({ d: 0, s: 0 });
    await w.stop();
  });

  it('says whether a family\'s windows are open (flows analysed since its last final flush): what bench/cluster waits for', async () => {
    const t = createMemoryTransport();
    await t.ensureStream(STREAM);
    const kept = await publishAll(t);
    const gauges: Gauges = new Map();
    const w = worker(t, lockTable(), 'a', new Map(), {}, gauges);
    const open = (): Record<string, number> => Object.fromEntries((gauges.get('mamori_worker_windows_open')?.() ?? []).map((x) => [x.labels['family'], x.value]));
    await w.start();
    await settle([w], kept);
    expect(open()).toEqual({ d: 1, s: 1 });
    await w.flush(false);
    expect(open()).toEqual({ d: 1, s: 1 });
    await w.flush(true);
    expect(open()).toEqual({ d: 0, s: 0 });
    await w.stop();
  });

  it('when a worker dies its partitions move; the survivor replays what was acknowledged, takes the rest, and finds the same', async () => {
    const t = createMemoryTransport();
    await t.ensureStream(STREAM);
    const once = await publishAll(t);
    const locks = lockTable();
    const found: Found = new Map();
    const a = worker(t, locks, 'a', found), b = worker(t, locks, 'b', found);
    await a.start();
    await b.start();
    await a.rebalance();
    await b.rebalance();
    await new Promise((r) => setTimeout(r, 300));
    await a.flush(false);
    await b.flush(false); // acknowledged: these are replayed, not redelivered, by the next owner
    // More flows arrive, b analyses its share, then dies before storing or acknowledging them.
    await publishAll(t);
    await new Promise((r) => setTimeout(r, 300));
    await b.abort();
    await a.rebalance();
    expect(a.stats().owned.length).toBe(2 * PARTS);
    expect(a.stats().replayedFlows).toBeGreaterThan(0);
    // What b had analysed but not acknowledged comes to a after the ack wait: a has seen both publishes.
    const end = Date.now() + 15_000;
    // (Both publishes at least, then quiet for longer than the ack wait: b's share is uneven, the scan's flows come from one source.)
    const seen = (): number => a.stats().flows + a.stats().replayedFlows;
    while (seen() < 2 * once && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    for (let last = -1, since = Date.now(); Date.now() - since < 1500 && Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
      if (seen() !== last) { last = seen(); since = Date.now(); }
    }
    expect(await Promise.all(Array.from({ length: PARTS }, (_, p) => t.ackFloor('FLOWS', `analysis-d-${p}`)))).not.toContain(0);
    found.clear();
    await a.flush(true);
    expect(summary(found)).toEqual(want);
    await a.stop();
  });

  it('keeps ack handles, not payloads, of the messages analysed until a flush stores their findings and acknowledges them', async () => {
    const base = createMemoryTransport();
    await base.ensureStream(STREAM);
    const lastSeq = new Map<string, number>();
    const counted: Transport = { ...base, publish: async (subject, data, opts) => { const r = await base.publish(subject, data, opts); lastSeq.set(subject, r.seq); return r; } };
    const sent = await publishFrom(counted, 'e1', attackRecords(), 100);
    const { transport, buffers } = ownBytes(base);
    const found: Found = new Map();
    const a = worker(transport, lockTable(), 'a', found);
    await a.start();
    await settle([a], sent);
    expect(a.stats().flows).toBe(sent);
    // Analysed, not yet acknowledged (the periodic flush is a minute away): not one message's bytes is reachable.
    await collectGarbage();
    expect(buffers.length).toBeGreaterThan(10);
    expect(buffers.filter((b) => b.deref() !== undefined)).toHaveLength(0);
    // Nothing acknowledged yet: each durable consumer's floor lies below its subject's last message.
    for (const [subject, seq] of lastSeq) {
      const [, f, p] = /\.([ds])\.(\d+)$/.exec(subject)!;
      expect(await base.ackFloor('FLOWS', `analysis-${f}-${p}`)).toBeLessThan(seq);
    }
    await a.flush(true);
    // Every message acknowledged through its handle: each durable consumer's floor reaches its subject's last message.
    for (const [subject, seq] of lastSeq) {
      const [, f, p] = /\.([ds])\.(\d+)$/.exec(subject)!;
      expect(await base.ackFloor('FLOWS', `analysis-${f}-${p}`)).toBeGreaterThanOrEqual(seq);
    }
    expect(summary(found)).toEqual(singleProcess());
    await a.stop();
  });

  it('a partition delivered behind the others (its consumer holding a backlog) holds the bins back: a flush meanwhile closes none', async () => {
    const held: number[] = [];
    for (let p = 0; p < PARTS; p++) {
      const base = createMemoryTransport();
      await base.ensureStream(STREAM);
      // Partition p of the DDoS family delivers all but its last three messages (the flood's end is among the last
      // flows), then stalls while the other partitions run on to the end.
      const stalled = subjectOf('d', p);
      let published = 0;
      let delivered = 0;
      let release!: () => void;
      const gate = new Promise<void>((r) => { release = r; });
      const t: Transport = {
        ...base,
        publish: (subject, data, opts) => { if (subject === stalled) published++; return base.publish(subject, data, opts); },
        consume: (stream, opts, handler) => base.consume(stream, opts, async (d) => {
          if (opts.durable !== undefined && opts.filterSubject === stalled && delivered++ >= published - 3) await gate;
          await handler(d);
        }),
      };
      // Batches of 50 flows: each partition's flows come in many messages, the flood's over several.
      const sent = await publishFrom(t, 'e1', attackRecords(), 50);
      const found: Found = new Map();
      const a = worker(t, lockTable(), 'a', found);
      await a.start();
      await quiet(a);
      held.push(sent - a.stats().flows);
      await a.flush(false); // periodic, while partition p is behind: must not judge bins its flows have not reached
      release();
      await settle([a], sent);
      await a.flush(true);
      expect(ddosDetail(found.values()), `partition ${p} stalled`).toEqual(singleDdos());
      await a.stop();
    }
    // Every partition did stall flows (else the loop above compared nothing new).
    expect(held.every((n) => n > 0)).toBe(true);
  });

  it('an edge whose flows arrive after another\'s (a backlog drained late) still counts in the bins: a flush between them closes none', async () => {
    const t = createMemoryTransport();
    await t.ensureStream(STREAM);
    const found: Found = new Map();
    const a = worker(t, lockTable(), 'a', found);
    await a.start();
    const all = attackRecords();
    const e1 = all.filter((_, i) => i % 2 === 0), e2 = all.filter((_, i) => i % 2 === 1);
    // e2 is heard from (its earliest flows), then e1 sends everything while the rest of e2's waits (a backlog).
    let sent = await publishFrom(t, 'e2', e2.slice(0, 200));
    sent += await publishFrom(t, 'e1', e1);
    await settle([a], sent);
    await a.flush(false); // periodic: must not judge the DDoS bins on e1's half
    sent += await publishFrom(t, 'e2', e2.slice(200));
    await settle([a], sent);
    await a.flush(true);
    expect(ddosDetail(found.values())).toEqual(singleDdos());
    await a.stop();
  });
});
