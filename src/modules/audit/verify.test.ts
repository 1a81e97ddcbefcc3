import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sql } from '#platform/db/index.js';
import { signCheckpoint, generateSignerKey } from './checkpoint.js';
import { createAuditFixture, events, type AuditFixture } from './test-support/fixture.js';
import { verifyAuditLog } from './verify.js';

/** A random log: entries written through the log in random batches, checkpoints at random points. */
const logShape = fc.record({
  batches: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 8 }),
  checkpointAfter: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
});

async function build(shape: { batches: number[]; checkpointAfter: boolean[] }): Promise<{ f: AuditFixture; size: number; checkpoints: number[] }> {
  const f = await createAuditFixture();
  let size = 0;
  const checkpoints: number[] = [];
  for (const [b, n] of shape.batches.entries()) {
    if (n === 1) await f.log.record(f.ctx, events(1, size)[0]!);
    else await f.log.recordMany(f.ctx, events(n, size));
    size += n;
    if (shape.checkpointAfter[b] === true) checkpoints.push((await f.checkpointer.checkpointNow())!.size);
  }
  return { f, size, checkpoints };
}

const verify = (f: AuditFixture, pageSize = 7, externalCheckpoint?: string) =>
  verifyAuditLog(f.db, { logKey: f.checkpointer.verifier(), pageSize, ...(externalCheckpoint !== undefined ? { externalCheckpoint } : {}) });

type Row = { idx: number; entry: string };
const entryText = async (f: AuditFixture, i: number) => ((await sql<Row>`select idx, entry from audit_entries where idx = ${i}`.execute(f.db.kysely)).rows[0]!).entry;

