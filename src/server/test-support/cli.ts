/** @module Runs a `mamori` command in this process on a given data directory and database, capturing what it prints and its exit code. */
import { main } from '../../cli/main.js';

/** `mamori <args>` with MAMORI_DATA_DIR and MAMORI_DATABASE_URL set for the call only; stdout and the exit code (0 when unset). */
export async function runMamori(args: readonly string[], env: { dataDir: string; databaseUrl: string }): Promise<{ out: string; code: number }> {
  const out: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const saved = { dir: process.env['MAMORI_DATA_DIR'], url: process.env['MAMORI_DATABASE_URL'], code: process.exitCode };
  process.stdout.write = ((chunk: string | Uint8Array) => { out.push(String(chunk)); return true; }) as typeof process.stdout.write;
  process.env['MAMORI_DATA_DIR'] = env.dataDir;
  process.env['MAMORI_DATABASE_URL'] = env.databaseUrl;
  process.exitCode = undefined;
  let code: number;
  try {
    await main(['node', 'mamori', ...args]);
    code = typeof process.exitCode === 'number' ? process.exitCode : 0;
  } finally {
    process.stdout.write = write;
    process.exitCode = saved.code;
    if (saved.dir === undefined) delete process.env['MAMORI_DATA_DIR']; else process.env['MAMORI_DATA_DIR'] = saved.dir;
    if (saved.url === undefined) delete process.env['MAMORI_DATABASE_URL']; else process.env['MAMORI_DATABASE_URL'] = saved.url;
  }
  return { out: out.join(''), code };
}
