/** @module In-process tests of the TAXII 2.1 server, REST sharing routes, TLP on every path out, paging under inserts, the client and feeds, sightings and leak tracing. */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ManualClock } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import { systemContext } from '#platform/context/index.js';
import { createTestApp, seedRoleUsers } from '#server/test-support/harness.js';
import { createTaxiiClient } from './client.js';
import { TAXII_MEDIA_TYPE } from './taxii.js';
import { jsonFiles, officialErrors, STIX_TESTDATA } from './test-support/stix-schemas.js';

void seedRoleUsers;
type T = Awaited<ReturnType<typeof createTestApp>>;
const ACCEPT = { accept: TAXII_MEDIA_TYPE };

let t: T;
let groupId: string;
let root: string;
const orgs: Record<string, string> = {};
const users: Record<string, { token: string; ctx: RequestContext; id: string }> = {};
const released: Record<string, string[]> = {}; // tlp -> canonical ids of its indicators

async function addUser(username: string, role: 'council_member' | 'operator', orgId: string): Promise<void> {
  const sys = systemContext('test');
  const u = await t.core.identity.createUser(sys, { username, displayName: username, password: `correct horse ${username} battery`, roles: [role], orgId });
  const { token } = await t.core.identity.createToken(sys, { name: 'test', expiresInDays: 30 }, u.id);
  users[username] = { token, ctx: { actor: (await t.core.identity.authenticateToken(token))!, requestId: `test-${username}` }, id: u.id };
}

function get(url: string, who: string, headers: Record<string, string> = ACCEPT) {
  return t.app.fastify.inject({ method: 'GET', url, headers: { ...headers, authorization: `Bearer ${users[who]?.token ?? t.users.tokens[who as 'analyst']}` } });
}

function post(url: string, who: string, body: unknown, contentType = TAXII_MEDIA_TYPE) {
  return t.app.fastify.inject({ method: 'POST', url, payload: JSON.stringify(body), headers: { ...ACCEPT, 'content-type': contentType, authorization: `Bearer ${users[who]?.token ?? t.users.tokens[who as 'analyst']}` } });
}

async function draftAndRelease(tlp: string, values: string[], redRecipients: string[] = []): Promise<string[]> {
  const draft = await t.core.sharing.draftFromIndicators(t.users.ctx.analyst, { title: `intel ${tlp}`, indicators: values.map((v) => ({ kind: 'ipv4' as const, value: v })), tlp: tlp as never, sourceRef: { type: 'finding', id: `f-${tlp}` }, redRecipients });
  await t.core.sharing.releaseDraft(t.users.ctx.nco_director, draft.id, { groupIds: [groupId] });
  return draft.objects.map((o) => String(o['id']));
}

beforeAll(async () => {
  t = await createTestApp();
  const sys = systemContext('test');
  orgs['bank'] = t.users.orgs['Council Member Bank']!;
  orgs['client'] = (await t.core.identity.createOrg(sys, { name: 'Bank Client Co.', kind: 'operator', sectors: ['finance'] })).id;
  orgs['outsider'] = (await t.core.identity.createOrg(sys, { name: 'Outside Gas Co.', kind: 'operator', sectors: ['gas'] })).id;
  await addUser('bank-alice', 'council_member', orgs['bank']);
  await addUser('bank-bob', 'council_member', orgs['bank']);
  await addUser('client-carol', 'operator', orgs['client']);
  await addUser('outsider-dave', 'operator', orgs['outsider']);
  const d = t.users.ctx.nco_director;
  groupId = (await t.core.sharing.createGroup(d, { name: 'Finance ISAC', description: 'Banks and their service providers' })).id;
  await t.core.sharing.addGroupMember(d, groupId, { orgId: orgs['bank'], canRead: true, canWrite: true });
  await t.core.sharing.addCouncilMember(d, { orgId: orgs['bank'], clients: [orgs['client']] });
  for (const tlp of ['clear', 'green', 'amber', 'amber+strict']) released[tlp] = await draftAndRelease(tlp, [`198.51.100.${Object.keys(released).length + 1}`]);
  released['red'] = await draftAndRelease('red', ['198.51.100.99'], ['bank-alice']);
  root = '/taxii2/mamori';
}, 60_000);
afterAll(async () => { await t.close(); });

function objectsOf(body: string): Record<string, unknown>[] {
  return (JSON.parse(body) as { objects?: Record<string, unknown>[] }).objects ?? [];
}

