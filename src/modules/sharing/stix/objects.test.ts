/** @module Tests of the STIX 2.1 object schemas: OASIS examples round-trip, created objects pass the official JSON schemas, bad objects fail, TLP. */
import { readdirSync, readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  compareTlp,
  createBundle,
  createStixObject,
  exportStix,
  importStix,
  parseBundle,
  parseStixObject,
  TLP,
  TLP_EXTENSION_DEFINITION_ID,
  TLP_LEVELS,
  TLP_V1,
  tlpOf,
  tlpOfMarking,
  type MarkingDefinition,
  type StixObject,
} from './objects.js';

const STIX = new URL('../../../../../shared/testdata/stix/', import.meta.url);
const NOW = new Date('2026-03-01T12:34:56.789Z');

function jsonFiles(dir: URL): URL[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? jsonFiles(new URL(`${e.name}/`, dir)) : e.name.endsWith('.json') ? [new URL(e.name, dir)] : [],
  );
}

// The official schemas reference each other by relative $ref against their $id; load them all. Their
// patterns escape '-' outside classes, which only non-unicode regular expressions accept.
let ajv: Ajv2020;
const SCHEMA_BASE = 'http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/';

beforeAll(() => {
  ajv = new Ajv2020({ strict: false, allErrors: true, unicodeRegExp: false });
  const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: Ajv2020) => void;
  addFormats(ajv);
  ajv.addFormat('idn-hostname', true);
  for (const file of jsonFiles(new URL('schemas/', STIX))) ajv.addSchema(JSON.parse(readFileSync(file, 'utf8')) as object);
});

function officialValidator(type: string): ValidateFunction {
  const folder = ['relationship', 'sighting'].includes(type)
    ? 'sros'
    : ['marking-definition', 'bundle', 'extension-definition', 'language-content'].includes(type)
      ? 'common'
      : readdirSync(new URL('schemas/observables/', STIX)).includes(`${type}.json`)
        ? 'observables'
        : 'sdos';
  const v = ajv.getSchema(`${SCHEMA_BASE}${folder}/${type}.json`);
  if (v === undefined) throw new Error(`no official schema for ${type}`);
  return v;
}

function expectOfficiallyValid(o: { type: string }): void {
  const v = officialValidator(o.type);
  const valid = v(o);
  expect(v.errors ?? [], JSON.stringify(o)).toEqual([]);
  expect(valid).toBe(true);
}

function created(type: string, properties: Record<string, unknown>): StixObject {
  const r = createStixObject(type, properties, NOW);
  if (!r.ok) throw new Error(`${type}: ${JSON.stringify(r.error.details)}`);
  return r.value;
}

describe('the OASIS example bundles', () => {
  const files = jsonFiles(new URL('examples/', STIX));

  it('are all found', () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
  });

  it.each(files.map((f) => [f.pathname.split('/examples/')[1], f] as const))('%s is also valid under the official schemas', (_name, file) => {
    expectOfficiallyValid(JSON.parse(readFileSync(file, 'utf8')) as { type: string });
  });

  it.each(files.map((f) => [f.pathname.split('/examples/')[1], f] as const))('%s imports and exports to the same JSON', (_name, file) => {
    const text = readFileSync(file, 'utf8');
    const r = importStix(text);
    if (!r.ok) throw new Error(JSON.stringify(r.error.details));
    expect(JSON.parse(exportStix(r.value))).toEqual(JSON.parse(text));
  });
});

