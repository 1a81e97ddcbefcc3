// bench/detectors: flows/s of each detector alone (beacon + fan-in, scan, DDoS, 100k indicators) and of all of them behind createDetectors, over the same pre-built minimized batches, beside an empty loop over those batches in the same run.
import { availableParallelism, cpus, loadavg } from 'node:os';
import { HostTable, createAnalysisBatch, createBeaconDetector, createDdosDetector, createDetectors, createIndicatorDetector, createScanDetector, IndicatorMatcher, type AnalysisBatch } from '#modules/analysis/index.js';

/** Flows per workload (each pre-built once and fed to every detector). */
const FLOWS = Number(process.env['BENCH_FLOWS'] ?? 2_000_000);
/** Which workloads to run: `recurring`, `distinct` or both (comma-separated). */
const WORKLOADS = (process.env['BENCH_WORKLOADS'] ?? 'recurring,distinct').split(',');
/** Which detectors to time (comma-separated: beacon, scan, ddos, indicators, all). */
const ONLY = (process.env['BENCH_DETECTORS'] ?? 'beacon,scan,ddos,indicators,all').split(',');
const BATCH = 4096;
const T0 = Date.parse('2026-05-01T00:00:00Z');
const FOREIGN_BASE = 0x40000000; // 64.0.0.0: foreign endpoints

