import { describePagingContract } from './test-support/paging-contract.js';
import { createFreshPgDatabase } from './test-support/pg.js';

describePagingContract('PostgreSQL', async () => {
  const db = await createFreshPgDatabase();
  return { url: db.url, cleanup: db.drop };
});
