import { describeStorageContract } from './test-support/storage-contract.js';
import { createFreshPgDatabase } from './test-support/pg.js';

describeStorageContract('PostgreSQL', async () => {
  const db = await createFreshPgDatabase();
  return { url: db.url, cleanup: db.drop };
});