type Workload = (pair: number) => [number, number];
const M = 1 << 20;
/** Every flow a new (domestic, foreign) pair over 2^20 × 2^20 hosts (as bench/pipeline's distinct workload). */
const distinct: Workload = (pair) => [pair % M, (Math.floor(pair / M) + 31 * pair) % M];
/** 16,384 domestic hosts, 65,536 foreign endpoints of skewed popularity (u^4), so pairs repeat (as bench/pipeline's recurring). */
const recurring: Workload = (pair) => {
  let h = Math.imul(pair ^ 0x5bd1e995, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16;
  const u = (h >>> 0) / 4294967296;
  return [(h >>> 7) & 16383, Math.floor(65536 * u ** 4)];
};

/**
 * Builds the workload's batches once, with host ids from one HostTable: domestic hosts by 16 pseudonym
 * bytes, foreign ones as IPv4-mapped slots. Flow k starts k ms into the run and mixes ports, protocols
 * and flags as bench/pipeline's template does (1 flow in 7 a SYN-only probe, UDP to 53 and 123).
 */
function build(workload: Workload, hosts: HostTable): AnalysisBatch[] {
  const slot = new Uint8Array(16);
  const domesticId = new Map<number, number>();
  const foreignId = new Map<number, number>();
  const idOf = (n: number, domestic: boolean): number => {
    const cache = domestic ? domesticId : foreignId;
    let id = cache.get(n);
    if (id !== undefined) return id;
    slot.fill(0);
    if (domestic) {
      let h = Math.imul(n ^ 0x2545f491, 0x9e3779b1);
      for (let k = 0; k < 16; k++) { h = Math.imul(h ^ (h >>> 15), 0x85ebca6b); slot[k] = h >>> 24; }
    } else {
      const a = FOREIGN_BASE + n;
      slot[10] = 0xff; slot[11] = 0xff; slot[12] = a >>> 24; slot[13] = (a >>> 16) & 255; slot[14] = (a >>> 8) & 255; slot[15] = a & 255;
    }
    id = hosts.internSlot(slot, 0, domestic);
    cache.set(n, id);
    return id;
  };
  const out: AnalysisBatch[] = [];
  for (let base = 0; base < FLOWS; base += BATCH) {
    const b = createAnalysisBatch(BATCH, hosts);
    b.bases.push('xb-bench');
    const n = Math.min(BATCH, FLOWS - base);
    for (let i = 0; i < n; i++) {
      const k = base + i;
      const [s, d] = workload(k);
      const kind = k % 5;
      b.start[i] = T0 + k; b.end[i] = T0 + k + 500;
      b.src[i] = idOf(s, true); b.dst[i] = idOf(d, false);
      b.srcPort[i] = 40000 + (k % 20000); b.dstPort[i] = [443, 80, 53, 123, 22][kind]!;
      b.proto[i] = kind === 2 || kind === 3 ? 17 : 6; b.tcpFlags[i] = k % 7 === 0 ? 0x02 : 0x1b;
      b.bytes[i] = 400 + (k % 1000); b.packets[i] = 1 + (k % 9); b.samplingRate[i] = 1; b.basis[i] = 0;
    }
    b.length = n;
    out.push(b);
  }
  return out;
}

function v4(n: number): string { return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`; }
// 100k /24 indicators above 96.0.0.0 plus one /24 among the foreign endpoints (as bench/pipeline).
const matcher = new IndicatorMatcher([
  ...Array.from({ length: 100_000 }, (_, k) => ({ id: `i${k}`, kind: 'ipv4' as const, value: `${v4(0x60000000 + k * 256)}/24`, confidence: 70 })),
  { id: 'hit', kind: 'ipv4' as const, value: '64.0.128.0/24', confidence: 80 },
]);

interface Sink { ingest(b: AnalysisBatch): void; flush(nowMs: number): unknown[] }

function makeSink(name: string, hosts: HostTable): Sink {
  switch (name) {
    case 'beacon': { const d = createBeaconDetector(hosts); return { ingest: d.ingest, flush: (t) => d.flush(t) }; }
    case 'scan': { const d = createScanDetector(hosts); return { ingest: d.ingest, flush: (t) => d.flush(t) }; }
    case 'ddos': { const d = createDdosDetector(hosts); return { ingest: d.ingest, flush: (t) => d.flush(t) }; }
    case 'indicators': { const d = createIndicatorDetector(hosts, matcher); return { ingest: d.ingest, flush: () => d.flush() }; }
    case 'all': { const d = createDetectors(hosts, {}, matcher); return { ingest: d.ingest, flush: (t) => d.flush(t) }; }
    default: throw new Error(`unknown detector ${name}; have beacon, scan, ddos, indicators, all`);
  }
}

/** The floor: one pass reading the columns every detector reads, doing nothing with them. */
function emptyLoop(batches: AnalysisBatch[]): number {
  let acc = 0;
  for (const b of batches) {
    for (let i = 0; i < b.length; i++) acc += b.src[i]! ^ b.dst[i]! ^ b.dstPort[i]! ^ b.proto[i]! ^ b.tcpFlags[i]! ^ (b.start[i]! & 1) ^ (b.packets[i]! & 1);
  }
  return acc;
}

interface Timed { seconds: number; cpuSeconds: number; flushSeconds: number; findings: number; heapMiB: number }

/** Feeds every batch to a fresh detector, flushing every 256 batches (about 1 M flows) and at the end, as bench/pipeline does. */
function time(name: string, hosts: HostTable, batches: AnalysisBatch[]): Timed {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heap0 = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const sink = makeSink(name, hosts);
  let findings = 0;
  let flushMs = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let k = 0; k < batches.length; k++) {
    sink.ingest(batches[k]!);
    if ((k + 1) % 256 === 0) { const f0 = performance.now(); findings += sink.flush(batches[k]!.start[0]!).length; flushMs += performance.now() - f0; }
  }
  const f0 = performance.now();
  findings += sink.flush(T0 + FLOWS + 86_400_000).length;
  flushMs += performance.now() - f0;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const heap1 = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, flushSeconds: flushMs / 1000, findings, heapMiB: (heap1 - heap0) / 2 ** 20 };
}

const rate = (s: number): string => `${(FLOWS / s / 1e6).toFixed(2).padStart(6)} M flows/s`;
console.log(`machine: ${availableParallelism()} cores, ${cpus()[0]?.model ?? '?'}, node ${process.version}; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}; ${FLOWS.toLocaleString()} flows per run, batches of ${BATCH}`);
for (const wname of WORKLOADS) {
  const hosts = new HostTable();
  const batches = build(wname === 'distinct' ? distinct : recurring, hosts);
  console.log(`workload ${wname}: ${hosts.size.toLocaleString()} hosts`);
  // Warm the empty loop, then time it: the floor every detector's figure is read against.
  emptyLoop(batches);
  const e0 = performance.now();
  const sink = emptyLoop(batches);
  const empty = (performance.now() - e0) / 1000;
  console.log(`  ${'empty loop (baseline)'.padEnd(24)} ${rate(empty)}   (checksum ${sink & 0xff})`);
  for (const name of ONLY) {
    const r = time(name, hosts, batches);
    // Wall time, and CPU time of this process (less swayed by other processes on a shared machine); flushes are in both.
    console.log(`  ${name.padEnd(24)} ${rate(r.seconds)}   ${(empty / r.seconds).toFixed(3).padStart(6)} × baseline   per CPU-second ${rate(r.cpuSeconds)}   flush ${((100 * r.flushSeconds) / r.seconds).toFixed(0).padStart(2)} %   heap+buffers ${r.heapMiB.toFixed(0).padStart(5)} MiB   ${r.findings} finding updates`);
  }
}
