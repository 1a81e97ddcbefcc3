/**
 * @module bench/ingest: the server's own path end to end, as `mamori serve` wires it, in one process — the native UDP
 * receiver, decode, lawful selection, the detectors with the default threads (`analysis.detectorThreads: auto`), the
 * archive writer (write-ahead segment, Parquet, compaction) — fed NetFlow v5 by bench/flowgen.ts in a second process at
 * rising rates until flows drop; nfcapd (Debian nfdump) takes the same stream at each rate in the same run.
 * Each rate: a fresh server process (SQLite and archive in a temp dir), one cross-border basis that keeps every flow.
 * A rate counts as met only with 0 flows dropped anywhere (kernel, ring, admission) and the archive holding exactly the
 * flows sent (count and byte sum). At the best rate the detectors' findings are compared with `detectorThreads: 0` on the
 * same flows, fed in-process. Run: `npm run bench -- ingest` (BENCH_INGEST_SECONDS per rate, default 5;
 * BENCH_INGEST_RATES, comma-separated flows/s). Prints one table at the end, with the server's CPU per flow by thread role.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { pbkdf2 } from 'node:crypto';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '#platform/config/index.js';
import { systemClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { openDuckDb } from '#platform/duckdb/index.js';
import { createLogger } from '#platform/logger/index.js';
import { MetricsRegistry } from '#platform/metrics/index.js';
import { createFlowBatch, createFlowDecoder, createUdpCollector } from '#modules/collection/index.js';
import { listPartitions, liveFiles } from '#modules/selection/index.js';
import { createCore, type Core } from '#server/core.js';
import { createPipeline, detectorThreadsFor } from '#server/pipeline.js';
import { DOMESTIC_PREFIX, FOREIGN_PREFIX, ingestRing, PER, RING, sentTotals } from './ingest-traffic.js';

const here = dirname(fileURLToPath(import.meta.url));
const env = process.env;
const STEP_SECONDS = Number(env['BENCH_INGEST_SECONDS'] ?? 5);
const RATES = (env['BENCH_INGEST_RATES'] ?? '250000,500000,750000,1000000,1250000,1500000,2000000').split(',').map(Number);
const BUFFER = 8 * 1024 * 1024; // collector.receiveBufferBytes's default, asked by both receivers

/** A server process's figures after a step. */
interface ServerResult {
  received: number; kept: number; archivedAccepted: number; dropped: Record<string, number>; unanalysed: number;
  datagrams: number; decoded: number; ringDropped: number; kernelDrops: number; sinkDropped: number;
  archive: { rows: number; bytes: number; files: number; minFileRows: number; filesBeforeCompaction: number };
  findings: string[]; cpuSeconds: number; peakRssMiB: number; detectorThreads: number;
  /** CPU seconds (user+sys) of the server's threads from `go` to the end of the drain, by role and id (≥ 0.05 s). */
  threads: Record<string, number>;
  /** The same by role (every thread). */
  byRole: Record<Role, number>;
}

/** CPU seconds (user+sys, /proc) of each live thread of this process, by thread id. */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  const tick = 100; // USER_HZ on Linux
  for (const tid of existsSync('/proc/self/task') ? readdirSync('/proc/self/task') : []) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, (Number(f[11]) + Number(f[12])) / tick);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** The roles of the server's threads, in the order the table lists them. */
const ROLES = ['main', 'detectors', 'archive', 'receiver', 'v8', 'libuv', 'core', 'other'] as const;
type Role = (typeof ROLES)[number];
const ROLE_TEXT: Record<Role, string> = {
  main: 'main thread (ring, decode, selection, adapter, archive append)', detectors: 'detector thread(s) (every kind since decision 0012)',
  archive: 'archive write thread + DuckDB', receiver: 'native UDP receiver', v8: 'V8 platform (GC, compiler) and other Node threads', libuv: 'libuv thread pool (DuckDB statements of the archive writer, async fs)', core: 'threads the core started (SQLite, DuckDB)', other: 'threads started later',
};

