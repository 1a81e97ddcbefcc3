/** @module Byte arrays the edge encodes messages into, reused once the broker acknowledged them (no new memory per message). */

/** Sizes are rounded up to an eighth of their power of two (at most 12.5 % unused), from 4 KiB. */
function capacityFor(n: number): number {
  if (n <= 4096) return 4096;
  const step = 2 ** (Math.floor(Math.log2(n)) - 3);
  return Math.ceil(n / step) * step;
}

/**
 * A free list of byte arrays by capacity, holding at most `maxBytes`. Each encoded message was a new array: at
 * hundreds of thousands of flows a second that is external memory V8 answers with a full collection about every
 * second (bench/cluster's edge, --trace-gc). A message's array comes back only once nothing reads it any more:
 * the broker acknowledged it (every byte reached the broker; the socket, which wrote the array itself, holds it no longer).
 */
export class BufferPool {
  private readonly free = new Map<number, Uint8Array[]>();
  /**
   * The arrays handed out and not given back: only those are taken back, once. A foreign array of a size class (a small
   * Buffer at the start of Node's shared 8 KiB slab, which other Buffers share) or one given back twice (then lent to two
   * messages at once) would have its bytes overwritten under another reader.
   */
  private readonly lent = new WeakSet<ArrayBufferLike>();
  private freeBytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** An array of exactly `n` bytes (a view of a pooled one; contents undefined). */
  take(n: number): Uint8Array {
    const cap = capacityFor(n);
    let a = this.free.get(cap)?.pop();
    if (a === undefined) a = new Uint8Array(cap);
    else this.freeBytes -= cap;
    this.lent.add(a.buffer);
    return a.subarray(0, n);
  }

  /** Gives back an array `take` returned, once nothing reads it; kept for reuse within the bound, else left to the collector. */
  give(a: Uint8Array): void {
    if (!this.lent.has(a.buffer)) return;
    this.lent.delete(a.buffer);
    const whole = new Uint8Array(a.buffer, 0, a.buffer.byteLength);
    const cap = whole.length;
    if (a.byteOffset !== 0 || cap !== capacityFor(cap) || this.freeBytes + cap > this.maxBytes) return;
    let list = this.free.get(cap);
    if (list === undefined) this.free.set(cap, (list = []));
    list.push(whole);
    this.freeBytes += cap;
  }

  /** Bytes waiting for reuse. */
  size(): number { return this.freeBytes; }
}
