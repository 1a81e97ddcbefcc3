import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { createTestApp } from '#server/test-support/harness.js';

// The curl sequence of docs/response.md, through inject(): propose, submit, the commission decides,
// the police execute, the RPZ zone appears with an ETag and answers 304 to If-None-Match.

describe('response routes', () => {
  let t: Awaited<ReturnType<typeof createTestApp>>;
  const as = (role: string) => ({ authorization: `Bearer ${t.users.tokens[role as 'police']}` });
  beforeAll(async () => { t = await createTestApp({ clock: new ManualClock('2026-04-01T00:00:00.000Z'), config: { oversight: { quorum: 1 } } }); });
  afterAll(async () => { await t.close(); });

  it('propose → submit → commission approves → police execute → RPZ with ETag and 304', async () => {
    const f = t.app.fastify;
    const bad = await f.inject({ method: 'POST', url: '/api/v1/response/measures', headers: as('analyst'), payload: { kind: 'dns_sinkhole', title: 'x', target: { domains: ['not a domain'] }, justification: { summary: 's' }, expectedEffect: 'e' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().details.map((d: { path: string }) => d.path)).toEqual(expect.arrayContaining(['target.domains.0', 'justification']));
    const created = await f.inject({ method: 'POST', url: '/api/v1/response/measures', headers: as('analyst'), payload: {
      kind: 'dns_sinkhole', title: 'Sinkhole the demo C2', target: { domains: ['c2.demo.example'] }, targetCountry: 'JP',
      justification: { findings: ['finding-1'], reports: [], summary: 'Beacon every 60 s from 12 hosts.' }, expectedEffect: 'Bots cannot resolve their C2.',
    } });
    expect(created.statusCode).toBe(201);
    const id = created.json().measure.id as string;
    const early = await f.inject({ method: 'POST', url: `/api/v1/response/measures/${id}/execute`, headers: as('police'), payload: { reason: 'go' } });
    expect(early.statusCode).toBe(409);
    // The refusal's code and parameters, for clients to word it (the English message stays).
    expect(early.json()).toMatchObject({ message: expect.any(String) as unknown, reason: { code: expect.stringMatching(/^measureRefusal\./) as unknown, params: { transition: 'execute' } } });
    const sub = await f.inject({ method: 'POST', url: `/api/v1/response/measures/${id}/submit`, headers: as('nco_director'), payload: { reason: 'Evidence sufficient.' } });
    expect(sub.statusCode).toBe(200);
    const requestId = sub.json().measure.requestId as string;
    expect((await f.inject({ method: 'POST', url: `/api/v1/oversight/requests/${requestId}/votes`, headers: as('commissioner'), payload: { vote: 'approve', reasons: 'Proportionate.' } })).statusCode).toBe(200);
    expect((await f.inject({ method: 'POST', url: `/api/v1/oversight/requests/${requestId}/decision`, headers: as('commissioner'), payload: {} })).statusCode).toBe(200);
    const shown = await f.inject({ method: 'GET', url: `/api/v1/response/measures/${id}`, headers: as('police') });
    expect(shown.json().measure.state).toBe('approved');
    const ex = await f.inject({ method: 'POST', url: `/api/v1/response/measures/${id}/execute`, headers: as('police'), payload: { reason: 'Loaded on resolvers.' } });
    expect(ex.statusCode).toBe(200);
    expect(ex.json().measure.state).toBe('executing');
    const zone = await f.inject({ method: 'GET', url: '/api/v1/response/artifacts/rpz.zone', headers: as('operator') });
    expect(zone.statusCode).toBe(200);
    expect(zone.headers['content-type']).toContain('text/dns');
    expect(zone.body).toContain('c2.demo.example CNAME .');
    const etag = zone.headers.etag as string;
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
    const again = await f.inject({ method: 'GET', url: '/api/v1/response/artifacts/rpz.zone', headers: { ...as('operator'), 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect(again.headers.etag).toBe(etag);
    const other = await f.inject({ method: 'GET', url: '/api/v1/response/artifacts/rpz.zone', headers: { ...as('operator'), 'if-none-match': '"abc"' } });
    expect(other.statusCode).toBe(200);
    const effect = await f.inject({ method: 'GET', url: `/api/v1/response/measures/${id}/effect`, headers: as('analyst') });
    expect(effect.statusCode).toBe(200);
    expect(effect.json().effect.measureId).toBe(id);
    expect((await f.inject({ method: 'GET', url: `/api/v1/response/measures/${id}/notice?lang=fr`, headers: as('police') })).statusCode).toBe(400);
    expect((await f.inject({ method: 'GET', url: `/api/v1/response/measures/${id}/notice`, headers: as('police') })).statusCode).toBe(404);
    for (const a of ['blocklist.txt', 'blocklist.nft', 'blocklist.json']) expect((await f.inject({ method: 'GET', url: `/api/v1/response/artifacts/${a}`, headers: as('sdf') })).statusCode).toBe(200);
    const stix = await f.inject({ method: 'GET', url: '/api/v1/response/artifacts/stix', headers: as('council_member') });
    expect(stix.json().objects.some((o: { type: string }) => o.type === 'course-of-action')).toBe(true);
    expect((await f.inject({ method: 'GET', url: '/api/v1/response/artifacts/rpz.zone', headers: as('council_member') })).statusCode).toBe(403);
  });
});
