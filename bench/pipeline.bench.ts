// bench/pipeline: end to end on one process — IPFIX decode → lawful selection (the real selector: country lookup, basis match, minimization, HMAC pseudonyms) → analysis adapter → every detector — in flows/s and peak RSS, printed beside decode-only and decode + select in the same run; the detectors both in the pipeline's thread and in worker threads (`analysis.detectorThreads`), wired as createPipeline wires them.
// Leaves out: UDP receive (datagrams are decoded from memory) and the flow archive (no write-ahead segment, no Parquet). The server's whole path, with both, is bench/ingest.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { createFlowBatch, createFlowDecoder, encodeIpfix, type FlowBatch, type FlowRecord } from '#modules/collection/index.js';
import { compileBases, createLocator, createSelectedBatch, createSelector, derivedKeyStore, loadIpLocationDb, Pseudonymizer, SelectionCounters, type LegalBasis } from '#modules/selection/index.js';
import { DETECTOR_KINDS, HostTable, createAnalysisBatch, createDetectorThreads, createDetectors, IndicatorMatcher } from '#modules/analysis/index.js';
import { adaptSelectedBatch, localKinds, threadedDetectors } from '#server/pipeline.js';

const FLOWS = Number(process.env['BENCH_FLOWS'] ?? 10_000_000);
/**
 * Pseudonym cache entries (production: `selection.pseudonymCacheEntries`, default 65,536): the default
 * for the recurring workload; for the distinct one, room for its 2^20 domestic hosts (as an operator
 * would size it to the domestic population) unless BENCH_PSEUDONYM_CACHE says otherwise.
 */
const PSEUDONYM_CACHE: Record<string, number> = {
  recurring: Number(process.env['BENCH_PSEUDONYM_CACHE'] ?? 1 << 16),
  distinct: Number(process.env['BENCH_PSEUDONYM_CACHE'] ?? 1 << 21),
};
/** Which workloads to run: `recurring`, `distinct` or both (comma-separated). */
const WORKLOADS = (process.env['BENCH_WORKLOADS'] ?? 'recurring,distinct').split(',');
/** Detector thread counts to measure beside the in-thread run (comma-separated; 0 skips). */
const THREADS = (process.env['BENCH_THREADS'] ?? '1,2').split(',').map(Number).filter((n) => n > 0);
/** Which stages to run (comma-separated: decode, select, all; the threads follow BENCH_THREADS). */
const STAGES = (process.env['BENCH_STAGES'] ?? 'decode,select,all').split(',');
const TEMPLATE = 4096; // flows per pre-encoded block, re-addressed per round
const T0 = Date.parse('2026-05-01T00:00:00Z');
const NOW = Date.parse('2026-05-03T00:00:00Z');
const DOMESTIC_BASE = 0x85000000; // 133.0.0.0/12: JP, domestic
const FOREIGN_BASE = 0x40000000; // 64.0.0.0/12: US, foreign

