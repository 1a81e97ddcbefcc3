/** @module Tests of the served-pages cache of the TAXII objects endpoint: byte-identical repeats, invalidation on every change, the ledger and audit for cached hand-outs, its byte bound. */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestContext } from '#platform/context/index.js';
import { systemContext } from '#platform/context/index.js';
import { SECTORS } from '#modules/identity/index.js';
import { createTestApp } from '#server/test-support/harness.js';
import { createSharingService } from './service.js';
import { TAXII_MEDIA_TYPE } from './taxii.js';

type T = Awaited<ReturnType<typeof createTestApp>>;
const ACCEPT = { accept: TAXII_MEDIA_TYPE };
const LATEST = { first: false, last: true, all: false, timestamps: [] };

let t: T;
let groupId: string;
let objectsUrl: string;
const users: Record<string, { token: string; ctx: RequestContext; id: string }> = {};

async function addUser(username: string, orgId: string): Promise<void> {
  const sys = systemContext('test');
  const u = await t.core.identity.createUser(sys, { username, displayName: username, password: `correct horse ${username} battery`, roles: ['council_member'], orgId });
  const { token } = await t.core.identity.createToken(sys, { name: 'test', expiresInDays: 30 }, u.id);
  users[username] = { token, ctx: { actor: (await t.core.identity.authenticateToken(token))!, requestId: `test-${username}` }, id: u.id };
}

function get(url: string, who: string) {
  return t.app.fastify.inject({ method: 'GET', url, headers: { ...ACCEPT, authorization: `Bearer ${users[who]!.token}` } });
}

function post(url: string, who: string, body: unknown) {
  return t.app.fastify.inject({ method: 'POST', url, payload: JSON.stringify(body), headers: { ...ACCEPT, 'content-type': TAXII_MEDIA_TYPE, authorization: `Bearer ${users[who]!.token}` } });
}

function objectsOf(body: string): Record<string, unknown>[] {
  return (JSON.parse(body) as { objects?: Record<string, unknown>[] }).objects ?? [];
}

async function release(values: string[], group = groupId): Promise<void> {
  const draft = await t.core.sharing.draftFromIndicators(t.users.ctx.analyst, { title: `intel ${values[0]}`, indicators: values.map((v) => ({ kind: 'ipv4' as const, value: v })), tlp: 'amber', sourceRef: { type: 'finding', id: `f-${values[0]}` } });
  await t.core.sharing.releaseDraft(t.users.ctx.nco_director, draft.id, { groupIds: [group] });
}

async function ledgerRows(userId: string, collectionId = groupId): Promise<{ id: string; objects: string }[]> {
  return (await t.core.db.kysely.selectFrom('sharing_disseminations').select(['id', 'objects']).where('recipient_user_id', '=', userId).where('collection_id', '=', collectionId).orderBy('id').execute()) as { id: string; objects: string }[];
}

async function readAudits(userId: string): Promise<Record<string, unknown>[]> {
  const rows = (await t.core.db.kysely.selectFrom('audit_entries').select(['entry']).where('action', '=', 'intel:read').where('actor_user', '=', userId).orderBy('idx').execute()) as { entry: string }[];
  return rows.map((r) => (JSON.parse(r.entry) as { details: Record<string, unknown> }).details);
}

/** A second sharing service over the same database: what another mamori process would be. */
function anotherProcess(settings: { pageCacheBytes?: number } = {}, options: { batchAudit?: boolean; audit?: Parameters<typeof createSharingService>[0]['audit'] } = {}) {
  const sys = systemContext('sharing');
  // Without `recordBatch` the deliveries' group commit appends the audit entries one by one.
  const audit = options.audit ?? (options.batchAudit === false ? { record: t.core.audit.record.bind(t.core.audit) } : t.core.audit);
  return createSharingService({
    db: t.core.db, policy: t.core.policy, audit, clock: t.core.clock, sectorNames: SECTORS,
    directory: { orgs: () => t.core.identity.listOrgs(sys), users: () => t.core.identity.listUsers(sys) },
    fingerprintKey: randomBytes(32), settings,
  });
}

beforeAll(async () => {
  t = await createTestApp();
  const bank = t.users.orgs['Council Member Bank']!;
  await addUser('alice', bank);
  await addUser('bob', bank);
  const d = t.users.ctx.nco_director;
  groupId = (await t.core.sharing.createGroup(d, { name: 'Cache ISAC' })).id;
  await t.core.sharing.addGroupMember(d, groupId, { orgId: bank, canRead: true, canWrite: true });
  await release(['203.0.113.1', '203.0.113.2']);
  objectsUrl = `/taxii2/mamori/collections/${groupId}/objects/`;
}, 60_000);
afterAll(async () => { await t.close(); });

