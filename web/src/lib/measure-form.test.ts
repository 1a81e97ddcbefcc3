import { describe, expect, it } from 'vitest';
import { checkMeasureForm, isAddress, isPrefix } from './measure-form.js';

const base = { title: 'Sinkhole the C2', summary: 'Beaconing every 60 s.', expectedEffect: 'Hosts stop reaching the C2.', domains: 'c2.example', targetCountry: '' };

describe('the measure form checks each field as the response API does', () => {
  it('passes a complete sinkhole, block, takedown and neutralization', () => {
    expect(checkMeasureForm('dns_sinkhole', 'police', base)).toEqual({});
    expect(checkMeasureForm('block', 'police', { ...base, prefixes: '203.0.113.0/24 2001:db8::/32, 198.51.100.7' })).toEqual({});
    expect(checkMeasureForm('takedown_notice', 'police', { ...base, urls: 'https://bad.example/x', hostName: 'Hoster', abuse: 'abuse@hoster.example', asn: '64500' })).toEqual({});
    expect(checkMeasureForm('access_neutralize', 'police', { ...base, address: '203.0.113.9', ports: '443, 8443', description: 'The panel.' })).toEqual({});
  });

  it('names every empty required field, and the SDF grounds only for the SDF', () => {
    const empty = checkMeasureForm('dns_sinkhole', 'sdf', {});
    expect(Object.keys(empty).sort()).toEqual(['domains', 'expectedEffect', 'graveRef', 'sdfReasons', 'summary', 'title']);
    expect(Object.values(empty).every((p) => p.code === 'required')).toBe(true);
    expect(checkMeasureForm('dns_sinkhole', 'police', base)['graveRef']).toBeUndefined();
  });

  it('points at the bad value of a list and refuses malformed entries', () => {
    expect(checkMeasureForm('dns_sinkhole', 'police', { ...base, domains: 'ok.example not_a_domain' })['domains']).toEqual({ code: 'domain', value: 'not_a_domain' });
    expect(checkMeasureForm('block', 'police', { ...base, prefixes: '203.0.113.0/33' })['prefixes']).toEqual({ code: 'prefix', value: '203.0.113.0/33' });
    const td = checkMeasureForm('takedown_notice', 'police', { ...base, urls: 'ftp://x', hostName: 'H', abuse: 'nobody', asn: '0' });
    expect(td).toMatchObject({ urls: { code: 'url', value: 'ftp://x' }, abuse: { code: 'email' }, asn: { code: 'asn' } });
    expect(checkMeasureForm('takedown_notice', 'police', { ...base, hostName: 'H', abuse: 'a@b.example' })['tdAddresses']).toEqual({ code: 'oneTarget' });
    expect(checkMeasureForm('access_neutralize', 'police', { ...base, address: '203.0.113.0/24', ports: '22 70000', description: 'x' })).toMatchObject({
      address: { code: 'address', value: '203.0.113.0/24' }, ports: { code: 'port', value: '70000' },
    });
    expect(checkMeasureForm('dns_sinkhole', 'police', { ...base, targetCountry: 'RUS' })['targetCountry']).toEqual({ code: 'country' });
    expect(checkMeasureForm('dns_sinkhole', 'police', { ...base, title: 'x'.repeat(301) })['title']).toEqual({ code: 'tooLong', max: 300 });
  });

  it('knows addresses and prefixes of both families', () => {
    for (const ok of ['192.0.2.1', '::1', '2001:db8::1', '::ffff:192.0.2.1']) expect(isAddress(ok), ok).toBe(true);
    for (const bad of ['256.0.0.1', '1.2.3', '2001:db8:::1', 'example.com', '1:2:3:4:5:6:7:8:9']) expect(isAddress(bad), bad).toBe(false);
    expect(isPrefix('2001:db8::/129')).toBe(false);
    expect(isPrefix('10.0.0.0/8')).toBe(true);
  });
});
