/** @module Where an address is: country tables (bundled CSV, RIR delegated files, MaxMind DB), domestic prefixes and special ranges folded into one lookup on FlowBatch slots. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { writeAddress } from '#modules/collection/index.js';
import { addPrefix, buildTable, lookupSlot, overlayTable, parsePrefix, type RangeSet, type RangeTable } from './ranges.js';
import { DEFAULT_SPECIAL_RANGES, type SpecialRange, type SpecialTreatment } from './special-ranges.js';

/** Location codes returned by the hot lookup. */
export const LOC_DOMESTIC = 1;
/** A foreign address. */
export const LOC_FOREIGN = 2;
/** An address whose side of the border cannot be told: its flow is dropped as `unknown_location`. */
export const LOC_UNKNOWN = 3;
/** An address that is not Internet traffic: its flow is dropped as `special_range`. */
export const LOC_IGNORE = 4;

/** Where an address is, as text. */
export type LocationName = 'domestic' | 'foreign' | 'unknown' | 'ignore';

const LOC_NAMES: Record<number, LocationName> = { [LOC_DOMESTIC]: 'domestic', [LOC_FOREIGN]: 'foreign', [LOC_UNKNOWN]: 'unknown', [LOC_IGNORE]: 'ignore' };

/** Packs an ISO 3166-1 alpha-2 code into 16 bits (two ASCII letters). @see ISO 3166-1 */
export function packCountry(cc: string): number {
  if (!/^[A-Z]{2}$/.test(cc)) throw new Error(`"${cc}" is not an ISO 3166-1 alpha-2 code`);
  return (cc.charCodeAt(0) << 8) | cc.charCodeAt(1);
}

/** Unpacks a 16-bit country code; undefined for 0 (no country). */
export function unpackCountry(v: number): string | undefined {
  return v === 0 ? undefined : String.fromCharCode(v >>> 8, v & 0xff);
}

/** The directory of the bundled @ip-location-db/geo-whois-asn-country CSV files (CC BY 4.0, NRO data). */
export function bundledCountryDataDir(): string {
  return dirname(createRequire(import.meta.url).resolve('@ip-location-db/geo-whois-asn-country/package.json'));
}

function parseV4Number(s: string): number | undefined {
  if (/^\d+$/.test(s)) { const n = Number(s); return n <= 0xffff_ffff ? n : undefined; }
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (m === null) return undefined;
  const p = [m[1], m[2], m[3], m[4]].map(Number);
  if (p.some((x) => x > 255)) return undefined;
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

/**
 * Parses an ip-location-db country CSV (`start,end,country`; addresses as text or as numbers) into
 * ranges whose value is the packed country code. Rows that do not parse are counted, not guessed.
 */
export function parseCountryCsv(text: string, family: 4 | 6): { ranges: RangeSet; rejected: number } {
  const ranges: RangeSet = { v4: [], v6: [] };
  let rejected = 0;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const [a, b, cc] = line.trim().split(',');
    if (a === undefined || b === undefined || cc === undefined || !/^[A-Z]{2}$/.test(cc)) { rejected++; continue; }
    const value = packCountry(cc);
    if (family === 4) {
      const s = parseV4Number(a);
      const e = parseV4Number(b);
      if (s === undefined || e === undefined || s > e) { rejected++; continue; }
      ranges.v4.push({ start: s, end: e, value });
    } else {
      let s: bigint | undefined;
      let e: bigint | undefined;
      if (/^\d+$/.test(a) && /^\d+$/.test(b)) { s = BigInt(a); e = BigInt(b); }
      else { s = parseV6(a); e = parseV6(b); }
      if (s === undefined || e === undefined || s > e) { rejected++; continue; }
      ranges.v6.push({ start: s, end: e, value });
    }
  }
  return { ranges, rejected };
}

function parseV6(text: string): bigint | undefined {
  const p = parsePrefix(text);
  return p?.family === 6 ? p.start : undefined;
}

/** Loads the bundled (or any ip-location-db-format) IPv4 and IPv6 country CSVs from `dir`. */
export function loadIpLocationDb(dir: string = bundledCountryDataDir(), base = 'geo-whois-asn-country'): RangeSet {
  const v4 = parseCountryCsv(readFileSync(join(dir, `${base}-ipv4-num.csv`), 'utf8'), 4);
  const v6 = parseCountryCsv(readFileSync(join(dir, `${base}-ipv6-num.csv`), 'utf8'), 6);
  return { v4: v4.ranges.v4, v6: v6.ranges.v6 };
}

/**
 * Parses an RIR delegated-extended statistics file (`registry|cc|type|start|value|date|status|…`) into
 * country ranges; only `allocated` and `assigned` records count. For ipv4 `value` is a host count, for
 * ipv6 a prefix length.
 * @see https://www.apnic.net/about-apnic/corporate-documents/documents/resource-guidelines/rir-statistics-exchange-format/
 */
export function parseRirDelegated(text: string): { ranges: RangeSet; records: number; rejected: number } {
  const ranges: RangeSet = { v4: [], v6: [] };
  let records = 0;
  let rejected = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split('|');
    if (f.length < 7) continue; // version header or summary line
    const [, cc, type, start, value, , status] = f;
    if (type !== 'ipv4' && type !== 'ipv6') continue;
    if (start === '*' || status === 'summary') continue;
    if (status !== 'allocated' && status !== 'assigned') continue;
    if (cc === undefined || !/^[A-Z]{2}$/.test(cc) || start === undefined || value === undefined || !/^\d+$/.test(value)) { rejected++; continue; }
    const code = packCountry(cc);
    if (type === 'ipv4') {
      const s = parseV4Number(start);
      const count = Number(value);
      if (s === undefined || count < 1 || s + count - 1 > 0xffff_ffff) { rejected++; continue; }
      ranges.v4.push({ start: s, end: s + count - 1, value: code });
    } else {
      try { addPrefix(ranges, `${start}/${value}`, code); } catch { rejected++; continue; }
    }
    records++;
  }
  return { ranges, records, rejected };
}

