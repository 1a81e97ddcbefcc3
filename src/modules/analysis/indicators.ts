/** @module Known indicators: addresses, prefixes and ports from the indicator store, matched against flows with flattened sorted range arrays. */
import type { AnalysisBatch, HostTable } from './batch.js';
import type { FindingUpdate } from './schema.js';

/** One indicator as the store holds it (`indicators` table: kind, value, source, confidence). */
export interface Indicator {
  id: string;
  /** `ipv4`/`ipv6` (an address or CIDR prefix), or `port` ("4444", "tcp/4444", "udp/53"). */
  kind: 'ipv4' | 'ipv6' | 'port';
  value: string;
  /** 0..100. */
  confidence: number;
  sourceType?: string;
}

/** Where indicators come from: reporting's and sharing's `indicators` table, or an in-memory set. */
export interface IndicatorSource {
  list(): Promise<Indicator[]>;
}

/** An indicator source over a fixed list (tests, the evaluation, files). */
export function memoryIndicatorSource(list: readonly Indicator[]): IndicatorSource {
  return { list: async () => [...list] };
}

/** Dotted-quad IPv4 text to an unsigned 32-bit number, or undefined (no regex or array: a million indicators load at once). */
function parseV4(text: string): number | undefined {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++digits > 3) return undefined;
      part = part * 10 + (c - 48);
    } else if (c === 46) {
      if (digits === 0 || part > 255 || ++dots > 3) return undefined;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0 || part > 255) return undefined;
  return value * 256 + part;
}

function parseV6(text: string): bigint | undefined {
  const dbl = text.split('::');
  if (dbl.length > 2) return undefined;
  const part = (s: string) => (s === '' ? [] : s.split(':'));
  const left = part(dbl[0]!);
  const right = dbl.length === 2 ? part(dbl[1]!) : [];
  if (dbl.length === 1 && left.length !== 8) return undefined;
  const groups = [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

interface Flat<T> { starts: T[]; ends: T[]; ids: number[] }

/** Flattens nested prefixes into disjoint segments, each naming its most specific indicator. */
function flatten<T extends number | bigint>(ranges: Array<{ start: T; end: T; idx: number }>, one: T): Flat<T> {
  // number and bigint each add to their own kind; the casts only satisfy the generic.
  const inc = (x: T): T => ((x as number) + (one as number)) as T;
  const dec = (x: T): T => ((x as number) - (one as number)) as T;
  ranges.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.end > b.end ? -1 : a.end < b.end ? 1 : 0));
  const out: Flat<T> = { starts: [], ends: [], ids: [] };
  const stack: Array<{ start: T; end: T; idx: number }> = [];
  let cursor: T | undefined;
  const emit = (s: T, e: T, idx: number) => {
    if (s > e) return;
    const n = out.ends.length;
    if (n > 0 && out.ids[n - 1] === idx && inc(out.ends[n - 1]!) === s) { out.ends[n - 1] = e; return; }
    out.starts.push(s); out.ends.push(e); out.ids.push(idx);
  };
  for (const r of ranges) {
    // Close stacked prefixes that end before r starts.
    while (stack.length > 0 && stack[stack.length - 1]!.end < r.start) {
      const top = stack.pop()!;
      if (cursor !== undefined && cursor <= top.end) { emit(cursor, top.end, top.idx); cursor = inc(top.end); }
    }
    const top = stack[stack.length - 1];
    if (top !== undefined && cursor !== undefined && cursor < r.start) emit(cursor, dec(r.start), top.idx);
    if (top !== undefined && r.end > top.end) continue; // partial overlap cannot happen between prefixes; ignore
    stack.push(r);
    cursor = r.start;
  }
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (cursor !== undefined && cursor <= top.end) { emit(cursor, top.end, top.idx); cursor = inc(top.end); }
  }
  return out;
}

/**
 * A matcher over indicators: IPv4 as disjoint [start, end] segments in Uint32Arrays (binary search,
 * most specific prefix wins), IPv6 likewise over bigint arrays, ports as bitmaps per protocol.
 * Built once from the store, queried per flow; a million prefixes take about 12 MB and ~1 µs a lookup.
 * @see docs/detection.md#known-indicators
 */
export class IndicatorMatcher {
  private readonly v4Start: Uint32Array;
  private readonly v4End: Uint32Array;
  private readonly v4Id: Int32Array;
  private readonly v6: Flat<bigint>;
  private readonly ports = new Uint8Array(65536); // bit 0 tcp, bit 1 udp
  private readonly portId = new Int32Array(65536).fill(-1);
  readonly indicators: Indicator[];
  readonly rejected: string[] = [];

