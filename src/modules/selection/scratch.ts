/**
 * @module Where a batch's typed arrays come from: new ones each time (`freshAlloc`, the default), or a Scratch that
 * carves them from buffers it keeps between uses. The archive's write thread writes one segment at a time with a
 * Scratch: new arrays for every segment were external memory V8 answered with a full collection every 1–2 s
 * (bench/ingest, `--trace-gc`), whose marking cost 0.3–0.5 µs a flow on V8's own threads.
 */

/** Zeroed typed arrays of `n` elements. */
export interface Alloc {
  u8(n: number): Uint8Array;
  u16(n: number): Uint16Array;
  u32(n: number): Uint32Array;
  f64(n: number): Float64Array;
}

/** New arrays each time. */
export const freshAlloc: Alloc = {
  u8: (n) => new Uint8Array(n), u16: (n) => new Uint16Array(n), u32: (n) => new Uint32Array(n), f64: (n) => new Float64Array(n),
};

const BLOCK = 16 << 20;

/**
 * Arrays carved from kept buffers, valid until the next `reset()`: one user at a time (the write thread's segment
 * write), which resets before each use. After the first uses it allocates nothing, whatever the sizes repeat.
 */
export class Scratch implements Alloc {
  readonly #blocks: ArrayBuffer[] = [];
  #block = 0;
  #at = 0;

  /** Every array handed out before is free again (their contents will be overwritten). */
  reset(): void {
    this.#block = 0;
    this.#at = 0;
  }

  /** Bytes the kept buffers hold. */
  get retainedBytes(): number {
    return this.#blocks.reduce((a, b) => a + b.byteLength, 0);
  }

  /**
   * The same buffers handed out without zeroing: for arrays the caller writes whole before reading (a segment read
   * back, sort keys, scattered columns) — zeroing ~270 bytes a row of those cost the write thread ~0.08 µs a flow.
   */
  readonly unzeroed: Alloc = {
    u8: (n) => { const [b, at] = this.#take(n, false); return new Uint8Array(b, at, n); },
    u16: (n) => { const [b, at] = this.#take(n * 2, false); return new Uint16Array(b, at, n); },
    u32: (n) => { const [b, at] = this.#take(n * 4, false); return new Uint32Array(b, at, n); },
    f64: (n) => { const [b, at] = this.#take(n * 8, false); return new Float64Array(b, at, n); },
  };

  #take(bytes: number, zero = true): [ArrayBuffer, number] {
    const need = (bytes + 7) & ~7; // every array starts 8-aligned, as a Float64Array must
    for (;;) {
      let b = this.#blocks[this.#block];
      if (b === undefined) {
        b = new ArrayBuffer(Math.max(need, BLOCK));
        this.#blocks.push(b);
      } else if (this.#at === 0 && b.byteLength < need) {
        b = new ArrayBuffer(need); // a larger array than this block: the block is replaced, not skipped for good
        this.#blocks[this.#block] = b;
      }
      if (this.#at + need <= b.byteLength) {
        const at = this.#at;
        this.#at += need;
        if (zero) new Uint8Array(b, at, bytes).fill(0);
        return [b, at];
      }
      this.#block++;
      this.#at = 0;
    }
  }

  u8(n: number): Uint8Array { const [b, at] = this.#take(n); return new Uint8Array(b, at, n); }
  u16(n: number): Uint16Array { const [b, at] = this.#take(n * 2); return new Uint16Array(b, at, n); }
  u32(n: number): Uint32Array { const [b, at] = this.#take(n * 4); return new Uint32Array(b, at, n); }
  f64(n: number): Float64Array { const [b, at] = this.#take(n * 8); return new Float64Array(b, at, n); }
}

/** Where to take arrays the caller fills whole before reading them: a Scratch's unzeroed buffers, or `mem` itself. */
export const unzeroed = (mem: Alloc): Alloc => (mem instanceof Scratch ? mem.unzeroed : mem);
