/** @module HMAC-SHA-256 of one 16-byte address slot under a fixed key, with the key's pad states computed once and nothing allocated per call: the pseudonym cache's miss path. */
import { createHash } from 'node:crypto';

/** SHA-256 round constants. @see FIPS 180-4 §4.2.2 */
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** SHA-256 initial hash value. @see FIPS 180-4 §5.3.3 */
const IV = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

/** One SHA-256 compression of the 16 words in `w[0..15]` (w is scratch of 64 words) onto `from`, into `to`. @see FIPS 180-4 §6.2.2 */
function compress(from: Uint32Array, w: Uint32Array, to: Uint32Array): void {
  for (let t = 16; t < 64; t++) {
    const x = w[t - 15]!, y = w[t - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) | 0;
  }
  let a = from[0]! | 0, b = from[1]! | 0, c = from[2]! | 0, d = from[3]! | 0, e = from[4]! | 0, f = from[5]! | 0, g = from[6]! | 0, h = from[7]! | 0;
  for (let t = 0; t < 64; t++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[t]! + w[t]!) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  to[0] = from[0]! + a; to[1] = from[1]! + b; to[2] = from[2]! + c; to[3] = from[3]! + d;
  to[4] = from[4]! + e; to[5] = from[5]! + f; to[6] = from[6]! + g; to[7] = from[7]! + h;
}

/**
 * HMAC-SHA-256 of 16-byte messages under one key. The states after the key's inner and outer pad
 * blocks are computed once, so a message costs two compressions and no allocation — node:crypto's
 * createHmac costs an object, a key schedule and buffers per call, several times more (bench/pipeline,
 * distinct workload). The output is the same HMAC, byte for byte (slot-hmac.test.ts checks it against
 * node:crypto). @see RFC 2104 §2, FIPS 180-4
 */
export class SlotHmac {
  private readonly inner = new Uint32Array(8);
  private readonly outer = new Uint32Array(8);
  private readonly w = new Uint32Array(64);
  private readonly mid = new Uint32Array(8);
  private readonly digest = new Uint32Array(8);

  constructor(key: Uint8Array) {
    // Keys longer than a block are hashed first (RFC 2104 §2); shorter ones are zero-padded.
    const k = key.length > 64 ? new Uint8Array(createHash('sha256').update(key).digest()) : key;
    const block = new Uint8Array(64);
    block.set(k);
    for (const [pad, into] of [[0x36, this.inner], [0x5c, this.outer]] as const) {
      for (let i = 0; i < 16; i++) {
        this.w[i] = (((block[i * 4]! ^ pad) << 24) | ((block[i * 4 + 1]! ^ pad) << 16) | ((block[i * 4 + 2]! ^ pad) << 8) | (block[i * 4 + 3]! ^ pad)) >>> 0;
      }
      compress(IV, this.w, into);
    }
  }

  /** Writes the first `n` (≤ 32) bytes of HMAC(key, buf[o .. o+16]) to `out` at `at`. */
  write(buf: Uint8Array, o: number, out: Uint8Array, at: number, n: number): void {
    const w = this.w;
    // Inner hash: the 16-byte message, then padding; length = (64 + 16) bytes in bits.
    for (let i = 0; i < 4; i++) w[i] = (buf[o + i * 4]! << 24) | (buf[o + i * 4 + 1]! << 16) | (buf[o + i * 4 + 2]! << 8) | buf[o + i * 4 + 3]!;
    w[4] = 0x80000000;
    for (let i = 5; i < 15; i++) w[i] = 0;
    w[15] = (64 + 16) * 8;
    compress(this.inner, w, this.mid);
    // Outer hash: the 32-byte inner digest, then padding; length = (64 + 32) bytes in bits.
    for (let i = 0; i < 8; i++) w[i] = this.mid[i]!;
    w[8] = 0x80000000;
    for (let i = 9; i < 15; i++) w[i] = 0;
    w[15] = (64 + 32) * 8;
    compress(this.outer, w, this.digest);
    for (let i = 0; i < n; i++) out[at + i] = this.digest[i >>> 2]! >>> (24 - (i & 3) * 8);
  }
}
