import { chmodSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from '#platform/db/index.js';
import { openCheckpoint, parseVerifierKey } from './checkpoint.js';
import { createCheckpointer, listCheckpoints } from './checkpointer.js';
import { loadOrCreateSignerKey } from './keys.js';
import type { AuditLog } from './log.js';
import { verifyAuditLog } from './verify.js';
import { createAuditFixture, events, type AuditFixture } from './test-support/fixture.js';

let f: AuditFixture | undefined;
afterEach(async () => { await f?.close(); f = undefined; });

describe('checkpointer', () => {
  it('creates the log key on first start with mode 0600 in a 0700 directory, outside the database, and reuses it', async () => {
    f = await createAuditFixture();
    await f.checkpointer.start();
    const keyFile = join(f.dir, 'keys', 'audit-log.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(keyFile)).mode & 0o777).toBe(0o700);
    const vkey = f.checkpointer.verifierKeyString();
    expect(parseVerifierKey(vkey).ok).toBe(true);
    expect(vkey.startsWith('test.mamori.example/audit+')).toBe(true);
    const again = await createAuditFixture({ dir: f.dir });
    expect(again.checkpointer.verifierKeyString()).toBe(vkey);
    await again.close();
    const dump = (await sql<{ note: string }>`select note from audit_checkpoints`.execute(f.db.kysely)).rows.map((r) => r.note).join('');
    expect(dump).not.toContain(readFileSync(keyFile, 'utf8').split('\n')[1]);
  });

  it('refuses a key file others can read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mamori-key-'));
    const path = join(dir, 'k.key');
    loadOrCreateSignerKey(path, 'x.example/log', 0x01);
    chmodSync(path, 0o644);
    expect(() => loadOrCreateSignerKey(path, 'x.example/log', 0x01)).toThrow(/chmod 600/);
  });

  it('signs every N entries or T seconds, whichever comes first, and on demand', async () => {
    f = await createAuditFixture({ everyEntries: 10, everySeconds: 60 });
    await f.log.recordMany(f.ctx, events(9));
    expect(await f.checkpointer.maybeCheckpoint()).toBeUndefined();
    await f.log.record(f.ctx, events(1, 9)[0]!);
    expect((await f.checkpointer.maybeCheckpoint())?.size).toBe(10);
    await f.log.recordMany(f.ctx, events(3, 10));
    expect(await f.checkpointer.maybeCheckpoint()).toBeUndefined();
    f.clock.advance(60_000);
    expect((await f.checkpointer.maybeCheckpoint())?.size).toBe(13);
    f.clock.advance(120_000);
    expect(await f.checkpointer.maybeCheckpoint()).toBeUndefined(); // nothing new to sign
    await f.log.record(f.ctx, events(1, 13)[0]!);
    const now = await f.checkpointer.checkpointNow();
    expect(now?.size).toBe(14);
    const opened = openCheckpoint(now!.note, f.checkpointer.verifier());
    expect(opened.ok && opened.value.checkpoint.size).toBe(14);
    expect(Buffer.from(opened.ok ? opened.value.checkpoint.rootHash : []).toString('base64')).toBe((await f.log.head()).root);
    expect((await listCheckpoints(f.db.kysely)).map((c) => c.size)).toEqual([10, 13, 14]);
  });

  it('runs on a timer between start() and stop()', async () => {
    f = await createAuditFixture({ everyEntries: 5, everySeconds: 3600 });
    const cp = f.checkpointer;
    await f.log.recordMany(f.ctx, events(5));
    await cp.start();
    await new Promise((r) => setTimeout(r, 1300));
    await cp.stop();
    expect((await cp.latest())?.size).toBe(5);
  });

  it('signs beside another replica that signs a larger head between its reads (same log, key and state file)', async () => {
    f = await createAuditFixture();
    const fx = f;
    await fx.log.recordMany(fx.ctx, events(4));
    // The other replica: its own checkpointer on the same database, key file and state file.
    const other = createCheckpointer(
      { origin: 'test.mamori.example/audit', everyEntries: 1000, everySeconds: 300, keyFile: join(fx.dir, 'keys', 'audit-log.key') },
      { db: fx.db, log: fx.log, clock: fx.clock },
    );
    // This replica's head() returns what it read, after the log grew and the other replica signed the larger head:
    // the interleaving of two API replicas appending and signing at once (it failed CI as "entries were removed").
    const racing: AuditLog = {
      ...fx.log,
      head: async () => {
        const seen = await fx.log.head();
        await fx.log.recordMany(fx.ctx, events(5, 100));
        await other.checkpointNow();
        return seen;
      },
    };
    const mine = createCheckpointer(
      { origin: 'test.mamori.example/audit', everyEntries: 1000, everySeconds: 300, keyFile: join(fx.dir, 'keys', 'audit-log.key') },
      { db: fx.db, log: racing, clock: fx.clock },
    );
    await mine.checkpointNow();
    await mine.checkpointNow();
    expect((await listCheckpoints(fx.db.kysely)).map((c) => c.size)).toEqual([4, 9, 14]);
    const report = await verifyAuditLog(fx.db, { logKey: mine.verifier() });
    expect(report).toMatchObject({ ok: true, size: 14, checkpoints: 3 });
  });

  it('never signs a size below the last checkpoint, nor a tree inconsistent with it', async () => {
    f = await createAuditFixture();
    await f.log.recordMany(f.ctx, events(6));
    await f.checkpointer.checkpointNow();
    // Truncate behind the log's back: the next checkpoint is refused.
    await sql`delete from audit_entries where idx >= 4`.execute(f.db.kysely);
    await sql`update audit_head set size = 4`.execute(f.db.kysely);
    await expect(f.checkpointer.checkpointNow()).rejects.toThrow(/entries were removed/);
    expect((await listCheckpoints(f.db.kysely)).map((c) => c.size)).toEqual([6]);
  });

  it('refuses to sign when the stored tree no longer extends the last signed root', async () => {
    f = await createAuditFixture();
    await f.log.recordMany(f.ctx, events(4));
    await f.checkpointer.checkpointNow();
    await f.log.recordMany(f.ctx, events(4, 4));
    // Rewrite the subtrees closed by entry 7 (entries 4–7 and 0–7): the new root no longer extends the signed one.
    await sql`update audit_entries set nodes = zeroblob(96) where idx = 7`.execute(f.db.kysely);
    await expect(f.checkpointer.checkpointNow()).rejects.toThrow(/not consistent with the checkpoint of size 4/);
    expect((await listCheckpoints(f.db.kysely)).map((c) => c.size)).toEqual([4]);
  });
});
