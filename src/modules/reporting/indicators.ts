/** @module Indicators in report text: IPv4/IPv6 addresses, domain names and file hashes, refanged and normalized, for the analysis module's indicator list. */
import { isIP } from 'node:net';

/** An indicator kind. */
export type IndicatorKind = 'ipv4' | 'ipv6' | 'domain' | 'md5' | 'sha1' | 'sha256';

/** One indicator found or given. */
export interface Indicator {
  kind: IndicatorKind;
  value: string;
}

// Endings that look like a top-level domain but are file names in incident reports.
const FILE_ENDINGS = new Set(['exe', 'dll', 'sys', 'bat', 'ps1', 'vbs', 'js', 'txt', 'log', 'pdf', 'doc', 'docx', 'xls', 'xlsx', 'zip', 'rar', 'tar', 'gz', 'json', 'xml', 'csv', 'png', 'jpg', 'jpeg', 'gif', 'html', 'htm', 'conf', 'cfg', 'ini', 'tmp', 'bin', 'dat', 'pcap', 'py', 'sh', 'md', 'lnk', 'iso', 'img', 'msi', 'jar', 'php', 'asp', 'aspx']);

/** Undoes common defanging: `1.2.3[.]4`, `example(.)com`, `hxxp://`. */
export function refang(text: string): string {
  return text.replace(/\[\.\]|\(\.\)|\{\.\}|\[dot\]/gi, '.').replace(/\[:\]/g, ':').replace(/hxxp/gi, 'http');
}

/** Normalizes one indicator; undefined when the value does not fit its kind. */
export function normalizeIndicator(kind: IndicatorKind, raw: string): Indicator | undefined {
  const v = refang(raw.trim());
  switch (kind) {
    case 'ipv4': return isIP(v) === 4 ? { kind, value: v } : undefined;
    case 'ipv6': return isIP(v) === 6 ? { kind, value: v.toLowerCase() } : undefined;
    case 'domain': {
      const d = v.toLowerCase().replace(/\.$/, '');
      return /^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(xn--[a-z0-9-]{2,59}|[a-z]{2,24})$/.test(d) ? { kind, value: d } : undefined;
    }
    case 'md5': return /^[0-9a-f]{32}$/i.test(v) ? { kind, value: v.toLowerCase() } : undefined;
    case 'sha1': return /^[0-9a-f]{40}$/i.test(v) ? { kind, value: v.toLowerCase() } : undefined;
    case 'sha256': return /^[0-9a-f]{64}$/i.test(v) ? { kind, value: v.toLowerCase() } : undefined;
  }
}

/** Finds indicators in free text (defanged ones too), each once. */
export function extractIndicators(text: string): Indicator[] {
  const t = refang(text);
  const found = new Map<string, Indicator>();
  const add = (i: Indicator | undefined) => { if (i !== undefined) found.set(`${i.kind}:${i.value}`, i); };
  for (const m of t.matchAll(/\b[0-9a-f]{64}\b|\b[0-9a-f]{40}\b|\b[0-9a-f]{32}\b/gi)) {
    const v = m[0];
    add(normalizeIndicator(v.length === 64 ? 'sha256' : v.length === 40 ? 'sha1' : 'md5', v));
  }
  for (const m of t.matchAll(/(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]*\d)/g)) add(normalizeIndicator('ipv4', m[0]));
  for (const m of t.matchAll(/(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])/gi)) {
    if (m[0].length >= 3 && m[0].includes('::') || m[0].split(':').length >= 8) add(normalizeIndicator('ipv6', m[0]));
  }
  for (const m of t.matchAll(/(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,23}(?![\w-]|\.[a-z0-9])/gi)) {
    const tld = m[0].split('.').pop()!.toLowerCase();
    if (FILE_ENDINGS.has(tld)) continue;
    add(normalizeIndicator('domain', m[0]));
  }
  return [...found.values()];
}
