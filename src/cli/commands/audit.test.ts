import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import BetterSqlite from 'better-sqlite3';
import { parseConfig } from '#platform/config/index.js';
import { createLogger } from '#platform/logger/index.js';
import { startServer } from '#server/run.js';
import { main } from '../main.js';
import { proofTreeSize } from './audit.js';

async function run(config: string, ...args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out += String(s); return true; });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
  try {
    await main(['node', 'mamori', '--config', config, ...args]);
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { out, err, code };
}

describe('mamori audit', () => {
  afterEach(() => { process.exitCode = undefined; });

  it('checkpoints, witnesses, proves and verifies; names the first bad entry after tampering and refuses to witness a truncated log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mamori-cli-audit-'));
    const config = join(dir, 'm.yaml');
    writeFileSync(config, `dataDir: ${dir}\n`);
    for (const u of ['a-one', 'a-two', 'a-three']) expect((await run(config, 'user', 'add', '--username', u, '--role', 'analyst', '--generate-password')).code).toBe(0);

    const cp = await run(config, 'audit', 'checkpoint');
    expect(cp.code).toBe(0);
    expect(cp.out).toMatch(/^mamori\.go\.jp\/audit\n3\n\S{44}\n\n— mamori\.go\.jp\/audit \S+\n$/);
    expect(statSync(join(dir, 'keys', 'audit-log.key')).mode & 0o777).toBe(0o600);

    const w = await run(config, 'audit', 'witness');
    expect(w.code).toBe(0);
    expect(w.out).toContain('— commission.mamori.go.jp/witness ');
    expect(statSync(join(dir, 'keys', 'commission-witness.key')).mode & 0o777).toBe(0o600);

    const proof = await run(config, 'audit', 'proof', '--index', '1');
    expect(JSON.parse(proof.out)).toMatchObject({ leafIndex: 1, treeSize: 3 });
    expect((await run(config, 'audit', 'proof', '--index', '7')).code).toBe(2);

    writeFileSync(join(dir, 'outside.note'), cp.out);
    const ok = await run(config, 'audit', 'verify', '--checkpoint', join(dir, 'outside.note'));
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/audit log OK: 3 entries.*1 signed checkpoints \(1 co-signed by the witness\), external checkpoint matches/);

    const sqlite = new BetterSqlite(join(dir, 'mamori.db'));
    sqlite.prepare(`update audit_entries set entry = replace(entry, '"outcome":"success"', '"outcome":"failure"') where idx = 1`).run();
    const bad = await run(config, 'audit', 'verify');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/FAILED at entry 1: entry 1: .*edited/);

    sqlite.prepare('delete from audit_entries where idx >= 1').run();
    sqlite.prepare('update audit_head set size = 1').run();
    sqlite.prepare('delete from audit_checkpoints').run();
    sqlite.close();
    const cut = await run(config, 'audit', 'verify', '--checkpoint', join(dir, 'outside.note'));
    expect(cut.code).toBe(1);
    expect(cut.err).toMatch(/FAILED at entry 1: .*truncated/);
    // The log key's state file (outside the database) still knows size 3 was signed: no smaller checkpoint.
    const resign = await run(config, 'audit', 'checkpoint');
    expect(resign.code).toBe(1);
    expect(resign.err).toMatch(/signed a checkpoint of size 3 .* no longer stored/);
    // Even a checkpoint forged into the table is refused by the witness.
    const forged = new BetterSqlite(join(dir, 'mamori.db'));
    forged.prepare('insert into audit_checkpoints (size, root, note, created_at) values (?, ?, ?, ?)').run(1, 'x', cp.out.replace('\n3\n', '\n1\n'), 'now');
    forged.close();
    const refused = await run(config, 'audit', 'witness');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/Not co-signed: the checkpoint of size 1 has a bad log signature/);
  });

  it('fails a log truncated with its head and checkpoints rewritten to match, by the sizes signed outside the database, and the server refuses to start on it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mamori-cli-audit-'));
    const config = join(dir, 'm.yaml');
    writeFileSync(config, `dataDir: ${dir}\ncollector:\n  enabled: false\nserver:\n  port: 0\n`);
    for (const u of ['b-one', 'b-two', 'b-three']) expect((await run(config, 'user', 'add', '--username', u, '--role', 'analyst', '--generate-password')).code).toBe(0);
    expect((await run(config, 'audit', 'checkpoint')).code).toBe(0);
    expect((await run(config, 'audit', 'witness')).code).toBe(0);
    expect((await run(config, 'audit', 'verify')).code).toBe(0);

    // A consistent-looking shorter log: entries, head and checkpoints all say 1.
    const sqlite = new BetterSqlite(join(dir, 'mamori.db'));
    sqlite.prepare('delete from audit_entries where idx >= 1').run();
    sqlite.prepare('update audit_head set size = 1, last_leaf = (select leaf_hash from audit_entries where idx = 0)').run();
    sqlite.prepare('delete from audit_checkpoints').run();
    sqlite.close();
    const cut = await run(config, 'audit', 'verify');
    expect(cut.code).toBe(1);
    expect(cut.err).toMatch(/FAILED at entry 1: entry 1 is missing: the log holds 1 entries but the checkpoint of size 3 recorded in .*audit-log\.state\.json.* was signed \(truncated\)/);
    await expect(startServer(parseConfig({ dataDir: dir, selection: { kekBesideData: true }, collector: { enabled: false }, server: { port: 0 } }), { logger: createLogger({ level: 'silent' }) }))
      .rejects.toMatchObject({ code: 'AUDIT_VERIFY_FAILED', message: expect.stringContaining('the log was truncated. Refusing to start') as string });

    // Without the log's state file, the witness's co-signed size still catches it.
    rmSync(join(dir, 'keys', 'audit-log.state.json'));
    const byWitness = await run(config, 'audit', 'verify');
    expect(byWitness.code).toBe(1);
    expect(byWitness.err).toMatch(/the checkpoint of size 3 the witness co-signed .* was signed \(truncated\)/);
  });
});

describe('audit proof\'s tree size', () => {
  it('is the latest checkpoint\'s even when a server signs a larger head between the command\'s reads', async () => {
    // The log of 10 entries is signed at 10; once the command has read the head, the server appends 5 and signs 15.
    let size = 10;
    let signed = 10;
    const log = {
      latest: async () => ({ size: signed }),
      head: async () => {
        const seen = size;
        size = 15;
        signed = 15;
        return { size: seen };
      },
    };
    expect(await proofTreeSize(log, undefined)).toBe(10);
    expect(await proofTreeSize(log, 15)).toBe(15);
    await expect(proofTreeSize(log, 16)).rejects.toThrow('--size: give a tree size from 1 to 15.');
    await expect(proofTreeSize({ latest: async () => undefined, head: async () => ({ size: 0 }) }, undefined)).rejects.toThrow('No checkpoint yet');
  });
});
