/** @module Imports flow files (Zeek conn logs as TSV or JSON lines, IoT-23 labelled CSV, Argus binetflow, pcaps of captured export datagrams) into FlowBatches, streaming, with a summary of what was rejected and why. */
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { ADDR_BYTES, createFlowBatch, writeAddress, type FlowBatch } from './flow-batch.js';
import { createFlowDecoder, type DecodeErrorCode } from './flow-decoder/index.js';
import { createPacketInfo, parseFrame } from './packet-headers.js';
import { readUdpDatagrams } from './pcap.js';
import { binetflowColumns, binetflowRow, isBinetflowHeader } from './argus.js';
import { formatAddress } from './flow-batch.js';
import type { FlowSink } from './udp-collector.js';

/** The file formats `importFlowFile` reads. */
export type FlowFileFormat = 'zeek-tsv' | 'zeek-json' | 'csv' | 'binetflow' | 'pcap';

/** Every format, in the order `--format` lists them. */
export const FLOW_FILE_FORMATS: readonly FlowFileFormat[] = ['zeek-tsv', 'zeek-json', 'csv', 'binetflow', 'pcap'];

/** Why a line, row or datagram of a flow file was not imported (stable codes; pcap datagrams use the decoder's). */
export type FlowFileRejectReason =
  | 'NO_HEADER'
  | 'COLUMN_COUNT'
  | 'BAD_JSON'
  | 'MISSING_FIELD'
  | 'BAD_ADDRESS'
  | 'BAD_PORT'
  | 'BAD_PROTOCOL'
  | 'BAD_TIME'
  | 'BAD_COUNT'
  | 'NOT_UDP'
  | DecodeErrorCode;

/** Where a flow of a batch came from, and the labels of labelled data sets (kept out of FlowBatch on purpose). */
export interface FlowOrigin {
  /** 1-based line of a text file, or 1-based packet number of a pcap. */
  line: number;
  /** IoT-23 `label` (e.g. "Malicious", "Benign"); undefined when the file has none. */
  label: string | undefined;
  /** IoT-23 `detailed-label` (e.g. "C&C"); undefined when absent or "-". */
  detailedLabel: string | undefined;
  /** Zeek connection uid; both directions of one connection share it. */
  uid: string | undefined;
}

/** Options of an import. */
export interface FlowFileImportOptions {
  /** Default `auto`: pcap by magic number, Zeek TSV by `#` header, JSON by `{`, CSV by a header with `id.orig_h`. */
  format?: FlowFileFormat | 'auto';
  sink: FlowSink;
  batchSize?: number;
  /** Called with each batch and its origins (one per row, same order) just before the sink gets the batch. */
  onBatch?: (batch: FlowBatch, origins: readonly FlowOrigin[]) => void;
  /** Called as the file is read. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  /**
   * Zeek records a connection in both directions; NetFlow records each direction apart. `split` (default)
   * emits the originator's flow and, when the responder sent packets, the responder's; `orig` only the first.
   */
  biflows?: 'split' | 'orig';
  /** Line numbers kept per reject reason for the summary. Default 5. */
  sampleLines?: number;
  /**
   * Argus binetflow only: the offset from UTC (minutes, e.g. 120 for CEST) of the local time Argus wrote
   * its `StartTime` in. Default 0 (the times are taken as UTC).
   */
  utcOffsetMinutes?: number;
}

/** One reject reason: how often, and the first lines (or packets) where it happened. */
export interface RejectCount {
  count: number;
  lines: number[];
}

/** What an import read, wrote and rejected. */
export interface FlowFileSummary {
  file: string;
  format: FlowFileFormat;
  bytes: number;
  /** Data lines, CSV rows, JSON objects, or captured packets read. */
  records: number;
  flows: number;
  rejected: Partial<Record<FlowFileRejectReason, RejectCount>>;
  rejectedTotal: number;
  /** Rows by `label` (labelled files only). */
  labels: Record<string, number>;
  durationMs: number;
}

