/**
 * @module Fuzzes the flow decoder in CI: `node --conditions=source --import tsx scripts/fuzz-collector.ts [COUNT] [SEED] [LIMIT_S]`.
 * Mutates the 27 real exporter datagrams (../shared/testdata/exporters) and encoder output; exits non-zero on any
 * thrown error, INTERNAL decode result, invariant violation, or when the run exceeds LIMIT_S seconds (a hang).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fork } from 'node:child_process';
import { readUdpDatagrams, runFuzz, type FuzzReport } from '#modules/collection/index.js';
import { syntheticCorpus } from '../src/modules/collection/fuzz.js';

interface Job { count: number; seed: number }

function corpus(): Uint8Array[] {
  const dir = new URL('../../shared/testdata/exporters/', import.meta.url);
  const real = readdirSync(dir).filter((f) => f.endsWith('.pcap')).flatMap((f) => {
    const r = readUdpDatagrams(readFileSync(new URL(f, dir)));
    if (!r.ok) throw r.error;
    return r.value.map((d) => d.payload);
  });
  if (real.length !== 27) throw new Error(`expected the 27 real datagrams of ../shared/testdata/exporters, found ${real.length}`);
  return [...real, ...syntheticCorpus()];
}

if (process.argv[2] === '--child') {
  const job: Job = { count: Number(process.argv[3]), seed: Number(process.argv[4]) };
  process.send!(runFuzz(job.count, job.seed, corpus()), () => process.exit(0));
} else {
  const count = Number(process.argv[2] ?? 1_000_000);
  const seed = Number(process.argv[3] ?? 20_260_401);
  const limitS = Number(process.argv[4] ?? 1200);
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(seed) || !(limitS > 0)) {
    process.stderr.write('usage: fuzz-collector.ts [COUNT (default 1000000)] [SEED] [TIME_LIMIT_SECONDS (default 1200)]\n');
    process.exit(2);
  }
  process.stdout.write(`fuzzing the flow decoder: ${count} inputs, seed ${seed}, time limit ${limitS} s\n`);
  // The decoder loop is synchronous; running it in a child process lets this one stop a hang.
  const worker = fork(fileURLToPath(import.meta.url), ['--child', String(count), String(seed)], { execArgv: process.execArgv });
  const timer = setTimeout(() => {
    process.stderr.write(`FAIL: no result after ${limitS} s: the decoder hangs or is far too slow\n`);
    worker.kill('SIGKILL');
    process.exit(1);
  }, limitS * 1000);
  worker.once('error', (e) => {
    clearTimeout(timer);
    process.stderr.write(`FAIL: the fuzzer crashed: ${e.stack ?? e.message}\n`);
    process.exit(1);
  });
  worker.once('exit', (code) => {
    if (code !== 0) {
      clearTimeout(timer);
      process.stderr.write(`FAIL: the fuzzer exited with ${code}\n`);
      process.exit(1);
    }
  });
  worker.once('message', (msg) => {
    const r = msg as FuzzReport;
    clearTimeout(timer);
    const reasons = Object.entries(r.byReason).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
    process.stdout.write(`inputs ${r.inputs}  flows ${r.flows}  duration ${(r.durationMs / 1000).toFixed(1)} s  slowest decode ${r.slowestDecodeMs.toFixed(2)} ms\n`);
    process.stdout.write(`peak heap ${(r.peakHeapBytes / 1048576).toFixed(1)} MiB  max templates ${r.maxTemplates}  max pending bytes ${r.maxPendingBytes}\n`);
    process.stdout.write(`results by reason:\n${reasons.map(([k, n]) => `  ${k.padEnd(18)} ${n}`).join('\n')}\n`);
    process.stdout.write(`thrown ${r.thrown}  internal ${r.internal}  invariant violations ${r.invariantViolations.length}\n`);
    for (const v of r.invariantViolations.slice(0, 20)) process.stdout.write(`  ${v}\n`);
    const total = reasons.reduce((a, [, n]) => a + n, 0);
    const bad = r.thrown > 0 || r.internal > 0 || r.invariantViolations.length > 0 || r.inputs !== count || total !== count;
    process.stdout.write(bad ? 'FAIL\n' : 'OK\n');
    process.exit(bad ? 1 : 0);
  });
}
