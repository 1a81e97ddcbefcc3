/**
 * @module `npm run eval`: replays every capture in ../shared/testdata through the production path (flow-file import or softflowd →
 * UDP collector → the real selector under a recorded consent agreement → the pipeline's adapter → every detector), scores each
 * class per capture and overall, counts false alarms at alert and suspect level, and exits 1 when a target is missed.
 */
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ADDR_BYTES, createUdpCollector, importFlowFile, readFlow, writeAddress, type FlowBatch, type FlowOrigin } from '#modules/collection/index.js';
import {
  BasisInputSchema, LOC_DOMESTIC, Pseudonymizer, SelectionCounters, compileBases, createLocator, createSelector,
  derivedKeyStore, loadIpLocationDb, type LegalBasis, type Locator,
} from '#modules/selection/index.js';
import { DETECTOR_KINDS, HostTable, createDetectorThreads, createDetectors, type FindingUpdate } from '#modules/analysis/index.js';
import { inThreadDetectors, localKinds, threadedDetectors, type PipelineDetectors } from '#server/pipeline.js';
import { SETS, type DataSet, type Truth } from './eval-sets.js';

const TESTDATA = resolve(process.env['MAMORI_TESTDATA'] ?? join(import.meta.dirname, '../../shared/testdata'));
const SECRET = 'mamori-eval-pseudonym-secret-mamori-eval';
const THREADS = Number(/^--threads=(\d)$/.exec(process.argv.find((a) => a.startsWith('--threads=')) ?? '')?.[1] ?? 0);
const VERBOSE = process.argv.includes('--verbose');
const countryData = loadIpLocationDb();

/** The consent agreement a capture is replayed under, validated as selection validates a recorded basis. */
function consentFor(set: DataSet): LegalBasis {
  const input = BasisInputSchema.parse({
    kind: 'consent_agreement', title: `evaluation: ${set.name}`, operatorOrgId: 'org-eval', createdBy: 'consent-eval-2026',
    selectors: { domesticPrefixes: set.operator },
    validFrom: '1970-01-01T00:00:00Z', validUntil: '2030-01-01T00:00:00Z', retentionDays: 30,
    allowedFields: ['start', 'end', 'srcAddr', 'dstAddr', 'srcPort', 'dstPort', 'proto', 'tcpFlags', 'bytes', 'packets', 'samplingRate'],
  });
  return {
    ...input, id: `consent-eval-${set.name.split(' ')[0]}`, operatorOrgId: input.operatorOrgId ?? null, status: 'active',
    createdAt: '1970-01-01T00:00:00.000Z', createdByActor: 'eval', revokedAt: null, revokedReason: null,
  } as LegalBasis;
}

/** Rewrites every occurrence of one address in a batch (a LAN attacker moved abroad, see DataSet.relocate). */
function relocator(set: DataSet): (batch: FlowBatch) => void {
  if (set.relocate === undefined) return () => {};
  const from = new Uint8Array(ADDR_BYTES), to = new Uint8Array(ADDR_BYTES);
  writeAddress(from, 0, set.relocate.from);
  writeAddress(to, 0, set.relocate.to);
  const same = (a: Uint8Array, o: number) => { for (let k = 0; k < ADDR_BYTES; k++) if (a[o + k] !== from[k]) return false; return true; };
  return (batch) => {
    for (let i = 0; i < batch.length; i++) {
      if (same(batch.srcAddr, i * ADDR_BYTES)) batch.srcAddr.set(to, i * ADDR_BYTES);
      if (same(batch.dstAddr, i * ADDR_BYTES)) batch.dstAddr.set(to, i * ADDR_BYTES);
    }
  };
}

interface RunResult {
  findings: Map<string, FindingUpdate>;
  truth: Truth;
  flows: number;
  kept: number;
  dropped: Record<string, number>;
  /** Pseudonym periods the capture's flows fell in (a domestic truth address is scored under each). */
  periods: Set<string>;
  locator: Locator;
}

