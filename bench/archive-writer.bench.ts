/**
 * @module bench/archive-writer: CPU per flow of the archive writer alone on fixed inputs — BENCH_ARCHIVE_WRITER_FLOWS
 * (default 3,000,000) kept flows appended in batches of 4,096 (the write-ahead segment), then written as Parquet by the
 * writer's thread — user+sys of every thread of the process, how busy the appending thread was meanwhile (event-loop
 * utilization), and the bytes on disk a flow. Two inputs: `regular` (test-support's synthetic flows: few distinct
 * values, as before) and `varied` (65,536 pseudonymous hosts, foreign addresses over a /12 and some IPv6, random ports,
 * sizes, interfaces and durations: closer to real traffic, harder to encode). CPU time, not wall time, so it means
 * something on a loaded machine; say the load beside it. Before the measured flows, BENCH_ARCHIVE_WRITER_WARMUP segments
 * (default 1, of the writer's 1,048,576 rows) are written and not counted: the server's write thread lives as long as
 * the process, and a fresh thread's first segments ran its loops unoptimized (up to 0.1 µs a flow more in the sort).
 * Run: `npm run bench -- archive-writer`.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openDuckDb } from '#platform/duckdb/index.js';
import { ADDR_FOREIGN, ADDR_PSEUDONYM, createArchiveWriter, createSelectedBatch, type SelectedBatch } from '#modules/selection/index.js';
import { CAT_INBOUND, CAT_OUTBOUND } from '#modules/selection/classify.js';
import { FIELD_BIT } from '#modules/selection/schema.js';
import { syntheticSelected } from '#modules/selection/test-support/selected.js';

const FLOWS = Number(process.env['BENCH_ARCHIVE_WRITER_FLOWS'] ?? 3_000_000);
const BATCH = 4096;
const FILE_ROWS = 1_048_576;
const WARMUP = Number(process.env['BENCH_ARCHIVE_WRITER_WARMUP'] ?? 1);
const ALL_FIELDS = Object.values(FIELD_BIT).reduce((a, b) => a | b, 0);

/** Batch `k` of the varied input (a xorshift stream: the same flows every run). */
function varied(k: number): SelectedBatch {
  const b = createSelectedBatch(BATCH);
  b.length = BATCH;
  b.basisIds = ['b1'];
  b.periods = ['2026-05'];
  b.exporters = ['192.0.2.1/0', '192.0.2.2/0'];
  let x = (Math.imul(k + 1, 2654435761) >>> 0) || 1;
  const rnd = (): number => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  const t0 = Date.parse('2026-05-01T10:00:00Z') + k * 4;
  for (let i = 0; i < BATCH; i++) {
    const out = (rnd() & 1) === 1;
    const host = new Uint8Array(16);
    let h = Math.imul((rnd() & 65535) + 1, 0x9e3779b1) >>> 0;
    for (let j = 0; j < 16; j++) { h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) >>> 0; host[j] = h & 255; }
    const far = new Uint8Array(16);
    if (rnd() % 10 === 0) { far.set([0x20, 0x01, 0x0d, 0xb8]); for (let j = 8; j < 16; j++) far[j] = rnd() & 255; } else far.set([255, 255, 45, 32 + (rnd() & 15), rnd() & 255, rnd() & 255], 10);
    b.basisIndex[i] = 0;
    b.category[i] = out ? CAT_OUTBOUND : CAT_INBOUND;
    b.fields[i] = ALL_FIELDS;
    b.start[i] = t0 + (rnd() % 2000);
    b.end[i] = b.start[i]! + (rnd() % 30_000);
    b.srcAddr.set(out ? host : far, i * 16);
    b.dstAddr.set(out ? far : host, i * 16);
    b.srcKind[i] = out ? ADDR_PSEUDONYM : ADDR_FOREIGN;
    b.dstKind[i] = out ? ADDR_FOREIGN : ADDR_PSEUDONYM;
    b.srcPort[i] = rnd() & 65535;
    b.dstPort[i] = [443, 80, 53, 123, 8443, rnd() & 65535][rnd() % 6]!;
    b.proto[i] = rnd() % 3 === 0 ? 17 : 6;
    b.tcpFlags[i] = rnd() & 0x3f;
    b.bytes[i] = 40 + (rnd() % 100_000);
    b.packets[i] = 1 + (rnd() % 100);
    b.samplingRate[i] = 1;
    b.inIf[i] = rnd() % 8;
    b.outIf[i] = rnd() % 8;
    b.exporterIndex[i] = rnd() & 1;
  }
  return b;
}

const inputs: Record<string, (k: number) => SelectedBatch> = {
  regular: (k) => syntheticSelected(BATCH, { bytes: 1, startMs: Date.parse('2026-05-01T10:00:00Z') + k * 100 }),
  varied,
};

function bytesUnder(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile() && e.name.endsWith('.parquet')) n += statSync(join(e.parentPath, e.name)).size;
  return n;
}

process.stdout.write(`machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
for (const [name, make] of Object.entries(inputs)) {
  const batches = Array.from({ length: Math.ceil(FLOWS / BATCH) }, (_, k) => make(k));
  const rows = batches.length * BATCH;
  const dir = mkdtempSync(join(tmpdir(), 'mamori-archive-writer-bench-'));
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => { const n = chain.then(fn, fn); chain = n.catch(() => undefined); return n; };
  const w = createArchiveWriter({ fileRows: FILE_ROWS, maxAgeSeconds: 3600, bufferRows: 100_000_000, walSyncMs: 1000, thread: true }, { dir, engine: () => openDuckDb(), serial });
  await w.start();
  for (let k = 0; k < (WARMUP * FILE_ROWS) / BATCH; k++) w.append(batches[k % batches.length]!);
  await w.flush();
  const warm = { files: w.stats().filesWritten, bytes: bytesUnder(dir) };
  const us = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage): string => ((b.user + b.system - a.user - a.system) / rows).toFixed(3);
  const c0 = process.cpuUsage();
  for (const b of batches) w.append(b);
  const c1 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t1 = performance.now();
  await w.stop();
  const c2 = process.cpuUsage();
  const elu = performance.eventLoopUtilization(elu0).utilization;
  process.stdout.write(`${name}: ${rows.toLocaleString('en')} flows: append (pipeline's thread) ${us(c0, c1)} µs CPU a flow; write (writer's thread and DuckDB) ${us(c1, c2)} µs CPU a flow, `
    + `${((performance.now() - t1) / 1000).toFixed(1)} s; appending thread busy ${(elu * 100).toFixed(0)} % meanwhile; ${w.stats().filesWritten - warm.files} files, ${((bytesUnder(dir) - warm.bytes) / rows).toFixed(1)} bytes a flow on disk\n`);
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`load ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
