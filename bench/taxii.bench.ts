// bench/taxii: a collection of 100,000 indicators served over TAXII 2.1 (pages of 1,000, 50 concurrent clients in a
// second process), beside the same server answering a precomputed static page of the same size in the same run.
// Every TAXII page is the recipient's marked copy, filtered by TLP, written to the dissemination ledger and audited.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { isoUtc, systemClock } from '#platform/clock/index.js';
import { parseConfig } from '#platform/config/index.js';
import { systemContext, type RequestContext } from '#platform/context/index.js';
import { createStixObject, NCO_IDENTITY_ID, TLP, TAXII_MEDIA_TYPE, contentHash } from '#modules/sharing/index.js';
import { createCore } from '#server/core.js';
import { buildApp } from '#server/app.js';

const N = Number(process.env['BENCH_TAXII_OBJECTS'] ?? 100_000);
const PAGE = 1000;
const CLIENTS = Number(process.env['BENCH_TAXII_CLIENTS'] ?? 50);
const SECONDS = Number(process.env['BENCH_TAXII_SECONDS'] ?? 15);
const TARGET_P99_MS = 100;
const TARGET_RATIO = 0.5;

// --- the load generator (second process) --------------------------------------------------------
async function load(base: string, path: string, token: string, seconds: number, clients: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const lat: number[] = [];
  let bytes = 0;
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  // The client keeps only the head of each body (where the paging facts are) and counts the rest, so its
  // CPU — on the same two cores — goes to reading the bytes, not to copying and decoding 619 KiB per page.
  const one = (url: string) => new Promise<{ status: number; head: string; length: number }>((resolve, reject) => {
    const req = request(url, { agent, headers: { accept: TAXII_MEDIA_TYPE, authorization: `Bearer ${token}` } }, (res) => {
      let head = '';
      let length = 0;
      res.on('data', (c: Buffer) => {
        if (head.length < 300) head += c.subarray(0, 300).toString('latin1');
        length += c.length;
      });
      res.on('end', () => {
        const expected = Number(res.headers['content-length'] ?? length);
        resolve({ status: length === expected ? res.statusCode ?? 0 : -1, head, length });
      });
    });
    req.on('error', reject);
    req.end();
  });
  const client = async () => {
    // Each client walks the collection page by page, then starts over.
    let next: string | undefined;
    while (performance.now() < end) {
      const url = `${base}${path}${path.includes('?') ? '&' : '?'}limit=${PAGE}${next !== undefined ? `&next=${encodeURIComponent(next)}` : ''}`;
      const t0 = performance.now();
      try {
        const r = await one(url);
        const dt = performance.now() - t0;
        if (r.status !== 200) { errors++; continue; }
        bytes += r.length;
        lat.push(dt);
        // The paging facts lead the envelope.
        const head = /^\{"more":(true|false)(?:,"next":"([^"]+)")?/.exec(r.head);
        next = head?.[1] === 'true' ? head[2] : undefined;
      } catch { errors++; }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, () => client()));
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0;
  process.stdout.write(JSON.stringify({ requests: lat.length, errors, rps: lat.length / secs, p50: q(0.5), p99: q(0.99), max: lat.at(-1) ?? 0, mbps: bytes / secs / 1e6 }));
  agent.destroy();
}

function runLoad(base: string, path: string, token: string, seconds: number): Promise<{ requests: number; errors: number; rps: number; p50: number; p99: number; max: number; mbps: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', fileURLToPath(import.meta.url), '--load', base, path, token, String(seconds), String(CLIENTS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as never) : reject(new Error(`load generator exited ${code}`))));
  });
}