/** Raised for a file that cannot be imported at all (missing, unknown format); bad rows are counted instead. */
export class FlowFileError extends Error {
  constructor(readonly code: 'NOT_FOUND' | 'UNKNOWN_FORMAT' | 'BAD_FILE', message: string) {
    super(message);
    this.name = 'FlowFileError';
  }
}

const PCAP_MAGICS = new Set([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a]);

/**
 * Guesses the format from the first bytes of a file (and its name as a last resort).
 * @see https://docs.zeek.org/en/master/logs/conn.html (conn.log fields)
 */
export function detectFlowFileFormat(head: Uint8Array, name: string): FlowFileFormat | undefined {
  if (head.length >= 4) {
    const magic = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
    if (PCAP_MAGICS.has(magic)) return 'pcap';
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head.subarray(0, 4096)).replace(/^\uFEFF/, '');
  const first = text.split('\n', 1)[0] ?? '';
  if (first.startsWith('#separator') || first.startsWith('#fields')) return 'zeek-tsv';
  if (first.trimStart().startsWith('{')) return 'zeek-json';
  if (first.includes(',') && first.includes('id.orig_h')) return 'csv';
  if (isBinetflowHeader(first)) return 'binetflow';
  if (/\.binetflow$/i.test(name)) return 'binetflow';
  if (/\.csv$/i.test(name)) return 'csv';
  if (/\.(json|jsonl|ndjson)$/i.test(name)) return 'zeek-json';
  if (/\.(pcap|pcapng|cap)$/i.test(name)) return 'pcap';
  return undefined;
}

const PROTOCOLS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, icmp6: 58, ipv6_icmp: 58, sctp: 132 };

// Zeek's history letters (upper case: originator, lower case: responder) mapped to TCP flag bits.
const HISTORY_FLAGS: Record<string, number> = { s: 0x02, h: 0x12, a: 0x10, d: 0x18, f: 0x01, r: 0x04 };

function historyFlags(history: string | undefined, orig: boolean): number {
  if (history === undefined) return 0;
  let flags = 0;
  for (const ch of history) {
    const lower = ch.toLowerCase();
    if ((ch !== lower) === orig) flags |= HISTORY_FLAGS[lower] ?? 0;
  }
  return flags;
}

/** One Zeek connection, fields as text (Zeek TSV and CSV) or JSON values. */
type Row = (name: string) => unknown;

interface Importer {
  batch: FlowBatch;
  origins: FlowOrigin[];
  summary: FlowFileSummary;
  options: FlowFileImportOptions;
  batchSize: number;
  exporterIndex: number;
  /** Text formats name one exporter for the whole file; pcap rows name the exporter that sent them. */
  exporterName: string | undefined;
}

function reject(imp: Importer, reason: FlowFileRejectReason, line: number): void {
  const max = imp.options.sampleLines ?? 5;
  const r = (imp.summary.rejected[reason] ??= { count: 0, lines: [] });
  r.count++;
  imp.summary.rejectedTotal++;
  if (r.lines.length < max && line > 0) r.lines.push(line);
}

async function flush(imp: Importer): Promise<void> {
  if (imp.batch.length === 0) return;
  imp.options.onBatch?.(imp.batch, imp.origins);
  await imp.options.sink.write(imp.batch);
  imp.summary.flows += imp.batch.length;
  // The sink is done with the batch once write() has settled, so the same columns are refilled.
  imp.batch.length = 0;
  imp.batch.exporters.length = 0;
  if (imp.exporterName !== undefined) imp.batch.exporters.push(imp.exporterName);
  imp.origins = [];
}

function text(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  const s = typeof v === 'string' ? v : String(v);
  return s === '' || s === '-' || s === '(empty)' ? undefined : s;
}

function num(v: unknown): number | undefined {
  const s = text(v);
  if (s === undefined) return undefined;
  const n = Number(s);
  return Number.isFinite(n) && n >= 0 ? n : NaN;
}

function timeMs(v: unknown): number {
  if (typeof v === 'number') return v * 1000;
  const s = text(v);
  if (s === undefined) return NaN;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  // Zeek JSON logs written with iso8601 timestamps.
  return /^\d{4}-\d\d-\d\dT/.test(s) ? Date.parse(s) : NaN;
}