const ROLE_SHORT: Record<Role, string> = { main: 'main', detectors: 'det', archive: 'arch', receiver: 'recv', v8: 'V8', libuv: 'uv', core: 'core', other: 'other' };

/** CPU µs per decoded flow: the server's total (all threads, /proc), then each role of at least 0.005 µs. */
function perFlow(r: ServerResult): string {
  const n = Math.max(1, r.decoded);
  const total = Object.values(r.byRole).reduce((a, b) => a + b, 0);
  const parts = ROLES.filter((k) => r.byRole[k] / n >= 5e-9).map((k) => `${ROLE_SHORT[k]} ${((r.byRole[k] / n) * 1e6).toFixed(2)}`);
  return `${((total / n) * 1e6).toFixed(2)} = ${parts.join(' · ')}`;
}

/**
 * Which thread does what, for sure rather than by guessing from CPU figures: Node names every thread `node`, so each
 * thread is known by the step that started it (threads of Node itself at start, then the archive writer's, the
 * detectors' — which also name themselves `mamori-detect` — and the receiver's); the libuv pool is told from V8's
 * threads at start by giving it work (a few short PBKDF2 runs) and seeing which threads ran it.
 */
function threadRoles(): { claim(role: Role): void; findLibuvPool(): Promise<void>; roleOf(tid: string): Role } {
  const roles = new Map<string, Role>();
  const claim = (role: Role): void => { for (const tid of threadCpu().keys()) if (!roles.has(tid)) roles.set(tid, Number(tid) === process.pid ? 'main' : role); };
  return {
    claim,
    async findLibuvPool() {
      claim('v8');
      const before = threadCpu();
      await Promise.all(Array.from({ length: 8 }, () => new Promise((r) => pbkdf2('bench', 'ingest', 200_000, 32, 'sha256', r))));
      // The pool's threads ran ~0.1 s each; V8's may have run a little meanwhile (a GC).
      const rose = [...threadCpu()].filter(([tid]) => Number(tid) !== process.pid).map(([tid, s]) => [tid, s - (before.get(tid) ?? 0)] as const);
      const most = Math.max(0, ...rose.map(([, d]) => d));
      for (const [tid, d] of rose) if (d >= most / 2) roles.set(tid, 'libuv');
    },
    roleOf(tid) {
      let comm = '';
      try { comm = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(); } catch { /* ended */ }
      return comm === 'mamori-detect' ? 'detectors' : roles.get(tid) ?? 'other';
    },
  };
}

async function openServerCore(dataDir: string, baseMs: number): Promise<Core> {
  const config = parseConfig({
    dataDir, database: { url: `sqlite:${join(dataDir, 'mamori.db')}` }, log: { level: 'warn' },
    selection: { domesticPrefixes: [DOMESTIC_PREFIX], kekBesideData: true },
    collector: { listeners: [{ host: '127.0.0.1', port: 0 }], receiver: 'native' },
  });
  const core = await createCore(config, { logger: createLogger({ level: 'warn' }) });
  await core.selection.createBasis(systemContext('bench'), {
    kind: 'cross_border_approval', title: 'bench/ingest: the campaign\'s foreign block', createdBy: 'bench', selectors: { foreignPrefixes: [FOREIGN_PREFIX] },
    validFrom: new Date(baseMs - 86_400_000).toISOString(), validUntil: new Date(baseMs + 30 * 86_400_000).toISOString(),
    allowedFields: ['start', 'end', 'srcAddr', 'dstAddr', 'srcPort', 'dstPort', 'proto', 'tcpFlags', 'bytes', 'packets', 'exporter'], retentionDays: 30,
  });
  await core.selection.reload();
  // The country table is built on first use (about a second): before the clock starts.
  core.selection.select(createFlowBatch(1));
  return core;
}

