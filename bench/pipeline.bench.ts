// bench/pipeline: end to end on one process — IPFIX decode → adapter (classify, pseudonymize, basis) → every detector — in flows/s and peak RSS, printed beside decode-only in the same run.
import { createHmac } from 'node:crypto';
import { cpus } from 'node:os';
import { createFlowBatch, createFlowDecoder, encodeIpfix, type FlowRecord } from '#modules/collection/index.js';
import { HostTable, adaptFlowBatch, createAnalysisBatch, createDetectors, IndicatorMatcher, type FlowClassifier } from '#modules/analysis/index.js';

const FLOWS = Number(process.env['BENCH_FLOWS'] ?? 10_000_000);
const DISTINCT_PAIRS = FLOWS; // every flow a new (domestic host, foreign host) pair: the memory worst case
const TEMPLATE = 4096; // flows per pre-encoded block, re-addressed per round so pairs stay distinct

function v4(n: number): string { return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`; }

// One block of IPFIX datagrams is encoded once; each round rewrites the address bytes in place, so the
// decoder sees fresh addresses (10 M distinct pairs) without paying the encoder's cost in the timing.
const records: FlowRecord[] = Array.from({ length: TEMPLATE }, (_, k) => ({
  start: Date.UTC(2025, 0, 1) + k * 10, end: Date.UTC(2025, 0, 1) + k * 10 + 500,
  srcAddr: '10.0.0.1', dstAddr: '203.0.113.1', srcPort: 40000 + (k % 20000), dstPort: [443, 80, 53, 123, 22][k % 5]!,
  proto: k % 5 === 2 || k % 5 === 3 ? 17 : 6, tcpFlags: k % 7 === 0 ? 0x02 : 0x1b, bytes: 400 + (k % 1000), packets: 1 + (k % 9),
  samplingRate: 1, inIf: 1, outIf: 2, exporter: '',
}));
const encoded = encodeIpfix(records, { exportTimeMs: Date.UTC(2025, 0, 1), sequence: 0, domainId: 1 });
// Where each record's addresses sit in the datagrams: find the 10.0.0.1 / 203.0.113.1 byte patterns.
const addrOffsets: Array<{ d: number; src: number; dst: number }> = [];
encoded.datagrams.forEach((dg, d) => {
  for (let i = 0; i + 8 <= dg.length; i++) {
    if (dg[i] === 10 && dg[i + 1] === 0 && dg[i + 2] === 0 && dg[i + 3] === 1 && dg[i + 4] === 203 && dg[i + 5] === 0 && dg[i + 6] === 113 && dg[i + 7] === 1) { addrOffsets.push({ d, src: i, dst: i + 4 }); i += 7; }
  }
});

function rewrite(round: number): void {
  // Domestic 10.x.y.z hosts × foreign 100.64+ hosts: pair index = round * TEMPLATE + k, all distinct.
  for (let k = 0; k < addrOffsets.length; k++) {
    const o = addrOffsets[k]!;
    const dg = encoded.datagrams[o.d]!;
    const pair = round * addrOffsets.length + k;
    // 2^20 domestic × 2^20 foreign hosts; (pair mod M, (pair div M + 31·pair) mod M) never repeats a pair.
    const M = 1 << 20;
    const s = (0x0a000000 | (pair % M)) >>> 0;
    const t = (0x40000000 + ((Math.floor(pair / M) + 31 * pair) % M)) >>> 0;
    dg[o.src] = s >>> 24; dg[o.src + 1] = (s >>> 16) & 255; dg[o.src + 2] = (s >>> 8) & 255; dg[o.src + 3] = s & 255;
    dg[o.dst] = t >>> 24; dg[o.dst + 1] = (t >>> 16) & 255; dg[o.dst + 2] = (t >>> 8) & 255; dg[o.dst + 3] = t & 255;
  }
}

const classifier: FlowClassifier = {
  classify: (slots, off) => (slots[off + 12] === 10 ? 'domestic' : 'foreign'),
  pseudonym: (slots, off) => `p:${createHmac('sha256', 'bench-key').update(slots.subarray(off, off + 16)).digest('hex').slice(0, 16)}`,
  basis: () => 'bench-basis',
};

function run(withDetectors: boolean): { flows: number; seconds: number; peakRssMiB: number } {
  const decoder = createFlowDecoder({});
  const batch = createFlowBatch(TEMPLATE + 8192);
  const hosts = new HostTable(8_000_000);
  const out = createAnalysisBatch(TEMPLATE + 8192, hosts);
  const cache = new Map<number | string, number>();
  const detectors = createDetectors(hosts, {}, new IndicatorMatcher(Array.from({ length: 100_000 }, (_, k) => ({ id: `i${k}`, kind: 'ipv4' as const, value: v4(0x60000000 + k * 256) + '/24', confidence: 70 }))));
  let flows = 0;
  let peak = 0;
  let round = 0;
  const t0 = performance.now();
  while (flows < FLOWS) {
    rewrite(round++);
    batch.length = 0;
    for (const dg of encoded.datagrams) decoder.decode(dg, '192.0.2.1', Date.UTC(2025, 0, 1), batch);
    flows += batch.length;
    if (withDetectors) {
      adaptFlowBatch(batch, classifier, out, cache);
      detectors.ingest(out);
      if (round % 256 === 0) detectors.flush(Date.UTC(2025, 0, 1) + round * 1000);
    }
    if (round % 64 === 0) peak = Math.max(peak, process.memoryUsage.rss());
  }
  if (withDetectors) detectors.flush(Date.UTC(2025, 0, 2), true);
  const seconds = (performance.now() - t0) / 1000;
  peak = Math.max(peak, process.memoryUsage.rss());
  return { flows, seconds, peakRssMiB: peak / 2 ** 20 };
}

console.log(`machine: ${cpus().length} cores, ${cpus()[0]?.model ?? '?'}, node ${process.version}; ${FLOWS.toLocaleString()} flows, ${DISTINCT_PAIRS.toLocaleString()} distinct host pairs`);
console.log('path: IPFIX decode → adapter (classify, HMAC pseudonym, basis; stands in for selection) → beacon + scan + DDoS + fan-in + 100k indicators');
const decodeOnly = run(false);
console.log(`decode only:          ${(decodeOnly.flows / decodeOnly.seconds).toFixed(0).padStart(10)} flows/s  peak RSS ${decodeOnly.peakRssMiB.toFixed(0)} MiB`);
(globalThis as { gc?: () => void }).gc?.();
const full = run(true);
console.log(`decode + all detectors: ${(full.flows / full.seconds).toFixed(0).padStart(8)} flows/s  peak RSS ${full.peakRssMiB.toFixed(0)} MiB  (targets: ≥ 1,000,000 flows/s, < 2048 MiB)`);
