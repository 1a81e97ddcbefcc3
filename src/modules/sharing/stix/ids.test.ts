/** @module Tests of STIX identifiers: UUIDv4 ids and the deterministic UUIDv5 ids of cyber-observables. */
import { describe, expect, it } from 'vitest';
import { canonicalJson, scoId, stixId, uuidV5 } from './ids.js';

describe('stixId', () => {
  it('makes type--UUIDv4 ids, different each time', () => {
    const a = stixId('indicator');
    expect(a).toMatch(/^indicator--[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(stixId('indicator')).not.toBe(a);
  });

  it.each(['', 'ab', 'Indicator', 'x_thing', '-abc', 'a b c'])('rejects the type name %j', (type) => {
    expect(() => stixId(type)).toThrow(/type name/);
  });
});

describe('uuidV5', () => {
  it('matches the RFC 9562 / Python uuid5 vector', () => {
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'python.org')).toBe('886313e1-3b8a-5372-9b90-0c9aee199e5d');
  });

  it('rejects a namespace that is not a UUID', () => {
    expect(() => uuidV5('not-a-uuid', 'x')).toThrow();
  });
});

describe('scoId', () => {
  it('matches the ids other STIX producers derive (STIX 2.1 errata example and python-stix2)', () => {
    expect(scoId({ type: 'domain-name', value: 'example.com' })).toBe('domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7');
    expect(scoId({ type: 'ipv4-addr', value: '198.51.100.3' })).toBe('ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4');
  });

  it('depends only on the ID contributing properties, in any key order', () => {
    const a = scoId({ type: 'network-traffic', src_port: 1, dst_port: 443, protocols: ['tcp'], is_active: true });
    const b = scoId({ type: 'network-traffic', protocols: ['tcp'], dst_port: 443, src_port: 1, is_active: false });
    expect(a).toBe(b);
    expect(scoId({ type: 'network-traffic', src_port: 2, dst_port: 443, protocols: ['tcp'] })).not.toBe(a);
  });

  it('falls back to UUIDv4 when no contributing property is present', () => {
    expect(scoId({ type: 'process', pid: 4 })).toMatch(/^process--[0-9a-f]{8}-[0-9a-f]{4}-4/);
    expect(scoId({ type: 'file', name: 'a.exe' })).toMatch(/^file--[0-9a-f]{8}-[0-9a-f]{4}-4/);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth, keeps array order and escapes like JSON', () => {
    expect(canonicalJson({ z: [2, 1], a: { y: true, x: 'v"\n' }, u: undefined })).toBe('{"a":{"x":"v\\"\\n","y":true},"z":[2,1]}');
  });
});
