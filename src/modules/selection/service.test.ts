import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFlow, createFlowBatch, type FlowRecord } from '#modules/collection/index.js';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { openDuckDb } from '#platform/duckdb/index.js';
import { createTestCore, seedRoleUsers, type RoleUsers } from '#server/test-support/harness.js';
import type { Core } from '#server/core.js';
import { buildApp, type App } from '#server/app.js';
import type { BasisInput } from './schema.js';
import { openKeystore, resolveKek } from './keystore.js';
import { createSelectionService } from './service.js';
import { presentRow } from './archive/index.js';

const dataDir = mkdtempSync(join(tmpdir(), 'mamori-selection-'));
const clock = new ManualClock('2026-04-10T12:00:00.000Z');
const sys = systemContext('oversight');
let core: Core;
let users: RoleUsers;
let app: App;

// Distinctive domestic addresses (JP blocks of the bundled data, a ULA, an operator range) and foreign ones.
const DOMESTIC = ['133.71.200.17', '1.0.17.42', '2400:2000::beef:17', '10.77.66.55'];
const FOREIGN = ['8.8.4.4', '36.110.1.9', '2001:4860::4242'];

const flow = (over: Partial<FlowRecord>): FlowRecord => ({
  start: clock.nowMs() - 5_000, end: clock.nowMs() - 1_000, srcAddr: '8.8.4.4', dstAddr: '133.71.200.17', srcPort: 443, dstPort: 51515, proto: 6, tcpFlags: 0x12,
  bytes: 4200, packets: 7, samplingRate: 1, inIf: 3, outIf: 4, exporter: '203.0.113.9/1', ...over,
});

function batchOf(records: FlowRecord[]) {
  const b = createFlowBatch(records.length);
  for (const r of records) appendFlow(b, r);
  return b;
}

const approval = (over: Partial<BasisInput> = {}): BasisInput => ({
  kind: 'cross_border_approval', title: 'C2 beacons to 8.8.4.0/24', selectors: { foreignPrefixes: ['8.8.4.0/24', '2001:4860::/32'] },
  validFrom: '2026-04-01T00:00:00Z', validUntil: '2026-06-30T00:00:00Z', allowedFields: ['start', 'end', 'srcAddr', 'dstAddr', 'srcPort', 'dstPort', 'proto', 'bytes', 'packets'],
  retentionDays: 30, createdBy: 'oversight-request-17', ...over,
});

