/** What an API replica hears of its own cache drops (to pass on over NATS), and that a drop told by another replica is not passed on again. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CacheEvent } from './invalidation.js';
import { createTestCore, seedRoleUsers, type RoleUsers } from '#server/test-support/harness.js';
import type { Core } from '#server/core.js';

let core: Core;
let users: RoleUsers;

beforeAll(async () => {
  core = await createTestCore();
  users = await seedRoleUsers(core);
});
afterAll(async () => { await core.close(); });

describe('sharing cache events', () => {
  it('are told for council, membership and collection changes made here, and not for drops told by another replica', async () => {
    const heard: CacheEvent[] = [];
    const off = core.onCacheEvent((e) => heard.push(e));
    const d = users.ctx.nco_director;
    const bank = users.orgs['Council Member Bank']!;
    const g = await core.sharing.createGroup(d, { name: 'Replica events' });
    await core.sharing.addGroupMember(d, g.id, { orgId: bank, canRead: true, canWrite: false });
    await core.sharing.addCouncilMember(d, { orgId: bank, clients: [] });
    expect(heard.filter((e) => e.scope === 'all').length).toBeGreaterThanOrEqual(2);
    const draft = await core.sharing.draftFromIndicators(users.ctx.analyst, { title: 'replica events', indicators: [{ kind: 'ipv4', value: '203.0.113.5' }], tlp: 'amber', sourceRef: { type: 'finding', id: 'f-replica' } });
    await core.sharing.releaseDraft(d, draft.id, { groupIds: [g.id] });
    expect(heard).toContainEqual({ scope: 'pages', collectionId: g.id });
    const before = heard.length;
    core.sharing.applyCacheEvent({ scope: 'all' });
    core.sharing.applyCacheEvent({ scope: 'pages', collectionId: g.id });
    expect(heard).toHaveLength(before);
    off();
    await core.sharing.addCouncilMember(d, { orgId: bank, clients: [] });
    expect(heard).toHaveLength(before);
  });

  it('tell a checkpoint signed here, and serve one signed by another replica at once', async () => {
    const heard: CacheEvent[] = [];
    core.onCacheEvent((e) => heard.push(e));
    let signed = 0;
    core.onCheckpointSigned(() => { signed++; });
    await core.checkpointer.checkpointNow();
    expect(heard).toEqual([{ scope: 'checkpoint' }]);
    expect(signed).toBe(1);
    core.applyCacheEvent({ scope: 'checkpoint' });
    expect(signed).toBe(2);
    expect(heard).toHaveLength(1);
  });
});
