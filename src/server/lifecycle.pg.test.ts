/** @module The data lifecycle on PostgreSQL: a revoked basis's pseudonyms and foreign addresses leave no byte in any table, index or TOAST file of the database, nor in the archive and logs. */
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext, type RequestContext } from '#platform/context/index.js';
import { sql } from '#platform/db/index.js';
import { newId } from '#platform/ids/index.js';
import { createLogger } from '#platform/logger/index.js';
import { appendFlow, createFlowBatch, type FlowRecord } from '#modules/collection/index.js';
import { verifyAuditLog } from '#modules/audit/index.js';
import type { Core } from './core.js';
import { createPipeline, type Pipeline } from './pipeline.js';
import { createTestCore } from './test-support/harness.js';
import { createFreshPgDatabase } from './test-support/pg.js';

const REVOKED = { domestic: '133.87.201.77', foreign: '45.33.32.156', prefix: '45.33.32.0/24' };
const KEPT = { domestic: '133.42.9.19', foreign: '185.220.101.7', prefix: '185.220.101.0/24' };
const fields = ['start', 'end', 'srcAddr', 'dstAddr', 'srcPort', 'dstPort', 'proto', 'tcpFlags', 'bytes', 'packets'] as const;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
}
/** An address as text, as 4 bytes and IPv4-mapped (16 bytes); a pseudonym as hex text and as its 16 bytes. */
const addressPatterns = (a: string): Buffer[] => { const o = a.split('.').map(Number); return [Buffer.from(a), Buffer.from(o), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...o])]; };
const pseudonymPatterns = (hex: string): Buffer[] => [Buffer.from(hex), Buffer.from(hex, 'hex')];

