/** @module createFlowDecoder: one decoder's state and its three calls (decode dispatching by version, expire, stats). */
import type { FlowBatch } from '../flow-batch.js';
import { DEFAULTS, DecoderState, problem } from './state.js';
import { dropPending, expireDomain, removeTemplate } from './templates.js';
import { type DecodeResult, type ExporterCounters, type FlowDecoder, type FlowDecoderOptions, type FlowDecoderStats, addCounters, newCounters } from './types.js';
import { decodeV5 } from './v5.js';
import { decodeTemplated } from './v9-ipfix.js';
import { u16 } from './wire.js';

/**
 * Creates a decoder for NetFlow v5, v9 and IPFIX with bounded per-exporter template, sampling and
 * pending-data stores.
 * @see RFC 3954 §5–6 (v9), RFC 7011 §3 and §8 (IPFIX), Cisco NetFlow v5 export format
 */
export function createFlowDecoder(options: FlowDecoderOptions = {}): FlowDecoder {
  const s = new DecoderState({ ...DEFAULTS, ...options });

  function expire(nowMs: number): void {
    // Expiry outside decode() must not mark any caller's result.
    const saved = { result: s.result, exp: s.exp };
    s.result = { flows: 0, pending: 0, error: undefined };
    for (const [addr, e] of s.exporters) {
      s.exp = e;
      for (const d of e.domains.values()) expireDomain(s, d, nowMs);
      if (nowMs - e.lastSeenMs > s.cfg.exporterIdleMs) {
        for (const d of e.domains.values()) {
          for (const id of [...d.templates.keys()]) removeTemplate(s, d, id);
          for (let i = d.pending.length - 1; i >= 0; i--) dropPending(s, d, i, 'TEMPLATE_MISSING');
        }
        addCounters(s.retired, e.counters);
        s.exporters.delete(addr);
      }
    }
    s.result = saved.result;
    s.exp = saved.exp;
    s.lastSweepMs = nowMs;
  }

  function decode(datagram: Uint8Array, exporterAddr: string, receivedAtMs: number, batch: FlowBatch): DecodeResult {
    s.out = batch;
    s.result = { flows: 0, pending: 0, error: undefined };
    if (receivedAtMs - s.lastSweepMs >= 1000 || receivedAtMs < s.lastSweepMs) expire(receivedAtMs);
    let e = s.exporters.get(exporterAddr);
    if (e === undefined) {
      if (s.exporters.size >= s.cfg.maxExporters) {
        s.rejected.datagrams++;
        s.exp = { addr: exporterAddr, counters: s.rejected, domains: new Map(), lastSeenMs: receivedAtMs };
        problem(s, 'EXPORTER_LIMIT');
        return s.result;
      }
      e = { addr: exporterAddr, counters: newCounters(), domains: new Map(), lastSeenMs: receivedAtMs };
      s.exporters.set(exporterAddr, e);
    }
    s.exp = e;
    e.lastSeenMs = receivedAtMs;
    e.counters.datagrams++;
    const before = batch.length;
    try {
      if (datagram.length < 2) problem(s, 'TRUNCATED');
      else {
        const version = u16(datagram, 0);
        if (version === 5) decodeV5(s, datagram);
        else if (version === 9) decodeTemplated(s, datagram, 9, receivedAtMs);
        else if (version === 10) decodeTemplated(s, datagram, 10, receivedAtMs);
        else problem(s, 'BAD_VERSION');
      }
    } catch {
      // Defence in depth: a decoder bug must cost one datagram, not the collector; the fuzzer asserts this never counts.
      problem(s, 'INTERNAL');
    }
    s.result.flows = batch.length - before;
    e.counters.flows += s.result.flows;
    return s.result;
  }

  function stats(): FlowDecoderStats {
    const totals = newCounters();
    const byExporter: Record<string, ExporterCounters> = {};
    for (const [addr, e] of s.exporters) {
      byExporter[addr] = { ...e.counters, errors: { ...e.counters.errors } };
      addCounters(totals, e.counters);
    }
    addCounters(totals, s.rejected);
    addCounters(totals, s.retired);
    const { templateCount: templates, templateFields, pendingSets, pendingBytes } = s;
    return { exporters: byExporter, totals, templates, templateFields, pendingSets, pendingBytes };
  }

  return { decode, expire, stats };
}
