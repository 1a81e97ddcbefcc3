/** @module What the browser tests share: Chromium's path and flags, the id pattern no screen may show, the web build, a server's test config. */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'vite';

export const CHROMIUM = process.env['MAMORI_CHROMIUM'] ?? '/usr/bin/chromium';
export const ROOT = resolve(import.meta.dirname, '../..');
export const SHOTS = join(ROOT, 'test-results', 'screenshots');
/** Headless, and without the background requests this machine's closed network refuses. */
export const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** A UUID or a ULID: never visible where a name exists. */
export const ID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b[0-9A-HJKMNP-TV-Z]{26}\b/i;

/** Fails loudly without Chromium, builds the web app, makes the screenshots' folder. */
export async function prepareBrowserTest(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set MAMORI_CHROMIUM).`);
  await build({ configFile: join(ROOT, 'web/vite.config.ts'), logLevel: 'warn' });
  mkdirSync(SHOTS, { recursive: true });
}

/** The settings every browser test's server starts from (SQLite in `dataDir`, any free port, sign-ins not throttled). */
export const serverSettings = (dataDir: string) => ({
  dataDir,
  server: { host: '127.0.0.1', port: 0 },
  database: { url: `sqlite:${join(dataDir, 'mamori.db')}` },
  log: { level: 'warn' as const },
  auth: { cookieSecure: false, loginRateLimitPerMinute: 1000 },
});
