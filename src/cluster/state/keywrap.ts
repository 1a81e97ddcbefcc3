/** @module Pseudonym keys wrapped for the edges: AES-256-GCM under a key-wrapping key that the centre and every edge receive out of band, bound to the bucket and period. */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { AppError } from '#platform/errors/index.js';

/** A key-wrapping key as the code holds it: the AES key and a public id that names it without revealing it. */
export interface WrapKey {
  /** 32 bytes derived from the file's secret (never the file's bytes themselves). */
  readonly key: Buffer;
  /** 16 hex digits: a hash of a second derivation, so an edge can tell "wrong file" from "tampered entry". */
  readonly id: string;
}

/** A wrapped key as it travels in the bucket (JSON). */
export interface WrappedKey {
  v: 1;
  period: string;
  /** The wrapping key's id. */
  kid: string;
  iv: string;
  tag: string;
  ct: string;
}

const PERIOD = /^\d{4}(-\d{2}){0,2}$/;

/** Derives the wrapping key and its id from 32 secret bytes (HKDF-SHA-256, one label per use). */
export function wrapKeyFrom(secret: Uint8Array): WrapKey {
  if (secret.length < 32) throw new AppError('CONFIG_INVALID', 'The edge key-wrapping key must hold at least 32 random bytes.');
  const key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'mamori/edge-key-wrap/v1', 32));
  const id = createHash('sha256').update(Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'mamori/edge-key-wrap-id/v1', 32))).digest('hex').slice(0, 16);
  return { key, id };
}

/**
 * Reads `cluster.keyWrapFile`: 32 raw bytes or 64 hex digits, readable by its owner only (a systemd credential
 * under $CREDENTIALS_DIRECTORY is). Refuses anything else with what to do.
 */
export function readWrapKeyFile(file: string): WrapKey {
  const what = 'cluster.keyWrapFile';
  if (!existsSync(file)) throw new AppError('CONFIG_INVALID', `${what}: ${file} does not exist; create it once at the centre (\`head -c 32 /dev/urandom > ${file} && chmod 600 ${file}\`) and deliver the same file to every edge as a credential.`);
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) throw new AppError('CONFIG_INVALID', `${what}: ${file} has mode ${mode.toString(8)}; others may read it. Run \`chmod 600 ${file}\`.`);
  const raw = readFileSync(file);
  const text = raw.toString('utf8').trim();
  try {
    if (/^[0-9a-fA-F]{64}$/.test(text)) return wrapKeyFrom(Buffer.from(text, 'hex'));
    if (raw.length === 32) return wrapKeyFrom(raw);
  } finally {
    raw.fill(0);
  }
  throw new AppError('CONFIG_INVALID', `${what}: ${file} must hold 32 random bytes or 64 hex digits.`);
}

// The associated data binds a wrapped key to its bucket and period: an entry copied to another period does not open.
const aad = (bucket: string, period: string): Buffer => Buffer.from(`mamori/edge-key/v1/${bucket}/${period}`);

/** Wraps one period's 32-byte key for the edges. */
export function wrapKey(wk: WrapKey, bucket: string, period: string, key: Uint8Array): WrappedKey {
  if (!PERIOD.test(period)) throw new Error(`"${period}" is not a key period`);
  if (key.length !== 32) throw new Error('a pseudonym key has 32 bytes');
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', wk.key, iv);
  c.setAAD(aad(bucket, period));
  const ct = Buffer.concat([c.update(key), c.final()]);
  return { v: 1, period, kid: wk.id, iv: iv.toString('base64'), tag: c.getAuthTag().toString('base64'), ct: ct.toString('base64') };
}

/** Why a wrapped key did not open. */
export type UnwrapFailure = 'malformed' | 'other_wrap_key' | 'wrong_period' | 'tampered';

/** Opens a wrapped key found under `period` in `bucket`; a typed failure instead of a throw (the caller logs it, without key material). */
export function unwrapKey(wk: WrapKey, bucket: string, period: string, data: Uint8Array): { ok: true; key: Uint8Array } | { ok: false; reason: UnwrapFailure } {
  let w: Partial<WrappedKey>;
  try {
    w = JSON.parse(Buffer.from(data).toString('utf8')) as Partial<WrappedKey>;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (w.v !== 1 || typeof w.kid !== 'string' || typeof w.iv !== 'string' || typeof w.tag !== 'string' || typeof w.ct !== 'string') return { ok: false, reason: 'malformed' };
  if (w.period !== period) return { ok: false, reason: 'wrong_period' };
  if (w.kid !== wk.id) return { ok: false, reason: 'other_wrap_key' };
  const iv = Buffer.from(w.iv, 'base64'), tag = Buffer.from(w.tag, 'base64'), ct = Buffer.from(w.ct, 'base64');
  if (iv.length !== 12 || tag.length !== 16 || ct.length !== 32) return { ok: false, reason: 'malformed' };
  try {
    const d = createDecipheriv('aes-256-gcm', wk.key, iv);
    d.setAAD(aad(bucket, period));
    d.setAuthTag(tag);
    return { ok: true, key: new Uint8Array(Buffer.concat([d.update(ct), d.final()])) };
  } catch {
    return { ok: false, reason: 'tampered' };
  }
}
