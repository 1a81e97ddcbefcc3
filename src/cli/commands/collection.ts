/** @module `mamori collect` (standalone UDP collector, or --stats of a running server) and `mamori flows import`; also the collector component for `serve`/`demo`. */
import type { Command } from 'commander';
import { systemClock } from '#platform/clock/index.js';
import type { Config } from '#platform/config/index.js';
import { AppError } from '#platform/errors/index.js';
import { createLogger, type Logger } from '#platform/logger/index.js';
import type { MetricsRegistry } from '#platform/metrics/index.js';
import type { Component } from '#server/run.js';
import {
  DECODE_ERROR_CODES,
  FLOW_FILE_FORMATS,
  FlowFileError,
  createCountingSink,
  createUdpCollector,
  formatListen,
  importFlowFile,
  parseListen,
  type FlowFileFormat,
  type FlowFileSummary,
  type FlowSink,
  type ListenAddress,
  type UdpCollectorStats,
} from '#modules/collection/index.js';
import { createPipeline, detectorConfigOf } from '#server/pipeline.js';
import { loadCliConfig, withCore } from '../context.js';
import { runEdgeCommand } from './edge.js';
import { Progress } from '../io.js';

/**
 * The collector as a server component, configured by `config.collector` (none when disabled): pass it to
 * `startServer(config, { components: (core, metrics) => collectorComponents(config, metrics, sink) })`.
 * @see RFC 7011 §10.3 (IPFIX over UDP)
 */
export function collectorComponents(config: Config, metrics: MetricsRegistry, sink: FlowSink, logger?: Logger): Component[] {
  if (!config.collector.enabled) return [];
  return [createUdpCollector(config.collector, { sink, metrics, clock: systemClock, ...(logger !== undefined ? { logger } : {}) })];
}

function collectListen(value: string, previous: ListenAddress[]): ListenAddress[] {
  const l = parseListen(value);
  if (l === undefined) throw new AppError('VALIDATION_FAILED', `--listen ${value}: expected host:port or [ipv6]:port, e.g. 127.0.0.1:2055 or [::1]:4739`);
  return [...previous, l];
}

