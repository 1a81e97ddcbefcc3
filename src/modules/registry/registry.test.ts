import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { systemContext } from '#platform/context/index.js';
import { createTestApp } from '#server/test-support/harness.js';
import { cidrContains, csvLine, normalizeCidr, parseCsv, planImport } from './index.js';

const HEADER = 'record,operator,name_ja,sector,designated_on,contact_name,contact_email,contact_phone,regimes,cidr,exporter_address,observation_domain,note';
const GOOD = [
  HEADER,
  'operator,Kanto Electric Power Co.,関東電力株式会社,electricity,2026-01-15,SOC desk,soc@kanto.example,+81 3 1111 2222,,,,,CSIRT',
  'contact,Kanto Electric Power Co.,,,,Night duty,night@kanto.example,,,,,,',
  'range,Kanto Electric Power Co.,,,,,,,,192.0.2.0/24,,,HQ',
  'range,Kanto Electric Power Co.,,,,,,,,2001:db8:10::/48,,,',
  'exporter,Kanto Electric Power Co.,,,,,,,,,198.51.100.1,256,"edge router, Tokyo"',
  'operator,Sakura Bank Ltd.,株式会社さくら銀行,finance,2026-02-01,Sec ops,secops@sakura.example,,nis2;circia,,,,',
  'range,Sakura Bank Ltd.,,,,,,,,203.0.113.0/25,,,',
].join('\n');

describe('registry CSV', () => {
  it('parses quoted cells and reports line numbers', () => {
    const r = parseCsv('a,b\n"x, y","he said ""hi"""\n\n"multi\nline",z\n');
    expect(r.records.map((x) => [x.line, x.cells])).toEqual([[1, ['a', 'b']], [2, ['x, y', 'he said "hi"']], [4, ['multi\nline', 'z']]]);
    expect(parseCsv('a\n"open').error).toEqual({ line: 2, message: 'a quoted field is not closed' });
    expect(csvLine(['=cmd()', 'a,b', -5, '+81 3 1234 5678', '+A1'])).toBe("'=cmd(),\"a,b\",-5,+81 3 1234 5678,'+A1");
  });

  it('round-trips any cells through csvLine and parseCsv', () => {
    fc.assert(fc.property(fc.array(fc.array(fc.string({ maxLength: 8 }).filter((s) => !/^[=+\-@]/.test(s)), { minLength: 2, maxLength: 4 }), { minLength: 1, maxLength: 5 }), (rows) => {
      const text = rows.map((r) => csvLine(r)).join('\n');
      const parsed = parseCsv(text).records.map((r) => r.cells);
      const expected = rows.filter((r) => !(r.length === 1 && r[0] === ''));
      expect(parsed).toEqual(expected.map((r) => r.map((c) => c.replace(/\r\n/g, '\n').replace(/\r(?!\n)/g, '\r'))).filter((r) => r.join('') !== '' || r.length > 1));
    }), { numRuns: 200 });
  });

  it('lists every error with its line before anything changes', () => {
    const bad = [
      HEADER,
      'operator,A Co.,,electricty,2026-01-15,SOC,soc@a.example,,,,,,',
      'operator,B Co.,,gas,15/01/2026,SOC,not-an-email,,eu,,,,',
      'range,B Co.,,,,,,,,10.0.0.0/33,,,',
      'range,Nobody Inc.,,,,,,,,10.0.0.0/8,,,',
      'exporter,C Co.,,,,,,,,,1.2.3,x,',
      'operator,C Co.,,oil,2026-01-01,SOC,soc@c.example,,,,,,',
      'frobnicate,C Co.,,,,,,,,,,,',
      'range,C Co.,,,,,,,,10.0.0.0/8',
    ].join('\n');
    const { errors } = planImport(bad);
    const got = errors.map((e) => `${e.line}:${e.field}`).sort();
    expect(got).toEqual(['2:sector', '3:contact_email', '3:designated_on', '3:regimes', '4:operator', '5:operator', '6:exporter_address', '6:observation_domain', '8:record', '9:(row)'].sort());
    expect(planImport('record,operator\n').errors.map((e) => e.field)).toContain('sector');
  });

  it('normalizes prefixes and matches addresses in them', () => {
    expect(normalizeCidr('2001:DB8::/32')).toBe('2001:db8::/32');
    expect(normalizeCidr('192.0.2.0/33')).toBeUndefined();
    expect(cidrContains('192.0.2.0/24', '192.0.2.200')).toBe(true);
    expect(cidrContains('192.0.2.0/24', '192.0.3.1')).toBe(false);
    expect(cidrContains('2001:db8:10::/48', '2001:db8:10:ffff::1')).toBe(true);
    expect(cidrContains('2001:db8:10::/48', '192.0.2.1')).toBe(false);
  });
});

