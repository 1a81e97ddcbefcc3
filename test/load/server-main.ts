/** @module Runs `mamori serve` from the TypeScript sources in a child process, so the load suite measures a server on its own event loop as deployed. */
import { writeSync } from 'node:fs';
import { main } from '#cli/main.js';

// When the process reaches its exit, before and after the other exit handlers (the logger's flush): the suite prints
// these beside the stop's phases, so a slow exit shows where its time went.
process.on('exit', () => writeSync(2, `{"msg":"stop: exit handlers start","time":"${new Date().toISOString()}"}\n`));
await main(process.argv);
process.on('exit', () => writeSync(2, `{"msg":"stop: exit handlers done","time":"${new Date().toISOString()}"}\n`));
