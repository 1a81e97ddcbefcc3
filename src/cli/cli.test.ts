import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildProgram, main } from './main.js';

function allCommands(c: Command, prefix: string[] = []): string[][] {
  return c.commands.flatMap((sub) => [[...prefix, sub.name()], ...allCommands(sub, [...prefix, sub.name()])]);
}

function capture(): { out: () => string; err: () => string; restore: () => void } {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out += String(s); return true; });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
  return { out: () => out, err: () => err, restore: () => { o.mockRestore(); e.mockRestore(); } };
}

describe('mamori command', () => {
  afterEach(() => { process.exitCode = undefined; });

  it('has --help on every subcommand, each with a description', async () => {
    const commands = allCommands(buildProgram());
    for (const want of [['serve'], ['demo'], ['migrate'], ['config'], ['version'], ['user', 'add'], ['user', 'list'], ['user', 'disable'], ['token', 'create'], ['token', 'revoke']]) {
      expect(commands.map((c) => c.join(' '))).toContain(want.join(' '));
    }
    for (const path of commands) {
      const cap = capture();
      try {
        await main(['node', 'mamori', ...path, '--help']);
      } finally {
        cap.restore();
      }
      expect(cap.out(), path.join(' ')).toMatch(/^Usage: mamori /);
      expect(process.exitCode ?? 0, path.join(' ')).toBe(0);
    }
  });

  it('prints the effective configuration with secrets redacted', async () => {
    const cap = capture();
    const prev = process.env['MAMORI_DATABASE_URL'];
    process.env['MAMORI_DATABASE_URL'] = 'postgres://mamori:s3cret-pw@127.0.0.1/x';
    try {
      await main(['node', 'mamori', 'config', '--json']);
    } finally {
      cap.restore();
      if (prev === undefined) delete process.env['MAMORI_DATABASE_URL'];
      else process.env['MAMORI_DATABASE_URL'] = prev;
    }
    expect(cap.out()).not.toContain('s3cret-pw');
    expect(JSON.parse(cap.out())).toMatchObject({ server: { port: 8080 }, database: { url: 'postgres://mamori:redacted@127.0.0.1/x' } });
  });

  it('rejects a bad configuration file with exit code 2 and the key to fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mamori-cli-'));
    writeFileSync(join(dir, 'm.yaml'), 'server:\n  hots: 0.0.0.0\n');
    const cap = capture();
    try {
      await main(['node', 'mamori', '--config', join(dir, 'm.yaml'), 'config']);
    } finally {
      cap.restore();
    }
    expect(process.exitCode).toBe(2);
    expect(cap.err()).toContain('server.hots');
    expect(cap.err()).toContain('server.host');
  });

  it('manages users and tokens from the host, on a database under a data directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mamori-cli-'));
    writeFileSync(join(dir, 'm.yaml'), `dataDir: ${dir}\n`);
    const run = async (...args: string[]) => {
      const cap = capture();
      try {
        await main(['node', 'mamori', '--config', join(dir, 'm.yaml'), ...args]);
      } finally {
        cap.restore();
      }
      const code = process.exitCode ?? 0;
      process.exitCode = undefined;
      return { out: cap.out(), err: cap.err(), code };
    };
    const added = await run('user', 'add', '--username', 'root-admin', '--role', 'admin', '--generate-password');
    expect(added.code).toBe(0);
    expect(added.out).toMatch(/created user root-admin \(admin\)/);
    expect(added.out).toMatch(/password: \S{20,}/);
    const badRole = await run('user', 'add', '--username', 'x-user', '--role', 'wizard', '--generate-password');
    expect(badRole.code).toBe(2);
    expect(badRole.err).toContain('unknown role wizard');
    const token = await run('token', 'create', '--user', 'root-admin', '--name', 'ci');
    expect(token.out).toMatch(/^token id (\S+),/);
    const id = /^token id (\S+),/.exec(token.out)![1]!;
    expect((await run('token', 'revoke', id)).out).toContain(`revoked token ${id}`);
    expect((await run('user', 'list')).out).toMatch(/root-admin\s+admin\s+active/);
    expect((await run('user', 'disable', 'root-admin')).out).toContain('disabled root-admin');
    expect((await run('user', 'disable', 'nobody')).err).toContain('No user "nobody"');
  });
});
