/** @module Test child for the spill tests: takes a spill directory in the archive at `argv[2]`, spills a file into it, prints its path, and waits to be killed. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { claimSpillDir } from '../archive/spill.js';

const spill = claimSpillDir(process.argv[2]!, 'query');
writeFileSync(join(spill.dir, 'duckdb_temp_storage_S32K-0.tmp'), 'spilled');
process.stdout.write(`${spill.dir}\n`);
setInterval(() => undefined, 60_000);
