/** @module Mutation fuzzer for the flow decoder: deterministic, bounded, and reporting counts by reason and peak heap (run in CI with a million inputs). */
import { type FlowRecord, createFlowBatch } from './flow-batch.js';
import { DECODE_ERROR_CODES, type DecodeErrorCode, type FlowDecoderOptions, createFlowDecoder } from './flow-decoder/index.js';
import { encodeIpfix, encodeNetflowV5, encodeNetflowV9 } from './encode.js';

/** What a fuzzing run saw; a healthy decoder shows `thrown`, `internal` and `invariantViolations` at 0. */
export interface FuzzReport {
  inputs: number;
  seed: number;
  /** Results by the first problem a datagram met; `OK` when none. */
  byReason: Record<DecodeErrorCode | 'OK', number>;
  flows: number;
  thrown: number;
  internal: number;
  invariantViolations: string[];
  maxTemplates: number;
  maxPendingBytes: number;
  slowestDecodeMs: number;
  peakHeapBytes: number;
  durationMs: number;
}

/** Limits used while fuzzing: small, so the bounds are actually reached. */
export const FUZZ_LIMITS = {
  maxExporters: 8,
  maxDomainsPerExporter: 4,
  maxTemplatesPerDomain: 16,
  maxTemplates: 64,
  maxTemplateFields: 4096,
  maxPendingSetsPerDomain: 4,
  maxPendingBytes: 64 * 1024,
  templateTimeoutMs: 60_000,
  pendingTimeoutMs: 5_000,
  exporterIdleMs: 120_000,
} satisfies FlowDecoderOptions;

/** A small, fast, seedable PRNG (mulberry32), so every run can be replayed from its seed. */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Valid datagrams of all three versions, built by the encoder, to mutate when no real corpus is given. */
export function syntheticCorpus(): Uint8Array[] {
  const base: FlowRecord = { start: 1_700_000_000_000, end: 1_700_000_001_000, srcAddr: '198.51.100.7', dstAddr: '203.0.113.9', srcPort: 51000, dstPort: 443, proto: 6, tcpFlags: 0x1b, bytes: 15000, packets: 10, samplingRate: 10, inIf: 3, outIf: 4, exporter: '' };
  const records = [base, { ...base, srcAddr: '2001:db8::7', dstAddr: '2001:db8:1::9', proto: 17, samplingRate: 1, bytes: 99, packets: 1 }];
  const opts = { exportTimeMs: 1_700_000_002_000, sequence: 1, domainId: 1 };
  return [
    ...encodeNetflowV5([base], opts).datagrams,
    ...encodeNetflowV9(records, opts).datagrams,
    ...encodeIpfix(records, opts).datagrams,
  ];
}

function mutate(input: Uint8Array, corpus: readonly Uint8Array[], rnd: () => number): Uint8Array {
  const pick = (n: number): number => Math.floor(rnd() * n);
  // A copy even when the corpus holds Node Buffers, whose slice() shares memory.
  const b = new Uint8Array(input);
  switch (pick(7)) {
    case 0: {
      // Bit flips.
      const flips = 1 + pick(8);
      for (let i = 0; i < flips && b.length > 0; i++) b[pick(b.length)]! ^= 1 << pick(8);
      return b;
    }
    case 1:
      // Truncation.
      return b.subarray(0, pick(b.length + 1));
    case 2: {
      // Length-field corruption: message length, a set length, a template field length or count.
      if (b.length < 4) return b;
      const at = pick(3) === 0 ? 2 : pick(b.length - 1);
      const v = [0, 1, 3, 4, 5, 0xff, 0x100, 0xffff, pick(0x10000)][pick(9)]!;
      b[at] = v >> 8;
      b[at + 1] = v & 0xff;
      return b;
    }
    case 3: {
      // Random bytes with a plausible version, so the deeper paths see them.
      const r = new Uint8Array(pick(1500));
      for (let i = 0; i < r.length; i++) r[i] = pick(256);
      if (r.length >= 2) { r[0] = 0; r[1] = [5, 9, 10][pick(3)]!; }
      return r;
    }
    case 4: {
      // Splice: the head of one datagram, the tail of another.
      const other = corpus[pick(corpus.length)]!;
      const cut = pick(b.length + 1);
      const out = new Uint8Array(cut + other.length - Math.min(cut, other.length));
      out.set(b.subarray(0, cut));
      out.set(other.subarray(Math.min(cut, other.length)), cut);
      return out;
    }
    case 5: {
      // Overwrite a run with one byte value (zero-length fields, 0xff var-length markers).
      const v = [0, 0xff, pick(256)][pick(3)]!;
      const from = pick(b.length + 1);
      b.fill(v, from, Math.min(b.length, from + 1 + pick(16)));
      return b;
    }
    default:
      // Unmodified: keeps templates flowing so data sets are decoded, not just rejected.
      return b;
  }
}

