import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createPrivateFileOnce } from './keys.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'mamori-keys-'));
  dirs.push(d);
  return d;
}

describe('createPrivateFileOnce', () => {
  it('creates the file 0600 in a 0700 directory once, and never replaces it', () => {
    const d = tmp();
    const p = join(d, 'keys', 'k.key');
    expect(createPrivateFileOnce(p, 'first')).toBe(true);
    expect(createPrivateFileOnce(p, 'second')).toBe(false);
    expect(readFileSync(p, 'utf8')).toBe('first');
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(statSync(join(d, 'keys')).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(d, 'keys'))).toEqual(['k.key']); // no temp file left behind
  });
});

describe('key creation at start across processes', () => {
  it('four processes creating the log, receipt and fingerprint keys at once on empty shared paths all use the same keys', async () => {
    const d = tmp();
    const go = join(d, 'go');
    const child = fileURLToPath(new URL('./test-support/key-race-child.ts', import.meta.url));
    const runs = Array.from({ length: 4 }, () => {
      const p = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', child, d, go], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      const done = new Promise<string>((resolve, reject) => p.on('exit', (code) => (code === 0 ? resolve(out.split('\n')[1] ?? '') : reject(new Error(`child exited ${code}`)))));
      const ready = new Promise<void>((resolve, reject) => {
        p.stdout.on('data', (b: Buffer) => {
          out += b.toString();
          if (out.startsWith('ready\n')) resolve();
        });
        done.catch(reject);
      });
      return { ready, done };
    });
    await Promise.all(runs.map((r) => r.ready));
    writeFileSync(go, '');
    const seen = (await Promise.all(runs.map((r) => r.done))).map((l) => JSON.parse(l) as { log: string; receipt: string; fingerprint: string });
    expect(seen).toHaveLength(4);
    for (const s of seen) expect(s).toEqual(seen[0]);
    // What is on disk is what every process uses.
    expect(readdirSync(join(d, 'keys')).sort()).toEqual(['audit-log.key', 'fingerprint.key', 'receipt.key']);
    expect(readFileSync(join(d, 'keys', 'fingerprint.key')).toString('hex').slice(0, 8)).toBe(seen[0]?.fingerprint);
  }, 60_000);
});
