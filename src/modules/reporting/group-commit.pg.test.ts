/** @module Group commit on PostgreSQL: a check that fails in the database refuses only its filing; two processes' batches at once keep one audit tree. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { migrate, openDatabase, sql, type AnyDb, type Database } from '#platform/db/index.js';
import { auditMigrations, createAuditLog, hashLeaf, MemoryNodeStore, type AuditLog } from '#modules/audit/index.js';
import { createFreshPgDatabase } from '#server/test-support/pg.js';
import { createGroupCommitter, type GroupWork } from './group-commit.js';

let url: string;
let drop: () => Promise<void>;
const opened: Database[] = [];

/** One mamori process: its own pool, its own audit log (and right-edge cache) over the shared database. */
function processOf(): { db: Database; log: AuditLog } {
  const db = openDatabase({ url, dataDir: '/nonexistent', poolSize: 4 });
  opened.push(db);
  return { db, log: createAuditLog({ db, clock: new ManualClock('2026-04-01T00:00:00.000Z'), policyHash: 'f'.repeat(64) }) };
}

beforeAll(async () => {
  const fresh = await createFreshPgDatabase();
  url = fresh.url;
  drop = fresh.drop;
  const { db } = processOf();
  await migrate(db, auditMigrations);
  await sql`create table parent (id text primary key, name text not null)`.execute(db.kysely);
});
afterAll(async () => { for (const d of opened) await d.close(); await drop?.(); });

function work(id: string, extra: Partial<GroupWork<string>> = {}): GroupWork<string> {
  return {
    inserts: [{ table: 'parent', rows: [{ id, name: `report ${id}` }] }],
    audit: { ctx: systemContext('test', `req-${id}`), event: { action: 'incident:file', object: { type: 'incident_report', id }, outcome: 'success', details: {} } },
    result: `filed ${id}`,
    ...extra,
  };
}

describe('group commit on PostgreSQL', () => {
  it('a check that fails in the database (which aborts the shared transaction) fails that filing alone', async () => {
    const { db, log } = processOf();
    const group = createGroupCommitter(db, log);
    // Every filing reads in its check (as an incident naming its computer does).
    const reads = { check: async (trx: AnyDb) => { await sql`select count(*) from parent`.execute(trx); } };
    const outcomes = await Promise.allSettled([
      group.run(work('pa', reads)),
      group.run(work('pb', { check: async (trx) => { await sql`select 1 / 0`.execute(trx); } })),
      group.run(work('pc', reads)),
      group.run(work('pd', reads)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/division by zero/);
    const ids = (await sql<{ id: string }>`select id from parent where id like 'p%' order by id`.execute(db.kysely)).rows.map((r) => r.id);
    expect(ids).toEqual(['pa', 'pc', 'pd']);
    expect((await log.entries({ from: 0, to: 100 })).map((e) => e.object?.id).filter((x) => x?.startsWith('p'))).toEqual(['pa', 'pc', 'pd']);
  });

  it('two processes committing batches at once append one gapless tree whose head root is the rebuilt root', async () => {
    const a = processOf();
    const b = processOf();
    const ga = createGroupCommitter(a.db, a.log, { maxBatch: 8 });
    const gb = createGroupCommitter(b.db, b.log, { maxBatch: 8 });
    const before = (await a.log.head()).size;
    const runs: Promise<string>[] = [];
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 20; i++) runs.push((i % 2 === 0 ? ga : gb).run(work(`c${round}-${i}`)));
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(await Promise.all(runs)).toHaveLength(120);
    const head = await b.log.head();
    expect(head.size).toBe(before + 120);
    const rows = (await a.db.kysely.selectFrom('audit_entries').select(['idx', 'entry', 'leaf_hash']).orderBy('idx').execute()) as { idx: number; entry: string; leaf_hash: Uint8Array }[];
    expect(rows.map((r) => Number(r.idx))).toEqual(Array.from({ length: head.size }, (_, i) => i));
    const tree = new MemoryNodeStore();
    for (const r of rows) {
      const leaf = hashLeaf(new TextEncoder().encode(r.entry));
      expect(Buffer.from(leaf).equals(Buffer.from(r.leaf_hash))).toBe(true);
      tree.append(leaf);
    }
    expect(Buffer.from(tree.root()).toString('base64')).toBe(head.root);
    expect((await a.log.head()).root).toBe(head.root);
    const objects = new Set((await a.log.entries({ from: before, to: head.size })).map((e) => e.object?.id));
    expect(objects.size).toBe(120);
  });
});