/** Appends the flows of one Zeek connection; rejects it (counted, with its line) when a field is unusable. */
async function addConnection(imp: Importer, row: Row, line: number): Promise<void> {
  imp.summary.records++;
  const srcText = text(row('id.orig_h'));
  const dstText = text(row('id.resp_h'));
  const protoText = text(row('proto'));
  if (srcText === undefined || dstText === undefined || protoText === undefined || text(row('ts')) === undefined) return reject(imp, 'MISSING_FIELD', line);
  const start = timeMs(row('ts'));
  const duration = num(row('duration')) ?? 0;
  if (!Number.isFinite(start) || start < 0 || Number.isNaN(duration)) return reject(imp, 'BAD_TIME', line);
  const srcPort = num(row('id.orig_p')) ?? 0;
  const dstPort = num(row('id.resp_p')) ?? 0;
  if (!Number.isInteger(srcPort) || !Number.isInteger(dstPort) || srcPort > 65535 || dstPort > 65535) return reject(imp, 'BAD_PORT', line);
  let proto = PROTOCOLS[protoText.toLowerCase()] ?? (/^\d{1,3}$/.test(protoText) && Number(protoText) < 256 ? Number(protoText) : -1);
  if (proto < 0) return reject(imp, 'BAD_PROTOCOL', line);
  const origPkts = num(row('orig_pkts')) ?? 0;
  const respPkts = num(row('resp_pkts')) ?? 0;
  const origBytes = num(row('orig_ip_bytes')) ?? num(row('orig_bytes')) ?? 0;
  const respBytes = num(row('resp_ip_bytes')) ?? num(row('resp_bytes')) ?? 0;
  if ([origPkts, respPkts, origBytes, respBytes].some((n) => !Number.isFinite(n))) return reject(imp, 'BAD_COUNT', line);
  const split = (imp.options.biflows ?? 'split') === 'split' && respPkts > 0;
  if (imp.batch.length + (split ? 2 : 1) > imp.batchSize) await flush(imp);
  const b = imp.batch;
  const i = b.length;
  if (!writeAddress(b.srcAddr, i * ADDR_BYTES, srcText) || !writeAddress(b.dstAddr, i * ADDR_BYTES, dstText)) return reject(imp, 'BAD_ADDRESS', line);
  if (proto === 1 && srcText.includes(':')) proto = 58;
  // Zeek puts the ICMP type in orig_p and the code in resp_p; exporters put type*256+code in the destination port.
  const icmp = proto === 1 || proto === 58;
  const label = text(row('label'));
  const origin: FlowOrigin = { line, label, detailedLabel: text(row('detailed-label')), uid: text(row('uid')) };
  const history = text(row('history'));
  const end = start + duration * 1000;
  setRow(b, i, start, end, icmp ? 0 : srcPort, icmp ? ((srcPort & 0xff) << 8) | (dstPort & 0xff) : dstPort, proto, historyFlags(history, true), origBytes, origPkts, imp.exporterIndex);
  imp.origins.push(origin);
  b.length = i + 1;
  if (split) {
    const j = i + 1;
    // Swap: the responder's flow goes from resp_h to orig_h.
    b.srcAddr.set(b.dstAddr.subarray(i * ADDR_BYTES, i * ADDR_BYTES + ADDR_BYTES), j * ADDR_BYTES);
    b.dstAddr.set(b.srcAddr.subarray(i * ADDR_BYTES, i * ADDR_BYTES + ADDR_BYTES), j * ADDR_BYTES);
    setRow(b, j, start, end, icmp ? 0 : dstPort, icmp ? 0 : srcPort, proto, historyFlags(history, false), respBytes, respPkts, imp.exporterIndex);
    imp.origins.push(origin);
    b.length = j + 1;
  }
  if (label !== undefined) imp.summary.labels[label] = (imp.summary.labels[label] ?? 0) + 1;
  if (imp.batch.length >= imp.batchSize) await flush(imp);
}

