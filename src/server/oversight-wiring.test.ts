/** @module Oversight wired to the real selection and archive: a denied emergency acquisition loses its basis and its archived flows, and inspection reads the real holdings. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext, type RequestContext, type Role } from '#platform/context/index.js';
import { newId } from '#platform/ids/index.js';
import { appendFlow, createFlowBatch, type FlowRecord } from '#modules/collection/index.js';
import type { Core } from './core.js';
import { createPipeline } from './pipeline.js';
import { createTestCore } from './test-support/harness.js';

const person = (username: string, roles: Role[]): RequestContext => ({ actor: { kind: 'user', id: newId(), username, roles, orgId: null, sectors: [] }, requestId: `test-${username}` });

describe('oversight ↔ selection archive', () => {
  const clock = new ManualClock('2026-04-01T00:00:00.000Z');
  const director = person('director', ['nco_director']);
  const members = ['chair', 'c1', 'c2', 'c3', 'c4'].map((u) => person(u, ['commissioner']));
  let core: Core;

  beforeAll(async () => {
    core = await createTestCore({ clock, config: { dataDir: mkdtempSync(join(tmpdir(), 'mamori-wiring-')) } });
  });
  afterAll(async () => { await core.close(); });

  it('reports the hooks connected', () => {
    expect(core.oversight.connected()).toEqual({ basisIssuer: true, purger: true, halter: true, inventory: true });
  });

  it('an emergency acquisition the commission denies: basis revoked, archived flows purged, each deletion audited', async () => {
    const e = await core.oversight.recordEmergencyAction(director, {
      kind: 'acquisition', title: 'Ongoing DDoS against a railway operator', justification: 'Attack in progress; the commission cannot meet in time.', evidence: [],
      acquisition: { basisKind: 'transit_approval', selectors: { foreignPrefixes: ['45.33.32.0/24'], ports: [443] }, periodStart: '2026-04-01T00:00:00.000Z', periodEnd: '2026-04-20T00:00:00.000Z', purpose: 'Find the DDoS controller.', retentionDays: 30 },
    });
    expect(e.basisId).toBeTruthy();
    const basisId = e.basisId!;
    // Selection keeps transit flows under the provisional basis; the pipeline archives them across three hours.
    clock.set('2026-04-01T02:30:00.000Z');
    const pipeline = createPipeline(core);
    const batch = createFlowBatch(64);
    const t0 = Date.parse('2026-04-01T00:10:00.000Z');
    for (let i = 0; i < 40; i++) {
      const r: FlowRecord = { start: t0 + i * 180_000, end: t0 + i * 180_000 + 500, srcAddr: '45.33.32.156', dstAddr: '8.8.8.8', srcPort: 443, dstPort: 50_000 + i, proto: 6, tcpFlags: 0x18, bytes: 1500, packets: 3, samplingRate: 1, inIf: 1, outIf: 2, exporter: '192.0.2.1' };
      expect(appendFlow(batch, r)).toBe(true);
    }
    await pipeline.sink.write(batch);
    await pipeline.flush(true);
    expect(pipeline.stats()).toMatchObject({ received: 40, kept: 40, archived: 40 });
    const parts = core.archive.partitions().filter((p) => p.basis === basisId);
    expect(parts.length).toBe(3);

    // Inspection reads the real holdings and discard counters.
    const inv = await core.oversight.inspectInventory(members[0]!);
    expect(inv.connected).toBe(true);
    expect(inv.holdings).toEqual([expect.objectContaining({ basisId, flows: 40, partitions: 3, oldest: '2026-04-01T00:00:00.000Z', newest: '2026-04-01T02:00:00.000Z' })]);
    expect(inv.holdings[0]!.bytes).toBeGreaterThan(0);

    // The commission denies the emergency action.
    const mark = (await core.audit.head()).size;
    for (const m of members.slice(0, 3)) await core.oversight.castVote(m, e.reviewRequestId, { vote: 'deny', reasons: 'Not necessary: the attack had ended.' });
    await core.oversight.decideRequest(members[3]!, e.reviewRequestId);

    const basis = await core.selection.getBasis(systemContext('test'), basisId);
    expect(basis.status).toBe('revoked');
    expect(core.archive.partitions().filter((p) => p.basis === basisId)).toEqual([]);
    expect((await core.oversight.inspectInventory(members[0]!)).holdings).toEqual([]);
    const [halted] = (await core.oversight.listEmergencyActions(members[0]!)).items.filter((x) => x.id === e.id);
    expect(halted).toMatchObject({ status: 'halted', haltReason: 'denied', purgedFlows: 40 });

    const entries = await core.audit.entries({ from: mark, to: (await core.audit.head()).size });
    const deletions = entries.filter((x) => x.action === 'flows:purge');
    expect(deletions.map((x) => x.object?.id).sort()).toEqual(parts.map((p) => `basis=${p.basis}/hour=${p.hour}`).sort());
    expect(deletions.every((x) => x.legalBasis === basisId && x.outcome === 'success')).toBe(true);
    expect(deletions.reduce((s, x) => s + Number(x.details['flows']), 0)).toBe(40);
    expect(entries.find((x) => x.action === 'emergency:purge')?.details).toMatchObject({ basisId, flows: 40, partitions: 3, purger: true });

    // Flows of the revoked basis are no longer kept.
    clock.advance(60_000);
    const late = createFlowBatch(1);
    appendFlow(late, { start: clock.nowMs() - 1000, end: clock.nowMs() - 500, srcAddr: '45.33.32.156', dstAddr: '8.8.8.8', srcPort: 443, dstPort: 50_999, proto: 6, tcpFlags: 0x18, bytes: 1500, packets: 3, samplingRate: 1, inIf: 1, outIf: 2, exporter: '192.0.2.1' });
    await pipeline.sink.write(late);
    expect(pipeline.stats().kept).toBe(40);
  });

  it('refuses a purge without a usable basis id or reason, and without the right', async () => {
    const sys = systemContext('test');
    await expect(core.archive.purgeBasis(sys, '../keys', 'x')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(core.archive.purgeBasis(sys, 'basis-1', '  ')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(core.archive.purgeBasis(person('analyst', ['analyst']), 'basis-1', 'because')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await core.archive.purgeBasis(sys, 'no-such-basis', 'nothing held')).toMatchObject({ flows: 0, partitions: 0 });
  });
});