  constructor(list: readonly Indicator[]) {
    this.indicators = [...list];
    const v4: Array<{ start: number; end: number; idx: number }> = [];
    const v6: Array<{ start: bigint; end: bigint; idx: number }> = [];
    this.indicators.forEach((ind, idx) => {
      if (ind.kind === 'port') {
        const m = /^(?:(tcp|udp)\/)?(\d{1,5})$/.exec(ind.value.trim().toLowerCase());
        const port = m === null ? NaN : Number(m[2]);
        if (m === null || port > 65535) { this.rejected.push(ind.id); return; }
        this.ports[port] = this.ports[port]! | (m[1] === 'udp' ? 2 : m[1] === 'tcp' ? 1 : 3);
        this.portId[port] = idx;
        return;
      }
      const [addr, lenText] = ind.value.trim().split('/');
      if (ind.kind === 'ipv4') {
        const base = parseV4(addr ?? '');
        const len = lenText === undefined ? 32 : Number(lenText);
        if (base === undefined || !Number.isInteger(len) || len < 0 || len > 32) { this.rejected.push(ind.id); return; }
        const size = 2 ** (32 - len);
        const start = Math.floor(base / size) * size;
        v4.push({ start, end: start + size - 1, idx });
      } else {
        const base = parseV6(addr ?? '');
        const len = lenText === undefined ? 128 : Number(lenText);
        if (base === undefined || !Number.isInteger(len) || len < 0 || len > 128) { this.rejected.push(ind.id); return; }
        const host = (1n << BigInt(128 - len)) - 1n;
        const start = base & ~host & ((1n << 128n) - 1n);
        v6.push({ start, end: start | host, idx });
      }
    });
    const f4 = flatten(v4, 1);
    this.v4Start = Uint32Array.from(f4.starts);
    this.v4End = Uint32Array.from(f4.ends);
    this.v4Id = Int32Array.from(f4.ids);
    this.v6 = flatten(v6, 1n);
  }

  /** The indicator index covering an IPv4 address (as an unsigned 32-bit number), or −1. */
  matchV4(addr: number): number {
    let lo = 0;
    let hi = this.v4Start.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.v4Start[mid]! <= addr) lo = mid + 1; else hi = mid - 1;
    }
    return hi >= 0 && addr <= this.v4End[hi]! ? this.v4Id[hi]! : -1;
  }

  /** The indicator index covering an IPv6 address, or −1. */
  matchV6(addr: bigint): number {
    const s = this.v6.starts;
    let lo = 0;
    let hi = s.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid]! <= addr) lo = mid + 1; else hi = mid - 1;
    }
    return hi >= 0 && addr <= this.v6.ends[hi]! ? this.v6.ids[hi]! : -1;
  }

  /** The indicator index covering a textual address, or −1. */
  matchText(text: string): number {
    if (text.includes(':')) { const v = parseV6(text); return v === undefined ? -1 : this.matchV6(v); }
    const v = parseV4(text);
    return v === undefined ? -1 : this.matchV4(v);
  }

  /** The port indicator index for (proto, port), or −1. */
  matchPort(proto: number, port: number): number {
    const bits = this.ports[port]!;
    if (bits === 0) return -1;
    return (proto === 6 && (bits & 1) !== 0) || (proto === 17 && (bits & 2) !== 0) ? this.portId[port]! : -1;
  }
}

interface Hit { indicator: number; hosts: Set<number>; flows: number; first: number; last: number; bases: Set<string>; emitted: number; ports: Set<number> }

/**
 * Creates the known-indicator detector: foreign endpoints of each flow are matched (memoized per host
 * id) and each matched indicator becomes one finding that grows with every further flow.
 * @see docs/detection.md#known-indicators
 */
