import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { kekFromSecret, openKeystore, readKekFile, resolveKek } from './keystore.js';

const fresh = () => { const d = mkdtempSync(join(tmpdir(), 'mamori-keystore-')); const dir = join(d, 'keys'); return { d, dir }; };

describe('keystore', () => {
  const kek = kekFromSecret('a key-encryption key of at least thirty-two characters');

  it('keeps each period\'s key encrypted at rest and gives the same key back after reopening', () => {
    const { dir } = fresh();
    const a = openKeystore(dir, kek);
    const key = Buffer.from(a.keyFor('2026-04', true)!);
    expect(a.keyFor('2026-05', false)).toBeUndefined();
    const bytes = readFileSync(join(dir, 'pseudonym-2026-04.key.enc'));
    expect(bytes.includes(key)).toBe(false);
    expect(Buffer.from(openKeystore(dir, kek).keyFor('2026-04', false)!)).toEqual(key);
    expect(() => openKeystore(dir, kekFromSecret('another key-encryption key, thirty-two chars')).keyFor('2026-04', false)).toThrow(/does not open with the configured key-encryption key/);
    expect(a.list()).toEqual([expect.objectContaining({ period: '2026-04', state: 'active', destroyedAt: null })]);
  });

  it('destroys a key for good: the file goes, a tombstone says when, later use gets a key nobody keeps', () => {
    const { dir } = fresh();
    const s = openKeystore(dir, kek);
    const key = Buffer.from(s.keyFor('2026-04', true)!);
    s.destroy('2026-04', '2026-06-01T00:00:00.000Z');
    expect(readdirSync(dir)).toEqual(['pseudonym-2026-04.destroyed']);
    expect(s.keyFor('2026-04', false)).toBeUndefined();
    expect(s.destroyedAt('2026-04')).toBe('2026-06-01T00:00:00.000Z');
    const late = Buffer.from(s.keyFor('2026-04', true)!);
    expect(late.equals(key)).toBe(false);
    expect(readdirSync(dir)).toEqual(['pseudonym-2026-04.destroyed']);
    expect(openKeystore(dir, kek).list()).toEqual([expect.objectContaining({ period: '2026-04', state: 'destroyed', destroyedAt: '2026-06-01T00:00:00.000Z' })]);
  });

  it('refuses to start on loose file modes, naming the chmod to run', () => {
    const { dir } = fresh();
    openKeystore(dir, kek).keyFor('2026-04', true);
    chmodSync(join(dir, 'pseudonym-2026-04.key.enc'), 0o644);
    expect(() => openKeystore(dir, kek)).toThrow(/chmod 600/);
    chmodSync(join(dir, 'pseudonym-2026-04.key.enc'), 0o600);
    chmodSync(dir, 0o755);
    expect(() => openKeystore(dir, kek)).toThrow(/chmod 700/);
  });

  it('seals plaintext keys of the previous version and removes them', () => {
    const { dir } = fresh();
    mkdirSync(dir, { mode: 0o700 });
    const old = randomBytes(32);
    writeFileSync(join(dir, 'pseudonym-2026-03.key'), old, { mode: 0o600 });
    const s = openKeystore(dir, kek);
    expect(readdirSync(dir)).toEqual(['pseudonym-2026-03.key.enc']);
    expect(Buffer.from(s.keyFor('2026-03', false)!)).toEqual(old);
  });

  it('reads a key-encryption key file (hex or raw, mode 0600) and makes one beside the data only when none is given', () => {
    const { d } = fresh();
    const f = join(d, 'kek');
    expect(() => readKekFile(f)).toThrow(/does not exist/);
    writeFileSync(f, randomBytes(32).toString('hex'), { mode: 0o644 });
    expect(() => readKekFile(f)).toThrow(/chmod 600/);
    chmodSync(f, 0o600);
    expect(readKekFile(f)).toHaveLength(32);
    writeFileSync(f, 'short', { mode: 0o600 });
    expect(() => readKekFile(f)).toThrow(/32 random bytes or 64 hex digits/);
    const made = resolveKek({ dataDir: join(d, 'data'), besideData: true });
    expect(made.beside).toBe(true);
    expect(resolveKek({ dataDir: join(d, 'data'), besideData: true }).kek).toEqual(made.kek);
    expect(resolveKek({ secret: 'x'.repeat(32), dataDir: d }).beside).toBe(false);
  });

  it('refuses a key-encryption key that is not supplied apart from the data, saying what to do', () => {
    const { d } = fresh();
    const data = join(d, 'data');
    // None given: refused, nothing made.
    expect(() => resolveKek({ dataDir: data })).toThrow(/No key-encryption key.*selection\.kekFile.*secrets\.keyEncryptionKey/);
    expect(readdirSync(d)).toEqual([]);
    // One left at <dataDir>/kek (by the demo, or an earlier version): refused, naming it and the move.
    resolveKek({ dataDir: data, besideData: true });
    expect(() => resolveKek({ dataDir: data })).toThrow(/is at .*kek, inside the data directory: move it/);
    // A kekFile inside the data directory or the keystore (also through `..`) is refused too.
    mkdirSync(join(data, 'keys'), { recursive: true });
    const insideKeys = join(data, 'keys', 'kek');
    writeFileSync(insideKeys, randomBytes(32), { mode: 0o600 });
    expect(() => resolveKek({ dataDir: data, file: join(data, 'kek') })).toThrow(/lies inside .*data, beside the data/);
    expect(() => resolveKek({ dataDir: join(d, 'elsewhere'), keystoreDir: join(data, 'keys'), file: insideKeys })).toThrow(/lies inside/);
    expect(() => resolveKek({ dataDir: data, file: join(data, 'keys', '..', 'kek') })).toThrow(/lies inside/);
    // Apart from the data: accepted.
    const apart = join(d, 'secure');
    mkdirSync(apart, { mode: 0o700 });
    writeFileSync(join(apart, 'kek'), randomBytes(32).toString('hex'), { mode: 0o600 });
    expect(resolveKek({ dataDir: data, keystoreDir: join(data, 'keys'), file: join(apart, 'kek') })).toMatchObject({ beside: false });
    expect(resolveKek({ dataDir: data, secret: 'y'.repeat(32) })).toMatchObject({ beside: false });
  });
});
