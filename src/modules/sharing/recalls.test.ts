/** @module Recall notices over HTTP: a recipient sees its own, named and paged, and confirms deletion once; the NCO and the commission see all. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '#platform/context/index.js';
import { createTestApp } from '#server/test-support/harness.js';

describe('recall notices', () => {
  let t: Awaited<ReturnType<typeof createTestApp>>;
  let basisTitle = '';
  beforeAll(async () => {
    t = await createTestApp();
    const sys = systemContext('test');
    const basis = await t.core.selection.createBasis(sys, {
      kind: 'cross_border_approval', title: 'C2 investigation (revoked)', createdBy: 'request-test', selectors: { foreignPrefixes: ['45.33.32.0/24'] },
      validFrom: '2026-03-01T00:00:00.000Z', validUntil: '2026-05-01T00:00:00.000Z', allowedFields: ['start', 'end', 'srcAddr', 'dstAddr'], retentionDays: 30,
    });
    basisTitle = basis.title;
    const other = (await t.core.identity.createOrg(sys, { name: 'Other Council Bank', kind: 'council_member', sectors: ['finance'] as never })).id;
    // Recalls as a purge writes them (src/server/lifecycle.test.ts makes them from a real revocation): three for the caller's
    // organization, one for another recipient.
    const rows = [0, 1, 2, 3].map((i) => ({
      id: `recall-${i}`, draft_id: `draft-${i}`, stix_ids: JSON.stringify([`indicator--0000000${i}-0000-4000-8000-000000000000`, `infrastructure--0000000${i}-0000-4000-8000-000000000001`]),
      recipient_org_id: i === 3 ? other : t.users.orgs['Council Member Bank']!, basis_id: basis.id, created_at: `2026-04-0${i + 1}T00:00:00.000Z`, acknowledged_at: null, acknowledged_by: null,
    }));
    await t.core.db.kysely.insertInto('sharing_recalls').values(rows).execute();
  });
  afterAll(async () => { await t.close(); });

  const call = (role: string, method: 'GET' | 'POST', url: string) => t.app.fastify.inject({ method, url, headers: { authorization: `Bearer ${t.users.tokens[role as 'analyst']}` } });
  type Listed = { items: { id: string; recipientName: string | null; ownOrg: boolean; basis: { title: string } | null; objectTypes: Record<string, number>; acknowledgedAt: string | null; acknowledgedByName: string | null }[]; nextCursor: string | null };

  it('lists a recipient\'s own notices, newest first, named and paged', async () => {
    const first = (await call('council_member', 'GET', '/api/v1/intel/recalls?limit=2')).json() as Listed;
    expect(first.items.map((r) => r.id)).toEqual(['recall-2', 'recall-1']);
    expect(first.items[0]).toMatchObject({ recipientName: 'Council Member Bank', ownOrg: true, basis: { title: basisTitle }, objectTypes: { indicator: 1, infrastructure: 1 } });
    const next = (await call('council_member', 'GET', `/api/v1/intel/recalls?limit=2&cursor=${encodeURIComponent(first.nextCursor!)}`)).json() as Listed;
    expect(next.items.map((r) => r.id)).toEqual(['recall-0']);
    expect(next.nextCursor).toBeNull();
    // The NCO and the commission see every recipient's.
    const all = (await call('commissioner', 'GET', '/api/v1/intel/recalls')).json() as Listed;
    expect(all.items.map((r) => r.id)).toEqual(['recall-3', 'recall-2', 'recall-1', 'recall-0']);
    expect(all.items[0]).toMatchObject({ recipientName: 'Other Council Bank', ownOrg: false });
    expect((await call('council_member', 'GET', '/api/v1/intel/recalls?state=soon')).statusCode).toBe(400);
  });

  it('a recipient confirms deletion once (audited); not another organization\'s notice; pending hides it afterwards', async () => {
    expect((await call('council_member', 'POST', '/api/v1/intel/recalls/recall-3/acknowledge')).statusCode).toBe(404);
    expect((await call('analyst', 'POST', '/api/v1/intel/recalls/recall-1/acknowledge')).statusCode).toBe(404);
    const ok = await call('council_member', 'POST', '/api/v1/intel/recalls/recall-1/acknowledge');
    expect(ok.statusCode, ok.body).toBeLessThan(300);
    expect((await call('council_member', 'POST', '/api/v1/intel/recalls/recall-1/acknowledge')).statusCode).toBe(409);
    const pending = (await call('council_member', 'GET', '/api/v1/intel/recalls?state=pending')).json() as Listed;
    expect(pending.items.map((r) => r.id)).toEqual(['recall-2', 'recall-0']);
    const all = (await call('analyst', 'GET', '/api/v1/intel/recalls')).json() as Listed;
    expect(all.items.find((r) => r.id === 'recall-1')).toMatchObject({ acknowledgedAt: expect.any(String), acknowledgedByName: expect.any(String) });
    const entries = await t.core.audit.entries({ from: 0, to: (await t.core.audit.head()).size });
    expect(entries.filter((e) => e.action === 'intel:recall-ack').map((e) => e.object?.id)).toEqual(['recall-1']);
  });
});
