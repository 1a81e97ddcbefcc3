/**
 * @module bench/ingest's stream, shared by its generator and its reference run: 4,096 NetFlow v5 datagrams of 30 flows
 * from 16,384 Kanto Electric hosts (133.87.0.0/18, domestic) to the campaign's foreign block (45.33.32.0/24), so every flow is
 * kept under one cross-border basis; times spread over the minute before `baseMs`, bytes 40–1,499 (sums are checked).
 */
import { encodeNetflowV5, type FlowRecord } from '#modules/collection/index.js';

/** Datagrams in the ring the generator cycles through. */
export const RING = 4096;
/** Flows per datagram. */
export const PER = 30;
/** The basis's foreign block and the domestic operator range of the stream. */
export const FOREIGN_PREFIX = '45.33.32.0/24';
export const DOMESTIC_PREFIX = '133.87.0.0/18';

/** The flow `k` of the ring (0 ≤ k < RING × PER). */
export function ringFlow(k: number, baseMs: number): FlowRecord {
  const start = baseMs - 60_000 + (k % 59_000);
  return {
    start, end: start + 500, srcAddr: `133.87.${(k >> 8) & 63}.${k & 255}`, dstAddr: `45.33.32.${(k * 7) & 255}`,
    srcPort: 1024 + (k % 60_000), dstPort: [443, 80, 53, 123, 8443][k % 5]!, proto: k % 5 === 2 || k % 5 === 3 ? 17 : 6, tcpFlags: 0x1b,
    bytes: 40 + (k % 1460), packets: 1 + (k % 7), samplingRate: 1, inIf: 1, outIf: 2, exporter: '',
  };
}

/** The ring's datagrams (sequence numbers are rewritten as they are sent) and each one's byte sum. */
export function ingestRing(baseMs: number): { datagrams: Uint8Array[]; bytes: number[] } {
  const datagrams: Uint8Array[] = [];
  const bytes: number[] = [];
  for (let d = 0; d < RING; d++) {
    const records = Array.from({ length: PER }, (_, i) => ringFlow(d * PER + i, baseMs));
    datagrams.push(encodeNetflowV5(records, { exportTimeMs: baseMs, sequence: 0 }).datagrams[0]!);
    bytes.push(records.reduce((a, r) => a + r.bytes, 0));
  }
  return { datagrams, bytes };
}

/** Flows and byte sum of the first `n` datagrams the generator sends (ring order). */
export function sentTotals(n: number, perDatagramBytes: readonly number[]): { flows: number; bytes: number } {
  const cycle = perDatagramBytes.reduce((a, b) => a + b, 0);
  let bytes = Math.floor(n / RING) * cycle;
  for (let d = 0; d < n % RING; d++) bytes += perDatagramBytes[d]!;
  return { flows: n * PER, bytes };
}
