import { describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { migrate, openDatabase, sql } from '#platform/db/index.js';
import { createPolicyEngine } from '#platform/policy/index.js';
import { createAuditLog } from '#modules/audit/index.js';
import { createIdentityService } from '#modules/identity/index.js';
import { ALL_MIGRATIONS } from './core.js';
import { TEST_PASSWORD_COST } from './test-support/harness.js';

describe('no change without its audit entry', () => {
  it('rolls back a user creation whose audit write fails, and keeps the log intact', async () => {
    const db = openDatabase({ url: ':memory:', dataDir: '.' });
    try {
      await migrate(db, ALL_MIGRATIONS);
      const clock = new ManualClock();
      const policy = createPolicyEngine();
      let failAudit = false;
      const audit = createAuditLog({ db, clock, policyHash: policy.hash, beforeWrite: () => { if (failAudit) throw new Error('disk full (injected)'); } });
      const identity = createIdentityService({ db, policy, audit, clock, settings: { sessionTtlMinutes: 60, maxFailedLogins: 5, backoffMaxSeconds: 300, loginRateLimitPerMinute: 20, tokenMaxDays: 30, passwordCost: TEST_PASSWORD_COST } });
      const ctx = systemContext('test');
      const count = async (t: string) => Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(t)}`.execute(db.kysely)).rows[0]!.n);

      await identity.createUser(ctx, { username: 'kept', displayName: 'Kept', password: 'correct horse battery staple', roles: ['analyst'], orgId: null });
      const before = { users: await count('users'), entries: await count('audit_entries'), head: await audit.head() };

      failAudit = true;
      await expect(identity.createUser(ctx, { username: 'lost', displayName: 'Lost', password: 'correct horse battery staple', roles: ['analyst'], orgId: null }))
        .rejects.toMatchObject({ code: 'AUDIT_WRITE_FAILED' });
      expect(await count('users')).toBe(before.users);
      expect((await sql<{ n: number }>`select count(*) as n from users where username = 'lost'`.execute(db.kysely)).rows[0]!.n).toBe(0);
      expect(await count('audit_entries')).toBe(before.entries);
      expect(await audit.head()).toEqual(before.head);

      // The log goes on from where it was: the next change is recorded at the next index.
      failAudit = false;
      await identity.createUser(ctx, { username: 'later', displayName: 'Later', password: 'correct horse battery staple', roles: ['analyst'], orgId: null });
      expect((await audit.head()).size).toBe(before.head.size + 1);
    } finally {
      await db.close();
    }
  });
});
