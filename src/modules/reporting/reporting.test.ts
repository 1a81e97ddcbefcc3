import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InjectOptions } from 'fastify';
import { ManualClock } from '#platform/clock/index.js';
import { createTestApp } from '#server/test-support/harness.js';
import { verifyReceipt, type Receipt } from './index.js';
import { verifyCommands } from './receipt-html.js';
import { addUser, designate, incidentBody, notificationFields, type TestUser } from './test-support/world.js';

const PDF = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');

describe('reporting over HTTP: isolation, delivery, receipts, validation', () => {
  let t: Awaited<ReturnType<typeof createTestApp>>;
  const clock = new ManualClock('2026-04-10T00:00:00.000Z');
  let opA: TestUser; // Test Electric Power Co. (electricity), the harness's operator
  let opB: TestUser; // another electricity operator
  let opF: TestUser; // a finance operator
  let fsa: TestUser; // the FSA (finance)
  let tok: Record<string, string>;
  let notifId: string;
  let computerId: string;
  let incidentId: string;
  let receiptId: string;
  let attachmentId: string;
  let metiInbox: string;

  const call = async (token: string, o: InjectOptions) => t.app.fastify.inject({ ...o, headers: { ...(o.headers ?? {}), authorization: `Bearer ${token}` } });
  const auditSize = async () => (await t.core.audit.head()).size;

  beforeAll(async () => {
    t = await createTestApp({ clock });
    tok = t.users.tokens as unknown as Record<string, string>;
    opA = { token: t.users.tokens.operator, orgId: t.users.orgs['Test Electric Power Co.']!, userId: '' };
    opB = await addUser(t.core, { name: 'Other Electric Co.', kind: 'operator', sectors: ['electricity'] }, 'operator', 'op-b');
    opF = await addUser(t.core, { name: 'Test Bank Ltd.', kind: 'operator', sectors: ['finance'] }, 'operator', 'op-f');
    fsa = await addUser(t.core, { name: 'Financial Services Agency', kind: 'ministry', sectors: ['finance'] }, 'ministry', 'fsa-officer');
    await designate(t.core, opA.orgId, 'electricity');
    await designate(t.core, opB.orgId, 'electricity');
    await designate(t.core, opF.orgId, 'finance');
    await t.core.registry.addRange({ actor: { kind: 'system', id: 't', username: 't', roles: [], orgId: null, sectors: [] }, requestId: 't' }, opA.orgId, { cidr: '192.0.2.0/24' });
  });
  afterAll(async () => { await t.close(); });

  it('files a notification, delivers it to METI and the NCO, and returns a signed receipt with the filing hash', async () => {
    const res = await call(opA.token, { method: 'POST', url: '/api/v1/notifications', payload: { form: 'computer-notification', formVersion: 1, fields: notificationFields() } });
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json() as { notification: { id: string; computerId: string; kind: string; sha256: string; deliveries: { recipient: string }[] }; receipt: Receipt };
    expect(body.notification.kind).toBe('introduction');
    expect(body.notification.deliveries.map((d) => d.recipient).sort()).toEqual(['ministry', 'nco']);
    expect(body.receipt.sha256).toBe(body.notification.sha256);
    expect(body.receipt.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(body.receipt.filedAt).toBe('2026-04-10T00:00:00.000Z');
    notifId = body.notification.id;
    computerId = body.notification.computerId;
    receiptId = body.receipt.receiptId;
    const dl = await call(opA.token, { method: 'GET', url: `/api/v1/receipts/${receiptId}` });
    expect(dl.statusCode).toBe(200);
    expect(dl.headers['content-disposition']).toContain('attachment');
    const { receipt, publicKey } = dl.json() as { receipt: Receipt; publicKey: string };
    expect(verifyReceipt(receipt, publicKey)).toBe(true);
    expect(verifyReceipt({ ...receipt, sha256: '0'.repeat(64) }, publicKey)).toBe(false);
  });

  it('shows a receipt as a printable page naming the operator, whose OpenSSL commands verify the signature (and fail on a changed byte)', async () => {
    const page = await call(opA.token, { method: 'GET', url: `/api/v1/receipts/${receiptId}?format=html` });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-disposition']).toBeUndefined();
    const html = page.body;
    expect(html).toContain('Test Electric Power Co.');
    expect(html).toContain('@media print');
    expect(html).toContain('JST');
    const { receipt, publicKey } = (await call(opA.token, { method: 'GET', url: `/api/v1/receipts/${receiptId}` })).json() as { receipt: Receipt; publicKey: string };
    const commands = verifyCommands(receipt, publicKey);
    // The page carries the commands exactly (HTML-escaped); run them as a reader would.
    expect(html).toContain(commands.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;'));
    const dir = mkdtempSync(join(tmpdir(), 'receipt-'));
    try {
      expect(execFileSync('sh', ['-c', commands], { cwd: dir, encoding: 'utf8' })).toContain('Signature Verified Successfully');
      const forged = verifyCommands({ ...receipt, sha256: '0'.repeat(64) }, publicKey);
      expect(() => execFileSync('sh', ['-c', forged], { cwd: dir, encoding: 'utf8', stdio: 'pipe' })).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect((await call(opA.token, { method: 'GET', url: `/api/v1/receipts/${receiptId}?format=pdf` })).statusCode).toBe(400);
    expect((await call(opB.token, { method: 'GET', url: `/api/v1/receipts/${receiptId}?format=html` })).statusCode).toBe(404);
  });

  it('files a change notification with the diff of the notified fields; an unchanged filing is refused', async () => {
    const res = await call(opA.token, { method: 'POST', url: '/api/v1/notifications', payload: { form: 'computer-notification', formVersion: 1, computerId, fields: notificationFields({ operatingSystem: 'RHEL 9.4', remoteMaintenance: true }) } });
    expect(res.statusCode, res.body).toBe(201);
    const n = (res.json() as { notification: { kind: string; diff: { key: string; before: unknown; after: unknown }[]; previousId: string } }).notification;
    expect(n.kind).toBe('change');
    expect(n.previousId).toBe(notifId);
    expect(n.diff).toEqual([{ key: 'operatingSystem', before: 'RHEL 9', after: 'RHEL 9.4' }, { key: 'remoteMaintenance', before: false, after: true }]);
    const same = await call(opA.token, { method: 'POST', url: '/api/v1/notifications', payload: { form: 'computer-notification', formVersion: 1, computerId, fields: notificationFields({ operatingSystem: 'RHEL 9.4', remoteMaintenance: true }) } });
    expect(same.statusCode).toBe(409);
    // A newer form version is configuration: it is accepted without a release.
    const v2 = await call(opA.token, { method: 'POST', url: '/api/v1/notifications', payload: { form: 'computer-notification', formVersion: 2, computerId, fields: notificationFields({ operatingSystem: 'RHEL 9.4', remoteMaintenance: true, supplyChainCountries: ['JP', 'US'] }) } });
    expect(v2.statusCode, v2.body).toBe(201);
  });

  it('refuses bad notifications with errors naming each field, and changes nothing', async () => {
    const before = await auditSize();
    const count = (await t.core.db.kysely.selectFrom('computer_notifications').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()) as { n: number };
    const cases: [unknown, string][] = [
      [{ form: 'computer-notification', formVersion: 9, fields: notificationFields() }, 'formVersion'],
      [{ form: 'no-such-form', formVersion: 1, fields: notificationFields() }, 'form'],
      [{ form: 'computer-notification', formVersion: 1, fields: notificationFields({ colour: 'red' }) }, 'fields.colour'],
      [{ form: 'computer-notification', formVersion: 1, fields: notificationFields({ remoteMaintenance: 'no' }) }, 'fields.remoteMaintenance'],
      [{ form: 'computer-notification', formVersion: 1, fields: notificationFields({ networkAddresses: ['not-an-ip'] }) }, 'fields.networkAddresses.0'],
      [{ form: 'computer-notification', formVersion: '1', fields: {} }, 'formVersion'],
      [{ form: 'computer-notification', formVersion: 1, fields: notificationFields(), extra: 1 }, 'extra'],
    ];
    for (const [payload, field] of cases) {
      const res = await call(opA.token, { method: 'POST', url: '/api/v1/notifications', payload: payload as object });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      const b = res.json() as { code: string; details: { path: string }[] };
      expect(b.code).toBe('VALIDATION_FAILED');
      expect(b.details.map((d) => d.path), JSON.stringify(payload)).toContain(field);
    }
    const missing = await call(opA.token, { method: 'POST', url: '/api/v1/notifications', payload: { form: 'computer-notification', formVersion: 1, fields: { computerName: 'x' } } });
    expect((missing.json() as { details: { path: string }[] }).details.map((d) => d.path)).toContain('fields.purpose');
    const after = (await t.core.db.kysely.selectFrom('computer_notifications').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()) as { n: number };
    expect(Number(after.n)).toBe(Number(count.n));
    expect(await auditSize()).toBe(before);
  });

  it('files an incident report: clocks, indicators from the text, deliveries', async () => {
    const res = await call(opA.token, { method: 'POST', url: '/api/v1/incidents', payload: incidentBody('2026-04-09T22:00:00+09:00', { items: { ...(incidentBody('x').items as object), affectedComputer: { computerId, description: 'EMS control server' } } }) });
    expect(res.statusCode, res.body).toBe(201);
    const r = (res.json() as { report: { id: string; deadlines: { key: string; state: string; dueAt: string }[]; indicators: { kind: string; value: string }[]; deliveries: unknown[] } }).report;
    incidentId = r.id;
    expect(r.deadlines.map((d) => [d.key, d.state])).toEqual([['jp.initial', 'met'], ['jp.written', 'open']]);
    expect(r.deadlines.find((d) => d.key === 'jp.written')!.dueAt).toBe('2026-05-09T13:00:00.000Z');
    expect(r.indicators).toEqual(expect.arrayContaining([
      { kind: 'ipv4', value: '203.0.113.45' }, { kind: 'ipv4', value: '198.51.100.7' }, { kind: 'domain', value: 'evil-c2.example' }, { kind: 'domain', value: 'update.badcdn.example' },
      { kind: 'sha256', value: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
    ]));
    expect(r.indicators.some((i) => i.value === 'report.pdf')).toBe(false);
    expect(r.deliveries).toHaveLength(2);
    const ind = await call(tok['analyst']!, { method: 'GET', url: `/api/v1/indicators?source=${incidentId}` });
    expect((ind.json() as { items: { sourceType: string }[] }).items.length).toBe(r.indicators.length);
    expect((await call(opA.token, { method: 'GET', url: '/api/v1/indicators' })).statusCode).toBe(403);
  });

  it('versions the report with follow-ups and takes attachments with their hash', async () => {
    const f = await call(opA.token, { method: 'POST', url: `/api/v1/incidents/${incidentId}/followups`, payload: { stage: 'update', items: { response: 'Isolated and reimaged; credentials rotated' } } });
    expect(f.statusCode, f.body).toBe(201);
    const rep = (f.json() as { report: { version: number; versions: { version: number; changed: string[] }[] } }).report;
    expect(rep.version).toBe(2);
    expect(rep.versions[1]!.changed).toEqual(['response']);
    const a = await call(opA.token, { method: 'POST', url: `/api/v1/incidents/${incidentId}/attachments`, payload: { filename: 'timeline.pdf', mediaType: 'application/pdf', contentBase64: PDF.toString('base64') } });
    expect(a.statusCode, a.body).toBe(201);
    const att = (a.json() as { attachment: { id: string; sha256: string; size: number } }).attachment;
    attachmentId = att.id;
    expect(att.size).toBe(PDF.length);
    const got = await call(tok['ministry']!, { method: 'GET', url: `/api/v1/incidents/${incidentId}/attachments/${attachmentId}` });
    expect(got.statusCode).toBe(200);
    expect(got.rawPayload.equals(PDF)).toBe(true);
    expect(got.headers['x-content-sha256']).toBe(att.sha256);
  });

  it('refuses oversized, mistyped and unknown-type attachments and bad reports, naming the field, changing nothing', async () => {
    const before = await auditSize();
    const bad: [object, number, string][] = [
      [{ filename: 'x.pdf', mediaType: 'application/pdf', contentBase64: Buffer.from('MZ this is an exe').toString('base64') }, 415, 'mediaType'],
      [{ filename: 'x.exe', mediaType: 'application/x-msdownload', contentBase64: Buffer.from('MZ').toString('base64') }, 415, 'mediaType'],
      [{ filename: 'big.txt', mediaType: 'text/plain', contentBase64: Buffer.alloc(10 * 1024 * 1024 + 1, 0x41).toString('base64') }, 413, 'contentBase64'],
      [{ filename: 'x.txt', mediaType: 'text/plain', contentBase64: 'aGVsbG8=', sizeHint: 5 }, 400, 'sizeHint'],
      [{ filename: '../etc/passwd', mediaType: 'text/plain', contentBase64: 'aGVsbG8=' }, 400, 'filename'],
    ];
    for (const [payload, status, field] of bad) {
      const res = await call(opA.token, { method: 'POST', url: `/api/v1/incidents/${incidentId}/attachments`, payload });
      expect(res.statusCode, `${field} ${res.body.slice(0, 200)}`).toBe(status);
      expect((res.json() as { details: { path: string }[] }).details.map((d) => d.path)).toContain(field);
    }
    const reports: [object, string][] = [
      [incidentBody('yesterday'), 'awareAt'],
      [incidentBody('2026-04-09T00:00:00Z', { items: { ...(incidentBody('x').items as object), category: 'alien_invasion' } }), 'items.category'],
      [incidentBody('2026-04-09T00:00:00Z', { severity: 'high' }), 'severity'],
      [incidentBody('2026-04-09T00:00:00Z', { indicators: [{ kind: 'ipv4', value: '999.1.1.1' }] }), 'indicators.0.value'],
      [incidentBody('2027-04-09T00:00:00Z'), 'awareAt'],
      [{ ...incidentBody('2026-04-09T00:00:00Z'), items: { summary: 1 } }, 'items.summary'],
    ];
    for (const [payload, field] of reports) {
      const res = await call(opA.token, { method: 'POST', url: '/api/v1/incidents', payload });
      expect(res.statusCode, `${field} ${res.body.slice(0, 200)}`).toBe(400);
      expect((res.json() as { details: { path: string }[] }).details.map((d) => d.path)).toContain(field);
    }
    const fu = await call(opA.token, { method: 'POST', url: `/api/v1/incidents/${incidentId}/followups`, payload: { stage: 'update', meets: ['nis2.notification'] } });
    expect(fu.statusCode).toBe(400);
    expect((fu.json() as { details: { path: string }[] }).details[0]!.path).toBe('meets.0');
    expect(await auditSize()).toBe(before);
    const r = (await call(opA.token, { method: 'GET', url: `/api/v1/incidents/${incidentId}` })).json() as { incident: { version: number; attachments: unknown[] } };
    expect(r.incident.version).toBe(2);
    expect(r.incident.attachments).toHaveLength(1);
  });

  it('keeps operators apart on every reporting endpoint: another operator can neither read nor change', async () => {
    const nRows = async () => {
      const q = t.core.db.kysely;
      const c = async (tbl: string) => Number(((await q.selectFrom(tbl).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()) as { n: number }).n);
      return [await c('incident_report_versions'), await c('report_attachments'), await c('computer_notifications'), await c('incident_reports')];
    };
    const rowsBefore = await nRows();
    for (const other of [opB, opF]) {
      const reads: InjectOptions[] = [
        { method: 'GET', url: `/api/v1/notifications/${notifId}` },
        { method: 'GET', url: `/api/v1/incidents/${incidentId}` },
        { method: 'GET', url: `/api/v1/incidents/${incidentId}/attachments/${attachmentId}` },
        { method: 'GET', url: `/api/v1/receipts/${receiptId}` },
        { method: 'GET', url: `/api/v1/registry/operators/${opA.orgId}` },
        { method: 'POST', url: `/api/v1/incidents/${incidentId}/followups`, payload: { stage: 'written', items: { summary: 'hijacked' } } },
        { method: 'POST', url: `/api/v1/incidents/${incidentId}/attachments`, payload: { filename: 'x.pdf', mediaType: 'application/pdf', contentBase64: PDF.toString('base64') } },
        { method: 'PUT', url: `/api/v1/incidents/${incidentId}/naming-consent`, payload: { operatorNamed: true } },
      ];
      for (const o of reads) {
        const res = await call(other.token, o);
        expect(res.statusCode, `${o.method} ${o.url}`).toBe(404);
        expect(res.body).not.toContain('Beaconing');
      }
      const change = await call(other.token, { method: 'POST', url: '/api/v1/notifications', payload: { form: 'computer-notification', formVersion: 1, computerId, fields: notificationFields({ model: 'hijack' }) } });
      expect(change.statusCode).toBe(400);
      const lists: [string, string][] = [['/api/v1/notifications', 'items'], ['/api/v1/incidents', 'items'], ['/api/v1/inbox', 'items'], ['/api/v1/registry/operators', 'items']];
      for (const [url, key] of lists) {
        const res = await call(other.token, { method: 'GET', url });
        expect(res.statusCode, url).toBe(200);
        const items = (res.json() as Record<string, { orgId: string }[]>)[key]!;
        expect(items.every((i) => i.orgId === other.orgId), url).toBe(true);
      }
      for (const fmt of ['json', 'csv', 'html']) {
        const ex = await call(other.token, { method: 'GET', url: `/api/v1/incidents/export?format=${fmt}` });
        expect(ex.statusCode).toBe(200);
        expect(ex.body).not.toContain(incidentId);
      }
    }
    expect(await nRows()).toEqual(rowsBefore);
    const stillOne = (await call(opA.token, { method: 'GET', url: `/api/v1/incidents/${incidentId}` })).json() as { incident: { operatorNamed: boolean; version: number } };
    expect(stillOne.incident).toMatchObject({ operatorNamed: false, version: 2 });
  });

  it('shows a ministry only its sectors, and lets it acknowledge only its own inbox items', async () => {
    const fin = await call(opF.token, { method: 'POST', url: '/api/v1/incidents', payload: incidentBody('2026-04-09T12:00:00Z') });
    expect(fin.statusCode).toBe(201);
    const finId = (fin.json() as { report: { id: string } }).report.id;
    const meti = tok['ministry']!;
    const list = (tok: string) => call(tok, { method: 'GET', url: '/api/v1/incidents' }).then((r) => (r.json() as { items: { id: string; sector: string }[] }).items);
    expect((await list(meti)).map((i) => i.sector)).not.toContain('finance');
    expect((await list(meti)).map((i) => i.id)).toContain(incidentId);
    expect((await list(fsa.token)).map((i) => i.id)).toEqual([finId]);
    expect((await list(tok['analyst']!)).map((i) => i.id).sort()).toEqual([incidentId, finId].sort());
    expect((await call(fsa.token, { method: 'GET', url: `/api/v1/incidents/${incidentId}` })).statusCode).toBe(404);
    expect((await call(fsa.token, { method: 'GET', url: `/api/v1/notifications/${notifId}` })).statusCode).toBe(404);
    expect((await call(fsa.token, { method: 'GET', url: `/api/v1/receipts/${receiptId}` })).statusCode).toBe(404);
    expect((await call(meti, { method: 'GET', url: `/api/v1/incidents/${finId}` })).statusCode).toBe(404);
    const fsaInbox = (await call(fsa.token, { method: 'GET', url: '/api/v1/inbox' })).json() as { items: { sector: string; recipient: string }[] };
    expect(fsaInbox.items.length).toBeGreaterThan(0);
    expect(fsaInbox.items.every((i) => i.sector === 'finance' && i.recipient === 'ministry')).toBe(true);
    const metiItems = ((await call(meti, { method: 'GET', url: '/api/v1/inbox?unacknowledged=true' })).json() as { items: { id: string; sector: string; subjectId: string; kind: string }[] }).items;
    expect(metiItems.every((i) => i.sector === 'electricity')).toBe(true);
    metiInbox = metiItems.find((i) => i.subjectId === notifId)!.id;
    expect((await call(fsa.token, { method: 'POST', url: `/api/v1/inbox/${metiInbox}/acknowledge` })).statusCode).toBe(404);
    const nco = ((await call(tok['analyst']!, { method: 'GET', url: '/api/v1/inbox' })).json() as { items: { id: string; recipient: string }[] }).items;
    expect(nco.every((i) => i.recipient === 'nco')).toBe(true);
    // The NCO cannot acknowledge on the ministry's behalf.
    expect((await call(tok['analyst']!, { method: 'POST', url: `/api/v1/inbox/${metiInbox}/acknowledge` })).statusCode).toBe(404);
    const ack = await call(meti, { method: 'POST', url: `/api/v1/inbox/${metiInbox}/acknowledge` });
    expect(ack.statusCode).toBe(200);
    expect((ack.json() as { item: { acknowledgedAt: string } }).item.acknowledgedAt).toBe('2026-04-10T00:00:00.000Z');
    const n = (await call(opA.token, { method: 'GET', url: `/api/v1/notifications/${notifId}` })).json() as { notification: { deliveries: { recipient: string; acknowledgedAt: string | null }[] } };
    expect(n.notification.deliveries.find((d) => d.recipient === 'ministry')!.acknowledgedAt).not.toBeNull();
    expect(n.notification.deliveries.find((d) => d.recipient === 'nco')!.acknowledgedAt).toBeNull();
    const ncoItem = nco.find((i) => (i as unknown as { subjectId: string }).subjectId === notifId)!;
    expect((await call(tok['analyst']!, { method: 'POST', url: `/api/v1/inbox/${ncoItem.id}/acknowledge` })).statusCode).toBe(200);
  });

  it('names each inbox entry: the operator, and the report (category, awareness, version) or the notified computer', async () => {
    type Named = { subjectId: string; subjectType: string; reportId: string | null; orgName: string | null; about: { type: string; category?: string; version?: number | null; kind?: string; computerName?: string | null } | null };
    const items = ((await call(tok['ministry']!, { method: 'GET', url: '/api/v1/inbox' })).json() as { items: Named[] }).items;
    const notif = items.find((i) => i.subjectId === notifId)!;
    expect(notif).toMatchObject({ orgName: 'Test Electric Power Co.', about: { type: 'notification', kind: 'introduction', computerName: notificationFields()['computerName'] } });
    const report = items.find((i) => i.subjectId === `${incidentId}#1`)!;
    expect(report.orgName).toBe('Test Electric Power Co.');
    expect(report.about).toMatchObject({ type: 'report', category: (incidentBody('2026-04-09T12:00:00Z')['items'] as { category: string }).category, version: 1 });
    expect(items.every((i) => i.orgName !== null && i.about !== null)).toBe(true);
  });

  it('never lets the administrator read report content', async () => {
    for (const url of [`/api/v1/incidents/${incidentId}`, '/api/v1/incidents', `/api/v1/notifications/${notifId}`, '/api/v1/inbox', '/api/v1/indicators', `/api/v1/receipts/${receiptId}`, '/api/v1/incidents/export?format=json']) {
      expect((await call(tok['admin']!, { method: 'GET', url })).statusCode, url).toBe(403);
    }
    const ctx = t.users.ctx.admin;
    expect(t.core.policy.authorize(ctx, 'incident:read', { type: 'Filing', id: incidentId, attrs: { orgId: opA.orgId, sector: 'electricity' } }).allowed).toBe(false);
  });

  it('shares a flagged report with the council sanitized, the operator anonymous unless it agrees', async () => {
    expect((await call(opA.token, { method: 'PUT', url: `/api/v1/incidents/${incidentId}/sharing`, payload: { shareWithCouncil: true } })).statusCode).toBe(403);
    expect((await call(tok['analyst']!, { method: 'PUT', url: `/api/v1/incidents/${incidentId}/sharing`, payload: { shareWithCouncil: true } })).statusCode).toBe(200);
    const f = await call(opA.token, { method: 'POST', url: `/api/v1/incidents/${incidentId}/followups`, payload: { stage: 'update', items: { summary: 'Beaconing from 192.0.2.44 to 203.0.113.45; contact soc@example.jp' } } });
    expect(f.statusCode).toBe(201);
    const shared = (await call(tok['council_member']!, { method: 'GET', url: '/api/v1/shared-reports' })).json() as { items: { operator: string; summary: string; indicators: { value: string }[] }[]; nextCursor: string | null };
    expect(shared.items).toHaveLength(1);
    expect(shared.nextCursor).toBeNull();
    const s = shared.items[0]!;
    expect(s.operator).toBe('a designated operator (electricity)');
    expect(s.summary).not.toContain('192.0.2.44');
    expect(s.summary).not.toContain('soc@example.jp');
    expect(s.summary).toContain('203.0.113.45');
    expect(s.indicators.some((i) => i.value === '192.0.2.44')).toBe(false);
    expect((await call(opA.token, { method: 'PUT', url: `/api/v1/incidents/${incidentId}/naming-consent`, payload: { operatorNamed: true } })).statusCode).toBe(200);
    const named = (await call(tok['council_member']!, { method: 'GET', url: '/api/v1/shared-reports' })).json() as { items: { operator: string }[] };
    expect(named.items[0]!.operator).toBe('Test Electric Power Co.');
  });

  it('exports reports as JSON, CSV and printable bilingual HTML', async () => {
    const json = await call(tok['analyst']!, { method: 'GET', url: '/api/v1/incidents/export?format=json' });
    expect((json.json() as { reports: unknown[] }).reports.length).toBe(2);
    const csv = await call(tok['ministry']!, { method: 'GET', url: '/api/v1/incidents/export?format=csv' });
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(csv.body.trim().split('\n')).toHaveLength(2);
    const html = await call(opA.token, { method: 'GET', url: '/api/v1/incidents/export?format=html' });
    expect(html.body).toContain('事象の概要');
    expect(html.body).toContain('Summary');
    expect(html.body).not.toContain('<script');
    expect((await call(opA.token, { method: 'GET', url: '/api/v1/incidents/export?format=xml' })).statusCode).toBe(400);
  });

  it('pages lists over HTTP ({ items, nextCursor }) and refuses a bad limit or cursor, naming it', async () => {
    const first = (await call(tok['analyst']!, { method: 'GET', url: '/api/v1/incidents?limit=1' })).json() as { items: { id: string }[]; nextCursor: string | null };
    expect(first.items).toHaveLength(1);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = (await call(tok['analyst']!, { method: 'GET', url: `/api/v1/incidents?limit=1&cursor=${encodeURIComponent(first.nextCursor!)}` })).json() as { items: { id: string }[]; nextCursor: string | null };
    expect(second.items).toHaveLength(1);
    expect(second.items[0]!.id).not.toBe(first.items[0]!.id);
    const rest = (await call(tok['analyst']!, { method: 'GET', url: `/api/v1/incidents?limit=500&cursor=${encodeURIComponent(second.nextCursor ?? first.nextCursor!)}` })).json() as { nextCursor: string | null };
    expect(rest.nextCursor).toBeNull();
    for (const url of ['/api/v1/incidents?limit=0', '/api/v1/incidents?limit=501', '/api/v1/inbox?cursor=nonsense', '/api/v1/notifications?cursor=c1.e30']) {
      const res = await call(tok['analyst']!, { method: 'GET', url });
      expect(res.statusCode, url).toBe(400);
      expect((res.json() as { code: string; details: { path: string }[] }).details[0]!.path, url).toMatch(/^(limit|cursor)$/);
    }
  });

  it('audits every read of a report with references and hashes only', async () => {
    const before = await auditSize();
    await call(tok['ministry']!, { method: 'GET', url: `/api/v1/incidents/${incidentId}` });
    const entries = await t.core.audit.entries({ from: before, to: before + 10 });
    const e = entries.find((x) => x.action === 'incident:read')!;
    expect(e.object).toEqual({ type: 'incident_report', id: incidentId });
    expect(JSON.stringify(e)).not.toContain('Beaconing');
    expect(String(e.details['sha256'])).toMatch(/^[0-9a-f]{64}$/);
  });

  it('lists the forms with Japanese and English labels', async () => {
    const res = await call(opA.token, { method: 'GET', url: '/api/v1/forms/computer-notification/1' });
    const f = (res.json() as { form: { fields: { key: string; label: { ja: string; en: string } }[] } }).form;
    expect(f.fields[0]!.label).toEqual({ ja: '特定重要電子計算機の名称', en: 'Name of the computer' });
    expect((await call(opA.token, { method: 'GET', url: '/api/v1/forms/computer-notification/7' })).statusCode).toBe(404);
  });
});
