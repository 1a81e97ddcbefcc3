import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InjectOptions } from 'fastify';
import { ManualClock } from '#platform/clock/index.js';
import { createTestApp } from '#server/test-support/harness.js';
import { addUser, designate, incidentBody, type TestUser } from './test-support/world.js';

interface Deadline { key: string; state: string; ministryEscalatedAt: string | null }
interface Item { kind: string; recipient: string; reportId: string | null; note: string | null; subjectType: string }

describe('a ministry escalates an overdue report over HTTP', () => {
  let t: Awaited<ReturnType<typeof createTestApp>>;
  const clock = new ManualClock('2026-04-01T00:00:00.000Z');
  let op: TestUser;
  let fsa: TestUser;
  let tok: Record<string, string>;
  let reportId: string;

  const call = async (token: string, o: InjectOptions) => t.app.fastify.inject({ ...o, headers: { ...(o.headers ?? {}), authorization: `Bearer ${token}` } });
  const escalate = (token: string, id: string, payload: unknown) => call(token, { method: 'POST', url: `/api/v1/incidents/${id}/escalations`, payload: payload as Record<string, unknown> });
  const deadlines = async (id: string) => ((await call(tok['ministry']!, { method: 'GET', url: `/api/v1/incidents/${id}` })).json() as { incident: { deadlines: Deadline[] } }).incident.deadlines;
  const inbox = async (token: string) => ((await call(token, { method: 'GET', url: '/api/v1/inbox' })).json() as { items: Item[] }).items.filter((i) => i.reportId === reportId && i.kind !== 'filing');

  beforeAll(async () => {
    t = await createTestApp({ clock });
    tok = t.users.tokens as unknown as Record<string, string>;
    op = { token: t.users.tokens.operator, orgId: t.users.orgs['Test Electric Power Co.']!, userId: '' };
    fsa = await addUser(t.core, { name: 'Financial Services Agency', kind: 'ministry', sectors: ['finance'] }, 'ministry', 'fsa-officer');
    await designate(t.core, op.orgId, 'electricity', ['nis2']);
    const res = await call(op.token, { method: 'POST', url: '/api/v1/incidents', payload: incidentBody('2026-04-01T00:00:00Z') });
    expect(res.statusCode, res.body).toBe(201);
    reportId = (res.json() as { report: { id: string } }).report.id;
  });
  afterAll(async () => { await t.close(); });

  it('refuses a deadline that is not yet due, one that was met, and one the report does not have', async () => {
    const early = await escalate(tok['ministry']!, reportId, { deadline: 'jp.written', note: 'Please file the written report.' });
    expect(early.statusCode, early.body).toBe(409);
    // The refusal carries its code and parameters beside the English message, for clients to word it.
    expect(early.json()).toMatchObject({ code: 'CONFLICT', reason: { code: 'escalation.notOverdue', params: { deadline: 'jp.written', dueAt: expect.any(String) as unknown } } });
    expect((await escalate(tok['ministry']!, reportId, { deadline: 'jp.initial', note: 'x' })).statusCode).toBe(409);
    const none = await escalate(tok['ministry']!, reportId, { deadline: 'circia.report', note: 'x' });
    expect(none.statusCode).toBe(400);
    expect(none.json()).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'deadline' }] });
  });

  it('refuses bad input naming the field', async () => {
    clock.set('2026-04-05T00:00:00.000Z'); // the NIS2 notification (72 h, due 2026-04-04) is now overdue
    const bad = await escalate(tok['ministry']!, reportId, { deadline: 'nis2.notification', note: '  ' });
    expect(bad.statusCode).toBe(400);
    expect(JSON.stringify(bad.json())).toContain('note');
    expect((await escalate(tok['ministry']!, reportId, { deadline: 'soon', note: 'x' })).statusCode).toBe(400);
    expect((await escalate(tok['ministry']!, reportId, { deadline: 'nis2.notification', note: 'x', extra: 1 })).statusCode).toBe(400);
  });

  it('lets only the supervising ministry escalate: another ministry sees no such report; the operator and NCO may not', async () => {
    expect((await escalate(fsa.token, reportId, { deadline: 'nis2.notification', note: 'x' })).statusCode).toBe(404);
    expect((await escalate(op.token, reportId, { deadline: 'nis2.notification', note: 'x' })).statusCode).toBe(403);
    expect((await escalate(tok['analyst']!, reportId, { deadline: 'nis2.notification', note: 'x' })).statusCode).toBe(403);
    expect((await escalate(tok['admin']!, reportId, { deadline: 'nis2.notification', note: 'x' })).statusCode).toBe(403);
    expect((await deadlines(reportId)).find((d) => d.key === 'nis2.notification')!.ministryEscalatedAt).toBeNull();
  });

  it('escalates an overdue deadline once: the NCO gets the escalation, the operator a demand, both with the note, and it is audited', async () => {
    const before = (await t.core.audit.head()).size;
    const res = await escalate(tok['ministry']!, reportId, { deadline: 'nis2.notification', note: 'Operator has not answered two calls.' });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ escalation: { deadline: 'nis2.notification', dueAt: '2026-04-04T00:00:00.000Z', escalatedAt: '2026-04-05T00:00:00.000Z' } });
    const nco = await inbox(tok['analyst']!);
    expect(nco.filter((i) => i.subjectType === 'ministry_escalation')).toEqual([expect.objectContaining({
      kind: 'escalation', recipient: 'nco', note: expect.stringContaining('Operator has not answered two calls.') as unknown,
      message: { code: 'inbox.escalatedByMinistry', params: { deadline: 'nis2.notification', dueAt: '2026-04-04T00:00:00.000Z', note: 'Operator has not answered two calls.' } },
    })]);
    const mine = await inbox(op.token);
    expect(mine.filter((i) => i.subjectType === 'ministry_escalation')).toEqual([expect.objectContaining({ kind: 'overdue', recipient: 'operator' })]);
    expect((await deadlines(reportId)).find((d) => d.key === 'nis2.notification')).toMatchObject({ state: 'overdue', ministryEscalatedAt: '2026-04-05T00:00:00.000Z' });
    const entries = await t.core.audit.entries({ from: before, to: before + 50 });
    const entry = entries.find((e) => e.action === 'incident:escalate');
    expect(entry).toMatchObject({ outcome: 'success', object: { type: 'incident_report', id: reportId } });
    // References and hashes only: the note's text is not in the audit log.
    expect(JSON.stringify(entry)).not.toContain('two calls');

    const again = await escalate(tok['ministry']!, reportId, { deadline: 'nis2.notification', note: 'again' });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ reason: { code: 'escalation.already', params: { deadline: 'nis2.notification', escalatedAt: '2026-04-05T00:00:00.000Z' } } });
    expect((await inbox(tok['analyst']!)).filter((i) => i.subjectType === 'ministry_escalation')).toHaveLength(1);
  });
});
