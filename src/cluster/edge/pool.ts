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
 * the broker acknowledged it (the client copied it into its socket buffer before sending).
 */
export class BufferPool {
  private readonly free = new Map<number, Uint8Array[]>();
  private freeBytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** An array of exactly `n` bytes (a view of a pooled one; contents undefined). */
  take(n: number): Uint8Array {
    const cap = capacityFor(n);
    const a = this.free.get(cap)?.pop();
    if (a === undefined) return new Uint8Array(cap).subarray(0, n);
    this.freeBytes -= cap;
    return a.subarray(0, n);
  }

  /** Gives back an array `take` returned, once nothing reads it; kept for reuse within the bound, else left to the collector. */
  give(a: Uint8Array): void {
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