describe('registry over HTTP', () => {
  let t: Awaited<ReturnType<typeof createTestApp>>;
  const call = (role: string, o: InjectOptions) => t.app.fastify.inject({ ...o, headers: { authorization: `Bearer ${(t.users.tokens as Record<string, string>)[role]}` } });
  beforeAll(async () => { t = await createTestApp(); });
  afterAll(async () => { await t.close(); });

  it('a dry run reports errors by line and changes nothing; a bad real import changes nothing either', async () => {
    const before = await t.core.registry.listOperators(systemContext('t'));
    const broken = `${GOOD}\nrange,Sakura Bank Ltd.,,,,,,,,300.0.0.0/8,,,`;
    const dry = await call('nco_director', { method: 'POST', url: '/api/v1/registry/import', payload: { csv: broken, dryRun: true } });
    expect(dry.statusCode).toBe(200);
    const r = (dry.json() as { result: { errors: { line: number; field: string }[]; applied: boolean } }).result;
    expect(r.applied).toBe(false);
    expect(r.errors).toEqual([{ line: 9, field: 'cidr', message: expect.any(String) }]);
    const real = await call('nco_director', { method: 'POST', url: '/api/v1/registry/import', payload: { csv: broken } });
    expect(real.statusCode).toBe(400);
    expect((real.json() as { details: { path: string }[] }).details[0]!.path).toBe('line 9.cidr');
    expect(await t.core.registry.listOperators(systemContext('t'))).toEqual(before);
    const names = (await t.core.identity.listOrgs(systemContext('t'))).map((o) => o.name);
    expect(names).not.toContain('Sakura Bank Ltd.');
  });

  it('imports all at once, exports the same file back, and re-importing changes nothing', async () => {
    const dry = await call('admin', { method: 'POST', url: '/api/v1/registry/import', payload: { csv: GOOD, dryRun: true } });
    expect((dry.json() as { result: { operators: { action: string }[] } }).result.operators.map((o) => o.action)).toEqual(['create', 'create']);
    const res = await call('admin', { method: 'POST', url: '/api/v1/registry/import', payload: { csv: GOOD } });
    expect(res.statusCode, res.body).toBe(200);
    expect((res.json() as { result: { applied: boolean; ranges: number; exporters: number } }).result).toMatchObject({ applied: true, ranges: 3, exporters: 1 });
    const exp = await call('admin', { method: 'GET', url: '/api/v1/registry/export' });
    expect(exp.headers['content-type']).toContain('text/csv');
    const ops = await t.core.registry.listOperators(systemContext('t'));
    const again = await call('admin', { method: 'POST', url: '/api/v1/registry/import', payload: { csv: exp.body } });
    expect(again.statusCode).toBe(200);
    const after = await t.core.registry.listOperators(systemContext('t'));
    const strip = (x: typeof ops) => x.map((o) => ({ ...o, ranges: o.ranges.map((r) => r.cidr), exporters: o.exporters.map((e) => [e.address, e.observationDomain, e.name]) }));
    expect(strip(after)).toEqual(strip(ops));
    const kanto = after.find((o) => o.name === 'Kanto Electric Power Co.')!;
    expect(kanto.contacts.map((c) => c.email)).toEqual(['soc@kanto.example', 'night@kanto.example']);
    expect(after.find((o) => o.name === 'Sakura Bank Ltd.')!.regimes).toEqual(['nis2', 'circia']);
  });

  it('lists sectors with their competent ministry (finance: FSA)', async () => {
    const res = await call('operator', { method: 'GET', url: '/api/v1/registry/sectors' });
    const sectors = (res.json() as { sectors: { sector: string; ministry: { code: string; ja: string } }[] }).sectors;
    expect(sectors).toHaveLength(15);
    expect(sectors.find((s) => s.sector === 'finance')!.ministry).toMatchObject({ code: 'FSA', ja: '金融庁' });
  });

  it('scopes reads and changes: operators see only themselves, a ministry only its sectors', async () => {
    const opOrg = t.users.orgs['Test Electric Power Co.']!;
    const des = await call('ministry', { method: 'POST', url: '/api/v1/registry/operators', payload: { orgId: opOrg, sector: 'electricity', designatedOn: '2026-01-10', contacts: [{ name: 'SOC', email: 'soc@test.example' }] } });
    expect(des.statusCode, des.body).toBe(201);
    const sakura = (await t.core.registry.listOperators(systemContext('t'))).find((o) => o.name === 'Sakura Bank Ltd.')!;
    // METI (electricity, gas, oil) may not designate a bank nor touch its ranges.
    expect((await call('ministry', { method: 'POST', url: '/api/v1/registry/operators', payload: { name: 'New Bank', sector: 'finance', designatedOn: '2026-01-10', contacts: [{ name: 'x', email: 'x@y.example' }] } })).statusCode).toBe(403);
    expect((await call('ministry', { method: 'POST', url: `/api/v1/registry/operators/${sakura.orgId}/ranges`, payload: { cidr: '10.9.0.0/16' } })).statusCode).toBe(404);
    expect((await call('ministry', { method: 'GET', url: `/api/v1/registry/operators/${sakura.orgId}` })).statusCode).toBe(404);
    const metiList = (await call('ministry', { method: 'GET', url: '/api/v1/registry/operators' })).json() as { items: { sector: string }[] };
    expect(metiList.items.every((o) => ['electricity', 'gas', 'oil'].includes(o.sector))).toBe(true);
    const own = (await call('operator', { method: 'GET', url: '/api/v1/registry/operators' })).json() as { items: { orgId: string }[] };
    expect(own.items.map((o) => o.orgId)).toEqual([opOrg]);
    expect((await call('operator', { method: 'GET', url: `/api/v1/registry/operators/${sakura.orgId}` })).statusCode).toBe(404);
    expect((await call('ministry', { method: 'POST', url: `/api/v1/registry/operators/${opOrg}/ranges`, payload: { cidr: '192.0.2.0/24', extra: true } })).statusCode).toBe(400);
    const added = await call('ministry', { method: 'POST', url: `/api/v1/registry/operators/${opOrg}/exporters`, payload: { address: '192.0.2.1', observationDomain: 7 } });
    expect(added.statusCode, added.body).toBe(201);
    const hit = await call('analyst', { method: 'GET', url: '/api/v1/registry/affected?address=203.0.113.9' });
    expect((hit.json() as { operators: { name: string }[] }).operators.map((o) => o.name)).toEqual(['Sakura Bank Ltd.']);
  });
});
