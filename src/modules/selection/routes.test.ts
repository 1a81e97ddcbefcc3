import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeAddress } from '#modules/collection/index.js';
import { createTestApp } from '#server/test-support/harness.js';
import { derivedKeyStore, pseudonymOf, PSEUDONYM_BYTES } from './pseudonym.js';

const SECRET = 'route-test pseudonym secret, 32+ characters long';
const VICTIM = '133.10.20.30';

/** The pseudonym selection would have written for an address in a period (same key derivation as the server). */
function pseudonym(address: string, period: string): string {
  const slot = new Uint8Array(16);
  const out = new Uint8Array(PSEUDONYM_BYTES);
  if (!writeAddress(slot, 0, address)) throw new Error(address);
  pseudonymOf(derivedKeyStore(SECRET).keyFor(period, true)!, slot, 0, out, 0);
  return Buffer.from(out).toString('hex');
}

describe('re-identification over HTTP', () => {
  let t: Awaited<ReturnType<typeof createTestApp>>;
  // One commissioner in the harness: a quorum of one keeps the approval short (the voting rules are tested in oversight).
  beforeAll(async () => {
    t = await createTestApp({ config: { dataDir: mkdtempSync(join(tmpdir(), 'mamori-reid-http-')), oversight: { quorum: 1 }, secrets: { pseudonymKey: SECRET } } });
  }, 60_000);
  afterAll(async () => { await t.close(); });
  const as = (role: 'analyst' | 'nco_director' | 'commissioner' | 'police') => ({ authorization: `Bearer ${t.users.tokens[role]}` });

  it('answers only under a commission approval naming the pseudonym, and audits without addresses', async () => {
    const inject = t.app.fastify.inject.bind(t.app.fastify);
    const ps = pseudonym(VICTIM, '2026-04');
    const ask = (approvalId: string, extra: Record<string, unknown> = { candidates: ['133.10.20.29', VICTIM, '133.10.20.31'] }) =>
      inject({ method: 'POST', url: '/api/v1/pseudonyms/reidentify', headers: as('analyst'), payload: { pseudonym: ps, period: '2026-04', approvalId, ...extra } });

    const before = (await t.core.audit.head()).size;
    const refused = await ask('no-such-approval');
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'FORBIDDEN' });

    // The commission approves re-identifying exactly this pseudonym.
    const draft = await inject({ method: 'POST', url: '/api/v1/oversight/requests', headers: as('analyst'), payload: { kind: 'reidentification', title: 'Notify the victim operator', evidence: [], reidentification: { pseudonyms: [ps], basisId: 'basis-x', purpose: 'Tell the operator which host calls the C2.' } } });
    expect(draft.statusCode).toBe(201);
    const id = draft.json<{ request: { id: string } }>().request.id;
    expect((await inject({ method: 'POST', url: `/api/v1/oversight/requests/${id}/submit`, headers: as('nco_director') })).statusCode).toBe(200);
    expect((await inject({ method: 'POST', url: `/api/v1/oversight/requests/${id}/votes`, headers: as('commissioner'), payload: { vote: 'approve', reasons: 'Victim notification.' } })).statusCode).toBe(200);
    const decided = await inject({ method: 'POST', url: `/api/v1/oversight/requests/${id}/decision`, headers: as('commissioner'), payload: {} });
    const approvalId = decided.json<{ request: { status: string; approvalId: string } }>().request.approvalId;
    expect(decided.json()).toMatchObject({ request: { status: 'approved' } });
    expect(approvalId).toMatch(/\S/);

    const found = await ask(approvalId);
    expect(found.statusCode).toBe(200);
    expect(found.json()).toEqual({ matches: [VICTIM] });
    const inPrefix = await ask(approvalId, { prefix: '133.10.20.0/24' });
    expect(inPrefix.json()).toEqual({ matches: [VICTIM] });

    // Bad input names the field; the refusal is audited too ("audited either way"), without the values.
    const mark = (await t.core.audit.head()).size;
    const bad = await ask(approvalId, { candidates: [VICTIM], prefix: '133.10.20.0/24' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ message: string }>().message).toContain('candidates');
    expect((await t.core.audit.head()).size).toBe(mark + 1);

    // Another pseudonym under the same approval is refused; the police may not ask at all.
    const other = await inject({ method: 'POST', url: '/api/v1/pseudonyms/reidentify', headers: as('analyst'), payload: { pseudonym: pseudonym('133.10.20.31', '2026-04'), period: '2026-04', approvalId, candidates: ['133.10.20.31'] } });
    expect(other.statusCode).toBe(403);
    expect((await inject({ method: 'POST', url: '/api/v1/pseudonyms/reidentify', headers: as('police'), payload: { pseudonym: ps, period: '2026-04', approvalId, candidates: [VICTIM] } })).statusCode).toBe(403);

    const entries = await t.core.audit.entries({ from: before, to: (await t.core.audit.head()).size });
    const reid = entries.filter((e) => e.action === 'pseudonym:reidentify').map((e) => e.outcome);
    expect(reid).toEqual(['denied', 'success', 'success', 'denied', 'denied']);
    expect(JSON.stringify(entries)).not.toContain(VICTIM);
  });
});