/**
 * Feeds `count` mutated datagrams (from `corpus`, or the synthetic one) through one decoder and checks
 * its invariants: no throw, no internal error, each failed result counted under its reason, stores
 * within their limits.
 * @see RFC 7011 §10.4 (a collector must withstand malformed and malicious messages)
 */
export function runFuzz(count: number, seed: number, corpus: readonly Uint8Array[] = syntheticCorpus()): FuzzReport {
  const rnd = createRandom(seed);
  const decoder = createFlowDecoder(FUZZ_LIMITS);
  const batch = createFlowBatch(1 << 16);
  const byReason = Object.fromEntries([...DECODE_ERROR_CODES, 'OK'].map((k) => [k, 0])) as Record<DecodeErrorCode | 'OK', number>;
  const report: FuzzReport = { inputs: 0, seed, byReason, flows: 0, thrown: 0, internal: 0, invariantViolations: [], maxTemplates: 0, maxPendingBytes: 0, slowestDecodeMs: 0, peakHeapBytes: 0, durationMs: 0 };
  const exportersPool = Array.from({ length: 9 }, (_, i) => `192.0.2.${i + 1}`);
  const began = performance.now();
  let clock = 1_700_000_000_000;
  const check = (): void => {
    const s = decoder.stats();
    report.maxTemplates = Math.max(report.maxTemplates, s.templates);
    report.maxPendingBytes = Math.max(report.maxPendingBytes, s.pendingBytes);
    if (s.templates > FUZZ_LIMITS.maxTemplates) report.invariantViolations.push(`templates ${s.templates} > ${FUZZ_LIMITS.maxTemplates}`);
    if (s.templateFields > FUZZ_LIMITS.maxTemplateFields) report.invariantViolations.push(`template fields ${s.templateFields} > ${FUZZ_LIMITS.maxTemplateFields}`);
    if (s.pendingBytes > FUZZ_LIMITS.maxPendingBytes) report.invariantViolations.push(`pending bytes ${s.pendingBytes} > ${FUZZ_LIMITS.maxPendingBytes}`);
    if (Object.keys(s.exporters).length > FUZZ_LIMITS.maxExporters) report.invariantViolations.push('too many exporters');
    // Every result that named a reason was counted under it (counters may be higher: one datagram can have several problems).
    for (const code of DECODE_ERROR_CODES) {
      if ((s.totals.errors[code] ?? 0) < byReason[code]) report.invariantViolations.push(`${code}: ${byReason[code]} results, ${s.totals.errors[code] ?? 0} counted`);
    }
    report.peakHeapBytes = Math.max(report.peakHeapBytes, process.memoryUsage().heapUsed);
  };
  for (let i = 0; i < count; i++) {
    const input = mutate(corpus[Math.floor(rnd() * corpus.length)]!, corpus, rnd);
    const exporter = exportersPool[Math.floor(rnd() * exportersPool.length)]!;
    clock += Math.floor(rnd() * 50);
    batch.length = 0;
    batch.exporters.length = 0;
    const t0 = performance.now();
    try {
      const r = decoder.decode(input, exporter, clock, batch);
      byReason[r.error ?? 'OK']++;
      report.flows += r.flows;
      if (r.error === 'INTERNAL') report.internal++;
    } catch {
      report.thrown++;
    }
    report.slowestDecodeMs = Math.max(report.slowestDecodeMs, performance.now() - t0);
    report.inputs++;
    if (i % 1000 === 999) check();
  }
  check();
  report.durationMs = performance.now() - began;
  return report;
}
