/** @module Big-endian readers of NetFlow and IPFIX wire fields: unsigned integers of 1 to 8 bytes and NTP timestamps. */

/** A template field length that announces a variable-length field (RFC 7011 §7). */
export const VARIABLE = 65535;
const NTP_EPOCH_OFFSET_S = 2_208_988_800;

/** A big-endian unsigned 16-bit integer. */
export function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

/** A big-endian unsigned 32-bit integer. */
export function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

// Reduced-size encoding (RFC 7011 §6.2) lets an exporter send any unsigned in 1..8 bytes.
export function uint(b: Uint8Array, o: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + b[o + i]!;
  return v;
}

/** An NTP timestamp (RFC 5905 §6) in ms since the Unix epoch. */
export function ntpMs(b: Uint8Array, o: number, micro: boolean): number {
  const sec = u32(b, o);
  // RFC 7011 §6.1.9: for dateTimeMicroseconds the low 11 bits of the fraction carry no information.
  const frac = micro ? (u32(b, o + 4) & ~0x7ff) >>> 0 : u32(b, o + 4);
  return (sec - NTP_EPOCH_OFFSET_S) * 1000 + (frac / 2 ** 32) * 1000;
}

// An unsigned of 1..8 bytes; the common widths without a loop. Exactly uint()'s value (8 bytes: one
// rounding only where the value passes 2^53, as uint() would round there too, so that case uses it).
export function readUint(b: Uint8Array, o: number, n: number): number {
  switch (n) {
    case 1: return b[o]!;
    case 2: return (b[o]! << 8) | b[o + 1]!;
    case 4: return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
    case 8: {
      const hi = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
      if (hi >= 0x200000) return uint(b, o, 8);
      return hi * 4294967296 + (((b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!) >>> 0);
    }
    default: return uint(b, o, n);
  }
}