describe('discovery, API root, collections', () => {
  it('answers discovery and the API root with the exact media type', async () => {
    const d = await get('/taxii2/', 'bank-alice');
    expect(d.statusCode).toBe(200);
    expect(d.headers['content-type']).toBe(TAXII_MEDIA_TYPE);
    expect(d.json()).toMatchObject({ api_roots: [expect.stringMatching(/\/taxii2\/mamori\/$/)] });
    const r = await get(`${root}/`, 'bank-alice');
    expect(r.json()).toMatchObject({ versions: [TAXII_MEDIA_TYPE], max_content_length: expect.any(Number) });
    expect((await get('/taxii2/nope/', 'bank-alice')).statusCode).toBe(404);
  });

  it('lists only the collections the caller may see, with can_read/can_write', async () => {
    expect((await get(`${root}/collections/`, 'bank-alice')).json()).toEqual({ collections: [expect.objectContaining({ id: groupId, can_read: true, can_write: true, media_types: ['application/stix+json;version=2.1'] })] });
    expect((await get(`${root}/collections/`, 'client-carol')).json()).toEqual({ collections: [expect.objectContaining({ id: groupId, can_read: true, can_write: false })] });
    expect((await get(`${root}/collections/`, 'outsider-dave')).json()).toEqual({});
    expect((await get(`${root}/collections/${groupId}/`, 'bank-alice')).json()).toMatchObject({ id: groupId, title: 'Finance ISAC' });
    expect((await get(`${root}/collections/${groupId}/`, 'outsider-dave')).statusCode).toBe(404);
  });
});

describe('media types, authentication and errors', () => {
  it('refuses a bad Accept with 406 and a bad Content-Type with 415, in the TAXII error shape', async () => {
    const r = await get(`${root}/collections/`, 'bank-alice', { accept: 'application/json' });
    expect(r.statusCode).toBe(406);
    expect(r.headers['content-type']).toBe(TAXII_MEDIA_TYPE);
    expect(r.json()).toMatchObject({ title: 'Not Acceptable', http_status: '406', error_code: 'NOT_ACCEPTABLE' });
    const p = await post(`${root}/collections/${groupId}/objects/`, 'bank-alice', { objects: [] }, 'application/json');
    expect(p.statusCode).toBe(415);
    expect(p.json()).toMatchObject({ http_status: '415' });
    expect((await get(`${root}/collections/`, 'bank-alice', { accept: 'application/taxii+json;version=2.0' })).statusCode).toBe(406);
  });

  it('takes HTTP Basic and Bearer; anonymous and wrong passwords get 401 with WWW-Authenticate', async () => {
    const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    const ok = await t.app.fastify.inject({ method: 'GET', url: `${root}/collections/`, headers: { ...ACCEPT, authorization: basic('bank-alice', 'correct horse bank-alice battery') } });
    expect(ok.statusCode).toBe(200);
    const bad = await t.app.fastify.inject({ method: 'GET', url: `${root}/collections/`, headers: { ...ACCEPT, authorization: basic('bank-alice', 'wrong password here') } });
    expect(bad.statusCode).toBe(401);
    expect(bad.headers['www-authenticate']).toContain('Basic');
    expect(bad.json()).toMatchObject({ title: 'Unauthorized', error_code: 'UNAUTHENTICATED' });
    expect((await t.app.fastify.inject({ method: 'GET', url: `${root}/collections/`, headers: ACCEPT })).statusCode).toBe(401);
  });

  it('refuses a remembered Basic credential at once when its user is disabled', async () => {
    await addUser('bank-erin', 'council_member', orgs['bank']!);
    const auth = `Basic ${Buffer.from('bank-erin:correct horse bank-erin battery').toString('base64')}`;
    const ask = () => t.app.fastify.inject({ method: 'GET', url: `${root}/collections/`, headers: { ...ACCEPT, authorization: auth } });
    expect((await ask()).statusCode).toBe(200);
    expect((await ask()).statusCode).toBe(200); // remembered: no second password hash
    await t.core.identity.disableUser(systemContext('test'), 'bank-erin');
    expect((await ask()).statusCode).toBe(401);
  });

  it('checks a credential its client sends on many connections at once with one password hash, not one each', async () => {
    await addUser('bank-herd', 'council_member', orgs['bank']!);
    const auth = `Basic ${Buffer.from('bank-herd:correct horse bank-herd battery').toString('base64')}`;
    const spy = vi.spyOn(t.core.identity, 'authenticateBasic');
    try {
      const answers = await Promise.all(Array.from({ length: 20 }, () => t.app.fastify.inject({ method: 'GET', url: `${root}/collections/`, headers: { ...ACCEPT, authorization: auth } })));
      expect(answers.map((a) => a.statusCode)).toEqual(Array(20).fill(200));
      expect(spy).toHaveBeenCalledTimes(1);
      const wrong = `Basic ${Buffer.from('bank-herd:not the password').toString('base64')}`;
      const refused = await Promise.all(Array.from({ length: 5 }, () => t.app.fastify.inject({ method: 'GET', url: `${root}/collections/`, headers: { ...ACCEPT, authorization: wrong } })));
      expect(refused.map((a) => a.statusCode)).toEqual(Array(5).fill(401));
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
    }
  });

  it('rejects bad filters with 400 and an unknown object with 404', async () => {
    expect((await get(`${root}/collections/${groupId}/objects/?limit=0`, 'bank-alice')).statusCode).toBe(400);
    expect((await get(`${root}/collections/${groupId}/objects/?added_after=yesterday`, 'bank-alice')).statusCode).toBe(400);
    expect((await get(`${root}/collections/${groupId}/objects/?match[version]=newest`, 'bank-alice')).statusCode).toBe(400);
    expect((await get(`${root}/collections/${groupId}/objects/?next=forged`, 'bank-alice')).statusCode).toBe(400);
    expect((await get(`${root}/collections/${groupId}/objects/indicator--00000000-0000-4000-8000-000000000000/`, 'bank-alice')).statusCode).toBe(404);
    expect((await get(`${root}/status/00000000-0000-4000-8000-000000000000`, 'bank-alice')).statusCode).toBe(404);
  });
});

