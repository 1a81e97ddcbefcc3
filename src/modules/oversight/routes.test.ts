import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '#server/test-support/harness.js';
import { acquisitionDraft } from './test-support/fixtures.js';

describe('oversight over HTTP', () => {
  let t: Awaited<ReturnType<typeof createTestApp>>;
  // The harness has one commissioner: a quorum of one keeps the HTTP flow short (the rule itself is tested in the service).
  beforeAll(async () => { t = await createTestApp({ config: { dataDir: mkdtempSync(join(tmpdir(), 'mamori-ov-http-')), oversight: { quorum: 1 } } }); });
  afterAll(async () => { await t.close(); });
  const as = (role: 'analyst' | 'nco_director' | 'commissioner' | 'police' | 'admin') => ({ authorization: `Bearer ${t.users.tokens[role]}` });

  it('drafts, submits, votes, decides, lists approvals and serves the Diet report', async () => {
    const inject = t.app.fastify.inject.bind(t.app.fastify);
    const draft = await inject({ method: 'POST', url: '/api/v1/oversight/requests', headers: as('analyst'), payload: acquisitionDraft('2026-04-01T00:00:00.000Z', 30) });
    expect(draft.statusCode).toBe(201);
    const id = draft.json<{ request: { id: string } }>().request.id;
    // A draft is edited in place (PUT, the drafting body); a bad one is refused with the field named, and changes nothing.
    const edited = await inject({ method: 'PUT', url: `/api/v1/oversight/requests/${id}`, headers: as('analyst'), payload: { ...acquisitionDraft('2026-04-01T00:00:00.000Z', 30), title: 'Edited title' } });
    expect(edited.json()).toMatchObject({ request: { id, status: 'draft', title: 'Edited title' } });
    const tooLong = await inject({ method: 'PUT', url: `/api/v1/oversight/requests/${id}`, headers: as('analyst'), payload: acquisitionDraft('2026-04-01T00:00:00.000Z', 400) });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json()).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'acquisition.periodEnd' }] });
    expect((await inject({ method: 'PUT', url: `/api/v1/oversight/requests/${id}`, headers: as('police'), payload: acquisitionDraft('2026-04-01T00:00:00.000Z', 30) })).statusCode).toBe(403);
    expect((await inject({ method: 'POST', url: `/api/v1/oversight/requests/${id}/submit`, headers: as('nco_director') })).statusCode).toBe(200);
    const late = await inject({ method: 'PUT', url: `/api/v1/oversight/requests/${id}`, headers: as('analyst'), payload: acquisitionDraft('2026-04-01T00:00:00.000Z', 30) });
    expect(late.statusCode).toBe(409);
    expect(late.json()).toMatchObject({ code: 'CONFLICT', reason: { code: 'request.notDraftEdit' } });
    const early = await inject({ method: 'POST', url: `/api/v1/oversight/requests/${id}/decision`, headers: as('commissioner'), payload: {} });
    expect(early.statusCode).toBe(409);
    expect(early.json()).toMatchObject({ code: 'CONFLICT' });
    const bad = await inject({ method: 'POST', url: `/api/v1/oversight/requests/${id}/votes`, headers: as('commissioner'), payload: { vote: 'maybe' } });
    expect(bad.statusCode).toBe(400);
    expect((await inject({ method: 'POST', url: `/api/v1/oversight/requests/${id}/votes`, headers: as('commissioner'), payload: { vote: 'approve', reasons: 'Proportionate.' } })).statusCode).toBe(200);
    const decided = await inject({ method: 'POST', url: `/api/v1/oversight/requests/${id}/decision`, headers: as('commissioner'), payload: { conditions: ['Monthly report.'] } });
    expect(decided.json()).toMatchObject({ request: { status: 'approved', decision: { conditions: ['Monthly report.'] } } });
    // The approval became a legal basis in selection.
    const approvals = await inject({ method: 'GET', url: '/api/v1/oversight/approvals', headers: as('police') });
    const [approval] = approvals.json<{ items: { basisId: string | null; state: string }[] }>().items;
    expect(approval).toMatchObject({ state: 'active' });
    expect(approval!.basisId).not.toBeNull();
    const basis = await inject({ method: 'GET', url: `/api/v1/legal-bases/${approval!.basisId!}`, headers: as('commissioner') });
    expect(basis.statusCode).toBe(200);
    expect((await inject({ method: 'GET', url: '/api/v1/oversight/requests', headers: as('admin') })).statusCode).toBe(403);
    const report = await inject({ method: 'GET', url: '/api/v1/oversight/diet-report?from=2026-01-01&to=2027-01-01', headers: as('commissioner') });
    expect(report.statusCode).toBe(200);
    expect(report.json()).toMatchObject({ report: { figures: { requests: { acquisition: { approved: 1 } } } } });
    const html = await inject({ method: 'GET', url: '/api/v1/oversight/diet-report?from=2026-01-01&to=2027-01-01&format=html', headers: as('commissioner') });
    expect(html.headers['content-type']).toContain('text/html');
    expect((await inject({ method: 'GET', url: '/api/v1/oversight/diet-report', headers: as('commissioner') })).statusCode).toBe(400);
  });

  it('publishes a Diet report to the public: listed and readable without signing in, as JSON and HTML', async () => {
    const inject = t.app.fastify.inject.bind(t.app.fastify);
    expect((await inject({ method: 'POST', url: '/api/v1/oversight/published-reports', headers: as('analyst'), payload: { from: '2026-01-01T00:00:00Z', to: '2027-01-01T00:00:00Z' } })).statusCode).toBe(403);
    expect((await inject({ method: 'POST', url: '/api/v1/oversight/published-reports', headers: as('commissioner'), payload: { from: '2026-01-01T00:00:00Z' } })).json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    const pub = await inject({ method: 'POST', url: '/api/v1/oversight/published-reports', headers: as('commissioner'), payload: { from: '2026-01-01T00:00:00Z', to: '2027-01-01T00:00:00Z' } });
    expect(pub.statusCode).toBe(201);
    const report = pub.json<{ report: { id: string; figuresSha256: string; publishedAt: string; checkpoint: { note: string } } }>().report;
    const list = await inject({ method: 'GET', url: '/api/v1/oversight/published-reports' });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toMatchObject({ items: [{ id: report.id, figuresSha256: report.figuresSha256, publishedAt: report.publishedAt }], nextCursor: null });
    const one = await inject({ method: 'GET', url: `/api/v1/oversight/published-reports/${report.id}` });
    expect(one.json()).toMatchObject({ report: { id: report.id, figures: { requests: { acquisition: { approved: 1 } } }, checkpoint: { note: report.checkpoint.note } } });
    // Who published it is in the audit log, not in the public copy.
    expect(one.body).not.toContain(t.users.ctx.commissioner.actor.userId!);
    const html = await inject({ method: 'GET', url: `/api/v1/oversight/published-reports/${report.id}?format=html` });
    expect(html.headers['content-type']).toContain('text/html');
    expect(html.body).toContain(report.figuresSha256);
    expect((await inject({ method: 'GET', url: '/api/v1/oversight/published-reports/nope' })).statusCode).toBe(404);
  });

  it('excludes a member who declared a conflict from voting and deciding', async () => {
    const inject = t.app.fastify.inject.bind(t.app.fastify);
    const draft = await inject({ method: 'POST', url: '/api/v1/oversight/requests', headers: as('analyst'), payload: acquisitionDraft('2026-04-01T00:00:00.000Z', 30) });
    const id = draft.json<{ request: { id: string } }>().request.id;
    await inject({ method: 'POST', url: `/api/v1/oversight/requests/${id}/submit`, headers: as('nco_director') });
    expect((await inject({ method: 'POST', url: `/api/v1/oversight/requests/${id}/conflicts`, headers: as('commissioner'), payload: { reason: '' } })).statusCode).toBe(400);
    const declared = await inject({ method: 'POST', url: `/api/v1/oversight/requests/${id}/conflicts`, headers: as('commissioner'), payload: { reason: 'I advised the operator last year.' } });
    expect(declared.json()).toMatchObject({ request: { conflicts: [{ memberId: t.users.ctx.commissioner.actor.userId!, reason: 'I advised the operator last year.' }] } });
    expect((await inject({ method: 'POST', url: `/api/v1/oversight/requests/${id}/votes`, headers: as('commissioner'), payload: { vote: 'approve', reasons: 'x' } })).statusCode).toBe(403);
    expect((await inject({ method: 'POST', url: `/api/v1/oversight/requests/${id}/decision`, headers: as('commissioner'), payload: {} })).statusCode).toBe(403);
  });

  it('records an emergency action and lets the commission inspect who read what', async () => {
    const inject = t.app.fastify.inject.bind(t.app.fastify);
    const act = await inject({ method: 'POST', url: '/api/v1/oversight/emergency-actions', headers: as('police'), payload: { kind: 'measure', title: 'Block C2', justification: 'Imminent harm.', evidence: [], measure: { measureId: 'm-http', measureKind: 'block', agency: 'police', summary: 'Block it.' } } });
    expect(act.statusCode).toBe(201);
    const reads = await inject({ method: 'GET', url: '/api/v1/oversight/inspection/reads?from=0&to=5000', headers: as('commissioner') });
    expect(reads.json<{ reads: { action: string }[] }>().reads.some((r) => r.action === 'approval:read')).toBe(true);
    expect((await inject({ method: 'GET', url: '/api/v1/oversight/inspection/reads?from=5&to=1', headers: as('commissioner') })).statusCode).toBe(400);
    // Without a range: the newest entries, up to the log's end.
    const latest = (await inject({ method: 'GET', url: '/api/v1/oversight/inspection/reads', headers: as('commissioner') })).json<{ from: number; to: number; size: number }>();
    expect(latest.to).toBe(latest.size);
    expect(latest.from).toBe(Math.max(0, latest.size - 1000));
    const inv = await inject({ method: 'GET', url: '/api/v1/oversight/inspection/inventory', headers: as('commissioner') });
    expect(inv.json()).toMatchObject({ hooks: { basisIssuer: true } });
  });
});