function si(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

function errorSum(e: Partial<Record<string, number>>): number {
  return Object.values(e).reduce<number>((a, b) => a + (b ?? 0), 0);
}

function errorText(e: Partial<Record<string, number>>): string {
  const parts = DECODE_ERROR_CODES.filter((c) => (e[c] ?? 0) > 0).map((c) => `${c}=${e[c]}`);
  return parts.length === 0 ? '-' : parts.join(' ');
}

/** Rows of the per-exporter table printed by `collect --stats` and at the end of `collect`. */
interface ExporterRow {
  exporter: string;
  datagrams: number;
  flows: number;
  lostFlows: number;
  templatesMissing: number;
  errors: Partial<Record<string, number>>;
}

function table(rows: readonly ExporterRow[]): string {
  const head = ['exporter', 'datagrams', 'flows', 'lost flows', 'tmpl missing', 'errors'];
  const body = rows.map((r) => [r.exporter, String(r.datagrams), String(r.flows), String(r.lostFlows), String(r.templatesMissing), errorText(r.errors)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(head), ...body.map(line)].join('\n') + '\n';
}

function rowsOf(s: UdpCollectorStats): ExporterRow[] {
  return Object.entries(s.exporters).sort(([a], [b]) => a.localeCompare(b)).map(([exporter, c]) => ({ exporter, datagrams: c.datagrams, flows: c.flows, lostFlows: c.lostFlows, templatesMissing: c.templatesMissing, errors: c.errors }));
}

/** One Prometheus sample. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (enough of it for our own /metrics). @see https://prometheus.io/docs/instrumenting/exposition_formats/ */
export function parsePrometheusText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** Per-exporter rows from the collector's series on a /metrics page. */
export function exporterRowsFromMetrics(samples: readonly Sample[]): ExporterRow[] {
  const rows = new Map<string, ExporterRow>();
  const row = (exporter: string): ExporterRow => {
    let r = rows.get(exporter);
    if (r === undefined) rows.set(exporter, (r = { exporter, datagrams: 0, flows: 0, lostFlows: 0, templatesMissing: 0, errors: {} }));
    return r;
  };
  for (const s of samples) {
    const ex = s.labels['exporter'];
    if (ex === undefined) continue;
    if (s.name === 'mamori_collector_datagrams_total') row(ex).datagrams = s.value;
    else if (s.name === 'mamori_collector_flows_total') row(ex).flows = s.value;
    else if (s.name === 'mamori_collector_lost_flows_total') row(ex).lostFlows = s.value;
    else if (s.name === 'mamori_collector_templates_missing_total') row(ex).templatesMissing = s.value;
    else if (s.name === 'mamori_collector_decode_errors_total' && s.labels['reason'] !== undefined) row(ex).errors[s.labels['reason']] = s.value;
  }
  return [...rows.values()].sort((a, b) => a.exporter.localeCompare(b.exporter));
}

async function printRemoteStats(url: string): Promise<void> {
  const target = `${url.replace(/\/+$/, '')}/metrics`;
  let text: string;
  try {
    const res = await fetch(target, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new AppError('UNAVAILABLE', `${target} answered ${res.status}; is it a mamori server?`);
    text = await res.text();
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw new AppError('UNAVAILABLE', `cannot read ${target}: ${(e as Error).message}; is mamori serve running there (--url)?`);
  }
  const samples = parsePrometheusText(text);
  const buffers = samples.filter((s) => s.name === 'mamori_collector_receive_buffer_bytes');
  if (buffers.length === 0 && !samples.some((s) => s.name.startsWith('mamori_collector_'))) {
    throw new AppError('NOT_FOUND', `${target} has no collector metrics: the collector is disabled there (collector.enabled) or it is not mamori.`);
  }
  for (const b of buffers) {
    const drops = samples.find((s) => s.name === 'mamori_collector_kernel_drops_total' && s.labels['listener'] === b.labels['listener']);
    process.stdout.write(`listener ${b.labels['listener'] ?? '?'}  receive buffer ${b.value} bytes${drops !== undefined ? `  kernel drops ${drops.value}` : ''}\n`);
  }
  const edge = (outcome: string): number | undefined => samples.find((s) => s.name === 'mamori_edge_flows_total' && s.labels['outcome'] === outcome)?.value;
  if (edge('received') !== undefined) {
    const g = (name: string): number => samples.find((s) => s.name === name)?.value ?? 0;
    process.stdout.write(`edge ${samples.find((s) => s.name === 'mamori_edge_flows_total')?.labels['edge'] ?? '?'}  received ${edge('received')}  kept ${edge('kept')}  published ${edge('published')}  waiting ${g('mamori_edge_waiting_flows')} (${g('mamori_edge_spooled_flows')} spooled)  dropped ${edge('dropped_outbox_full')}  broker ${g('mamori_edge_broker_up') === 1 ? 'up' : 'DOWN'}\n`);
    // What the edge follows from the centre (decision 0011): without current state every flow is dropped before selection.
    const unselected = (reason: string): number => samples.find((s) => s.name === 'mamori_edge_unselected_flows_total' && s.labels['reason'] === reason)?.value ?? 0;
    if (samples.some((s) => s.name === 'mamori_edge_state_current')) {
      process.stdout.write(`edge state ${g('mamori_edge_state_current') === 1 ? 'current' : 'NOT CURRENT (dropping every flow)'}  key periods ${g('mamori_edge_state_key_periods')}  unselected ${unselected('no_state')} (no state) ${unselected('no_key')} (no key)\n`);
    }
  }
  const rows = exporterRowsFromMetrics(samples);
  process.stdout.write(rows.length === 0 ? 'no exporter has sent anything yet\n' : table(rows));
  process.stdout.write(dropsLine(samples));
}

/** Where flows were lost on the server, by place and reason (docs/selection.md#when-the-server-falls-behind). */
export function dropsLine(samples: readonly Sample[]): string {
  const sum = (name: string): number => samples.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);
  const admission = samples.filter((s) => s.name === 'mamori_pipeline_dropped_flows_total');
  const reasons = admission.map((s) => `${s.labels['reason'] ?? '?'} ${s.value}`).join(', ');
  const total = admission.reduce((a, s) => a + s.value, 0);
  return `dropped: at the pipeline's admission ${total} flows${reasons !== '' ? ` (${reasons})` : ''}; receive ring ${sum('mamori_collector_ring_dropped_datagrams_total')} datagrams; `
    + `sink ${sum('mamori_collector_sink_dropped_flows_total')} flows; archive staged ${sum('mamori_archive_staged_flows')} flows\n`;
}

function statsLine(s: UdpCollectorStats, prev: { flows: number; datagrams: number; at: number }, now: number): string {
  const dt = Math.max(0.001, (now - prev.at) / 1000);
  const t = s.totals;
  const drops = s.listeners.reduce((a, l) => a + (l.kernelDrops ?? 0), 0);
  return `${new Date(now).toISOString().slice(11, 19)}Z exporters ${Object.keys(s.exporters).length}  datagrams ${si(t.datagrams)} (${si((t.datagrams - prev.datagrams) / dt)}/s)  flows ${si(t.flows)} (${si((t.flows - prev.flows) / dt)}/s)  errors ${errorSum(t.errors)}  lost ${t.lostFlows}  tmpl-missing ${t.templatesMissing}  kernel-drops ${drops}\n`;
}

function printSummary(s: FlowFileSummary, out: NodeJS.WritableStream): void {
  out.write(`${s.file} (${s.format}): ${s.records} records read, ${s.flows} flows imported, ${s.rejectedTotal} rejected, ${(s.bytes / 1048576).toFixed(1)} MiB in ${(s.durationMs / 1000).toFixed(1)} s\n`);
  for (const [reason, r] of Object.entries(s.rejected)) {
    if (r === undefined) continue;
    const where = s.format === 'pcap' ? 'packets' : 'lines';
    out.write(`  rejected ${reason}: ${r.count}${r.lines.length > 0 ? ` (${where} ${r.lines.join(', ')}${r.count > r.lines.length ? ', …' : ''})` : ''}\n`);
  }
  const labels = Object.entries(s.labels);
  if (labels.length > 0) out.write(`  labels: ${labels.map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
}

/** Registers `collect` and `flows import`. */
export function registerCollectionCommands(program: Command): void {
  program
    .command('collect')
    .description('Run the UDP flow collector standalone (NetFlow v5, v9 and IPFIX on each port), or print a running server\'s collector counters with --stats.')
    .option('-l, --listen <host:port>', 'listen address, repeatable (default: collector.listeners, 127.0.0.1:2055)', collectListen, [] as ListenAddress[])
    .option('--rcvbuf <bytes>', 'socket receive buffer to ask for (default: collector.receiveBufferBytes)')
    .option('--interval <seconds>', 'seconds between stats lines', '10')
    .option('--duration <seconds>', 'stop after this many seconds (default: run until Ctrl-C)')
    .option('--stats', 'print the per-exporter counters of a running server (from its /metrics) and exit')
    .option('--url <url>', 'server to read with --stats (an edge: its --metrics address)', 'http://127.0.0.1:8080')
    .option('--publish <nats-urls>', 'run as a cluster edge: select here and publish to these NATS servers (nats://h:p,…)')
    .option('--edge-id <id>', 'this edge\'s id with --publish (default: cluster.edge.id)')
    .option('--metrics <host:port>', 'where an edge serves /metrics (default: cluster.edge.metricsListen)')
    .action(async (opts: { listen: ListenAddress[]; rcvbuf?: string; interval: string; duration?: string; stats?: boolean; url: string; publish?: string; edgeId?: string; metrics?: string }, cmd: Command) => {
      if (opts.stats === true) return printRemoteStats(opts.url);
      if (opts.publish !== undefined) return runEdgeCommand(cmd, { ...opts, publish: opts.publish });
      const { config } = loadCliConfig(cmd);
      const rcvbuf = opts.rcvbuf !== undefined ? Number(opts.rcvbuf) : config.collector.receiveBufferBytes;
      if (!Number.isInteger(rcvbuf) || rcvbuf < 4096) throw new AppError('VALIDATION_FAILED', `--rcvbuf ${opts.rcvbuf}: expected a whole number of bytes, at least 4096`);
      const interval = Number(opts.interval);
      if (!(interval > 0)) throw new AppError('VALIDATION_FAILED', `--interval ${opts.interval}: expected a positive number of seconds`);
      const duration = opts.duration !== undefined ? Number(opts.duration) : undefined;
      if (duration !== undefined && !(duration > 0)) throw new AppError('VALIDATION_FAILED', `--duration ${opts.duration}: expected a positive number of seconds`);
      const listeners = opts.listen.length > 0 ? opts.listen : config.collector.listeners;
      const sink = createCountingSink();
      const logger = createLogger({ level: config.log.level === 'info' ? 'warn' : config.log.level });
      const collector = createUdpCollector({ ...config.collector, listeners, receiveBufferBytes: rcvbuf }, { sink, clock: systemClock, logger });
      await collector.start();
      for (const l of collector.stats().listeners) {
        process.stdout.write(`listening on ${formatListen(l.address, l.port)} (udp, NetFlow v5/v9/IPFIX), receive buffer ${l.receiveBufferBytes} bytes (asked ${rcvbuf})\n`);
      }
      let prev = { flows: 0, datagrams: 0, at: Date.now() };
      const timer = setInterval(() => {
        const now = Date.now();
        const s = collector.stats();
        process.stdout.write(statsLine(s, prev, now));
        prev = { flows: s.totals.flows, datagrams: s.totals.datagrams, at: now };
      }, interval * 1000);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
        if (duration !== undefined) setTimeout(resolve, duration * 1000).unref();
      });
      clearInterval(timer);
      await collector.stop();
      const s = collector.stats();
      process.stdout.write(statsLine(s, prev, Date.now()));
      process.stdout.write(Object.keys(s.exporters).length === 0 ? 'no exporter sent anything\n' : table(rowsOf(s)));
      process.stdout.write(`flows handed on: ${sink.flows}\n`);
    });

  const flows = program.command('flows').description('Work with flow files.');
  flows
    .command('import')
    .description('Import flow files: Zeek conn logs (TSV or JSON lines), IoT-23 labelled CSV, Argus binetflow, pcaps of captured NetFlow/IPFIX export datagrams.')
    .argument('<files...>', 'files to import')
    .option('-f, --format <format>', `auto|${FLOW_FILE_FORMATS.join('|')}`, 'auto')
    .option('--orig-only', 'one flow per Zeek connection (the originator\'s direction) instead of one per direction')
    .option('--json', 'print the summaries as JSON')
    .option('--check', 'only read, check and count the files; store nothing')
    .option('--utc-offset <minutes>', 'binetflow: the offset from UTC of the local time Argus wrote (e.g. 120 for CEST)', '0')
    .action(async (files: string[], opts: { format: string; origOnly?: boolean; json?: boolean; check?: boolean; utcOffset: string }, cmd: Command) => {
      if (opts.format !== 'auto' && !FLOW_FILE_FORMATS.includes(opts.format as FlowFileFormat)) {
        throw new AppError('VALIDATION_FAILED', `--format ${opts.format}: choose auto, ${FLOW_FILE_FORMATS.join(', ')}`);
      }
      if (!/^[+-]?\d{1,4}$/.test(opts.utcOffset) || Math.abs(Number(opts.utcOffset)) > 14 * 60) {
        throw new AppError('VALIDATION_FAILED', `--utc-offset ${opts.utcOffset}: give whole minutes from -840 to 840 (e.g. 120 for CEST)`);
      }
      // Imported flows take the collector's path: lawful selection, then the archive and the detectors.
      if (opts.check === true) {
        await importFiles(files, opts, createCountingSink());
        return;
      }
      await withCore(cmd, async (core) => {
        // A file can wait for the archive and the detectors: nothing is dropped when they fall behind.
        const pipeline = createPipeline(core, { detectorConfig: detectorConfigOf(core.config), whenBehind: 'wait' });
        await importFiles(files, opts, pipeline.sink);
        const findings = await pipeline.flush(true);
        const st = pipeline.stats();
        process.stdout.write(`selection: ${st.received} flows received, ${st.kept} kept under a legal basis, ${st.received - st.kept} dropped (counted only); ${st.archived} archived; ${findings} findings written or updated\n`);
        if (st.received > 0 && st.kept === 0) process.stdout.write('no flow was covered by an active legal basis: list them with GET /api/v1/legal-bases\n');
      });
    });
}

async function importFiles(files: readonly string[], opts: { format: string; origOnly?: boolean; json?: boolean; utcOffset: string }, sink: FlowSink): Promise<void> {
      const summaries: FlowFileSummary[] = [];
      for (const file of files) {
        let bar: Progress | undefined;
        let summary: FlowFileSummary;
        try {
          summary = await importFlowFile(file, {
            sink,
            format: opts.format as FlowFileFormat | 'auto',
            biflows: opts.origOnly === true ? 'orig' : 'split',
            utcOffsetMinutes: Number(opts.utcOffset),
            onProgress: (done, total) => (bar ??= new Progress(file, total)).update(done),
          });
        } catch (e) {
          if (e instanceof FlowFileError) throw new AppError(e.code === 'NOT_FOUND' ? 'NOT_FOUND' : 'VALIDATION_FAILED', e.message);
          throw e;
        }
        (bar ?? new Progress(file, undefined)).finish(`${summary.flows} flows`);
        summaries.push(summary);
        if (opts.json !== true) printSummary(summary, process.stdout);
      }
      if (opts.json === true) process.stdout.write(`${JSON.stringify(summaries, null, 2)}\n`);
      else if (files.length > 1) {
        const t = summaries.reduce((a, s) => ({ records: a.records + s.records, flows: a.flows + s.flows, rejected: a.rejected + s.rejectedTotal }), { records: 0, flows: 0, rejected: 0 });
        process.stdout.write(`total: ${files.length} files, ${t.records} records, ${t.flows} flows, ${t.rejected} rejected\n`);
      }
}