beforeAll(async () => {
  core = await createTestCore({ url: `sqlite:${join(dataDir, 'mamori.db')}`, clock, config: { dataDir } });
  users = await seedRoleUsers(core);
  app = await buildApp(core);
});
afterAll(async () => {
  await app.fastify.close();
  await core.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('legal bases', () => {
  it('enforces validity limits and who records what', async () => {
    await expect(core.selection.createBasis(sys, approval({ validUntil: '2026-07-02T00:00:00Z' }))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(core.selection.createBasis(sys, approval({ kind: 'transit_approval', validUntil: '2026-10-02T00:00:00Z' }))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(core.selection.createBasis(sys, approval({ allowedFields: ['srcAddr'] }))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(core.selection.createBasis(sys, { ...approval(), payload: true } as never)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(core.selection.createBasis(sys, approval({ allowedFields: ['start', 'payload' as never] }))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    // A director may not hand-record an approval, only a consent agreement.
    await expect(core.selection.createBasis(users.ctx.nco_director, approval())).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(core.selection.createBasis(users.ctx.analyst, approval())).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const consent = await core.selection.createBasis(users.ctx.nco_director, approval({ kind: 'consent_agreement', title: 'Kanto Electric consent', selectors: { domesticPrefixes: ['10.77.0.0/16'] }, operatorOrgId: 'kanto', validUntil: '2027-03-31T00:00:00Z' }));
    expect(consent.status).toBe('active');
  });

  it('revocation and expiry stop matching while flows keep coming', async () => {
    const b = await core.selection.createBasis(sys, approval({ title: 'short', selectors: { foreignPrefixes: ['36.110.0.0/16'] }, validUntil: '2026-04-10T12:00:03Z' }));
    const send = () => core.selection.select(batchOf([flow({ srcAddr: '36.110.1.9', start: clock.nowMs() - 500, end: clock.nowMs() - 100 })])).kept.length;
    expect(send()).toBe(1);
    clock.advance(1000);
    expect(send()).toBe(1);
    clock.advance(2500); // past validUntil: the next batch no longer matches, with no reload needed
    expect(send()).toBe(0);
    const r = await core.selection.createBasis(sys, approval({ title: 'to revoke', selectors: { foreignPrefixes: ['36.110.0.0/16'] } }));
    expect(send()).toBe(1);
    await core.selection.revokeBasis(users.ctx.commissioner, r.id, { reason: 'commission withdrew approval' });
    expect(send()).toBe(0);
    const counters = core.selection.counters(users.ctx.analyst).rows;
    expect(counters.find((c) => c.outcome === 'revoked')?.flows).toBe(1);
    expect((await core.selection.getBasis(users.ctx.analyst, b.id)).status).toBe('expired');
    await expect(core.selection.revokeBasis(users.ctx.nco_director, r.id, { reason: 'again' })).rejects.toMatchObject({ code: 'CONFLICT' });
  });
});

describe('routes', () => {
  it('lists bases and counters for the right roles only', async () => {
    const get = (url: string, role: keyof RoleUsers['tokens']) => app.fastify.inject({ method: 'GET', url, headers: { authorization: `Bearer ${users.tokens[role]}` } });
    expect((await get('/api/v1/legal-bases', 'analyst')).statusCode).toBe(200);
    expect((await get('/api/v1/legal-bases', 'operator')).statusCode).toBe(403);
    expect((await get('/api/v1/selection/counters', 'commissioner')).json().rows.length).toBeGreaterThan(0);
    const bad = await app.fastify.inject({ method: 'POST', url: '/api/v1/legal-bases', headers: { authorization: `Bearer ${users.tokens.nco_director}` }, payload: { kind: 'consent_agreement' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('VALIDATION_FAILED');
  });
});

describe('the whole path into the archive', () => {
  it('never writes a raw domestic address, in text or binary form, anywhere under the data directory', async () => {
    await core.selection.createBasis(sys, approval());
    const records: FlowRecord[] = [];
    for (const d of DOMESTIC) {
      for (const f of FOREIGN) { records.push(flow({ srcAddr: f, dstAddr: d })); records.push(flow({ srcAddr: d, dstAddr: f, srcPort: 51000, dstPort: 443 })); }
      for (const d2 of DOMESTIC) records.push(flow({ srcAddr: d, dstAddr: d2 }));
    }
    const { kept } = core.selection.select(batchOf(records));
    expect(kept.length).toBeGreaterThan(10);
    expect((await core.archive.write(kept)).rows).toBe(kept.length);
    expect(core.selection.counters(users.ctx.commissioner).rows.find((r) => r.category === 'domestic')?.flows).toBe(16);

    const needles: Buffer[] = [];
    for (const a of DOMESTIC) {
      const slot = new Uint8Array(16);
      (await import('#modules/collection/index.js')).writeAddress(slot, 0, a);
      needles.push(Buffer.from(a), Buffer.from(a.toUpperCase()), Buffer.from(slot));
      if (!a.includes(':')) {
        needles.push(Buffer.from(slot.subarray(12)), Buffer.from(`::ffff:${a}`), Buffer.from(String(Buffer.from(slot.subarray(12)).readUInt32BE(0))));
        needles.push(Buffer.from(Buffer.from(slot.subarray(12)).reverse())); // little-endian u32
      } else {
        const full = Array.from({ length: 8 }, (_, i) => ((slot[2 * i]! << 8) | slot[2 * i + 1]!).toString(16).padStart(4, '0')).join(':');
        needles.push(Buffer.from(full));
      }
    }
    const files: string[] = [];
    const walk = (d: string): void => { for (const f of readdirSync(d)) { const p = join(d, f); if (statSync(p).isDirectory()) walk(p); else files.push(p); } };
    walk(dataDir);
    expect(files.some((f) => f.endsWith('.parquet'))).toBe(true);
    expect(files.some((f) => f.endsWith('mamori.db'))).toBe(true);
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const n of needles) expect(bytes.includes(n), `${n.toString('hex')} in ${f}`).toBe(false);
    }
    // Compression hides bytes: decode every Parquet file and scan its values too.
    const duck = await openDuckDb();
    try {
      const parquet = files.filter((f) => f.endsWith('.parquet'));
      const stored = await duck.all(`SELECT * FROM read_parquet([${parquet.map((p) => `'${p}'`).join(',')}], hive_partitioning = true, union_by_name = true)`);
      expect(stored.length).toBe(kept.length);
      // The files hold addresses and pseudonyms as 128-bit halves: scan them as stored and as text.
      const rows = stored.map(presentRow);
      const text = JSON.stringify([stored, rows]);
      for (const a of DOMESTIC) expect(text.includes(a)).toBe(false);
      for (const n of needles) expect(text.includes(n.toString('latin1'))).toBe(false);
      // Every stored flow names its basis; pseudonyms are there instead.
      expect(rows.every((r) => typeof r.basis === 'string' && r.basis.length > 0)).toBe(true);
      expect(rows.some((r) => typeof r.dst_pseudonym === 'string' && /^[0-9a-f]{32}$/.test(r.dst_pseudonym))).toBe(true);
    } finally {
      duck.close();
    }
    const keys = readdirSync(join(dataDir, 'keys')).filter((k) => k.startsWith('pseudonym-'));
    expect(keys).toEqual(['pseudonym-2026-04.key.enc']);
    expect(statSync(join(dataDir, 'keys', keys[0]!)).mode & 0o777).toBe(0o600);
  });

  it('answers audited queries with a purpose, and re-identifies only with an approval', async () => {
    await expect(core.archive.queryFlows(users.ctx.analyst, { purpose: 'x', filters: { from: '2026-04-10T00:00:00Z', to: '2026-04-11T00:00:00Z' } })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(core.archive.queryFlows(users.ctx.commissioner, { purpose: 'inspect beacons', filters: { from: '2026-04-10T00:00:00Z', to: '2026-04-11T00:00:00Z' } })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const before = (await core.audit.head()).size;
    const res = await core.archive.queryFlows(users.ctx.analyst, { purpose: 'case 12: beacon to 8.8.4.4', filters: { from: '2026-04-10T00:00:00Z', to: '2026-04-11T00:00:00Z', foreignPrefix: '8.8.4.0/24' }, groupBy: ['foreignAddress', 'dstPort'] });
    expect(res.rows.length).toBeGreaterThan(0);
    expect(res.rows.every((r) => r.foreignAddress === '8.8.4.4')).toBe(true);
    const entries = await core.audit.entries({ from: before, to: (await core.audit.head()).size });
    const q = entries.find((e) => e.action === 'flows:query')!;
    expect(q.details.purpose).toBeUndefined();
    expect((await core.audit.readText(String(q.details.purposeRef)))?.text).toBe('case 12: beacon to 8.8.4.4');
    expect(q.details.bases).toBe(res.bases.join(','));
    expect(res.bases.length).toBeGreaterThan(0);

    const all = await core.archive.queryFlows(users.ctx.analyst, { purpose: 'list raw rows for case 12', filters: { from: '2026-04-10T00:00:00Z', to: '2026-04-11T00:00:00Z', foreignAddress: '8.8.4.4', port: 443 } });
    const row = all.rows.find((r) => r.dst_pseudonym !== null)!;
    const ps = row.dst_pseudonym as string;
    await expect(core.selection.reidentify(users.ctx.analyst, { pseudonym: ps, period: '2026-04', candidates: DOMESTIC, approvalId: 'none' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    // With oversight's approval callback: the match is found, and the audit holds no address.
    const withApprovals = createSelectionService({
      db: core.db, policy: core.policy, audit: core.audit, clock, locator: () => { throw new Error('unused'); }, keys: openKeystore(join(dataDir, 'keys'), resolveKek({ dataDir, besideData: true }).kek),
      settings: { rotation: 'monthly' }, approvals: async (_ctx, id, req) => id === 'approval-1' && req.pseudonym === ps,
    });
    const mark = (await core.audit.head()).size;
    const { matches } = await withApprovals.reidentify(users.ctx.analyst, { pseudonym: ps, period: '2026-04', candidates: DOMESTIC, approvalId: 'approval-1' });
    expect(matches).toHaveLength(1);
    const found = matches[0]!;
    const prefix = found.includes(':') ? `${found.slice(0, found.lastIndexOf(':'))}:0/112` : `${found.split('.').slice(0, 3).join('.')}.0/24`;
    expect((await withApprovals.reidentify(users.ctx.analyst, { pseudonym: ps, period: '2026-04', prefix, approvalId: 'approval-1' })).matches).toHaveLength(1);
    const logged = await core.audit.entries({ from: mark, to: (await core.audit.head()).size });
    expect(logged.map((e) => `${e.action}:${e.outcome}`)).toEqual(['pseudonym:reidentify:success', 'pseudonym:reidentify:success']);
    for (const a of DOMESTIC) expect(JSON.stringify(logged)).not.toContain(a);
  });

  it('never lets a batch selected before a purge bring the purged basis\'s flows back', async () => {
    const basis = await core.selection.createBasis(sys, approval({ title: 'Emergency: DDoS controller', selectors: { foreignPrefixes: ['45.33.32.0/24'] } }));
    const records = Array.from({ length: 12 }, (_, i) => flow({ srcAddr: '45.33.32.156', dstAddr: DOMESTIC[i % 2]!, dstPort: 50_000 + i }));
    const early = core.selection.select(batchOf(records)).kept;
    const late = core.selection.select(batchOf(records)).kept;
    const ours = (b: typeof early) => Array.from(b.basisIndex.subarray(0, b.length)).filter((k) => b.basisIds[k] === basis.id).length;
    expect(ours(early)).toBe(12);
    const lateTotal = late.length, lateOurs = ours(late); // the writer keeps (and may compact) what it is given
    // A write in flight, then the purge, then a write selected before the purge but arriving after it.
    const inFlight = core.archive.write(early);
    const purge = core.archive.purgeBasis(sys, basis.id, 'emergency acquisition denied by the commission');
    const after = core.archive.write(late);
    // The write before the purge was taken (staged); the purge drops it from the writer before it reaches a file.
    expect(await inFlight).toMatchObject({ rows: early.length, droppedPurged: 0 });
    const purged = await purge;
    expect(purged.flows + purged.staged).toBe(12);
    expect(await after).toEqual({ rows: lateTotal - lateOurs, droppedPurged: lateOurs });
    expect(core.archive.writer.stats().stagedRows).toBe(0);
    expect(core.archive.partitions().filter((p) => p.basis === basis.id)).toEqual([]);
    await core.selection.revokeBasis(sys, basis.id, { reason: 'denied' });
  });

  it('purges partitions past retention and logs each deletion', async () => {
    const parts = core.archive.partitions();
    expect(parts.length).toBeGreaterThan(0);
    expect((await core.archive.enforceRetention(sys)).deleted).toEqual([]);
    clock.advance(31 * 86_400_000 + 3_600_000);
    const before = (await core.audit.head()).size;
    const { deleted } = await core.archive.enforceRetention(sys);
    expect(deleted.length).toBe(parts.length);
    expect(core.archive.partitions()).toEqual([]);
    const entries = await core.audit.entries({ from: before, to: (await core.audit.head()).size });
    expect(entries.filter((e) => e.action === 'retention:delete').map((e) => e.object?.id).sort()).toEqual(parts.map((p) => `basis=${p.basis}/hour=${p.hour}`).sort());
  });
});

