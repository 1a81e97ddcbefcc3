// bench/indicators: building the indicator matcher from 1,000,000 IPv4 indicators and looking up 1,000,000 addresses, beside a plain Map built and probed with the same addresses in the same run.
import { availableParallelism, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { IndicatorMatcher } from '#modules/analysis/index.js';

const N = Number(process.env['BENCH_INDICATORS'] ?? 1_000_000);
const ROUNDS = 5;
const v4 = (n: number): string => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
// Addresses spread over the whole space by a multiplicative hash; every lookup hits (as a flow matching an indicator would).
const addr = (k: number): number => Math.imul(k, 2654435761) >>> 0;
const list = Array.from({ length: N }, (_, k) => ({ id: `x${k}`, kind: 'ipv4' as const, value: v4(addr(k)), confidence: 60 }));

function matcherRound(): { buildMs: number; lookupNs: number } {
  const t0 = performance.now();
  const m = new IndicatorMatcher(list);
  const buildMs = performance.now() - t0;
  const t1 = performance.now();
  let hits = 0;
  for (let k = 0; k < N; k++) if (m.matchV4(addr(k)) >= 0) hits++;
  const lookupNs = ((performance.now() - t1) * 1e6) / N;
  if (hits !== N) throw new Error(`matcher found ${hits} of ${N}`);
  return { buildMs, lookupNs };
}

// Baseline: the least a lookup structure must do — parse the same text and fill a Map keyed by address.
function mapRound(): { buildMs: number; lookupNs: number } {
  const t0 = performance.now();
  const m = new Map<number, number>();
  for (let i = 0; i < list.length; i++) {
    const p = list[i]!.value.split('.');
    m.set(((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0, i);
  }
  const buildMs = performance.now() - t0;
  const t1 = performance.now();
  let hits = 0;
  for (let k = 0; k < N; k++) if (m.get(addr(k)) !== undefined) hits++;
  const lookupNs = ((performance.now() - t1) * 1e6) / N;
  if (hits !== N) throw new Error(`map found ${hits} of ${N}`);
  return { buildMs, lookupNs };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ours: { buildMs: number; lookupNs: number }[] = [];
const base: { buildMs: number; lookupNs: number }[] = [];
for (let r = 0; r < ROUNDS; r++) { ours.push(matcherRound()); base.push(mapRound()); }
const b1 = median(ours.map((x) => x.buildMs)), l1 = median(ours.map((x) => x.lookupNs));
const b0 = median(base.map((x) => x.buildMs)), l0 = median(base.map((x) => x.lookupNs));
process.stdout.write(`machine: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? '?'}), Node ${process.version}; ${N.toLocaleString('en')} IPv4 indicators, median of ${ROUNDS} rounds\n`);
process.stdout.write(`| structure | build | lookup | \n|---|---|---|\n`);
process.stdout.write(`| IndicatorMatcher (prefixes, ports, IPv6 too) | ${(b1 / 1000).toFixed(2)} s | ${l1.toFixed(0)} ns |\n`);
process.stdout.write(`| baseline: Map<address, index> | ${(b0 / 1000).toFixed(2)} s | ${l0.toFixed(0)} ns |\n`);
process.stdout.write(`build ratio ${(b1 / b0).toFixed(2)}, lookup ratio ${(l1 / l0).toFixed(2)} (issue 7: "stays fast at a million indicators")\n`);
