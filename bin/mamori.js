#!/usr/bin/env node
// The `mamori` command: runs the compiled CLI (built by `npm install` through the prepare script).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'src', 'cli', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write('mamori is not built yet: run `npm run build` in ' + root + ' (npm install does it for you).\n');
  process.exit(1);
}
const { main } = await import(pathToFileURL(entry).href);
await main(process.argv);
