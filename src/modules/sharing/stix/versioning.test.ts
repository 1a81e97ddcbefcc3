/** @module Tests of STIX versioning: new versions, revocation, expiry and latest-version selection. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareTimestampText } from './timestamps.js';
import { isExpired, latestVersion, latestVersions, newVersion, revoke, type Versioned } from './versioning.js';

const ID = 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f';
const base = {
  type: 'indicator',
  spec_version: '2.1',
  id: ID,
  created: '2026-01-01T00:00:00.000Z',
  modified: '2026-01-02T00:00:00.000Z',
  created_by_ref: 'identity--f690c992-8e7d-4b9a-9303-3312616c0220',
  name: 'C2',
  valid_until: '2026-02-01T00:00:00Z',
};

describe('newVersion', () => {
  it('keeps id and created, applies changes and stamps modified with now', () => {
    const r = newVersion(base, { name: 'C2 server' }, new Date('2026-01-05T10:00:00.123Z'));
    expect(r).toEqual({ ok: true, value: { ...base, name: 'C2 server', modified: '2026-01-05T10:00:00.123Z' } });
  });

  it('moves modified strictly forward even when the clock is behind or equal', () => {
    expect(newVersion(base, {}, new Date('2025-01-01T00:00:00Z'))).toMatchObject({ ok: true, value: { modified: '2026-01-02T00:00:00.001Z' } });
    expect(newVersion(base, {}, new Date(base.modified))).toMatchObject({ ok: true, value: { modified: '2026-01-02T00:00:00.001Z' } });
    const fine = { ...base, modified: '2026-01-02T00:00:00.000900Z' };
    const r = newVersion(fine, {}, new Date('2026-01-02T00:00:00.000Z'));
    expect(r.ok && compareTimestampText(r.value.modified, fine.modified)).toBeGreaterThan(0);
  });

  it('always gives a strictly later modified (property)', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('2000-01-01Z'), max: new Date('2100-01-01Z'), noInvalidDate: true }), fc.date({ min: new Date('2000-01-01Z'), max: new Date('2100-01-01Z'), noInvalidDate: true }), (was, now) => {
        const r = newVersion({ ...base, created: '2000-01-01T00:00:00.000Z', modified: was.toISOString() }, {}, now);
        expect(r.ok && compareTimestampText(r.value.modified, was.toISOString())).toBeGreaterThan(0);
      }),
    );
  });

  it.each(['id', 'created', 'created_by_ref', 'type'] as const)('refuses to change %s', (key) => {
    const r = newVersion(base, { [key]: 'something-else' } as never, new Date('2026-03-01T00:00:00Z'));
    expect(r).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });

  it('gives revoked objects no new versions', () => {
    const revoked = revoke(base, new Date('2026-03-01T00:00:00Z'));
    expect(revoked).toMatchObject({ ok: true, value: { revoked: true, id: ID, modified: '2026-03-01T00:00:00.000Z' } });
    if (!revoked.ok) return;
    expect(newVersion(revoked.value, { name: 'again' }, new Date('2026-04-01T00:00:00Z'))).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    expect(revoke(revoked.value, new Date('2026-04-01T00:00:00Z')).ok).toBe(false);
  });
});

describe('isExpired', () => {
  it('is true from valid_until on', () => {
    expect(isExpired(base, new Date('2026-01-31T23:59:59.999Z'))).toBe(false);
    expect(isExpired(base, new Date('2026-02-01T00:00:00.000Z'))).toBe(true);
    expect(isExpired({ valid_until: '2026-02-01T00:00:00.0005Z' }, new Date('2026-02-01T00:00:00.000Z'))).toBe(false);
    expect(isExpired({}, new Date('2999-01-01T00:00:00Z'))).toBe(false);
  });
});

describe('latestVersion', () => {
  const v = (modified: string, name: string, id = ID): Versioned & { name: string } => ({ type: 'indicator', id, created: base.created, modified, name });
  const versions = [v('2026-01-02T00:00:00.000Z', 'a'), v('2026-01-03T00:00:00.000Z', 'b'), v('2026-01-03T00:00:00.0001Z', 'c'), v('2026-01-01T00:00:00.000Z', 'd')];

  it('picks the greatest modified, to sub-millisecond precision', () => {
    expect(latestVersion(versions)?.name).toBe('c');
    expect(latestVersion([])).toBeUndefined();
  });

  it('considers only the requested object', () => {
    const other = v('2027-01-01T00:00:00.000Z', 'other', 'indicator--00000000-0000-4000-8000-000000000000');
    expect(latestVersion([...versions, other], ID)?.name).toBe('c');
    expect(latestVersion([other, ...versions], ID)?.name).toBe('c');
    expect(latestVersion(versions, 'indicator--00000000-0000-4000-8000-000000000000')).toBeUndefined();
  });

  it('keeps the first seen on a tie and lists one latest version per object', () => {
    const tie = [v('2026-01-05T00:00:00.000Z', 'first'), v('2026-01-05T00:00:00.000Z', 'second')];
    expect(latestVersion(tie)?.name).toBe('first');
    const other = v('2026-01-01T00:00:00.000Z', 'other', 'indicator--00000000-0000-4000-8000-000000000000');
    expect(latestVersions([versions[0]!, other, ...versions.slice(1)]).map((x) => x.name)).toEqual(['c', 'other']);
  });
});
