/**
 * @module bench/collector: (a) in-process decode rate of NetFlow v5, v9 and IPFIX; (b) loss-free UDP receive rate on
 * loopback of mamori's collector (native recvmmsg receiver, and its JavaScript worker-thread receiver for comparison)
 * and of nfcapd (Debian nfdump), fed the same v5 stream by bench/flowgen.ts in a separate process at increasing
 * rates, interleaved (each rate: every receiver REPEATS times, alternating order).
 * Bounded: at most RATES.length × REPEATS steps per receiver, each ≤ 6 M flows and a 30 s limit. Baseline (issue 4): nfcapd with a 4 MiB buffer stored 10 M v5 flows at 2.0 M flows/s without loss.
 * Leaves out: selection, the detectors and the archive (the collector hands its batches to a counting sink). The server's whole
 * path is bench/ingest.
 * Run: `npm run bench -- collector` (BENCH_COLLECTOR_SECONDS, default 3, sets each step's length; BENCH_COLLECTOR_REPEATS, default 2;
 * BENCH_COLLECTOR_JS=0 leaves out the JavaScript receiver).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCountingSink, createFlowBatch, createFlowDecoder, createUdpCollector, encodeIpfix, encodeNetflowV5, encodeNetflowV9, type FlowRecord } from '#modules/collection/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const RATES = [250_000, 500_000, 1_000_000, 1_500_000, 2_000_000, 2_500_000, 3_000_000, 4_000_000];
const STEP_SECONDS = Number(process.env['BENCH_COLLECTOR_SECONDS'] ?? 3);
const REPEATS = Number(process.env['BENCH_COLLECTOR_REPEATS'] ?? 2);
const MAX_FLOWS = 6_000_000;
const BUFFER = 4 * 1024 * 1024;
const WITH_JS = process.env['BENCH_COLLECTOR_JS'] !== '0';

function records(n: number): FlowRecord[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    start: now - 2000, end: now - 1000, srcAddr: `198.51.${(i >> 8) & 255}.${i & 255}`, dstAddr: '203.0.113.9', srcPort: 1024 + (i % 60000), dstPort: 443,
    proto: 6, tcpFlags: 0x1b, bytes: 1500 + i, packets: 3, samplingRate: 1, inIf: 1, outIf: 2, exporter: '',
  }));
}

// (a) In-process decode rate: the hot loops of collection/flow-decoder/ over pre-encoded datagrams, for at least 1 s each.
function decodeRate(name: string, datagrams: Uint8Array[], templates: Uint8Array[]): { name: string; flowsPerS: number; flowsPerDatagram: number } {
  const decoder = createFlowDecoder();
  const batch = createFlowBatch(65_536);
  const now = Date.now();
  for (const t of templates) decoder.decode(t, '192.0.2.1', now, batch);
  batch.length = 0;
  let flows = 0;
  let n = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < 1000) {
    for (let i = 0; i < 1000; i++) {
      const r = decoder.decode(datagrams[n++ % datagrams.length]!, '192.0.2.1', now, batch);
      flows += r.flows;
      if (batch.length > 60_000) { batch.length = 0; batch.exporters.length = 0; }
    }
    elapsed = performance.now() - started;
  }
  return { name, flowsPerS: flows / (elapsed / 1000), flowsPerDatagram: flows / n };
}

function part1(): { name: string; flowsPerS: number; flowsPerDatagram: number }[] {
  const recs = records(3000);
  const opts = { exportTimeMs: Date.now(), sequence: 0, maxDatagramBytes: 1450 };
  const v5 = encodeNetflowV5(recs, opts).datagrams;
  const v9all = encodeNetflowV9(recs, opts).datagrams;
  const ipfixAll = encodeIpfix(recs, opts).datagrams;
  // Templates travel in the first datagram; the measured loop decodes data-only datagrams, as in steady state.
  const v9 = encodeNetflowV9(recs, { ...opts, withTemplates: false }).datagrams;
  const ipfix = encodeIpfix(recs, { ...opts, withTemplates: false }).datagrams;
  return [decodeRate('NetFlow v5', v5, []), decodeRate('NetFlow v9', v9, v9all.slice(0, 1)), decodeRate('IPFIX', ipfix, ipfixAll.slice(0, 1))];
}

interface Step { target: number; sent: number; achieved: number; stored: number; extra: string }

function runGenerator(port: number, rate: number, flows: number): Promise<{ sentFlows: number; rate: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', join(here, 'flowgen.ts'), '--port', String(port), '--rate', String(rate), '--flows', String(flows), '--limit', '30'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`flowgen exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as { sentFlows: number; rate: number });
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let nextPort = 40_000 + Math.floor(Math.random() * 10_000);

async function mamoriStep(receiver: 'native' | 'js', rate: number, flows: number): Promise<Step> {
  const sink = createCountingSink();
  const port = nextPort++;
  const collector = createUdpCollector({ listeners: [{ host: '127.0.0.1', port }], receiveBufferBytes: BUFFER, batchSize: 8192, flushIntervalMs: 200, templateTimeoutSeconds: 1800, receiver }, { sink, clock: { nowMs: () => Date.now() } });
  await collector.start();
  try {
    // CPU of this whole process (receive thread, decoder, sink) per datagram while the generator sends.
    const cpu0 = process.cpuUsage();
    const g = await runGenerator(port, rate, flows);
    const cpu = process.cpuUsage(cpu0);
    // Drain: wait until the count stops moving.
    let last = -1;
    for (let i = 0; i < 50 && collector.stats().totals.flows !== last; i++) { last = collector.stats().totals.flows; await sleep(100); }
    await collector.flush();
    const s = collector.stats();
    const drops = s.listeners[0]?.kernelDrops;
    const usPerDatagram = (cpu.user + cpu.system) / Math.max(1, s.totals.datagrams);
    return { target: rate, sent: g.sentFlows, achieved: g.rate, stored: sink.flows, extra: `${s.receiver} receiver, ${usPerDatagram.toFixed(1)} µs CPU/datagram, seq-lost ${s.totals.lostFlows}, kernel drops ${drops ?? 'n/a'}, ring drops ${s.ringDroppedDatagrams}, rcvbuf ${s.listeners[0]?.receiveBufferBytes}` };
  } finally {
    await collector.stop();
  }
}

async function nfcapdStep(nfcapd: string, nfdump: string, rate: number, flows: number): Promise<Step> {
  const dir = mkdtempSync(join(tmpdir(), 'mamori-nfcapd-'));
  const port = nextPort++;
  const child = spawn(nfcapd, ['-w', dir, '-p', String(port), '-b', '127.0.0.1', '-B', String(BUFFER), '-t', '3600'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d: Buffer) => { log += d.toString(); });
  try {
    // Wait for its socket (Linux lists it in /proc/net/udp) instead of a fixed delay.
    const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
    for (let i = 0; i < 50 && !readFileSync('/proc/net/udp', 'utf8').includes(hex); i++) await sleep(50);
    const g = await runGenerator(port, rate, flows);
    await sleep(500);
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    const info = spawnSync(nfdump, ['-R', dir, '-I'], { encoding: 'utf8' });
    const m = /^Flows: (\d+)/m.exec(info.stdout);
    const seq = /Sequence Errors: (\d+)/.exec(log);
    return { target: rate, sent: g.sentFlows, achieved: g.rate, stored: m === null ? 0 : Number(m[1]), extra: `sequence errors ${seq?.[1] ?? '?'}` };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

function tool(name: string): string | undefined {
  return ['/usr/sbin', '/usr/bin', '/usr/local/bin'].map((d) => join(d, name)).find((p) => existsSync(p));
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(0)} k`;
}

type Receiver = { name: string; step: (rate: number, flows: number) => Promise<Step> };

// Interleaved: at each rate every receiver runs REPEATS times, alternating which goes first, so both see the
// same machine load (the 2-CPU machine is shared); the load average is printed with each step.
async function sweep(receivers: Receiver[]): Promise<Map<string, Step[]>> {
  const out = new Map<string, Step[]>(receivers.map((r) => [r.name, []]));
  const lossyInARow = new Map<string, number>(receivers.map((r) => [r.name, 0]));
  for (const rate of RATES) {
    const active = receivers.filter((r) => lossyInARow.get(r.name)! < 2);
    if (active.length === 0) break;
    const lossy = new Set<string>();
    for (let rep = 0; rep < REPEATS; rep++) {
      for (const r of rep % 2 === 0 ? active : [...active].reverse()) {
        const s = await r.step(rate, Math.min(MAX_FLOWS, rate * STEP_SECONDS));
        out.get(r.name)!.push(s);
        if (s.stored !== s.sent) lossy.add(r.name);
        process.stdout.write(`  ${r.name.padEnd(9)} target ${fmt(s.target).padStart(8)}/s  achieved ${fmt(s.achieved).padStart(8)}/s  sent ${String(s.sent).padStart(8)}  stored ${String(s.stored).padStart(8)}  ${s.stored === s.sent ? 'no loss' : `LOST ${s.sent - s.stored} (${(((s.sent - s.stored) / s.sent) * 100).toFixed(2)} %)`}  load ${loadavg()[0]!.toFixed(1)}  (${s.extra})\n`);
      }
    }
    // Lossy at two rates in a row: faster rates only lose more.
    for (const r of active) lossyInARow.set(r.name, lossy.has(r.name) ? lossyInARow.get(r.name)! + 1 : 0);
  }
  return out;
}

// A rate counts only when every run at it was loss-free, at the lowest rate the generator achieved in those runs;
// `target` is the highest target rate (the same offered stream for every receiver) at which that held.
function best(steps: Step[]): { achieved: number; target: number } {
  let achieved = 0;
  let target = 0;
  for (const rate of RATES) {
    const at = steps.filter((s) => s.target === rate);
    if (at.length > 0 && at.every((s) => s.stored === s.sent)) {
      achieved = Math.max(achieved, Math.min(...at.map((s) => s.achieved)));
      target = rate;
    }
  }
  return { achieved, target };
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
process.stdout.write(`machine: ${cpus().length} CPUs (${cpu}), node ${process.versions.node}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n\n(a) in-process decode rate\n`);
for (const r of part1()) process.stdout.write(`  ${r.name.padEnd(11)} ${fmt(r.flowsPerS).padStart(9)} flows/s  (${r.flowsPerDatagram.toFixed(1)} flows per datagram)\n`);

process.stdout.write(`\n(b) loss-free UDP receive rate on loopback, NetFlow v5 (30 flows per datagram), ${BUFFER} byte socket buffers asked by both, generator in a separate process, ${REPEATS} runs per rate and receiver\n`);
const nfcapd = tool('nfcapd');
const nfdump = tool('nfdump');
// "mamori" is the collector as deployed (the native receiver; the run fails if its addon is not built), "mamori-js" its worker-thread receiver.
const receivers: Receiver[] = [{ name: 'mamori', step: (rate, flows) => mamoriStep('native', rate, flows) }];
if (WITH_JS) receivers.push({ name: 'mamori-js', step: (rate, flows) => mamoriStep('js', rate, flows) });
if (nfcapd === undefined || nfdump === undefined) process.stdout.write('  nfcapd: not installed (apt-get install -y nfdump); no comparison\n');
else receivers.push({ name: 'nfcapd', step: (rate, flows) => nfcapdStep(nfcapd, nfdump, rate, flows) });
const results = await sweep(receivers);
const nf = results.get('nfcapd') ?? [];

process.stdout.write(`\n  target/s   ${receivers.map((r) => `| ${`${r.name}: achieved rate and loss per run`.padEnd(44)}`).join(' ')}\n`);
for (const rate of RATES) {
  const cell = (steps: Step[]) => {
    const at = steps.filter((s) => s.target === rate);
    if (at.length === 0) return '-'.padEnd(44);
    return at.map((s) => (s.sent === s.stored ? `${fmt(s.achieved)}/s ok` : `${fmt(s.achieved)}/s lost ${(((s.sent - s.stored) / s.sent) * 100).toFixed(1)}%`)).join(', ').padEnd(44);
  };
  if (!receivers.some((r) => results.get(r.name)!.some((s) => s.target === rate))) continue;
  process.stdout.write(`  ${fmt(rate).padStart(9)}  ${receivers.map((r) => `| ${cell(results.get(r.name)!)}`).join(' ')}\n`);
}
const bn = best(nf);
process.stdout.write('\n  highest loss-free rate (every run at the rate without loss; the ratio compares the highest loss-free target, i.e. the same offered stream):\n');
for (const r of receivers) {
  const b = best(results.get(r.name)!);
  const top = b.target === RATES[RATES.length - 1] ? ' (loss-free at every rate offered: the generator, not the receiver, was the limit)' : '';
  process.stdout.write(`    ${r.name.padEnd(9)} ${fmt(b.achieved).padStart(8)} flows/s achieved, target ${fmt(b.target)}/s${top}${r.name !== 'nfcapd' && nf.length > 0 ? `  → ${r.name}/nfcapd ${(b.target / Math.max(1, bn.target)).toFixed(2)}${r.name === 'mamori' ? ' (target ≥ 1.00)' : ''}` : ''}\n`);
}
process.stdout.write('  (a rate is the generator\'s achieved rate; when the generator cannot reach a target, the receivers were not the limit)\n');
