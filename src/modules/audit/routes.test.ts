import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '#server/test-support/harness.js';
import { openCheckpoint, parseVerifierKey } from './checkpoint.js';
import { verifyConsistency, verifyInclusion } from './merkle.js';
import type { AuditEntry } from './log.js';

const b = (s: string) => Buffer.from(s, 'base64');

describe('audit routes', () => {
  let t: Awaited<ReturnType<typeof createTestApp>>;
  const get = (url: string, role?: keyof typeof t.users.tokens, headers: Record<string, string> = {}) =>
    t.app.fastify.inject({ method: 'GET', url, headers: { ...headers, ...(role !== undefined ? { authorization: `Bearer ${t.users.tokens[role]}` } : {}) } });

  beforeAll(async () => {
    t = await createTestApp({ config: { dataDir: mkdtempSync(join(tmpdir(), 'mamori-routes-')) } });
  });
  afterAll(async () => { await t.close(); });

  it('answers 404 before the first checkpoint, then serves it as JSON and as the note, with the public keys', async () => {
    expect((await get('/api/v1/audit/checkpoint')).json()).toMatchObject({ code: 'NOT_FOUND' });
    const cp = (await t.core.checkpointer.checkpointNow())!;
    const json = (await get('/api/v1/audit/checkpoint')).json();
    expect(json).toMatchObject({ size: cp.size, rootHash: cp.root, note: cp.note, origin: t.core.config.audit.origin });
    const text = await get('/api/v1/audit/checkpoint', undefined, { accept: 'text/plain' });
    expect(text.headers['content-type']).toMatch(/^text\/plain/);
    expect(text.body).toBe(cp.note);
    const keys = (await get('/api/v1/audit/keys')).json();
    expect(keys.witness).toBeNull();
    const logKey = parseVerifierKey(keys.log);
    expect(logKey.ok && openCheckpoint(text.body, logKey.value).ok).toBe(true);
  });

  it('gives commissioners every entry and other roles only their own, and audits each read', async () => {
    // Each role acts once (its own read), so every role has entries of its own.
    for (const role of ['operator', 'analyst'] as const) expect((await get('/api/v1/audit/entries?from=0&to=1', role)).statusCode).toBe(200);
    const { size } = await t.core.audit.head();
    const op = (await get(`/api/v1/audit/entries?from=0&to=${size}`, 'operator')).json();
    expect(op.scope).toBe('own');
    expect(op.entries.length).toBeGreaterThan(0);
    const operatorId = t.users.ctx.operator.actor.userId;
    expect(op.entries.every((e: AuditEntry) => (e.actor.userId ?? e.actor.id) === operatorId)).toBe(true);
    const { size: size2 } = await t.core.audit.head();
    expect(size2).toBe(size + 1); // the operator's read was recorded
    const all = (await get(`/api/v1/audit/entries?from=0&to=${size2 + 10}`, 'commissioner')).json();
    expect(all.scope).toBe('all');
    expect(all.entries.length).toBe(size2);
    expect(new Set(all.entries.map((e: AuditEntry) => e.actor.username)).size).toBeGreaterThan(2);
    const last = (await t.core.audit.entries({ from: size2, to: size2 + 1 }))[0]!;
    expect(last).toMatchObject({ action: 'audit:read-all', actor: { username: 'commissioner' }, details: { from: 0, count: size2 } });
  });

  it('rejects bad parameters with 400 VALIDATION_FAILED naming the parameter', async () => {
    const cases: [string, string][] = [
      ['/api/v1/audit/entries?from=-1', 'from'],
      ['/api/v1/audit/entries?from=5&to=2', 'to'],
      ['/api/v1/audit/entries?from=0&to=5000', 'to'],
      ['/api/v1/audit/entries?from=abc', 'from'],
      ['/api/v1/audit/proofs/inclusion?size=3', 'index'],
      ['/api/v1/audit/proofs/inclusion?index=1&leafHash=AAAA', 'index'],
      ['/api/v1/audit/proofs/inclusion?leafHash=AAAA', 'leafHash'],
      ['/api/v1/audit/proofs/inclusion?index=1&size=999999', 'size'],
      ['/api/v1/audit/proofs/inclusion?index=5&size=3', 'index'],
      ['/api/v1/audit/proofs/consistency?size2=3', 'size1'],
      ['/api/v1/audit/proofs/consistency?size1=4&size2=3', 'size1'],
      ['/api/v1/audit/proofs/consistency?size1=1&size2=0', 'size2'],
    ];
    for (const [url, param] of cases) {
      const r = await get(url, 'commissioner');
      expect(r.statusCode, url).toBe(400);
      expect(r.json(), url).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining(param) });
    }
  });

  it('serves inclusion proofs (by index or leaf hash) and consistency proofs that verify against the published checkpoints', async () => {
    const first = (await t.core.checkpointer.checkpointNow())!;
    await t.core.identity.createOrg(t.users.ctx.admin, { name: 'Another Org', kind: 'operator', sectors: ['gas'] });
    const second = (await t.core.checkpointer.checkpointNow())!;
    expect(second.size).toBeGreaterThan(first.size);
    const root = b(second.root);
    for (const index of [0, 1, Math.floor(second.size / 2), second.size - 1]) {
      const p = (await get(`/api/v1/audit/proofs/inclusion?index=${index}`)).json();
      expect(p).toMatchObject({ leafIndex: index, treeSize: second.size });
      expect(verifyInclusion(b(p.leafHash), index, second.size, p.proof.map(b), root)).toBe(true);
    }
    const byIndex = (await get(`/api/v1/audit/proofs/inclusion?index=3&size=${first.size}`)).json();
    const byHash = (await get(`/api/v1/audit/proofs/inclusion?leafHash=${encodeURIComponent(byIndex.leafHash)}&size=${first.size}`)).json();
    expect(byHash).toEqual(byIndex);
    expect(verifyInclusion(b(byHash.leafHash), 3, first.size, byHash.proof.map(b), b(first.root))).toBe(true);
    expect((await get(`/api/v1/audit/proofs/inclusion?leafHash=${encodeURIComponent(Buffer.alloc(32).toString('base64'))}`)).statusCode).toBe(404);
    const c = (await get(`/api/v1/audit/proofs/consistency?size1=${first.size}`)).json();
    expect(c).toMatchObject({ size1: first.size, size2: second.size });
    expect(verifyConsistency(first.size, second.size, c.proof.map(b), b(first.root), root)).toBe(true);
  });

  it('lists earlier checkpoints newest first, below ?before=, each with its signed note', async () => {
    const latest = (await t.core.checkpointer.checkpointNow())!;
    const all = (await get('/api/v1/audit/checkpoints')).json<{ checkpoints: { size: number; root: string; note: string; createdAt: string }[] }>().checkpoints;
    expect(all.length).toBeGreaterThanOrEqual(2);
    expect(all[0]).toMatchObject({ size: latest.size, root: latest.root, note: latest.note });
    expect(all.map((c) => c.size)).toEqual([...all.map((c) => c.size)].sort((x, y) => y - x));
    const older = (await get(`/api/v1/audit/checkpoints?before=${latest.size}&limit=1`)).json<{ checkpoints: { size: number }[] }>().checkpoints;
    expect(older).toEqual([expect.objectContaining({ size: all[1]!.size })]);
    for (const bad of ['limit=0', 'limit=101', 'before=x']) {
      expect((await get(`/api/v1/audit/checkpoints?${bad}`)).json(), bad).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
  });
});
