/**
 * @module Where the archive's DuckDB instances spill what exceeds their memory limit: a new, empty directory for each
 * instance under `<archive>/_spill/`, held by a lock while the instance is open and removed when it closes; what an
 * instance that ended without closing (kill -9) left is removed by the next one that opens.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDb } from '#platform/duckdb/index.js';
import { tryLockFile } from '#platform/file-lock/index.js';
import { SPILL_DIR } from './layout.js';

/** The lock file beside each spill directory (`<name>.lock` beside `<name>/`): held while its instance is open. */
const LOCK_SUFFIX = '.lock';

/** A spill directory this process holds. */
export interface SpillDir {
  /** `<archive>/_spill/<purpose>-<pid>-<random>`: new and empty. */
  dir: string;
  /** Removes the directory and gives up its lock (after its instance closed). */
  release(): void;
}

/**
 * Removes what instances that are gone left in `root`: a directory whose lock nobody holds (its process ended without
 * closing it; the kernel dropped the lock), with its lock file, and a directory without one (an instance removes its
 * directory before its lock file, and creates it after). The lock, not the process id, tells: a pid is reused (a
 * restarted container's first processes have the pids the last one's had) and means nothing in another pid namespace,
 * while a server, a `mamori flows query` and other containers may share the data directory.
 */
function removeLeftovers(root: string): void {
  for (const n of readdirSync(root)) {
    const path = join(root, n);
    try {
      if (n.endsWith(LOCK_SUFFIX)) {
        const lock = tryLockFile(path, { create: false });
        if (lock === undefined) continue; // its instance is open (or the file went meanwhile)
        try {
          rmSync(path.slice(0, -LOCK_SUFFIX.length), { recursive: true, force: true });
          rmSync(path, { force: true });
        } finally {
          lock.release();
        }
      } else if (!existsSync(`${path}${LOCK_SUFFIX}`) && statSync(path, { throwIfNoEntry: false })?.isDirectory() === true) {
        rmSync(path, { recursive: true, force: true });
      }
    } catch {
      // Not ours to judge (a file that is not a lock, one we may not remove): left as it is, and the instance opens all the same.
    }
  }
}

/**
 * A spill directory of its own for a DuckDB instance of this process (`purpose`: `write`, `query`, …): one an instance,
 * since DuckDB names its files alike in every instance. Removes the leftovers of instances that are gone first. Never
 * under `_tmp/`, which the writer empties at start.
 */
export function claimSpillDir(archiveDir: string, purpose: string): SpillDir {
  const root = join(archiveDir, SPILL_DIR);
  mkdirSync(root, { recursive: true });
  removeLeftovers(root);
  for (let attempt = 0; attempt < 3; attempt++) {
    const name = `${purpose}-${process.pid}-${randomBytes(4).toString('hex')}`;
    const lockFile = join(root, `${name}${LOCK_SUFFIX}`);
    const lock = tryLockFile(lockFile, { create: true });
    // Another instance's removeLeftovers may take a lock file between its creation and its lock, and delete it.
    if (lock === undefined || !existsSync(lockFile)) {
      lock?.release();
      continue;
    }
    const dir = join(root, name);
    try {
      mkdirSync(dir);
    } catch (e) {
      lock.release();
      rmSync(lockFile, { force: true });
      throw e;
    }
    let held = true;
    return {
      dir,
      release() {
        if (!held) return;
        held = false;
        rmSync(dir, { recursive: true, force: true });
        lock.release();
        rmSync(lockFile, { force: true });
      },
    };
  }
  throw new Error(`flow archive: could not take a spill directory in ${root} (its lock files were taken as they were made)`);
}

/** Opens a DuckDB instance with a spill directory of its own (claimSpillDir), removed when the instance closes. */
export async function openSpilling(archiveDir: string, purpose: string, open: (spillDir: string) => Promise<DuckDb>): Promise<DuckDb> {
  const spill = claimSpillDir(archiveDir, purpose);
  let e: DuckDb;
  try {
    e = await open(spill.dir);
  } catch (err) {
    spill.release();
    throw err;
  }
  return {
    run: (sql, params) => e.run(sql, params),
    all: (sql, params) => e.all(sql, params),
    append: (table, types, rows) => e.append(table, types, rows),
    registerScan: (name, columns, source) => e.registerScan(name, columns, source),
    close() {
      try {
        e.close();
      } finally {
        spill.release();
      }
    },
  };
}
