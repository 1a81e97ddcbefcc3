/** @module `mamori serve` refuses to start unless the keystore's key-encryption key is supplied apart from the data, and starts with one that is. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ENTRY = "import('./src/cli/main.ts').then((m) => m.main(['node', 'mamori', ...process.argv.slice(1)]))";

/** Runs `mamori serve` until it exits or says it listens (then stops it with SIGTERM). */
function serve(env: Record<string, string>): Promise<{ code: number | null; out: string; listened: boolean }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', '-e', ENTRY, 'serve', '--port', '0'], {
      env: { ...process.env, MAMORI_LOG_LEVEL: 'info', MAMORI_COLLECTOR_ENABLED: 'false', MAMORI_SELECTION_KEK_BESIDE_DATA: 'false', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let listened = false;
    const seen = (d: Buffer): void => {
      out += d.toString();
      if (!listened && out.includes('mamori listening')) { listened = true; p.kill('SIGTERM'); }
    };
    p.stdout.on('data', seen);
    p.stderr.on('data', seen);
    const timer = setTimeout(() => p.kill('SIGKILL'), 50_000);
    p.on('exit', (code) => { clearTimeout(timer); resolve({ code, out, listened }); });
  });
}

describe('the key-encryption key, apart from the data', () => {
  it('serve without one exits 2 (configuration) saying how to supply it, and makes none', async () => {
    const data = mkdtempSync(join(tmpdir(), 'mamori-kek-'));
    const r = await serve({ MAMORI_DATA_DIR: data });
    expect(r.listened).toBe(false);
    expect(r.code).toBe(2);
    expect(r.out).toContain('No key-encryption key for the pseudonym keystore');
    expect(r.out).toContain('selection.kekFile');
    expect(existsSync(join(data, 'kek'))).toBe(false);
  }, 60_000);

  it('serve with a kekFile inside the data directory exits 2; with one apart from it, it starts', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mamori-kek-'));
    const data = join(root, 'data');
    const secure = join(root, 'secure');
    mkdirSync(data);
    mkdirSync(secure, { mode: 0o700 });
    writeFileSync(join(data, 'kek'), randomBytes(32).toString('hex'), { mode: 0o600 });
    writeFileSync(join(secure, 'kek'), randomBytes(32).toString('hex'), { mode: 0o600 });
    const inside = await serve({ MAMORI_DATA_DIR: data, MAMORI_SELECTION_KEK_FILE: join(data, 'kek') });
    expect(inside.code).toBe(2);
    expect(inside.out).toContain('lies inside');
    const apart = await serve({ MAMORI_DATA_DIR: data, MAMORI_SELECTION_KEK_FILE: join(secure, 'kek') });
    expect(apart.listened, apart.out).toBe(true);
    expect(apart.out).not.toContain('kekBesideData');
  }, 120_000);
});
