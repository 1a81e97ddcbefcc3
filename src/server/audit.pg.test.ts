import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '#platform/context/index.js';
import { sql, type Database } from '#platform/db/index.js';
import { verifyAuditLog, verifyInclusion, type AuditEvent } from '#modules/audit/index.js';
import { createCheckpointer, readLogState } from '#modules/audit/checkpointer.js';
import { defaultLogKeyPath } from '#modules/audit/keys.js';
import type { Core } from './core.js';
import { createTestCore } from './test-support/harness.js';
import { createFreshPgDatabase } from './test-support/pg.js';

describe('audit log on PostgreSQL: checkpoints, proofs and verify', () => {
  let core: Core;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const db = await createFreshPgDatabase();
    drop = db.drop;
    core = await createTestCore({ url: db.url, config: { dataDir: mkdtempSync(join(tmpdir(), 'mamori-pg-audit-')) } });
  });
  afterAll(async () => { await core?.close(); await drop?.(); });

  it('signs, proves, verifies, and names an edited entry', async () => {
    const ctx = systemContext('pg-test');
    const ev = (i: number): AuditEvent => ({ action: 'test:act', object: { type: 'Thing', id: `t-${i}` }, outcome: 'success' });
    await core.audit.recordMany(ctx, Array.from({ length: 37 }, (_, i) => ev(i)));
    const first = (await core.checkpointer.checkpointNow())!;
    for (let i = 0; i < 5; i++) await core.audit.record(ctx, ev(100 + i));
    const cp = (await core.checkpointer.checkpointNow())!;
    expect(cp.size).toBe(first.size + 5);
    const p = await core.audit.inclusionProof(20, cp.size);
    expect(verifyInclusion(Buffer.from(p.leafHash, 'base64'), 20, cp.size, p.proof.map((x) => Buffer.from(x, 'base64')), Buffer.from(cp.root, 'base64'))).toBe(true);
    const ok = await verifyAuditLog(core.db, { logKey: core.checkpointer.verifier(), pageSize: 10 });
    expect(ok).toMatchObject({ ok: true, checkpoints: 2 });
    await sql`update audit_entries set entry = replace(entry, 't-13', 't-99') where idx = 13`.execute(core.db.kysely);
    const bad = await verifyAuditLog(core.db, { logKey: core.checkpointer.verifier(), pageSize: 10 });
    expect(bad.problem?.index).toBe(13);
  });

  it('verifies while another replica appends and signs between its reads: the log as it was when the run began', async () => {
    const ctx = systemContext('pg-test');
    await core.audit.recordMany(ctx, Array.from({ length: 3 }, (_, i) => ({ action: 'test:act', object: { type: 'Thing', id: `u-${i}` }, outcome: 'success' })));
    // The test above left entry 13 edited: put it back.
    await sql`update audit_entries set entry = replace(entry, 't-99', 't-13') where idx = 13`.execute(core.db.kysely);
    const before = await core.audit.head();
    // Right after verify reads the head, another replica (other connections of the pool) appends and signs a larger head:
    // before the run read one snapshot, the new entries were past the head it read ("inserted").
    let raced = false;
    const racing: Database = {
      ...core.db,
      kysely: core.db.kysely.withPlugin({
        transformQuery: (a) => a.node,
        transformResult: async (a) => {
          if (!raced && a.result.rows[0] !== undefined && 'last_leaf' in a.result.rows[0]) {
            raced = true;
            await core.audit.recordMany(ctx, Array.from({ length: 6 }, (_, i) => ({ action: 'test:act', object: { type: 'Thing', id: `v-${i}` }, outcome: 'success' })));
            await core.checkpointer.checkpointNow();
          }
          return a.result;
        },
      }),
    };
    const during = await verifyAuditLog(racing, { logKey: core.checkpointer.verifier(), pageSize: 10 });
    expect(raced).toBe(true);
    expect(during.problem).toBeUndefined();
    expect(during).toMatchObject({ ok: true, size: before.size, checkpoints: 2 });
    expect(await verifyAuditLog(core.db, { logKey: core.checkpointer.verifier(), pageSize: 10 })).toMatchObject({ ok: true, size: before.size + 6, checkpoints: 3 });
  });

  it('keeps the largest signed tree in the state file when another replica records a larger one between its insert and its write', async () => {
    const ctx = systemContext('pg-test');
    const keyFile = core.config.audit.keyFile ?? defaultLogKeyPath(core.config.dataDir);
    await core.audit.recordMany(ctx, [{ action: 'test:act', object: { type: 'Thing', id: 'w-0' }, outcome: 'success' }]);
    const mine = (await core.audit.head()).size;
    // This replica's checkpoint row is stored; before it writes the state file, the other replica (core's checkpointer,
    // same key file) appends, signs the larger head and records it.
    const inserts = new Set<unknown>();
    let raced = false;
    const racing: Database = {
      ...core.db,
      kysely: core.db.kysely.withPlugin({
        transformQuery: (a) => {
          if (a.node.kind === 'InsertQueryNode' && a.node.into?.table.identifier.name === 'audit_checkpoints') inserts.add(a.queryId);
          return a.node;
        },
        transformResult: async (a) => {
          if (!raced && inserts.has(a.queryId)) {
            raced = true;
            await core.audit.recordMany(ctx, [{ action: 'test:act', object: { type: 'Thing', id: 'w-1' }, outcome: 'success' }]);
            await core.checkpointer.checkpointNow();
          }
          return a.result;
        },
      }),
    };
    const replica = createCheckpointer({ origin: core.checkpointer.origin, everyEntries: 1000, everySeconds: 300, keyFile }, { db: racing, log: core.audit, clock: core.clock });
    expect((await replica.checkpointNow())?.size).toBe(mine);
    expect(raced).toBe(true);
    expect(readLogState(keyFile)?.size).toBe(mine + 1);
  });
});
