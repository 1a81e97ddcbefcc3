/** @module TAXII/STIX corners, driven by a TAXII 2.1 client over a real socket: versions only by the creator, match[version], sightings of unseen objects, revoked feed indicators, duplicate versions in one POST, 405. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManualClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { dbIndicatorSource } from '#modules/analysis/index.js';
import { createTestApp } from '#server/test-support/harness.js';
import { createTaxiiClient, type TaxiiClient } from './client.js';

type T = Awaited<ReturnType<typeof createTestApp>>;
const PASS = (u: string) => `correct horse ${u} battery`;

describe('TAXII corners', () => {
  let t: T;
  let apiRoot: string;
  let finance: string;
  let other: string;
  const clients: Record<string, TaxiiClient> = {};
  const url = (group: string) => `${apiRoot}collections/${group}/`;
  const indicator = (id: string, modified: string, extra: Record<string, unknown> = {}) => ({
    type: 'indicator', spec_version: '2.1', id, created: '2026-04-01T00:00:00.000Z', modified, pattern: "[ipv4-addr:value = '203.0.113.200']",
    pattern_type: 'stix', valid_from: '2026-04-01T00:00:00Z', ...extra,
  });

  beforeAll(async () => {
    t = await createTestApp();
    const sys = systemContext('test');
    const d = t.users.ctx.nco_director;
    const bank = t.users.orgs['Council Member Bank']!;
    const insurer = (await t.core.identity.createOrg(sys, { name: 'Council Insurer', kind: 'council_member', sectors: ['finance'] })).id;
    for (const [u, org] of [['bank-ann', bank], ['insurer-ida', insurer]] as const) {
      await t.core.identity.createUser(sys, { username: u, displayName: u, password: PASS(u), roles: ['council_member'], orgId: org });
    }
    finance = (await t.core.sharing.createGroup(d, { name: 'Finance ISAC', description: 'banks and insurers' })).id;
    other = (await t.core.sharing.createGroup(d, { name: 'Payments', description: 'a second group' })).id;
    for (const g of [finance, other]) for (const org of [bank, insurer]) await t.core.sharing.addGroupMember(d, g, { orgId: org, canRead: true, canWrite: true });
    // One NCO indicator, released to the finance group only.
    const draft = await t.core.sharing.draftFromIndicators(t.users.ctx.analyst, { title: 'c2', indicators: [{ kind: 'ipv4', value: '198.51.100.50' }], tlp: 'green', sourceRef: { type: 'finding', id: 'f-1' } });
    await t.core.sharing.releaseDraft(d, draft.id, { groupIds: [finance] });
    const address = await t.app.fastify.listen({ host: '127.0.0.1', port: 0 });
    apiRoot = `${address}/taxii2/mamori/`;
    for (const u of ['bank-ann', 'insurer-ida']) clients[u] = createTaxiiClient({ fetch: (a, i) => fetch(a, i), auth: { kind: 'basic', username: u, password: PASS(u) } });
  });
  afterAll(async () => { await t.close(); });

  it('refuses a new version of an object another identity created; match[version] first and last give one version each', async () => {
    const id = 'indicator--6a7c1a0e-1b2c-4d3e-8f90-0a1b2c3d4e5f';
    const ann = clients['bank-ann']!;
    expect((await ann.addObjects(url(finance), [indicator(id, '2026-04-01T00:00:00.000Z')])).success_count).toBe(1);
    const theirs = await clients['insurer-ida']!.addObjects(url(finance), [indicator(id, '2026-04-02T00:00:00.000Z', { pattern: "[ipv4-addr:value = '203.0.113.201']" })]);
    expect(theirs).toMatchObject({ success_count: 0, failure_count: 1 });
    expect(theirs.failures[0]!.message).toContain('only its creator may publish a new version');
    // The creator may version it.
    expect((await ann.addObjects(url(finance), [indicator(id, '2026-04-03T00:00:00.000Z', { confidence: 90 })])).success_count).toBe(1);
    const versionsOf = async (v: string) => (await ann.getObjects(url(finance), { matchId: [id], matchVersion: [v] })).objects.map((o) => o['modified']);
    expect(await versionsOf('first')).toEqual(['2026-04-01T00:00:00.000Z']);
    expect(await versionsOf('last')).toEqual(['2026-04-03T00:00:00.000Z']);
    expect(await versionsOf('all')).toEqual(['2026-04-01T00:00:00.000Z', '2026-04-03T00:00:00.000Z']);
  });

  it('refuses a sighting of an object the member cannot see in the collection, rather than rewriting its reference', async () => {
    const ann = clients['bank-ann']!;
    const ours = (await ann.getObjects(url(finance), { matchType: ['indicator'] })).objects.find((o) => String(o['pattern']).includes('198.51.100.50'))!;
    const sighting = (id: string) => ({ type: 'sighting', spec_version: '2.1', id, created: '2026-04-05T00:00:00.000Z', modified: '2026-04-05T00:00:00.000Z', sighting_of_ref: ours['id'] });
    const elsewhere = await ann.addObjects(url(other), [sighting('sighting--0f1e2d3c-4b5a-4987-8a6b-5c4d3e2f1a0b')]);
    expect(elsewhere).toMatchObject({ success_count: 0, failure_count: 1 });
    expect(elsewhere.failures[0]!.message).toContain('sighting_of_ref: refers to no object you can see in this collection');
    expect((await ann.getObjects(url(other), { matchType: ['sighting'] })).objects).toEqual([]);
    // Where the member can see it, the sighting is taken and reads back under the id it was sent with.
    const here = await ann.addObjects(url(finance), [sighting('sighting--1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d')]);
    expect(here.success_count).toBe(1);
    const back = await ann.getObject(url(finance), 'sighting--1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d');
    expect(((back as { objects?: { id: string }[] }).objects ?? [back]).map((o) => (o as { id: string }).id)).toEqual(['sighting--1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d']);
  });

  it('fails the second of two objects with the same id and modified but different content in one POST', async () => {
    const id = 'indicator--7b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e';
    const status = await clients['bank-ann']!.addObjects(url(finance), [
      indicator(id, '2026-04-01T00:00:00.000Z'),
      indicator(id, '2026-04-01T00:00:00.000Z', { pattern: "[ipv4-addr:value = '203.0.113.99']" }),
      indicator(id, '2026-04-01T00:00:00.000Z'),
    ]);
    expect(status).toMatchObject({ total_count: 3, success_count: 2, failure_count: 1 });
    expect(status.failures[0]!.message).toContain('different content');
    const polled = await clients['bank-ann']!.status(apiRoot, status.id);
    expect(polled.failures.map((f) => f.id)).toEqual([id]);
  });

  it('deactivates a feed\'s imported indicator when a later version revokes it', async () => {
    const id = 'indicator--8c9d0e1f-2a3b-4c4d-8e5f-6a7b8c9d0e1f';
    const ann = clients['bank-ann']!;
    await ann.addObjects(url(other), [indicator(id, '2026-04-01T00:00:00.000Z', { pattern: "[ipv4-addr:value = '192.0.2.77']" })]);
    const feed = await t.core.sharing.addFeed(t.users.ctx.analyst, { name: 'Payments mirror', url: url(other), auth: { kind: 'basic', username: 'bank-ann', password: PASS('bank-ann') } });
    await t.core.sharing.pullFeed(t.users.ctx.analyst, feed.id);
    const active = async () => (await t.core.sharing.activeIndicators(t.users.ctx.analyst)).filter((i) => i.sourceType === 'feed' && i.value === '192.0.2.77');
    const matched = async () => (await dbIndicatorSource(t.core.db, () => t.core.clock.nowMs()).list()).some((i) => i.value === '192.0.2.77');
    expect(await active()).toHaveLength(1);
    expect(await matched()).toBe(true);
    (t.core.clock as ManualClock).advance(1000);
    await ann.addObjects(url(other), [indicator(id, '2026-04-06T00:00:00.000Z', { pattern: "[ipv4-addr:value = '192.0.2.77']", revoked: true })]);
    await t.core.sharing.pullFeed(t.users.ctx.analyst, feed.id);
    expect(await active()).toEqual([]);
    // The known-indicator detector stops matching it too.
    expect(await matched()).toBe(false);
  });

  it('answers a method an endpoint does not take with 405 and Allow, an unknown endpoint with 404', async () => {
    const auth = { authorization: `Basic ${Buffer.from(`bank-ann:${PASS('bank-ann')}`).toString('base64')}`, accept: 'application/taxii+json;version=2.1' };
    const del = await t.app.fastify.inject({ method: 'DELETE', url: '/taxii2/', headers: auth });
    expect(del.statusCode, del.body).toBe(405);
    expect(del.headers['allow']).toBe('GET, HEAD');
    expect(del.json()).toMatchObject({ http_status: '405', title: 'Method Not Allowed' });
    const put = await t.app.fastify.inject({ method: 'PUT', url: `/taxii2/mamori/collections/${finance}/objects/`, headers: auth });
    expect(put.statusCode).toBe(405);
    expect(put.headers['allow']).toBe('GET, HEAD, POST');
    expect((await t.app.fastify.inject({ method: 'POST', url: `/taxii2/mamori/collections/${finance}/manifest/`, headers: auth })).statusCode).toBe(405);
    expect((await t.app.fastify.inject({ method: 'GET', url: '/taxii2/mamori/nothing/here/', headers: auth })).statusCode).toBe(404);
  });
});