describe('objects we create', () => {
  let objects: StixObject[];

  beforeAll(() => {
    const identity = created('identity', { name: 'National Cybersecurity Office', identity_class: 'organization', sectors: ['government-national'] });
    const malware = created('malware', { name: 'ShadowPad', is_family: true, malware_types: ['backdoor'], first_seen: '2017-08-01T00:00:00Z' });
    const indicator = created('indicator', {
      name: 'C2 server',
      created_by_ref: identity.id,
      indicator_types: ['malicious-activity'],
      pattern: "[ipv4-addr:value = '198.51.100.7'] OR [network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 443]",
      pattern_type: 'stix',
      valid_from: '2026-03-01T00:00:00Z',
      valid_until: '2026-06-01T00:00:00Z',
      kill_chain_phases: [{ kill_chain_name: 'mitre-attack', phase_name: 'command-and-control' }],
      object_marking_refs: [TLP.AMBER.id],
      confidence: 80,
      lang: 'ja',
    });
    const attack = created('attack-pattern', { name: 'Phishing', external_references: [{ source_name: 'capec', external_id: 'CAPEC-98' }] });
    const infrastructure = created('infrastructure', { name: 'C2 cluster', infrastructure_types: ['command-and-control'] });
    const coa = created('course-of-action', { name: 'Block at the border', description: 'Add the address to the block list.' });
    const ip = created('ipv4-addr', { value: '198.51.100.3' });
    const relationship = created('relationship', { relationship_type: 'indicates', source_ref: indicator.id, target_ref: malware.id });
    const sighting = created('sighting', { sighting_of_ref: indicator.id, count: 3, where_sighted_refs: [identity.id], first_seen: '2026-03-01T00:00:00Z', last_seen: '2026-03-01T01:00:00Z' });
    const report = created('report', {
      name: 'Weekly intelligence',
      published: '2026-03-01T12:00:00Z',
      report_types: ['threat-report'],
      object_refs: [indicator.id, malware.id, relationship.id],
      granular_markings: [{ selectors: ['description'], marking_ref: TLP.RED.id }],
      description: 'restricted detail',
    });
    const statement = created('marking-definition', { definition_type: 'statement', definition: { statement: 'Copyright 2026 NCO' }, name: 'copyright' });
    objects = [identity, malware, indicator, attack, infrastructure, coa, ip, relationship, sighting, report, statement, ...Object.values(TLP), ...Object.values(TLP_V1)];
  });

  it('validate against the official JSON schemas, one by one', () => {
    for (const o of objects) expectOfficiallyValid(o);
  });

  it('are never accepted by us when the official schemas reject them, under random edits (property)', () => {
    const ids = ['identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', 'marking-definition--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', 'indicator--1', TLP.RED.id];
    const value = fc.oneof(
      fc.constantFrom<unknown>(
        'x',
        '',
        '2026-03-01T12:34:56Z',
        '2026-03-01T12:34:56.789Z',
        '2030-01-01T00:00:00.000Z',
        ...ids,
        -1,
        0,
        50,
        100,
        101,
        1.5,
        true,
        [],
        ['a'],
        [1],
        ids,
        {},
        { a: 1 },
        [{ source_name: 'cve', external_id: 'CVE-2026-0001' }],
        [{ source_name: 'x' }],
        [{ selectors: ['name'], marking_ref: TLP.RED.id }],
        [{ selectors: ['name'] }],
        { 'x-ext': { a: 1 } },
        { 'bad-key': { a: 1 } },
        [{ kill_chain_name: 'k', phase_name: 'p' }],
        [{ kill_chain_name: 'k' }],
        null,
      ),
      fc.string({ maxLength: 4 }),
    );
    const keys = [
      'id', 'spec_version', 'created', 'modified', 'created_by_ref', 'revoked', 'labels', 'confidence', 'lang', 'external_references',
      'object_marking_refs', 'granular_markings', 'extensions', 'name', 'description', 'pattern', 'valid_from', 'valid_until',
      'kill_chain_phases', 'is_family', 'object_refs', 'published', 'source_ref', 'target_ref', 'relationship_type', 'sighting_of_ref',
      'count', 'where_sighted_refs', 'first_seen', 'last_seen', 'value', 'definition', 'definition_type', 'x_custom', 'severity',
    ];
    const edit = fc.tuple(fc.constantFrom(...keys), value);
    fc.assert(
      fc.property(fc.nat(objects.length - 1), fc.array(edit, { minLength: 1, maxLength: 3 }), (index, edits) => {
        const mutated: Record<string, unknown> = { ...(objects[index] as Record<string, unknown>) };
        for (const [k, v] of edits) mutated[k] = v;
        if (parseStixObject(mutated).ok) expectOfficiallyValid(mutated as { type: string });
      }),
      { numRuns: 2000 },
    );
  });

  it('are checked by validators that do reject invalid objects', () => {
    const indicator = objects.find((o) => o.type === 'indicator') as Record<string, unknown>;
    const { pattern: _pattern, ...withoutPattern } = indicator;
    expect(officialValidator('indicator')(withoutPattern)).toBe(false);
    expect(officialValidator('indicator')({ ...indicator, created: '2026-03-01T12:34:56Z' })).toBe(false);
    expect(officialValidator('marking-definition')({ ...TLP_V1.RED, name: 'TLP:AMBER' })).toBe(false);
  });

  it('validate against the official bundle schema', () => {
    const bundle = createBundle(objects);
    if (!bundle.ok) throw new Error(JSON.stringify(bundle.error.details));
    expectOfficiallyValid(bundle.value);
    expect(bundle.value.id).toMatch(/^bundle--[0-9a-f-]{36}$/);
  });

  it('carry millisecond timestamps, the 2.1 spec version and ids of their type', () => {
    const o = objects[0] as Record<string, unknown>;
    expect(o).toMatchObject({ spec_version: '2.1', created: '2026-03-01T12:34:56.789Z', modified: '2026-03-01T12:34:56.789Z' });
    expect(o['id']).toMatch(/^identity--[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Cyber-observables get the deterministic UUIDv5 id every STIX producer derives for the same value.
    expect(objects.find((x) => x.type === 'ipv4-addr')?.id).toBe('ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4');
  });
});

describe('invalid objects are rejected with the field to fix', () => {
  const base = {
    type: 'indicator',
    spec_version: '2.1',
    id: 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f',
    created: '2026-01-01T00:00:00.000Z',
    modified: '2026-01-01T00:00:00.000Z',
    pattern: "[ipv4-addr:value = '198.51.100.1']",
    pattern_type: 'stix',
    valid_from: '2026-01-01T00:00:00Z',
  };

  it('accepts the base indicator', () => {
    expect(parseStixObject(base).ok).toBe(true);
    expectOfficiallyValid(base);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['id of another type', { id: 'malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f' }, 'id'],
    ['id without a UUID', { id: 'indicator--1234' }, 'id'],
    ['spec_version 2.0', { spec_version: '2.0' }, 'spec_version'],
    ['created without milliseconds', { created: '2026-01-01T00:00:00Z' }, 'created'],
    ['created with an offset', { created: '2026-01-01T00:00:00.000+09:00' }, 'created'],
    ['impossible date', { modified: '2026-02-30T00:00:00.000Z' }, 'modified'],
    ['modified before created', { modified: '2025-12-31T23:59:59.999Z' }, 'modified'],
    ['confidence over 100', { confidence: 101 }, 'confidence'],
    ['fractional confidence', { confidence: 50.5 }, 'confidence'],
    ['empty labels', { labels: [] }, 'labels'],
    ['created_by_ref to a non-identity', { created_by_ref: 'malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f' }, 'created_by_ref'],
    ['object_marking_refs to a non-marking', { object_marking_refs: ['identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f'] }, 'object_marking_refs.0'],
    ['external reference with only a source', { external_references: [{ source_name: 'acme' }] }, 'external_references.0'],
    ['malformed CVE reference', { external_references: [{ source_name: 'cve', external_id: 'CVE-16-1' }] }, 'external_references.0.external_id'],
    ['bad MD5 in a reference', { external_references: [{ source_name: 'x', url: 'https://example.com/', hashes: { MD5: 'zz' } }] }, 'external_references.0.hashes.MD5'],
    ['granular marking with both ref and lang', { granular_markings: [{ selectors: ['name'], marking_ref: TLP.RED.id, lang: 'en' }] }, 'granular_markings.0'],
    ['extension without extension_type', { extensions: { 'extension-definition--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f': { foo: 1 } } }, 'extensions'],
    ['reserved property', { severity: 'high' }, 'severity'],
    ['property name with capitals', { Custom_Prop: 1 }, 'Custom_Prop'],
    ['null value', { description: null }, 'description'],
    ['empty custom list', { x_tags: [] }, 'x_tags'],
    ['_hex property that is not hex', { x_key_hex: 'xyz' }, 'x_key_hex'],
    ['extension property with a short name', { extensions: { 'x-acme-ext': { ab: 1 } } }, 'extensions.x-acme-ext.ab'],
    ['invalid STIX pattern', { pattern: "[ipv4-addr:value = '1.2.3.4'" }, 'pattern'],
    ['valid_until not after valid_from', { valid_until: '2026-01-01T00:00:00Z' }, 'valid_until'],
    ['missing valid_from', { valid_from: undefined }, 'valid_from'],
  ])('%s', (_what, change, path) => {
    const input = { ...base, ...change };
    const r = parseStixObject(input);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('VALIDATION_FAILED');
    expect(r.error.details?.map((d) => d.path)).toContainEqual(expect.stringMatching(new RegExp(`^${path.replace(/\./g, '\\.')}`)));
  });

  it('does not echo the offending values', () => {
    const r = parseStixObject({ ...base, confidence: 'secret-value' });
    expect(JSON.stringify(!r.ok && r.error)).not.toContain('secret-value');
  });

  it('passes non-STIX patterns through unparsed', () => {
    expect(parseStixObject({ ...base, pattern_type: 'snort', pattern: 'alert tcp any any -> any 80 (msg:"x";)' }).ok).toBe(true);
  });

  it.each<[string, Record<string, unknown>]>([
    ['malware family without a name', { type: 'malware', spec_version: '2.1', id: 'malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', created: base.created, modified: base.created, is_family: true }],
    ['report without object_refs', { type: 'report', spec_version: '2.1', id: 'report--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', created: base.created, modified: base.created, name: 'r', published: base.valid_from, object_refs: [] }],
    ['sighting of a relationship', { type: 'sighting', spec_version: '2.1', id: 'sighting--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', created: base.created, modified: base.created, sighting_of_ref: 'relationship--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f' }],
    ['sighting count too large', { type: 'sighting', spec_version: '2.1', id: 'sighting--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', created: base.created, modified: base.created, sighting_of_ref: base.id, count: 1_000_000_000 }],
    ['relationship type with spaces', { type: 'relationship', spec_version: '2.1', id: 'relationship--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', created: base.created, modified: base.created, relationship_type: 'is related', source_ref: base.id, target_ref: base.id }],
    ['relationship to a bundle', { type: 'relationship', spec_version: '2.1', id: 'relationship--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', created: base.created, modified: base.created, relationship_type: 'indicates', source_ref: base.id, target_ref: 'bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f' }],
    ['identity without a name', { type: 'identity', spec_version: '2.1', id: 'identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', created: base.created, modified: base.created }],
    ['infrastructure seen last before first', { type: 'infrastructure', spec_version: '2.1', id: 'infrastructure--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', created: base.created, modified: base.created, name: 'i', first_seen: '2026-02-01T00:00:00Z', last_seen: '2026-01-01T00:00:00Z' }],
    ['campaign without a name', { type: 'campaign', spec_version: '2.1', id: 'campaign--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', created: base.created, modified: base.created }],
    ['ipv4-addr without a value', { type: 'ipv4-addr', id: 'ipv4-addr--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f' }],
    ['ipv4-addr holding a domain', { type: 'ipv4-addr', id: 'ipv4-addr--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', value: 'example.com' }],
    ['ipv6-addr holding an IPv4 address', { type: 'ipv6-addr', id: 'ipv6-addr--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', value: '198.51.100.1' }],
    ['domain-name with a space', { type: 'domain-name', id: 'domain-name--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', value: 'domain autuo.xicp.net' }],
    ['mac-addr in upper case', { type: 'mac-addr', id: 'mac-addr--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', value: '00:00:5E:00:53:01' }],
    ['TLP 1.0 marking with an extra property', { ...TLP_V1.WHITE, x_note: 'n' }],
    ['custom object with a bad type name', { type: 'X_Thing', id: 'X_Thing--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', created: base.created, modified: base.created, spec_version: '2.1' }],
    ['statement marking without text', { type: 'marking-definition', spec_version: '2.1', id: 'marking-definition--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', created: base.created, definition_type: 'statement', definition: {} }],
    ['TLP 1.0 marking under a new id', { ...TLP_V1.RED, id: 'marking-definition--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f' }],
    ['official TLP 2.0 id with the wrong level', { ...TLP.RED, extensions: { [TLP_EXTENSION_DEFINITION_ID]: { extension_type: 'property-extension', tlp_2_0: 'clear' } } }],
    ['marking with neither definition nor extension', { type: 'marking-definition', spec_version: '2.1', id: 'marking-definition--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', created: base.created }],
    ['a bundle inside a bundle', { type: 'bundle', id: 'bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f' }],
    ['not an object', [] as unknown as Record<string, unknown>],
  ])('rejects %s', (_what, input) => {
    expect(parseStixObject(input).ok).toBe(false);
  });

  it('accepts a custom x- object and keeps its properties', () => {
    const custom = { type: 'x-mamori-case', spec_version: '2.1', id: 'x-mamori-case--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', created: base.created, modified: base.created, x_case_ref: 'C-1' };
    const r = parseStixObject(custom);
    expect(r).toEqual({ ok: true, value: custom });
  });

  it('reports bundle member errors with their index', () => {
    const r = parseBundle({ type: 'bundle', id: 'bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', objects: [base, { ...base, confidence: -1 }] });
    expect(!r.ok && r.error.details?.map((d) => d.path)).toEqual(['objects.1.confidence']);
  });

  it('rejects text that is not JSON', () => {
    expect(importStix('{"type": "bundle",')).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });
});

describe('TLP', () => {
  it('has the five official TLP 2.0 marking definitions', () => {
    expect(Object.values(TLP).map((m) => [m.name, m.id])).toEqual([
      ['TLP:CLEAR', 'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487'],
      ['TLP:GREEN', 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb'],
      ['TLP:AMBER', 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421'],
      ['TLP:AMBER+STRICT', 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003'],
      ['TLP:RED', 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1'],
    ]);
    for (const m of Object.values(TLP)) {
      expect(m).toMatchObject({ created: '2022-10-01T00:00:00.000Z', extensions: { [TLP_EXTENSION_DEFINITION_ID]: { extension_type: 'property-extension' } } });
      expect(parseStixObject(m)).toEqual({ ok: true, value: m });
    }
  });

  it('orders the levels from clear to red', () => {
    const shuffled: (typeof TLP_LEVELS)[number][] = ['red', 'clear', 'amber+strict', 'green', 'amber'];
    expect(shuffled.sort(compareTlp)).toEqual(['clear', 'green', 'amber', 'amber+strict', 'red']);
    expect(compareTlp('amber+strict', 'amber')).toBeGreaterThan(0);
  });

  it('maps TLP 2.0 and 1.0 markings, white reading as clear', () => {
    expect(Object.values(TLP).map((m) => tlpOfMarking(m.id))).toEqual([...TLP_LEVELS]);
    expect(Object.values(TLP_V1).map((m) => tlpOfMarking(m))).toEqual(['clear', 'green', 'amber', 'red']);
    expect(tlpOfMarking('marking-definition--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f')).toBeUndefined();
  });

  it('takes the most restrictive marking of an object, granular ones included', () => {
    expect(tlpOf({ object_marking_refs: [TLP.GREEN.id, TLP_V1.AMBER.id, TLP.CLEAR.id] })).toBe('amber');
    expect(tlpOf({ object_marking_refs: [TLP.AMBER.id], granular_markings: [{ marking_ref: TLP.AMBER_STRICT.id }, {}] })).toBe('amber+strict');
    expect(tlpOf({ object_marking_refs: [TLP_V1.WHITE.id] })).toBe('clear');
    expect(tlpOf({})).toBeUndefined();
    expect(tlpOf({ object_marking_refs: ['marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ec'] })).toBeUndefined();
  });

  it('resolves a local TLP 2.0 marking through the definitions given', () => {
    const local: MarkingDefinition = { ...TLP.RED, id: 'marking-definition--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', name: 'local red' };
    expect(parseStixObject(local).ok).toBe(true);
    expect(tlpOf({ object_marking_refs: [local.id, TLP.GREEN.id] }, [local])).toBe('red');
    expect(tlpOf({ object_marking_refs: [local.id, TLP.GREEN.id] })).toBe('green');
  });

  it('reads the TLP of the OASIS interop example', () => {
    const text = readFileSync(new URL('examples/interop-objectmarking-test.json', STIX), 'utf8');
    const r = importStix(text);
    expect(r.ok && tlpOf(r.value as { object_marking_refs?: string[] })).toBe('red');
  });
});
