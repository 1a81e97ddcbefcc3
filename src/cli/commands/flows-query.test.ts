/** @module `mamori flows query`: options become an archive query, answers print as a table or JSON, and every query is audited with its purpose. */
import { statSync, truncateSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext } from '#platform/context/index.js';
import { appendFlow, createFlowBatch } from '#modules/collection/index.js';
import { listPartitions, liveFiles } from '#modules/selection/index.js';
import type { Core } from '#server/core.js';
import { createPipeline } from '#server/pipeline.js';
import { createTestCore } from '#server/test-support/harness.js';
import { flowQueryFromOptions, runFlowQuery } from './flows-query.js';

const NOW = Date.parse('2026-04-01T03:00:00.000Z');

describe('mamori flows query', () => {
  const clock = new ManualClock(NOW);
  let core: Core;

  beforeAll(async () => {
    core = await createTestCore({ clock, config: { dataDir: mkdtempSync(join(tmpdir(), 'mamori-flows-query-')) } });
    const sys = systemContext('test');
    await core.selection.createBasis(sys, {
      kind: 'cross_border_approval', title: 'C2 investigation', createdBy: 'request-test', selectors: { foreignPrefixes: ['45.33.32.0/24'] },
      validFrom: '2026-03-31T00:00:00.000Z', validUntil: '2026-05-01T00:00:00.000Z', allowedFields: ['start', 'end', 'srcAddr', 'dstAddr', 'srcPort', 'dstPort', 'proto', 'bytes', 'packets'], retentionDays: 30,
    });
    const b = createFlowBatch(64);
    for (let i = 0; i < 30; i++) {
      appendFlow(b, { start: NOW - 2 * 3_600_000 + i * 60_000, end: NOW - 2 * 3_600_000 + i * 60_000 + 300, srcAddr: '133.87.201.77', dstAddr: i % 3 === 0 ? '45.33.32.10' : '45.33.32.156', srcPort: 40_000 + i, dstPort: 443, proto: 6, tcpFlags: 0x18, bytes: 600, packets: 5, samplingRate: 1, inIf: 1, outIf: 2, exporter: '' });
    }
    const pipeline = createPipeline(core);
    await pipeline.sink.write(b);
    await pipeline.flush(true);
  });
  afterAll(async () => { await core.close(); });

  it('turns options into a query: relative times, protocol names, grouping', () => {
    const q = flowQueryFromOptions({ purpose: 'case 7: C2 at 45.33.32.156', from: '3h', proto: 'tcp', port: '443', groupBy: 'foreignAddress,dstPort', basis: ['b1'] }, NOW);
    expect(q).toEqual({ purpose: 'case 7: C2 at 45.33.32.156', filters: { from: '2026-04-01T00:00:00.000Z', to: '2026-04-01T03:00:00.000Z', basisIds: ['b1'], port: 443, proto: 6 }, groupBy: ['foreignAddress', 'dstPort'] });
    expect(flowQueryFromOptions({ purpose: 'a purpose long enough', from: '2026-03-31', to: '2026-04-01T09:00:00+09:00' }, NOW).filters).toMatchObject({ from: '2026-03-31T00:00:00.000Z', to: '2026-04-01T00:00:00.000Z' });
    const code = (f: () => unknown) => { try { f(); return 'none'; } catch (e) { return (e as { code?: string }).code; } };
    expect(code(() => flowQueryFromOptions({}, NOW))).toBe('VALIDATION_FAILED');
    expect(code(() => flowQueryFromOptions({ purpose: 'a purpose long enough', groupBy: 'srcPseudonym' }, NOW))).toBe('VALIDATION_FAILED');
    expect(code(() => flowQueryFromOptions({ purpose: 'a purpose long enough', from: '2026-04-01T00:00:00' }, NOW))).toBe('VALIDATION_FAILED');
    expect(code(() => flowQueryFromOptions({ purpose: 'a purpose long enough', port: 'https' }, NOW))).toBe('VALIDATION_FAILED');
  });

  it('prints grouped counts and records the query with its purpose and the bases it read', async () => {
    let out = '';
    const before = (await core.audit.head()).size;
    const r = await runFlowQuery(core, { purpose: 'case 7: which C2 addresses were called', from: '6h', groupBy: 'foreignAddress' }, (s) => { out += s; });
    expect(r.rows).toBe(2);
    expect(out).toMatch(/foreignAddress\s+flows/);
    expect(out).toMatch(/45\.33\.32\.156\s+20/);
    expect(out).toMatch(/45\.33\.32\.10\s+10/);
    expect(out).not.toContain('133.87.201.77');
    const entries = await core.audit.entries({ from: before, to: (await core.audit.head()).size });
    const q = entries.filter((e) => e.action === 'flows:query');
    expect(q).toHaveLength(1);
    expect(q[0]!.details).toMatchObject({ groupBy: 'foreignAddress', rows: 2 });
    // The purpose is free text: the entry references it in the audit side table.
    expect((await core.audit.readText(String(q[0]!.details['purposeRef'])))?.text).toBe('case 7: which C2 addresses were called');
    expect(String(q[0]!.details['bases'])).not.toBe('');
  });

  it('prints JSON rows with pseudonyms, never a domestic address; a bad category changes nothing', async () => {
    let out = '';
    await runFlowQuery(core, { purpose: 'case 7: raw rows for the C2', from: '6h', foreignAddress: '45.33.32.10', json: true, limit: '5' }, (s) => { out += s; });
    const parsed = JSON.parse(out) as { rows: Record<string, unknown>[] };
    expect(parsed.rows).toHaveLength(5);
    expect(parsed.rows.every((x) => x['dst_addr'] === '45.33.32.10' && typeof x['src_pseudonym'] === 'string' && x['src_addr'] === null)).toBe(true);
    expect(out).not.toContain('133.87.201.77');
    const before = (await core.audit.head()).size;
    await expect(runFlowQuery(core, { purpose: 'case 7: raw rows for the C2', category: 'domestic' }, () => undefined)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((await core.audit.head()).size).toBe(before);
  });

  it('answers over an hour with a damaged file: the file set aside (audited), the answer printed with a warning naming it', async () => {
    const [p] = listPartitions(core.archive.dir);
    const [file] = liveFiles(p!.dir);
    truncateSync(file!, statSync(file!).size - 32);
    const before = (await core.audit.head()).size;
    let out = '';
    const r = await runFlowQuery(core, { purpose: 'case 7: which C2 addresses were called', from: '6h', groupBy: 'foreignAddress' }, (s) => { out += s; });
    expect(r.rows).toBe(0); // the hour's only file
    expect(out).toMatch(/^warning: the flows of basis=.+\/hour=.+\/damaged\/.+\.parquet are missing from this answer \(set aside .+: no Parquet magic/m);
    const entries = await core.audit.entries({ from: before, to: (await core.audit.head()).size });
    expect(entries.map((e) => [e.action, e.outcome])).toEqual([['archive:set-aside', 'success'], ['flows:query', 'success']]);
  });
});