describe('lifecycle on PostgreSQL: a purge leaves no byte in the database files', () => {
  const start = Date.parse('2026-04-01T00:00:00.000Z');
  const clock = new ManualClock(start + 3 * 3_600_000);
  const sys = systemContext('test');
  const analyst: RequestContext = { actor: { kind: 'user', id: newId(), username: 'analyst', roles: ['analyst'], orgId: null, sectors: [] }, requestId: 'test-analyst' };
  const chair: RequestContext = { actor: { kind: 'user', id: newId(), username: 'chair', roles: ['commissioner'], orgId: null, sectors: [] }, requestId: 'test-chair' };
  let core: Core;
  let dataDir: string;
  let pipeline: Pipeline;
  let logStream: ReturnType<typeof createWriteStream>;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const db = await createFreshPgDatabase();
    drop = db.drop;
    dataDir = mkdtempSync(join(tmpdir(), 'mamori-pg-lifecycle-'));
    logStream = createWriteStream(join(dataDir, 'mamori.log'));
    const logger = createLogger({ level: 'debug', destination: logStream });
    core = await createTestCore({ url: db.url, clock, config: { dataDir }, logger });
    pipeline = createPipeline(core, { logger });
    await pipeline.component.start();
  });
  afterAll(async () => {
    await pipeline?.component.stop();
    await new Promise<void>((r) => logStream.end(r));
    await core?.close();
    await drop?.();
  });

  /** Every file of every relation of the database (tables, indexes, TOAST), as PostgreSQL wrote it to disk. */
  async function relationFiles(): Promise<{ name: string; bytes: Buffer }[]> {
    // Dirty pages reach the files at a checkpoint; a scan before it would miss what is only in shared buffers.
    await sql`checkpoint`.execute(core.db.kysely);
    const rels = (await sql<{ name: string; path: string }>`select c.relname as name, pg_relation_filepath(c.oid) as path from pg_class c
      where c.relkind in ('r', 'i', 't', 'm') and pg_relation_filepath(c.oid) is not null and pg_relation_size(c.oid) > 0`.execute(core.db.kysely)).rows;
    const out: { name: string; bytes: Buffer }[] = [];
    for (const r of rels) {
      const got = await sql<{ b: Buffer }>`select pg_read_binary_file(${r.path}, 0, pg_relation_size(${r.name}::regclass), true) as b`.execute(core.db.kysely).catch(() => undefined);
      const b = got?.rows[0]?.b;
      if (b !== undefined && b !== null) out.push({ name: r.name, bytes: b });
    }
    return out;
  }

  async function beacon(domestic: string, foreign: string): Promise<void> {
    const batch = createFlowBatch(256);
    for (let i = 0; i < 120; i++) {
      const t = start + i * 60_000;
      const r: FlowRecord = { start: t, end: t + 300, srcAddr: domestic, dstAddr: foreign, srcPort: 40000 + i, dstPort: 443, proto: 6, tcpFlags: 0x1b, bytes: 620, packets: 6, samplingRate: 1, inIf: 1, outIf: 2, exporter: '' };
      expect(appendFlow(batch, r)).toBe(true);
    }
    await pipeline.sink.write(batch);
  }

  it('revokes a basis after its flows were analysed: no pseudonym or foreign address of it in any relation file, archive or log; the certificate verifies', async () => {
    const window = { validFrom: new Date(start - 86_400_000).toISOString(), validUntil: new Date(start + 30 * 86_400_000).toISOString(), retentionDays: 30, createdBy: 'request-test' };
    const revoked = await core.selection.createBasis(sys, { kind: 'cross_border_approval', title: 'to be revoked', selectors: { foreignPrefixes: [REVOKED.prefix] }, allowedFields: [...fields], ...window });
    const kept = await core.selection.createBasis(sys, { kind: 'cross_border_approval', title: 'kept', selectors: { foreignPrefixes: [KEPT.prefix] }, allowedFields: [...fields], ...window });
    await beacon(REVOKED.domestic, REVOKED.foreign);
    await beacon(KEPT.domestic, KEPT.foreign);
    await pipeline.flush(true);
    const q = await core.archive.queryFlows(sys, { purpose: 'lifecycle test: the pseudonyms to look for', filters: { from: new Date(start - 3_600_000).toISOString(), to: new Date(start + 12 * 3_600_000).toISOString(), basisIds: [revoked.id] }, limit: 1000 });
    const pseudonyms = [...new Set(q.rows.flatMap((x) => [x['src_pseudonym'], x['dst_pseudonym']]).filter((p): p is string => typeof p === 'string'))];
    expect(pseudonyms.length).toBeGreaterThan(0);
    const findings = (await core.analysis.listFindings(analyst, {})).items;
    const onRevoked = findings.filter((f) => f.bases.includes(revoked.id));
    expect(onRevoked.length).toBeGreaterThan(0);
    expect(findings.some((f) => f.bases.includes(kept.id))).toBe(true);
    // The finding is updated again (a second flush with more flows): dead row versions and index entries to purge too.
    await core.analysis.recordFindings(sys, onRevoked.filter((f) => f.bases.length === 1).map((f) => ({
      kind: f.kind, subject: f.subject, level: f.level, score: f.score, scoreDetail: { method: 'test', components: {} }, evidence: {},
      hosts: pseudonyms, hostCount: pseudonyms.length, firstSeen: f.firstSeen, lastSeen: f.lastSeen + 1, bases: [revoked.id],
    })));

    const needles = [...addressPatterns(REVOKED.foreign).map((p) => ['revoked foreign address', p] as const), ...pseudonyms.flatMap((h) => pseudonymPatterns(h).map((p) => ['revoked pseudonym', p] as const))];
    const hits = (rels: { name: string; bytes: Buffer }[]): string[] => rels.flatMap((r) => needles.filter(([, p]) => r.bytes.includes(p)).map(([w, p]) => `${r.name}: ${w} as ${p.length} bytes`));
    // Before: the scan does find them in the findings table (so it reads what PostgreSQL wrote).
    expect(hits(await relationFiles()).some((h) => h.startsWith('findings'))).toBe(true);

    const mark = (await core.audit.head()).size;
    await core.selection.revokeBasis(chair, revoked.id, { reason: 'no longer necessary' });
    const after = (await core.analysis.listFindings(analyst, {})).items;
    expect(after.filter((f) => f.bases.includes(revoked.id))).toEqual([]);
    for (const f of onRevoked.filter((x) => x.bases.length === 1)) expect(after.find((x) => x.id === f.id)).toBeUndefined();
    expect(after.some((f) => f.bases.includes(kept.id))).toBe(true);
    const certs = (await core.audit.entries({ from: mark, to: (await core.audit.head()).size })).filter((e) => e.action === 'lifecycle:certificate');
    expect(certs).toHaveLength(1);
    expect(certs[0]!.details).toMatchObject({ basisId: revoked.id, cause: 'revoked', archiveFlows: 120 });

    // Every relation file of the database, then the archive, keys and logs on disk.
    const rels = await relationFiles();
    expect(rels.some((r) => r.name === 'findings')).toBe(true);
    expect(rels.some((r) => r.name === 'audit_entries')).toBe(true);
    const bad = hits(rels);
    await new Promise<void>((r) => logStream.write('', () => r()));
    for (const f of files(dataDir)) {
      const b = readFileSync(f);
      for (const [w, p] of needles) if (b.includes(p)) bad.push(`${f}: ${w} as ${p.length} bytes`);
    }
    expect(bad).toEqual([]);

    await core.checkpointer.checkpointNow();
    expect(await verifyAuditLog(core.db, { logKey: core.checkpointer.verifier() })).toMatchObject({ ok: true });
  });
});
