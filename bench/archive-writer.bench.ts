/**
 * @module bench/archive-writer: CPU per flow of the archive writer alone on a fixed input — BENCH_ARCHIVE_WRITER_FLOWS
 * (default 3,000,000) synthetic kept flows appended in batches of 4,096 (the write-ahead segment), then written as Parquet
 * by the writer's thread — user+sys of every thread of the process, and how busy the appending thread was meanwhile
 * (event-loop utilization). CPU time, not wall time, so it means something on a loaded machine; say the load beside it.
 * Run: `npm run bench -- archive-writer`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openDuckDb } from '#platform/duckdb/index.js';
import { createArchiveWriter } from '#modules/selection/index.js';
import { syntheticSelected } from '#modules/selection/test-support/selected.js';

const FLOWS = Number(process.env['BENCH_ARCHIVE_WRITER_FLOWS'] ?? 3_000_000);
const BATCH = 4096;
process.stdout.write(`machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
const batches = Array.from({ length: Math.ceil(FLOWS / BATCH) }, (_, k) => syntheticSelected(BATCH, { bytes: 1, startMs: Date.parse('2026-05-01T10:00:00Z') + k * 100 }));
const rows = batches.length * BATCH;
const dir = mkdtempSync(join(tmpdir(), 'mamori-archive-writer-bench-'));
let chain: Promise<unknown> = Promise.resolve();
const serial = <T>(fn: () => Promise<T>): Promise<T> => { const n = chain.then(fn, fn); chain = n.catch(() => undefined); return n; };
const w = createArchiveWriter({ fileRows: 1_048_576, maxAgeSeconds: 3600, bufferRows: 100_000_000, walSyncMs: 1000, thread: true }, { dir, engine: () => openDuckDb(), serial });
await w.start();
const us = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage): string => ((b.user + b.system - a.user - a.system) / rows).toFixed(3);
const c0 = process.cpuUsage();
for (const b of batches) w.append(b);
const c1 = process.cpuUsage();
const elu0 = performance.eventLoopUtilization();
const t1 = performance.now();
await w.stop();
const c2 = process.cpuUsage();
const elu = performance.eventLoopUtilization(elu0).utilization;
process.stdout.write(`${rows.toLocaleString('en')} flows: append (pipeline's thread) ${us(c0, c1)} µs CPU a flow; write (writer's thread and DuckDB) ${us(c1, c2)} µs CPU a flow, `
  + `${((performance.now() - t1) / 1000).toFixed(1)} s; appending thread busy ${(elu * 100).toFixed(0)} % meanwhile; ${w.stats().filesWritten} files\n`);
process.stdout.write(`load ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
rmSync(dir, { recursive: true, force: true });
