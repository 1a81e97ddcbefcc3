/** @module The file lock: one holder at a time, in this process as across processes (spill.test.ts kills a holder with -9). */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tryLockFile } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'mamori-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tryLockFile', () => {
  it('has one holder at a time, even within a process; a release lets the next take it', () => {
    const path = join(dir, 'a.lock');
    expect(tryLockFile(path, { create: false })).toBeUndefined(); // not there
    const first = tryLockFile(path, { create: true })!;
    expect(first).toBeDefined();
    expect(tryLockFile(path, { create: false })).toBeUndefined();
    expect(tryLockFile(path, { create: true })).toBeUndefined();
    expect(tryLockFile(path, { create: false })).toBeUndefined(); // a failed try does not drop the holder's lock
    first.release();
    first.release();
    const second = tryLockFile(path, { create: false });
    expect(second).toBeDefined();
    second!.release();
    expect(existsSync(`${path}-journal`)).toBe(false); // nothing beside it
  });
});
