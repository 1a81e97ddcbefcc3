// bench/cluster: CPU per flow of the cluster path (edge: select → partition → encode → JetStream publish, acknowledged;
// worker: durable consumers → decode → detectors) beside the in-process path (select → detectors) on the same flows in the
// same run. The broker is a nats-server of the bench's own (one node, file store, free port); its CPU is read from /proc.
// Not yet UDP end to end: flows enter as decoded batches on both paths (bench/pipeline measures the decoder).
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createDetectors, HostTable } from '#modules/analysis/index.js';
import { createJetStreamTransport } from '#platform/transport/index.js';
import { startNatsCluster } from '#platform/transport/test-support/nats-cluster.js';
import { inThreadDetectors } from '#server/pipeline.js';
import { createEdge } from '#cluster/edge/index.js';
import { decodeWireBatch, FAMILIES, FAMILY_KINDS, partitionSubject } from '#cluster/wire/index.js';
import { mixedFlows, testSelector } from '#cluster/test-support/fixtures.js';

const FLOWS = Number(process.env['BENCH_FLOWS'] ?? 400_000);
const BATCH = 2048;
const PARTS = 4;
const batches = Array.from({ length: Math.ceil(FLOWS / BATCH) }, (_, i) => mixedFlows(BATCH / 2, i * BATCH));
const cpuUs = (): number => { const u = process.cpuUsage(); return u.user + u.system; };
const procCpuUs = (pid: number): number => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / 100; // utime + stime in clock ticks (100/s)
};

// In-process: selection and every detector in this thread.
let kept = 0;
{
  const sel = testSelector();
  const hosts = new HostTable(1_000_000);
  const ingest = inThreadDetectors(createDetectors(hosts), hosts);
  const c0 = cpuUs(), t0 = Date.now();
  for (const b of batches) { const k = sel.select(b); kept += k.length; await ingest.ingest(k); }
  const us = cpuUs() - c0;
  console.log(`in-process   ${kept} kept flows  ${(us / kept).toFixed(2)} µs CPU/flow  ${(kept / ((Date.now() - t0) / 1000) / 1000).toFixed(0)} k flows/s`);
  globalThis.inProcessUs = us / kept;
}

// Cluster: the edge publishes to JetStream (acknowledged), the worker side consumes every partition and runs the detectors.
const nats = await startNatsCluster(1);
try {
  const serverPid = nats.pid(0)!;
  const t = await createJetStreamTransport({ servers: nats.urls, name: 'bench' });
  await t.ensureStream({ name: 'BENCH', subjects: ['bench.flows.>'], replicas: 1, maxAgeMs: 3_600_000, duplicateWindowMs: 120_000 });
  const sel = testSelector();
  const fam = new Map(FAMILIES.map((f) => { const hosts = new HostTable(1_000_000); return [f, inThreadDetectors(createDetectors(hosts, {}, undefined, FAMILY_KINDS[f]), hosts)] as const; }));
  let consumed = 0;
  const consumers = [];
  for (const f of FAMILIES) {
    for (let p = 0; p < PARTS; p++) {
      consumers.push(await t.consume('BENCH', { durable: `b-${f}-${p}`, filterSubject: partitionSubject('bench.flows', f, p), maxAckPending: 1024 }, async (d) => {
        const w = decodeWireBatch(d.data);
        await fam.get(f)!.ingest(w.batch);
        if (f === 'd') consumed += w.batch.length;
        d.ack();
      }));
    }
  }
  const edge = createEdge({ edgeId: 'bench', partitions: PARTS, subjectPrefix: 'bench.flows', maxInFlight: 16, bufferBytes: 1 << 30, publishTimeoutMs: 10_000 }, { transport: t, select: sel.select, nowMs: Date.now });
  await edge.start();
  const c0 = cpuUs(), s0 = procCpuUs(serverPid), t0 = Date.now();
  for (const b of batches) { edge.sink.write(b); if (edge.stats().waitingFlows > 200_000) await edge.drained(60_000); }
  await edge.drained(120_000);
  while (consumed < edge.stats().kept) await new Promise((r) => setTimeout(r, 5));
  const us = cpuUs() - c0, srv = procCpuUs(serverPid) - s0, secs = (Date.now() - t0) / 1000;
  const k = edge.stats().kept;
  const ratio = (us + srv) / k / globalThis.inProcessUs;
  console.log(`jetstream    ${k} kept flows  ${(us / k).toFixed(2)} µs CPU/flow in mamori + ${(srv / k).toFixed(2)} in nats-server  ${(k / secs / 1000).toFixed(0)} k flows/s  dropped ${edge.stats().droppedFlows}`);
  console.log(`ratio (jetstream incl. server ÷ in-process): ${ratio.toFixed(2)} (target ≤ 1.5)`);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const c of consumers) await c.stop();
  await edge.stop();
  await t.close();
} finally {
  await nats.stop();
}

declare global { var inProcessUs: number }
