/** @module The data lifecycle end to end: a revoked basis and a refused emergency basis leave nothing of their flows anywhere — database, archive, logs — except hashes in deletion certificates. */
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext, type RequestContext, type Role } from '#platform/context/index.js';
import { newId } from '#platform/ids/index.js';
import { createLogger } from '#platform/logger/index.js';
import { appendFlow, createFlowBatch, type FlowRecord } from '#modules/collection/index.js';
import { verifyAuditLog } from '#modules/audit/index.js';
import { presentRow } from '#modules/selection/index.js';
import type { Core } from './core.js';
import { createIntelDrafter } from './intel-wiring.js';
import { createPipeline, type Pipeline } from './pipeline.js';
import { createTestCore } from './test-support/harness.js';
import { runMamori } from './test-support/cli.js';

const person = (username: string, roles: Role[]): RequestContext => ({ actor: { kind: 'user', id: newId(), username, roles, orgId: null, sectors: [] }, requestId: `test-${username}` });

// Hosts and servers of each basis: nothing of REVOKED's or REFUSED's may survive; KEPT's must.
const REVOKED = { domestic: '133.87.201.77', foreign: '45.33.32.156', prefix: '45.33.32.0/24' };
const KEPT = { domestic: '133.42.9.19', foreign: '185.220.101.7', prefix: '185.220.101.0/24' };
const REFUSED = { foreign: '91.198.174.192', prefix: '91.198.174.0/24' };

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
}
/** An address as text, as 4 bytes and IPv4-mapped (16 bytes); a pseudonym as hex text and as its 16 bytes. */
const addressPatterns = (a: string): Buffer[] => { const o = a.split('.').map(Number); return [Buffer.from(a), Buffer.from(o), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...o])]; };
const pseudonymPatterns = (hex: string): Buffer[] => [Buffer.from(hex), Buffer.from(hex, 'hex')];

async function decodedArchive(dataDir: string): Promise<string> {
  if (files(dataDir).every((f) => !f.endsWith('.parquet'))) return '';
  const duck = await DuckDBInstance.create(':memory:');
  const conn = await duck.connect();
  const rows = await conn.runAndReadAll(`select * from read_parquet('${join(dataDir, 'archive')}/**/*.parquet', hive_partitioning = true, union_by_name = true)`);
  conn.closeSync();
  // Addresses and pseudonyms are stored as 128-bit halves: the values as stored and as text.
  const stored = rows.getRowObjectsJson();
  return JSON.stringify([stored, stored.map(presentRow)]);
}

