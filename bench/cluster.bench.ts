/**
 * @module bench/cluster: the cluster path end to end beside the single process, on the same UDP stream in the same run.
 * Single process: bench/ingest's server role (`mamori serve`'s components: native UDP receiver → decode → selection →
 * detectors + archive writer). Cluster: flowgen → UDP → `mamori collect --publish` (edge: decode, selection, encode,
 * acknowledged publish) → nats-server (its own, one node, file store) → `mamori analyze` worker(s) (decode, detectors,
 * findings in a fresh PostgreSQL database) and `mamori archiver` (decode, archive writer), each its own OS process.
 * Reported: CPU per kept flow (user + sys of every process, nats-server included, from /proc; PostgreSQL's backends for the
 * database apart), flows lost anywhere (kernel, ring, outbox), each role's peak RSS and the ratio to the single process (target ≤ 1.5).
 * Run: `npm run bench -- cluster` (BENCH_CLUSTER_RATE flows/s, default 100000; BENCH_CLUSTER_SECONDS, default 10;
 * BENCH_CLUSTER_WORKERS, default 1; BENCH_CLUSTER_PARTITIONS per family, default 4; BENCH_CLUSTER_PAIRS alternated runs of both, default 1). Needs PostgreSQL (as test:pg) and nats-server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadConfig } from '#platform/config/index.js';
import { systemContext } from '#platform/context/index.js';
import { freePort, startNatsCluster } from '#platform/transport/test-support/nats-cluster.js';
import { createCore } from '#server/core.js';
import { edgeStateJobs } from '#server/edge-state-wiring.js';
import { createFreshPgDatabase } from '#server/test-support/pg.js';
import { parsePrometheusText } from '#cli/commands/collection.js';
import { DOMESTIC_PREFIX, FOREIGN_PREFIX } from './ingest-traffic.js';

const here = dirname(fileURLToPath(import.meta.url));
const env = process.env;
const RATE = Number(env['BENCH_CLUSTER_RATE'] ?? 100_000);
const SECONDS = Number(env['BENCH_CLUSTER_SECONDS'] ?? 10);
const WORKERS = Number(env['BENCH_CLUSTER_WORKERS'] ?? 1);
const PARTITIONS = Number(env['BENCH_CLUSTER_PARTITIONS'] ?? 4);
/** Single-process and cluster runs, alternated: the median ratio is reported (BENCH_CLUSTER_PAIRS, default 1). */
const PAIRS = Math.max(1, Number(env['BENCH_CLUSTER_PAIRS'] ?? 1));
/** A directory for V8 CPU profiles of the cluster's roles (written when they stop). */
const PROFILE = env['BENCH_CLUSTER_PROFILE'];
/** A directory for `perf record` data of each role over the measured window (every thread, native code included: GC, DuckDB). */
const PERF = env['BENCH_CLUSTER_PERF'];
const KEY = 'bench-cluster-pseudonym-key-0123456789abcdef';
const ENTRY = "import('./src/cli/main.ts').then((m) => m.main(['node', 'mamori', ...process.argv.slice(1)]))";
const TICKS = 100; // clock ticks per second in /proc/<pid>/stat (USER_HZ)

/** user + sys CPU seconds of each thread of a process. */
function threadSeconds(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try { tids = readdirSync(`/proc/${pid}/task`); } catch { return out; }
  for (const t of tids) out.set(Number(t), cpuSeconds(pid, Number(t)));
  return out;
}

/** A thread's name (libuv-worker, DuckDB's, V8's…), or `?` once it is gone. */
function threadName(pid: number, tid: number): string {
  try { return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim(); } catch { return '?'; }
}

/** user + sys CPU seconds of a process (every thread), or 0 once it is gone. */
function cpuSeconds(pid: number, tid?: number): number {
  try {
    const f = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return 0;
  }
}

