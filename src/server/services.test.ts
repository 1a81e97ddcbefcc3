import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeServiceContract } from './test-support/service-contract.js';

describeServiceContract('SQLite file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mamori-sqlite-services-'));
  return { url: `sqlite:${join(dir, 'mamori.db')}`, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});
