// bench/selection: flows/s of classify + select + minimize on one core over a realistic mix, beside a loop doing only the country lookup.
import { availableParallelism, cpus } from 'node:os';
import { addressView, appendFlow, createFlowBatch, type FlowBatch } from '#modules/collection/index.js';

import { compileBases, lookupSlotAt, createLocator, createSelector, createSelectedBatch, derivedKeyStore, loadIpLocationDb, Pseudonymizer, SelectionCounters, type LegalBasis } from '#modules/selection/index.js';


const TARGET = 3_000_000;
const BATCH = 8192;
const BATCHES = 64;

// Deterministic PRNG (mulberry32) so every run sees the same mix.
let seed = 0x5eed;
const rnd = (): number => { seed |= 0; seed = (seed + 0x6d2b79f5) | 0; let t = Math.imul(seed ^ (seed >>> 15), 1 | seed); t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;

// Domestic hosts: 20 000 addresses in JP blocks and operators' ranges; foreign: spread over several countries.
const v4 = (a: number): string => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
const domestic = Array.from({ length: 20_000 }, (_, i) => (i % 10 === 0 ? `2400:2000::${(i + 1).toString(16)}` : v4(((133 << 24) | Math.floor(rnd() * 0xffffff)) >>> 0)));
const foreignBases = [0x08000000, 0x24000000, 0x05000000, 0x17000000, 0x68000000, 0xb9000000];
const foreign = Array.from({ length: 50_000 }, (_, i) => (i % 10 === 0 ? `2001:4860::${(i + 1).toString(16)}` : v4((pick(foreignBases) + Math.floor(rnd() * 0xffffff)) >>> 0)));
const exporters = ['203.0.113.1/0', '203.0.113.2/0', '203.0.113.3/0', '203.0.113.4/0'];
const now = Date.parse('2026-05-01T00:00:00Z');

function makeBatch(): FlowBatch {
  const b = createFlowBatch(BATCH);
  for (let i = 0; i < BATCH; i++) {
    const r = rnd();
    // Half transit or cross-border with a foreign endpoint, a third domestic↔domestic, the rest cross-border the other way.
    let s: string, d: string;
    if (r < 1 / 3) { s = pick(domestic); d = pick(domestic); }
    else if (r < 1 / 3 + 1 / 6) { s = pick(foreign); d = pick(foreign); }
    else if (r < 1 / 3 + 1 / 6 + 1 / 4) { s = pick(foreign); d = pick(domestic); }
    else { s = pick(domestic); d = pick(foreign); }
    const t = now - Math.floor(rnd() * 3_600_000);
    appendFlow(b, { start: t, end: t + Math.floor(rnd() * 60_000), srcAddr: s, dstAddr: d, srcPort: pick([443, 53, 80, 4444, 51000, 22]), dstPort: pick([443, 53, 80, 8080, 52000, 3389]), proto: pick([6, 6, 6, 17, 1]), tcpFlags: 0x1b, bytes: 1500, packets: 3, samplingRate: 1, inIf: 1, outIf: 2, exporter: pick(exporters) });
  }
  return b;
}

const mk = (id: string, kind: LegalBasis['kind'], sel: Partial<LegalBasis['selectors']>, fields: LegalBasis['allowedFields']): LegalBasis => ({
  id, kind, title: id, selectors: { exporters: [], foreignPrefixes: [], domesticPrefixes: [], ports: [], protocols: [], ...sel },
  validFrom: '2026-04-01T00:00:00.000Z', validUntil: '2026-06-30T00:00:00.000Z', allowedFields: fields, retentionDays: 90, createdBy: 'bench', operatorOrgId: null,
  status: 'active', createdAt: '2026-04-01T00:00:00.000Z', createdByActor: 'bench', revokedAt: null, revokedReason: null,
});
const ALL: LegalBasis['allowedFields'] = ['start', 'end', 'srcAddr', 'dstAddr', 'srcPort', 'dstPort', 'proto', 'tcpFlags', 'bytes', 'packets', 'exporter'];
const bases = [
  mk('transit-us-cn', 'transit_approval', { foreignPrefixes: ['8.0.0.0/8', '36.0.0.0/8', '2001:4860::/32'] }, ALL),
  mk('transit-443', 'transit_approval', { foreignPrefixes: ['5.0.0.0/8', '23.0.0.0/8'], ports: [443, 4444] }, ['start', 'srcAddr', 'dstAddr', 'dstPort', 'bytes']),
  mk('xb-c2', 'cross_border_approval', { foreignPrefixes: ['104.0.0.0/8', '185.0.0.0/8', '36.0.0.0/10'], protocols: [6] }, ALL),
  mk('xb-dns', 'cross_border_approval', { foreignPrefixes: ['8.8.0.0/16', '5.0.0.0/9'], ports: [53] }, ['start', 'end', 'srcAddr', 'dstAddr', 'proto']),
  { ...mk('consent-kanto', 'consent_agreement', { domesticPrefixes: ['133.0.0.0/10', '2400:2000::/20'], exporters: exporters.slice(0, 2) }, ALL), operatorOrgId: 'kanto' },
  { ...mk('consent-bank', 'consent_agreement', { domesticPrefixes: ['133.128.0.0/10'] }, ALL), operatorOrgId: 'bank' },
];

process.stdout.write('loading country data… ');
const t0 = performance.now();
const locator = createLocator({ countrySources: [loadIpLocationDb()], domesticPrefixes: ['203.0.113.0/24'] });
process.stdout.write(`${((performance.now() - t0) / 1000).toFixed(2)} s\n`);
const batches = Array.from({ length: BATCHES }, makeBatch);
const compiled = compileBases(bases);
const counters = new SelectionCounters(now);
const selector = createSelector({ locator, pseudonyms: new Pseudonymizer(derivedKeyStore('bench-secret-bench-secret-bench-secret'), 1 << 16), rotation: 'monthly', clock: { nowMs: () => now }, bases: () => compiled, counters });
const out = createSelectedBatch(BATCH);


function lookupOnly(): number {
  let acc = 0;
  const t = locator.table;
  for (const b of batches) {
    const sv = addressView(b.srcAddr), dv = addressView(b.dstAddr);
    for (let i = 0; i < b.length; i++) acc += lookupSlotAt(t, sv, i * 16, 0) + lookupSlotAt(t, dv, i * 16, 0);
  }
  return acc;
}
function full(): number {
  let kept = 0;
  for (const b of batches) kept += selector.select(b, out).kept.length;
  return kept;
}

const total = BATCH * BATCHES;
for (let w = 0; w < 3; w++) { lookupOnly(); full(); } // warm-up: JIT and the pseudonym cache
const rounds = 7;
const rate = (fn: () => number): number => {
  const rs: number[] = [];
  for (let r = 0; r < rounds; r++) { const s = performance.now(); fn(); rs.push(total / ((performance.now() - s) / 1000)); }
  rs.sort((a, b) => a - b);
  return rs[Math.floor(rounds / 2)]!;
};
const lookup = rate(lookupOnly);
const sel = rate(full);
const keptPerRound = full();
const snap = counters.snapshot().rows;
const byOutcome = new Map<string, number>();
for (const r of snap) byOutcome.set(r.outcome, (byOutcome.get(r.outcome) ?? 0) + r.flows);
const f = (x: number): string => `${(x / 1e6).toFixed(2)} M flows/s`;
console.log(`machine: ${availableParallelism()} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}`);
console.log(`mix: ${total} flows per round; kept ${keptPerRound} (${((100 * keptPerRound) / total).toFixed(1)} %); outcomes so far: ${[...byOutcome].map(([k, v]) => `${k} ${v}`).join(', ')}`);
console.log(`country lookup only (2 per flow):   ${f(lookup)}`);
console.log(`classify + select + minimize:       ${f(sel)}   (target ≥ ${f(TARGET)}: ${sel >= TARGET ? 'met' : 'NOT met'})`);
