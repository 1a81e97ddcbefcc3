/** @module Tests of per-recipient marks: valid STIX, reversible ids, distinct copies, and tracing a single object among 100 recipients. */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildDraftObjects } from './drafts.js';
import { compareMarks, markId, markObject, recipientKey, unmarkId, type JsonObject } from './fingerprint.js';
import { formatPattern, parsePattern, parseStixObject, stixId } from './stix/index.js';
import { officialErrors } from './test-support/stix-schemas.js';

const master = randomBytes(32);
const { objects } = buildDraftObjects(
  { title: 'C2 servers', description: 'Beaconing seen from several operators.', indicators: [{ kind: 'ipv4', value: '203.0.113.7' }, { kind: 'domain', value: 'c2.example' }, { kind: 'sha256', value: 'a'.repeat(64) }], tlp: 'amber', labels: ['c2', 'beacon', 'apt-x', 'botnet'], confidence: 70, validDays: 30 },
  { operatorNames: [], sectorNames: [] }, new Date('2026-04-01T00:00:00.123Z'),
);

describe('markId', () => {
  it('is a permutation of version-4 ids: reversible with the key, still a valid id', () => {
    fc.assert(fc.property(fc.uuid({ version: 4 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (uuid, key) => {
      const id = `indicator--${uuid}`;
      const marked = markId(key, id);
      expect(marked).toMatch(/^indicator--[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(unmarkId(key, marked)).toBe(id);
    }));
  });

  it('leaves TLP markings and deterministic ids alone', () => {
    const key = recipientKey(master, 'u1');
    expect(markId(key, 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421')).toBe('marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421');
    expect(markId(key, 'ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd')).toBe('ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd');
  });
});

describe('markObject', () => {
  it('gives every recipient a different copy that is valid STIX 2.1 (ours and the official schemas) and means the same', () => {
    const a = markObject(recipientKey(master, 'alice'), objects[0] as unknown as JsonObject);
    const b = markObject(recipientKey(master, 'bob'), objects[0] as unknown as JsonObject);
    expect(a['id']).not.toBe(b['id']);
    expect(a['created']).not.toBe(objects[0]!.created);
    for (const copy of [a, b]) {
      expect(parseStixObject(copy).ok).toBe(true);
      expect(officialErrors(copy)).toEqual([]);
      expect(String(copy['modified']) >= String(copy['created'])).toBe(true);
      const a1 = parsePattern(String(copy['pattern']));
      const a0 = parsePattern(String((objects[0] as unknown as JsonObject)['pattern']));
      expect(a1.ok && a0.ok && formatPattern(a1.value) === formatPattern(a0.value)).toBe(true);
      expect(String(copy['created']).slice(0, 23)).toBe(String((objects[0] as unknown as JsonObject)['created']).slice(0, 23));
    }
  });

  it('is deterministic and maps references consistently (the report points at the recipient\'s indicator ids)', () => {
    const key = recipientKey(master, 'carol');
    const report = markObject(key, objects.at(-1) as unknown as JsonObject);
    const ind = markObject(key, objects[0] as unknown as JsonObject);
    expect(report['object_refs']).toContain(ind['id']);
    expect(markObject(key, objects[0] as unknown as JsonObject)).toEqual(ind);
  });
});

describe('tracing a single leaked object among 100 recipients', () => {
  const recipients = Array.from({ length: 100 }, (_, i) => `user-${i}`);
  const keys = recipients.map((u) => recipientKey(master, u));
  const score = (leaked: JsonObject, canonical: JsonObject) => keys.map((k, i) => {
    const ev = compareMarks(leaked, markObject(k, canonical));
    return { i, net: ev.reduce((s, e) => s + (e.matched ? e.bits : -e.bits), 0) };
  }).sort((x, y) => y.net - x.net);

  it('names the right recipient for every object and every recipient', () => {
    for (const canonical of objects as unknown as JsonObject[]) {
      for (let i = 0; i < 100; i += 7) {
        const ranked = score(markObject(keys[i]!, canonical), canonical);
        expect(ranked[0]!.i).toBe(i);
        expect(ranked[0]!.net).toBeGreaterThan(100);
        expect(ranked[1]!.net).toBeLessThan(0);
      }
    }
  });

  it('still names the recipient when the id is re-minted (timestamps, reference, order remain)', () => {
    const canonical = objects[0] as unknown as JsonObject;
    const copy = markObject(keys[42]!, canonical);
    const stripped = { ...copy, id: stixId('indicator') };
    const ranked = score(stripped, canonical);
    expect(ranked[0]!.i).toBe(42);
    expect(ranked[0]!.net - ranked[1]!.net).toBeGreaterThan(30);
  });
});
