/** @module The fingerprint master key: 32 random bytes in a 0600 file kept apart from the database (or in memory for throwaway databases). */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Reads the key at `path`, creating it on first use; `undefined` path gives an in-memory key. @see docs/sharing.md "Leak tracing" */
export function loadOrCreateFingerprintKey(path: string | undefined): Buffer {
  if (path === undefined) return randomBytes(32);
  if (existsSync(path)) {
    const key = readFileSync(path);
    if (key.length !== 32) throw new Error(`${path}: a fingerprint key is 32 bytes; restore it from backup.`);
    return key;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  writeFileSync(path, key, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return key;
}
