/** @module What a stored intel object can be found again by, when a copy comes back without our ids: its content hash and normalized times. */
import { createHash } from 'node:crypto';
import { formatPattern, parsePattern } from './stix/index.js';
import type { JsonObject } from './fingerprint.js';

/** Hex SHA-256 of a text (audit details carry hashes of URLs and leaked texts, never the texts). */
export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** A STIX timestamp as the store keeps it (millisecond ISO); text that is no time stays as it is. */
export function msOf(ts: string): string {
  const n = Date.parse(ts);
  return Number.isNaN(n) ? ts : new Date(n).toISOString();
}

/** A content key to find an object again from a leaked copy without its id: its normalized pattern or its name. */
export function contentHash(o: JsonObject): string | null {
  if (typeof o['pattern'] === 'string') {
    const p = parsePattern(o['pattern']);
    return sha256Hex(`${String(o['type'])}|pattern|${p.ok ? formatPattern(p.value) : o['pattern']}`);
  }
  if (typeof o['name'] === 'string') return sha256Hex(`${String(o['type'])}|name|${o['name']}`);
  return null;
}
