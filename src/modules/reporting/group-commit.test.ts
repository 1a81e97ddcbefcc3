import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { AppError } from '#platform/errors/index.js';
import { migrate, openDatabase, sql, type AnyDb, type Database } from '#platform/db/index.js';
import { auditMigrations, createAuditLog, type AuditEvent, type AuditLog } from '#modules/audit/index.js';
import { createGroupCommitter, type GroupWork } from './group-commit.js';

let db: Database | undefined;
afterEach(async () => { await db?.close(); db = undefined; });

async function setup(options: { failAudit?: boolean } = {}): Promise<{ db: Database; log: AuditLog; transactions: () => number }> {
  const opened = openDatabase({ url: ':memory:', dataDir: '/nonexistent' });
  db = opened;
  await migrate(opened, auditMigrations);
  await sql`create table parent (id text primary key, name text not null)`.execute(opened.kysely);
  await sql`create table child (id text primary key, parent_id text not null references parent(id), n integer not null, unique (parent_id, n))`.execute(opened.kysely);
  const log = createAuditLog({ db: opened, clock: new ManualClock('2026-04-01T00:00:00.000Z'), policyHash: 'f'.repeat(64), ...(options.failAudit === true ? { beforeWrite: () => { throw new Error('audit store full'); } } : {}) });
  let count = 0;
  const counted: Database = { ...opened, transaction: (fn) => { count++; return opened.transaction(fn); } };
  return { db: counted, log, transactions: () => count };
}

const event = (id: string): AuditEvent => ({ action: 'incident:file', object: { type: 'incident_report', id }, outcome: 'success', details: {} });

function work(id: string, children = 2, extra: Partial<GroupWork<string>> = {}): GroupWork<string> {
  return {
    inserts: [
      { table: 'parent', rows: [{ id, name: `report ${id}` }] },
      { table: 'child', rows: Array.from({ length: children }, (_, n) => ({ id: `${id}-c${n}`, parent_id: id, n })), skipConflictsOn: ['parent_id', 'n'] },
    ],
    audit: { ctx: systemContext('test', `req-${id}`), event: event(id) },
    result: `filed ${id}`,
    ...extra,
  };
}

async function count(q: AnyDb, table: 'parent' | 'child' | 'audit_entries'): Promise<number> {
  const r = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(q);
  return Number(r.rows[0]!.n);
}

describe('group commit', () => {
  it('writes filings queued together in one transaction, each with its rows and audit entry, and answers after the commit', async () => {
    const { db: d, log, transactions } = await setup();
    const group = createGroupCommitter(d, log);
    const ids = Array.from({ length: 40 }, (_, i) => `r${i}`);
    const results = await Promise.all(ids.map((id, i) => group.run(work(id, i % 5))));
    expect(results).toEqual(ids.map((id) => `filed ${id}`));
    expect(transactions()).toBe(1);
    expect(await count(d.kysely, 'parent')).toBe(40);
    expect(await count(d.kysely, 'child')).toBe(ids.reduce((a, _, i) => a + (i % 5), 0));
    const entries = await log.entries({ from: 0, to: 100 });
    expect(entries.map((e) => e.requestId)).toEqual(ids.map((id) => `req-${id}`));
    expect(entries.map((e) => e.object?.id)).toEqual(ids);
  });

  it('appends the same audit tree as one append per filing would', async () => {
    const { db: d, log } = await setup();
    const group = createGroupCommitter(d, log);
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => group.run(work(id))));
    const batched = await log.head();
    await db?.close();
    const { db: d2, log: log2 } = await setup();
    const one = createGroupCommitter(d2, { record: log2.record }); // no recordBatch: one append per filing
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => one.run(work(id))));
    expect(await log2.head()).toEqual(batched);
  });

  it('splits a queue longer than maxBatch into several commits, and row counts that are not powers of two into several statements', async () => {
    const { db: d, log, transactions } = await setup();
    const group = createGroupCommitter(d, log, { maxBatch: 16 });
    await Promise.all(Array.from({ length: 37 }, (_, i) => group.run(work(`r${i}`, 3))));
    expect(transactions()).toBe(3);
    expect(await count(d.kysely, 'parent')).toBe(37);
    expect(await count(d.kysely, 'child')).toBe(111);
    expect(await count(d.kysely, 'audit_entries')).toBe(37);
  });

  it('a failed check fails that filing alone; the others are written', async () => {
    const { db: d, log } = await setup();
    const group = createGroupCommitter(d, log);
    const refused = new AppError('VALIDATION_FAILED', 'items.affectedComputer.computerId: unknown computer.');
    const outcomes = await Promise.allSettled([
      group.run(work('a')),
      group.run(work('b', 2, { check: async () => { throw refused; } })),
      group.run(work('c')),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBe(refused);
    const parents = (await sql<{ id: string }>`select id from parent order by id`.execute(d.kysely)).rows.map((r) => r.id);
    expect(parents).toEqual(['a', 'c']);
    expect((await log.entries({ from: 0, to: 10 })).map((e) => e.object?.id)).toEqual(['a', 'c']);
  });

  it('when the shared write fails, retries each filing alone: the bad one gets its error with nothing half-written, the others are stored', async () => {
    const { db: d, log, transactions } = await setup();
    await sql`insert into parent (id, name) values ('taken', 'already there')`.execute(d.kysely);
    const group = createGroupCommitter(d, log);
    const outcomes = await Promise.allSettled([group.run(work('a')), group.run(work('taken', 3)), group.run(work('c'))]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE constraint failed: parent\.id/);
    expect(transactions()).toBe(4); // the shared one, rolled back, then one per filing
    expect((await sql<{ id: string }>`select id from parent order by id`.execute(d.kysely)).rows.map((r) => r.id)).toEqual(['a', 'c', 'taken']);
    expect(await count(d.kysely, 'child')).toBe(4); // none of the refused filing's children
    expect((await log.entries({ from: 0, to: 10 })).map((e) => e.object?.id)).toEqual(['a', 'c']);
  });

  it('when the audit entries cannot be written, every filing of the batch fails with AUDIT_WRITE_FAILED and nothing is stored', async () => {
    const { db: d, log } = await setup({ failAudit: true });
    const group = createGroupCommitter(d, log);
    const outcomes = await Promise.allSettled(['a', 'b', 'c'].map((id) => group.run(work(id))));
    for (const o of outcomes) {
      expect(o.status).toBe('rejected');
      const e = (o as PromiseRejectedResult).reason as AppError;
      expect(e.code).toBe('AUDIT_WRITE_FAILED');
      expect(e.message).toMatch(/could not be written, so the change was not made/);
    }
    expect(await count(d.kysely, 'parent')).toBe(0);
    expect(await count(d.kysely, 'child')).toBe(0);
    expect(await count(d.kysely, 'audit_entries')).toBe(0);
    expect((await log.head()).size).toBe(0);
  });

  it('keeps working after a failed batch', async () => {
    const { db: d, log } = await setup();
    await sql`insert into parent (id, name) values ('taken', 'already there')`.execute(d.kysely);
    const group = createGroupCommitter(d, log);
    await expect(group.run(work('taken'))).rejects.toThrow(/UNIQUE constraint failed/);
    await expect(group.run(work('next'))).resolves.toBe('filed next');
    expect((await log.entries({ from: 0, to: 10 })).map((e) => e.object?.id)).toEqual(['next']);
  });
});
