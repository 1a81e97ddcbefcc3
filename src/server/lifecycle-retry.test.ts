/** @module The retention sweep retries a revoked basis's purge when findings of it were left behind (a purge cut short), with a certificate. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext, type RequestContext } from '#platform/context/index.js';
import { sql } from '#platform/db/index.js';
import { newId } from '#platform/ids/index.js';
import { verifyAuditLog } from '#modules/audit/index.js';
import type { Core } from './core.js';
import { createTestCore } from './test-support/harness.js';

describe('lifecycle: the sweep retries what a purge left', () => {
  const clock = new ManualClock('2026-04-02T00:00:00.000Z');
  const sys = systemContext('test');
  const chair: RequestContext = { actor: { kind: 'user', id: newId(), username: 'chair', roles: ['commissioner'], orgId: null, sectors: [] }, requestId: 'test-chair' };
  let core: Core;
  beforeAll(async () => {
    core = await createTestCore({ clock, config: { dataDir: mkdtempSync(join(tmpdir(), 'mamori-lifecycle-retry-')) } });
  });
  afterAll(async () => { await core.close(); });

  it('deletes findings still resting on a revoked basis, and certifies it', async () => {
    const window = { validFrom: '2026-03-01T00:00:00.000Z', validUntil: '2026-06-01T00:00:00.000Z', retentionDays: 90, createdBy: 'request-test', allowedFields: ['start', 'end', 'srcAddr', 'dstAddr'] as never };
    const revoked = await core.selection.createBasis(sys, { kind: 'cross_border_approval', title: 'revoked', selectors: { foreignPrefixes: ['45.33.32.0/24'] }, ...window });
    const kept = await core.selection.createBasis(sys, { kind: 'cross_border_approval', title: 'kept', selectors: { foreignPrefixes: ['185.220.101.0/24'] }, ...window });
    const t = Date.parse('2026-04-01T00:00:00.000Z');
    const finding = (value: string, bases: string[]) => ({
      kind: 'beacon' as const, subject: { kind: 'address' as const, value }, level: 'alert' as const, score: 0.9, scoreDetail: { method: 'test', components: {} },
      evidence: {}, hosts: ['aa'.repeat(16)], hostCount: 1, firstSeen: t, lastSeen: t + 3_600_000, bases,
    });
    const [, other] = await core.analysis.recordFindings(sys, [finding('45.33.32.156', [revoked.id]), finding('185.220.101.7', [kept.id])]);
    await core.selection.revokeBasis(chair, revoked.id, { reason: 'no longer necessary' });
    const left = (await core.analysis.listFindings(sys, {})).items;
    expect(left.map((f) => f.id)).toEqual([other]);

    // A purge cut short (a crash between its steps) leaves a finding resting on the revoked basis.
    await sql`update findings set legal_bases = ${JSON.stringify([revoked.id])} where id = ${other!}`.execute(core.db.kysely);
    const mark = (await core.audit.head()).size;
    const certs = await core.lifecycle.enforceRetention();
    expect(certs).toEqual([expect.objectContaining({ basisId: revoked.id, cause: 'revoked', findingsDeleted: 1 })]);
    expect((await core.analysis.listFindings(sys, {})).items).toEqual([]);
    const entries = await core.audit.entries({ from: mark, to: (await core.audit.head()).size });
    expect(entries.filter((e) => e.action === 'lifecycle:certificate').map((e) => e.details['basisId'])).toEqual([revoked.id]);
    // Nothing left: the next sweep certifies nothing more.
    expect(await core.lifecycle.enforceRetention()).toEqual([]);
    await core.checkpointer.checkpointNow();
    expect(await verifyAuditLog(core.db, { logKey: core.checkpointer.verifier() })).toMatchObject({ ok: true });
  });
});
