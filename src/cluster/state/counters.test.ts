/** An edge's selection counters reach the centre's audit log once each: deltas per message, a retry under the same id, the leader's recorder appending one entry per message. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SelectionCounters } from '#modules/selection/index.js';
import { ManualClock } from '#platform/clock/index.js';
import { parseConfig } from '#platform/config/index.js';
import { createMemoryTransport, type Transport } from '#platform/transport/index.js';
import { centreStateJobs } from './centre.js';
import { counterTotals, createCountersReporter, edgeCountersStreamSpec, parseCountersMessage } from './counters.js';

const dir = mkdtempSync(join(tmpdir(), 'mamori-counters-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('edge counters to the centre\'s audit', () => {
  it('sends each count once, keeps a message unacknowledged for a retry under its id, and the recorder audits each message', async () => {
    const clock = new ManualClock('2026-03-10T00:00:00.000Z');
    const wrap = join(dir, 'wrap');
    writeFileSync(wrap, randomBytes(32), { mode: 0o600 });
    const config = parseConfig({ cluster: { servers: ['nats://127.0.0.1:1'], replicas: 1, keyWrapFile: wrap } });
    const memory = createMemoryTransport();
    await memory.ensureStream(edgeCountersStreamSpec(config.cluster));
    // A transport that fails the first publish after storing it (a lost acknowledgement), then works.
    const ids: string[] = [];
    let failNext = true;
    const flaky: Transport = { ...memory, publish: async (s, d, o) => { ids.push(o.msgId); const ack = await memory.publish(s, d, o); if (failNext) { failNext = false; throw new Error('timeout'); } return ack; } };
    const counters = new SelectionCounters(clock.nowMs());
    const gates = { droppedNoState: 0, droppedNoKey: 0 };
    const reporter = createCountersReporter({ edgeId: 'e1', run: 'r1' }, { transport: flaky, clock, timeoutMs: 1000, totals: () => counterTotals(counters, gates) });

    counters.add('x', 'outbound', 'kept', 5);
    counters.add('x', 'outbound', 'no_basis', 2);
    gates.droppedNoState = 7;
    await expect(reporter.report()).rejects.toThrow('timeout');
    counters.add('x', 'outbound', 'kept', 1); // counted meanwhile: goes in the next message
    await reporter.report(); // the same message again, same id: the stream stores it once
    await reporter.report(); // the delta since
    await reporter.report(); // nothing new: nothing sent
    expect(ids).toEqual(['e1.r1.counters.0', 'e1.r1.counters.0', 'e1.r1.counters.1']);
    expect(await memory.streamMessages('MAMORI_EDGE_COUNTERS')).toBe(2);

    const audited: { object: unknown; details: Record<string, unknown> }[] = [];
    const { jobs } = centreStateJobs({
      config, clock, keys: { keyFor: () => undefined }, replicaId: 'api-1', bases: () => ({ version: '0', bases: [] }), ranges: async () => [],
      audit: { record: async (_ctx: unknown, e: { object: unknown; details: Record<string, unknown> }) => { audited.push(e); } } as never,
      openTransport: async () => memory,
    });
    const recorder = jobs.find((j) => j.name === 'edge-counters-recorder')!;
    await recorder.start();
    for (let i = 0; i < 100 && audited.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    await recorder.stop();
    expect(audited.map((a) => a.object)).toEqual([{ type: 'selection_counters', id: 'e1.r1.counters.0' }, { type: 'selection_counters', id: 'e1.r1.counters.1' }]);
    expect(audited[0]!.details).toMatchObject({ kept_outbound: 5, dropped_outbound: 2, unselected_no_state: 7, edge: 'e1' });
    expect(audited[1]!.details).toMatchObject({ kept_outbound: 1, edge: 'e1' });
    expect(Object.keys(audited[1]!.details)).not.toContain('unselected_no_state');
  });

  it('reads only its own message shape: counts, never anything else', () => {
    const enc = (v: unknown): Uint8Array => Buffer.from(JSON.stringify(v));
    const ok = { v: 1, edge: 'e1', since: 'a', until: 'b', delta: { kept_outbound: 3 } };
    expect(parseCountersMessage(enc(ok))).toEqual(ok);
    expect(parseCountersMessage(enc({ ...ok, delta: { 'kept_outbound': 1.5 } }))).toBeUndefined();
    expect(parseCountersMessage(enc({ ...ok, delta: { exporter_192_0_2_1: 3 } }))).toBeUndefined();
    expect(parseCountersMessage(enc({ ...ok, v: 2 }))).toBeUndefined();
    expect(parseCountersMessage(Buffer.from('nope'))).toBeUndefined();
  });
});
