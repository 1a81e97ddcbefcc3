import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeStorageContract } from './test-support/storage-contract.js';

describeStorageContract('SQLite file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mamori-sqlite-'));
  return { url: `sqlite:${join(dir, 'mamori.db')}`, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});
