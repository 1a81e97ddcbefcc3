import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InjectOptions } from 'fastify';
import { systemContext } from '#platform/context/index.js';
import { createTestApp } from '#server/test-support/harness.js';

interface CaseView {
  id: string; ownerId: string; ownerName: string | null; createdBy: string; createdByName: string | null;
  items: { id: string; addedBy: string; addedByName: string | null }[];
  notes: { authorId: string; authorName: string | null }[];
}

describe('cases name their people over HTTP', () => {
  let t: Awaited<ReturnType<typeof createTestApp>>;
  let ids: Record<string, string>;
  const call = async (token: string, o: InjectOptions) => t.app.fastify.inject({ ...o, headers: { ...(o.headers ?? {}), authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    t = await createTestApp();
    const users = await t.core.identity.listUsers(systemContext('test'));
    ids = Object.fromEntries(users.map((u) => [u.username, u.id]));
  });
  afterAll(async () => { await t.close(); });

  it('gives owner, creator, item and note authors by display name, attributing a token to its user', async () => {
    const analyst = t.users.tokens.analyst;
    const director = t.users.tokens.nco_director;
    const open = await call(analyst, { method: 'POST', url: '/api/v1/cases', payload: { title: 'Beacon to 203.0.113.66' } });
    expect(open.statusCode, open.body).toBe(201);
    const c = open.json() as CaseView;
    expect(c).toMatchObject({ ownerId: ids['analyst'], ownerName: 'Test analyst', createdBy: ids['analyst'], createdByName: 'Test analyst' });

    const noted = await call(director, { method: 'POST', url: `/api/v1/cases/${c.id}/notes`, payload: { text: 'Check the other hosts.' } });
    expect(noted.statusCode, noted.body).toBe(200);
    expect((noted.json() as CaseView).notes).toEqual([expect.objectContaining({ authorId: ids['nco-director'], authorName: 'Test nco_director' })]);
    const item = await call(director, { method: 'POST', url: `/api/v1/cases/${c.id}/items`, payload: { type: 'report', id: 'r-1' } });
    expect((item.json() as CaseView).items).toEqual([expect.objectContaining({ id: 'r-1', addedBy: ids['nco-director'], addedByName: 'Test nco_director' })]);

    const moved = await call(director, { method: 'PATCH', url: `/api/v1/cases/${c.id}`, payload: { ownerId: ids['nco-director'] } });
    expect(moved.json()).toMatchObject({ ownerName: 'Test nco_director', createdByName: 'Test analyst' });

    const list = (await call(t.users.tokens.commissioner, { method: 'GET', url: '/api/v1/cases' })).json() as { items: CaseView[] };
    expect(list.items.find((x) => x.id === c.id)).toMatchObject({ ownerName: 'Test nco_director', createdByName: 'Test analyst' });
    const one = (await call(t.users.tokens.commissioner, { method: 'GET', url: `/api/v1/cases/${c.id}` })).json() as CaseView;
    expect(one).toMatchObject({ ownerName: 'Test nco_director', notes: [{ authorName: 'Test nco_director' }], items: [{ addedByName: 'Test nco_director' }] });
  });

  it('leaves the name empty for an owner id that names no user, and keeps others out', async () => {
    const open = await call(t.users.tokens.analyst, { method: 'POST', url: '/api/v1/cases', payload: { title: 'Handed to a team', ownerId: 'team-desk' } });
    expect(open.statusCode, open.body).toBe(201);
    expect(open.json()).toMatchObject({ ownerId: 'team-desk', ownerName: null, createdByName: 'Test analyst' });
    expect((await call(t.users.tokens.operator, { method: 'GET', url: '/api/v1/cases' })).statusCode).toBe(403);
    expect((await call(t.users.tokens.admin, { method: 'GET', url: '/api/v1/cases' })).statusCode).toBe(403);
  });
});
