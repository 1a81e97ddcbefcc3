import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { writeAddress } from '#modules/collection/index.js';
import { createLocator, LOC_DOMESTIC, LOC_FOREIGN, parseCountryCsv, parseRirDelegated } from './geo.js';
import { mmdbCountryRanges, MmdbError, openMmdb } from './mmdb.js';
import { buildTable, lookupSlot, normalizeLayer, parsePrefix, type RangeSet } from './ranges.js';
import { DEFAULT_SPECIAL_RANGES, withOverrides } from './special-ranges.js';
import { bundledCountries } from './test-support/locator.js';
import { writeMmdb } from './test-support/mmdb-writer.js';

const locator = createLocator({ countrySources: [bundledCountries()], domesticPrefixes: ['198.51.100.0/25', '2001:db8:aa::/48'] });

describe('bundled country data (ip-location-db, NRO CC BY 4.0)', () => {
  it.each([
    ['8.8.8.8', 'foreign', 'US'],
    ['1.1.1.1', 'foreign', 'AU'], // the data lists APNIC's research prefix under AU
    ['1.0.16.1', 'domestic', 'JP'],
    ['133.1.1.1', 'domestic', 'JP'],
    ['2001:4860:4860::8888', 'foreign', 'US'],
    ['2606:4700:4700::1111', 'foreign', 'US'],
    ['240e::1', 'foreign', 'CN'],
    ['2001:2::1', 'ignore', undefined], // listed as JP in the data, but RFC 5180 benchmarking space wins
  ])('%s is %s (%s)', (addr, location, country) => {
    expect(locator.describe(addr)).toEqual({ location, country });
  });

  it('finds a JP IPv6 block of the data (2400:2000::/20 .. 2400:3000::/32)', () => {
    expect(locator.describe('2400:2000::1')).toEqual({ location: 'domestic', country: 'JP' });
    expect(locator.describe('2400:3000:ffff::1')).toEqual({ location: 'domestic', country: 'JP' });
    expect(locator.describe('2404:100::1')).toEqual({ location: 'foreign', country: 'CN' });
  });

  it('applies the special-range table and operator prefixes explicitly', () => {
    expect(locator.describe('10.2.3.4').location).toBe('domestic');
    expect(locator.describe('100.64.1.1').location).toBe('domestic');
    expect(locator.describe('127.0.0.1').location).toBe('ignore');
    expect(locator.describe('224.0.0.5').location).toBe('ignore');
    expect(locator.describe('255.255.255.255').location).toBe('ignore');
    expect(locator.describe('192.88.99.1').location).toBe('unknown');
    expect(locator.describe('fd00::1').location).toBe('domestic');
    expect(locator.describe('fe80::1').location).toBe('ignore');
    expect(locator.describe('64:ff9b::808:808').location).toBe('unknown');
    expect(locator.describe('2001:db8::1').location).toBe('ignore');
    // Operator prefixes win over everything, even a documentation range.
    expect(locator.describe('198.51.100.7')).toEqual({ location: 'domestic', country: 'JP' });
    expect(locator.describe('198.51.100.200').location).toBe('ignore');
    expect(locator.describe('2001:db8:aa::1').location).toBe('domestic');
    expect(locator.describe('2001:db8:ab::1').location).toBe('ignore');
  });

  it('reads the slot of a FlowBatch directly', () => {
    const slot = new Uint8Array(32);
    writeAddress(slot, 16, '8.8.8.8');
    expect(locator.locate(slot, 16)).toBe(LOC_FOREIGN);
    writeAddress(slot, 0, '10.0.0.1');
    expect(locator.locate(slot, 0)).toBe(LOC_DOMESTIC);
  });

  it('treats unlisted space as unknown unless configured otherwise, and lets the table be changed', () => {
    const bare = createLocator({ countrySources: [{ v4: [{ start: 0x08080800, end: 0x080808ff, value: ('U'.charCodeAt(0) << 8) | 'S'.charCodeAt(0) }], v6: [] }] });
    expect(bare.describe('9.9.9.9').location).toBe('unknown');
    const foreign = createLocator({ countrySources: [], unlisted: 'foreign', specialRanges: withOverrides({ '192.0.2.0/24': 'domestic' }) });
    expect(foreign.describe('9.9.9.9').location).toBe('foreign');
    expect(foreign.describe('192.0.2.9').location).toBe('domestic');
    expect(() => withOverrides({ '192.0.2.0/23': 'domestic' })).toThrow(/not in the table/);
    expect(() => createLocator({ countrySources: [], specialRanges: [...DEFAULT_SPECIAL_RANGES, { prefix: '10.1.0.0/16', name: 'x', treatment: 'ignore', rfc: '' }] })).toThrow(/overlap/);
  });
});

