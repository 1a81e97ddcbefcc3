/**
 * @module The load suite (issue 22): a server in its own process over ≥ 100,000 incident reports — lists page,
 * the export streams while /healthz answers within 100 ms, 200 keep-alive readers for 30 s get no 5xx and a
 * p99 under 500 ms (printed beside p50), and SIGTERM stops the server in the middle of an export.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '#platform/clock/index.js';
import { parseConfig } from '#platform/config/index.js';
import { systemContext } from '#platform/context/index.js';
import { seedReportRows } from '#modules/reporting/test-support/bulk.js';
import { seedDemo } from '../../src/demo/seed.js';
import { createCore } from '#server/core.js';
import { get, keepAliveAgent, percentile, type Sample } from './http.js';

// The issue's figures; the environment may lower them for a quick local run, never CI (CI sets none).
const REPORTS = Number(process.env['LOAD_REPORTS'] ?? 100_000);
const READERS = Number(process.env['LOAD_READERS'] ?? 200);
const SECONDS = Number(process.env['LOAD_SECONDS'] ?? 30);
const HEALTH_BUDGET_MS = 100;
const P99_BUDGET_MS = 500;

const dataDir = mkdtempSync(join(tmpdir(), 'mamori-load-'));
const logFile = join(dataDir, 'server.log');
const env = {
  ...process.env,
  MAMORI_DATA_DIR: dataDir,
  MAMORI_DATABASE_URL: `sqlite:${join(dataDir, 'mamori.db')}`,
  MAMORI_COLLECTOR_ENABLED: 'false',
  MAMORI_LOG_LEVEL: 'info',
};
let base = '';
let server: ChildProcess | undefined;
let exited: Promise<number | null> = Promise.resolve(null);
const tokens: Record<string, string> = {};
let taxiiObjects = '';
/**
 * Starts `mamori serve` on a free loopback port; resolves with its address once it listens. The server logs to a
 * file, as under journald or a container runtime: through a pipe to this process, its two log lines per request
 * queued in pino's buffer whenever the test (busy with 200 readers) read them slower than they came, and
 * `process.exit` then flushed that backlog synchronously — 10–15 s after the 200-reader run, after a stop that
 * itself took 60 ms. That was the slow SIGTERM, the test's and not the server's.
 */