function setRow(b: FlowBatch, i: number, start: number, end: number, srcPort: number, dstPort: number, proto: number, flags: number, bytes: number, packets: number, exporter: number): void {
  b.start[i] = start;
  b.end[i] = end;
  b.srcPort[i] = srcPort;
  b.dstPort[i] = dstPort;
  b.proto[i] = proto;
  b.tcpFlags[i] = proto === 6 ? flags : 0;
  b.bytes[i] = bytes;
  b.packets[i] = packets;
  b.samplingRate[i] = 1;
  b.inIf[i] = 0;
  b.outIf[i] = 0;
  b.exporterIndex[i] = exporter;
}

/** Splits a CSV line (RFC 4180 quoting). @see RFC 4180 §2 */
export function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') { cur += '"'; i++; }
      else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { out.push(cur); cur = ''; }
    else cur += ch;
  }
  out.push(cur);
  return out;
}

async function readLines(path: string, total: number, options: FlowFileImportOptions, each: (line: string, n: number) => Promise<void>): Promise<void> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let n = 0;
  let lastReport = 0;
  for await (const line of rl) {
    n++;
    await each(line, n);
    if (stream.bytesRead - lastReport >= 1 << 20) {
      lastReport = stream.bytesRead;
      options.onProgress?.(stream.bytesRead, total);
    }
  }
  options.onProgress?.(total, total);
}