function deriveTruth(origins: Map<string, { src: string; dst: string; label: string }>): Truth {
  const cc = new Set<string>(), ddos = new Set<string>(), scanners = new Set<string>();
  for (const o of origins.values()) {
    if (/C&C/i.test(o.label)) cc.add(o.dst);
    if (/DDoS/i.test(o.label)) ddos.add(o.dst);
    if (/PortScan/i.test(o.label)) scanners.add(o.src); // the scanner originates the probes
  }
  return { cc: [...cc], scanners: [...scanners], ddos: [...ddos] };
}

async function runSet(set: DataSet): Promise<RunResult> {
  const basis = consentFor(set);
  const compiled = compileBases([basis]);
  const locator = createLocator({ countrySources: [countryData], domesticPrefixes: set.operator });
  const counters = new SelectionCounters(Date.parse('2029-01-01T00:00:00Z'));
  const selector = createSelector({
    locator, pseudonyms: new Pseudonymizer(derivedKeyStore(SECRET)), rotation: 'monthly',
    clock: { nowMs: () => Date.parse('2029-01-01T00:00:00Z') }, bases: () => compiled, counters,
  });
  let detectors: PipelineDetectors;
  if (THREADS === 0) {
    const hosts = new HostTable();
    detectors = inThreadDetectors(createDetectors(hosts), hosts);
  } else {
    const mine = localKinds(THREADS);
    const pool = createDetectorThreads({ threads: THREADS, kinds: DETECTOR_KINDS.filter((k) => !mine.includes(k)), indicators: [] });
    detectors = threadedDetectors(pool, mine.length > 0 ? createDetectors(pool.hosts, {}, undefined, mine) : undefined);
  }
  const relocate = relocator(set);
  const findings = new Map<string, FindingUpdate>();
  const periods = new Set<string>();
  const keep = (fs: FindingUpdate[]) => { for (const f of fs) findings.set(`${f.kind}|${f.subject.kind}|${f.subject.value}`, f); };
  let flows = 0, kept = 0, maxT = 0;
  // Batches arrive synchronously from the collector's sink; they are analysed one after another.
  let chain = Promise.resolve();
  const consume = (batch: FlowBatch): Promise<void> => {
    flows += batch.length;
    relocate(batch);
    const { kept: sel } = selector.select(batch); // a fresh batch: the detectors may still hold the previous one
    kept += sel.length;
    for (const p of sel.periods) periods.add(p);
    for (let i = 0; i < sel.length; i++) if (sel.end[i]! > maxT) maxT = sel.end[i]!;
    const t = maxT;
    chain = chain.then(async () => { await detectors.ingest(sel); keep(await detectors.flush(t, false)); });
    return chain;
  };
  const labelled = new Map<string, { src: string; dst: string; label: string }>();
  if (set.kind === 'flows') {
    await importFlowFile(join(TESTDATA, set.file), {
      sink: { write: consume },
      ...(set.utcOffsetMinutes !== undefined ? { utcOffsetMinutes: set.utcOffsetMinutes } : {}),
      onBatch: (batch: FlowBatch, origins: readonly FlowOrigin[]) => {
        for (let i = 0; i < batch.length; i++) {
          const o = origins[i];
          if (o?.uid === undefined || labelled.has(o.uid)) continue; // the first row of a uid is the originator's flow
          const f = readFlow(batch, i);
          labelled.set(o.uid, { src: f.srcAddr, dst: f.dstAddr, label: `${o.label ?? ''} ${o.detailedLabel ?? ''}` });
        }
      },
    });
  } else {
    await exportWithSoftflowd(join(TESTDATA, set.file), consume);
  }
  await chain;
  keep(await detectors.flush(maxT, true));
  await detectors.close();
  const dropped: Record<string, number> = {};
  for (const r of counters.snapshot().rows) if (r.outcome !== 'kept') dropped[r.outcome] = (dropped[r.outcome] ?? 0) + r.flows;
  return { findings, truth: set.truth ?? deriveTruth(labelled), flows, kept, dropped, periods, locator };
}