async function archiveHoldings(dir: string): Promise<{ rows: number; bytes: number; files: number[] }> {
  const files = listPartitions(dir).flatMap((p) => liveFiles(p.dir));
  if (files.length === 0) return { rows: 0, bytes: 0, files: [] };
  const e = await openDuckDb({ threads: 2 });
  try {
    const list = `[${files.map((f) => `'${f}'`).join(', ')}]`;
    const [t] = await e.all(`SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b FROM read_parquet(${list})`);
    const per = await e.all(`SELECT num_rows FROM parquet_file_metadata(${list})`);
    return { rows: Number(t!['n']), bytes: Number(t!['b']), files: per.map((r) => Number(r['num_rows'])) };
  } finally {
    e.close();
  }
}

async function findingsOf(core: Core): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await core.analysis.listFindings(systemContext('bench'), { limit: 500, ...(cursor !== undefined ? { cursor } : {}) });
    out.push(...page.items.map((f) => `${f.kind} ${f.subject.value} ${f.level}`));
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return out.sort();
}

/** The server role: the components as `mamori serve` starts them; `go` starts the CPU clock, `stop` ends the step. */
async function serve(): Promise<void> {
  const dataDir = env['BENCH_INGEST_DIR']!;
  const baseMs = Number(env['BENCH_INGEST_BASE_MS']);
  const roles = threadRoles();
  await roles.findLibuvPool();
  const core = await openServerCore(dataDir, baseMs);
  roles.claim('core');
  const logger = createLogger({ level: 'warn' });
  const metrics = new MetricsRegistry();
  const detectorThreads = detectorThreadsFor(core.config.analysis.detectorThreads);
  // Findings are stored once, at the end (unless BENCH_INGEST_FLUSH_EVERY_MS says otherwise), as the reference role and
  // bench/cluster's workers store them: the store keeps each finding's highest level, so the pipeline's periodic flush
  // (10 s) inside a longer step stored fan-in levels the end of the stream lowers, and the findings differed by when they
  // were stored, not by what the detectors found (a 15-s step printed "768 DIFFER … 768 there").
  const flushEvery = { flushEveryMs: Number(env['BENCH_INGEST_FLUSH_EVERY_MS'] ?? 3_600_000) };
  const pipeline = createPipeline(core, { logger, metrics, analysisThreads: detectorThreads, analysisQueueRows: core.config.analysis.queueRows, ...flushEvery });
  const collector = createUdpCollector(core.config.collector, { sink: pipeline.sink, metrics, clock: systemClock, logger });
  await core.archive.writer.start();
  roles.claim('archive');
  await pipeline.component.start();
  roles.claim('detectors');
  await collector.start();
  roles.claim('receiver');
  let peak = 0;
  const rss = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 200);
  process.stdout.write(`ready ${collector.stats().listeners[0]!.port}\n`);
  let cpu0 = process.cpuUsage();
  let threads0 = threadCpu();
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line === 'go') { cpu0 = process.cpuUsage(); threads0 = threadCpu(); }
    if (line === 'stop') break;
  }
  // Drain: until the decoded count stops moving, then everything received is handed on.
  let last = -1;
  for (let i = 0; i < 100 && collector.stats().totals.flows !== last; i++) { last = collector.stats().totals.flows; await new Promise((r) => setTimeout(r, 200)); }
  // The receiver's thread ends with the collector: its figure is taken before.
  const beforeStop = threadCpu();
  await collector.stop();
  await pipeline.flush(true);
  const cpu = process.cpuUsage(cpu0);
  const threads: Record<string, number> = {};
  const byRole = Object.fromEntries(ROLES.map((r) => [r, 0])) as Record<Role, number>;
  for (const [tid, s] of new Map([...beforeStop, ...threadCpu()])) {
    const d = s - (threads0.get(tid) ?? 0);
    const role = roles.roleOf(tid);
    byRole[role] += d;
    if (d >= 0.05) threads[`${role}:${tid}`] = d;
  }
  await pipeline.component.stop();
  clearInterval(rss);
  const before = listPartitions(core.archive.dir).flatMap((p) => liveFiles(p.dir)).length;
  // Compaction as the hourly job does it, here on the current hour too (the step's flows are all in it).
  await core.archive.compact({ minRows: 100_000, graceMs: -7_200_000 });
  const h = await archiveHoldings(core.archive.dir);
  const c = collector.stats();
  const s = pipeline.stats();
  const result: ServerResult = {
    received: s.received, kept: s.kept, archivedAccepted: s.archived, dropped: s.dropped, unanalysed: s.unanalysedFlows,
    datagrams: c.totals.datagrams, decoded: c.totals.flows, ringDropped: c.ringDroppedDatagrams, kernelDrops: c.listeners[0]?.kernelDrops ?? 0, sinkDropped: c.sinkDroppedFlows,
    archive: { rows: h.rows, bytes: h.bytes, files: h.files.length, minFileRows: h.files.length === 0 ? 0 : Math.min(...h.files), filesBeforeCompaction: before },
    findings: await findingsOf(core), cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMiB: peak / 2 ** 20, detectorThreads,
    threads, byRole,
  };
  await core.close();
  process.stdout.write(`result ${JSON.stringify(result)}\n`);
  process.exit(0);
}

