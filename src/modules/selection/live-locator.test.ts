import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLocatorFactory } from './geo.js';
import { createLiveLocator } from './live-locator.js';
import { buildTable, lookupSlot, overlayTable, type RangeSet } from './ranges.js';

const slotOf4 = (x: number): Uint8Array => { const s = new Uint8Array(16); s[10] = 0xff; s[11] = 0xff; s[12] = x >>> 24; s[13] = (x >>> 16) & 255; s[14] = (x >>> 8) & 255; s[15] = x & 255; return s; };
const slotOf6 = (x: bigint): Uint8Array => { const s = new Uint8Array(16); for (let i = 0; i < 16; i++) s[i] = Number((x >> BigInt(8 * (15 - i))) & 0xffn); return s; };

describe('overlayTable', () => {
  const r4 = fc.tuple(fc.integer({ min: 0, max: 4000 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 9 })).map(([s, len, v]) => ({ start: s, end: s + len, value: v }));
  const r6 = fc.tuple(fc.bigInt({ min: 0n, max: 4000n }), fc.bigInt({ min: 0n, max: 300n }), fc.integer({ min: 1, max: 9 })).map(([s, len, v]) => ({ start: (0x2001n << 112n) + s, end: (0x2001n << 112n) + s + len, value: v }));
  const set = (n: number) => fc.record({ v4: fc.array(r4, { maxLength: n }), v6: fc.array(r6, { maxLength: n }) }) as fc.Arbitrary<RangeSet>;

  it('answers every address as folding all the layers again would', () => {
    fc.assert(fc.property(set(40), set(40), set(8), (a, b, top) => {
      const fast = overlayTable(buildTable([a, b]), { v4: top.v4.map((r) => ({ ...r, value: r.value + 100 })), v6: top.v6.map((r) => ({ ...r, value: r.value + 100 })) });
      const fullTop = buildTable([a, b, { v4: top.v4.map((r) => ({ ...r, value: r.value + 100 })), v6: top.v6.map((r) => ({ ...r, value: r.value + 100 })) }]);
      for (let x = 0; x <= 4400; x += 7) {
        expect(lookupSlot(fast, slotOf4(x), 0, 0)).toBe(lookupSlot(fullTop, slotOf4(x), 0, 0));
        const y = (0x2001n << 112n) + BigInt(x);
        expect(lookupSlot(fast, slotOf6(y), 0, 0)).toBe(lookupSlot(fullTop, slotOf6(y), 0, 0));
      }
    }), { numRuns: 100 });
  });

  it('handles ranges at both ends of the address space', () => {
    const base = buildTable([{ v4: [{ start: 0, end: 0xffff_ffff, value: 1 }], v6: [{ start: 0n, end: (1n << 128n) - 1n, value: 1 }] }]);
    const t = overlayTable(base, { v4: [{ start: 0, end: 9, value: 2 }, { start: 0xffff_fff0, end: 0xffff_ffff, value: 3 }], v6: [{ start: (1n << 128n) - 16n, end: (1n << 128n) - 1n, value: 3 }] });
    expect([0, 9, 10, 0xffff_ffef, 0xffff_fff0, 0xffff_ffff].map((x) => lookupSlot(t, slotOf4(x), 0, 0))).toEqual([2, 2, 1, 1, 3, 3]);
    expect(lookupSlot(t, slotOf6((1n << 128n) - 1n), 0, 0)).toBe(3);
    expect(lookupSlot(t, slotOf6((1n << 128n) - 17n), 0, 0)).toBe(1);
  });
});

describe('live locator', () => {
  const US = ('U'.charCodeAt(0) << 8) | 'S'.charCodeAt(0);
  const factory = createLocatorFactory({ countrySources: [{ v4: [{ start: 0x2d000000, end: 0x2dffffff, value: US }], v6: [] }] });
  let builds = 0;
  const live = () => createLiveLocator((p) => { builds++; return factory.withDomestic(p); }, []);

  it('applies a change to the locator in force and tells subscribers what changed', () => {
    const l = live();
    expect(l.current().describe('45.76.10.1').location).toBe('foreign');
    const seen: unknown[] = [];
    const off = l.subscribe((c) => seen.push(c));
    const change = l.apply(['45.76.10.0/24']);
    expect(change).toMatchObject({ version: 1, added: ['45.76.10.0/24'], removed: [] });
    expect(l.current().describe('45.76.10.1').location).toBe('domestic');
    expect(l.current().describe('45.76.11.1').location).toBe('foreign');
    expect(l.apply(['45.76.10.0/24'])).toBeUndefined(); // unchanged: no rebuild, no notice
    l.apply([]);
    expect(l.current().describe('45.76.10.1').location).toBe('foreign');
    off();
    l.apply(['45.0.0.0/8']);
    expect(seen).toHaveLength(2);
  });

  it('holds prefixes as unknown until released, also over a rebuild, and builds lazily', () => {
    builds = 0;
    const l = live();
    const release = l.hold(['45.76.10.7/24']); // host bits set, as a registry may hold it: the network is held
    expect(builds).toBe(0);
    expect(l.current().describe('45.76.10.200').location).toBe('unknown');
    expect(l.current().hold).toBeDefined();
    l.apply(['45.76.10.0/24']);
    expect(l.current().describe('45.76.10.200').location).toBe('unknown');
    release();
    expect(l.current().describe('45.76.10.200').location).toBe('domestic');
    expect(l.current().hold).toBeUndefined();
    expect(() => l.hold(['nonsense'])).toThrow(/not a prefix/);
  });
});
