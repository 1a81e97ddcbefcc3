/** @module An exclusive lock on a file that lasts as long as its holder: released by it, or by the kernel when its process ends (kill -9 too). */
import SQLite from 'better-sqlite3';

/** A lock this process holds. */
export interface FileLock {
  /** Releases the lock (once; later calls do nothing). */
  release(): void;
}

/**
 * Takes the exclusive lock on `path` — with `create`, on a file made for it (an empty SQLite database) — or returns
 * undefined when someone else holds it, in this process or another, or (without `create`) the file is not there.
 * SQLite's lock is used because it is the kernel's (fcntl): dropped when its process dies however it dies, seen across
 * processes and containers sharing a file system, and kept per connection inside a process (a bare fcntl lock is the
 * process's, and closing any descriptor of the file drops it). Its journal is kept in memory: no file beside `path`.
 * @see https://www.sqlite.org/lockingv3.html
 */
export function tryLockFile(path: string, options: { create: boolean }): FileLock | undefined {
  let db: SQLite.Database;
  try {
    db = new SQLite(path, { timeout: 0, fileMustExist: !options.create });
  } catch (e) {
    if (!options.create && (e as { code?: string }).code === 'SQLITE_CANTOPEN') return undefined; // gone meanwhile
    throw e;
  }
  try {
    db.pragma('journal_mode = MEMORY');
    db.exec('BEGIN EXCLUSIVE');
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code === 'SQLITE_BUSY') return undefined;
    throw e;
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      db.close(); // ends the transaction, and with it the lock
    },
  };
}
