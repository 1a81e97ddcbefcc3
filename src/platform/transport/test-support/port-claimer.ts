/**
 * @module A process that claims loopback ports for ports.test.ts, which runs several at once: it says `ready`; then each
 * `claim` line on stdin claims `count` ports with freePort all at once and prints them (JSON; an error as its message),
 * each `release` line gives them back and prints `released`; it exits when stdin closes.
 */
import { createInterface } from 'node:readline';
import { freePort, releasePorts } from './ports.js';

const count = Number(process.argv[2]);
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line === 'release') {
    releasePorts();
    process.stdout.write('released\n');
  } else if (line === 'claim') {
    void Promise.allSettled(Array.from({ length: count }, () => freePort())).then((rs) => {
      process.stdout.write(`${JSON.stringify(rs.map((r) => (r.status === 'fulfilled' ? r.value : String(r.reason))))}\n`);
    });
  }
});
lines.on('close', () => process.exit(0));
process.stdout.write('ready\n');