/** What the locator is built from. */
export interface LocatorOptions {
  /** The country whose addresses are domestic. */
  domesticCountry?: string;
  /** Country sources, most authoritative first (e.g. RIR files, then a MaxMind DB, then the bundled CSV). */
  countrySources: readonly RangeSet[];
  /** Prefixes that are domestic whatever the country data says (operators' registered ranges). */
  domesticPrefixes?: readonly string[];
  /** The special-range table; default {@link DEFAULT_SPECIAL_RANGES}. */
  specialRanges?: readonly SpecialRange[];
  /** How an address no source lists counts; default `unknown` (dropped), never assumed foreign. */
  unlisted?: 'unknown' | 'foreign';
}

/** Answers where an address is, on FlowBatch slots, without formatting strings. */
export interface Locator {
  readonly table: RangeTable;
  /** The packed value for addresses nobody lists: `(location << 16)`. */
  readonly missValue: number;
  readonly domesticCountry: string;
  /** Prefixes held while a change of operator ranges is applied: the selector treats their addresses as unknown (live-locator.ts). */
  readonly hold?: RangeTable | undefined;
  /** Location code of the slot at `o` (LOC_DOMESTIC, LOC_FOREIGN, LOC_UNKNOWN, LOC_IGNORE). Hot path: bench/selection. */
  locate(buf: Uint8Array, o: number): number;
  /** Packed `(location << 16) | country` of the slot at `o`. Hot path: bench/selection. */
  lookupValue(buf: Uint8Array, o: number): number;
  /** Where a textual address is: for tests, the CLI and display. */
  describe(address: string): { location: LocationName; country: string | undefined };
}

const TREATMENT_LOC: Record<SpecialTreatment, number> = { domestic: LOC_DOMESTIC, foreign: LOC_FOREIGN, unknown: LOC_UNKNOWN, ignore: LOC_IGNORE };

/** Builds locators over one folded country and special-range table, each with its own domestic prefixes. */
export interface LocatorFactory {
  /** A locator with `domesticPrefixes` over the folded table: one linear pass, no refolding of country data. */
  withDomestic(domesticPrefixes: readonly string[]): Locator;
}

/**
 * Folds the country sources (the first given wins where they disagree) and the special-range table
 * once; domestic prefixes are laid over the result per locator.
 * @see RFC 6890
 */
export function createLocatorFactory(options: Omit<LocatorOptions, 'domesticPrefixes'>): LocatorFactory {
  const domesticCountry = options.domesticCountry ?? 'JP';
  const jp = packCountry(domesticCountry);
  const layers: RangeSet[] = [];
  for (const src of [...options.countrySources].reverse()) {
    const map = (v: number): number => ((v === jp ? LOC_DOMESTIC : LOC_FOREIGN) << 16) | v;
    layers.push({ v4: src.v4.map((r) => ({ ...r, value: map(r.value) })), v6: src.v6.map((r) => ({ ...r, value: map(r.value) })) });
  }
  const special: RangeSet = { v4: [], v6: [] };
  for (const s of options.specialRanges ?? DEFAULT_SPECIAL_RANGES) addPrefix(special, s.prefix, TREATMENT_LOC[s.treatment] << 16);
  assertDisjoint(special, 'special ranges');
  layers.push(special);
  const base = buildTable(layers);
  const missValue = (options.unlisted === 'foreign' ? LOC_FOREIGN : LOC_UNKNOWN) << 16;
  return {
    withDomestic(prefixes) {
      const domestic: RangeSet = { v4: [], v6: [] };
      for (const p of prefixes) addPrefix(domestic, p, (LOC_DOMESTIC << 16) | jp);
      const table = domestic.v4.length + domestic.v6.length === 0 ? base : overlayTable(base, domestic);
      const lookupValue = (buf: Uint8Array, o: number): number => lookupSlot(table, buf, o, missValue);
      return {
        table,
        missValue,
        domesticCountry,
        lookupValue,
        locate: (buf, o) => lookupSlot(table, buf, o, missValue) >>> 16,
        describe(address) {
          const slot = new Uint8Array(16);
          if (!writeAddress(slot, 0, address)) throw new Error(`"${address}" is not an IPv4 or IPv6 address`);
          const v = lookupValue(slot, 0);
          return { location: LOC_NAMES[v >>> 16] ?? 'unknown', country: unpackCountry(v & 0xffff) };
        },
      };
    },
  };
}

/**
 * Builds a locator: country sources (the first given wins where they disagree), then the special-range
 * table over them, then the domestic prefixes over everything — folded into one table, so the hot
 * lookup is one binary search per address.
 * @see RFC 6890
 */
export function createLocator(options: LocatorOptions): Locator {
  return createLocatorFactory(options).withDomestic(options.domesticPrefixes ?? []);
}

function assertDisjoint(set: RangeSet, what: string): void {
  const check = <T extends number | bigint>(rows: { start: T; end: T }[]): void => {
    const s = [...rows].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    for (let i = 1; i < s.length; i++) if (s[i]!.start <= s[i - 1]!.end) throw new Error(`${what} overlap; give each address one treatment`);
  };
  check(set.v4);
  check(set.v6);
}
