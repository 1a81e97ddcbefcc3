import { describe, expect, it } from 'vitest';
import { createTestCore } from '#server/test-support/harness.js';
import { systemContext } from '#platform/context/index.js';
import { seedDemo } from './seed.js';
import { DEMO_USERS } from './world.js';

describe('demo seed', () => {
  it('creates a world where every demo login works and every change is audited', async () => {
    const core = await createTestCore();
    try {
      const s = await seedDemo(core);
      expect(s.users).toBe(DEMO_USERS.length);
      const roles = new Set(DEMO_USERS.map((u) => u.role));
      expect(roles.size).toBe(11);
      for (const u of DEMO_USERS) {
        const r = await core.identity.login(systemContext('test'), { username: u.username, password: u.password });
        expect(r.ok, u.username).toBe(true);
      }
      const entries = await core.audit.entries({ from: 0, to: 10_000 });
      expect(entries.filter((e) => e.action === 'user:create')).toHaveLength(DEMO_USERS.length);
      // The commission (chair + 4) has one approved and one pending request and an emergency action to review.
      expect(DEMO_USERS.filter((u) => u.role === 'commissioner')).toHaveLength(5);
      const statuses = (await core.db.kysely.selectFrom('oversight_requests').select(['kind', 'status']).execute()) as { kind: string; status: string }[];
      expect(statuses).toEqual(expect.arrayContaining([{ kind: 'acquisition', status: 'approved' }, { kind: 'measure', status: 'submitted' }, { kind: 'emergency_review', status: 'submitted' }, { kind: 'acquisition', status: 'draft' }]));
    } finally {
      await core.close();
    }
  });
});