/** The reference role: the same datagrams decoded and fed in-process with `detectorThreads: 0`; prints the findings. */
async function reference(): Promise<void> {
  const dataDir = env['BENCH_INGEST_DIR']!;
  const baseMs = Number(env['BENCH_INGEST_BASE_MS']);
  const n = Number(env['BENCH_INGEST_DATAGRAMS']);
  const core = await openServerCore(dataDir, baseMs);
  const pipeline = createPipeline(core, { analysisThreads: 0, whenBehind: 'wait' });
  await core.archive.writer.start();
  await pipeline.component.start();
  const ring = ingestRing(baseMs).datagrams.map((d) => Buffer.from(d));
  const decoder = createFlowDecoder({});
  let batch = createFlowBatch(4096 + 8192);
  for (let d = 0; d < n; d++) {
    const dg = ring[d % RING]!;
    dg.writeUInt32BE((d * PER) >>> 0, 16);
    decoder.decode(dg, '127.0.0.1', Date.now(), batch);
    if (batch.length >= 4096) { await pipeline.sink.write(batch); batch = createFlowBatch(4096 + 8192); }
  }
  if (batch.length > 0) await pipeline.sink.write(batch);
  await pipeline.flush(true);
  await pipeline.component.stop();
  const findings = await findingsOf(core);
  await core.close();
  process.stdout.write(`result ${JSON.stringify({ findings, kept: pipeline.stats().kept })}\n`);
  process.exit(0);
}

// ---- the parent: rates, generator, nfcapd, table ------------------------------------------------------------------------

function child(role: string, extra: Record<string, string>): { proc: ChildProcess; lines: AsyncIterableIterator<string> } {
  const proc = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...env, BENCH_INGEST_ROLE: role, ...extra } });
  return { proc, lines: createInterface({ input: proc.stdout! })[Symbol.asyncIterator]() };
}

async function until(lines: AsyncIterableIterator<string>, prefix: string): Promise<string> {
  for (;;) {
    const r = await lines.next();
    if (r.done === true) throw new Error(`child ended before "${prefix}"`);
    if (r.value.startsWith(prefix)) return r.value.slice(prefix.length).trim();
  }
}

function generator(port: number, rate: number, flows: number, baseMs: number): Promise<{ sentFlows: number; sentDatagrams: number; rate: number }> {
  return new Promise((resolve, reject) => {
    const g = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', join(here, 'flowgen.ts'), '--port', String(port), '--rate', String(rate), '--flows', String(flows), '--limit', String(STEP_SECONDS * 4), '--traffic', 'ingest', '--base-ms', String(baseMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    g.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    g.on('error', reject);
    g.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as { sentFlows: number; sentDatagrams: number; rate: number }) : reject(new Error(`flowgen exited with ${code}`))));
  });
}