async function importZeekTsv(imp: Importer, path: string): Promise<void> {
  let fields: string[] | undefined;
  let index = new Map<string, number>();
  let sep = '\t';
  let values: string[] = [];
  const row: Row = (name) => {
    const i = index.get(name);
    return i === undefined ? undefined : values[i];
  };
  await readLines(path, imp.summary.bytes, imp.options, async (line, n) => {
    if (line.startsWith('#')) {
      if (line.startsWith('#separator ')) sep = line.slice(11).replace(/\\x([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
      else if (line.startsWith('#fields')) {
        // IoT-23's labelled logs join their last columns with spaces ("tunnel_parents   label   detailed-label").
        fields = line.split(sep).slice(1).flatMap((f) => f.trim().split(/\s+/));
        index = new Map(fields.map((f, i) => [f, i]));
      }
      return;
    }
    if (line.trim() === '') return;
    if (fields === undefined) {
      imp.summary.records++;
      return reject(imp, 'NO_HEADER', n);
    }
    values = line.split(sep);
    if (values.length !== fields.length) {
      const spread = values.flatMap((v, i) => (i === values.length - 1 ? v.split(/\s{2,}|\t/) : [v]));
      if (spread.length !== fields.length) {
        imp.summary.records++;
        return reject(imp, 'COLUMN_COUNT', n);
      }
      values = spread;
    }
    await addConnection(imp, row, n);
  });
}

async function importCsv(imp: Importer, path: string): Promise<void> {
  let index: Map<string, number> | undefined;
  let width = 0;
  let values: string[] = [];
  const row: Row = (name) => {
    const i = index?.get(name);
    return i === undefined ? undefined : values[i];
  };
  await readLines(path, imp.summary.bytes, imp.options, async (line, n) => {
    if (line.trim() === '') return;
    if (index === undefined) {
      const names = splitCsvLine(line.replace(/^\uFEFF/, '')).map((s) => s.trim());
      if (!names.includes('id.orig_h')) {
        imp.summary.records++;
        return reject(imp, 'NO_HEADER', n);
      }
      index = new Map(names.map((f, i) => [f, i]));
      width = names.length;
      return;
    }
    values = splitCsvLine(line);
    if (values.length !== width) {
      imp.summary.records++;
      return reject(imp, 'COLUMN_COUNT', n);
    }
    await addConnection(imp, row, n);
  });
}

async function importBinetflow(imp: Importer, path: string): Promise<void> {
  let columns: Map<string, number> | undefined;
  const offset = imp.options.utcOffsetMinutes ?? 0;
  await readLines(path, imp.summary.bytes, imp.options, async (line, n) => {
    if (line.trim() === '') return;
    if (columns === undefined) {
      columns = binetflowColumns(line);
      if (columns === undefined) {
        imp.summary.records++;
        reject(imp, 'NO_HEADER', n);
      }
      return;
    }
    const values = line.split(',');
    if (values.length < columns.size) {
      imp.summary.records++;
      return reject(imp, 'COLUMN_COUNT', n);
    }
    await addConnection(imp, binetflowRow(columns, values, offset), n);
  });
}

async function importZeekJson(imp: Importer, path: string): Promise<void> {
  let obj: Record<string, unknown> = {};
  // Zeek writes "id.orig_h" as a flat key; some pipelines nest it as {"id": {"orig_h": …}}.
  const row: Row = (name) => {
    if (name in obj) return obj[name];
    const dot = name.indexOf('.');
    if (dot < 0) return undefined;
    const outer = obj[name.slice(0, dot)];
    return typeof outer === 'object' && outer !== null ? (outer as Record<string, unknown>)[name.slice(dot + 1)] : undefined;
  };
  await readLines(path, imp.summary.bytes, imp.options, async (line, n) => {
    if (line.trim() === '') return;
    try {
      const v: unknown = JSON.parse(line);
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      obj = v as Record<string, unknown>;
    } catch {
      imp.summary.records++;
      return reject(imp, 'BAD_JSON', n);
    }
    await addConnection(imp, row, n);
  });
}

// Classic pcap is read record by record from the stream; pcapng (rare for exports) is read whole.
const MAX_WHOLE_FILE = 512 * 1024 * 1024;

async function importPcap(imp: Importer, path: string): Promise<void> {
  const decoder = createFlowDecoder();
  const capacity = flowCapacity(imp);
  const pendingLines: number[] = [];
  let packetNo = 0;
  let lastTs = 0;
  const onDatagram = async (payload: Uint8Array, src: string, ts: number): Promise<void> => {
    packetNo++;
    imp.summary.records++;
    lastTs = Number.isFinite(ts) ? ts : lastTs;
    const before = imp.batch.length;
    const r = decoder.decode(payload, src, lastTs, imp.batch);
    const sampleMax = imp.options.sampleLines ?? 5;
    if (r.pending > 0 && pendingLines.length < sampleMax) pendingLines.push(packetNo);
    if (r.error !== undefined) reject(imp, r.error, packetNo);
    for (let i = before; i < imp.batch.length; i++) imp.origins.push({ line: packetNo, label: undefined, detailedLabel: undefined, uid: undefined });
    if (imp.batch.length >= imp.batchSize || capacity - imp.batch.length < 8192) await flush(imp);
  };
  const head = Buffer.alloc(24);
  const fh = await open(path, 'r');
  let headLen: number;
  try {
    headLen = (await fh.read(head, 0, 24, 0)).bytesRead;
  } finally {
    await fh.close();
  }
  const magicLe = head.length >= 4 ? head.readUInt32LE(0) : 0;
  const magicBe = head.length >= 4 ? head.readUInt32BE(0) : 0;
  const classic = headLen >= 24 && [0xa1b2c3d4, 0xa1b23c4d].some((m) => m === magicLe || m === magicBe);
  if (!classic) {
    if (imp.summary.bytes > MAX_WHOLE_FILE) throw new FlowFileError('BAD_FILE', `${path}: pcapng files above ${MAX_WHOLE_FILE >> 20} MiB are not read; convert with: editcap -F pcap IN OUT`);
    const all = await readFile(path);
    imp.options.onProgress?.(all.length, imp.summary.bytes);
    const r = readUdpDatagrams(all);
    if (!r.ok) throw new FlowFileError('BAD_FILE', `${path}: ${r.error.message}`);
    for (const d of r.value) await onDatagram(d.payload, d.srcAddr, d.timestampMs);
  } else {
    const little = magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d;
    const nano = (little ? magicLe : magicBe) === 0xa1b23c4d;
    const linkType = (little ? head.readUInt32LE(20) : head.readUInt32BE(20)) & 0x03ffffff;
    const info = createPacketInfo();
    let buf: Buffer = Buffer.alloc(0);
    let skip = 24;
    let read = 0;
    let packets = 0;
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      read += chunk.length;
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      if (skip > 0) {
        const s = Math.min(skip, buf.length);
        buf = buf.subarray(s);
        skip -= s;
      }
      let at = 0;
      while (buf.length - at >= 16) {
        const incl = little ? buf.readUInt32LE(at + 8) : buf.readUInt32BE(at + 8);
        if (incl > 1 << 24) throw new FlowFileError('BAD_FILE', `${path}: packet ${packets + 1} claims ${incl} captured bytes; the file is damaged`);
        if (buf.length - at < 16 + incl) break;
        const sec = little ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
        const frac = little ? buf.readUInt32LE(at + 4) : buf.readUInt32BE(at + 4);
        const data = buf.subarray(at + 16, at + 16 + incl);
        packets++;
        if (parseFrame(data, 0, data.length, linkType, info) && info.proto === 17 && info.payloadEnd > info.payloadOffset) {
          await onDatagram(data.subarray(info.payloadOffset, info.payloadEnd), formatAddress(info.srcAddr, 0), sec * 1000 + (nano ? frac / 1e6 : frac / 1e3));
        } else {
          packetNo++;
          imp.summary.records++;
          reject(imp, 'NOT_UDP', packetNo);
        }
        at += 16 + incl;
      }
      buf = buf.subarray(at);
      imp.options.onProgress?.(read, imp.summary.bytes);
    }
    if (buf.length > 0) reject(imp, 'TRUNCATED', packetNo + 1);
  }
  // Data still waiting for a template at the end of the file will never be decoded: count it as missing.
  decoder.expire(lastTs + 24 * 3600_000);
  const missing = decoder.stats().totals.templatesMissing;
  if (missing > 0) {
    imp.summary.rejected.TEMPLATE_MISSING = { count: missing, lines: pendingLines };
    imp.summary.rejectedTotal += missing;
  }
}

function flowCapacity(imp: Importer): number {
  return imp.batch.start.length;
}

/**
 * Imports one flow file into `options.sink`, streaming, and returns what was read and rejected.
 * Throws FlowFileError only when the file cannot be read at all; bad rows are counted by reason.
 * @see https://docs.zeek.org/en/master/logs/conn.html, RFC 4180 (CSV), RFC 7011 §10 (pcap of IPFIX over UDP)
 */
export async function importFlowFile(path: string, options: FlowFileImportOptions): Promise<FlowFileSummary> {
  const started = Date.now();
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new FlowFileError('BAD_FILE', `${path} is not a regular file`);
    size = st.size;
  } catch (e) {
    if (e instanceof FlowFileError) throw e;
    throw new FlowFileError('NOT_FOUND', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let format = options.format ?? 'auto';
  if (format === 'auto') {
    const fh = await open(path, 'r');
    const head = Buffer.alloc(4096);
    let n: number;
    try {
      n = (await fh.read(head, 0, head.length, 0)).bytesRead;
    } finally {
      await fh.close();
    }
    const found = detectFlowFileFormat(head.subarray(0, n), path);
    if (found === undefined) throw new FlowFileError('UNKNOWN_FORMAT', `${path}: cannot tell its format; pass --format ${FLOW_FILE_FORMATS.join('|')}`);
    format = found;
  }
  const batchSize = Math.max(2, options.batchSize ?? 4096);
  // pcap batches need room for a whole datagram's flows beyond batchSize.
  const imp: Importer = {
    batch: createFlowBatch(batchSize + (format === 'pcap' ? 16_384 : 0)),
    origins: [],
    summary: { file: path, format, bytes: size, records: 0, flows: 0, rejected: {}, rejectedTotal: 0, labels: {}, durationMs: 0 },
    options,
    batchSize,
    exporterIndex: 0,
    exporterName: format === 'pcap' ? undefined : `file:${basename(path)}`,
  };
  if (imp.exporterName !== undefined) imp.batch.exporters.push(imp.exporterName);
  if (format === 'zeek-tsv') await importZeekTsv(imp, path);
  else if (format === 'csv') await importCsv(imp, path);
  else if (format === 'zeek-json') await importZeekJson(imp, path);
  else if (format === 'binetflow') await importBinetflow(imp, path);
  else await importPcap(imp, path);
  await flush(imp);
  imp.summary.durationMs = Date.now() - started;
  return imp.summary;
}