// --- the server side --------------------------------------------------------------------------
async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mamori-bench-taxii-'));
  const config = parseConfig({ dataDir: dir, selection: { kekBesideData: true }, database: { url: `sqlite:${join(dir, 'mamori.db')}` }, log: { level: 'warn' }, auth: { cookieSecure: false } });
  const core = await createCore(config, { clock: systemClock, passwordCost: { logN: 10, r: 8, p: 1 } });
  try {
    const sys = systemContext('bench');
    const nco = await core.identity.createOrg(sys, { name: 'NCO', kind: 'nco' });
    const bank = await core.identity.createOrg(sys, { name: 'Bench Bank', kind: 'council_member', sectors: ['finance'] });
    const director = await core.identity.createUser(sys, { username: 'director', displayName: 'd', password: 'bench password director', roles: ['nco_director'], orgId: nco.id });
    const member = await core.identity.createUser(sys, { username: 'member', displayName: 'm', password: 'bench password member', roles: ['council_member'], orgId: bank.id });
    const { token } = await core.identity.createToken(sys, { name: 'bench', expiresInDays: 1 }, member.id);
    const dctx: RequestContext = { actor: { kind: 'user', id: director.id, username: 'director', roles: ['nco_director'], orgId: nco.id, sectors: [] }, requestId: 'bench' };
    const group = await core.sharing.createGroup(dctx, { name: 'Bench ISAC' });
    await core.sharing.addGroupMember(dctx, group.id, { orgId: bank.id, canRead: true, canWrite: false });

    // 100,000 released indicators, written in bulk (releasing them one draft at a time would only slow the setup).
    const t0 = performance.now();
    const now = new Date();
    const k = core.db.kysely;
    for (let i = 0; i < N; i += 5000) {
      await core.db.transaction(async (trx) => {
        const objs: Record<string, unknown>[] = [];
        const entries: Record<string, unknown>[] = [];
        for (let j = i; j < Math.min(N, i + 5000); j++) {
          const r = createStixObject('indicator', { name: `ipv4 10.${(j >> 16) & 255}.${(j >> 8) & 255}.${j & 255}`, pattern: `[ipv4-addr:value = '10.${(j >> 16) & 255}.${(j >> 8) & 255}.${j & 255}']`, pattern_type: 'stix', valid_from: now.toISOString(), indicator_types: ['malicious-activity'], labels: ['c2', 'bench'], confidence: 70, created_by_ref: NCO_IDENTITY_ID, object_marking_refs: [TLP.AMBER.id] }, now);
          if (!r.ok) throw r.error;
          const o = r.value as unknown as Record<string, unknown>;
          objs.push({ stix_id: o['id'], modified: o['modified'], type: 'indicator', spec_version: '2.1', tlp: 'amber', created_by: NCO_IDENTITY_ID, origin: 'mamori', origin_org_id: nco.id, source_type: 'finding', source_id: 'bench', red_recipients: '[]', content_hash: contentHash(o), json: JSON.stringify(o), stored_at: isoUtc(Date.now()) });
          entries.push({ collection_id: group.id, seq: j + 1, stix_id: o['id'], modified: o['modified'], type: 'indicator', spec_version: '2.1', date_added: isoUtc(now.getTime() + j), is_first: 1, is_last: 1 });
        }
        for (let x = 0; x < objs.length; x += 500) await trx.insertInto('intel_objects').values(objs.slice(x, x + 500)).execute();
        for (let x = 0; x < entries.length; x += 500) await trx.insertInto('intel_collection_entries').values(entries.slice(x, x + 500)).execute();
      });
    }
    await k.updateTable('sharing_groups').set({ next_seq: N + 1, last_added: isoUtc(now.getTime() + N) }).where('id', '=', group.id).execute();
    process.stdout.write(`setup: ${N.toLocaleString('en-US')} indicators stored in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

    // The static twin: the first page as it is served, precomputed once, from the same server.
    let staticPage: Buffer = Buffer.alloc(0);
    const app = await buildApp(core, {
      logger: false,
      extraRoutes: [(f) => { f.get('/bench/static', { config: { auth: { public: true } } }, async (_req, reply) => reply.header('content-type', TAXII_MEDIA_TYPE).send(staticPage)); }],
    });
    await app.fastify.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.fastify.server.address() as { port: number };
    const base = `http://127.0.0.1:${addr.port}`;
    const objectsPath = `/taxii2/mamori/collections/${group.id}/objects/`;
    const first = await app.fastify.inject({ method: 'GET', url: `${objectsPath}?limit=${PAGE}`, headers: { accept: TAXII_MEDIA_TYPE, authorization: `Bearer ${token}` } });
    staticPage = Buffer.from(first.body);
    process.stdout.write(`page: ${PAGE} objects, ${(staticPage.length / 1024).toFixed(0)} KiB\n`);

    // Warm-up: one pass over the whole collection (fills the recipient's rendered copies), then both routes under load.
    const tw = performance.now();
    for (let next: string | undefined, more = true; more;) {
      const r = await app.fastify.inject({ method: 'GET', url: `${objectsPath}?limit=${PAGE}${next !== undefined ? `&next=${encodeURIComponent(next)}` : ''}`, headers: { accept: TAXII_MEDIA_TYPE, authorization: `Bearer ${token}` } });
      const env = JSON.parse(r.body) as { more?: boolean; next?: string };
      more = env.more === true;
      next = env.next;
    }
    process.stdout.write(`cold pass over the collection: ${((performance.now() - tw) / 1000).toFixed(1)} s (marks each object once per recipient)\n`);
    await runLoad(base, objectsPath, token, 3);
    await runLoad(base, '/bench/static', token, 2);
    // The server's own CPU time per request beside the rates: on a shared machine it moves far less than wall-clock figures.
    const measured = async (path: string) => {
      const cpu0 = process.cpuUsage();
      const r = await runLoad(base, path, token, SECONDS);
      const cpu = process.cpuUsage(cpu0);
      return { ...r, cpuMs: (cpu.user + cpu.system) / 1000 / Math.max(1, r.requests) };
    };
    const stat = await measured('/bench/static');
    const taxii = await measured(objectsPath);
    const ratio = taxii.rps / stat.rps;
    const okP99 = taxii.p99 < TARGET_P99_MS;
    const okRatio = ratio >= TARGET_RATIO;
    const fmt = (r: typeof taxii) => `${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(0)} ms, ${r.mbps.toFixed(0)} MB/s, server CPU ${r.cpuMs.toFixed(2)} ms/request, ${r.errors} errors`;
    process.stdout.write(`machine: ${cpus().length} CPU ${cpus()[0]?.model ?? '?'}, node ${process.version}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
    process.stdout.write(`static page : ${fmt(stat)}\n`);
    process.stdout.write(`TAXII page  : ${fmt(taxii)}\n`);
    process.stdout.write(`p99 < ${TARGET_P99_MS} ms: ${okP99 ? '✓' : '✗ MISSED'}; rate ratio ${ratio.toFixed(2)} ≥ ${TARGET_RATIO}: ${okRatio ? '✓' : '✗ MISSED'}\n`);
    await app.fastify.close();
    if (!okP99 || !okRatio) process.exitCode = 1;
  } finally {
    await core.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--load') {
  const [, , , base, path, token, seconds, clients] = process.argv;
  await load(base!, path!, token!, Number(seconds), Number(clients));
} else {
  await main();
}