interface MamoriStep { target: number; achieved: number; sentFlows: number; sentBytes: number; r: ServerResult; load: number; dataDir: string; baseMs: number; sentDatagrams: number }

async function mamoriStep(rate: number): Promise<MamoriStep> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mamori-ingest-'));
  const baseMs = Math.floor(Date.now() / 60_000) * 60_000;
  const s = child('server', { BENCH_INGEST_DIR: dataDir, BENCH_INGEST_BASE_MS: String(baseMs) });
  const port = Number(await until(s.lines, 'ready'));
  s.proc.stdin!.write('go\n');
  const g = await generator(port, rate, rate * STEP_SECONDS, baseMs);
  const load = loadavg()[0]!;
  s.proc.stdin!.write('stop\n');
  const r = JSON.parse(await until(s.lines, 'result')) as ServerResult;
  const totals = sentTotals(g.sentDatagrams, ingestRing(baseMs).bytes);
  return { target: rate, achieved: g.rate, sentFlows: totals.flows, sentBytes: totals.bytes, r, load, dataDir, baseMs, sentDatagrams: g.sentDatagrams };
}

function lostAnywhere(m: MamoriStep): number {
  return m.sentFlows - m.r.archive.rows;
}

function exact(m: MamoriStep): boolean {
  const d = m.r.dropped;
  return m.r.archive.rows === m.sentFlows && m.r.archive.bytes === m.sentBytes && m.r.kept === m.sentFlows && (d['analysis_behind'] ?? 0) + (d['archive_behind'] ?? 0) + (d['archive_failed'] ?? 0) === 0
    && m.r.ringDropped === 0 && m.r.sinkDropped === 0;
}

function tool(name: string): string | undefined {
  return ['/usr/sbin', '/usr/bin', '/usr/local/bin'].map((d) => join(d, name)).find((p) => existsSync(p));
}

