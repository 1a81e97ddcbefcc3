/** Wrapped pseudonym keys: open only with the same wrapping key, under the same bucket and period, untampered; the key file is checked. */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { readWrapKeyFile, unwrapKey, wrapKey, wrapKeyFrom } from './keywrap.js';

const dir = mkdtempSync(join(tmpdir(), 'mamori-keywrap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('edge key wrapping', () => {
  const wk = wrapKeyFrom(randomBytes(32));
  const key = new Uint8Array(randomBytes(32));
  const bytes = (v: unknown): Uint8Array => Buffer.from(JSON.stringify(v));

  it('opens what it wrapped, and the entry holds no byte run of the key', () => {
    const w = wrapKey(wk, 'b', '2026-12', key);
    const r = unwrapKey(wk, 'b', '2026-12', bytes(w));
    expect(r).toEqual({ ok: true, key });
    const entry = Buffer.from(JSON.stringify(w));
    // Neither the raw key nor its hex or base64 forms appear (any 8-byte window of the raw key).
    for (let i = 0; i + 8 <= 32; i++) expect(entry.includes(Buffer.from(key.subarray(i, i + 8)))).toBe(false);
    expect(entry.toString().includes(Buffer.from(key).toString('hex').slice(0, 16))).toBe(false);
    expect(entry.toString().includes(Buffer.from(key).toString('base64').slice(0, 12))).toBe(false);
  });

  it('refuses another wrapping key, another period or bucket, a tampered or malformed entry', () => {
    const w = wrapKey(wk, 'b', '2026-12', key);
    expect(unwrapKey(wrapKeyFrom(randomBytes(32)), 'b', '2026-12', bytes(w))).toEqual({ ok: false, reason: 'other_wrap_key' });
    expect(unwrapKey(wk, 'b', '2026-11', bytes(w))).toEqual({ ok: false, reason: 'wrong_period' });
    expect(unwrapKey(wk, 'b', '2026-11', bytes({ ...w, period: '2026-11' }))).toEqual({ ok: false, reason: 'tampered' });
    expect(unwrapKey(wk, 'other', '2026-12', bytes(w))).toEqual({ ok: false, reason: 'tampered' });
    const ct = Buffer.from(w.ct, 'base64');
    ct[0]! ^= 1;
    expect(unwrapKey(wk, 'b', '2026-12', bytes({ ...w, ct: ct.toString('base64') }))).toEqual({ ok: false, reason: 'tampered' });
    expect(unwrapKey(wk, 'b', '2026-12', Buffer.from('not json'))).toEqual({ ok: false, reason: 'malformed' });
    expect(unwrapKey(wk, 'b', '2026-12', bytes({ ...w, iv: 'AAAA' }))).toEqual({ ok: false, reason: 'malformed' });
  });

  it('reads a key file of 32 bytes or 64 hex digits, mode 0600, and says what to fix otherwise', () => {
    const raw = randomBytes(32);
    const f = join(dir, 'wrap.bin');
    writeFileSync(f, raw, { mode: 0o600 });
    const hex = join(dir, 'wrap.hex');
    writeFileSync(hex, `${raw.toString('hex')}\n`, { mode: 0o600 });
    expect(readWrapKeyFile(f).id).toBe(wrapKeyFrom(raw).id);
    expect(readWrapKeyFile(hex).id).toBe(wrapKeyFrom(raw).id);
    expect(() => readWrapKeyFile(join(dir, 'missing'))).toThrow(/does not exist; create it once at the centre/);
    chmodSync(f, 0o644);
    expect(() => readWrapKeyFile(f)).toThrow(/mode 644; others may read it/);
    const short = join(dir, 'short');
    writeFileSync(short, 'abc', { mode: 0o600 });
    expect(() => readWrapKeyFile(short)).toThrow(/must hold 32 random bytes or 64 hex digits/);
  });
});
