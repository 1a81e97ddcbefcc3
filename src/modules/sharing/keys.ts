/** @module The fingerprint master key: 32 random bytes in a 0600 file kept apart from the database (or in memory for throwaway databases). */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createPrivateFileOnce } from '#modules/audit/index.js';

/** Reads the key at `path`, creating it on first use; `undefined` path gives an in-memory key. @see docs/sharing.md "Leak tracing" */
export function loadOrCreateFingerprintKey(path: string | undefined): Buffer {
  if (path === undefined) return randomBytes(32);
  if (existsSync(path)) {
    const key = readFileSync(path);
    if (key.length !== 32) throw new Error(`${path}: a fingerprint key is 32 bytes; restore it from backup.`);
    return key;
  }
  const key = randomBytes(32);
  // Exclusive creation (temp file hard-linked into place): replicas starting together on one empty path
  // all read the first key rather than failing on EEXIST or reading a half-written file.
  return createPrivateFileOnce(path, key) ? key : loadOrCreateFingerprintKey(path);
}
