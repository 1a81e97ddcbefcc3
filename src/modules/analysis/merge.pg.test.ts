/** @module Finding merges on PostgreSQL from two processes at once (two analysis workers): no update is lost, none fails, the audit log stays one. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { migrate, openDatabase, sql, type Database } from '#platform/db/index.js';
import { createPolicyEngine } from '#platform/policy/index.js';
import { auditMigrations, createAuditLog } from '#modules/audit/index.js';
import { createFreshPgDatabase } from '#server/test-support/pg.js';
import { analysisMigrations, createAnalysisService } from './service.js';
import { createFindingsPurger } from './purge.js';
import type { FindingUpdate } from './schema.js';

let url: string;
let drop: () => Promise<void>;
const opened: Database[] = [];

/** One worker process: its own pool, audit log and analysis service over the shared database. */
function workerProcess() {
  const db = openDatabase({ url, dataDir: '/nonexistent', poolSize: 4 });
  opened.push(db);
  const clock = new ManualClock('2026-04-01T00:00:00.000Z');
  const policy = createPolicyEngine();
  const audit = createAuditLog({ db, clock, policyHash: policy.hash });
  return { db, analysis: createAnalysisService({ db, policy, audit, clock }), purger: createFindingsPurger({ db, policy, clock }) };
}

const update = (subject: string, host: string, at: number, level: FindingUpdate['level'] = 'suspect'): FindingUpdate => ({
  kind: 'ddos-volumetric', subject: { kind: 'pseudonym', value: subject }, level, score: 0.5,
  scoreDetail: { method: 'test', components: {} }, evidence: { note: host } as unknown as FindingUpdate['evidence'],
  firstSeen: at, lastSeen: at + 1000, hosts: [host], hostCount: 1, bases: [`basis-${host.slice(0, 1)}`],
});

beforeAll(async () => {
  const fresh = await createFreshPgDatabase();
  url = fresh.url;
  drop = fresh.drop;
  const db = openDatabase({ url, dataDir: '/nonexistent', poolSize: 1 });
  await migrate(db, [...auditMigrations, ...analysisMigrations]);
  await db.close();
});
afterAll(async () => { for (const d of opened) await d.close(); await drop?.(); });

describe('finding merges from two workers at once (PostgreSQL)', () => {
  it('keeps every update: hosts, bases, times and revisions add up, first inserts included', async () => {
    const a = workerProcess();
    const b = workerProcess();
    const ctx = systemContext('analysis');
    const subjects = ['victim-1', 'victim-2', 'victim-3'];
    const runs: Promise<string[]>[] = [];
    const rounds = 25;
    for (let r = 0; r < rounds; r++) {
      // Each worker writes every subject, in opposite orders (the order two workers' flushes meet in).
      runs.push(a.analysis.recordFindings(ctx, subjects.map((s) => update(s, `a${r}`, 1000 * r))));
      runs.push(b.analysis.recordFindings(ctx, [...subjects].reverse().map((s) => update(s, `b${r}`, 1000 * r + 500, r === 7 ? 'alert' : 'info'))));
    }
    const written = await Promise.all(runs);
    expect(written.flat()).toHaveLength(2 * rounds * subjects.length);
    const rows = (await sql<{ subject_value: string; hosts: string; host_count: number; legal_bases: string; revision: number; level: string; first_seen: string; last_seen: string }>`
      select subject_value, hosts, host_count, legal_bases, revision, level, first_seen, last_seen from findings order by subject_value`.execute(a.db.kysely)).rows;
    expect(rows.map((r) => r.subject_value)).toEqual(subjects);
    const allHosts = Array.from({ length: rounds }, (_, r) => [`a${r}`, `b${r}`]).flat().sort();
    for (const row of rows) {
      expect((JSON.parse(row.hosts) as string[]).sort()).toEqual(allHosts);
      expect(Number(row.revision)).toBe(2 * rounds);
      expect(Number(row.host_count)).toBe(2 * rounds);
      expect((JSON.parse(row.legal_bases) as string[]).sort()).toEqual(['basis-a', 'basis-b']);
      expect(row.level).toBe('alert');
      expect(row.first_seen).toBe(new Date(0).toISOString());
      expect(row.last_seen).toBe(new Date(1000 * (rounds - 1) + 1500).toISOString());
    }
    // One audit entry per merge, in one gapless log.
    const entries = (await sql<{ idx: string }>`select idx from audit_entries order by idx`.execute(a.db.kysely)).rows.map((r) => Number(r.idx));
    expect(entries).toEqual(Array.from({ length: entries.length }, (_, i) => i));
    expect(Number((await sql<{ n: string }>`select count(*) as n from audit_entries where entry like '%findings:write%'`.execute(a.db.kysely)).rows[0]!.n)).toBe(2 * rounds * subjects.length);
  });

  it('a purge in another process while merges run loses neither: the purged basis is gone and every revision counted', async () => {
    const a = workerProcess();
    const b = workerProcess();
    const ctx = systemContext('analysis');
    const subjects = ['purge-1', 'purge-2', 'purge-3'];
    // Each finding first rests on the basis to purge (p…) and on one that stays (k…).
    await a.analysis.recordFindings(ctx, subjects.map((s) => update(s, 'p0', 0)));
    await a.analysis.recordFindings(ctx, subjects.map((s) => update(s, 'k0', 0)));
    const rounds = 20;
    const merges: Promise<string[]>[] = [];
    for (let r = 1; r <= rounds; r++) merges.push(a.analysis.recordFindings(ctx, subjects.map((s) => update(s, `k${r}`, 1000 * r))));
    // The purge starts among the merges (after a few have begun), from the other process.
    const purge = new Promise((resolve) => setTimeout(resolve, 5)).then(() => b.purger.purgeBasis(systemContext('oversight'), 'basis-p'));
    const [, done] = await Promise.all([Promise.all(merges), purge]);
    expect(done.withdrawn.sort()).toHaveLength(subjects.length);
    const rows = (await sql<{ legal_bases: string; revision: number }>`
      select legal_bases, revision from findings where subject_value like 'purge-%' order by subject_value`.execute(a.db.kysely)).rows;
    expect(rows).toHaveLength(subjects.length);
    for (const row of rows) {
      // A merge that wrote back a row read before the purge would bring basis-p back (and lose the purge's revision).
      expect(JSON.parse(row.legal_bases)).toEqual(['basis-k']);
      expect(Number(row.revision)).toBe(2 + rounds + 1);
    }
  });
});