describe('lifecycle: purge follows the data', () => {
  const start = Date.parse('2026-04-01T00:00:00.000Z');
  const clock = new ManualClock(start + 3 * 3_600_000);
  const sys = systemContext('test');
  const analyst = person('analyst', ['analyst']);
  const director = person('director', ['nco_director']);
  const members = ['chair', 'c1', 'c2', 'c3', 'c4'].map((u) => person(u, ['commissioner']));
  let core: Core;
  let dataDir: string;
  let pipeline: Pipeline;
  let logStream: ReturnType<typeof createWriteStream>;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'mamori-lifecycle-'));
    // One log file at debug level for the server's parts and the pipeline: it is scanned with everything else.
    logStream = createWriteStream(join(dataDir, 'mamori.log'));
    const logger = createLogger({ level: 'debug', destination: logStream });
    core = await createTestCore({ url: `sqlite:${join(dataDir, 'mamori.db')}`, clock, config: { dataDir }, logger });
    pipeline = createPipeline(core, { logger });
    await pipeline.component.start();
  });
  afterAll(async () => {
    await pipeline.component.stop();
    await new Promise<void>((r) => logStream.end(r));
    await core.close();
  });

  const window = { validFrom: new Date(start - 86_400_000).toISOString(), validUntil: new Date(start + 30 * 86_400_000).toISOString(), retentionDays: 30, createdBy: 'request-test' };
  const fields = ['start', 'end', 'srcAddr', 'dstAddr', 'srcPort', 'dstPort', 'proto', 'tcpFlags', 'bytes', 'packets'] as const;

  /** Two hours of beaconing from `domestic` to `foreign`, every minute (a beacon finding), written through the pipeline. */
  async function beacon(domestic: string, foreign: string, inbound = false, from = start): Promise<void> {
    const batch = createFlowBatch(256);
    for (let i = 0; i < 120; i++) {
      const t = from + i * 60_000;
      const r: FlowRecord = { start: t, end: t + 300, srcAddr: inbound ? foreign : domestic, dstAddr: inbound ? domestic : foreign, srcPort: inbound ? 443 : 40000 + i, dstPort: inbound ? 40000 + i : 443, proto: 6, tcpFlags: 0x1b, bytes: 620, packets: 6, samplingRate: 1, inIf: 1, outIf: 2, exporter: '' };
      expect(appendFlow(batch, r)).toBe(true);
    }
    await pipeline.sink.write(batch);
  }

  async function pseudonymsOf(basisId: string): Promise<string[]> {
    const r = await core.archive.queryFlows(sys, { purpose: 'lifecycle test: the pseudonyms to look for', filters: { from: new Date(start - 3_600_000).toISOString(), to: new Date(start + 12 * 3_600_000).toISOString(), basisIds: [basisId] }, limit: 1000 });
    return [...new Set(r.rows.flatMap((x) => [x['src_pseudonym'], x['dst_pseudonym']]).filter((p): p is string => typeof p === 'string'))];
  }

  it('a revoked basis: archive, findings, case items, drafts, detector state and released intel go; a certificate verifies', async () => {
    const revoked = await core.selection.createBasis(sys, { kind: 'cross_border_approval', title: 'to be revoked', selectors: { foreignPrefixes: [REVOKED.prefix] }, allowedFields: [...fields], ...window });
    const kept = await core.selection.createBasis(sys, { kind: 'cross_border_approval', title: 'kept', selectors: { foreignPrefixes: [KEPT.prefix] }, allowedFields: [...fields], ...window });
    await beacon(REVOKED.domestic, REVOKED.foreign);
    await beacon(KEPT.domestic, KEPT.foreign);
    await pipeline.flush(true);
    const pseudonyms = await pseudonymsOf(revoked.id);
    expect(pseudonyms.length).toBeGreaterThan(0);
    const keptPseudonyms = await pseudonymsOf(kept.id);
    const findings = (await core.analysis.listFindings(analyst, {})).items;
    const onRevoked = findings.filter((f) => f.bases.includes(revoked.id));
    const onKept = findings.filter((f) => f.bases.includes(kept.id));
    expect(onRevoked.length).toBeGreaterThan(0);
    expect(onKept.length).toBeGreaterThan(0);
    const beaconRevoked = onRevoked.find((f) => f.kind === 'beacon' && f.subject.value === REVOKED.foreign)!;
    expect(beaconRevoked).toBeDefined();

    // A case holds both beacons; an unreleased draft and a released one come from the revoked basis's finding.
    const c = await core.analysis.createCase(analyst, { title: 'two C2 servers', findingIds: [beaconRevoked.id, onKept[0]!.id] });
    const drafter = createIntelDrafter({ analysis: core.analysis, reporting: core.reporting, registry: core.registry, sharing: core.sharing });
    const unreleased = await drafter.fromFinding(analyst, beaconRevoked.id, {});
    const toRelease = await drafter.fromFinding(analyst, beaconRevoked.id, { tlp: 'green' });
    const councilOrg = (await core.identity.createOrg(sys, { name: 'Council Bank', kind: 'council_member', sectors: ['finance'] as never })).id;
    await core.sharing.addCouncilMember(sys, { orgId: councilOrg });
    const group = await core.sharing.createGroup(sys, { name: 'finance-isac' });
    await core.sharing.addGroupMember(sys, group.id, { orgId: councilOrg });
    await core.sharing.releaseDraft(director, toRelease.id, { groupIds: [group.id] });

    // Before: the scan below does find them (the database holds the finding, the archive the flows).
    const scan = (needles: readonly (readonly [string, Buffer])[]): string[] => files(dataDir).flatMap((f) => { const b = readFileSync(f); return needles.filter(([, p]) => b.includes(p)).map(([w, p]) => `${f}: ${w} as ${p.length} bytes`); });
    const needles = [...addressPatterns(REVOKED.foreign).map((p) => ['revoked foreign address', p] as const), ...pseudonyms.flatMap((h) => pseudonymPatterns(h).map((p) => ['revoked pseudonym', p] as const))];
    expect(scan(needles).some((hit) => hit.includes('mamori.db'))).toBe(true);

    // Revocation: the purge is done when it answers.
    const mark = (await core.audit.head()).size;
    await core.selection.revokeBasis(members[0]!, revoked.id, { reason: 'no longer necessary' });

    expect(core.archive.partitions().filter((p) => p.basis === revoked.id)).toEqual([]);
    expect(core.archive.partitions().some((p) => p.basis === kept.id)).toBe(true);
    const after = (await core.analysis.listFindings(analyst, {})).items;
    expect(after.filter((f) => f.bases.includes(revoked.id))).toEqual([]);
    for (const f of onRevoked.filter((x) => x.bases.length === 1)) expect(after.find((x) => x.id === f.id)).toBeUndefined();
    expect(after.filter((f) => f.bases.includes(kept.id)).length).toBe(onKept.length);
    const caseAfter = await core.analysis.getCase(analyst, c.id);
    expect(caseAfter.items.map((i) => i.id)).toEqual([onKept[0]!.id]);
    const drafts = (await core.sharing.listDrafts(director, { limit: 500 })).items;
    expect(drafts.find((d) => d.id === unreleased.id)).toBeUndefined();
    expect(drafts.find((d) => d.id === toRelease.id)).toBeUndefined();
    const recalls = await core.recalls.listRecalls(director);
    expect(recalls.items).toEqual([expect.objectContaining({ draftId: toRelease.id, recipientOrgId: councilOrg, basisId: revoked.id, acknowledgedAt: null })]);
    // Named for the screen: the recipient and the basis by name, the objects by type (never a title that could hold purged data).
    expect(recalls.items[0]).toMatchObject({ recipientName: 'Council Bank', ownOrg: false, basis: { title: 'to be revoked' }, acknowledgedByName: null });
    expect(Object.values(recalls.items[0]!.objectTypes).reduce((a, b) => a + b, 0)).toBe(recalls.items[0]!.stixIds.length);

    const entries = await core.audit.entries({ from: mark, to: (await core.audit.head()).size });
    const certs = entries.filter((e) => e.action === 'lifecycle:certificate');
    expect(certs).toHaveLength(1);
    expect(certs[0]!.details).toMatchObject({ basisId: revoked.id, cause: 'revoked', findingsDeleted: onRevoked.length, caseItems: 1, draftsDeleted: 1, intelRecalled: 1, recallNotices: 1, memory_detectors: 1 });
    expect(Number(certs[0]!.details['archivePartitions'])).toBeGreaterThan(0);
    expect(certs[0]!.details['archiveFlows']).toBe(120);
    expect(String(certs[0]!.details['archiveHash'])).toMatch(/^[0-9a-f]{64}$/);
    expect((await core.oversight.inspectDeletions(members[1]!)).certificates[0]).toMatchObject({ basisId: revoked.id, details: { cause: 'revoked' } });

    // Detector state is gone too: a flush now writes nothing resting on the revoked basis.
    await pipeline.flush(true);
    expect((await core.analysis.listFindings(analyst, {})).items.filter((f) => f.bases.includes(revoked.id))).toEqual([]);

    // The log still verifies, with the certificate in it: in the library and with `mamori audit verify`.
    await core.checkpointer.checkpointNow();
    expect(await verifyAuditLog(core.db, { logKey: core.checkpointer.verifier() })).toMatchObject({ ok: true });
    const verified = await runMamori(['audit', 'verify'], { dataDir, databaseUrl: `sqlite:${join(dataDir, 'mamori.db')}` });
    expect(verified, verified.out).toMatchObject({ code: 0, out: expect.stringContaining('audit log OK') });

    // Every byte of the database, its WAL, the archive, the keys and the logs; the archive decoded as well.
    await new Promise<void>((r) => logStream.write('', () => r()));
    const bad = scan(needles);
    const decoded = await decodedArchive(dataDir);
    expect(decoded).toContain(KEPT.foreign);
    expect(keptPseudonyms.some((h) => decoded.includes(h))).toBe(true);
    if (decoded.includes(REVOKED.foreign)) bad.push('parquet (decoded): revoked foreign address');
    for (const h of pseudonyms) if (decoded.includes(h)) bad.push('parquet (decoded): revoked pseudonym');
    expect(bad).toEqual([]);
  });

  it('a refused emergency basis: its flows and findings go, with one certificate, and oversight records the flows purged', async () => {
    const e = await core.oversight.recordEmergencyAction(director, {
      kind: 'acquisition', title: 'Inbound flood', justification: 'Attack in progress; the commission cannot meet in time.', evidence: [],
      acquisition: { basisKind: 'cross_border_approval', selectors: { foreignPrefixes: [REFUSED.prefix] }, periodStart: new Date(start - 86_400_000).toISOString(), periodEnd: new Date(start + 10 * 86_400_000).toISOString(), purpose: 'Find the flood source.', retentionDays: 30 },
    });
    const basisId = e.basisId!;
    // The emergency basis is valid from its recording: flows after it, and the clock after them.
    await beacon('133.87.10.10', REFUSED.foreign, false, clock.nowMs() + 60_000);
    clock.advance(3 * 3_600_000);
    await pipeline.flush(true);
    const pseudonyms = await pseudonymsOf(basisId);
    expect(pseudonyms.length).toBeGreaterThan(0);
    expect((await core.analysis.listFindings(analyst, {})).items.some((f) => f.bases.includes(basisId))).toBe(true);

    const mark = (await core.audit.head()).size;
    for (const m of members.slice(0, 3)) await core.oversight.castVote(m, e.reviewRequestId, { vote: 'deny', reasons: 'Not necessary.' });
    await core.oversight.decideRequest(members[3]!, e.reviewRequestId);

    const [halted] = (await core.oversight.listEmergencyActions(members[0]!)).items.filter((x) => x.id === e.id);
    expect(halted).toMatchObject({ status: 'halted', purgedFlows: 120 });
    expect((await core.analysis.listFindings(analyst, {})).items.filter((f) => f.bases.includes(basisId))).toEqual([]);
    const certs = (await core.audit.entries({ from: mark, to: (await core.audit.head()).size })).filter((x) => x.action === 'lifecycle:certificate');
    expect(certs).toHaveLength(1);
    expect(certs[0]!.details).toMatchObject({ basisId, archiveFlows: 120 });

    const bad: string[] = [];
    for (const f of files(dataDir)) {
      const bytes = readFileSync(f);
      for (const p of [...addressPatterns(REFUSED.foreign), ...pseudonyms.flatMap(pseudonymPatterns)]) if (bytes.includes(p)) bad.push(`${f}: ${p.length} bytes`);
    }
    const decoded = await decodedArchive(dataDir);
    if (decoded.includes(REFUSED.foreign)) bad.push('parquet (decoded)');
    expect(bad).toEqual([]);
    await core.checkpointer.checkpointNow();
    expect(await verifyAuditLog(core.db, { logKey: core.checkpointer.verifier() })).toMatchObject({ ok: true });
    const verified = await runMamori(['audit', 'verify'], { dataDir, databaseUrl: `sqlite:${join(dataDir, 'mamori.db')}` });
    expect(verified, verified.out).toMatchObject({ code: 0, out: expect.stringContaining('audit log OK') });
  });

  it('past retention: findings and archive go, the period\'s key is destroyed, re-identification says it is impossible, keys list says so', async () => {
    const period = '2026-04';
    expect((await core.lifecycle.keyReport()).find((k) => k.period === period)).toMatchObject({ state: 'active' });
    expect(core.archive.partitions().length).toBeGreaterThan(0);
    expect((await core.analysis.listFindings(analyst, {})).total).toBeGreaterThan(0);
    const pseudonym = (await pseudonymsOf((await core.selection.listBases(sys, { limit: 500 })).items.find((b) => b.title === 'kept')!.id))[0]!;
    // Within retention nothing goes.
    clock.set('2026-04-20T00:00:00.000Z');
    await core.lifecycle.enforceRetention();
    expect(core.archive.partitions().length).toBeGreaterThan(0);
    expect((await core.lifecycle.keyReport()).find((k) => k.period === period)?.state).toBe('active');

    clock.set('2026-05-15T00:00:00.000Z');
    const mark = (await core.audit.head()).size;
    const certs = await core.lifecycle.enforceRetention();
    expect(certs.length).toBeGreaterThan(0);
    expect(certs.every((c) => c.cause === 'retention')).toBe(true);
    expect(core.archive.partitions()).toEqual([]);
    expect((await core.analysis.listFindings(analyst, {})).total).toBe(0);
    const report = (await core.lifecycle.keyReport()).find((k) => k.period === period)!;
    expect(report).toMatchObject({ state: 'destroyed', archivePartitions: 0, findings: 0 });
    expect(readdirSync(join(dataDir, 'keys')).filter((f) => f.startsWith(`pseudonym-${period}.key`))).toEqual([]);
    const entries = await core.audit.entries({ from: mark, to: (await core.audit.head()).size });
    expect(entries.find((e) => e.action === 'keys:destroy')).toMatchObject({ object: { type: 'pseudonym_key', id: period }, outcome: 'success' });

    await expect(core.selection.reidentify(analyst, { pseudonym, period, approvalId: 'any', prefix: '133.42.9.0/24' })).rejects.toMatchObject({ code: 'KEY_DESTROYED', status: 410 });
    await expect(core.selection.reidentify(analyst, { pseudonym, period, approvalId: 'any', prefix: '133.42.9.0/24' })).rejects.toThrow(/impossible/);
    expect(await verifyAuditLog(core.db, { logKey: core.checkpointer.verifier() })).toMatchObject({ ok: true });

    // `mamori keys list` on the same data directory.
    const keys = await runMamori(['keys', 'list'], { dataDir, databaseUrl: `sqlite:${join(dataDir, 'mamori.db')}` });
    expect(keys.code).toBe(0);
    expect(keys.out).toMatch(/2026-04\s+destroyed 2026-05-15T00:00:00\.000Z — re-identification impossible/);
  });
});
