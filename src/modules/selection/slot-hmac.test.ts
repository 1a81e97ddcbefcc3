/** @module SlotHmac is node:crypto's HMAC-SHA-256, byte for byte, and the Pseudonymizer that uses it gives pseudonymOf's pseudonyms. */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { derivedKeyStore, pseudonymOf, Pseudonymizer, PSEUDONYM_BYTES } from './pseudonym.js';
import { SlotHmac } from './slot-hmac.js';

describe('SlotHmac', () => {
  it('equals createHmac(sha256) for any key (short, 32-byte, longer than a block) and any 16-byte slot (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 130 }), fc.uint8Array({ minLength: 16, maxLength: 48 }), fc.nat(32), (key, buf, at) => {
      const o = at % (buf.length - 15);
      const out = new Uint8Array(40);
      new SlotHmac(key).write(buf, o, out, 3, 32);
      expect(Buffer.from(out.subarray(3, 35)).toString('hex')).toBe(createHmac('sha256', key).update(buf.subarray(o, o + 16)).digest('hex'));
    }), { numRuns: 300 });
  });

  it('writes only the bytes asked for', () => {
    const out = new Uint8Array(20).fill(0xee);
    new SlotHmac(new Uint8Array(32).fill(7)).write(new Uint8Array(16), 0, out, 2, PSEUDONYM_BYTES);
    expect(out[0]).toBe(0xee);
    expect(out[1]).toBe(0xee);
    expect(out[18]).toBe(0xee);
  });
});

describe('Pseudonymizer', () => {
  it('gives pseudonymOf\'s pseudonym on a miss and on a cached hit, under each period\'s key', () => {
    const store = derivedKeyStore('slot-hmac-test-secret-slot-hmac-test');
    const p = new Pseudonymizer(store, 64);
    for (const period of ['2026-05', '2026-06']) {
      p.usePeriod(period);
      const key = store.keyFor(period, true)!;
      for (let n = 0; n < 200; n++) {
        const slot = new Uint8Array(16);
        slot[10] = 0xff; slot[11] = 0xff; slot[12] = 133; slot[13] = n % 50; slot[15] = n % 7;
        const got = new Uint8Array(PSEUDONYM_BYTES);
        const want = new Uint8Array(PSEUDONYM_BYTES);
        p.write(slot, 0, got, 0);
        pseudonymOf(key, slot, 0, want, 0);
        expect(got).toEqual(want);
      }
    }
  });

  it('keeps the last two periods whole: flows of two periods interleaved never rebuild a key or cache, and stay right', () => {
    const base = derivedKeyStore('slot-hmac-test-secret-slot-hmac-test');
    let keyLookups = 0;
    const store = { keyFor: (period: string, create: boolean) => { keyLookups++; return base.keyFor(period, create); } };
    const p = new Pseudonymizer(store, 64);
    const check = (period: string, n: number) => {
      p.usePeriod(period);
      const slot = new Uint8Array(16);
      slot[10] = 0xff; slot[11] = 0xff; slot[12] = 133; slot[13] = n % 40;
      const got = new Uint8Array(PSEUDONYM_BYTES);
      const want = new Uint8Array(PSEUDONYM_BYTES);
      p.write(slot, 0, got, 0);
      pseudonymOf(base.keyFor(period, true)!, slot, 0, want, 0);
      expect(got, `${period} #${n}`).toEqual(want);
    };
    // Around a rotation: flows of the old and the new day alternate, flow by flow.
    for (let n = 0; n < 1000; n++) check(n % 2 === 0 ? '2026-05-31' : '2026-06-01', n);
    expect(keyLookups).toBe(2);
    // A third period takes the older one's place; going back to it needs its key again.
    for (let n = 0; n < 100; n++) check(n % 2 === 0 ? '2026-06-01' : '2026-06-02', n);
    expect(keyLookups).toBe(3);
    check('2026-05-31', 7);
    expect(keyLookups).toBe(4);
    check('2026-06-02', 8); // kept as the other period
    expect(keyLookups).toBe(4);
  });

  it('refuses to pseudonymize before a period is set', () => {
    const p = new Pseudonymizer(derivedKeyStore('slot-hmac-test-secret-slot-hmac-test'));
    expect(() => p.write(new Uint8Array(16), 0, new Uint8Array(16), 0)).toThrow(/usePeriod/);
  });
});
