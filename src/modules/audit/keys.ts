/** @module Signing-key files of the log and the witness: created on first use with mode 0600 in a 0700 directory, never in the database. */
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { AppError } from '#platform/errors/index.js';
import { generateSignerKey, signerKeyFromPem, signerKeyToPem, type SignatureType, type SignerKey } from './checkpoint.js';

/** Where the log's key lives unless `audit.keyFile` says otherwise. @see c2sp.org/signed-note */
export function defaultLogKeyPath(dataDir: string): string {
  return join(dataDir, 'keys', 'audit-log.key');
}

/** Where the commission witness's key lives unless `audit.witnessKeyFile` says otherwise. @see c2sp.org/tlog-cosignature */
export function defaultWitnessKeyPath(dataDir: string): string {
  return join(dataDir, 'keys', 'commission-witness.key');
}

/** Writes a file atomically (temp file then rename) with mode 0600, creating its directory with mode 0700. @see c2sp.org/tlog-witness */
export function writePrivateFile(path: string, text: string): void {
  const dir = dirname(path);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomUUID()}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600); // the umask may have narrowed the mode further; never wider than 0600
  renameSync(tmp, path);
}

/**
 * Creates `path` with `content` (mode 0600, directory 0700) only if it does not exist yet; false when it did
 * (then nothing is written). The content goes to a temp file first and is hard-linked into place: the link
 * either appears complete or fails with EEXIST, so processes racing on one path (API replicas starting on a
 * shared, empty key directory) agree on the first file and no reader sees a half-written one.
 * @see https://pubs.opengroup.org/onlinepubs/9799919799/functions/link.html
 */
export function createPrivateFileOnce(path: string, content: string | Uint8Array): boolean {
  const dir = dirname(path);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomUUID()}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  try {
    chmodSync(tmp, 0o600);
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    unlinkSync(tmp);
  }
}

/**
 * Loads the Ed25519 key at `path`, or creates it (PKCS#8 PEM, mode 0600, directory 0700) when the
 * file does not exist. Refuses a key file that others can read. Race-free: of several processes creating
 * the key at once, one file wins and every process returns the key in it (`created` only for the winner).
 * @see c2sp.org/signed-note §Ed25519 signatures
 */
export function loadOrCreateSignerKey(path: string, name: string, type: SignatureType): { key: SignerKey; created: boolean } {
  if (!existsSync(path)) {
    const key = generateSignerKey(name, type);
    if (createPrivateFileOnce(path, signerKeyToPem(key))) return { key, created: true };
    // Another process created it first: use its key, never ours.
  }
  return { key: loadSignerKey(path, name, type), created: false };
}

/**
 * Loads the Ed25519 key at `path` (which must exist). Refuses a key file that others can read.
 * @see c2sp.org/signed-note §Ed25519 signatures
 */
export function loadSignerKey(path: string, name: string, type: SignatureType): SignerKey {
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) throw new AppError('CONFIG_INVALID', `The key file ${path} is readable by others (mode ${mode.toString(8)}); run \`chmod 600 ${path}\`.`);
  const r = signerKeyFromPem(name, readFileSync(path, 'utf8'), type);
  if (!r.ok) throw new AppError('CONFIG_INVALID', `The key file ${path} does not hold an Ed25519 private key in PEM; restore it from backup (a new key would break the chain of signed checkpoints).`, { cause: r.error });
  return r.value;
}
