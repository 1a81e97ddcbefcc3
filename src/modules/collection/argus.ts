/** @module Argus bidirectional flow records (`.binetflow` CSV, as the CTU/Stratosphere data sets publish them) read as Zeek-like connections. */

/** A binetflow header names at least these columns. */
const REQUIRED = ['StartTime', 'Dur', 'Proto', 'SrcAddr', 'Sport', 'DstAddr', 'Dport', 'TotPkts', 'TotBytes'] as const;

/** True when a CSV header line is an Argus binetflow header (`StartTime,Dur,Proto,SrcAddr,…`). */
export function isBinetflowHeader(line: string): boolean {
  const names = new Set(line.replace(/^\uFEFF/, '').split(',').map((s) => s.trim()));
  return REQUIRED.every((c) => names.has(c));
}

/** The column indexes of a binetflow header, or undefined when it lacks a required column. */
export function binetflowColumns(header: string): Map<string, number> | undefined {
  const names = header.replace(/^\uFEFF/, '').split(',').map((s) => s.trim());
  const index = new Map(names.map((n, i) => [n, i]));
  return REQUIRED.every((c) => index.has(c)) ? index : undefined;
}

const TIME = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)?$/;

/**
 * Milliseconds since the epoch of an Argus `StartTime` ("2013/10/21 13:22:59.340835"), which Argus writes
 * in the capture's local time: `utcOffsetMinutes` is that zone's offset (+120 for CEST). NaN when malformed.
 */
export function argusTimeMs(text: string, utcOffsetMinutes: number): number {
  const m = TIME.exec(text.trim());
  if (m === null) return NaN;
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) + (frac === undefined ? 0 : Number(frac) * 1000);
  return ms - utcOffsetMinutes * 60_000;
}

/** An Argus port: decimal, or hex ("0x0303", which Argus writes for ICMP type and code); NaN when malformed, undefined when empty. */
function argusPort(text: string | undefined): number | undefined {
  const s = text?.trim() ?? '';
  if (s === '') return undefined;
  const n = /^0x[0-9a-f]+$/i.test(s) ? parseInt(s.slice(2), 16) : /^\d+$/.test(s) ? Number(s) : NaN;
  return n;
}

// Argus TCP state letters (one side's flags before "_", the other's after) as Zeek history letters.
const STATE_TO_HISTORY: Record<string, string> = { S: 's', A: 'a', P: 'd', F: 'f', R: 'r' };

/** A Zeek-style history string from an Argus TCP state ("FSPA_FSRPA": originator's flags, then the responder's). */
function historyOf(state: string): string | undefined {
  const sides = state.split('_');
  if (sides.length !== 2 || !/^[A-Z]*$/.test(sides[0]!) || !/^[A-Z]*$/.test(sides[1]!)) return undefined;
  let h = '';
  for (const ch of sides[0]!) { const z = STATE_TO_HISTORY[ch]; if (z !== undefined) h += z.toUpperCase(); }
  for (const ch of sides[1]!) { const z = STATE_TO_HISTORY[ch]; if (z !== undefined) h += z; }
  return h;
}

/**
 * One binetflow row as the Zeek conn fields `importFlowFile` reads (`ts`, `id.orig_h`, `orig_pkts`, …).
 * SrcAddr is the originator. The record's totals are split between the directions by `SrcPkts`/`SrcBytes`
 * when the file has them; with `SrcBytes` alone the packets are split in the bytes' proportion (at least
 * one each way when both sides sent bytes); with neither, the totals stay with the originator's flow and
 * no responder flow is made. ICMP type and code (Argus's hex Sport) become Zeek's orig_p and resp_p.
 * Payload excerpts (`srcUdata`, `dstUdata`) are never read: only mechanical fields enter the system.
 * @see https://openargus.org/ (ra(1) field names); Garcia et al., CTU-13 (2014)
 */
export function binetflowRow(columns: Map<string, number>, values: readonly string[], utcOffsetMinutes: number): (name: string) => unknown {
  const col = (name: string): string | undefined => {
    const i = columns.get(name);
    const v = i === undefined ? undefined : values[i]?.trim();
    return v === '' ? undefined : v;
  };
  const proto = (col('Proto') ?? '').toLowerCase();
  const icmp = proto === 'icmp' || proto === 'ipv6-icmp';
  const sport = argusPort(col('Sport'));
  const dport = argusPort(col('Dport'));
  const totPkts = Number(col('TotPkts') ?? NaN);
  const totBytes = Number(col('TotBytes') ?? NaN);
  const srcBytesText = col('SrcBytes');
  const srcPktsText = col('SrcPkts');
  let origPkts = totPkts, respPkts = 0, origBytes = totBytes, respBytes = 0;
  if (srcBytesText !== undefined) {
    origBytes = Number(srcBytesText);
    respBytes = totBytes - origBytes;
    if (srcPktsText !== undefined) origPkts = Number(srcPktsText);
    else if (respBytes > 0 && origBytes > 0 && totPkts >= 2) origPkts = Math.min(totPkts - 1, Math.max(1, Math.round((totPkts * origBytes) / totBytes)));
    else origPkts = respBytes > 0 ? 0 : totPkts;
    respPkts = totPkts - origPkts;
  }
  const start = argusTimeMs(col('StartTime') ?? '', utcOffsetMinutes);
  const fields: Record<string, unknown> = {
    ts: Number.isFinite(start) ? String(start / 1000) : 'bad',
    duration: col('Dur'),
    proto: proto === 'ipv6-icmp' ? 'icmp6' : proto === '' ? undefined : proto,
    'id.orig_h': col('SrcAddr'),
    'id.resp_h': col('DstAddr'),
    // ICMP: Argus writes type << 8 | code in Sport; Zeek puts the type in orig_p and the code in resp_p.
    'id.orig_p': icmp && sport !== undefined ? String(sport >>> 8) : sport === undefined ? undefined : String(sport),
    'id.resp_p': icmp && sport !== undefined ? String(sport & 0xff) : icmp ? undefined : dport === undefined ? undefined : String(dport),
    orig_pkts: String(origPkts), resp_pkts: String(respPkts), orig_ip_bytes: String(origBytes), resp_ip_bytes: String(respBytes),
    history: proto === 'tcp' ? historyOf(col('State') ?? '') : undefined,
    label: col('Label'),
  };
  return (name) => fields[name];
}