/** Replays a pcap through softflowd into the UDP collector (as an exporter would deliver it). */
async function exportWithSoftflowd(pcap: string, consume: (b: FlowBatch) => Promise<void>): Promise<void> {
  let pending = Promise.resolve();
  const collector = createUdpCollector(
    { listeners: [{ host: '127.0.0.1', port: 0 }], receiveBufferBytes: 8 << 20, batchSize: 4096, flushIntervalMs: 50, templateTimeoutSeconds: 1800 },
    { sink: { write: (b) => (pending = consume(b)) }, clock: { nowMs: () => Date.now() } },
  );
  await collector.start();
  try {
    const port = collector.stats().listeners[0]!.port;
    await new Promise<void>((res, rej) => {
      const p = spawn('softflowd', ['-r', pcap, '-n', `127.0.0.1:${port}`, '-v', '10', '-A', 'milli'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      p.on('error', (e) => rej(new Error(`cannot run softflowd (apt-get install softflowd): ${e.message}`)));
      p.on('exit', (code) => (code === 0 ? res() : rej(new Error(`softflowd exited ${code}: ${err.slice(-500)}`))));
    });
    await new Promise((r) => setTimeout(r, 300));
    await collector.flush();
    await pending;
  } finally {
    await collector.stop();
  }
}

/** The entities an address stands for in findings: itself when foreign, its pseudonym in each period when domestic. */
function entitiesOf(r: RunResult, addr: string): string[] {
  const slot = new Uint8Array(16);
  if (!writeAddress(slot, 0, addr)) throw new Error(`bad truth address ${addr}`);
  if (r.locator.locate(slot, 0) !== LOC_DOMESTIC) return [addr];
  const keys = derivedKeyStore(SECRET);
  return [...r.periods].map((p) => createHmac('sha256', keys.keyFor(p, true)!).update(slot).digest().subarray(0, 16).toString('hex'));
}

interface Score { tp: number; fp: number; fn: number }
const CLASSES = {
  cc: ['beacon', 'botnet-fanin'],
  scanners: ['scan-horizontal', 'scan-vertical'],
  ddos: ['ddos-volumetric', 'ddos-reflection'],
} as const;
type ClassName = keyof typeof CLASSES;
const prf = (s: Score) => ({ p: s.tp + s.fp === 0 ? 1 : s.tp / (s.tp + s.fp), r: s.tp + s.fn === 0 ? 1 : s.tp / (s.tp + s.fn) });

/** Entity-level score of one class: truth entities found at alert level, alert-level entities not in the truth. */
function score(r: RunResult, cls: ClassName, level: 'alert' | 'suspect'): Score & { falseEntities: string[] } {
  const truth: string[][] = r.truth[cls].map((a) => entitiesOf(r, a));
  const ignore = new Set((r.truth.ignore ?? []).flatMap((a) => entitiesOf(r, a)));
  const known = new Set(truth.flat());
  const predicted = new Set([...r.findings.values()].filter((f) => f.level === level && (CLASSES[cls] as readonly string[]).includes(f.kind)).map((f) => f.subject.value));
  const falseEntities = [...predicted].filter((p) => !known.has(p) && !ignore.has(p));
  const tp = truth.filter((names) => names.some((n) => predicted.has(n))).length;
  return { tp, fp: falseEntities.length, fn: truth.length - tp, falseEntities };
}

async function main(): Promise<void> {
  if (!existsSync(TESTDATA)) { console.error(`no test data at ${TESTDATA} (set MAMORI_TESTDATA)`); process.exit(2); }
  const failures: string[] = [];
  const total: Record<ClassName, Score> = { cc: { tp: 0, fp: 0, fn: 0 }, scanners: { tp: 0, fp: 0, fn: 0 }, ddos: { tp: 0, fp: 0, fn: 0 } };
  const labelledClass: Record<ClassName, boolean> = { cc: false, scanners: false, ddos: false };
  const fmt = (s: Score) => (s.tp + s.fp + s.fn === 0 ? '—' : `${s.tp}/${s.fp}/${s.fn}`);
  const tables: Record<DataSet['split'], string[]> = { tuned: [], 'held-out': [] };
  const suspectsReport: string[] = [];
  for (const set of SETS) {
    const r = await runSet(set);
    const all = [...r.findings.values()];
    const alerts = all.filter((f) => f.level === 'alert');
    const suspects = all.filter((f) => f.level === 'suspect');
    const byKind = (fs: FindingUpdate[]) => {
      const m = new Map<string, number>();
      for (const f of fs) m.set(f.kind, (m.get(f.kind) ?? 0) + 1);
      return [...m].map(([k, n]) => `${n} ${k}`).join(', ') || '0';
    };
    const cells: string[] = [];
    for (const cls of Object.keys(CLASSES) as ClassName[]) {
      const s = score(r, cls, 'alert');
      if (r.truth[cls].length > 0) labelledClass[cls] = true;
      total[cls].tp += s.tp; total[cls].fp += s.fp; total[cls].fn += s.fn;
      cells.push(fmt(s));
    }
    const dropped = Object.entries(r.dropped).map(([k, n]) => `${n} ${k}`).join(', ');
    tables[set.split].push(`| ${set.name}${set.benign === true ? ' (benign)' : ''} | ${r.flows} → ${r.kept}${dropped === '' ? '' : ` (dropped: ${dropped})`} | ${cells.join(' | ')} | ${byKind(alerts)} | ${byKind(suspects)} |`);
    if (set.benign === true) {
      suspectsReport.push(`${set.name}: ${suspects.length} suspect(s)${suspects.length > 0 ? `: ${suspects.map((f) => `${f.kind} ${f.subject.value}`).join(', ')}` : ''}`);
      if (alerts.length > 0) failures.push(`${set.name}: ${alerts.length} alert(s) on benign traffic: ${alerts.map((f) => `${f.kind} ${f.subject.value}`).join(', ')}`);
    }
    if (VERBOSE) {
      for (const f of all) console.log(`  ${set.name}: ${f.level} ${f.kind} ${f.subject.kind}=${f.subject.value} score=${f.score.toFixed(3)} ${JSON.stringify(f.scoreDetail.components)} ${JSON.stringify({ ...f.evidence, intervalHistogram: undefined, series: undefined })}`);
    }
  }
  const head = '| data set | flows in → kept | C&C TP/FP/FN | scanners TP/FP/FN | DDoS targets TP/FP/FN | alerts | suspects |\n|---|---|---|---|---|---|---|';
  console.log(`Tuned captures (thresholds were set looking at these):\n${head}\n${tables.tuned.join('\n')}\n`);
  console.log(`Held-out captures (only scored):\n${head}\n${tables['held-out'].join('\n')}\n`);
  for (const cls of Object.keys(CLASSES) as ClassName[]) {
    const { p, r } = prf(total[cls]);
    console.log(`all, ${cls}: TP/FP/FN ${total[cls].tp}/${total[cls].fp}/${total[cls].fn}  precision ${p.toFixed(2)}  recall ${r.toFixed(2)}`);
  }
  console.log(`\nSuspects on benign captures:\n- ${suspectsReport.join('\n- ')}`);
  const cc = prf(total.cc);
  if (cc.p < 0.9) failures.push(`C&C precision ${cc.p.toFixed(2)} < 0.90`);
  if (cc.r < 0.9) failures.push(`C&C recall ${cc.r.toFixed(2)} < 0.90`);
  if (labelledClass.scanners && prf(total.scanners).r < 0.8) failures.push(`scanner recall ${prf(total.scanners).r.toFixed(2)} < 0.80`);
  if (labelledClass.ddos && prf(total.ddos).r < 0.8) failures.push(`DDoS-target recall ${prf(total.ddos).r.toFixed(2)} < 0.80`);
  console.log('\nCounts are entities (C&C endpoints, scanning hosts, DDoS targets) with an alert-level finding. Targets: C&C precision and recall ≥ 0.9;'
    + ' scanner and DDoS-target recall ≥ 0.8 where labelled; no alert of any kind on a benign capture.');
  if (failures.length > 0) {
    console.error(`\nTARGETS MISSED:\n- ${failures.join('\n- ')}`);
    process.exit(1);
  }
  console.log('\nAll targets met.');
}

await main();
