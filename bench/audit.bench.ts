// bench/audit: audit-log appends per second on a durable SQLite file (WAL, synchronous=FULL), batched and one per
// transaction, beside plain inserts of the same rows without hashing; then inclusion-proof latency at 1,000,000 entries.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { systemClock, isoUtc } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { migrate, openDatabase, sql, type Database } from '#platform/db/index.js';
import { auditMigrations, createAuditLog, type AuditEvent } from '#modules/audit/index.js';

const TARGET_BATCHED = 20_000;
const TARGET_RATIO = 0.5;
const TARGET_P99_MS = 1;
const BATCHED_N = Number(process.env['BENCH_AUDIT_BATCHED'] ?? 200_000);
const SINGLE_N = Number(process.env['BENCH_AUDIT_SINGLE'] ?? 2_000);
const PROOF_SIZE = Number(process.env['BENCH_AUDIT_PROOF_SIZE'] ?? 1_000_000);
const PROOFS = 20_000;
const BATCH = 1000;

const dir = mkdtempSync(join(tmpdir(), 'mamori-bench-audit-'));
const ctx = systemContext('bench');
const event = (i: number): AuditEvent => ({ action: 'flows:query', object: { type: 'Flow', id: `flow-${i}` }, outcome: 'success', legalBasis: 'basis-0001', details: { rows: i % 977 } });

async function open(name: string): Promise<Database> {
  const db = openDatabase({ url: `sqlite:${join(dir, name)}`, dataDir: dir });
  await migrate(db, auditMigrations);
  // Plain twin of audit_entries: the same columns and indexes, filled without hashing or tree nodes.
  await sql`create table plain_entries as select * from audit_entries where 0`.execute(db.kysely);
  await sql`create index plain_actor on plain_entries (actor_user, idx)`.execute(db.kysely);
  await sql`create index plain_action on plain_entries (action, idx)`.execute(db.kysely);
  await sql`create index plain_time on plain_entries (time)`.execute(db.kysely);
  return db;
}

let plainNext = 0;
function plainRow(i: number): Record<string, unknown> {
  const e = event(i);
  const time = isoUtc(Date.now());
  const entry = { v: 1, index: plainNext, time, actor: { kind: ctx.actor.kind, id: ctx.actor.id, username: ctx.actor.username, roles: [], orgId: null }, action: e.action, object: e.object, legalBasis: e.legalBasis, outcome: e.outcome, requestId: ctx.requestId, policyHash: 'p'.repeat(64), details: e.details };
  return {
    idx: plainNext++, time, actor_kind: 'system', actor_id: ctx.actor.id, actor_user: ctx.actor.id, action: e.action, object_type: 'Flow', object_id: e.object!.id,
    legal_basis: e.legalBasis, outcome: e.outcome, request_id: ctx.requestId, entry: JSON.stringify(entry), leaf_hash: Buffer.alloc(32), nodes: Buffer.alloc(0),
  };
}

async function plainInsert(db: Database, from: number, n: number): Promise<void> {
  await db.transaction(async (trx) => {
    const rows = Array.from({ length: n }, (_, k) => plainRow(from + k));
    for (let i = 0; i < rows.length; i += 500) await trx.insertInto('plain_entries').values(rows.slice(i, i + 500)).execute();
  });
}

async function timeIt(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
let failed = false;
const check = (label: string, ok: boolean): string => {
  if (!ok) failed = true;
  return ok ? `${label} ✓` : `${label} ✗ MISSED`;
};

try {
  // 1. Appends per second, batched (1000 entries per transaction) and one per transaction.
  const db = await open('appends.db');
  const log = createAuditLog({ db, clock: systemClock, policyHash: 'p'.repeat(64) });
  const events = Array.from({ length: BATCH }, (_, i) => event(i));
  // Warm-up so both sides start with a hot statement cache.
  await log.recordMany(ctx, events);
  await plainInsert(db, 0, BATCH);

  // Audit and plain alternate in rounds so that load from other processes hits both alike.
  const ROUNDS = 20;
  let tAudit = 0;
  let tPlain = 0;
  let tAudit1 = 0;
  let tPlain1 = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const n = BATCHED_N / ROUNDS;
    tAudit += await timeIt(async () => { for (let i = 0; i < n; i += BATCH) await log.recordMany(ctx, events); });
    tPlain += await timeIt(async () => { for (let i = 0; i < n; i += BATCH) await plainInsert(db, i, BATCH); });
    const n1 = SINGLE_N / ROUNDS;
    tAudit1 += await timeIt(async () => { for (let i = 0; i < n1; i++) await log.record(ctx, events[i % BATCH]!); });
    tPlain1 += await timeIt(async () => { for (let i = 0; i < n1; i++) await plainInsert(db, i, 1); });
  }
  const auditBatched = BATCHED_N / tAudit;
  const plainBatched = BATCHED_N / tPlain;
  const audit1 = SINGLE_N / tAudit1;
  const plain1 = SINGLE_N / tPlain1;
  await db.close();

  process.stdout.write(`durable SQLite file (WAL, synchronous=FULL), ${fmt(BATCHED_N)} entries batched ${BATCH}/transaction, ${fmt(SINGLE_N)} one per transaction\n`);
  process.stdout.write(`  batched:   audit ${fmt(auditBatched)}/s   plain ${fmt(plainBatched)}/s   ratio ${(auditBatched / plainBatched).toFixed(2)}   ${check(`target ≥ ${fmt(TARGET_BATCHED)}/s`, auditBatched >= TARGET_BATCHED)}, ${check(`ratio ≥ ${TARGET_RATIO}`, auditBatched / plainBatched >= TARGET_RATIO)}\n`);
  process.stdout.write(`  1 per txn: audit ${fmt(audit1)}/s   plain ${fmt(plain1)}/s   ratio ${(audit1 / plain1).toFixed(2)}\n`);

  // 2. Inclusion proofs at PROOF_SIZE entries (built with recordMany in 10,000-entry transactions).
  const pdb = openDatabase({ url: `sqlite:${join(dir, 'proofs.db')}`, dataDir: dir });
  await migrate(pdb, auditMigrations);
  const plog = createAuditLog({ db: pdb, clock: systemClock, policyHash: 'p'.repeat(64) });
  const big = Array.from({ length: 10_000 }, (_, i) => event(i));
  const tBuild = await timeIt(async () => {
    for (let n = 0; n < PROOF_SIZE; n += big.length) await plog.recordMany(ctx, big.slice(0, Math.min(big.length, PROOF_SIZE - n)));
  });
  const { size } = await plog.head();
  for (let i = 0; i < 1000; i++) await plog.inclusionProof(Math.floor(Math.random() * size), size); // warm-up
  const times: number[] = [];
  for (let i = 0; i < PROOFS; i++) {
    const index = Math.floor(Math.random() * size);
    const t0 = performance.now();
    await plog.inclusionProof(index, size);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const p = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  await pdb.close();
  process.stdout.write(`inclusion proof at ${fmt(size)} entries (built in ${tBuild.toFixed(1)} s, ${fmt(size / tBuild)}/s), ${fmt(PROOFS)} random proofs\n`);
  process.stdout.write(`  p50 ${(p(0.5) * 1000).toFixed(0)} µs   p99 ${(p(0.99) * 1000).toFixed(0)} µs   max ${(times[times.length - 1]! * 1000).toFixed(0)} µs   ${check(`target p99 < ${TARGET_P99_MS} ms`, p(0.99) < TARGET_P99_MS)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
