import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '#platform/config/index.js';
import { systemContext } from '#platform/context/index.js';
import { createLogger } from '#platform/logger/index.js';
import { loadOrCreateSignerKey } from '#modules/audit/index.js';
import { startServer } from './run.js';

const WITNESS = 'commission.test.example/witness';

function config(dataDir: string, keyFile: string) {
  return parseConfig({
    dataDir, selection: { kekBesideData: true }, server: { host: '127.0.0.1', port: 0 }, collector: { enabled: false },
    audit: { witnessEverySeconds: 1, witnessKeyFile: keyFile, witnessName: WITNESS },
  });
}

describe('the witness inside mamori serve', () => {
  it('co-signs new checkpoints on its timer; the API publishes the witness key and serves the co-signed note', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mamori-witness-serve-'));
    const keyFile = join(dataDir, 'commission', 'witness.key');
    loadOrCreateSignerKey(keyFile, WITNESS, 0x04); // the commission's key, handed to the deployment
    const server = await startServer(config(dataDir, keyFile), { logger: createLogger({ level: 'silent' }), passwordCost: { logN: 10, r: 8, p: 1 } });
    try {
      const keys = (await (await fetch(`${server.address}/api/v1/audit/keys`)).json()) as { witness: string | null };
      expect(keys.witness).toMatch(/^commission\.test\.example\/witness\+/);
      await server.core.audit.record(systemContext('test'), { action: 'test:act', object: { type: 'Thing', id: 't1' }, outcome: 'success' });
      const cp = await server.core.checkpointer.checkpointNow();
      expect(cp).toBeDefined();
      let note = '';
      for (let i = 0; i < 100 && !note.includes(`— ${WITNESS} `); i++) {
        await new Promise((r) => setTimeout(r, 100));
        note = await (await fetch(`${server.address}/api/v1/audit/checkpoint?format=note`)).text();
      }
      expect(note).toContain(`— ${WITNESS} `);
      expect(note.startsWith(cp!.note.split('\n\n')[0]!)).toBe(true);
    } finally {
      await server.stop();
    }
  }, 30_000);

  it('refuses to start when the key file is missing, before opening anything, and never creates the key', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mamori-witness-serve-'));
    const keyFile = join(dataDir, 'commission', 'witness.key');
    await expect(startServer(config(dataDir, keyFile), { logger: createLogger({ level: 'silent' }) })).rejects.toThrow(/audit.witnessEverySeconds is set but the witness key file .* does not exist/);
    expect(existsSync(keyFile)).toBe(false);
  });
});
