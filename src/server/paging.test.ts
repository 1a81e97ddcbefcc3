import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describePagingContract } from './test-support/paging-contract.js';

describePagingContract('SQLite file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mamori-paging-'));
  return { url: `sqlite:${join(dir, 'mamori.db')}`, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});
