/** @module Address prefixes and domain names as measures name them: parsing, normalization, and collapsing for block lists and RPZ zones. */
import { isIP } from 'node:net';

/** A normalized prefix: family, network address (host bits cleared) as a bigint, and length. */
export interface Prefix {
  family: 4 | 6;
  network: bigint;
  length: number;
}

function v4ToBig(a: string): bigint {
  return a.split('.').reduce((acc, p) => (acc << 8n) | BigInt(Number(p)), 0n);
}

function v6ToBig(a: string): bigint {
  let s = a;
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two hex groups.
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (tail !== null) {
    const n = v4ToBig(tail[1]!);
    s = `${s.slice(0, -tail[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, rest] = s.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** Parses an address or prefix (`203.0.113.7`, `203.0.113.0/24`, `2001:db8::/32`); undefined when it is neither. */
export function parsePrefix(text: string): Prefix | undefined {
  const [addr, len, extra] = text.trim().split('/');
  if (addr === undefined || extra !== undefined) return undefined;
  const fam = isIP(addr);
  if (fam !== 4 && fam !== 6) return undefined;
  const bits = fam === 4 ? 32 : 128;
  if (len !== undefined && !/^(0|[1-9][0-9]{0,2})$/.test(len)) return undefined;
  const length = len === undefined ? bits : Number(len);
  if (length > bits) return undefined;
  const value = fam === 4 ? v4ToBig(addr) : v6ToBig(addr.toLowerCase());
  const mask = length === 0 ? 0n : ((1n << BigInt(length)) - 1n) << BigInt(bits - length);
  return { family: fam, network: value & mask, length };
}

/** Formats a prefix in canonical text (RFC 5952 for IPv6); a full-length prefix is written as a bare address. */
export function formatPrefix(p: Prefix, bareHost = true): string {
  const bits = p.family === 4 ? 32 : 128;
  let addr: string;
  if (p.family === 4) {
    addr = [24n, 16n, 8n, 0n].map((s) => String((p.network >> s) & 0xffn)).join('.');
  } else {
    const g = Array.from({ length: 8 }, (_, i) => Number((p.network >> BigInt(112 - 16 * i)) & 0xffffn));
    // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first one on a tie.
    let best = -1; let bestLen = 0;
    for (let i = 0; i < 8;) {
      if (g[i] !== 0) { i++; continue; }
      let j = i;
      while (j < 8 && g[j] === 0) j++;
      if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
      i = j;
    }
    const hex = g.map((x) => x.toString(16));
    addr = best < 0 ? hex.join(':') : `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
  }
  return bareHost && p.length === bits ? addr : `${addr}/${p.length}`;
}

/** True when `outer` contains `inner` (same family, shorter or equal length, same network bits). */
export function contains(outer: Prefix, inner: Prefix): boolean {
  if (outer.family !== inner.family || outer.length > inner.length) return false;
  const bits = outer.family === 4 ? 32 : 128;
  const shift = BigInt(bits - outer.length);
  return outer.length === 0 || inner.network >> shift === outer.network >> shift;
}

/**
 * Sorts, de-duplicates and drops prefixes covered by another, so the list has no overlapping
 * intervals (nftables refuses overlapping elements in an interval set).
 * @see https://wiki.nftables.org/wiki-nftables/index.php/Sets
 */
export function collapsePrefixes(prefixes: readonly Prefix[]): Prefix[] {
  const sorted = [...prefixes].sort((a, b) => a.family - b.family || (a.network < b.network ? -1 : a.network > b.network ? 1 : a.length - b.length));
  const out: Prefix[] = [];
  for (const p of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && contains(last, p)) continue;
    out.push(p);
  }
  return out;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Normalizes a domain name (lower case, no trailing dot, LDH labels or punycode); undefined when it is not one. @see RFC 1035 §2.3.1, RFC 5891 */
export function normalizeDomain(text: string): string | undefined {
  const d = text.trim().toLowerCase().replace(/\.$/, '');
  if (d.length === 0 || d.length > 253) return undefined;
  const labels = d.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return undefined;
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return undefined;
  return d;
}