/** Peak resident set of a process (VmHWM, MiB: its start included), or NaN once it is gone. */
function peakRssMiB(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? Number.NaN : Number(m[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

function generator(port: number, rate: number, flows: number, baseMs: number): Promise<{ sentFlows: number; sentDatagrams: number; rate: number }> {
  return new Promise((resolve, reject) => {
    const g = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', join(here, 'flowgen.ts'), '--port', String(port), '--rate', String(rate), '--flows', String(flows), '--limit', String(SECONDS * 4), '--traffic', 'ingest', '--base-ms', String(baseMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    g.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    g.on('error', reject);
    g.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as { sentFlows: number; sentDatagrams: number; rate: number }) : reject(new Error(`flowgen exited with ${code}`))));
  });
}

async function lineStartingWith(lines: AsyncIterableIterator<string>, prefix: string): Promise<string> {
  for (;;) {
    const r = await lines.next();
    if (r.done === true) throw new Error(`child ended before "${prefix}"`);
    if (r.value.startsWith(prefix)) return r.value.slice(prefix.length).trim();
  }
}

const kindsOf = (findings: readonly string[]): string[] => findings.map((f) => { const [kind, , level] = f.split(' '); return `${kind} ${level}`; }).sort();

/** The single process: bench/ingest's server role on the same stream. */
async function singleProcess(baseMs: number): Promise<{ kept: number; cpuSeconds: number; lost: number; findings: string[]; sent: number; roles: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mamori-bench-single-'));
  const gcLog = env['BENCH_CLUSTER_TRACE_GC'] !== undefined ? join(env['BENCH_CLUSTER_TRACE_GC'], 'single.gc.log') : undefined;
  const proc = spawn(process.execPath, [...(gcLog !== undefined ? ['--trace-gc'] : []), '--conditions=source', '--import', 'tsx', join(here, 'ingest.bench.ts')], { stdio: ['pipe', 'pipe', 'inherit'], env: {
    ...env, BENCH_INGEST_ROLE: 'server', BENCH_INGEST_DIR: dataDir, BENCH_INGEST_BASE_MS: String(baseMs),
    // Findings stored once, at its stop, as the cluster's workers store them: the store keeps a finding's highest level, and
    // the pipeline's default 10-s flush falls inside the stream, where it stored levels the end of the stream no longer has.
    BENCH_INGEST_FLUSH_EVERY_MS: '3600000',
  } });
  if (gcLog !== undefined) proc.stdout!.on('data', (d: Buffer) => appendFileSync(gcLog, d));
  try {
    const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
    const port = Number(await lineStartingWith(lines, 'ready'));
    proc.stdin!.write('go\n');
    const g = await generator(port, RATE, RATE * SECONDS, baseMs);
    proc.stdin!.write('stop\n');
    const r = JSON.parse(await lineStartingWith(lines, 'result')) as {
      kept: number; cpuSeconds: number; dropped: Record<string, number>; ringDropped: number; sinkDropped: number; decoded: number; findings: string[];
      byRole: Record<string, number>;
    };
    const admission = Object.values(r.dropped).reduce((a, b) => a + b, 0);
    // Where the single process's CPU went (bench/ingest's roles): the baseline varies from run to run, and this says where.
    const roles = Object.entries(r.byRole).filter(([, v]) => v > 0.01).map(([k, v]) => `${k} ${((v * 1e6) / Math.max(1, r.kept)).toFixed(2)}`).join(' · ');
    return { kept: r.kept, cpuSeconds: r.cpuSeconds, lost: g.sentFlows - r.decoded + admission + r.sinkDropped, findings: r.findings, sent: g.sentFlows, roles };
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

interface Role { name: string; proc: ChildProcess; metrics: string; log: string[] }

/** SIGTERM, then SIGKILL after 15 s. */
function stop(r: Role): Promise<void> {
  if (r.proc.exitCode !== null || r.proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => { r.proc.kill('SIGKILL'); resolve(); }, 15_000);
    r.proc.once('exit', () => { clearTimeout(t); resolve(); });
    r.proc.kill('SIGTERM');
  });
}

