/** @module Free text stays out of the audit log: a purpose typed with an address is referenced by a salted hash, and a commission order redacts it while the log still verifies. */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { verifyAuditLog } from '#modules/audit/index.js';
import { runMamori } from './test-support/cli.js';
import { createTestApp } from './test-support/harness.js';

const ADDRESS = '198.51.100.23';

describe('audit free text', () => {
  let t: Awaited<ReturnType<typeof createTestApp>>;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'mamori-audit-texts-'));
    t = await createTestApp({ url: `sqlite:${join(dataDir, 'mamori.db')}`, clock: new ManualClock('2026-04-01T12:00:00.000Z'), config: { dataDir } });
  });
  afterAll(async () => { await t.close(); });

  const call = (role: 'analyst' | 'commissioner', method: 'GET' | 'POST', url: string, payload?: Record<string, unknown>) =>
    t.app.fastify.inject(payload === undefined ? { method, url, headers: { authorization: `Bearer ${t.users.tokens[role]}` } } : { method, url, headers: { authorization: `Bearer ${t.users.tokens[role]}` }, payload });

  it('keeps a purpose out of every entry, and a redaction order erases it while the log verifies', async () => {
    const purpose = `who talks to ${ADDRESS} this morning`;
    const q = await call('analyst', 'POST', '/api/v1/flows/query', { purpose, filters: { from: '2026-04-01T00:00:00Z', to: '2026-04-01T12:00:00Z' } });
    expect(q.statusCode).toBe(200);
    const rows = (await t.core.db.kysely.selectFrom('audit_entries').select(['action', 'entry']).execute()) as { action: string; entry: string }[];
    expect(rows.filter((r) => r.entry.includes(ADDRESS))).toEqual([]);
    const query = JSON.parse(rows.find((r) => r.action === 'flows:query')!.entry) as { details: Record<string, unknown> };
    expect(query.details['purpose']).toBeUndefined();
    const ref = String(query.details['purposeRef']);
    expect(ref).toMatch(/^text:[0-9a-f]{64}$/);
    expect((await call('commissioner', 'GET', `/api/v1/audit/texts/${ref}`)).json()).toMatchObject({ text: { ref, text: purpose, redactedAt: null } });
    expect((await call('analyst', 'GET', `/api/v1/audit/texts/${ref}`)).statusCode).toBe(403);

    expect((await call('analyst', 'POST', `/api/v1/audit/texts/${ref}/redact`, { order: 'order-1' })).statusCode).toBe(403);
    expect((await call('commissioner', 'POST', `/api/v1/audit/texts/${ref}/redact`, { order: 'not an id!' })).statusCode).toBe(400);
    const r = await call('commissioner', 'POST', `/api/v1/audit/texts/${ref}/redact`, { order: 'commission-order-2026-17' });
    expect(r.statusCode).toBe(200);
    expect((await call('commissioner', 'POST', `/api/v1/audit/texts/${ref}/redact`, { order: 'commission-order-2026-17' })).statusCode).toBe(404);
    expect((await call('commissioner', 'GET', `/api/v1/audit/texts/${ref}`)).json()).toMatchObject({ text: { ref, text: null, redactionOrder: 'commission-order-2026-17' } });
    const entries = (await t.core.db.kysely.selectFrom('audit_entries').select(['action', 'entry']).execute()) as { action: string; entry: string }[];
    expect(entries.find((e) => e.action === 'audit:redact')?.entry).toContain(ref);

    await t.core.checkpointer.checkpointNow();
    expect(await verifyAuditLog(t.core.db, { logKey: t.core.checkpointer.verifier() })).toMatchObject({ ok: true });
    const verified = await runMamori(['audit', 'verify'], { dataDir, databaseUrl: `sqlite:${join(dataDir, 'mamori.db')}` });
    expect(verified, verified.out).toMatchObject({ code: 0, out: expect.stringContaining('audit log OK') });
    // The side table holds no trace of the text, only the reference and the order.
    const side = (await t.core.db.kysely.selectFrom('audit_texts').selectAll().execute()) as Record<string, unknown>[];
    expect(JSON.stringify(side)).not.toContain(ADDRESS);
    // Not in any byte of the database or its write-ahead log either.
    for (const f of readdirSync(dataDir).filter((x) => x.startsWith('mamori.db'))) expect(readFileSync(join(dataDir, f)).includes(Buffer.from(ADDRESS)), f).toBe(false);
  });
});
