/** @module Special-purpose address ranges (RFC 6890 registries) and how each counts: an explicit, configurable table, never a guess. */
import { z } from 'zod';

/**
 * How an address of a special range counts: `domestic` (e.g. private space behind a domestic
 * operator's exporter), `foreign`, `unknown` (cannot tell: the flow is dropped as `unknown_location`),
 * or `ignore` (not Internet traffic: the flow is dropped as `special_range`).
 */
export const SPECIAL_TREATMENTS = ['domestic', 'foreign', 'unknown', 'ignore'] as const;

/** One treatment of a special range. */
export type SpecialTreatment = (typeof SPECIAL_TREATMENTS)[number];

/** One row of the special-range table. */
export interface SpecialRange {
  prefix: string;
  name: string;
  treatment: SpecialTreatment;
  /** The RFC that reserves the range. */
  rfc: string;
}

/** Zod schema of one row, for configuration files. */
export const SpecialRangeSchema = z.object({
  prefix: z.string().min(2).max(64),
  name: z.string().min(1).max(100),
  treatment: z.enum(SPECIAL_TREATMENTS),
  rfc: z.string().max(40).default(''),
}).strict();

/**
 * The default table: the IANA IPv4 and IPv6 special-purpose address registries (RFC 6890 and later
 * updates). Private space, CGNAT and ULAs count as domestic because at a domestic collection point they
 * can only be a domestic operator's own hosts; documentation, loopback, link-local, multicast and
 * reserved space are ignored; translation and tunnel prefixes are unknown because the real endpoint
 * is embedded elsewhere. Rows must not overlap.
 * @see RFC 6890 §2.2.2, §2.2.3
 */
export const DEFAULT_SPECIAL_RANGES: readonly SpecialRange[] = [
  { prefix: '0.0.0.0/8', name: 'This network', treatment: 'ignore', rfc: 'RFC 791' },
  { prefix: '10.0.0.0/8', name: 'Private-Use', treatment: 'domestic', rfc: 'RFC 1918' },
  { prefix: '100.64.0.0/10', name: 'Shared Address Space (CGNAT)', treatment: 'domestic', rfc: 'RFC 6598' },
  { prefix: '127.0.0.0/8', name: 'Loopback', treatment: 'ignore', rfc: 'RFC 1122' },
  { prefix: '169.254.0.0/16', name: 'Link Local', treatment: 'ignore', rfc: 'RFC 3927' },
  { prefix: '172.16.0.0/12', name: 'Private-Use', treatment: 'domestic', rfc: 'RFC 1918' },
  { prefix: '192.0.0.0/24', name: 'IETF Protocol Assignments', treatment: 'ignore', rfc: 'RFC 6890' },
  { prefix: '192.0.2.0/24', name: 'Documentation (TEST-NET-1)', treatment: 'ignore', rfc: 'RFC 5737' },
  { prefix: '192.88.99.0/24', name: '6to4 Relay Anycast (deprecated)', treatment: 'unknown', rfc: 'RFC 7526' },
  { prefix: '192.168.0.0/16', name: 'Private-Use', treatment: 'domestic', rfc: 'RFC 1918' },
  { prefix: '198.18.0.0/15', name: 'Benchmarking', treatment: 'ignore', rfc: 'RFC 2544' },
  { prefix: '198.51.100.0/24', name: 'Documentation (TEST-NET-2)', treatment: 'ignore', rfc: 'RFC 5737' },
  { prefix: '203.0.113.0/24', name: 'Documentation (TEST-NET-3)', treatment: 'ignore', rfc: 'RFC 5737' },
  { prefix: '224.0.0.0/4', name: 'Multicast', treatment: 'ignore', rfc: 'RFC 5771' },
  { prefix: '240.0.0.0/4', name: 'Reserved (and Limited Broadcast)', treatment: 'ignore', rfc: 'RFC 1112' },
  { prefix: '::/128', name: 'Unspecified Address', treatment: 'ignore', rfc: 'RFC 4291' },
  { prefix: '::1/128', name: 'Loopback Address', treatment: 'ignore', rfc: 'RFC 4291' },
  { prefix: '64:ff9b::/96', name: 'IPv4-IPv6 Translation', treatment: 'unknown', rfc: 'RFC 6052' },
  { prefix: '64:ff9b:1::/48', name: 'Local-use IPv4/IPv6 Translation', treatment: 'unknown', rfc: 'RFC 8215' },
  { prefix: '100::/64', name: 'Discard-Only Address Block', treatment: 'ignore', rfc: 'RFC 6666' },
  { prefix: '2001::/32', name: 'TEREDO', treatment: 'unknown', rfc: 'RFC 4380' },
  { prefix: '2001:2::/48', name: 'Benchmarking', treatment: 'ignore', rfc: 'RFC 5180' },
  { prefix: '2001:10::/28', name: 'ORCHID (deprecated)', treatment: 'ignore', rfc: 'RFC 4843' },
  { prefix: '2001:20::/28', name: 'ORCHIDv2', treatment: 'ignore', rfc: 'RFC 7343' },
  { prefix: '2001:db8::/32', name: 'Documentation', treatment: 'ignore', rfc: 'RFC 3849' },
  { prefix: '2002::/16', name: '6to4', treatment: 'unknown', rfc: 'RFC 3056' },
  { prefix: '3fff::/20', name: 'Documentation', treatment: 'ignore', rfc: 'RFC 9637' },
  { prefix: '5f00::/16', name: 'Segment Routing (SRv6) SIDs', treatment: 'unknown', rfc: 'RFC 9602' },
  { prefix: 'fc00::/7', name: 'Unique-Local', treatment: 'domestic', rfc: 'RFC 4193' },
  { prefix: 'fe80::/10', name: 'Link-Local Unicast', treatment: 'ignore', rfc: 'RFC 4291' },
  { prefix: 'ff00::/8', name: 'Multicast', treatment: 'ignore', rfc: 'RFC 4291' },
];

/**
 * The default table with some rows' treatment changed, keyed by the exact prefix text; an unknown
 * prefix is an error, so a typo cannot silently leave the default in force.
 */
export function withOverrides(overrides: Readonly<Record<string, SpecialTreatment>>, table: readonly SpecialRange[] = DEFAULT_SPECIAL_RANGES): SpecialRange[] {
  const known = new Set(table.map((r) => r.prefix));
  for (const p of Object.keys(overrides)) {
    if (!known.has(p)) throw new Error(`special range "${p}" is not in the table; use one of: ${[...known].join(', ')}`);
  }
  return table.map((r) => (overrides[r.prefix] !== undefined ? { ...r, treatment: overrides[r.prefix]! } : { ...r }));
}
