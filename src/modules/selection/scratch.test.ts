import { describe, expect, it } from 'vitest';
import { Scratch } from './scratch.js';

describe('Scratch', () => {
  it('hands out zeroed, 8-aligned arrays that do not overlap until reset, then reuses its buffers', () => {
    const s = new Scratch();
    const a = s.u8(3).fill(7), b = s.f64(5).fill(1.5), c = s.u32(20_000_000).fill(9), d = s.u16(4).fill(2);
    for (const x of [a, b, c, d]) expect(x.byteOffset % 8).toBe(0);
    expect([...a]).toEqual([7, 7, 7]);
    expect([...b]).toEqual([1.5, 1.5, 1.5, 1.5, 1.5]);
    expect([...d]).toEqual([2, 2, 2, 2]);
    expect(c[0]).toBe(9);
    const kept = s.retainedBytes;
    s.reset();
    const a2 = s.u8(3), b2 = s.f64(5), c2 = s.u32(20_000_000), d2 = s.u16(4);
    expect([...a2, ...b2, ...d2].every((x) => x === 0)).toBe(true); // zeroed again
    expect(c2.every((x) => x === 0)).toBe(true);
    expect(a2.buffer).toBe(a.buffer); // the same buffers, no new allocation
    expect(s.retainedBytes).toBe(kept);
  });

  it('replaces a kept block that is smaller than a later, larger request', () => {
    const s = new Scratch();
    s.u8(100);
    s.reset();
    const big = s.u8(40 << 20);
    expect(big.length).toBe(40 << 20);
    expect(s.retainedBytes).toBeGreaterThanOrEqual(40 << 20);
  });
});
