// An acquisition's selectors in the browser: parsed and checked as oversight's SelectorsSchema does, for the
// drafting form (every selector) and the decision form (only what changed is sent).
import type { MessageKey } from '../i18n/index.js';

export type Scope = Record<string, unknown>;

/** Non-empty trimmed lines of a text area. */
export const lines = (text: string): string[] => text.split('\n').map((l) => l.trim()).filter((l) => l !== '');

/** An acquisition's selectors (oversight's SelectorsSchema): numbers have a range, prefixes are CIDR, exporters are text; `most` values each. */
export const SELECTORS = [
  { key: 'foreignPrefixes', label: 'requests.narrowPrefixes', name: 'selector.foreignPrefixes', prefix: true, most: 10_000 },
  { key: 'domesticPrefixes', label: 'requests.narrowDomestic', name: 'selector.domesticPrefixes', prefix: true, most: 10_000 },
  { key: 'exporters', label: 'requests.narrowExporters', name: 'selector.exporters', most: 1000 },
  { key: 'ports', label: 'requests.narrowPorts', name: 'selector.ports', max: 65_535, most: 1000 },
  { key: 'protocols', label: 'requests.narrowProtocols', name: 'selector.protocols', max: 255, most: 256 },
] as const satisfies readonly { key: string; label: MessageKey; name: MessageKey; max?: number; prefix?: boolean; most: number }[];
export type SelectorKey = (typeof SELECTORS)[number]['key'];
/** What the request asked for one selector, as text lines (none when it does not limit it). */
export const askedList = (sel: Scope, key: string): string[] => (Array.isArray(sel[key]) ? (sel[key] as unknown[]).map(String) : []);

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

function isIpv6(addr: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(addr) || !addr.includes(':')) return false;
  try {
    // The URL parser holds the browser's own strict IPv6 grammar (RFC 4291 §2.2 text forms).
    return new URL(`http://[${addr}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

/** True when `s` is an IPv4 or IPv6 prefix `address/length` with a valid length, as the server's `isCidr`. @see RFC 4632 §3.1, RFC 4291 §2.3 */
export function isCidr(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return false;
  const addr = s.slice(0, slash);
  const len = s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(len)) return false;
  if (IPV4.test(addr)) return Number(len) <= 32;
  return isIpv6(addr) && Number(len) <= 128;
}

/** Why one selector's lines would be refused (the first bad value), or its values. */
export type SelectorParse = { values: (string | number)[] } | { bad: 'number' | 'prefix' | 'long' | 'many'; value: string };

/** Parses one selector's text: ports and protocols whole numbers in range, prefixes CIDR, exporters at most 200 characters. */
export function parseSelector(key: SelectorKey, text: string): SelectorParse {
  const f = SELECTORS.find((s) => s.key === key)!;
  const values = lines(text);
  if (values.length > f.most) return { bad: 'many', value: String(values.length) };
  for (const v of values) {
    if ('max' in f && (!/^\d{1,5}$/.test(v) || Number(v) > f.max)) return { bad: 'number', value: v };
    if ('prefix' in f && !isCidr(v)) return { bad: 'prefix', value: v };
    if (v.length > 200) return { bad: 'long', value: `${v.slice(0, 20)}…` };
  }
  return { values: 'max' in f ? values.map(Number) : values };
}

/** The selectors after narrowing, only if any changed: an emptied field is left out (not limited); numbers and prefixes are checked. */
export function narrowSelectors(sel: Scope, text: Record<SelectorKey, string>): Scope | undefined | 'bad-number' | 'bad-prefix' {
  let changed = false;
  const out: Scope = { ...sel };
  for (const f of SELECTORS) {
    if (lines(text[f.key]).join('\n') === askedList(sel, f.key).join('\n')) continue;
    changed = true;
    const parsed = parseSelector(f.key, text[f.key]);
    if ('bad' in parsed && (parsed.bad === 'number' || parsed.bad === 'prefix')) return `bad-${parsed.bad}`;
    // Too long or too many cannot be a subset of what was asked: the server says which.
    const values = 'bad' in parsed ? lines(text[f.key]) : parsed.values;
    if (values.length === 0) delete out[f.key];
    else out[f.key] = values;
  }
  return changed ? out : undefined;
}
