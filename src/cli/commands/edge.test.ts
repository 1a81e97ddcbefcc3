/** `mamori collect --publish` refuses to start without what an edge needs, saying what to set, before touching the network. */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../main.js';

const dir = mkdtempSync(join(tmpdir(), 'mamori-edge-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[], config: string): Promise<{ code: number; err: string }> {
  let err = '';
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
  const o = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    writeFileSync(join(dir, 'edge.yaml'), config);
    await main(['node', 'mamori', '--config', join(dir, 'edge.yaml'), 'collect', '--publish', 'nats://127.0.0.1:1', '--edge-id', 'e1', ...args]);
  } finally {
    e.mockRestore();
    o.mockRestore();
  }
  return { code: Number(process.exitCode ?? 0), err };
}

describe('collect --publish (an edge)', () => {
  afterEach(() => { process.exitCode = undefined; });

  it('refuses to start without the key-wrapping key, naming the setting', async () => {
    const r = await run([], `dataDir: ${dir}\n`);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('cluster.keyWrapFile');
    expect(r.err).toContain('MAMORI_CLUSTER_KEY_WRAP_FILE');
  });

  it('refuses a key-wrapping file others may read, or one that is not a key', async () => {
    const f = join(dir, 'wrap');
    writeFileSync(f, 'x'.repeat(32), { mode: 0o644 });
    chmodSync(f, 0o644);
    let r = await run([], `dataDir: ${dir}\ncluster:\n  keyWrapFile: ${f}\n`);
    expect(r.err).toContain(`chmod 600 ${f}`);
    chmodSync(f, 0o600);
    writeFileSync(f, 'short');
    r = await run([], `dataDir: ${dir}\ncluster:\n  keyWrapFile: ${f}\n`);
    expect(r.err).toContain('must hold 32 random bytes or 64 hex digits');
  });
});
