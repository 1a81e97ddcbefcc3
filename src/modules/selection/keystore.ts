/** @module The pseudonym keystore: one random key per period, encrypted at rest under a key-encryption key supplied apart from the data, destroyed (crypto-shredding) once nothing pseudonymized with it remains. */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { AppError } from '#platform/errors/index.js';
import type { PseudonymKeyStore } from './pseudonym.js';

/** A period's key as `mamori keys list` shows it. */
export interface KeyPeriod {
  period: string;
  state: 'active' | 'destroyed';
  createdAt: string | null;
  destroyedAt: string | null;
}

/** The keystore: selection's key source, plus listing and destruction. */
export interface Keystore extends PseudonymKeyStore {
  readonly dir: string;
  list(): KeyPeriod[];
  /** When `period`'s key was destroyed, or undefined while it exists (or never did). */
  destroyedAt(period: string): string | undefined;
  /** Destroys the key of `period`: its file is overwritten and removed, a tombstone says when. */
  destroy(period: string, atIso: string): void;
}

const PERIOD = /^\d{4}(-\d{2}){0,2}$/;
const MAGIC = Buffer.from('MKS1');

/** Reads a key-encryption key: 32 raw bytes, or 64 hex digits, from a file only its owner can read. */
export function readKekFile(file: string): Buffer {
  if (!existsSync(file)) throw new AppError('CONFIG_INVALID', `selection.kekFile: ${file} does not exist; create it with \`head -c 32 /dev/urandom > ${file} && chmod 600 ${file}\` on a volume apart from the data.`);
  assertPrivate(file, 'selection.kekFile');
  const raw = readFileSync(file);
  const text = raw.toString('utf8').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (raw.length === 32) return raw;
  throw new AppError('CONFIG_INVALID', `selection.kekFile: ${file} must hold 32 random bytes or 64 hex digits.`);
}

/** A key-encryption key from a configured secret (at least 32 characters). */
export function kekFromSecret(secret: string): Buffer {
  return createHash('sha256').update(`mamori-kek/${secret}`).digest();
}

function assertPrivate(path: string, what: string): void {
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new AppError('CONFIG_INVALID', `${what}: ${path} has mode ${mode.toString(8)}; others may read it. Run \`chmod ${statSync(path).isDirectory() ? '700' : '600'} ${path}\`.`);
  }
}

function overwriteAndRemove(file: string): void {
  const size = statSync(file).size;
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, Buffer.alloc(size), 0, size, 0);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  unlinkSync(file);
}

/**
 * Opens (creating) the keystore in `dir` under `kek`. Start-up checks: the directory is 0700 and every key
 * file 0600, else CONFIG_INVALID; plaintext keys of an older version are encrypted and their files overwritten.
 * A key is AES-256-GCM under the KEK with its period as associated data.
 * @see DESIGN.md invariant 3 (keyed, key kept apart)
 */
