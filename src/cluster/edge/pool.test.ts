/** @module The edge's pool of message arrays: reuse by size, the bound, and arrays it did not make left alone. */
import { describe, expect, it } from 'vitest';
import { BufferPool } from './pool.js';

describe('BufferPool', () => {
  it('gives back an array of the asked length, reusing one given back of the same size class', () => {
    const pool = new BufferPool(1 << 20);
    const a = pool.take(100_000);
    expect(a.length).toBe(100_000);
    expect(a.buffer.byteLength).toBeGreaterThanOrEqual(100_000);
    expect(a.buffer.byteLength).toBeLessThanOrEqual(100_000 * 1.125);
    pool.give(a);
    expect(pool.size()).toBe(a.buffer.byteLength);
    const b = pool.take(99_000); // the same class
    expect(b.buffer).toBe(a.buffer);
    expect(b.length).toBe(99_000);
    expect(pool.size()).toBe(0);
    expect(pool.take(100_000).buffer).not.toBe(a.buffer); // taken: not handed out twice
  });

  it('keeps at most its bound for reuse, and never an array it did not make', () => {
    const pool = new BufferPool(300_000);
    const arrays = [pool.take(100_000), pool.take(100_000), pool.take(100_000)];
    for (const a of arrays) pool.give(a);
    expect(pool.size()).toBeLessThanOrEqual(300_000);
    expect(pool.size()).toBe(2 * arrays[0]!.buffer.byteLength);
    const foreign = new Uint8Array(70_000);
    const before = pool.size();
    pool.give(foreign); // not a size class: left to the collector
    pool.give(new Uint8Array(new ArrayBuffer(4096 * 2), 4096, 4096)); // a view into another array
    // Of a size class, at offset 0, but not the pool's: e.g. a small Buffer at the start of Node's shared 8 KiB slab,
    // which other Buffers share — reusing it would overwrite theirs.
    pool.give(new Uint8Array(8192));
    pool.give(new Uint8Array(4096));
    expect(pool.size()).toBe(before);
  });

  it('takes an array back once: given back twice, it is still lent to one message at a time', () => {
    const pool = new BufferPool(1 << 20);
    const a = pool.take(5000);
    pool.give(a);
    pool.give(a);
    expect(pool.size()).toBe(a.buffer.byteLength);
    const [x, y] = [pool.take(5000), pool.take(5000)];
    expect(x.buffer).toBe(a.buffer);
    expect(y.buffer).not.toBe(a.buffer);
  });
});
