/** @module Password hashing with scrypt, a memory-hard KDF (RFC 7914), in a self-describing string. */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keylen, options, (e, key) => (e ? reject(e) : resolve(key))));
}

/** scrypt cost: N = 2^15, r = 8, p = 1 uses 32 MiB per hash (OWASP Password Storage Cheat Sheet). */
export interface PasswordCost {
  logN: number;
  r: number;
  p: number;
}

/** The production cost. */
export const DEFAULT_PASSWORD_COST: PasswordCost = { logN: 15, r: 8, p: 1 };

/** Hashes a password as `scrypt$logN$r$p$salt$hash` (base64). @see RFC 7914 */
export async function hashPassword(password: string, cost: PasswordCost = DEFAULT_PASSWORD_COST): Promise<string> {
  const salt = randomBytes(16);
  const N = 2 ** cost.logN;
  const key = await scrypt(password.normalize('NFKC'), salt, 32, { N, r: cost.r, p: cost.p, maxmem: 256 * N * cost.r + 1024 * 1024 });
  return `scrypt$${cost.logN}$${cost.r}$${cost.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Checks a password against a stored hash in constant time; false for any malformed hash. @see RFC 7914 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const logN = Number(parts[1]);
  const r = Number(parts[2]);
  const p = Number(parts[3]);
  if (![logN, r, p].every((n) => Number.isInteger(n) && n > 0) || logN > 22) return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const want = Buffer.from(parts[5]!, 'base64');
  const N = 2 ** logN;
  const got = await scrypt(password.normalize('NFKC'), salt, want.length, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 });
  return got.length === want.length && timingSafeEqual(got, want);
}