describe('objects, manifest, object, versions, add, status, delete', () => {
  it('serves objects with paging headers; every copy is valid under the official STIX schemas', async () => {
    const r = await get(`${root}/collections/${groupId}/objects/?limit=3`, 'bank-alice');
    expect(r.statusCode).toBe(200);
    expect(r.headers['x-taxii-date-added-first']).toMatch(/Z$/);
    expect(r.headers['x-taxii-date-added-last']).toMatch(/Z$/);
    const env = r.json() as { more: boolean; next: string; objects: unknown[] };
    expect(env.more).toBe(true);
    expect(env.objects).toHaveLength(3);
    for (const o of env.objects) expect(officialErrors(o)).toEqual([]);
    const all = objectsOf((await get(`${root}/collections/${groupId}/objects/?match[type]=indicator,report`, 'bank-alice')).body);
    expect(all.every((o) => o['type'] === 'indicator' || o['type'] === 'report')).toBe(true);
  });

  it('filters by match[id] using the recipient\'s own ids, and serves the object and its versions', async () => {
    const mine = objectsOf((await get(`${root}/collections/${groupId}/objects/?match[type]=indicator`, 'bank-alice')).body);
    const id = String(mine[0]!['id']);
    expect(released['clear']).not.toContain(id); // the recipient's copy carries its own id
    const one = objectsOf((await get(`${root}/collections/${groupId}/objects/?match[id]=${id}`, 'bank-alice')).body);
    expect(one.map((o) => o['id'])).toEqual([id]);
    const byId = await get(`${root}/collections/${groupId}/objects/${id}/`, 'bank-alice');
    expect(objectsOf(byId.body)[0]).toEqual(mine[0]);
    const versions = (await get(`${root}/collections/${groupId}/objects/${id}/versions/`, 'bank-alice')).json() as { versions: string[] };
    expect(versions.versions).toEqual([mine[0]!['modified']]);
    const manifest = (await get(`${root}/collections/${groupId}/manifest/?match[id]=${id}`, 'bank-alice')).json() as { objects: { id: string; version: string; media_type: string }[] };
    expect(manifest.objects).toEqual([expect.objectContaining({ id, version: mine[0]!['modified'], media_type: 'application/stix+json;version=2.1' })]);
    const byVersion = objectsOf((await get(`${root}/collections/${groupId}/objects/${id}/?match[version]=${String(mine[0]!['modified'])}`, 'bank-alice')).body);
    expect(byVersion).toHaveLength(1);
  });

  it('adds an envelope (202 + status, with and without trailing slash), versions it, filters versions, deletes', async () => {
    const base = { type: 'indicator', spec_version: '2.1', id: 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', created: '2026-03-01T00:00:00.000Z', pattern: "[domain-name:value = 'phish.example']", pattern_type: 'stix', valid_from: '2026-03-01T00:00:00Z' };
    const v1 = { ...base, modified: '2026-03-01T00:00:00.000Z' };
    const v2 = { ...base, modified: '2026-03-02T00:00:00.000Z', confidence: 80 };
    const res = await post(`${root}/collections/${groupId}/objects/`, 'bank-alice', { objects: [v1, v2, { type: 'indicator', id: 'bad' }] });
    expect(res.statusCode).toBe(202);
    const status = res.json() as { id: string; status: string; success_count: number; failure_count: number; total_count: number };
    expect(status).toMatchObject({ status: 'complete', total_count: 3, success_count: 2, failure_count: 1 });
    expect((await get(`${root}/status/${status.id}/`, 'bank-alice')).json()).toEqual(status);
    expect((await get(`${root}/status/${status.id}`, 'bank-alice')).json()).toEqual(status);
    expect((await get(`${root}/status/${status.id}/`, 'bank-bob')).statusCode).toBe(404); // another user's request
    const url = `${root}/collections/${groupId}/objects/${base.id}`;
    expect(objectsOf((await get(`${url}/`, 'bank-alice')).body).map((o) => o['modified'])).toEqual([v2.modified]);
    expect(objectsOf((await get(`${url}/?match[version]=first`, 'bank-alice')).body).map((o) => o['modified'])).toEqual([v1.modified]);
    expect(objectsOf((await get(`${url}/?match[version]=all`, 'bank-alice')).body)).toHaveLength(2);
    expect(((await get(`${url}/versions/`, 'bank-alice')).json() as { versions: string[] }).versions).toEqual([v1.modified, v2.modified]);
    // The client of a member may read but not write; an outsider may not even see the collection.
    expect((await post(`${root}/collections/${groupId}/objects/`, 'client-carol', { objects: [v1] })).statusCode).toBe(403);
    expect((await post(`${root}/collections/${groupId}/objects/`, 'outsider-dave', { objects: [v1] })).statusCode).toBe(404);
    const del = await t.app.fastify.inject({ method: 'DELETE', url: `${url}/?match[version]=${v2.modified}`, headers: { ...ACCEPT, authorization: `Bearer ${users['bank-alice']!.token}` } });
    expect(del.statusCode).toBe(200);
    expect(objectsOf((await get(`${url}/`, 'bank-alice')).body).map((o) => o['modified'])).toEqual([v1.modified]);
    const bobDel = await t.app.fastify.inject({ method: 'DELETE', url: `${root}/collections/${groupId}/objects/${released['clear']![0]}/`, headers: { ...ACCEPT, authorization: `Bearer ${users['bank-bob']!.token}` } });
    expect(bobDel.statusCode).toBe(403); // members delete only what their organization added
  });

  it('expires status resources after sharing.taxiiStatusRetentionHours (default 7 days), deleting them on a later add', async () => {
    const clock = t.core.clock as ManualClock;
    const env = { objects: [{ type: 'indicator', spec_version: '2.1', id: 'indicator--1d1c3a3e-5f0a-4b1e-9a51-6a1cbbd1f0a1', created: '2026-03-05T00:00:00.000Z', modified: '2026-03-05T00:00:00.000Z', pattern: "[ipv4-addr:value = '198.51.100.77']", pattern_type: 'stix', valid_from: '2026-03-05T00:00:00Z' }] };
    const first = (await post(`${root}/collections/${groupId}/objects/`, 'bank-alice', env)).json() as { id: string };
    clock.advance(7 * 86_400_000 - 1000);
    expect((await get(`${root}/status/${first.id}/`, 'bank-alice')).statusCode).toBe(200); // still within its 168 hours
    clock.advance(2000);
    const gone = await get(`${root}/status/${first.id}/`, 'bank-alice');
    expect(gone.statusCode).toBe(404);
    expect(gone.body).toContain('kept 168 hours');
    const second = (await post(`${root}/collections/${groupId}/objects/`, 'bank-alice', env)).json() as { id: string };
    const rows = await t.core.db.kysely.selectFrom('taxii_status').select('id').execute();
    expect(rows.map((r) => r.id)).toContain(second.id);
    expect(rows.map((r) => r.id)).not.toContain(first.id); // deleted by the later add
  });

  it('round-trips every OASIS example through POST and GET unchanged', async () => {
    const g = await t.core.sharing.createGroup(t.users.ctx.nco_director, { name: 'Examples' });
    for (const file of jsonFiles(new URL('examples/', STIX_TESTDATA))) {
      const doc = JSON.parse(readFileSync(file, 'utf8')) as { type: string; objects?: Record<string, unknown>[] };
      const bundle = { objects: doc.type === 'bundle' ? (doc.objects ?? []) : [doc as Record<string, unknown>] };
      const res = await post(`${root}/collections/${g.id}/objects/`, 'analyst', { objects: bundle.objects });
      expect(res.json(), file.pathname).toMatchObject({ failure_count: 0 });
      for (const o of bundle.objects) {
        const back = objectsOf((await get(`${root}/collections/${g.id}/objects/${String(o['id'])}/?match[version]=${String(o['modified'] ?? o['created'] ?? 'all')}`, 'analyst')).body);
        expect(back.find((x) => x['id'] === o['id']), `${file.pathname} ${String(o['id'])}`).toEqual(o);
      }
    }
  });
});

describe('TLP 2.0 on every path out', () => {
  const seen = async (who: string) => {
    const taxii = objectsOf((await get(`${root}/collections/${groupId}/objects/?match[type]=indicator&limit=1000`, who)).body).map((o) => String(o['name']));
    const manifest = ((await get(`${root}/collections/${groupId}/manifest/?match[type]=indicator`, who)).json() as { objects?: unknown[] }).objects?.length ?? 0;
    const bundleRes = await t.app.fastify.inject({ method: 'GET', url: `/api/v1/sharing/groups/${groupId}/bundle`, headers: { authorization: `Bearer ${users[who]!.token}` } });
    const bundle = JSON.parse(bundleRes.body) as { objects: Record<string, unknown>[] };
    expect(officialErrors(bundle)).toEqual([]);
    const exported = bundle.objects.filter((o) => o['type'] === 'indicator' && String(o['name']).startsWith('ipv4')).map((o) => String(o['name']));
    return { taxii: taxii.filter((n) => n.startsWith('ipv4')).sort(), manifest, exported: exported.sort() };
  };
  const names = (...tlps: string[]) => tlps.map((l) => ({ clear: 'ipv4 198.51.100.1', green: 'ipv4 198.51.100.2', amber: 'ipv4 198.51.100.3', 'amber+strict': 'ipv4 198.51.100.4', red: 'ipv4 198.51.100.99' })[l]!).sort();

  it('a member organization sees CLEAR to AMBER+STRICT, RED only when named', async () => {
    expect((await seen('bank-bob')).taxii).toEqual(names('clear', 'green', 'amber', 'amber+strict'));
    const alice = await seen('bank-alice');
    expect(alice.taxii).toEqual(names('clear', 'green', 'amber', 'amber+strict', 'red'));
    expect(alice.exported).toEqual(alice.taxii);
  });

  it('a client of a member sees CLEAR and AMBER only (not GREEN: outside the community; not AMBER+STRICT)', async () => {
    const carol = await seen('client-carol');
    expect(carol.taxii).toEqual(names('clear', 'amber'));
    expect(carol.exported).toEqual(carol.taxii);
  });

  it('the object endpoint, versions and match[id] do not reveal what TLP withholds', async () => {
    const strictId = released['amber+strict']![0]!;
    for (const path of [`objects/${strictId}/`, `objects/${strictId}/versions/`]) {
      const r = await get(`${root}/collections/${groupId}/${path}`, 'client-carol');
      expect([200, 404]).toContain(r.statusCode);
      expect(r.body).not.toContain('198.51.100.4');
      expect(JSON.parse(r.body)).not.toHaveProperty('versions');
    }
    expect(objectsOf((await get(`${root}/collections/${groupId}/objects/?match[id]=${strictId}`, 'client-carol')).body)).toEqual([]);
  });

  it('the administrator reads no intelligence at all', async () => {
    expect((await t.app.fastify.inject({ method: 'GET', url: `${root}/collections/`, headers: { ...ACCEPT, authorization: `Bearer ${t.users.tokens.admin}` } })).statusCode).toBe(403);
  });
});

describe('paging under concurrent inserts', () => {
  it('sees every object present at the start exactly once, while others are being added', async () => {
    const g = await t.core.sharing.createGroup(t.users.ctx.nco_director, { name: 'Paging' });
    await t.core.sharing.addGroupMember(t.users.ctx.nco_director, g.id, { orgId: orgs['bank']!, canRead: true, canWrite: true });
    const mk = (i: number) => ({ type: 'indicator', spec_version: '2.1', id: `indicator--${(i + 1).toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`, created: '2026-03-01T00:00:00.000Z', modified: '2026-03-01T00:00:00.000Z', pattern: `[ipv4-addr:value = '10.0.${Math.floor(i / 256)}.${i % 256}']`, pattern_type: 'stix', valid_from: '2026-03-01T00:00:00Z' });
    await post(`${root}/collections/${g.id}/objects/`, 'bank-alice', { objects: Array.from({ length: 40 }, (_, i) => mk(i)) });
    const initial = new Set(Array.from({ length: 40 }, (_, i) => mk(i).id));
    const seenIds: string[] = [];
    let next: string | undefined;
    let extra = 40;
    for (let page = 0; page < 100; page++) {
      // Another member adds objects between (and during) our page requests.
      const [res] = await Promise.all([
        get(`${root}/collections/${g.id}/objects/?limit=7${next !== undefined ? `&next=${encodeURIComponent(next)}` : ''}`, 'bank-bob'),
        post(`${root}/collections/${g.id}/objects/`, 'bank-alice', { objects: [mk(extra++), mk(extra++)] }),
      ]);
      const env = res.json() as { more: boolean; next?: string; objects?: { id: string }[] };
      seenIds.push(...(env.objects ?? []).map((o) => o.id));
      if (!env.more || [...initial].every((id) => seenIds.includes(id))) break;
      next = env.next;
    }
    expect(new Set(seenIds).size).toBe(seenIds.length);
    for (const id of initial) expect(seenIds).toContain(id);
    // Order is the order of addition: the initial 40 come first.
    expect(seenIds.slice(0, 40).every((id) => initial.has(id))).toBe(true);
  });
});

describe('sightings, client and feeds over a real socket, leak tracing', () => {
  it('a sighting raises and a false positive lowers confidence (new version in the collection)', async () => {
    const mine = objectsOf((await get(`${root}/collections/${groupId}/objects/?match[type]=indicator`, 'bank-alice')).body).find((o) => o['name'] === 'ipv4 198.51.100.3')!;
    const up = await t.app.fastify.inject({ method: 'POST', url: '/api/v1/sharing/sightings', payload: { indicatorId: mine['id'], outcome: 'confirmed', count: 2 }, headers: { authorization: `Bearer ${users['bank-alice']!.token}` } });
    expect(up.statusCode).toBe(200);
    const s1 = (up.json() as { sighting: { before: number; after: number } }).sighting;
    expect(s1.after).toBeGreaterThan(s1.before);
    const sighting = { type: 'sighting', spec_version: '2.1', id: 'sighting--1b3c0f5e-0c8f-4b7a-9c55-3a7e5d9b1f20', created: '2026-04-01T00:00:00.000Z', modified: '2026-04-01T00:00:00.000Z', sighting_of_ref: mine['id'], labels: ['false-positive'] };
    expect((await post(`${root}/collections/${groupId}/objects/`, 'bank-alice', { objects: [sighting] })).json()).toMatchObject({ success_count: 1 });
    const latest = objectsOf((await get(`${root}/collections/${groupId}/objects/${String(mine['id'])}/`, 'bank-alice')).body)[0]!;
    expect(latest['confidence']).toBeLessThan(s1.after);
    expect(((await get(`${root}/collections/${groupId}/objects/${String(mine['id'])}/versions/`, 'bank-alice')).json() as { versions: string[] }).versions).toHaveLength(3);
  });

  it('shows an indicator\'s sighting history, naming the reporter only to its own organization and the NCO', async () => {
    const mine = objectsOf((await get(`${root}/collections/${groupId}/objects/?match[type]=indicator`, 'bank-alice')).body).find((o) => o['name'] === 'ipv4 198.51.100.3')!;
    const history = async (token: string, id: string) => {
      const res = await t.app.fastify.inject({ url: `/api/v1/sharing/indicators/${encodeURIComponent(id)}/sightings`, headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode, res.body).toBe(200);
      return (res.json() as { sightings: { outcome: string; count: number; reporterOrg: string | null; ownOrg: boolean }[] }).sightings;
    };
    const own = await history(users['bank-alice']!.token, String(mine['id']));
    expect(own.some((s) => s.outcome === 'confirmed' && s.count === 2 && s.ownOrg && s.reporterOrg !== null)).toBe(true);
    const nco = await history(t.users.tokens.analyst, released['amber']![0]!);
    expect(nco.length).toBeGreaterThan(0);
    expect(nco.every((s) => s.reporterOrg !== null)).toBe(true);
    const admin = await t.app.fastify.inject({ url: `/api/v1/sharing/indicators/${encodeURIComponent(String(mine['id']))}/sightings`, headers: { authorization: `Bearer ${t.users.tokens.admin}` } });
    expect(admin.statusCode).toBe(403);
  });

  it('exports only the selected objects (by the member\'s own ids), still marked for that member', async () => {
    const copy = objectsOf((await get(`${root}/collections/${groupId}/objects/?match[type]=indicator`, 'bank-alice')).body);
    const picked = copy.slice(0, 2).map((o) => String(o['id']));
    const res = await t.app.fastify.inject({ url: `/api/v1/sharing/groups/${groupId}/bundle?ids=${picked.map(encodeURIComponent).join(',')}`, headers: { authorization: `Bearer ${users['bank-alice']!.token}` } });
    expect(res.statusCode, res.body).toBe(200);
    const bundle = res.json() as { objects: { id: string }[] };
    expect(bundle.objects.map((o) => o.id).sort()).toEqual([...picked].sort());
    const traced = await t.core.sharing.traceLeak(t.users.ctx.nco_director, res.body);
    expect(traced.verdict[0]).toMatchObject({ username: 'bank-alice' });
  });

  it('the TAXII client reads, writes and pages against this server; a feed pulls indicators into the store', async () => {
    const address = await t.app.fastify.listen({ host: '127.0.0.1', port: 0 });
    const client = createTaxiiClient({ fetch: (u, i) => fetch(u, i), auth: { kind: 'basic', username: 'bank-alice', password: 'correct horse bank-alice battery' } });
    const disc = await client.discovery(address);
    const apiRoot = (disc['api_roots'] as string[])[0]!;
    expect(await client.apiRoot(apiRoot)).toMatchObject({ versions: [TAXII_MEDIA_TYPE] });
    const collectionUrl = `${apiRoot}collections/${groupId}/`;
    expect((await client.collections(apiRoot)).map((c) => c['id'])).toContain(groupId);
    let page = await client.getObjects(collectionUrl, { limit: 2 });
    let total = page.objects.length;
    while (page.more) { page = await client.getObjects(collectionUrl, { limit: 2, next: page.next! }); total += page.objects.length; }
    expect(total).toBeGreaterThan(5);
    const status = await client.addObjects(collectionUrl, [{ type: 'indicator', spec_version: '2.1', id: 'indicator--0d3c8e8a-5c4e-4b0e-9a77-1c2d3e4f5a6b', created: '2026-04-01T00:00:00.000Z', modified: '2026-04-01T00:00:00.000Z', pattern: "[url:value = 'http://bad.example/x']", pattern_type: 'stix', valid_from: '2026-04-01T00:00:00Z' }]);
    expect((await client.status(apiRoot, status.id)).success_count).toBe(1);
    expect(await client.getManifest(collectionUrl, { matchType: ['indicator'] })).toHaveProperty('objects');
    await expect(createTaxiiClient({ fetch: (u, i) => fetch(u, i), auth: { kind: 'basic', username: 'bank-alice', password: 'nope nope nope' } }).collections(apiRoot)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });

    const feed = await t.core.sharing.addFeed(t.users.ctx.analyst, { name: 'Finance ISAC mirror', url: collectionUrl, auth: { kind: 'basic', username: 'bank-alice', password: 'correct horse bank-alice battery' } });
    const pulled = await t.core.sharing.pullFeed(t.users.ctx.analyst, feed.id);
    expect(pulled.indicators).toBeGreaterThan(3);
    const stored = await t.core.sharing.activeIndicators(t.users.ctx.analyst);
    expect(stored.filter((i) => i.sourceType === 'feed').map((i) => i.value)).toEqual(expect.arrayContaining(['198.51.100.1', 'http://bad.example/x']));
    expect(pulled.feed.cursor).toMatch(/Z$/);
    // A second pull starts after the cursor: nothing new.
    expect((await t.core.sharing.pullFeed(t.users.ctx.analyst, feed.id)).objects).toBe(0);
    expect((await t.core.sharing.listFeeds(t.users.ctx.analyst)).items[0]).not.toHaveProperty('password');
    // The remote's 401 is the feed's problem: 503 naming what to check, never our caller's 401.
    const refused = await t.core.sharing.addFeed(t.users.ctx.analyst, { name: 'Wrong password', url: collectionUrl, auth: { kind: 'basic', username: 'bank-bob', password: 'not bob password at all' } });
    await expect(t.core.sharing.pullFeed(t.users.ctx.analyst, refused.id)).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('answered 401') });
    // Credentials belong in auth (stored apart, never listed), not in a URL that is shown as it is.
    const withUserinfo = collectionUrl.replace('http://', 'http://bank-alice:secret@');
    await expect(t.core.sharing.addFeed(t.users.ctx.analyst, { name: 'Userinfo', url: withUserinfo })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('url') });
    expect((await t.core.sharing.listFeeds(t.users.ctx.analyst)).items.map((f) => f.name)).not.toContain('Userinfo');
  }, 30_000);

  it('names the recipient of any single leaked object among 100 recipients, with evidence', async () => {
    const many: string[] = [];
    for (let i = 0; i < 100; i++) {
      await addUser(`member-${i}`, 'council_member', orgs['bank']!);
      many.push(`member-${i}`);
    }
    const copies = new Map<string, Record<string, unknown>[]>();
    for (const u of many) copies.set(u, (await t.core.sharing.readPage(users[u]!.ctx, groupId, { limit: 1000, after: 0, addedAfter: undefined, ids: [], types: ['indicator', 'report'], versions: { first: false, last: true, all: false, timestamps: [] }, specVersions: [] }, 'taxii', 'objects')).objects.map((s) => JSON.parse(s) as Record<string, unknown>));
    const ours = (o: Record<string, unknown>) => String(o['created_by_ref'] ?? '').startsWith('identity--');
    for (const k of [0, 17, 58, 99]) {
      const copy = copies.get(`member-${k}`)!.filter(ours);
      const leaked = copy[k % copy.length]!;
      const report = await t.core.sharing.traceLeak(t.users.ctx.nco_director, JSON.stringify(leaked));
      expect(report.verdict[0]).toMatchObject({ username: `member-${k}`, conclusive: true });
      expect(report.verdict[1]?.conclusive ?? false).toBe(false);
      expect(report.objects[0]!.candidates[0]!.received.length).toBeGreaterThan(0);
    }
    // A fragment cut out of a copy, with its id re-minted, still points at the recipient.
    const frag = { ...copies.get('member-33')!.filter(ours)[0]!, id: 'indicator--5e1f6a3b-2c4d-4e8f-9a0b-1c2d3e4f5a6b' };
    const text = `leaked on a forum: ${JSON.stringify(frag)} ... (truncated`;
    const r = await t.core.sharing.traceLeak(t.users.ctx.nco_director, text);
    expect(r.verdict[0]!.username).toBe('member-33');
    const api = await t.app.fastify.inject({ method: 'POST', url: '/api/v1/sharing/leaks/trace', payload: { text }, headers: { authorization: `Bearer ${t.users.tokens.commissioner}` } });
    expect(api.json()).toMatchObject({ verdict: [expect.objectContaining({ username: 'member-33' })] });
  }, 120_000);
});

