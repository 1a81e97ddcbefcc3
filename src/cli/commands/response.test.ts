/** @module `mamori measures artifact`: the system builds the artifact of measures in force, writes it atomically, skips an unchanged ETag, and every read is audited. */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '#server/core.js';
import { commissionDecides, responseCore, sinkhole, type cast } from '#modules/response/test-support/fixtures.js';
import { systemContext } from '#platform/context/index.js';
import { measureLine, writeArtifact } from './response.js';

describe('mamori measures', () => {
  let core: Core;
  let p: ReturnType<typeof cast>;
  beforeAll(async () => {
    ({ core, people: p } = await responseCore());
    const m = await core.response.proposeMeasure(p.analyst, sinkhole(['c2.cli.example'], 'JP'));
    const s = await core.response.submitMeasure(p.director, m.id, { reason: 'Evidence sufficient.' });
    await commissionDecides(core, p, s.requestId!);
    await core.response.executeMeasure(p.police, s.id, { reason: 'Resolvers updated.' });
  });
  afterAll(async () => { await core.close(); });

  it('writes the RPZ zone of measures in force atomically, and nothing when the ETag is unchanged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mamori-cli-rpz-'));
    const out = join(dir, 'mamori.rpz');
    const before = (await core.audit.head()).size;
    const first = await writeArtifact(core.response, 'rpz', out, undefined, () => { throw new Error('must write to the file'); });
    expect(first.written).toBe(true);
    const zone = readFileSync(out, 'utf8');
    expect(zone).toContain('c2.cli.example CNAME .');
    expect(zone).toContain('*.c2.cli.example CNAME .');
    expect(first.bytes).toBe(Buffer.byteLength(zone));
    expect(readdirSync(dir)).toEqual(['mamori.rpz']); // no temporary file left behind
    const again = await writeArtifact(core.response, 'rpz', out, first.etag, () => undefined);
    expect(again).toMatchObject({ written: false, etag: first.etag });
    const reads = (await core.audit.entries({ from: before, to: (await core.audit.head()).size })).filter((e) => e.action === 'artifact:read');
    expect(reads.map((e) => [e.actor.kind, e.actor.roles, e.object?.id, e.details.notModified])).toEqual([['system', [], 'rpz', false], ['system', [], 'rpz', true]]);
  });

  it('prints to standard output without a file, and refuses an unknown format before reading anything', async () => {
    let printed = '';
    const r = await writeArtifact(core.response, 'cidr', undefined, undefined, (s) => { printed += s; });
    expect(r.written).toBe(true);
    expect(printed.length).toBe(r.bytes);
    const mark = (await core.audit.head()).size;
    await expect(writeArtifact(core.response, 'bind', undefined, undefined, () => undefined)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('rpz, cidr, nft, json, stix') });
    expect((await core.audit.head()).size).toBe(mark);
  });

  it('lists measures as the system, one line each with state, kind, agency and targets', async () => {
    const list = (await core.response.listMeasures(systemContext('cli'), {})).items;
    expect(list).toHaveLength(1);
    expect(measureLine(list[0]!)).toMatch(/executing\s+dns_sinkhole\s+police\s+c2\.cli\.example/);
  });
});