async function scrape(url: string): Promise<ReturnType<typeof parsePrometheusText>> {
  try {
    return parsePrometheusText(await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) })).text());
  } catch {
    return [];
  }
}
const metric = (s: ReturnType<typeof parsePrometheusText>, name: string, labels: Record<string, string> = {}): number =>
  s.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)).reduce((a, x) => a + x.value, 0);

async function until(what: string, roles: readonly Role[], cond: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not reached within ${ms} ms\n${roles.map((r) => `${r.name}: ${r.log.join('').slice(-1500)}`).join('\n')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The cluster: one nats-server, a fresh PostgreSQL database, an edge, `WORKERS` workers and the archiver as processes. */
async function cluster(baseMs: number): Promise<{ kept: number; cpu: Record<string, number>; mainCpu: Record<string, number>; threads: Record<string, string>; windowSeconds: number; pgCpu: number; lost: number; findings: string[]; sent: number; findingUpdates: number; peakRss: Record<string, number> }> {
  const nats = await startNatsCluster(1);
  const db = await createFreshPgDatabase();
  const dirs: string[] = [];
  const roles: Role[] = [];
  const dir = (): string => { const d = mkdtempSync(join(tmpdir(), 'mamori-bench-cluster-')); dirs.push(d); return d; };
  // The edge follows the centre's selection state over NATS KV (decision 0011): the key-wrapping key both share.
  const wrapFile = join(dir(), 'edge-key-wrap');
  writeFileSync(wrapFile, randomBytes(32), { mode: 0o600 });
  const base = { MAMORI_DATABASE_URL: db.url, MAMORI_SECRETS_PSEUDONYM_KEY: KEY, MAMORI_SELECTION_DOMESTIC_PREFIXES: DOMESTIC_PREFIX, MAMORI_CLUSTER_KEY_WRAP_FILE: wrapFile };
  let centreJobs: { stop(): Promise<void> }[] = [];
  let centre: Awaited<ReturnType<typeof createCore>> | undefined;
  try {
    centre = await createCore(loadConfig({ env: { ...base, MAMORI_DATA_DIR: dir(), MAMORI_LOG_LEVEL: 'warn', MAMORI_CLUSTER_SERVERS: nats.urls.join(','), MAMORI_CLUSTER_REPLICAS: '1',
      // It publishes its partition count (the layout entry): the roles', else the edge drops every flow (layout_differs).
      MAMORI_CLUSTER_PARTITIONS: String(PARTITIONS) } }).config);
    await centre.selection.createBasis(systemContext('bench'), {
      kind: 'cross_border_approval', title: 'bench/cluster: the campaign\'s foreign block', createdBy: 'bench', selectors: { foreignPrefixes: [FOREIGN_PREFIX] },
      validFrom: new Date(baseMs - 86_400_000).toISOString(), validUntil: new Date(baseMs + 30 * 86_400_000).toISOString(),
      allowedFields: ['start', 'end', 'srcAddr', 'dstAddr', 'srcPort', 'dstPort', 'proto', 'tcpFlags', 'bytes', 'packets', 'exporter'], retentionDays: 30,
    });
    // The API leader's jobs for the edges, here in the bench process: publishing the state, auditing the edge's counters.
    const jobs = edgeStateJobs(centre);
    for (const j of jobs) await j.start();
    centreJobs = jobs;
    const start = async (name: string, args: string[]): Promise<Role> => {
      const port = await freePort();
      const e = {
        ...env, ...base, MAMORI_DATA_DIR: dir(), MAMORI_LOG_LEVEL: 'warn', MAMORI_CLUSTER_SERVERS: nats.urls.join(','), MAMORI_CLUSTER_PARTITIONS: String(PARTITIONS),
        MAMORI_CLUSTER_REPLICAS: '1', MAMORI_COLLECTOR_ENABLED: 'false', MAMORI_COLLECTOR_RECEIVER: 'native',
        // Findings stored once a family has been idle for 3 s (its windows closed: end of input), and otherwise hourly: once, at the
        // end, as the single process stores them at its stop; a shorter period would store the same findings several times over.
        ...(env['BENCH_CLUSTER_EDGE_BATCH'] !== undefined ? { MAMORI_CLUSTER_EDGE_BATCH_FLOWS: env['BENCH_CLUSTER_EDGE_BATCH'] } : {}),
        MAMORI_CLUSTER_WORKER_FLUSH_EVERY_SECONDS: '3600', MAMORI_CLUSTER_WORKER_FINAL_AFTER_IDLE_SECONDS: '3',
        // Deliveries are acknowledged after that store: not sent again meanwhile.
        MAMORI_CLUSTER_WORKER_ACK_WAIT_SECONDS: '120',
      };
      const profile = PROFILE !== undefined ? ['--cpu-prof', '--cpu-prof-dir', PROFILE, '--cpu-prof-name', `${name.replace(/ /g, '-')}.cpuprofile`] : [];
      if (PERF !== undefined) profile.push('--perf-basic-prof');
      // BENCH_CLUSTER_NODE_ARGS_<ROLE> (EDGE, ARCHIVER, WORKER_1…): V8 flags for one role (trying GC settings).
      profile.push(...(env[`BENCH_CLUSTER_NODE_ARGS_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').split(' ').filter((x) => x !== ''));
      // BENCH_CLUSTER_TRACE_GC=dir: each role's collections (--trace-gc) in <dir>/<role>.gc.log.
      const gcLog = env['BENCH_CLUSTER_TRACE_GC'] !== undefined ? join(env['BENCH_CLUSTER_TRACE_GC'], `${name.replace(/ /g, '-')}.gc.log`) : undefined;
      if (gcLog !== undefined) profile.push('--trace-gc');
      const proc = spawn(process.execPath, [...profile, '--conditions=source', '--import', 'tsx', '-e', ENTRY, ...args, '--metrics', `127.0.0.1:${port}`], { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
      const role: Role = { name, proc, metrics: `http://127.0.0.1:${port}`, log: [] };
      const keep = (d: Buffer): void => { role.log.push(d.toString()); if (role.log.length > 50) role.log.shift(); };
      proc.stdout!.on('data', keep);
      if (gcLog !== undefined) proc.stdout!.on('data', (d: Buffer) => appendFileSync(gcLog, d));
      proc.stderr!.on('data', keep);
      roles.push(role);
      return role;
    };
    const workers: Role[] = [];
    for (let i = 0; i < WORKERS; i++) workers.push(await start(`worker ${i + 1}`, ['analyze', '--worker-id', `w${i + 1}`]));
    const archiver = await start('archiver', ['archiver']);
    const udp = await freePort();
    const edge = await start('edge', ['collect', '--publish', nats.urls.join(','), '--edge-id', 'bench', '--listen', `127.0.0.1:${udp}`, '--interval', '3600']);
    await until('every role up', roles, async () => (await Promise.all(roles.map((r) => scrape(r.metrics)))).every((s) => s.length > 0), 120_000);
    await until('the edge holds the centre\'s selection state', roles, async () => metric(await scrape(edge.metrics), 'mamori_edge_state_current') === 1, 60_000);
    await until('partitions owned', roles, async () => (await Promise.all(workers.map(async (w) => metric(await scrape(w.metrics), 'mamori_worker_partitions')))).reduce((a, b) => a + b, 0) === 2 * PARTITIONS, 60_000);
    const pgPids = async (): Promise<number[]> => {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        return (await c.query<{ pid: number }>('select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()')).rows.map((r) => r.pid);
      } finally {
        await c.end();
      }
    };
    let findingUpdates = 0;
    const pids = new Map<string, number>([...roles.map((r) => [r.name, r.proc.pid!] as const), ['nats-server', nats.pid(0)!]]);
    const written = async (): Promise<number> => (await Promise.all(workers.map(async (w) => metric(await scrape(w.metrics), 'mamori_worker_findings_written_total')))).reduce((a, b) => a + b, 0);
    const finals = async (): Promise<Map<string, number>> => {
      const out = new Map<string, number>();
      for (const w of workers) {
        const s = await scrape(w.metrics);
        for (const f of ['d', 's']) if (metric(s, 'mamori_worker_flows_total', { source: 'live', family: f }) > 0) out.set(`${w.name} ${f}`, metric(s, 'mamori_worker_final_flushes_total', { family: f }));
      }
      return out;
    };
    // Final flushes so far (none before the stream): each family with flows closes its windows once after the stream.
    const f0 = await finals();
    const t0 = Date.now();
    const before = new Map([...pids].map(([n, p]) => [n, cpuSeconds(p)]));
    // The main thread apart (the rest: V8's compiler and GC helpers, worker threads such as the archive writer's).
    const mainBefore = new Map([...pids].map(([n, p]) => [n, cpuSeconds(p, p)]));
    const pgBefore = new Map((await pgPids()).map((p) => [p, cpuSeconds(p)]));
    const threadsBefore = new Map([...pids].map(([n, p]) => [n, threadSeconds(p)]));
    const perf = PERF === undefined ? [] : [...pids].filter(([n]) => n !== 'nats-server').map(([n, p]) =>
      spawn('perf', ['record', '-q', '-F', '499', '-p', String(p), '-o', join(PERF, `${n.replace(/ /g, '-')}.perf.data`)], { stdio: 'ignore' }));

    const g = await generator(udp, RATE, RATE * SECONDS, baseMs);
    const edgeFigures = async (): Promise<{ received: number; kept: number; published: number; dropped: number }> => {
      const s = await scrape(edge.metrics);
      const v = (o: string): number => metric(s, 'mamori_edge_flows_total', { outcome: o });
      return { received: v('received'), kept: v('kept'), published: v('published'), dropped: v('dropped_outbox_full') };
    };
    // Done: the edge received what it will receive, published every kept flow; the workers analysed each;
    // the archiver took every one; then one findings flush (the deliveries are acknowledged after it).
    // Unchanged for longer than the collector's flush interval (1 s: a partly filled batch waits that long).
    let last = -1, since = Date.now();
    await until('the edge took the stream', roles, async () => {
      const r = (await edgeFigures()).received;
      if (r !== last) { last = r; since = Date.now(); }
      return r > 0 && Date.now() - since > 1500;
    }, 60_000);
    await until('every kept flow published', roles, async () => { const f = await edgeFigures(); return f.published + f.dropped === f.kept; }, 120_000);
    const kept = (await edgeFigures()).kept;
    // Every kept flow is in one d partition; the s family (published with it) carries only what the scan detector reads.
    await until('the workers analysed every kept flow', roles, async () => (await Promise.all(workers.map(async (w) => metric(await scrape(w.metrics), 'mamori_worker_flows_total', { source: 'live', family: 'd' })))).reduce((a, b) => a + b, 0) >= kept - (await edgeFigures()).dropped, 300_000);
    await until('the archiver took every kept flow', roles, async () => metric(await scrape(archiver.metrics), 'mamori_archiver_flows_total') >= kept - (await edgeFigures()).dropped, 300_000);
    // … and stored them in the bucket (its rounds: every cluster.archive.storeEverySeconds), as the single process's figure
    // ends with its archive written: the last round's Parquet write and store fell after the window otherwise.
    await until('the archiver stored every kept flow', roles, async () => metric(await scrape(archiver.metrics), 'mamori_archiver_stored_flows_total') >= kept - (await edgeFigures()).dropped, 300_000);
    // The final findings flush of every family that had flows (3 s after its last message): the single process's figure ends with it too.
    // After its last flow: a family idle for 3 s mid-stream (a stall on this loaded machine) closed its windows then and opened them again.
    const windowsOpen = async (): Promise<number> => (await Promise.all(workers.map(async (w) => metric(await scrape(w.metrics), 'mamori_worker_windows_open')))).reduce((a, b) => a + b, 0);
    await until('the final findings flush', roles, async () => [...(await finals())].every(([k, n]) => n > (f0.get(k) ?? 0)) && (await windowsOpen()) === 0, 60_000);
    const closings = [...(await finals())].filter(([k, n]) => n - (f0.get(k) ?? 0) > 1).map(([k, n]) => `${k} ${n - (f0.get(k) ?? 0)} times`);
    if (closings.length > 0) process.stdout.write(`worker: windows closed more than once (idle 3 s mid-stream: findings stored then too): ${closings.join(', ')}\n`);
    findingUpdates = await written();
    const cpu = Object.fromEntries([...pids].map(([n, p]) => [n, cpuSeconds(p) - before.get(n)!]));
    const mainCpu = Object.fromEntries([...pids].map(([n, p]) => [n, cpuSeconds(p, p) - mainBefore.get(n)!]));
    const windowSeconds = (Date.now() - t0) / 1000;
    // Each role's peak resident set once it stored everything (the archiver holds a round's messages until the round is stored).
    const peakRss = Object.fromEntries([...pids].map(([n, p]) => [n, peakRssMiB(p)]));
    for (const p of perf) p.kill('SIGINT');
    // Threads (by id) that took ≥ 1 % of a role's CPU: the main thread is the one whose id is the process's.
    const threads = Object.fromEntries([...pids].map(([n, p]) => {
      const b = threadsBefore.get(n)!;
      const d = [...threadSeconds(p)].map(([t, s]) => [t, s - (b.get(t) ?? 0)] as const).filter(([, s]) => s >= cpu[n]! / 100).sort((x, y) => y[1] - x[1]);
      return [n, d.map(([t, s]) => `${t === p ? 'main' : `${t - p}(${threadName(p, t)})`}:${s.toFixed(2)}`).join(' ')];
    }));
    let pgCpu = 0;
    for (const p of await pgPids()) pgCpu += cpuSeconds(p) - (pgBefore.get(p) ?? 0);
    const f = await edgeFigures();
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const findings = (await c.query<{ kind: string; subject_value: string; level: string }>('select kind, subject_value, level from findings')).rows.map((r) => `${r.kind} ${r.subject_value} ${r.level}`);
    // The edge's selection counters (kept and dropped by reason) reach the audit log when it stops.
    await stop(edge);
    const counters = (await c.query<{ entry: string }>("select entry from audit_entries where entry like '%selection:counters%'")).rows.map((r) => JSON.stringify((JSON.parse(r.entry) as { details?: unknown }).details));
    if (f.received !== kept) process.stdout.write(`edge selection counters: ${counters.join('; ')}\n`);
    await c.end();
    return { kept, cpu, mainCpu, threads, windowSeconds, pgCpu, lost: g.sentFlows - f.received + f.dropped, findings, sent: g.sentFlows, findingUpdates, peakRss };
  } finally {
    await Promise.all(roles.map(stop));
    for (const j of centreJobs.reverse()) await j.stop().catch(() => undefined);
    await centre?.close();
    await nats.stop();
    await db.drop().catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** One single-process run, then one cluster run on the same stream; returns the ratio of their CPU per kept flow. */
async function pair(): Promise<number> {
  const load0 = loadavg()[0]!;
  const baseMs = Math.floor(Date.now() / 60_000) * 60_000;
  // BENCH_CLUSTER_ONLY: the cluster alone (comparing changes to one role); the ratio then is against nothing measured.
  const single = env['BENCH_CLUSTER_ONLY'] !== undefined ? { kept: 1, cpuSeconds: Number.NaN, lost: 0, findings: [] as string[], sent: 0, roles: '' } : await singleProcess(baseMs);
  const perSingle = (single.cpuSeconds * 1e6) / single.kept;
  process.stdout.write(`single process: ${single.kept.toLocaleString('en')} kept of ${single.sent.toLocaleString('en')} sent, lost ${single.lost}; ${single.cpuSeconds.toFixed(2)} s CPU → ${perSingle.toFixed(2)} µs per kept flow (${single.roles})\n`);
  const c = await cluster(baseMs);
  const total = Object.values(c.cpu).reduce((a, b) => a + b, 0);
  const perCluster = (total * 1e6) / c.kept;
  process.stdout.write(`cluster: ${c.kept.toLocaleString('en')} kept of ${c.sent.toLocaleString('en')} sent, lost ${c.lost}; CPU ${Object.entries(c.cpu).map(([n, s]) => `${n} ${s.toFixed(2)} s (${((s * 1e6) / c.kept).toFixed(2)} µs/flow; main thread ${((c.mainCpu[n]! * 1e6) / c.kept).toFixed(2)})`).join(', ')} → ${perCluster.toFixed(2)} µs per kept flow over ${c.windowSeconds.toFixed(1)} s from the generator's start to the last findings flush (PostgreSQL backends apart: ${c.pgCpu.toFixed(2)} s); ${c.findingUpdates} finding updates stored\n`);
  process.stdout.write(`peak RSS (VmHWM, MiB): ${Object.entries(c.peakRss).map(([n, m]) => `${n} ${m.toFixed(0)}`).join(', ')}\n`);
  if (env['BENCH_CLUSTER_THREADS'] !== undefined) process.stdout.write(`threads (id − pid: CPU s): ${Object.entries(c.threads).map(([n, t]) => `${n}: ${t}`).join('; ')}\n`);
  const same = JSON.stringify(kindsOf(single.findings)) === JSON.stringify(kindsOf(c.findings));
  process.stdout.write(`findings (kind and level; pseudonyms differ by key): ${same ? 'equal' : `DIFFER (${single.findings.length} single, ${c.findings.length} cluster)`}\n`);
  if (!same) {
    // Which kinds and levels differ, and by how many: the first thing to know when they do.
    const tally = (fs: readonly string[]): Map<string, number> => fs.reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map<string, number>());
    const a = tally(kindsOf(single.findings)), b = tally(kindsOf(c.findings));
    const keys = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).sort();
    process.stdout.write(`  differ: ${keys.map((k) => `${k} single ${a.get(k) ?? 0} cluster ${b.get(k) ?? 0}`).join('; ')}\n`);
  }
  // PostgreSQL's backends: findings and audit entries, and per-second polls (bases at the edge, leases) that do not grow with flows.
  const withPg = ((total + c.pgCpu) * 1e6) / c.kept / perSingle;
  process.stdout.write(`ratio cluster ÷ single process, CPU per kept flow: ${(perCluster / perSingle).toFixed(2)} (target ≤ 1.5; ${withPg.toFixed(2)} with PostgreSQL's backends); dropped: single ${single.lost}, cluster ${c.lost}; load average ${load0.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end\n`);
  return perCluster / perSingle;
}

async function main(): Promise<void> {
  process.stdout.write(`machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  process.stdout.write(`stream: bench/ingest's (NetFlow v5, every flow kept under one cross-border basis) at ${RATE.toLocaleString('en')} flows/s for ${SECONDS} s; ${WORKERS} worker(s), ${PARTITIONS} partitions per family, nats-server R1\n`);
  // Pairs one after another (single, cluster, single, cluster, …): either side's figure moves by 10–40 % between runs on
  // this machine, so one pair says little; the median of several does.
  const ratios: number[] = [];
  for (let i = 0; i < PAIRS; i++) {
    if (PAIRS > 1) process.stdout.write(`--- pair ${i + 1} of ${PAIRS}\n`);
    ratios.push(await pair());
  }
  if (PAIRS > 1) {
    const sorted = [...ratios].sort((a, b) => a - b);
    const median = sorted.length % 2 === 1 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
    process.stdout.write(`ratios of ${PAIRS} pairs: ${ratios.map((r) => r.toFixed(2)).join(', ')}; median ${median.toFixed(2)} (target ≤ 1.5)\n`);
  }
}

await main();
