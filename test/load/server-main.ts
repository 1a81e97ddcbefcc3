/** @module Runs `mamori serve` from the TypeScript sources in a child process, so the load suite measures a server on its own event loop as deployed. */
import { main } from '#cli/main.js';

await main(process.argv);
