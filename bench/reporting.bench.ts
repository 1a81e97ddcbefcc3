// bench/reporting: incident reports accepted per second over HTTP (a real listening server on 127.0.0.1, SQLite file,
// WAL, synchronous=FULL), with their audit entries, beside the same requests with auditing swapped for a no-op, in one
// run. The client runs in a worker thread (its own core) with 50 concurrent keep-alive requests through fetch (undici).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { systemClock } from '#platform/clock/index.js';
import { parseConfig } from '#platform/config/index.js';
import { systemContext } from '#platform/context/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import { createReportingService, ephemeralReceiptSigner, loadForms } from '#modules/reporting/index.js';
import { packagePath } from '#platform/paths/index.js';
import { createCore } from '#server/core.js';
import { buildApp } from '#server/app.js';

const TARGET_RPS = 1000;
const TARGET_P99_MS = 100;
const N = Number(process.env['BENCH_REPORTING_N'] ?? 5000);
const CONCURRENCY = Number(process.env['BENCH_REPORTING_CONCURRENCY'] ?? 50);

interface ClientJob { url: string; cookie: string; n: number; concurrency: number }
interface ClientResult { latencies: number[]; errors: number; firstError: string | null; seconds: number }

// The client: plain JavaScript evaluated in a worker thread, so it needs no TypeScript loader and has its own core.
const CLIENT = `
const { parentPort, workerData: job } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
function body(i) {
  return JSON.stringify({
    awareAt: new Date(Date.now() - 3600000).toISOString(),
    items: {
      category: 'malware', operatorOverview: 'Bench Electric, transmission operator', summary: 'Beaconing from workstation ' + i + ' to 203.0.113.' + (i % 250) + ' every 60 s',
      affectedComputer: { description: 'EWS-' + (i % 100) }, technicalDetails: 'Dropper sha256 ' + i.toString(16).padStart(8, '0').repeat(8) + ' contacted c2-' + (i % 50) + '.bad.example', response: 'Isolated', other: '',
    },
  });
}
(async () => {
  const latencies = [];
  let errors = 0, firstError = null, next = 0;
  const t0 = performance.now();
  const one = async () => {
    for (;;) {
      const i = next++;
      if (i >= job.n) return;
      const s = performance.now();
      const res = await fetch(job.url + '/api/v1/incidents', { method: 'POST', headers: { 'content-type': 'application/json', cookie: job.cookie }, body: body(i) });
      const text = await res.text();
      latencies.push(performance.now() - s);
      if (res.status !== 201) { errors++; if (firstError === null) firstError = res.status + ' ' + text.slice(0, 200); }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, one));
  parentPort.postMessage({ latencies, errors, firstError, seconds: (performance.now() - t0) / 1000 });
})().catch((e) => parentPort.postMessage({ latencies: [], errors: 1, firstError: String(e), seconds: 0 }));
`;

function client(job: ClientJob): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(CLIENT, { eval: true, workerData: job, execArgv: [] });
    w.once('message', (m: ClientResult) => { resolve(m); void w.terminate(); });
    w.once('error', reject);
  });
}

