/** @module The storage contract: one suite every database driver must pass (SQLite and PostgreSQL alike). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '#platform/context/index.js';
import { isAppError } from '#platform/errors/index.js';
import { verifyConsistency, verifyInclusion } from '#modules/audit/index.js';
import { migrate } from '#platform/db/index.js';
import { ALL_MIGRATIONS, type Core } from '../core.js';
import { createTestCore } from './harness.js';

/** Registers the contract tests against databases produced by `open` (a fresh one per suite). */
export function describeStorageContract(name: string, open: () => Promise<{ url: string; cleanup(): Promise<void> }>): void {
  describe(`storage contract: ${name}`, () => {
    let core: Core;
    let cleanup: () => Promise<void>;
    const sys = systemContext('contract');

    beforeAll(async () => {
      const db = await open();
      cleanup = db.cleanup;
      core = await createTestCore({ url: db.url });
    });
    afterAll(async () => {
      await core?.close();
      await cleanup?.();
    });

    it('answers ping and re-runs migrations as a no-op', async () => {
      expect(await core.db.ping()).toBe(true);
      expect(await migrate(core.db, ALL_MIGRATIONS)).toEqual([]);
    });

    it('stores organizations and users, and enforces unique names', async () => {
      const org = await core.identity.createOrg(sys, { name: 'Contract Gas Co.', kind: 'operator', sectors: ['gas'] });
      const user = await core.identity.createUser(sys, { username: 'contract-user', displayName: '契約 太郎', password: 'a long enough password', roles: ['operator'], orgId: org.id });
      expect(user).toMatchObject({ username: 'contract-user', displayName: '契約 太郎', roles: ['operator'], orgId: org.id, disabled: false });
      await expect(core.identity.createUser(sys, { username: 'contract-user', displayName: 'x', password: 'a long enough password', roles: ['operator'] })).rejects.toSatisfy((e: unknown) => isAppError(e) && e.code === 'CONFLICT');
      const listed = await core.identity.listUsers(sys);
      expect(listed.map((u) => u.username)).toContain('contract-user');
    });

    it('signs in, issues and checks tokens, and disables users', async () => {
      const ok = await core.identity.login(sys, { username: 'contract-user', password: 'a long enough password' });
      expect(ok.ok).toBe(true);
      if (!ok.ok) return;
      expect((await core.identity.authenticateSession(ok.value.sessionToken))?.actor.sectors).toEqual(['gas']);
      const { token } = await core.identity.createToken(sys, { name: 't' }, 'contract-user');
      expect((await core.identity.authenticateToken(token))?.roles).toEqual(['operator']);
      await core.identity.disableUser(sys, 'contract-user');
      expect(await core.identity.authenticateToken(token)).toBeUndefined();
      expect(await core.identity.authenticateSession(ok.value.sessionToken)).toBeUndefined();
    });

    it('rolls back a change together with its audit entry', async () => {
      const before = await core.audit.head();
      await expect(core.db.transaction(async (trx) => {
        await trx.insertInto('orgs').values({ id: '00000000-0000-7000-8000-00000000abcd', name: 'Rolled Back Co.', name_ja: null, kind: 'operator', sectors: '[]', created_at: '2026-01-01T00:00:00.000Z' }).execute();
        await core.audit.record(sys, { action: 'org:create', object: { type: 'org', id: 'x' }, outcome: 'success' }, trx);
        throw new Error('abort');
      })).rejects.toThrow('abort');
      expect(await core.audit.head()).toEqual(before);
      expect(await core.identity.findOrgByName(sys, 'Rolled Back Co.')).toBeUndefined();
    });

    it('stores legal bases, refuses bad ones, and revokes them', async () => {
      const base = {
        kind: 'cross_border_approval' as const, title: 'Contract basis', createdBy: 'request-contract',
        selectors: { foreignPrefixes: ['198.51.100.0/24'] },
        validFrom: '2026-03-01T00:00:00.000Z', validUntil: '2026-05-01T00:00:00.000Z',
        allowedFields: ['start', 'dstAddr', 'dstPort'] as ('start' | 'dstAddr' | 'dstPort')[], retentionDays: 30,
      };
      const basis = await core.selection.createBasis(sys, base);
      expect((await core.selection.getBasis(sys, basis.id)).selectors.foreignPrefixes).toEqual(['198.51.100.0/24']);
      // Cross-border approvals last at most three months (the act's limit).
      await expect(core.selection.createBasis(sys, { ...base, validUntil: '2026-07-01T00:00:00.000Z' })).rejects.toSatisfy((e: unknown) => isAppError(e) && e.code === 'VALIDATION_FAILED');
      const revoked = await core.selection.revokeBasis(sys, basis.id, { reason: 'contract test' });
      expect(revoked.status).toBe('revoked');
      expect((await core.selection.listBases(sys, { limit: 500 })).items.filter((b) => b.id === basis.id)).toHaveLength(1);
    });

    it('merges findings by kind and subject, and keeps cases with their items', async () => {
      const update = {
        kind: 'beacon' as const, subject: { kind: 'address' as const, value: '198.51.100.7' }, level: 'suspect' as const, score: 0.6,
        scoreDetail: { method: 'contract', components: { a: 1 } }, evidence: { intervals: [60, 60, 61] },
        firstSeen: Date.parse('2026-04-01T00:00:00Z'), lastSeen: Date.parse('2026-04-01T01:00:00Z'), hosts: ['p1'], hostCount: 1, bases: ['b1'],
      };
      const [id] = await core.analysis.recordFindings(sys, [update]);
      const [again] = await core.analysis.recordFindings(sys, [{ ...update, level: 'alert', score: 0.9, hosts: ['p2'], hostCount: 2, lastSeen: update.lastSeen + 3_600_000 }]);
      expect(again).toBe(id);
      const f = await core.analysis.getFinding(sys, id!);
      expect(f).toMatchObject({ level: 'alert', score: 0.9, revision: 2, hostCount: 2 });
      expect([...f.hosts].sort()).toEqual(['p1', 'p2']);
      const analyst = { actor: { kind: 'user' as const, id: 'contract-analyst', username: 'contract-analyst', roles: ['analyst' as const], orgId: null, sectors: [] }, requestId: 'contract' };
      const c = await core.analysis.createCase(analyst, { title: 'Contract case', findingIds: [id!] });
      expect((await core.analysis.getCase(analyst, c.id)).items).toHaveLength(1);
    });

    it('appends concurrently into one consistent Merkle tree whose proofs verify', async () => {
      const start = (await core.audit.head()).size;
      await Promise.all(Array.from({ length: 40 }, (_, i) => core.audit.record({ ...sys, requestId: `c-${i}` }, { action: 'contract:probe', object: { type: 'probe', id: String(i) }, outcome: 'success' })));
      const head = await core.audit.head();
      expect(head.size).toBe(start + 40);
      const entries = await core.audit.entries({ from: 0, to: head.size });
      expect(entries.map((e) => e.index)).toEqual(Array.from({ length: head.size }, (_, i) => i));
      const root = Buffer.from(head.root, 'base64');
      for (const index of [0, start, head.size - 1]) {
        const p = await core.audit.inclusionProof(index, head.size);
        expect(verifyInclusion(Buffer.from(p.leafHash, 'base64'), index, head.size, p.proof.map((h) => Buffer.from(h, 'base64')), root)).toBe(true);
      }
      const c = await core.audit.consistencyProof(start, head.size);
      expect(verifyConsistency(start, head.size, c.proof.map((h) => Buffer.from(h, 'base64')), Buffer.from(await core.audit.rootAt(start), 'base64'), root)).toBe(true);
    });
  });
}