describe('mamori audit verify', () => {
  it('accepts every intact log, with its checkpoints', async () => {
    await fc.assert(fc.asyncProperty(logShape, async (shape) => {
      const { f, size, checkpoints } = await build(shape);
      try {
        const r = await verify(f);
        expect(r.problem).toBeUndefined();
        expect(r).toMatchObject({ ok: true, size, checkpoints: new Set(checkpoints).size });
        expect(r.root).toBe((await f.log.head()).root);
      } finally { await f.close(); }
    }), { numRuns: 40 });
  });

  it('names the changed entry after a random single-byte change to any stored entry text', async () => {
    await fc.assert(fc.asyncProperty(logShape, fc.nat(), fc.nat(), fc.integer({ min: 0x20, max: 0x7e }), async (shape, pickEntry, pickByte, byte) => {
      const { f, size } = await build(shape);
      try {
        const i = pickEntry % size;
        const text = await entryText(f, i);
        const pos = pickByte % text.length;
        const ch = String.fromCharCode(byte === text.charCodeAt(pos) ? (byte === 0x7e ? 0x20 : byte + 1) : byte);
        const edited = text.slice(0, pos) + ch + text.slice(pos + 1);
        await sql`update audit_entries set entry = ${edited} where idx = ${i}`.execute(f.db.kysely);
        const r = await verify(f);
        expect(r.ok).toBe(false);
        expect(r.problem?.index).toBe(i);
      } finally { await f.close(); }
    }), { numRuns: 60 });
  });

  it('names the deleted entry, and the first of two swapped entries', async () => {
    await fc.assert(fc.asyncProperty(logShape, fc.nat(), fc.nat(), fc.boolean(), async (shape, a, b, swap) => {
      const { f, size } = await build(shape);
      try {
        const i = a % size;
        const j = b % size;
        if (swap) {
          if (i === j) return;
          // Swap every stored column except the position: the entries change places wholesale.
          const cols = 'time, actor_kind, actor_id, actor_user, action, object_type, object_id, legal_basis, outcome, request_id, entry, leaf_hash, nodes';
          await sql.raw(`create temp table t as select idx, ${cols} from audit_entries where idx in (${i}, ${j})`).execute(f.db.kysely);
          for (const [x, y] of [[i, j], [j, i]] as const) {
            await sql.raw(`update audit_entries set (${cols}) = (select ${cols} from t where idx = ${y}) where idx = ${x}`).execute(f.db.kysely);
          }
          await sql`drop table t`.execute(f.db.kysely);
        } else {
          await sql`delete from audit_entries where idx = ${i}`.execute(f.db.kysely);
        }
        const r = await verify(f);
        expect(r.ok).toBe(false);
        expect(r.problem?.index).toBe(swap ? Math.min(i, j) : i);
      } finally { await f.close(); }
    }), { numRuns: 60 });
  });

  it('names the first missing entry when the log is truncated below a signed checkpoint, even with a rewritten head', async () => {
    await fc.assert(fc.asyncProperty(logShape, fc.nat(), async (shape, pick) => {
      const { f, checkpoints } = await build({ ...shape, checkpointAfter: shape.checkpointAfter.map(() => true) });
      try {
        const signed = Math.max(...checkpoints);
        const k = pick % signed;
        await sql`delete from audit_entries where idx >= ${k}`.execute(f.db.kysely);
        const last = k === 0 ? null : ((await sql<{ leaf_hash: Uint8Array }>`select leaf_hash from audit_entries where idx = ${k - 1}`.execute(f.db.kysely)).rows[0]!.leaf_hash);
        await sql`update audit_head set size = ${k}, last_leaf = ${last}`.execute(f.db.kysely);
        // A careful intruder also drops the checkpoints above the cut; the external copy still catches it.
        const external = (await f.checkpointer.latest())!.note;
        await sql`delete from audit_checkpoints where size > ${k}`.execute(f.db.kysely);
        const r = await verify(f, 7, external);
        expect(r.ok).toBe(false);
        expect(r.problem?.index).toBe(k);
        expect(r.problem?.reason).toMatch(/truncated/);
      } finally { await f.close(); }
    }), { numRuns: 40 });
  });

  it('detects an entry appended behind the head, a bad indexed column, wrong stored nodes, and a forged checkpoint', async () => {
    const { f } = await build({ batches: [8, 5], checkpointAfter: [true, false] });
    try {
      const r0 = await verify(f);
      expect(r0.ok).toBe(true);
      await sql`update audit_entries set actor_id = 'someone-else' where idx = 3`.execute(f.db.kysely);
      expect((await verify(f)).problem).toMatchObject({ index: 3, reason: expect.stringMatching(/actor_id/) });
      await sql`update audit_entries set actor_id = 'test' where idx = 3`.execute(f.db.kysely);
      await sql`update audit_entries set nodes = zeroblob(96) where idx = 7`.execute(f.db.kysely);
      expect((await verify(f)).problem).toMatchObject({ index: 7, reason: expect.stringMatching(/subtree/) });
    } finally { await f.close(); }

    const g = (await build({ batches: [6], checkpointAfter: [true] })).f;
    try {
      const row = (await sql<Record<string, unknown>>`select * from audit_entries where idx = 5`.execute(g.db.kysely)).rows[0]!;
      await g.db.kysely.insertInto('audit_entries').values({ ...row, idx: 6 }).execute();
      expect((await verify(g)).problem).toMatchObject({ index: 6, reason: expect.stringMatching(/beyond the log's head/) });
      await sql`delete from audit_entries where idx = 6`.execute(g.db.kysely);
      // A checkpoint signed by another key, or with an edited root, is named as such.
      const forged = signCheckpoint({ origin: 'test.mamori.example/audit', size: 6, rootHash: new Uint8Array(32), extensions: [] }, generateSignerKey('test.mamori.example/audit'));
      await sql`update audit_checkpoints set note = ${forged} where size = 6`.execute(g.db.kysely);
      expect((await verify(g)).problem).toMatchObject({ index: null, reason: expect.stringMatching(/checkpoint of size 6/) });
    } finally { await g.close(); }
  });

  it('detects a history rewritten with recomputed hashes through the signed root', async () => {
    const a = await build({ batches: [5, 5], checkpointAfter: [true, true] });
    try {
      // Rewrite entry 2 and recompute every hash and node: only the signed checkpoints can tell.
      const b = await createAuditFixture({ dir: a.f.dir });
      try {
        await b.log.recordMany(b.ctx, events(2, 0));
        await b.log.recordMany(b.ctx, events(8, 100));
        for (const t of ['audit_entries', 'audit_head']) await sql.raw(`delete from ${t}`).execute(a.f.db.kysely);
        const rows = (await sql<Record<string, unknown>>`select * from audit_entries`.execute(b.db.kysely)).rows;
        await a.f.db.kysely.insertInto('audit_entries').values(rows).execute();
        const head = (await sql<Record<string, unknown>>`select * from audit_head`.execute(b.db.kysely)).rows;
        await a.f.db.kysely.insertInto('audit_head').values(head).execute();
        const r = await verify(a.f);
        expect(r.ok).toBe(false);
        expect(r.problem?.index).toBe(4);
        expect(r.problem?.reason).toMatch(/root of the signed checkpoint of size 5/);
      } finally { await b.close(); }
    } finally { await a.f.close(); }
  });
});
