import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalBytes, canonicalize } from './jcs.js';

const fromBits = (hex: string): number => Buffer.from(hex, 'hex').readDoubleBE(0);

describe('RFC 8785 number serialization (Appendix B)', () => {
  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('0x%s serializes as %s', (bits, want) => {
    expect(canonicalize(fromBits(bits))).toBe(want);
  });

  it.each(['7fffffffffffffff', '7ff0000000000000', 'fff0000000000000'])('0x%s (NaN or Infinity) is rejected', (bits) => {
    expect(() => canonicalize([fromBits(bits)])).toThrow(expect.objectContaining({ code: 'BAD_REQUEST', message: expect.stringContaining('$[0]') }));
  });
});

describe('RFC 8785 examples', () => {
  it('canonicalizes the §3.2.2 sample', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    ) as unknown;
    expect(canonicalize(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts keys by UTF-16 code units (§3.2.3)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const order = Object.values(JSON.parse(canonicalize(input)) as Record<string, string>);
    expect(canonicalize(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
    // The emoji (a surrogate pair, 0xD83D…) sorts before U+FB33 although its code point is larger.
    expect(order.indexOf('Emoji: Grinning Face')).toBeLessThan(order.indexOf('Hebrew Letter Dalet With Dagesh'));
  });

  it('encodes as UTF-8 bytes', () => {
    expect(Buffer.from(canonicalBytes({ b: '€', a: 1 })).toString('hex')).toBe(Buffer.from('{"a":1,"b":"€"}').toString('hex'));
  });
});

describe('rejections', () => {
  it.each([
    ['undefined in an array', [1, undefined], '$[1]'],
    ['undefined property', { a: { b: undefined } }, '$.a.b'],
    ['a function', { f: () => 1 }, '$.f'],
    ['a symbol', [Symbol('x')], '$[0]'],
    ['a bigint', { n: 10n }, '$.n'],
    ['a Date', { at: new Date(0) }, '$.at'],
    ['a Map', new Map(), '$'],
    ['an unpaired surrogate', { s: 'a\ud800b' }, '$.s'],
    ['an unpaired surrogate key', { '\udc00': 1 }, '$.\udc00'],
  ])('rejects %s', (_what, value, path) => {
    expect(() => canonicalize(value)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST', details: [expect.objectContaining({ path })] }));
  });

  it('rejects cycles but accepts shared, acyclic references', () => {
    const shared = { x: 1 };
    expect(canonicalize({ a: shared, b: [shared] })).toBe('{"a":{"x":1},"b":[{"x":1}]}');
    const loop: Record<string, unknown> = {};
    loop['self'] = loop;
    expect(() => canonicalize(loop)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });

  it('accepts objects without a prototype', () => {
    const o = Object.create(null) as Record<string, unknown>;
    o['z'] = 1;
    o['a'] = null;
    expect(canonicalize(o)).toBe('{"a":null,"z":1}');
  });
});

describe('properties', () => {
  it('is a fixpoint: parsing the output and canonicalizing again gives the same text', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const once = canonicalize(v);
        expect(canonicalize(JSON.parse(once))).toBe(once);
      }),
    );
  });

  it('does not depend on key insertion order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'grapheme' }), fc.jsonValue()), (o) => {
        const reversed = Object.fromEntries(Object.entries(o).reverse());
        expect(canonicalize(reversed)).toBe(canonicalize(o));
      }),
    );
  });
});