/** CPU seconds used so far by this process's main thread (the server), from /proc on Linux; NaN elsewhere. */
function mainThreadCpuSeconds(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mamori-bench-reporting-'));
  const config = parseConfig({ dataDir: dir, selection: { kekBesideData: true }, database: { url: `sqlite:${join(dir, 'mamori.db')}` }, log: { level: 'silent' }, auth: { cookieSecure: false } });
  const core = await createCore(config, { passwordCost: { logN: 10, r: 8, p: 1 } });
  const sys = systemContext('bench');
  try {
    const org = await core.identity.createOrg(sys, { name: 'Bench Electric Co.', kind: 'operator', sectors: ['electricity'] });
    await core.registry.designate(sys, { orgId: org.id, sector: 'electricity', designatedOn: '2026-01-01', contacts: [{ name: 'SOC', email: 'soc@bench.example' }] });
    const user = await core.identity.createUser(sys, { username: 'bench-operator', displayName: 'Bench', password: 'bench operator password', roles: ['operator'], orgId: org.id });
    void user;

    // The seam: the same service with a recorder that writes nothing (only here, never in the product).
    const noAudit: AuditRecorder = { record: async () => ({ index: -1, leafHash: '' }) };
    const signer = ephemeralReceiptSigner();
    const quiet = createReportingService({ db: core.db, policy: core.policy, audit: noAudit, clock: systemClock, registry: core.registry, forms: loadForms(packagePath('forms')), signer: () => signer, settings: config.reporting });
    const audited = await buildApp(core);
    const unaudited = await buildApp({ ...core, reporting: quiet });
    await audited.fastify.listen({ host: '127.0.0.1', port: 0 });
    await unaudited.fastify.listen({ host: '127.0.0.1', port: 0 });
    const urlOf = (a: typeof audited) => { const ad = a.fastify.server.address() as { port: number }; return `http://127.0.0.1:${ad.port}`; };
    // A web session, as the dashboard uses: a bearer token would add identity's last-used write (one more commit) to every request.
    const login = await fetch(`${urlOf(audited)}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench-operator', password: 'bench operator password' }) });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    if (login.status !== 200 || cookie === '') throw new Error(`bench login failed: ${login.status}`);

    const rows: { name: string; rps: number; p50: number; p99: number; errors: number; auditDelta: number; cpuMs: number }[] = [];
    for (const [name, app] of [['warm-up', audited], ['audited', audited], ['audit off', unaudited], ['audited (again)', audited], ['audit off (again)', unaudited]] as const) {
      const n = name === 'warm-up' ? Math.min(1000, N) : N;
      const before = (await core.audit.head()).size;
      const cpu0 = mainThreadCpuSeconds();
      const r = await client({ url: urlOf(app), cookie, n, concurrency: CONCURRENCY });
      const cpuMs = ((mainThreadCpuSeconds() - cpu0) * 1000) / n;
      const after = (await core.audit.head()).size;
      if (r.firstError !== null) process.stdout.write(`  ${name}: first error ${r.firstError}\n`);
      const sorted = [...r.latencies].sort((a, b) => a - b);
      if (name !== 'warm-up') rows.push({ name, rps: n / r.seconds, p50: pct(sorted, 50), p99: pct(sorted, 99), errors: r.errors, auditDelta: after - before, cpuMs });
    }
    process.stdout.write(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}; ${N} reports per pass, ${CONCURRENCY} concurrent keep-alive requests\n`);
    process.stdout.write(`${'pass'.padEnd(20)} ${'reports/s'.padStart(10)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(7)} ${'audit +'.padStart(8)} ${'server CPU ms/report'.padStart(21)}\n`);
    for (const r of rows) process.stdout.write(`${r.name.padEnd(20)} ${r.rps.toFixed(0).padStart(10)} ${r.p50.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)} ${String(r.errors).padStart(7)} ${String(r.auditDelta).padStart(8)} ${r.cpuMs.toFixed(3).padStart(21)}\n`);
    const a = rows.filter((r) => r.name.startsWith('audited'));
    const bestA = a.reduce((x, y) => (y.rps > x.rps ? y : x));
    const ok = bestA.rps >= TARGET_RPS && bestA.p99 < TARGET_P99_MS && rows.every((r) => r.errors === 0) && a.every((r) => r.auditDelta === N);
    process.stdout.write(`target: audited ≥ ${TARGET_RPS} reports/s with p99 < ${TARGET_P99_MS} ms, each with its audit entry: ${ok ? 'met' : 'NOT met'}\n`);
    await audited.fastify.close();
    await unaudited.fastify.close();
    process.exitCode = ok ? 0 : 1;
  } finally {
    await core.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