function startServer(): Promise<string> {
  const prof = process.env['LOAD_CPU_PROF'] !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${process.env['LOAD_CPU_PROF']}`] : [];
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...prof, '--conditions=source', '--import', 'tsx', 'test/load/server-main.ts', 'serve', '--host', '127.0.0.1', '--port', '0'], { env, stdio: ['ignore', log, log] });
  closeSync(log);
  server = child;
  exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 120_000;
    const poll = setInterval(() => {
      const out = readFileSync(logFile, 'utf8');
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m !== null) resolve(m[1]!);
      else if (Date.now() > deadline) reject(new Error(`server did not listen in 120 s:\n${out.slice(-10_000)}`));
      else return;
      clearInterval(poll);
    }, 100);
    void exited.then((code) => { clearInterval(poll); reject(new Error(`server exited (${code}) before listening:\n${readFileSync(logFile, 'utf8').slice(-10_000)}`)); });
  });
}

/** The server's log lines about stopping, with their times (to show where a stop's time went). */
function stopLines(): string {
  return readFileSync(logFile, 'utf8').split('\n').filter((l) => /shutting down|"msg":"stop|graceful/.test(l)).join('\n');
}

function summary(samples: readonly Sample[]): string {
  const ms = samples.map((s) => s.ms);
  return `n=${samples.length} p50=${percentile(ms, 50).toFixed(1)}ms p99=${percentile(ms, 99).toFixed(1)}ms max=${Math.max(...ms).toFixed(1)}ms`;
}

describe(`load: ${REPORTS.toLocaleString('en')} reports, ${READERS} readers for ${SECONDS} s`, () => {
  beforeAll(async () => {
    const t0 = performance.now();
    const core = await createCore(parseConfig({ dataDir, selection: { kekBesideData: true }, database: { url: env.MAMORI_DATABASE_URL }, collector: { enabled: false } }), { clock: systemClock });
    try {
      const sys = systemContext('load-seed');
      const demo = await seedDemo(core);
      taxiiObjects = `/taxii2/mamori/collections/${demo.sharing!.collectionId}/objects/?limit=50`;
      for (const username of ['operator', 'ministry', 'analyst']) tokens[username] = (await core.identity.createToken(sys, { name: 'load', expiresInDays: 1 }, username)).token;
      const org = await core.identity.findOrgByName(sys, 'Kanto Electric Power Co.');
      await seedReportRows(core.db.kysely, { orgId: org!.id, sector: 'electricity', count: REPORTS, startMs: Date.parse('2025-01-01T00:00:00Z'), stepMs: 300_000, batch: 500 });
      await core.checkpointer.checkpointNow();
    } finally {
      await core.close();
    }
    console.log(`[load] seeded ${REPORTS} reports in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    base = await startServer();
  }, 600_000);

  afterAll(async () => {
    if (server !== undefined && server.exitCode === null) {
      server.kill('SIGKILL');
      await exited;
    }
    if (process.env['LOAD_KEEP_DATA'] === undefined) rmSync(dataDir, { recursive: true, force: true });
    else console.log(`[load] data kept in ${dataDir}`);
  });

  const auth = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });

  it('pages the operator\'s 100,000 reports 500 at a time: every report once, no error', async () => {
    const agent = keepAliveAgent(1);
    const seen = new Set<string>();
    const pages: Sample[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `${base}/api/v1/incidents?limit=500${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const t0 = performance.now();
      const body: { items: { id: string }[]; nextCursor: string | null } = await new Promise((resolve, reject) => {
        request(url, { agent, headers: auth('operator') }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => { text += c; });
          res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text) as never) : reject(new Error(`${res.statusCode} ${text}`))));
        }).on('error', reject).end();
      });
      pages.push({ status: 200, ms: performance.now() - t0, bytes: 0, at: t0 });
      for (const i of body.items) seen.add(i.id);
      cursor = body.nextCursor;
    } while (cursor !== null);
    agent.destroy();
    console.log(`[load] list pages of 500: ${summary(pages)}`);
    expect(seen.size).toBe(REPORTS + 1); // and the demo's own report
    expect(pages.length).toBe(Math.ceil((REPORTS + 1) / 500));
  }, 300_000);

  it(`streams the export of every report while /healthz answers within ${HEALTH_BUDGET_MS} ms`, async () => {
    const probe = keepAliveAgent(1);
    const health: Sample[] = [];
    let done = false;
    const probing = (async () => {
      while (!done) {
        health.push(await get(probe, `${base}/healthz`));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const t0 = performance.now();
    const exported = await new Promise<{ status: number; reports: number; head: string; tail: string; bytes: number }>((resolve, reject) => {
      request(`${base}/api/v1/incidents/export?format=json`, { headers: auth('operator') }, (res) => {
        let reports = 0;
        let carry = '';
        let head = '';
        let bytes = 0;
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          bytes += c.length;
          if (head.length < 64) head += c.slice(0, 64);
          // One report per line, each opening with its id (nested objects never start a line).
          const text = carry + c;
          reports += text.split('\n{"id":"').length - 1;
          carry = text.slice(-7);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, reports, head, tail: carry, bytes }));
        res.on('error', reject);
      }).on('error', reject).end();
    });
    done = true;
    await probing;
    probe.destroy();
    const seconds = (performance.now() - t0) / 1000;
    console.log(`[load] export: ${exported.reports} reports, ${(exported.bytes / 1e6).toFixed(0)} MB in ${seconds.toFixed(1)} s; /healthz during it: ${summary(health)}`);
    expect(exported.status).toBe(200);
    expect(exported.head.startsWith('{"generatedAt":"')).toBe(true);
    expect(exported.tail.endsWith('\n]}\n')).toBe(true);
    expect(exported.reports).toBe(REPORTS + 1);
    expect(health.length).toBeGreaterThan(5);
    expect(health.every((h) => h.status === 200)).toBe(true);
    expect(Math.max(...health.map((h) => h.ms))).toBeLessThan(HEALTH_BUDGET_MS);
  }, 600_000);

  it(`serves ${READERS} keep-alive readers for ${SECONDS} s with no 5xx and a p99 under ${P99_BUDGET_MS} ms`, async () => {
    const agent = keepAliveAgent(READERS);
    const basic = `Basic ${Buffer.from('council:demo-council-pass').toString('base64')}`;
    const routes = [
      { name: 'findings', url: `${base}/api/v1/findings?limit=50`, headers: auth('analyst') },
      { name: 'ministry inbox', url: `${base}/api/v1/inbox?limit=50`, headers: auth('ministry') },
      { name: 'TAXII objects page', url: `${base}${taxiiObjects}`, headers: { authorization: basic, accept: 'application/taxii+json;version=2.1' } },
      { name: 'public checkpoint', url: `${base}/api/v1/audit/checkpoint`, headers: {} },
    ];
    // Every route answers before the clock starts (and the TAXII Basic login is cached).
    for (const r of routes) expect((await get(agent, r.url, r.headers)).status, r.name).toBe(200);
    // Each reader opens its connection with one request before the clock starts: the figures are of the 30 s of
    // steady reading the issue asks for; the opening burst is printed apart, not hidden.
    const opening = await Promise.all(Array.from({ length: READERS }, (_, i) => get(agent, routes[i % routes.length]!.url, routes[i % routes.length]!.headers)));
    console.log(`[load] opening burst of ${READERS} connections: ${summary(opening)}`);
    expect(opening.every((s) => s.status === 200)).toBe(true);
    const samples = routes.map(() => [] as Sample[]);
    const until = performance.now() + SECONDS * 1000;
    await Promise.all(Array.from({ length: READERS }, async (_, i) => {
      const r = i % routes.length;
      while (performance.now() < until) samples[r]!.push(await get(agent, routes[r]!.url, routes[r]!.headers));
    }));
    agent.destroy();
    const all = samples.flat();
    if (process.env['LOAD_DEBUG'] !== undefined) {
      const slow = all.filter((x) => x.ms > 1000).map((x) => `${((x.at - (until - SECONDS * 1000)) / 1000).toFixed(1)}s:${x.ms.toFixed(0)}`);
      console.log(`[load] slow (start offset:ms) ${slow.slice(0, 60).join(' ')}`);
    }
    const lines = routes.map((r, i) => `  ${r.name.padEnd(20)} ${summary(samples[i]!)}`);
    console.log(`[load] ${READERS} readers, ${SECONDS} s: ${summary(all)}, ${(all.length / SECONDS).toFixed(0)} req/s\n${lines.join('\n')}`);
    const failed = all.filter((s) => s.status >= 500 || s.status === 0);
    expect(failed.length).toBe(0);
    expect(all.every((s) => s.status === 200)).toBe(true);
    expect(percentile(all.map((s) => s.ms), 99)).toBeLessThan(P99_BUDGET_MS);
  }, 300_000);

  it('stops on SIGTERM in the middle of an export, cutting the response short', async () => {
    const t0 = performance.now();
    let sigtermAt = 0;
    const cut = await new Promise<{ complete: boolean; bytes: number }>((resolve) => {
      const req = request(`${base}/api/v1/incidents/export?format=csv`, { headers: auth('operator') }, (res) => {
        let bytes = 0;
        let tail = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          bytes += c.length;
          tail = (tail + c).slice(-200);
          if (sigtermAt === 0 && bytes > 100_000) {
            sigtermAt = performance.now();
            server!.kill('SIGTERM');
          }
        });
        res.on('end', () => resolve({ complete: res.complete, bytes }));
        res.on('error', () => resolve({ complete: false, bytes }));
        res.on('aborted', () => resolve({ complete: false, bytes }));
      });
      req.on('error', () => resolve({ complete: false, bytes: 0 }));
      req.end();
    });
    const code = await exited;
    const stopMs = performance.now() - sigtermAt;
    console.log(`[load] SIGTERM sent at ${new Date(performance.timeOrigin + sigtermAt).toISOString()}, exit seen at ${new Date().toISOString()}\n${stopLines()}`);
    console.log(`[load] SIGTERM ${(sigtermAt - t0).toFixed(0)} ms into an export: exit ${code} after ${stopMs.toFixed(0)} ms, ${cut.bytes} bytes sent, complete=${cut.complete}`);
    expect(sigtermAt).toBeGreaterThan(0);
    expect(code).toBe(0);
    expect(cut.complete).toBe(false);
    // Well inside server.shutdownGraceMs (10 s): the export stops at its next chunk.
    expect(stopMs).toBeLessThan(5_000);
  }, 120_000);
});
