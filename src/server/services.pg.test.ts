import { describeServiceContract } from './test-support/service-contract.js';
import { createFreshPgDatabase } from './test-support/pg.js';

describeServiceContract('PostgreSQL', async () => {
  const db = await createFreshPgDatabase();
  return { url: db.url, cleanup: db.drop };
});