describe('drafts and release', () => {
  it('sanitizes pseudonyms, operator names (unless consented) and what a wide marking forbids', async () => {
    const operatorOrg = t.users.orgs['Test Electric Power Co.']!;
    const d = await t.core.sharing.draftFromIndicators(t.users.ctx.analyst, {
      title: 'Beacons at Test Electric Power Co.', description: 'Source 0123456789abcdef0123456789abcdef talked to the C2.',
      indicators: [{ kind: 'ipv4', value: '203.0.113.9' }, { kind: 'pseudonym', value: 'fedcba9876543210fedcba9876543210' }],
      tlp: 'green', labels: ['electricity', 'c2'], sourceRef: { type: 'case', id: 'case-1' },
    });
    const text = JSON.stringify(d.objects);
    expect(text).not.toContain('Test Electric Power Co.');
    expect(text).not.toContain('0123456789abcdef0123456789abcdef');
    expect(text).not.toContain('fedcba9876543210');
    expect(text).not.toContain('electricity');
    expect(d.removed.map((x) => x.reason).sort()).toEqual(['OPERATOR_IDENTITY', 'PSEUDONYM', 'PSEUDONYM', 'TLP_FORBIDS']);
    const consented = await t.core.sharing.draftFromIndicators(t.users.ctx.analyst, { title: 'Beacons at Test Electric Power Co.', indicators: [{ kind: 'ipv4', value: '203.0.113.9' }], tlp: 'amber', sourceRef: { type: 'case', id: 'case-1' }, consentedOrgIds: [operatorOrg] });
    expect(JSON.stringify(consented.objects)).toContain('Test Electric Power Co.');
  });

  it('only a director releases, never their own draft; RED needs named people', async () => {
    const own = await t.core.sharing.draftFromIndicators(t.users.ctx.nco_director, { title: 'x', indicators: [{ kind: 'domain', value: 'bad.example' }], tlp: 'amber', sourceRef: { type: 'report', id: 'r-1' } });
    await expect(t.core.sharing.releaseDraft(t.users.ctx.nco_director, own.id, { groupIds: [groupId] })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(t.core.sharing.releaseDraft(t.users.ctx.analyst, own.id, { groupIds: [groupId] })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(t.core.sharing.draftFromIndicators(t.users.ctx.analyst, { title: 'x', indicators: [{ kind: 'domain', value: 'bad.example' }], tlp: 'red', sourceRef: { type: 'report', id: 'r-1' } })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const res = await t.app.fastify.inject({ method: 'POST', url: '/api/v1/sharing/drafts', payload: { title: 'x', indicators: [], tlp: 'amber', sourceRef: { type: 'report', id: 'r' } }, headers: { authorization: `Bearer ${t.users.tokens.analyst}` } });
    expect(res.statusCode).toBe(400);
  });

  it('every read of intelligence is in the audit log, by reference only', async () => {
    const before = (await t.core.audit.head()).size;
    await get(`${root}/collections/${groupId}/objects/`, 'bank-alice');
    const after = (await t.core.audit.head()).size;
    expect(after).toBe(before + 1);
  });
});