describe('served-pages cache', () => {
  it('answers a repeat download with the same bytes: one ledger row for the copy, an audit entry for each access', async () => {
    const first = await get(objectsUrl, 'alice');
    const again = await get(objectsUrl, 'alice');
    expect(first.statusCode).toBe(200);
    expect(again.body).toBe(first.body);
    expect(again.headers['content-length']).toBe(String(Buffer.byteLength(first.body)));
    expect(again.headers['x-taxii-date-added-last']).toBe(first.headers['x-taxii-date-added-last']);
    const rows = await ledgerRows(users['alice']!.id);
    expect(rows).toHaveLength(1);
    const audits = await readAudits(users['alice']!.id);
    expect(audits.slice(-2)).toEqual([
      expect.objectContaining({ channel: 'taxii', what: 'objects', dissemination: rows[0]!.id }),
      expect.objectContaining({ channel: 'taxii', what: 'objects', dissemination: rows[0]!.id, repeat: true }),
    ]);
    // Another recipient gets their own marked copy and their own ledger row, never alice's cached bytes.
    const bobs = await get(objectsUrl, 'bob');
    expect(bobs.body).not.toBe(first.body);
    expect(objectsOf(bobs.body).map((o) => o['id']).sort()).not.toEqual(objectsOf(first.body).map((o) => o['id']).sort());
    expect(await ledgerRows(users['bob']!.id)).toHaveLength(1);
    // Pages of another size or position are other copies.
    expect(objectsOf((await get(`${objectsUrl}?limit=1`, 'alice')).body)).toHaveLength(1);
    expect(await ledgerRows(users['alice']!.id)).toHaveLength(2);
  });

  it('a release, a new version, a revocation and a delete each change the page at once', async () => {
    const names = async () => objectsOf((await get(objectsUrl, 'alice')).body).map((o) => String(o['name'] ?? o['id']));
    const before = await names();
    await release(['203.0.113.3']);
    const afterRelease = await names();
    expect(before).not.toContain('ipv4 203.0.113.3');
    expect(afterRelease).toContain('ipv4 203.0.113.3');
    expect(afterRelease.length).toBeGreaterThan(before.length);

    const id = 'indicator--1f0e3d2c-4b5a-4968-8776-a5b4c3d2e1f0';
    const base = { type: 'indicator', spec_version: '2.1', id, created: '2026-03-01T00:00:00.000Z', pattern: "[domain-name:value = 'cache.example']", pattern_type: 'stix', valid_from: '2026-03-01T00:00:00Z' };
    expect((await post(objectsUrl, 'alice', { objects: [{ ...base, modified: '2026-03-01T00:00:00.000Z', confidence: 40 }] })).json()).toMatchObject({ success_count: 1 });
    const mine = () => get(objectsUrl, 'bob').then((r) => objectsOf(r.body).find((o) => o['id'] === id));
    expect(await mine()).toMatchObject({ confidence: 40 });
    expect((await post(objectsUrl, 'alice', { objects: [{ ...base, modified: '2026-03-02T00:00:00.000Z', confidence: 60 }] })).json()).toMatchObject({ success_count: 1 });
    expect(await mine()).toMatchObject({ confidence: 60 });
    expect((await post(objectsUrl, 'alice', { objects: [{ ...base, modified: '2026-03-03T00:00:00.000Z', confidence: 60, revoked: true }] })).json()).toMatchObject({ success_count: 1 });
    expect(await mine()).toMatchObject({ revoked: true });
    const del = await t.app.fastify.inject({ method: 'DELETE', url: `${objectsUrl}${id}/`, headers: { ...ACCEPT, authorization: `Bearer ${users['alice']!.token}` } });
    expect(del.statusCode).toBe(200);
    expect(await mine()).toBeUndefined();
  });

  it('sees a change another process made, though that process could not tell this one', async () => {
    const other = anotherProcess();
    const page = async () => (await t.core.sharing.readObjects(users['bob']!.ctx, groupId, { limit: 1000, after: 0, addedAfter: undefined, ids: [], types: [], versions: LATEST, specVersions: [] }, 'taxii', 'objects')).body.toString('utf8');
    const before = await page();
    expect(await page()).toBe(before); // cached
    const id = 'indicator--2a1b0c9d-8e7f-4a6b-9c5d-4e3f2a1b0c9d';
    const status = await other.addObjects(users['alice']!.ctx, 'mamori', groupId, { objects: [{ type: 'indicator', spec_version: '2.1', id, created: '2026-03-01T00:00:00.000Z', modified: '2026-03-01T00:00:00.000Z', pattern: "[domain-name:value = 'elsewhere.example']", pattern_type: 'stix', valid_from: '2026-03-01T00:00:00Z' }] });
    expect(status.success_count).toBe(1);
    expect(objectsOf(await page()).map((o) => o['id'])).toContain(id);
  });

  it('sees a membership or council change another process made at once, from the cache and the group view alike', async () => {
    const other = anotherProcess();
    const d = t.users.ctx.nco_director;
    const bank = t.users.orgs['Council Member Bank']!;
    const client = t.users.orgs['Test Electric Power Co.']!;
    const g = await t.core.sharing.createGroup(d, { name: 'Cache membership' });
    await t.core.sharing.addGroupMember(d, g.id, { orgId: bank, canRead: true, canWrite: false });
    await t.core.sharing.addCouncilMember(d, { orgId: bank, clients: [client] });
    await release(['203.0.113.77'], g.id);
    const q = { limit: 1000, after: 0, addedAfter: undefined, ids: [], types: ['indicator'], versions: LATEST, specVersions: [] };
    const read = (ctx: RequestContext) => t.core.sharing.readObjects(ctx, g.id, q, 'taxii', 'objects');
    expect((await read(users['bob']!.ctx)).count).toBe(1);
    expect((await read(users['bob']!.ctx)).count).toBe(1); // now cached, with the group's view
    expect((await read(t.users.ctx.operator)).count).toBe(1); // AMBER reaches the bank's client
    // Another process drops the client from the bank's clients, then the bank's read right.
    await other.addCouncilMember(d, { orgId: bank, clients: [] });
    await expect(read(t.users.ctx.operator)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await other.addGroupMember(d, g.id, { orgId: bank, canRead: false, canWrite: false });
    await expect(read(users['bob']!.ctx)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(t.core.sharing.readPage(users['bob']!.ctx, g.id, q, 'api', 'objects')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('keeps paging stable while objects are added, with pages served from the cache', async () => {
    const g = await t.core.sharing.createGroup(t.users.ctx.nco_director, { name: 'Cache paging' });
    await t.core.sharing.addGroupMember(t.users.ctx.nco_director, g.id, { orgId: t.users.orgs['Council Member Bank']!, canRead: true, canWrite: true });
    const url = `/taxii2/mamori/collections/${g.id}/objects/`;
    const mk = (i: number) => ({ type: 'indicator', spec_version: '2.1', id: `indicator--${(i + 1).toString(16).padStart(8, '0')}-1111-4000-8000-000000000000`, created: '2026-03-01T00:00:00.000Z', modified: '2026-03-01T00:00:00.000Z', pattern: `[ipv4-addr:value = '10.1.${Math.floor(i / 256)}.${i % 256}']`, pattern_type: 'stix', valid_from: '2026-03-01T00:00:00Z' });
    await post(url, 'alice', { objects: Array.from({ length: 20 }, (_, i) => mk(i)) });
    const walk = async (insert: boolean, start: number) => {
      const seen: string[] = [];
      let next: string | undefined;
      let extra = start;
      for (let p = 0; p < 50; p++) {
        const [res] = await Promise.all([
          get(`${url}?limit=6${next !== undefined ? `&next=${encodeURIComponent(next)}` : ''}`, 'bob'),
          insert ? post(url, 'alice', { objects: [mk(extra++)] }) : Promise.resolve(undefined),
        ]);
        const env = res.json() as { more: boolean; next?: string; objects?: { id: string }[] };
        seen.push(...(env.objects ?? []).map((o) => o.id));
        if (!env.more) break;
        next = env.next;
      }
      return { seen, extra };
    };
    const quiet = await walk(false, 0);
    expect(quiet.seen).toEqual(Array.from({ length: 20 }, (_, i) => mk(i).id));
    // The same walk again while others add: the first pages come from the cache, and still nothing repeats or goes missing.
    const busy = await walk(true, 20);
    expect(new Set(busy.seen).size).toBe(busy.seen.length);
    expect(busy.seen.slice(0, 20)).toEqual(quiet.seen);
    expect(busy.seen.length).toBeGreaterThan(20);
  });

  it('the ledger names the recipient of an object handed out from the cache', async () => {
    const url = `${objectsUrl}?match[type]=indicator`;
    await get(url, 'bob');
    const cached = await get(url, 'bob');
    const audits = await readAudits(users['bob']!.id);
    expect(audits.at(-1)).toMatchObject({ repeat: true });
    const ours = objectsOf(cached.body).find((o) => o['name'] === 'ipv4 203.0.113.2')!;
    const report = await t.core.sharing.traceLeak(t.users.ctx.nco_director, JSON.stringify(ours));
    expect(report.verdict[0]).toMatchObject({ userId: users['bob']!.id, conclusive: true });
    expect(report.objects[0]!.candidates[0]!.received.length).toBeGreaterThan(0);
  });

  it('a delivery whose recording fails is refused alone; the others gathered with it are recorded and handed out', async () => {
    const failing = new Set(['poison']);
    const real = t.core.audit;
    const audit: Parameters<typeof createSharingService>[0]['audit'] = {
      record: (ctx, event, trx) => (failing.has(ctx.requestId) ? Promise.reject(new Error('audit append refused')) : real.record(ctx, event, trx)),
      recordBatch: (items, trx) => (items.some((i) => failing.has(i.ctx.requestId)) ? Promise.reject(new Error('audit append refused')) : real.recordBatch(items, trx)),
    };
    const svc = anotherProcess({}, { audit });
    const q = { limit: 2, after: 0, addedAfter: undefined, ids: [], types: ['indicator'], versions: LATEST, specVersions: [] };
    const alice = users['alice']!, bob = users['bob']!;
    const [aliceRows, bobRows] = [(await ledgerRows(alice.id)).length, (await ledgerRows(bob.id)).length];
    // Gathered into one commit: alice's and bob's reads, and one whose audit entry cannot be written.
    const results = await Promise.allSettled([
      svc.readObjects({ ...alice.ctx, requestId: 'fine-1' }, groupId, q, 'taxii', 'objects'),
      svc.readObjects({ ...bob.ctx, requestId: 'poison' }, groupId, { ...q, limit: 3 }, 'taxii', 'objects'),
      svc.readObjects({ ...alice.ctx, requestId: 'fine-2' }, groupId, { ...q, limit: 1 }, 'taxii', 'objects'),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await ledgerRows(alice.id)).length).toBe(aliceRows + 2);
    expect((await ledgerRows(bob.id)).length).toBe(bobRows); // nothing of the refused copy is recorded
  });

  it('stays within its byte bound, least recently used out first; an evicted copy is entered in the ledger again', async () => {
    const cap = 4_000;
    const small = anotherProcess({ pageCacheBytes: cap }, { batchAudit: false });
    const q = (after: number) => ({ limit: 1, after, addedAfter: undefined, ids: [], types: ['indicator'], versions: LATEST, specVersions: [] });
    const alice = users['alice']!;
    const rowsBefore = (await ledgerRows(alice.id)).length;
    const first = await small.readObjects(alice.ctx, groupId, q(0), 'taxii', 'objects');
    expect(first.count).toBe(1);
    await small.readObjects(alice.ctx, groupId, q(0), 'taxii', 'objects');
    expect((await ledgerRows(alice.id)).length).toBe(rowsBefore + 1); // the repeat was served from the cache
    for (let after = 1; after < 8; after++) await small.readObjects(alice.ctx, groupId, q(after), 'taxii', 'objects');
    const stats = small.pageCacheStats();
    expect(stats.bytes).toBeLessThanOrEqual(cap);
    expect(stats.entries).toBeLessThan(8);
    // The first page was evicted: handing it out again is a fresh ledger entry of the same copy.
    const known = new Set((await ledgerRows(alice.id)).map((r) => r.id));
    const again = await small.readObjects(alice.ctx, groupId, q(0), 'taxii', 'objects');
    expect(again.body.equals(first.body)).toBe(true);
    const added = (await ledgerRows(alice.id)).filter((r) => !known.has(r.id));
    expect(added).toHaveLength(1);
    expect((await readAudits(alice.id)).at(-1)).toMatchObject({ dissemination: added[0]!.id, count: 1 });
    // A page larger than the whole bound is served but never cached.
    const none = anotherProcess({ pageCacheBytes: 100 });
    await none.readObjects(alice.ctx, groupId, q(0), 'taxii', 'objects');
    expect(none.pageCacheStats()).toMatchObject({ entries: 0, bytes: 0 });
  });
});