describe('range tables', () => {
  it('a nested row wins over the row around it (the data has such rows)', () => {
    const { ranges } = parseCountryCsv('37405696,37406207,DE\n37405967,37405967,BE\n37405968,37406207,DE\n', 4);
    const norm = normalizeLayer(ranges.v4);
    expect(norm.map((r) => [r.start, r.end])).toEqual([[37405696, 37405966], [37405967, 37405967], [37405968, 37406207]]);
  });

  it('lookups agree with a linear scan (property)', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.nat(0xffffffff), fc.nat(5000), fc.nat(9)), { maxLength: 40 }),
      fc.array(fc.nat(0xffffffff), { minLength: 1, maxLength: 50 }),
      (rows, probes) => {
        const set: RangeSet = { v4: rows.map(([s, len, v]) => ({ start: s, end: Math.min(0xffffffff, s + len), value: v + 1 })), v6: [] };
        const norm = normalizeLayer(set.v4);
        const table = buildTable([set]);
        const slot = new Uint8Array(16);
        for (const x of [...probes, ...rows.map((r) => r[0])]) {
          writeAddress(slot, 0, `${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`);
          const want = norm.find((r) => r.start <= x && x <= r.end)?.value ?? 0;
          expect(lookupSlot(table, slot, 0, 0)).toBe(want);
        }
      },
    ));
  });

  it('refuses prefixes with host bits set or a bad length', () => {
    expect(parsePrefix('10.0.0.1/8')).toBeUndefined();
    expect(parsePrefix('10.0.0.0/33')).toBeUndefined();
    expect(parsePrefix('2001:db8::/129')).toBeUndefined();
    expect(parsePrefix('::ffff:10.0.0.0/104')).toEqual({ family: 4, start: 0x0a000000, end: 0x0affffff });
  });
});

describe('RIR delegated-extended statistics', () => {
  const file = [
    '2|apnic|20260101|4|19830613|20251231|+1000',
    'apnic|*|ipv4|*|2|summary',
    'apnic|JP|ipv4|1.0.16.0|4096|20110412|allocated|A91A7381',
    'apnic|CN|ipv4|1.0.1.0|768|20110414|allocated|A92E1062',
    'apnic||ipv4|1.0.64.0|256||available|',
    'apnic|JP|ipv6|2001:200::|32|19990813|allocated|A91A7381',
    'apnic|JP|asn|173|1|20020801|allocated|A91A7381',
    'apnic|JP|ipv4|1.2.3.0|x|20110412|allocated|',
  ].join('\n');

  it('keeps delegated blocks with their country and overrides weaker sources', () => {
    const rir = parseRirDelegated(file);
    expect(rir.records).toBe(3);
    expect(rir.rejected).toBe(1);
    const loc = createLocator({ countrySources: [rir.ranges, bundledCountries()] });
    expect(loc.describe('1.0.31.255')).toEqual({ location: 'domestic', country: 'JP' });
    expect(loc.describe('1.0.2.1')).toEqual({ location: 'foreign', country: 'CN' });
    // The bundled data says AU for 2001:200::/32; the RIR file (listed first) says JP and wins.
    expect(loc.describe('2001:200::1')).toEqual({ location: 'domestic', country: 'JP' });
  });
});

describe('MaxMind DB reader', () => {
  const entries = [
    { prefix: '8.8.8.0/24', record: { country: { iso_code: 'US' } } },
    { prefix: '133.0.0.0/8', record: { country: { iso_code: 'JP' } } },
    { prefix: '133.5.0.0/16', record: { registered_country: { iso_code: 'JP' }, note: 'nested' } },
    { prefix: '2400:4000::/22', record: { country: { iso_code: 'JP' } } },
    { prefix: '2a00:1450::/32', record: { country: { iso_code: 'US' } } },
    { prefix: '2a03::/16', record: { country_code: 'DE' } },
  ];

  it.each([24, 28, 32] as const)('looks up and enumerates with %i-bit records', (recordSize) => {
    const db = openMmdb(writeMmdb(entries, { recordSize }));
    expect(db.metadata).toMatchObject({ recordSize, ipVersion: 6, databaseType: 'mamori-test' });
    const slot = new Uint8Array(16);
    writeAddress(slot, 0, '8.8.8.8');
    expect(db.lookup(slot, 0)).toEqual({ country: { iso_code: 'US' } });
    writeAddress(slot, 0, '9.9.9.9');
    expect(db.lookup(slot, 0)).toBeUndefined();
    writeAddress(slot, 0, '2a03:2880::1');
    expect(db.lookup(slot, 0)).toEqual({ country_code: 'DE' });
    const loc = createLocator({ countrySources: [mmdbCountryRanges(db)] });
    expect(loc.describe('8.8.8.8')).toEqual({ location: 'foreign', country: 'US' });
    expect(loc.describe('133.5.1.1')).toEqual({ location: 'domestic', country: 'JP' });
    expect(loc.describe('133.200.1.1')).toEqual({ location: 'domestic', country: 'JP' });
    expect(loc.describe('2400:4000::1').location).toBe('domestic');
    expect(loc.describe('2a00:1450::1')).toEqual({ location: 'foreign', country: 'US' });
    expect(loc.describe('2a04::1').location).toBe('unknown');
  });

  it('reads an IPv4-only database', () => {
    const db = openMmdb(writeMmdb([{ prefix: '1.2.3.0/24', record: { country: { iso_code: 'FR' } } }], { ipVersion: 4, recordSize: 24 }));
    const slot = new Uint8Array(16);
    writeAddress(slot, 0, '1.2.3.4');
    expect(db.lookup(slot, 0)).toEqual({ country: { iso_code: 'FR' } });
    expect([...db.networks()]).toEqual([{ family: 4, start: 0x01020300n, end: 0x010203ffn, record: { country: { iso_code: 'FR' } } }]);
  });

  it('rejects bytes that are not a MaxMind DB', () => {
    expect(() => openMmdb(new Uint8Array(100))).toThrow(MmdbError);
  });
});