async function nfcapdStep(nfcapd: string, nfdump: string, rate: number): Promise<{ sent: number; stored: number; achieved: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'mamori-nfcapd-'));
  const port = 30_000 + Math.floor(Math.random() * 20_000);
  const proc = spawn(nfcapd, ['-w', dir, '-p', String(port), '-b', '127.0.0.1', '-B', String(BUFFER), '-t', '3600'], { stdio: ['ignore', 'ignore', 'ignore'] });
  try {
    const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
    for (let i = 0; i < 50 && !readFileSync('/proc/net/udp', 'utf8').includes(hex); i++) await new Promise((r) => setTimeout(r, 50));
    const g = await generator(port, rate, rate * STEP_SECONDS, Date.now());
    await new Promise((r) => setTimeout(r, 500));
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    const m = /^Flows: (\d+)/m.exec(spawnSync(nfdump, ['-R', dir, '-I'], { encoding: 'utf8' }).stdout);
    return { sent: g.sentFlows, stored: m === null ? 0 : Number(m[1]), achieved: g.rate };
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(0)} k`);

async function main(): Promise<void> {
  process.stdout.write(`machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
  const ringMiB = parseConfig({}).collector.receiveRingBytes / 2 ** 20;
  process.stdout.write(`path: flowgen (NetFlow v5, second process) → native UDP receiver (${ringMiB} MiB ring, collector.receiveRingBytes) → decode → selection → detectors (detectorThreads auto) + archive writer (segment → Parquet) → compaction; ${STEP_SECONDS} s per rate; nfcapd on the same stream\n`);
  const nfcapd = tool('nfcapd');
  const nfdump = tool('nfdump');
  if (nfcapd === undefined || nfdump === undefined) process.stdout.write('nfcapd: not installed (apt-get install -y nfdump); no comparison\n');
  const rows: string[] = [];
  let best: MamoriStep | undefined;
  let lossy = 0;
  for (const rate of RATES) {
    const m = await mamoriStep(rate);
    const nf = nfcapd !== undefined && nfdump !== undefined ? await nfcapdStep(nfcapd, nfdump, rate) : undefined;
    const ok = exact(m);
    const d = m.r.dropped;
    const dropText = `admission ${(d['analysis_behind'] ?? 0) + (d['archive_behind'] ?? 0) + (d['archive_failed'] ?? 0)} (analysis ${d['analysis_behind'] ?? 0}, archive ${(d['archive_behind'] ?? 0) + (d['archive_failed'] ?? 0)}), ring ${m.r.ringDropped} datagrams, kernel ${m.r.kernelDrops}`;
    const nfText = nf === undefined ? '-' : `${((nf.stored / Math.max(1, nf.sent)) * 100).toFixed(1)} % (${fmt(nf.achieved)}/s)`;
    const line = `| ${fmt(rate)}/s | ${fmt(m.achieved)}/s | ${((m.r.archive.rows / Math.max(1, m.sentFlows)) * 100).toFixed(1)} % of ${m.sentFlows.toLocaleString('en')} | ${lostAnywhere(m).toLocaleString('en')}: ${dropText} | ${m.r.archive.filesBeforeCompaction} → ${m.r.archive.files} files, min ${m.r.archive.minFileRows.toLocaleString('en')} rows | ${m.r.cpuSeconds.toFixed(1)} s, ${m.r.peakRssMiB.toFixed(0)} MiB | ${perFlow(m.r)} | ${nfText} | ${m.load.toFixed(1)} |`;
    rows.push(line);
    process.stdout.write(`${line}  ${ok ? 'exact' : 'NOT exact'} (bytes ${m.r.archive.bytes === m.sentBytes ? 'match' : `${m.r.archive.bytes} ≠ ${m.sentBytes}`}; unanalysed ${m.r.unanalysed}; ${m.r.detectorThreads} detector thread(s); CPU s by role:thread ${Object.entries(m.r.threads).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')})\n`);
    if (ok) {
      if (best !== undefined) rmSync(best.dataDir, { recursive: true, force: true });
      best = m;
      lossy = 0;
    } else {
      rmSync(m.dataDir, { recursive: true, force: true });
      if (++lossy >= 2) break;
    }
  }
  process.stdout.write('\n| offered | generator achieved | in the archive | lost (where) | files (before → after compaction) | server CPU, peak RSS | CPU µs per decoded flow, by role | nfcapd stored | load |\n|---|---|---|---|---|---|---|---|---|\n');
  for (const r of rows) process.stdout.write(`${r}\n`);
  process.stdout.write(`\nroles: ${ROLES.map((r) => `${ROLE_SHORT[r]} = ${ROLE_TEXT[r]}`).join('; ')}\n`);
  if (best === undefined) {
    process.stdout.write('\nno rate without loss\n');
    return;
  }
  const ref = child('reference', { BENCH_INGEST_DIR: mkdtempSync(join(tmpdir(), 'mamori-ingest-ref-')), BENCH_INGEST_BASE_MS: String(best.baseMs), BENCH_INGEST_DATAGRAMS: String(best.sentDatagrams) });
  const refResult = JSON.parse(await until(ref.lines, 'result')) as { findings: string[]; kept: number };
  const same = JSON.stringify(refResult.findings) === JSON.stringify(best.r.findings);
  process.stdout.write(`\nhighest rate with 0 flows dropped anywhere and the archive exact: ${fmt(best.target)}/s offered (${fmt(best.achieved)}/s achieved) — target ≥ 1 M flows/s: ${best.target >= 1_000_000 ? 'met' : 'NOT met'}\n`);
  process.stdout.write(`findings at that rate (${best.r.findings.length}) ${same ? 'equal' : 'DIFFER from'} detectorThreads: 0 on the same ${refResult.kept.toLocaleString('en')} flows in-process${same ? '' : ` (${refResult.findings.length} there)`}\n`);
  rmSync(best.dataDir, { recursive: true, force: true });
}

const role = env['BENCH_INGEST_ROLE'];
if (role === 'server') await serve();
else if (role === 'reference') await reference();
else await main();
