/** @module The demo's one address plan: which blocks are the operators' (domestic), which are the attackers' (foreign), so every seed and the traffic agree. */

/**
 * The demo uses the RFC 5737 documentation ranges for its foreign actors (no real network is accused),
 * so it tells the locator to count two of them as foreign. No operator range may lie in them.
 */
export const DEMO_SPECIAL_RANGE_OVERRIDES = { '203.0.113.0/24': 'foreign', '198.51.100.0/24': 'foreign' } as const;

/** The foreign blocks of the demo's campaign ("Kumo"): the approvals, findings and intelligence name these. */
export const FOREIGN_PREFIXES = ['203.0.113.0/24', '198.51.100.0/24'] as const;

/** Kanto Electric Power Co.'s own address block (a JP block in the bundled country data), covered by its consent agreement. */
export const KANTO_PREFIX = '210.130.16.0/22';
/** The command-and-control server the infected hosts call (the seeded response finding names it too). */
export const C2 = '203.0.113.66';
/** The foreign scanner sweeping Kanto Electric's block (also in the seeded intelligence). */
export const SCANNER = '198.51.100.23';
/** Kanto Electric's public web server, target of an NTP reflection flood. */
export const DDOS_TARGET = '210.130.16.80';
/** A second C2 named by an operator's incident report (and so in the indicator store). */
export const REPORTED_C2 = '203.0.113.200';
/** A server of the campaign that the seeded intelligence names. */
export const INTEL_SERVER = '203.0.113.45';
/** The foreign host the seeded emergency block measure targets. */
export const BLOCKED_HOST = '198.51.100.66';

/** Infected hosts inside Kanto Electric's block. */
export const KANTO_HOSTS = ['210.130.17.21', '210.130.17.35', '210.130.17.48', '210.130.18.12', '210.130.18.77', '210.130.19.140'] as const;
/** Kanto Electric's notified control-system servers (the seeded computer notification). */
export const KANTO_SERVERS = ['210.130.16.10', '210.130.16.11'] as const;
/** Hosts of other domestic networks (JP blocks, no designated operator), seen only after the cross-border approval. */
export const OTHER_DOMESTIC = ['126.10.33.7', '126.10.40.19', '153.240.12.9'] as const;
/** Domestic peers of Kanto Electric's hosts (file shares, DNS inside Japan): their flows are dropped at once. */
export const DOMESTIC_PEERS = ['60.32.4.10', '60.32.4.11', '114.160.2.5', '219.100.37.20'] as const;

/**
 * The designated operators' registered ranges: JP blocks of the bundled country data (the IPv6 one is
 * the RFC 3849 documentation prefix, which the locator treats as of unknown location). Fictional
 * operators; the blocks are only the demo's.
 */
export const OPERATOR_RANGES: Readonly<Record<string, readonly string[]>> = {
  'Kanto Electric Power Co.': [KANTO_PREFIX, '2001:db8:100::/48'],
  'Tokai City Gas Co.': ['61.192.0.0/24'],
  'Nishi-Nihon Railway Co.': ['202.232.0.0/24'],
  'Nippon Telecom Corp.': ['211.1.0.0/24'],
  'Sakura Bank Ltd.': ['58.88.0.0/24'],
  'Haneda Airport Terminal Co.': ['122.208.0.0/24'],
};

/** Exporters registered for operators (address, observation domain); documentation addresses, outside every range above. */
export const OPERATOR_EXPORTERS: Readonly<Record<string, readonly [string, number]>> = {
  'Kanto Electric Power Co.': ['192.0.2.1', 1],
  'Nippon Telecom Corp.': ['192.0.2.65', 256],
};
