/** @module Bad input that used to get through: unpaired surrogates, deep JSON, blank and NUL text, bidi controls, empty follow-ups. */
import type { InjectOptions } from 'light-my-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { textProblem, inspectJson, jsonTextDepth } from '#platform/text/index.js';
import { designate, incidentBody, notificationFields } from '#modules/reporting/test-support/world.js';
import { createTestApp } from './test-support/harness.js';

type T = Awaited<ReturnType<typeof createTestApp>>;

describe('input limits', () => {
  let t: T;
  let incidentId: string;
  const call = (token: string, o: InjectOptions) => t.app.fastify.inject({ ...o, headers: { ...(o.headers ?? {}), authorization: `Bearer ${token}` } });
  const raw = (token: string, url: string, body: string) => call(token, { method: 'POST', url, payload: body, headers: { 'content-type': 'application/json' } });
  const auditSize = async () => (await t.core.audit.head()).size;

  beforeAll(async () => {
    t = await createTestApp({ clock: new ManualClock('2026-04-10T00:00:00.000Z') });
    await designate(t.core, t.users.orgs['Test Electric Power Co.']!, 'electricity');
    const r = await call(t.users.tokens.operator, { method: 'POST', url: '/api/v1/incidents', payload: incidentBody('2026-04-09T12:00:00Z') });
    expect(r.statusCode, r.body).toBe(201);
    incidentId = (r.json() as { report: { id: string } }).report.id;
  });
  afterAll(async () => { await t.close(); });

  it('refuses a re-identification with an unpaired surrogate with 400, and audits the refusal', async () => {
    const before = await auditSize();
    const body = `{"pseudonym":"${'ab'.repeat(16)}","period":"2026-04","candidates":["192.0.2.1"],"approvalId":"x\\ud800y"}`;
    const r = await raw(t.users.tokens.analyst, '/api/v1/pseudonyms/reidentify', body);
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'approvalId', message: expect.stringContaining('unpaired UTF-16 surrogate') as string }] });
    const entries = await t.core.audit.entries({ from: before, to: before + 10 });
    expect(entries.map((e) => [e.action, e.outcome])).toEqual([['pseudonym:reidentify', 'denied']]);
  });

  it('audits a re-identification refused for any other bad field too', async () => {
    const before = await auditSize();
    const r = await call(t.users.tokens.analyst, { method: 'POST', url: '/api/v1/pseudonyms/reidentify', payload: { pseudonym: 'not-hex', period: '2026-04', candidates: ['192.0.2.1'], approvalId: 'a' } });
    expect(r.statusCode).toBe(400);
    const entries = await t.core.audit.entries({ from: before, to: before + 10 });
    expect(entries.map((e) => [e.action, e.outcome])).toEqual([['pseudonym:reidentify', 'denied']]);
    expect(JSON.stringify(entries)).not.toContain('not-hex');
  });

  it('answers 400, not 500, to JSON nested 10,000 deep, on a JSON route and in a leak trace', async () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const r = await raw(t.users.tokens.nco_director, '/api/v1/sharing/leaks/trace', `{"type":"bundle","id":"bundle--x","objects":${deep}}`);
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('nested deeper than 64') as string });
    const asText = await call(t.users.tokens.nco_director, { method: 'POST', url: '/api/v1/sharing/leaks/trace', payload: { text: deep } });
    expect(asText.statusCode).toBe(400);
    expect(asText.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    const deepObject = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    expect((await raw(t.users.tokens.operator, `/api/v1/incidents/${incidentId}/followups`, deepObject)).statusCode).toBe(400);
  });

  it('accepts only leaked text or a STIX document in a leak trace', async () => {
    for (const body of ['[]', '5', '{"anything":"else"}', '{"text":"   "}']) {
      const r = await raw(t.users.tokens.nco_director, '/api/v1/sharing/leaks/trace', body);
      expect(r.statusCode, body).toBe(400);
      expect(r.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
  });

  it('refuses blank and NUL summaries, NUL notification fields and bidi-disguised attachment names, changing nothing', async () => {
    const before = await auditSize();
    for (const summary of ['   ', '\u0000', ' \t\n ']) {
      const body = incidentBody('2026-04-09T12:00:00Z');
      const r = await call(t.users.tokens.operator, { method: 'POST', url: '/api/v1/incidents', payload: { ...body, items: { ...(body['items'] as object), summary } } });
      expect(r.statusCode, JSON.stringify(summary)).toBe(400);
      expect(r.json().details).toEqual([{ path: 'items.summary', message: expect.any(String) as string }]);
    }
    const n = await call(t.users.tokens.operator, { method: 'POST', url: '/api/v1/notifications', payload: { form: 'computer-notification', formVersion: 1, fields: notificationFields({ computerName: 'EMS\u0000' }) } });
    expect(n.statusCode).toBe(400);
    expect(JSON.stringify(n.json().details)).toContain('computerName');
    const blank = await call(t.users.tokens.operator, { method: 'POST', url: '/api/v1/notifications', payload: { form: 'computer-notification', formVersion: 1, fields: notificationFields({ purpose: ' \u3000 ' }) } });
    expect(blank.statusCode).toBe(400);
    const a = await call(t.users.tokens.operator, { method: 'POST', url: `/api/v1/incidents/${incidentId}/attachments`, payload: { filename: 'invoice\u202Efdp.exe', mediaType: 'application/pdf', contentBase64: Buffer.from('%PDF-1.4\n').toString('base64') } });
    expect(a.statusCode).toBe(400);
    expect(a.json().details).toEqual([{ path: 'filename', message: expect.stringContaining('bidirectional control') as string }]);
    expect(await auditSize()).toBe(before);
  });

  it('refuses a follow-up that changes nothing, and one that repeats the current items', async () => {
    const empty = await call(t.users.tokens.operator, { method: 'POST', url: `/api/v1/incidents/${incidentId}/followups`, payload: { stage: 'update' } });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().details).toEqual([{ path: 'items', message: expect.stringContaining('must change something') as string }]);
    const same = await call(t.users.tokens.operator, { method: 'POST', url: `/api/v1/incidents/${incidentId}/followups`, payload: { stage: 'update', items: { response: 'Isolated the workstation' } } });
    expect(same.statusCode).toBe(400);
    expect(same.json().details).toEqual([{ path: 'items', message: 'no change from the current version' }]);
    const real = await call(t.users.tokens.operator, { method: 'POST', url: `/api/v1/incidents/${incidentId}/followups`, payload: { stage: 'update', items: { response: 'Reimaged' } } });
    expect(real.statusCode, real.body).toBe(201);
    expect((real.json() as { report: { version: number } }).report.version).toBe(2);
  });

  it('checks text and JSON without recursion', () => {
    expect(textProblem('ok 日本語 😀')).toBeUndefined();
    expect(textProblem('a\ud800')).toContain('surrogate');
    expect(textProblem('\u2067x')).toContain('bidirectional');
    expect(textProblem('line\nbreak', { singleLine: true })).toContain('line break');
    expect(textProblem('line\nbreak')).toBeUndefined();
    let v: unknown = 1;
    for (let i = 0; i < 100_000; i++) v = [v];
    expect(inspectJson(v)).toMatchObject({ message: expect.stringContaining('deeper than 64') as string });
    expect(inspectJson({ a: [{ b: 'fine' }] })).toBeUndefined();
    expect(inspectJson({ '\udc00': 1 })?.path).toBe('\ufffd');
    expect(jsonTextDepth('{"a":"[[[[","b":[[1]]}')).toBe(3);
  });
});