function v4(n: number): string { return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`; }

// One block of IPFIX datagrams is encoded once; each round rewrites the address bytes in place, so the
// decoder sees fresh addresses without paying the encoder's cost in the timing. Flow k starts k ms into
// its round; rounds follow each other in flow time (the start/end shift is added after decoding).
const records: FlowRecord[] = Array.from({ length: TEMPLATE }, (_, k) => ({
  start: T0 + k, end: T0 + k + 500,
  srcAddr: '10.0.0.1', dstAddr: '203.0.113.1', srcPort: 40000 + (k % 20000), dstPort: [443, 80, 53, 123, 22][k % 5]!,
  proto: k % 5 === 2 || k % 5 === 3 ? 17 : 6, tcpFlags: k % 7 === 0 ? 0x02 : 0x1b, bytes: 400 + (k % 1000), packets: 1 + (k % 9),
  samplingRate: 1, inIf: 1, outIf: 2, exporter: '',
}));
const encoded = encodeIpfix(records, { exportTimeMs: T0, sequence: 0, domainId: 1 });
// Where each record's addresses sit in the datagrams: find the 10.0.0.1 / 203.0.113.1 byte patterns.
const addrOffsets: Array<{ d: number; src: number; dst: number }> = [];
encoded.datagrams.forEach((dg, d) => {
  for (let i = 0; i + 8 <= dg.length; i++) {
    if (dg[i] === 10 && dg[i + 1] === 0 && dg[i + 2] === 0 && dg[i + 3] === 1 && dg[i + 4] === 203 && dg[i + 5] === 0 && dg[i + 6] === 113 && dg[i + 7] === 1) { addrOffsets.push({ d, src: i, dst: i + 4 }); i += 7; }
  }
});
if (addrOffsets.length !== TEMPLATE) throw new Error(`found ${addrOffsets.length} address pairs in the template, expected ${TEMPLATE}`);

/** A workload writes the (source, destination) IPv4 addresses of flow `pair` into `into[0]`, `into[1]` (no array per flow: the bench's own garbage would count in the pipeline's thread). */
type Workload = (pair: number, into: Uint32Array) => void;
const M = 1 << 20;
/** Every flow a new (domestic, foreign) pair: 2^20 × 2^20 hosts; (pair mod M, (pair div M + 31·pair) mod M) never repeats. */
const distinct: Workload = (pair, into) => { into[0] = DOMESTIC_BASE + (pair % M); into[1] = FOREIGN_BASE + ((Math.floor(pair / M) + 31 * pair) % M); };
/** Recurring traffic: 16,384 domestic hosts, 65,536 foreign endpoints with a skewed popularity (u^4), so pairs repeat. */
const recurring: Workload = (pair, into) => {
  let h = Math.imul(pair ^ 0x5bd1e995, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16;
  const u = (h >>> 0) / 4294967296;
  into[0] = DOMESTIC_BASE + ((h >>> 7) & 16383);
  into[1] = FOREIGN_BASE + Math.floor(65536 * u ** 4);
};

const pairAddrs = new Uint32Array(2);
function rewrite(round: number, workload: Workload): void {
  for (let k = 0; k < TEMPLATE; k++) {
    const o = addrOffsets[k]!;
    const dg = encoded.datagrams[o.d]!;
    workload(round * TEMPLATE + k, pairAddrs);
    const s = pairAddrs[0]!, t = pairAddrs[1]!;
    dg[o.src] = s >>> 24; dg[o.src + 1] = (s >>> 16) & 255; dg[o.src + 2] = (s >>> 8) & 255; dg[o.src + 3] = s & 255;
    dg[o.dst] = t >>> 24; dg[o.dst + 1] = (t >>> 16) & 255; dg[o.dst + 2] = (t >>> 8) & 255; dg[o.dst + 3] = t & 255;
  }
}

const ALL: LegalBasis['allowedFields'] = ['start', 'end', 'srcAddr', 'dstAddr', 'srcPort', 'dstPort', 'proto', 'tcpFlags', 'bytes', 'packets', 'exporter'];
const basis: LegalBasis = {
  id: 'xb-bench', kind: 'cross_border_approval', title: 'bench', selectors: { exporters: [], foreignPrefixes: ['64.0.0.0/10'], domesticPrefixes: [], ports: [], protocols: [] },
  validFrom: '2026-04-01T00:00:00.000Z', validUntil: '2026-06-30T00:00:00.000Z', allowedFields: ALL, retentionDays: 90, createdBy: 'bench', operatorOrgId: null,
  status: 'active', createdAt: '2026-04-01T00:00:00.000Z', createdByActor: 'bench', revokedAt: null, revokedReason: null,
};
const locator = createLocator({ countrySources: [loadIpLocationDb()], domesticPrefixes: ['133.0.0.0/12'] });
const compiled = compileBases([basis]);
// 100k /24 indicators in 96.0.0.0/8 and up, plus one /24 inside the foreign range that about 0.2 % of the recurring flows hit.
const indicators = [...Array.from({ length: 100_000 }, (_, k) => ({ id: `i${k}`, kind: 'ipv4' as const, value: `${v4(0x60000000 + k * 256)}/24`, confidence: 70 })), { id: 'hit', kind: 'ipv4' as const, value: '64.0.128.0/24', confidence: 80 }];
const matcher = new IndicatorMatcher(indicators);

/**
 * CPU seconds of each thread of this process (Linux /proc; empty elsewhere): with worker threads the
 * figure that says which thread limits the rate, and one a busy machine sways less than wall time.
 */
function threadCpu(): Map<number, number> {
  const out = new Map<number, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), (Number(f[11]) + Number(f[12])) / 100); // utime + stime, in clock ticks of 1/100 s
    }
  } catch { /* not Linux */ }
  return out;
}

/** CPU µs per flow of the main thread and of the two busiest others between two threadCpu snapshots. */
function cpuPerFlow(before: Map<number, number>, after: Map<number, number>, flows: number): string {
  if (after.size === 0) return '';
  const us = (tid: number): number => ((after.get(tid) ?? 0) - (before.get(tid) ?? 0)) * 1e6 / flows;
  const others = [...after.keys()].filter((t) => t !== process.pid).map(us).sort((a, b) => b - a).slice(0, 2);
  return `  CPU µs/flow: main ${us(process.pid).toFixed(2)}${others.filter((x) => x >= 0.05).map((x) => `, thread ${x.toFixed(2)}`).join('')}`;
}

type Stage = 'decode' | 'select' | 'all' | 'threads';
interface Run { flows: number; kept: number; analysed: number; seconds: number; peakRssMiB: number; findings: number; hosts: number; cpu: string }

async function run(stage: Stage, workload: Workload, cacheEntries: number, threads = 0): Promise<Run> {
  const decoder = createFlowDecoder({});
  const batch: FlowBatch = createFlowBatch(TEMPLATE + 8192);
  const selector = createSelector({ locator, pseudonyms: new Pseudonymizer(derivedKeyStore('bench-secret-bench-secret-bench-secret'), cacheEntries), rotation: 'monthly', clock: { nowMs: () => NOW }, bases: () => compiled, counters: new SelectionCounters(NOW) });
  const selected = createSelectedBatch(TEMPLATE + 8192);
  const hosts = new HostTable();
  const out = createAnalysisBatch(TEMPLATE + 8192, hosts);
  const detectors = createDetectors(hosts, {}, stage === 'all' ? matcher : new IndicatorMatcher([]));
  // As createPipeline wires them: the kinds localKinds names stay in this thread, the others go to the threads.
  const mine = stage === 'threads' ? localKinds(threads) : [];
  const pool = stage === 'threads' ? createDetectorThreads({ threads, kinds: DETECTOR_KINDS.filter((k) => !mine.includes(k)), indicators, batchRows: TEMPLATE + 8192 }) : undefined;
  const viaThreads = pool === undefined ? undefined : threadedDetectors(pool, mine.length > 0 ? createDetectors(pool.hosts, {}, matcher, mine) : undefined);
  // The threads' start-up (module loading, 100k indicators compiled) is not part of the timing.
  if (pool !== undefined) await pool.flush(T0);
  let flows = 0, kept = 0, analysed = 0, findings = 0, peak = 0, round = 0;
  const flushes: Array<Promise<void>> = [];
  const cpu0 = threadCpu();
  const t0 = performance.now();
  while (flows < FLOWS) {
    rewrite(round, workload);
    batch.length = 0;
    for (const dg of encoded.datagrams) decoder.decode(dg, '192.0.2.1', T0, batch);
    const shift = round * TEMPLATE;
    for (let i = 0; i < batch.length; i++) { batch.start[i] = batch.start[i]! + shift; batch.end[i] = batch.end[i]! + shift; }
    flows += batch.length;
    round++;
    if (stage !== 'decode') {
      const sel = selector.select(batch, selected).kept;
      kept += sel.length;
      if (stage === 'all') {
        adaptSelectedBatch(sel, out);
        analysed += out.length;
        detectors.ingest(out);
        if (round % 256 === 0) findings += detectors.flush(T0 + shift).length;
      } else if (pool !== undefined && viaThreads !== undefined) {
        // The pipeline's own path: adapted into a shared batch (hosts interned here), handed to the threads.
        await viaThreads.ingest(sel);
        // As the pipeline's flush timer does, the flush runs in the threads while batches keep coming:
        // it is queued behind the batches already handed over, and the next ones wait behind it.
        if (round % 256 === 0) flushes.push(viaThreads.flush(T0 + shift, false).then((f) => { findings += f.length; }));
      }
    }
    if (round % 16 === 0) peak = Math.max(peak, process.memoryUsage.rss());
  }
  if (stage === 'all') findings += detectors.flush(NOW, true).length;
  if (viaThreads !== undefined) {
    await Promise.all(flushes);
    findings += (await viaThreads.flush(NOW, true)).length;
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuPerFlow(cpu0, threadCpu(), flows);
  // Worker threads share the process, so RSS covers them too.
  peak = Math.max(peak, process.memoryUsage.rss());
  await pool?.close();
  return { flows, kept, analysed, seconds, peakRssMiB: peak / 2 ** 20, findings, hosts: pool === undefined ? hosts.size : pool.hosts.size, cpu };
}

const gc = (globalThis as { gc?: () => void }).gc;
const line = (label: string, r: Run, extra = ''): void => {
  console.log(`  ${label.padEnd(34)} ${(r.flows / r.seconds).toFixed(0).padStart(10)} flows/s  peak RSS ${r.peakRssMiB.toFixed(0).padStart(5)} MiB${extra}${r.cpu}`);
};

/** Measures one line (a stage, with `threads` detector threads for the threads stage) and prints it. */
async function measure(name: string, stage: Stage, threads: number): Promise<void> {
  const workload = name === 'distinct' ? distinct : recurring;
  const cache = PSEUDONYM_CACHE[name] ?? 1 << 16;
  gc?.();
  const r = await run(stage, workload, cache, threads);
  if (stage === 'decode') line('decode only', r);
  else if (stage === 'select') line('decode + select', r, `  (kept ${r.kept.toLocaleString()})`);
  else if (stage === 'all') line('decode + select + all detectors', r, `  (in-thread; ${r.hosts.toLocaleString()} hosts, ${r.findings} finding updates; ${verdict(r)})`);
  else {
    const here = localKinds(threads);
    line(`  … detectors in ${threads} worker thread${threads > 1 ? 's' : ''}`, r, `  (${here.length > 0 ? `${here.join(' + ')} in the pipeline's thread; ` : ''}${r.findings} finding updates; ${verdict(r)})`);
  }
}

// Each line runs in a fresh process (BENCH_LINE=workload:stage:threads), as the pipeline runs one way in
// production: no line inherits another's heap, garbage or compiled code shaped by another path.
const ONE = process.env['BENCH_LINE'];
if (ONE !== undefined) {
  const [name, stage, threads] = ONE.split(':');
  await measure(name!, stage as Stage, Number(threads));
} else {
  console.log(`machine: ${availableParallelism()} cores, ${cpus()[0]?.model ?? '?'}, node ${process.version}; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}; ${FLOWS.toLocaleString()} flows per run, each line in a fresh process`);
  console.log('path: IPFIX decode → selection (country lookup, basis, minimization, HMAC pseudonyms) → adapter → beacon + scan + DDoS + fan-in + 100k indicators');
  for (const name of WORKLOADS) {
    console.log(name === 'distinct'
      ? `workload distinct: every flow a new host pair (2^20 domestic × 2^20 foreign hosts): ${FLOWS.toLocaleString()} distinct pairs`
      : 'workload recurring: 16,384 domestic hosts × 65,536 foreign endpoints of skewed popularity');
    console.log(`  pseudonym cache: ${(PSEUDONYM_CACHE[name] ?? 1 << 16).toLocaleString()} entries`);
    const lines = [...(['decode', 'select', 'all'] as const).filter((s) => STAGES.includes(s)).map((s) => `${s}:0`), ...THREADS.map((t) => `threads:${t}`)];
    for (const l of lines) {
      const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], { stdio: 'inherit', env: { ...process.env, BENCH_LINE: `${name}:${l}` } });
      if (child.status !== 0) process.exitCode = 1;
    }
  }
}

function verdict(r: Run): string {
  const ok = r.flows / r.seconds >= 1_000_000 && r.peakRssMiB < 2048;
  return `targets ≥ 1,000,000 flows/s and < 2048 MiB: ${ok ? 'met' : 'NOT met'}`;
}
