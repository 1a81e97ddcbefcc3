/** @module Spill directories: one new and empty for each instance, kept while its owner holds its lock (in this process or another), removed once the owner is gone. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { tryLockFile } from '#platform/file-lock/index.js';
import { claimSpillDir } from './spill.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function fresh(): string {
  const d = mkdtempSync(join(tmpdir(), 'mamori-spill-'));
  dirs.push(d);
  return d;
}

/** A process that holds a spill directory of `archive` (with a file in it) until killed; resolves to the directory. */
async function holder(archive: string): Promise<{ child: ChildProcess; dir: string }> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', fileURLToPath(new URL('../test-support/spill-child.ts', import.meta.url)), archive],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const dir = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => { out += b.toString(); if (out.includes('\n')) resolve(out.trim()); });
    child.once('exit', (code) => reject(new Error(`spill child exited (${code})`)));
  });
  return { child, dir };
}

const kill9 = (c: ChildProcess): Promise<void> => new Promise((resolve) => { c.once('exit', () => resolve()); c.kill('SIGKILL'); });

describe('archive spill directories', () => {
  it('gives each instance a new, empty directory of its own and removes it on release', () => {
    const archive = fresh();
    const a = claimSpillDir(archive, 'write');
    const b = claimSpillDir(archive, 'write'); // removes leftovers: not a's, whose lock this process holds
    expect(a.dir).toMatch(new RegExp(`^${archive}/_spill/write-${process.pid}-[0-9a-f]{8}$`));
    expect(b.dir).not.toBe(a.dir);
    for (const s of [a, b]) expect(readdirSync(s.dir)).toEqual([]);
    writeFileSync(join(a.dir, 'spilled.tmp'), 'x');
    a.release();
    a.release(); // once
    expect(existsSync(a.dir)).toBe(false);
    expect(readdirSync(join(archive, '_spill')).sort()).toEqual([`${b.dir.split('/').pop()}`, `${b.dir.split('/').pop()}.lock`].sort());
    b.release();
    expect(readdirSync(join(archive, '_spill'))).toEqual([]);
  });

  it('removes what a killed instance left, whatever its pid, and never a directory whose owner is alive', async () => {
    const archive = fresh();
    const spill = join(archive, '_spill');
    // Left by a killed instance of this very pid (a restarted container reuses its pids): its lock is not held.
    mkdirSync(join(spill, `write-${process.pid}-0badc0de`), { recursive: true });
    writeFileSync(join(spill, `write-${process.pid}-0badc0de`, 'left.tmp'), 'x');
    tryLockFile(join(spill, `write-${process.pid}-0badc0de.lock`), { create: true })!.release();
    // A directory without a lock file (older versions named them <purpose>-<pid>).
    mkdirSync(join(spill, `query-${process.pid}`));
    // Something that is not a lock: left alone, and no reason not to open.
    writeFileSync(join(spill, 'junk.lock'), 'not a lock file but text long enough to be read as a database header, which it is not');
    const other = await holder(archive);
    expect(readdirSync(other.dir)).toEqual(['duckdb_temp_storage_S32K-0.tmp']);

    const mine = claimSpillDir(archive, 'write');
    expect(readdirSync(spill).sort()).toEqual([other.dir, `${other.dir}.lock`, mine.dir, `${mine.dir}.lock`, 'junk.lock'].map((p) => p.split('/').pop()).sort());
    expect(readdirSync(other.dir)).toEqual(['duckdb_temp_storage_S32K-0.tmp']); // its owner lives: untouched
    mine.release();

    await kill9(other.child);
    const next = claimSpillDir(archive, 'query');
    expect(existsSync(other.dir)).toBe(false);
    expect(readdirSync(spill).sort()).toEqual([next.dir, `${next.dir}.lock`, 'junk.lock'].map((p) => p.split('/').pop()).sort());
    next.release();
  }, 30_000);
});
