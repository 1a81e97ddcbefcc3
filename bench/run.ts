// Runs the benchmarks under bench/ one after another (`npm run bench [-- name…]`); each prints its figures beside its baseline.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const all = readdirSync(here).filter((f) => f.endsWith('.bench.ts')).map((f) => f.replace(/\.bench\.ts$/, '')).sort();
const chosen = wanted.length === 0 ? all : all.filter((n) => wanted.includes(n));
if (chosen.length === 0) {
  process.stderr.write(`no benchmark matches ${wanted.join(', ')}; have: ${all.join(', ')}\n`);
  process.exit(2);
}
let failed = 0;
for (const name of chosen) {
  process.stdout.write(`\n=== bench/${name} ===\n`);
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', '--expose-gc', join(here, `${name}.bench.ts`)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
