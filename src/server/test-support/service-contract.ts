/** @module The service contract: one story across registry, reporting, oversight, response and sharing, driven over HTTP, that every database driver must pass (SQLite and PostgreSQL alike). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { verifyReceipt, type Receipt } from '#modules/reporting/index.js';
import { addUser, incidentBody, notificationFields, type TestUser } from '#modules/reporting/test-support/world.js';
import { acquisitionScope } from '#modules/oversight/test-support/fixtures.js';
import { createTestApp } from './harness.js';

const PDF = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
const TAXII = 'application/taxii+json;version=2.1';
const HOUR = 3_600_000;

type Json = Record<string, unknown>;

/**
 * Registers the service contract against a database produced by `open` (a fresh one per suite). The tests
 * run in order and build on each other: it is one story, from designating an operator to tracing a leak.
 * @see STYLE.md §7 (one suite for SQLite and PostgreSQL)
 */
export function describeServiceContract(name: string, open: () => Promise<{ url: string; cleanup(): Promise<void> }>): void {
  // Generous per-step time: the first measure loads the country data, and CI machines are shared.
  describe(`service contract: ${name}`, { timeout: 120_000 }, () => {
    let t: Awaited<ReturnType<typeof createTestApp>>;
    let cleanup: (() => Promise<void>) | undefined;
    const clock = new ManualClock('2026-04-10T00:00:00.000Z');
    const sys = systemContext('service-contract');
    const tokens: Record<string, string> = {};
    let opA: TestUser; // the harness's electricity operator
    let opF: TestUser; // a finance operator (another sector)
    let fsa: TestUser; // the FSA, the finance ministry
    // What the story carries from one step to the next.
    const s: Record<string, string> = {};

    const call = (who: string, o: InjectOptions): Promise<LightMyRequestResponse> => {
      const token = tokens[who];
      if (token === undefined) throw new Error(`no token for ${who}`);
      return t.app.fastify.inject({ ...o, headers: { ...(o.headers ?? {}), authorization: `Bearer ${token}` } });
    };
    const ok = async (who: string, o: InjectOptions, status = 200): Promise<Json> => {
      const res = await call(who, o);
      expect(res.statusCode, `${o.method ?? 'GET'} ${o.url as string}: ${res.body.slice(0, 400)}`).toBe(status);
      return res.json();
    };
    const taxii = (who: string, url: string) => call(who, { method: 'GET', url, headers: { accept: TAXII } });

    beforeAll(async () => {
      const db = await open();
      cleanup = db.cleanup;
      t = await createTestApp({ url: db.url, clock, config: { dataDir: mkdtempSync(join(tmpdir(), 'mamori-services-')) } });
      // The story runs over two months of the manual clock: tokens for a year (the harness's last 30 days).
      const yearToken = async (userId: string) => (await t.core.identity.createToken(sys, { name: 'contract', expiresInDays: 365 }, userId)).token;
      for (const [role, ctx] of Object.entries(t.users.ctx)) tokens[role] = await yearToken(ctx.actor.userId!);
      opF = await addUser(t.core, { name: 'Contract Bank Ltd.', kind: 'operator', sectors: ['finance'] }, 'operator', 'op-finance');
      fsa = await addUser(t.core, { name: 'Financial Services Agency', kind: 'ministry', sectors: ['finance'] }, 'ministry', 'fsa-officer');
      opA = { token: tokens['operator']!, orgId: t.users.orgs['Test Electric Power Co.']!, userId: t.users.ctx.operator.actor.userId! };
      tokens['op-finance'] = await yearToken(opF.userId);
      tokens['fsa'] = await yearToken(fsa.userId);
      // The harness seeds one commissioner; the commission's default quorum is three of five.
      const commission = t.users.orgs['Cyber Communications Information Supervisory Commission']!;
      for (const name of ['commissioner-2', 'commissioner-3', 'commissioner-4']) {
        const u = await t.core.identity.createUser(sys, { username: name, displayName: name, password: `correct horse ${name} battery`, roles: ['commissioner'], orgId: commission });
        tokens[name] = await yearToken(u.id);
      }
    }, 120_000);
    afterAll(async () => {
      await t?.close();
      await cleanup?.();
    });

    it('registry: a ministry designates an operator of its sector, with its ranges; the sector maps to its ministry', async () => {
      const sectors = (await ok('operator', { method: 'GET', url: '/api/v1/registry/sectors' }))['sectors'] as { sector: string; ministry: { code: string } }[];
      expect(sectors.find((x) => x.sector === 'electricity')!.ministry.code).toBe('METI');
      const designated = (await ok('ministry', { method: 'POST', url: '/api/v1/registry/operators', payload: { orgId: opA.orgId, sector: 'electricity', designatedOn: '2026-01-15', contacts: [{ name: 'SOC desk', email: 'soc@test-electric.example', phone: '+81 3 0000 0000' }], regimes: ['nis2', 'circia'] } }, 201))['operator'] as Json;
      expect(designated).toMatchObject({ orgId: opA.orgId, sector: 'electricity', designatedOn: '2026-01-15', regimes: ['nis2', 'circia'] });
      await ok('ministry', { method: 'POST', url: `/api/v1/registry/operators/${opA.orgId}/ranges`, payload: { cidr: '192.0.2.0/24' } }, 201);
      await ok('ministry', { method: 'POST', url: `/api/v1/registry/operators/${opA.orgId}/exporters`, payload: { address: '192.0.2.1', observationDomain: 256 } }, 201);
      // An IPFIX observation domain is an unsigned 32-bit number: the largest one is stored as given.
      const big = (await ok('ministry', { method: 'POST', url: `/api/v1/registry/operators/${opA.orgId}/exporters`, payload: { address: '192.0.2.2', observationDomain: 0xffffffff } }, 201))['operator'] as { exporters: { address: string; observationDomain: number }[] };
      expect(big.exporters.map((e) => [e.address, e.observationDomain])).toEqual([['192.0.2.1', 256], ['192.0.2.2', 0xffffffff]]);
      // METI may not designate a bank; the FSA may.
      expect((await call('ministry', { method: 'POST', url: '/api/v1/registry/operators', payload: { orgId: opF.orgId, sector: 'finance', designatedOn: '2026-01-15', contacts: [{ name: 'x', email: 'x@bank.example' }] } })).statusCode).toBe(403);
      await ok('fsa', { method: 'POST', url: '/api/v1/registry/operators', payload: { orgId: opF.orgId, sector: 'finance', designatedOn: '2026-02-01', contacts: [{ name: 'Sec ops', email: 'secops@bank.example' }] } }, 201);
      const own = (await ok('operator', { method: 'GET', url: '/api/v1/registry/operators' }))['items'] as { orgId: string; ranges: { cidr: string }[]; exporters: { address: string; observationDomain: number }[] }[];
      expect(own).toHaveLength(1);
      expect(own[0]).toMatchObject({ orgId: opA.orgId, ranges: [{ cidr: '192.0.2.0/24' }], exporters: [{ address: '192.0.2.1', observationDomain: 256 }, { address: '192.0.2.2', observationDomain: 0xffffffff }] });
      const meti = (await ok('ministry', { method: 'GET', url: '/api/v1/registry/operators' }))['items'] as { orgId: string }[];
      expect(meti.map((o) => o.orgId)).toEqual([opA.orgId]);
      const affected = (await ok('analyst', { method: 'GET', url: '/api/v1/registry/affected?address=192.0.2.77' }))['operators'] as { orgId: string }[];
      expect(affected.map((o) => o.orgId)).toEqual([opA.orgId]);
    });

    it('reporting: the operator notifies a computer and gets a signed receipt; a change carries its diff', async () => {
      const res = await ok('operator', { method: 'POST', url: '/api/v1/notifications', payload: { form: 'computer-notification', formVersion: 1, fields: notificationFields() } }, 201);
      const n = res['notification'] as { id: string; computerId: string; kind: string; sha256: string; deliveries: { recipient: string }[] };
      const receipt = res['receipt'] as Receipt;
      expect(n.kind).toBe('introduction');
      expect(n.deliveries.map((d) => d.recipient).sort()).toEqual(['ministry', 'nco']);
      expect(receipt).toMatchObject({ sha256: n.sha256, filedAt: '2026-04-10T00:00:00.000Z' });
      s['notification'] = n.id;
      s['computer'] = n.computerId;
      const dl = await ok('operator', { method: 'GET', url: `/api/v1/receipts/${receipt.receiptId}` });
      expect(verifyReceipt(dl['receipt'] as Receipt, dl['publicKey'] as string)).toBe(true);
      expect(verifyReceipt({ ...(dl['receipt'] as Receipt), sha256: '0'.repeat(64) }, dl['publicKey'] as string)).toBe(false);
      const change = (await ok('operator', { method: 'POST', url: '/api/v1/notifications', payload: { form: 'computer-notification', formVersion: 1, computerId: n.computerId, fields: notificationFields({ remoteMaintenance: true }) } }, 201))['notification'] as Json;
      expect(change).toMatchObject({ kind: 'change', previousId: n.id, diff: [{ key: 'remoteMaintenance', before: false, after: true }] });
      const listed = (await ok('operator', { method: 'GET', url: '/api/v1/notifications' }))['items'] as { id: string }[];
      expect(listed.map((x) => x.id).sort()).toEqual([n.id, change['id'] as string].sort());
    });

    it('reporting: an incident report with a follow-up and an attachment; clocks run from awareness', async () => {
      const filed = (await ok('operator', { method: 'POST', url: '/api/v1/incidents', payload: incidentBody('2026-04-09T10:00:00Z', { items: { ...(incidentBody('x')['items'] as Json), affectedComputer: { computerId: s['computer'], description: 'EMS control server' } } }) }, 201))['report'] as { id: string; version: number; deadlines: { key: string; state: string; dueAt: string }[]; indicators: { kind: string; value: string }[] };
      s['incident'] = filed.id;
      expect(filed.version).toBe(1);
      // Subject to NIS2 and CIRCIA (the registry says so): their clocks run beside the Japanese ones.
      const due = Object.fromEntries(filed.deadlines.map((d) => [d.key, [d.state, d.dueAt]]));
      expect(due).toMatchObject({
        'jp.initial': ['met', '2026-04-10T10:00:00.000Z'], 'jp.written': ['open', '2026-05-09T10:00:00.000Z'],
        'nis2.early_warning': ['met', '2026-04-10T10:00:00.000Z'], 'nis2.notification': ['open', '2026-04-12T10:00:00.000Z'], 'circia.report': ['met', '2026-04-12T10:00:00.000Z'],
      });
      expect(filed.indicators).toEqual(expect.arrayContaining([{ kind: 'ipv4', value: '203.0.113.45' }, { kind: 'domain', value: 'evil-c2.example' }, { kind: 'ipv4', value: '198.51.100.7' }]));
      clock.advance(HOUR);
      const f = (await ok('operator', { method: 'POST', url: `/api/v1/incidents/${filed.id}/followups`, payload: { stage: 'update', items: { response: 'Isolated and reimaged; credentials rotated' }, meets: ['nis2.notification'] } }, 201))['report'] as { version: number; versions: { version: number; changed: string[] }[]; deadlines: { key: string; state: string }[] };
      expect(f.version).toBe(2);
      expect(f.versions.map((v) => v.version)).toEqual([1, 2]);
      expect(f.versions[1]!.changed).toEqual(['response']);
      expect(f.deadlines.find((d) => d.key === 'nis2.notification')!.state).toBe('met');
      // In due order, ties by name, whatever rows the engine has rewritten meanwhile (NIS2's final report is
      // now due a month after the notification was made).
      expect(f.deadlines.map((d) => d.key)).toEqual(['jp.initial', 'nis2.early_warning', 'circia.report', 'nis2.notification', 'jp.written', 'nis2.final']);
      const a = (await ok('operator', { method: 'POST', url: `/api/v1/incidents/${filed.id}/attachments`, payload: { filename: 'timeline.pdf', mediaType: 'application/pdf', contentBase64: PDF.toString('base64') } }, 201))['attachment'] as { id: string; sha256: string; size: number };
      expect(a.size).toBe(PDF.length);
      s['attachment'] = a.id;
      const got = await call('ministry', { method: 'GET', url: `/api/v1/incidents/${filed.id}/attachments/${a.id}` });
      expect(got.statusCode).toBe(200);
      expect(got.rawPayload.equals(PDF)).toBe(true);
      expect(got.headers['x-content-sha256']).toBe(a.sha256);
      // A bad attachment changes nothing.
      expect((await call('operator', { method: 'POST', url: `/api/v1/incidents/${filed.id}/attachments`, payload: { filename: 'x.pdf', mediaType: 'application/pdf', contentBase64: Buffer.from('MZ not a pdf').toString('base64') } })).statusCode).toBe(415);
      const shown = (await ok('operator', { method: 'GET', url: `/api/v1/incidents/${filed.id}` }))['incident'] as { version: number; attachments: { id: string; filename: string; size: number }[]; operatorNamed: boolean };
      expect(shown).toMatchObject({ version: 2, operatorNamed: false, attachments: [{ id: a.id, filename: 'timeline.pdf', size: PDF.length }] });
      // The finance operator files too: the story needs a second sector.
      s['financeIncident'] = ((await ok('op-finance', { method: 'POST', url: '/api/v1/incidents', payload: incidentBody('2026-04-10T00:30:00Z') }, 201))['report'] as { id: string }).id;
    });

    it('reporting: each ministry sees only its sectors and acknowledges only its own inbox items; the NCO sees all', async () => {
      const ids = async (who: string) => ((await ok(who, { method: 'GET', url: '/api/v1/incidents' }))['items'] as { id: string }[]).map((i) => i.id).sort();
      expect(await ids('ministry')).toEqual([s['incident']]);
      expect(await ids('fsa')).toEqual([s['financeIncident']]);
      expect(await ids('analyst')).toEqual([s['incident']!, s['financeIncident']!].sort());
      expect(await ids('op-finance')).toEqual([s['financeIncident']]);
      expect((await call('fsa', { method: 'GET', url: `/api/v1/incidents/${s['incident']}` })).statusCode).toBe(404);
      expect((await call('op-finance', { method: 'GET', url: `/api/v1/incidents/${s['incident']}/attachments/${s['attachment']}` })).statusCode).toBe(404);
      const inbox = (await ok('ministry', { method: 'GET', url: '/api/v1/inbox?unacknowledged=true' }))['items'] as { id: string; sector: string; reportId: string | null; recipient: string; kind: string }[];
      expect(inbox.every((i) => i.sector === 'electricity' && i.recipient === 'ministry')).toBe(true);
      const item = inbox.find((i) => i.reportId === s['incident'])!;
      expect(item.kind).toBe('filing');
      expect((await call('fsa', { method: 'POST', url: `/api/v1/inbox/${item.id}/acknowledge` })).statusCode).toBe(404);
      expect((await call('analyst', { method: 'POST', url: `/api/v1/inbox/${item.id}/acknowledge` })).statusCode).toBe(404);
      const ack = (await ok('ministry', { method: 'POST', url: `/api/v1/inbox/${item.id}/acknowledge` }))['item'] as { acknowledgedAt: string };
      expect(ack.acknowledgedAt).toBe('2026-04-10T01:00:00.000Z');
      // Acknowledging again changes nothing: the first time stands.
      clock.advance(60_000);
      expect(((await ok('ministry', { method: 'POST', url: `/api/v1/inbox/${item.id}/acknowledge` }))['item'] as Json)['acknowledgedAt']).toBe('2026-04-10T01:00:00.000Z');
      const delivered = (await ok('operator', { method: 'GET', url: `/api/v1/incidents/${s['incident']}` }))['incident'] as { deliveries: { recipient: string; acknowledgedAt: string | null }[] };
      expect(Object.fromEntries(delivered.deliveries.map((d) => [d.recipient, d.acknowledgedAt]))).toEqual({ ministry: '2026-04-10T01:00:00.000Z', nco: null });
      const still = ((await ok('ministry', { method: 'GET', url: '/api/v1/inbox?unacknowledged=true' }))['items'] as { id: string }[]).map((i) => i.id);
      expect(still).not.toContain(item.id);
      const fsaInbox = (await ok('fsa', { method: 'GET', url: '/api/v1/inbox' }))['items'] as { sector: string; reportId: string | null }[];
      expect(fsaInbox.map((i) => [i.sector, i.reportId])).toEqual([['finance', s['financeIncident']]]);
    });

    it('reporting: an unmet deadline reminds, then escalates to the ministry and the NCO, once', async () => {
      // jp.written is due 2026-05-09T10:00Z: a day before, the operator is reminded; after it, escalated.
      clock.set('2026-05-08T12:00:00.000Z');
      expect((await t.core.reporting.sweep(sys)).reminded).toBeGreaterThan(0);
      const reminders = (await ok('operator', { method: 'GET', url: '/api/v1/inbox' }))['items'] as { kind: string; reportId: string | null; note: string | null }[];
      expect(reminders.some((i) => i.kind === 'reminder' && i.reportId === s['incident'] && (i.note ?? '').startsWith('jp.written'))).toBe(true);
      clock.set('2026-05-09T11:00:00.000Z');
      const swept = await t.core.reporting.sweep(sys);
      expect(swept.escalated).toBeGreaterThan(0);
      expect((await t.core.reporting.sweep(sys)).escalated).toBe(0);
      const esc = ((await ok('ministry', { method: 'GET', url: '/api/v1/inbox' }))['items'] as { kind: string; reportId: string | null }[]).filter((i) => i.kind === 'escalation' && i.reportId === s['incident']);
      expect(esc).toHaveLength(1);
      const nco = ((await ok('analyst', { method: 'GET', url: '/api/v1/inbox' }))['items'] as { kind: string; reportId: string | null }[]).filter((i) => i.kind === 'escalation' && i.reportId === s['incident']);
      expect(nco).toHaveLength(1);
      const shown = (await ok('operator', { method: 'GET', url: `/api/v1/incidents/${s['incident']}` }))['incident'] as { deadlines: { key: string; state: string }[] };
      expect(shown.deadlines.find((d) => d.key === 'jp.written')!.state).toBe('overdue');
      // The written report comes, late: the deadline shows it.
      const w = (await ok('operator', { method: 'POST', url: `/api/v1/incidents/${s['incident']}/followups`, payload: { stage: 'written', items: { summary: 'Written report: beaconing to 203.0.113.45 stopped after isolation.' } } }, 201))['report'] as { version: number; deadlines: { key: string; state: string }[] };
      expect(w.version).toBe(3);
      expect(w.deadlines.find((d) => d.key === 'jp.written')!.state).toBe('late');
    });

    it('oversight: acquisition request → conflict → votes → decision with narrowing → the approval is a legal basis', async () => {
      s['finding'] = (await t.core.analysis.recordFindings(sys, [{
        kind: 'beacon', subject: { kind: 'address', value: '203.0.113.45' }, level: 'alert', score: 0.92, scoreDetail: { method: 'contract', components: {} },
        firstSeen: Date.parse('2026-05-08T00:00:00Z'), lastSeen: Date.parse('2026-05-09T06:00:00Z'), bases: [],
        evidence: { intervalS: 60, hosts: ['9f86d081884c7d659a2feaa0c55ad015'] }, hosts: ['9f86d081884c7d659a2feaa0c55ad015'], hostCount: 1,
      }]))[0]!;
      const scope = acquisitionScope('2026-05-10T00:00:00.000Z', 60);
      const draft = (await ok('analyst', { method: 'POST', url: '/api/v1/oversight/requests', payload: { kind: 'acquisition', title: 'Transit flows to the C2 of campaign X', evidence: [{ type: 'finding', id: s['finding'] }], acquisition: scope } }, 201))['request'] as { id: string; status: string };
      expect(draft.status).toBe('draft');
      const id = draft.id;
      s['acqRequest'] = id;
      expect(((await ok('nco_director', { method: 'POST', url: `/api/v1/oversight/requests/${id}/submit` }))['request'] as Json)['status']).toBe('submitted');
      const docket = (await ok('commissioner', { method: 'GET', url: '/api/v1/oversight/requests?status=submitted' }))['items'] as { id: string }[];
      expect(docket.map((r) => r.id)).toEqual([id]);
      await ok('commissioner-4', { method: 'POST', url: `/api/v1/oversight/requests/${id}/conflicts`, payload: { reason: 'I advised the operator last year.' } });
      expect((await call('commissioner-4', { method: 'POST', url: `/api/v1/oversight/requests/${id}/votes`, payload: { vote: 'approve', reasons: 'x' } })).statusCode).toBe(403);
      await ok('commissioner', { method: 'POST', url: `/api/v1/oversight/requests/${id}/votes`, payload: { vote: 'approve', reasons: 'Proportionate to the harm.' } });
      await ok('commissioner-2', { method: 'POST', url: `/api/v1/oversight/requests/${id}/votes`, payload: { vote: 'approve', reasons: 'Narrowly drawn.' } });
      expect((await call('commissioner-2', { method: 'POST', url: `/api/v1/oversight/requests/${id}/votes`, payload: { vote: 'deny', reasons: 'changed my mind' } })).statusCode).toBe(409);
      // Two votes of a quorum of three: no decision, nothing changes.
      expect((await call('commissioner', { method: 'POST', url: `/api/v1/oversight/requests/${id}/decision`, payload: {} })).statusCode).toBe(409);
      await ok('commissioner-3', { method: 'POST', url: `/api/v1/oversight/requests/${id}/votes`, payload: { vote: 'deny', reasons: 'Too broad.' } });
      const shown = (await ok('commissioner', { method: 'GET', url: `/api/v1/oversight/requests/${id}` }))['request'] as { votes: { vote: string }[]; conflicts: { reason: string }[] };
      expect(shown.votes.map((v) => v.vote).sort()).toEqual(['approve', 'approve', 'deny']);
      expect(shown.conflicts.map((c) => c.reason)).toEqual(['I advised the operator last year.']);
      // A narrowing may not select what was not asked for.
      const wider = await call('commissioner', { method: 'POST', url: `/api/v1/oversight/requests/${id}/decision`, payload: { narrowing: { selectors: { foreignPrefixes: ['192.0.2.0/24'] } } } });
      expect(wider.statusCode).toBe(400);
      const narrowedEnd = '2026-06-10T00:00:00.000Z';
      const decided = (await ok('commissioner', { method: 'POST', url: `/api/v1/oversight/requests/${id}/decision`, payload: { narrowing: { selectors: { foreignPrefixes: ['203.0.113.0/25'], ports: [443] }, periodEnd: narrowedEnd }, conditions: ['Report monthly to the commission.'] } }))['request'] as Json;
      expect(decided).toMatchObject({ status: 'approved', decision: { conditions: ['Report monthly to the commission.'] } });
      const approvals = (await ok('commissioner', { method: 'GET', url: '/api/v1/oversight/approvals?kind=acquisition' }))['items'] as { requestId: string; basisId: string | null; validUntil: string; state: string; emergency: boolean }[];
      const approval = approvals.find((a) => a.requestId === id)!;
      // Valid from the period's start (tomorrow): pending until then.
      expect(approval).toMatchObject({ state: 'pending', validFrom: '2026-05-10T00:00:00.000Z', validUntil: narrowedEnd, emergency: false });
      expect(approval.basisId).not.toBeNull();
      s['basis'] = approval.basisId!;
      const basis = (await ok('commissioner', { method: 'GET', url: `/api/v1/legal-bases/${approval.basisId!}` }))['basis'] as Json;
      expect(basis).toMatchObject({ kind: 'transit_approval', status: 'active', validFrom: '2026-05-10T00:00:00.000Z', validUntil: narrowedEnd, selectors: { foreignPrefixes: ['203.0.113.0/25'], ports: [443] } });
      expect(String(basis['createdBy'])).toBe(`oversight:${id}`);
    });

    it('oversight: an emergency acquisition gets a provisional basis; the denied review revokes it and halts the action', async () => {
      const scope = acquisitionScope('2026-05-09T00:00:00.000Z', 30);
      const act = (await ok('police', { method: 'POST', url: '/api/v1/oversight/emergency-actions', payload: { kind: 'acquisition', title: 'Emergency capture of C2 traffic', justification: 'An attack on the grid is under way.', evidence: [{ type: 'finding', id: s['finding'] }], acquisition: scope } }, 201))['emergencyAction'] as { id: string; basisId: string | null; reviewRequestId: string; reviewDeadline: string; status: string; agency: string };
      expect(act).toMatchObject({ status: 'awaiting_review', agency: 'police', reviewDeadline: '2026-05-12T11:00:00.000Z' });
      expect(act.basisId).not.toBeNull();
      expect(((await ok('commissioner', { method: 'GET', url: `/api/v1/legal-bases/${act.basisId!}` }))['basis'] as Json)['status']).toBe('active');
      const awaiting = (await ok('commissioner', { method: 'GET', url: '/api/v1/oversight/emergency-actions?status=awaiting_review' }))['items'] as { id: string }[];
      expect(awaiting.map((a) => a.id)).toEqual([act.id]);
      for (const who of ['commissioner', 'commissioner-2', 'commissioner-3']) await ok(who, { method: 'POST', url: `/api/v1/oversight/requests/${act.reviewRequestId}/votes`, payload: { vote: 'deny', reasons: 'No imminent harm was shown.' } });
      const review = (await ok('commissioner-2', { method: 'POST', url: `/api/v1/oversight/requests/${act.reviewRequestId}/decision`, payload: {} }))['request'] as Json;
      expect(review['status']).toBe('denied');
      const after = ((await ok('commissioner', { method: 'GET', url: '/api/v1/oversight/emergency-actions' }))['items'] as { id: string; status: string; haltReason: string | null }[]).find((a) => a.id === act.id)!;
      expect(after).toMatchObject({ status: 'halted', haltReason: 'denied' });
      const basis = (await ok('commissioner', { method: 'GET', url: `/api/v1/legal-bases/${act.basisId!}` }))['basis'] as Json;
      expect(basis['status']).toBe('revoked');
      expect(await t.core.oversight.sweep(sys)).toBeDefined();
    });

    it('response: a police measure from a finding → submitted → approved → executed → RPZ and block list', async () => {
      const proposal = {
        kind: 'dns_sinkhole', title: 'Sinkhole the C2 domains of campaign X', target: { domains: ['evil-c2.example'] }, targetCountry: 'JP',
        justification: { findings: [s['finding']], reports: [s['incident']], summary: 'Beaconing every 60 s to this C2.' }, expectedEffect: 'Infected hosts can no longer resolve their C2.',
      };
      const m = (await ok('analyst', { method: 'POST', url: '/api/v1/response/measures', payload: proposal }, 201))['measure'] as { id: string; state: string; agency: string; location: { abroad: boolean } };
      expect(m).toMatchObject({ state: 'proposed', agency: 'police', location: { abroad: false } });
      s['measure'] = m.id;
      expect((await call('police', { method: 'POST', url: `/api/v1/response/measures/${m.id}/execute`, payload: { reason: 'go' } })).statusCode).toBe(409);
      const sub = (await ok('nco_director', { method: 'POST', url: `/api/v1/response/measures/${m.id}/submit`, payload: { reason: 'Evidence sufficient.' } }))['measure'] as { state: string; requestId: string };
      expect(sub.state).toBe('submitted');
      const req = (await ok('commissioner', { method: 'GET', url: `/api/v1/oversight/requests/${sub.requestId}` }))['request'] as Json;
      expect(req).toMatchObject({ kind: 'measure', status: 'submitted' });
      for (const who of ['commissioner', 'commissioner-2', 'commissioner-3']) await ok(who, { method: 'POST', url: `/api/v1/oversight/requests/${sub.requestId}/votes`, payload: { vote: 'approve', reasons: 'Proportionate.' } });
      await ok('commissioner-3', { method: 'POST', url: `/api/v1/oversight/requests/${sub.requestId}/decision`, payload: {} });
      expect(((await ok('police', { method: 'GET', url: `/api/v1/response/measures/${m.id}` }))['measure'] as Json)['state']).toBe('approved');
      clock.advance(HOUR);
      // Only the routed agency executes.
      expect((await call('sdf', { method: 'POST', url: `/api/v1/response/measures/${m.id}/execute`, payload: { reason: 'go' } })).statusCode).toBe(403);
      expect(((await ok('police', { method: 'POST', url: `/api/v1/response/measures/${m.id}/execute`, payload: { reason: 'Loaded on the resolvers.' } }))['measure'] as Json)['state']).toBe('executing');
      const zone = await call('operator', { method: 'GET', url: '/api/v1/response/artifacts/rpz.zone' });
      expect(zone.statusCode).toBe(200);
      expect(zone.body).toContain('evil-c2.example CNAME .');
      expect(zone.body).toContain('*.evil-c2.example CNAME .');
      const etag = zone.headers.etag as string;
      expect((await call('operator', { method: 'GET', url: '/api/v1/response/artifacts/rpz.zone', headers: { 'if-none-match': etag } })).statusCode).toBe(304);
      clock.advance(HOUR);
      await ok('police', { method: 'POST', url: `/api/v1/response/measures/${m.id}/complete`, payload: { outcome: 'executed', reason: 'Zone loaded by all resolvers.' } });
      const done = (await ok('police', { method: 'GET', url: `/api/v1/response/measures/${m.id}` }))['measure'] as { state: string; events: { transition: string }[] };
      expect(done.state).toBe('executed');
      expect(done.events.map((e) => e.transition)).toEqual(['propose', 'submit', 'approve', 'execute', 'complete']);
      // The effect samples the finding as analysis scored it (0.92), before and after execution.
      const effect = (await ok('analyst', { method: 'GET', url: `/api/v1/response/measures/${m.id}/effect` }))['effect'] as { measureId: string; findings: { findingId: string; samples: { score: number; hostCount: number; phase: string }[] }[] };
      expect(effect.findings.map((f) => f.findingId)).toEqual([s['finding']]);
      const samples = effect.findings[0]!.samples;
      expect(samples.map((x) => x.phase)).toContain('before');
      expect(samples.map((x) => x.phase)).toContain('after');
      expect(samples.every((x) => x.score === 0.92 && x.hostCount === 1)).toBe(true);
      // A block of a prefix, on the same path, appears in the CIDR list and the nftables file.
      const b = (await ok('analyst', { method: 'POST', url: '/api/v1/response/measures', payload: { kind: 'block', title: 'Block the C2 at the border', target: { prefixes: ['203.0.113.0/25'] }, justification: { findings: [s['finding']], reports: [], summary: 'The C2 lives here.' }, expectedEffect: 'No traffic reaches the C2.' } }, 201))['measure'] as { id: string; location: { abroad: boolean } };
      const bsub = (await ok('nco_director', { method: 'POST', url: `/api/v1/response/measures/${b.id}/submit`, payload: { reason: 'Same campaign.' } }))['measure'] as { requestId: string };
      for (const who of ['commissioner', 'commissioner-2', 'commissioner-3']) await ok(who, { method: 'POST', url: `/api/v1/oversight/requests/${bsub.requestId}/votes`, payload: { vote: 'approve', reasons: 'Proportionate.' } });
      await ok('commissioner', { method: 'POST', url: `/api/v1/oversight/requests/${bsub.requestId}/decision`, payload: {} });
      if (b.location.abroad) await ok('foreign_ministry', { method: 'POST', url: `/api/v1/response/measures/${b.id}/consultations`, payload: { reference: 'MOFA-2026-21', outcome: 'no_objection', summary: 'Consulted; no objection.' } }, 201);
      await ok('police', { method: 'POST', url: `/api/v1/response/measures/${b.id}/execute`, payload: { reason: 'Pushed to the border routers.' } });
      const txt = await call('police', { method: 'GET', url: '/api/v1/response/artifacts/blocklist.txt' });
      expect(txt.body.trim().split('\n').filter((l) => !l.startsWith('#'))).toEqual(['203.0.113.0/25']);
      const nft = await call('police', { method: 'GET', url: '/api/v1/response/artifacts/blocklist.nft' });
      expect(nft.body).toContain('203.0.113.0/25');
      const json = (await ok('police', { method: 'GET', url: '/api/v1/response/artifacts/blocklist.json' })) as { entries: { prefix?: string; cidr?: string; measures?: unknown[] }[] };
      expect(JSON.stringify(json)).toContain(b.id);
      const listed = (await ok('police', { method: 'GET', url: '/api/v1/response/measures?state=executing' }))['items'] as { id: string }[];
      expect(listed.map((x) => x.id)).toEqual([b.id]);
    });

    it('response: an SDF measure executes only after the Prime Minister\'s order', async () => {
      const sdf = (await ok('analyst', { method: 'POST', url: '/api/v1/response/measures', payload: {
        kind: 'block', title: 'SDF block of the state-backed C2', target: { prefixes: ['198.51.100.0/24'] }, agency: 'sdf',
        sdfGrounds: { graveTarget: { kind: 'specified_important_computer', reference: s['computer'] }, attackerAssessment: 'state_backed', reasons: 'Attribution report 2026-17.' },
        justification: { findings: [s['finding']], reports: [], summary: 'State-backed group against the grid.' }, expectedEffect: 'No traffic reaches the C2.',
      } }, 201))['measure'] as { id: string; location: { abroad: boolean } };
      const sub = (await ok('nco_director', { method: 'POST', url: `/api/v1/response/measures/${sdf.id}/submit`, payload: { reason: 'Grave.' } }))['measure'] as { requestId: string };
      for (const who of ['commissioner', 'commissioner-2', 'commissioner-3']) await ok(who, { method: 'POST', url: `/api/v1/oversight/requests/${sub.requestId}/votes`, payload: { vote: 'approve', reasons: 'Grave and proportionate.' } });
      await ok('commissioner', { method: 'POST', url: `/api/v1/oversight/requests/${sub.requestId}/decision`, payload: {} });
      if (sdf.location.abroad) await ok('foreign_ministry', { method: 'POST', url: `/api/v1/response/measures/${sdf.id}/consultations`, payload: { reference: 'MOFA-2026-22', outcome: 'no_objection', summary: 'Consulted.' } }, 201);
      const early = await call('sdf', { method: 'POST', url: `/api/v1/response/measures/${sdf.id}/execute`, payload: { reason: 'go' } });
      // Approved is not enough for the SDF: the order comes first.
      expect(early.statusCode).toBe(409);
      expect(early.json()).toMatchObject({ code: 'CONFLICT', details: [{ message: 'WRONG_STATE' }] });
      expect(((await ok('sdf', { method: 'GET', url: `/api/v1/response/measures/${sdf.id}` }))['measure'] as Json)['state']).toBe('approved');
      const ordered = (await ok('prime_minister', { method: 'POST', url: `/api/v1/response/measures/${sdf.id}/order`, payload: { reference: 'PMO-2026-3', reason: 'Grave threat to the grid.' } }))['measure'] as Json;
      expect(ordered).toMatchObject({ state: 'ordered', order: { reference: 'PMO-2026-3' } });
      expect((await call('police', { method: 'POST', url: `/api/v1/response/measures/${sdf.id}/execute`, payload: { reason: 'go' } })).statusCode).toBe(403);
      expect(((await ok('sdf', { method: 'POST', url: `/api/v1/response/measures/${sdf.id}/execute`, payload: { reason: 'On order PMO-2026-3.' } }))['measure'] as Json)['state']).toBe('executing');
      // Officers record their steps at once: each gets its own number, none is lost.
      const steps = await Promise.all(['Route withdrawn at IX-1', 'Route withdrawn at IX-2', 'Route withdrawn at IX-3'].map((action) => call('sdf', { method: 'POST', url: `/api/v1/response/measures/${sdf.id}/steps`, payload: { action, result: 'done' } })));
      expect(steps.map((r) => r.statusCode)).toEqual([201, 201, 201]);
      const recorded = ((await ok('sdf', { method: 'GET', url: `/api/v1/response/measures/${sdf.id}` }))['measure'] as { steps: { seq: number; action: string }[] }).steps;
      expect(recorded.map((x) => x.seq)).toEqual([1, 2, 3]);
      expect(recorded.map((x) => x.action).sort()).toEqual(['Route withdrawn at IX-1', 'Route withdrawn at IX-2', 'Route withdrawn at IX-3']);
      const txt = await call('police', { method: 'GET', url: '/api/v1/response/artifacts/blocklist.txt' });
      expect(txt.body.trim().split('\n').filter((l) => !l.startsWith('#'))).toEqual(['198.51.100.0/24', '203.0.113.0/25']);
    });

    it('sharing: a draft from the finding, released to a group, read over TAXII; a leaked copy names its recipient; a sighting raises confidence', async () => {
      const group = (await ok('nco_director', { method: 'POST', url: '/api/v1/sharing/groups', payload: { name: 'Electricity ISAC', description: 'Grid operators and their suppliers' } }, 201))['group'] as { id: string };
      const bank = t.users.orgs['Council Member Bank']!;
      await ok('nco_director', { method: 'POST', url: `/api/v1/sharing/groups/${group.id}/members`, payload: { orgId: bank, canRead: true, canWrite: false } });
      const draft = (await ok('analyst', { method: 'POST', url: `/api/v1/sharing/drafts/from-finding/${s['finding']}`, payload: { tlp: 'amber', confidence: 60 } }, 201))['draft'] as { id: string; status: string; objects: { type: string; pattern?: string; id: string }[] };
      expect(draft.status).toBe('draft');
      expect(draft.objects.filter((o) => o.type === 'indicator').map((o) => o.pattern)).toEqual(["[ipv4-addr:value = '203.0.113.45']"]);
      expect(JSON.stringify(draft)).not.toContain('9f86d081884c7d659a2feaa0c55ad015');
      // Nothing is out before the release.
      expect((await taxii('council_member', `/taxii2/mamori/collections/${group.id}/objects/`)).json()).not.toHaveProperty('objects');
      const released = (await ok('nco_director', { method: 'POST', url: `/api/v1/sharing/drafts/${draft.id}/release`, payload: { groupIds: [group.id] } }))['draft'] as Json;
      expect(released['status']).toBe('released');
      const disc = await taxii('council_member', '/taxii2/');
      expect(disc.statusCode).toBe(200);
      expect(disc.json()).toMatchObject({ api_roots: [expect.stringMatching(/\/taxii2\/mamori\/$/)] });
      const cols = (await taxii('council_member', '/taxii2/mamori/collections/')).json() as { collections: { id: string; can_read: boolean; can_write: boolean }[] };
      expect(cols.collections).toEqual([expect.objectContaining({ id: group.id, can_read: true, can_write: false })]);
      expect((await taxii('operator', `/taxii2/mamori/collections/${group.id}/`)).statusCode).toBe(404);
      const base = `/taxii2/mamori/collections/${group.id}`;
      const page = await taxii('council_member', `${base}/objects/?match[type]=indicator`);
      expect(page.statusCode).toBe(200);
      expect(page.headers['x-taxii-date-added-first']).toMatch(/Z$/);
      const [ind] = (page.json() as { objects: Json[] }).objects;
      expect(ind).toMatchObject({ type: 'indicator', confidence: 60 });
      expect(String(ind!['pattern']).replace(/\s+/g, '')).toBe("[ipv4-addr:value='203.0.113.45']"); // its whitespace is a per-recipient mark
      const id = String(ind!['id']);
      expect(draft.objects.map((o) => o.id)).not.toContain(id); // the member's own marked copy
      const manifest = (await taxii('council_member', `${base}/manifest/?match[id]=${id}`)).json() as { objects: { id: string; version: string }[] };
      expect(manifest.objects).toEqual([expect.objectContaining({ id, version: ind!['modified'] })]);
      const v1 = (await taxii('council_member', `${base}/objects/${id}/versions/`)).json() as { versions: string[] };
      expect(v1.versions).toEqual([ind!['modified']]);
      // The copy turns up on a forum: it names the council member.
      const trace = await ok('nco_director', { method: 'POST', url: '/api/v1/sharing/leaks/trace', payload: { text: `seen on a paste site: ${JSON.stringify(ind)}` } });
      expect((trace['verdict'] as { username: string; conclusive: boolean }[])[0]).toMatchObject({ username: 'council-member', conclusive: true });
      // A confirmed sighting raises confidence: a new version in the collection.
      clock.advance(60_000);
      const sighting = (await ok('council_member', { method: 'POST', url: '/api/v1/sharing/sightings', payload: { indicatorId: id, outcome: 'confirmed', count: 3 } }))['sighting'] as { before: number; after: number };
      expect(sighting.before).toBe(60);
      expect(sighting.after).toBeGreaterThan(60);
      const v2 = (await taxii('council_member', `${base}/objects/${id}/versions/`)).json() as { versions: string[] };
      expect(v2.versions).toHaveLength(2);
      const latest = ((await taxii('council_member', `${base}/objects/${id}/`)).json() as { objects: Json[] }).objects[0]!;
      expect(latest['confidence']).toBe(sighting.after);
      const all = ((await taxii('council_member', `${base}/objects/?match[type]=indicator&match[version]=all`)).json() as { objects: Json[] }).objects;
      expect(all.map((o) => o['confidence'])).toEqual([60, sighting.after]);
      // Two members report a false positive at once: each lowers the confidence in turn, none is lost.
      const fps = await Promise.all([0, 1].map(() => ok('council_member', { method: 'POST', url: '/api/v1/sharing/sightings', payload: { indicatorId: id, outcome: 'false_positive', count: 1 } })));
      const steps = fps.map((r) => r['sighting'] as { before: number; after: number }).sort((a, b) => b.before - a.before);
      expect(steps[0]!.before).toBe(sighting.after);
      expect(steps[1]!.before).toBe(steps[0]!.after);
      const now = ((await taxii('council_member', `${base}/objects/${id}/`)).json() as { objects: Json[] }).objects[0]!;
      expect(now['confidence']).toBe(steps[1]!.after);
      expect(((await taxii('council_member', `${base}/objects/${id}/versions/`)).json() as { versions: string[] }).versions).toHaveLength(4);
    });

    it('concurrent requests: follow-ups, change notifications, votes and decisions stay consistent', async () => {
      // Three follow-ups at once: each becomes its own version, none lost, none duplicated.
      const before = ((await ok('operator', { method: 'GET', url: `/api/v1/incidents/${s['incident']}` }))['incident'] as { version: number }).version;
      const fus = await Promise.all([1, 2, 3].map((i) => call('operator', { method: 'POST', url: `/api/v1/incidents/${s['incident']}/followups`, payload: { stage: 'update', items: { other: `Concurrent note ${i}` } } })));
      expect(fus.map((r) => r.statusCode)).toEqual([201, 201, 201]);
      const after = (await ok('operator', { method: 'GET', url: `/api/v1/incidents/${s['incident']}` }))['incident'] as { version: number; versions: { version: number; items: { other: string } }[] };
      expect(after.version).toBe(before + 3);
      expect(after.versions.map((v) => v.version)).toEqual(Array.from({ length: before + 3 }, (_, i) => i + 1));
      expect(after.versions.slice(-3).map((v) => v.items.other).sort()).toEqual(['Concurrent note 1', 'Concurrent note 2', 'Concurrent note 3']);
      // Two changes of the same computer at once: the chain stays a line (one wins, or both in turn).
      const changes = await Promise.all(['RHEL 10', 'RHEL 9.6'].map((os) => call('operator', { method: 'POST', url: '/api/v1/notifications', payload: { form: 'computer-notification', formVersion: 1, computerId: s['computer'], fields: notificationFields({ remoteMaintenance: true, operatingSystem: os }) } })));
      expect(changes.map((r) => r.statusCode)).toContain(201);
      for (const r of changes) expect([201, 409], r.body).toContain(r.statusCode);
      const chain = ((await ok('operator', { method: 'GET', url: '/api/v1/notifications' }))['items'] as { id: string; computerId: string; previousId: string | null }[]).filter((n) => n.computerId === s['computer']);
      const previous = chain.map((n) => n.previousId);
      expect(new Set(previous).size).toBe(previous.length); // no two filings continue the same one
      expect(previous.filter((x) => x === null)).toHaveLength(1);
      // The NCO acknowledges the same filing twice at once: one acknowledgement, audited once.
      const ncoItem = ((await ok('analyst', { method: 'GET', url: '/api/v1/inbox?unacknowledged=true' }))['items'] as { id: string; reportId: string | null; kind: string }[]).find((i) => i.kind === 'filing' && i.reportId === s['incident'])!;
      const acks = await Promise.all([0, 1].map(() => call('analyst', { method: 'POST', url: `/api/v1/inbox/${ncoItem.id}/acknowledge` })));
      expect(acks.map((r) => r.statusCode)).toEqual([200, 200]);
      const ackTimes = acks.map((r) => (r.json() as { item: { acknowledgedAt: string } }).item.acknowledgedAt);
      expect(ackTimes[0]).toBe(ackTimes[1]);
      const all = await t.core.audit.entries({ from: 0, to: (await t.core.audit.head()).size });
      expect(all.filter((e) => e.action === 'inbox:acknowledge' && e.details['inbox'] === ncoItem.id)).toHaveLength(1);
      // The ministry escalates an overdue NIS2 final report twice at once: once.
      clock.set('2026-06-01T00:00:00.000Z');
      const escalations = await Promise.all([1, 2].map((i) => call('ministry', { method: 'POST', url: `/api/v1/incidents/${s['incident']}/escalations`, payload: { deadline: 'nis2.final', note: `Final report missing (${i}).` } })));
      expect(escalations.map((r) => r.statusCode).sort()).toEqual([201, 409]);
      const ncoEscalations = ((await ok('analyst', { method: 'GET', url: '/api/v1/inbox' }))['items'] as { kind: string; reportId: string | null; note: string | null }[]).filter((i) => i.kind === 'escalation' && i.reportId === s['incident'] && (i.note ?? '').startsWith('nis2.final'));
      expect(ncoEscalations).toHaveLength(1);
      // Two directors' assistants press release at once: released once, each object in the collection once.
      const groupId = ((await ok('nco_director', { method: 'GET', url: '/api/v1/sharing/groups' }))['items'] as { id: string; name: string }[]).find((g) => g.name === 'Electricity ISAC')!.id;
      const draft2 = (await ok('analyst', { method: 'POST', url: '/api/v1/sharing/drafts', payload: { title: 'C2 domain of campaign X', indicators: [{ kind: 'domain', value: 'evil-c2.example' }], tlp: 'amber', sourceRef: { type: 'report', id: s['incident'] } } }, 201))['draft'] as { id: string };
      const releases = await Promise.all([0, 1].map(() => call('nco_director', { method: 'POST', url: `/api/v1/sharing/drafts/${draft2.id}/release`, payload: { groupIds: [groupId] } })));
      expect(releases.map((r) => r.statusCode).sort()).toEqual([200, 409]);
      const domainObjects = ((await taxii('council_member', `/taxii2/mamori/collections/${groupId}/objects/?match[type]=indicator&match[version]=all`)).json() as { objects: Json[] }).objects.filter((o) => String(o['pattern']).includes('evil-c2.example'));
      expect(domainObjects).toHaveLength(1);
      const releasedEntries = (await t.core.audit.entries({ from: 0, to: (await t.core.audit.head()).size })).filter((e) => e.action === 'intel:release' && e.object?.id === draft2.id);
      expect(releasedEntries).toHaveLength(1);
      // Votes and two decisions at once: one decision, counted once.
      const draft = (await ok('analyst', { method: 'POST', url: '/api/v1/oversight/requests', payload: { kind: 'acquisition', title: 'Second look at campaign X', evidence: [{ type: 'finding', id: s['finding'] }], acquisition: acquisitionScope('2026-05-10T00:00:00.000Z', 30) } }, 201))['request'] as { id: string };
      await ok('nco_director', { method: 'POST', url: `/api/v1/oversight/requests/${draft.id}/submit` });
      const votes = await Promise.all(['commissioner', 'commissioner-2', 'commissioner-3', 'commissioner-4'].map((who) => call(who, { method: 'POST', url: `/api/v1/oversight/requests/${draft.id}/votes`, payload: { vote: 'deny', reasons: 'Already covered by the first approval.' } })));
      expect(votes.map((r) => r.statusCode)).toEqual([200, 200, 200, 200]);
      const decisions = await Promise.all(['commissioner', 'commissioner-2'].map((who) => call(who, { method: 'POST', url: `/api/v1/oversight/requests/${draft.id}/decision`, payload: {} })));
      expect(decisions.map((r) => r.statusCode).sort()).toEqual([200, 409]);
      const decided = (await ok('commissioner', { method: 'GET', url: `/api/v1/oversight/requests/${draft.id}` }))['request'] as { status: string; votes: unknown[] };
      expect(decided).toMatchObject({ status: 'denied' });
      expect(decided.votes).toHaveLength(4);
      const decideEntries = (await t.core.audit.entries({ from: 0, to: (await t.core.audit.head()).size })).filter((e) => e.action === 'request:decide' && e.object?.id === draft.id && e.outcome === 'success');
      expect(decideEntries).toHaveLength(1);
    });

    it('concurrent incident filings share a group commit: each answered one is stored as its receipt says, audited once; a bad one is refused alone', async () => {
      const fileAt = (who: string, i: number, computerId?: string) => {
        const base = incidentBody(new Date(clock.nowMs() - i * HOUR).toISOString()) as Json;
        const items = { ...(base['items'] as Json), summary: `Concurrent filing ${who} ${i}`, ...(computerId !== undefined ? { affectedComputer: { computerId, description: 'EMS control server' } } : {}) };
        return call(who, { method: 'POST', url: '/api/v1/incidents', payload: { ...base, items } });
      };
      const fileEntries = async () => (await t.core.audit.entries({ from: 0, to: (await t.core.audit.head()).size })).filter((e) => e.action === 'incident:file');
      const before = (await fileEntries()).length;
      const res = await Promise.all([
        fileAt('operator', 1, s['computer']), fileAt('op-finance', 2), fileAt('operator', 3, '00000000-0000-4000-8000-000000000000'),
        fileAt('operator', 4), fileAt('op-finance', 5), fileAt('operator', 6, s['computer']),
      ]);
      expect(res.map((r) => r.statusCode), res.map((r) => r.body.slice(0, 200)).join('\n')).toEqual([201, 201, 400, 201, 201, 201]);
      expect(res[2]!.json()).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'items.affectedComputer.computerId' }] });
      const filed = res.filter((r) => r.statusCode === 201).map((r) => r.json() as { report: { id: string; orgId: string }; receipt: Receipt });
      for (const [i, f] of filed.entries()) {
        const who = f.report.orgId === opF.orgId ? 'op-finance' : 'operator';
        const stored = (await ok(who, { method: 'GET', url: `/api/v1/incidents/${f.report.id}` }))['incident'] as { items: { summary: string }; versions: { version: number; sha256: string; receiptId: string; filedAt: string }[]; deliveries: { recipient: string }[] };
        expect(stored.items.summary).toMatch(/^Concurrent filing /);
        expect(stored.versions).toEqual([expect.objectContaining({ version: 1, sha256: f.receipt.sha256, receiptId: f.receipt.receiptId, filedAt: f.receipt.filedAt })]);
        expect(stored.deliveries.map((d) => d.recipient).sort(), `filing ${i}`).toEqual(['ministry', 'nco']);
        const dl = await ok(who, { method: 'GET', url: `/api/v1/receipts/${f.receipt.receiptId}` });
        expect(dl['receipt']).toEqual(f.receipt);
        expect(verifyReceipt(f.receipt, dl['publicKey'] as string)).toBe(true);
      }
      const added = (await fileEntries()).slice(before);
      expect(added.map((e) => e.object?.id).sort()).toEqual(filed.map((f) => f.report.id).sort());
      expect(added.map((e) => e.details['sha256']).sort()).toEqual(filed.map((f) => f.receipt.sha256).sort());
    });

    it('oversight: the Diet report counts the story from the signed audit log', async () => {
      const r = (await ok('commissioner', { method: 'GET', url: '/api/v1/oversight/diet-report?from=2026-04-01&to=2027-04-01' }))['report'] as { figures: { requests: Record<string, Record<string, number>>; emergency: { byKindAndAgency: Record<string, Record<string, number>>; flagged: string[] }; measures: Record<string, Record<string, number>> }; checkpoint: { size: number } };
      expect(r.figures.requests['acquisition']).toMatchObject({ submitted: 2, approved: 1, denied: 1 });
      expect(r.figures.requests['measure']).toMatchObject({ submitted: 3, approved: 3 });
      expect(r.figures.requests['emergency_review']).toMatchObject({ submitted: 1, denied: 1 });
      expect(r.figures.emergency.byKindAndAgency['acquisition/police']).toMatchObject({ acted: 1, ratified: 0, haltedDenied: 1 });
      expect(r.figures.emergency.flagged).toHaveLength(1);
      expect(r.figures.measures['police']).toMatchObject({ approved: 2 });
      expect(r.figures.measures['sdf']).toMatchObject({ approved: 1 });
      expect(r.checkpoint.size).toBeGreaterThan(100);
      expect(r.checkpoint.size).toBeLessThanOrEqual((await t.core.audit.head()).size);
    });
  });
}