export function createIndicatorDetector(hosts: HostTable, matcher: IndicatorMatcher) {
  // Match per host id, memoized in a typed array (−2: not yet matched); grows with the host table.
  let memo = new Int32Array(1024).fill(-2);
  const hits = new Map<string, Hit>();
  let generation = hosts.generation;

  function hostMatch(id: number): number {
    if (id >= memo.length) {
      const next = new Int32Array(Math.max(id + 1, memo.length * 2)).fill(-2);
      next.set(memo);
      memo = next;
    }
    let m = memo[id]!;
    if (m === -2) {
      if (hosts.isDomestic(id)) m = -1;
      else {
        const v4 = hosts.ipv4(id);
        if (v4 >= 0) m = matcher.matchV4(v4);
        else {
          const v6 = hosts.ipv6(id);
          m = v6 !== undefined ? matcher.matchV6(v6) : matcher.matchText(hosts.label(id));
        }
      }
      memo[id] = m;
    }
    return m;
  }

  // Hits are kept by subject text (stable across host-table generations, and in first-hit order for
  // flush); numeric fronts find them per flow without making that text (bench/pipeline).
  const byHost = new Map<number, Hit>();
  const byPort = new Map<number, Hit>();

  /**
   * The hit of a matched host id (`port` false) or (proto·65536 + port) key, made on its first flow. The
   * subject text is made here, not by a closure at the call: a closure over the loop's variables would
   * give every iteration a context object on the heap, matched or not (bench/pipeline).
   */
  function hitOf(front: Map<number, Hit>, id: number, port: boolean, indicator: number, t: number): Hit {
    let h = front.get(id);
    if (h === undefined) {
      const k = port ? `p:${Math.floor(id / 65536)}/${id % 65536}` : `a:${hosts.label(id)}`;
      h = hits.get(k);
      if (h === undefined) { h = { indicator, hosts: new Set(), flows: 0, first: t, last: t, bases: new Set(), emitted: 0, ports: new Set() }; hits.set(k, h); }
      front.set(id, h);
    }
    return h;
  }

  function note(h: Hit, domestic: number | undefined, i: number, b: AnalysisBatch, port: number): void {
    h.flows++;
    if (domestic !== undefined && h.hosts.size < 10_000) h.hosts.add(domestic);
    if (h.ports.size < 64) h.ports.add(port);
    const t = b.start[i]!;
    if (t < h.first) h.first = t;
    if (t > h.last) h.last = t;
    const basis = b.bases[b.basis[i]!];
    if (basis !== undefined && h.bases.size < 16) h.bases.add(basis);
  }

  /** Matches a batch. Hot loop: see bench/pipeline.bench.ts. */
  function ingest(b: AnalysisBatch): void {
    if (hosts.generation !== generation) {
      // Host ids of the old generation mean nothing now: forget them (the hits themselves stay).
      memo.fill(-2);
      byHost.clear();
      for (const h of hits.values()) h.hosts.clear();
      generation = hosts.generation;
    }
    for (let i = 0; i < b.length; i++) {
      const s = b.src[i]!;
      const d = b.dst[i]!;
      const ms = hostMatch(s);
      const md = hostMatch(d);
      const proto = b.proto[i]!;
      const dp = b.dstPort[i]!;
      const mp = matcher.matchPort(proto, dp);
      if (ms < 0 && md < 0 && mp < 0) continue;
      const t = b.start[i]!;
      if (ms >= 0) note(hitOf(byHost, s, false, ms, t), hosts.isDomestic(d) ? d : undefined, i, b, b.srcPort[i]!);
      if (md >= 0) note(hitOf(byHost, d, false, md, t), hosts.isDomestic(s) ? s : undefined, i, b, dp);
      if (mp >= 0) note(hitOf(byPort, proto * 65536 + dp, true, mp, t), hosts.isDomestic(s) ? s : undefined, i, b, dp);
    }
  }

  /** Findings for indicators with new flows since the last flush. */
  function flush(): FindingUpdate[] {
    const out: FindingUpdate[] = [];
    for (const [key, h] of hits) {
      if (h.flows === h.emitted) continue;
      h.emitted = h.flows;
      const ind = matcher.indicators[h.indicator]!;
      const isPort = key.startsWith('p:');
      const conf = Math.max(0, Math.min(100, ind.confidence)) / 100;
      const domestic = [...h.hosts].map((x) => hosts.label(x));
      out.push({
        kind: 'known-indicator',
        subject: isPort ? { kind: 'port', value: key.slice(2) } : { kind: 'address', value: key.slice(2) },
        level: isPort ? 'info' : conf >= 0.5 ? 'alert' : 'suspect',
        score: isPort ? conf * 0.3 : conf,
        scoreDetail: { method: 'indicator confidence / 100 (ports × 0.3: a port alone is weak)', components: { confidence: ind.confidence } },
        evidence: { indicatorId: ind.id, indicatorKind: ind.kind, indicatorValue: ind.value, sourceType: ind.sourceType ?? null, flows: h.flows, ports: [...h.ports], window: { from: new Date(h.first).toISOString(), to: new Date(h.last).toISOString() } },
        firstSeen: h.first, lastSeen: h.last, hosts: domestic.slice(0, 200), hostCount: domestic.length, bases: [...h.bases],
      });
    }
    return out;
  }

  return { ingest, flush, stats: () => ({ matchedKeys: hits.size, memoBytes: memo.byteLength }) };
}