export function openKeystore(dir: string, kek: Buffer): Keystore {
  if (kek.length !== 32) throw new AppError('CONFIG_INVALID', 'The key-encryption key must be 32 bytes.');
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  assertPrivate(dir, 'selection.keystoreDir');
  for (const f of readdirSync(dir)) if (f.startsWith('pseudonym-')) assertPrivate(join(dir, f), 'selection.keystoreDir');
  const cache = new Map<string, Uint8Array>();
  const file = (p: string): string => join(dir, `pseudonym-${p}.key.enc`);
  const tomb = (p: string): string => join(dir, `pseudonym-${p}.destroyed`);
  // Keys given out for flows of a destroyed period: random, never stored, so nothing can reverse them.
  const ephemeral = new Map<string, Uint8Array>();

  function seal(period: string, key: Buffer): Buffer {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', kek, iv);
    c.setAAD(Buffer.from(period));
    const body = Buffer.concat([c.update(key), c.final()]);
    return Buffer.concat([MAGIC, iv, c.getAuthTag(), body]);
  }
  function open(period: string, blob: Buffer): Uint8Array {
    if (blob.length !== 4 + 12 + 16 + 32 || !blob.subarray(0, 4).equals(MAGIC)) throw new AppError('CONFIG_INVALID', `${file(period)} is not a keystore entry.`);
    const d = createDecipheriv('aes-256-gcm', kek, blob.subarray(4, 16));
    d.setAAD(Buffer.from(period));
    d.setAuthTag(blob.subarray(16, 32));
    try {
      return new Uint8Array(Buffer.concat([d.update(blob.subarray(32)), d.final()]));
    } catch {
      throw new AppError('CONFIG_INVALID', `${file(period)} does not open with the configured key-encryption key (selection.kekFile or secrets.keyEncryptionKey).`);
    }
  }
  function write(period: string, key: Buffer): void {
    const tmp = `${file(period)}.tmp`;
    writeFileSync(tmp, seal(period, key), { mode: 0o600 });
    renameSync(tmp, file(period));
  }

  // Keys of the previous version (plaintext `pseudonym-<period>.key`) are sealed and their files overwritten.
  for (const f of readdirSync(dir)) {
    const m = /^pseudonym-(.+)\.key$/.exec(f);
    if (m === null || !PERIOD.test(m[1]!)) continue;
    const plain = readFileSync(join(dir, f));
    if (plain.length === 32 && !existsSync(file(m[1]!))) write(m[1]!, plain);
    overwriteAndRemove(join(dir, f));
  }
  chmodSync(dir, 0o700);

  const destroyedAt = (period: string): string | undefined => (existsSync(tomb(period)) ? (JSON.parse(readFileSync(tomb(period), 'utf8')) as { destroyedAt: string }).destroyedAt : undefined);

  return {
    dir,
    keyFor(period, create) {
      if (!PERIOD.test(period)) throw new Error(`"${period}" is not a key period`);
      const hit = cache.get(period);
      if (hit !== undefined) return hit;
      if (destroyedAt(period) !== undefined) {
        if (!create) return undefined;
        let e = ephemeral.get(period);
        if (e === undefined) ephemeral.set(period, (e = new Uint8Array(randomBytes(32))));
        return e;
      }
      if (!existsSync(file(period))) {
        if (!create) return undefined;
        try {
          writeFileSync(`${file(period)}.new`, seal(period, randomBytes(32)), { mode: 0o600, flag: 'wx' });
          renameSync(`${file(period)}.new`, file(period));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // another process is making it
          for (let i = 0; i < 100 && !existsSync(file(period)); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        }
      }
      const key = open(period, readFileSync(file(period)));
      cache.set(period, key);
      return key;
    },
    list() {
      const periods = new Set<string>();
      for (const f of readdirSync(dir)) {
        const m = /^pseudonym-(.+)\.(key\.enc|destroyed)$/.exec(f);
        if (m !== null && PERIOD.test(m[1]!)) periods.add(m[1]!);
      }
      return [...periods].sort().map((period) => {
        const gone = destroyedAt(period);
        return { period, state: gone === undefined ? 'active' : 'destroyed', createdAt: existsSync(file(period)) ? statSync(file(period)).mtime.toISOString() : null, destroyedAt: gone ?? null };
      });
    },
    destroyedAt,
    destroy(period, atIso) {
      if (!PERIOD.test(period)) throw new AppError('VALIDATION_FAILED', `"${period}" is not a key period.`);
      writeFileSync(tomb(period), JSON.stringify({ period, destroyedAt: atIso }), { mode: 0o600 });
      if (existsSync(file(period))) overwriteAndRemove(file(period));
      const k = cache.get(period);
      if (k !== undefined) k.fill(0);
      cache.delete(period);
    },
  };
}

/** Keys derived from a configured secret: they can be re-derived at will, so destruction is impossible. */
export function isDestructible(store: PseudonymKeyStore): store is Keystore {
  return 'destroy' in store;
}

/** True when `path` is `dir` or lies under it (after resolving `..` and symbolic links where they exist). */
function isWithin(path: string, dir: string): boolean {
  const real = (p: string): string => { const r = resolve(p); try { return realpathSync(r); } catch { return r; } };
  const rel = relative(real(dir), real(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * The key-encryption key the configuration names: `secrets.keyEncryptionKey`, else `selection.kekFile` (which
 * must not lie in the data directory or the keystore). A key the deployment does not supply apart from the data
 * is refused at start, unless `selection.kekBesideData` (demo and tests only) lets one be made at `<dataDir>/kek`
 * (`beside` is then true).
 */
export function resolveKek(settings: { secret?: string | undefined; file?: string | undefined; dataDir: string; keystoreDir?: string | undefined; besideData?: boolean | undefined }): { kek: Buffer; beside: boolean } {
  if (settings.secret !== undefined) return { kek: kekFromSecret(settings.secret), beside: false };
  const allowBeside = settings.besideData === true;
  if (settings.file !== undefined) {
    const inside = [settings.dataDir, settings.keystoreDir].filter((d): d is string => d !== undefined).find((d) => isWithin(settings.file!, d));
    if (inside !== undefined && !allowBeside) {
      throw new AppError('CONFIG_INVALID', `selection.kekFile: ${settings.file} lies inside ${inside}, beside the data it protects; put it on another volume (or supply secrets.keyEncryptionKey). A demo or test install may set selection.kekBesideData: true.`);
    }
    return { kek: readKekFile(settings.file), beside: inside !== undefined };
  }
  const file = join(settings.dataDir, 'kek');
  if (!allowBeside) {
    throw new AppError('CONFIG_INVALID', existsSync(file)
      ? `The keystore's key-encryption key is at ${file}, inside the data directory: move it to a volume apart from the data and name it in selection.kekFile (MAMORI_SELECTION_KEK_FILE), or supply secrets.keyEncryptionKey. A demo or test install may set selection.kekBesideData: true.`
      : 'No key-encryption key for the pseudonym keystore: create one apart from the data (`head -c 32 /dev/urandom > /secure/mamori.kek && chmod 600 /secure/mamori.kek`) and name it in selection.kekFile (MAMORI_SELECTION_KEK_FILE), or supply secrets.keyEncryptionKey (MAMORI_SECRETS_KEY_ENCRYPTION_KEY). A demo or test install may set selection.kekBesideData: true.');
  }
  if (!existsSync(file)) {
    mkdirSync(settings.dataDir, { recursive: true });
    try {
      writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  return { kek: readKekFile(file), beside: true };
}
