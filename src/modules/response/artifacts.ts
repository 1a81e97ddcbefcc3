/** @module Artifacts defenders load, built only from measures in force: an RPZ zone, block lists (CIDR text, nftables, JSON), STIX course-of-action bundles. */
import { createHash } from 'node:crypto';
import { TLP, parseBundle, parseStixObject, uuidV5, type Bundle, type StixObject } from '#modules/sharing/index.js';
import { AppError } from '#platform/errors/index.js';
import { collapsePrefixes, contains, formatPrefix, parsePrefix, type Prefix } from './net.js';
import type { Measure } from './schema.js';

/** A rendered artifact: its body, media type and strong entity tag (SHA-256 of the body). @see RFC 9110 §8.8.3 */
export interface Artifact {
  body: string;
  contentType: string;
  etag: string;
}

/** Wraps a body as an artifact with its strong ETag. */
export function artifactOf(body: string, contentType: string): Artifact {
  return { body, contentType, etag: `"${createHash('sha256').update(body, 'utf8').digest('hex')}"` };
}

/**
 * The SOA serial: the Unix time (seconds) of the latest change among the measures included, so the
 * serial grows when the content changes and the body (and its ETag) stays the same otherwise.
 * @see RFC 1982 (serial number arithmetic)
 */
export function serialOf(measures: readonly Measure[]): number {
  const latest = Math.max(0, ...measures.map((m) => Math.floor(Date.parse(m.updatedAt) / 1000)));
  return latest === 0 ? 1 : latest % 4_294_967_296;
}

/** RPZ settings: the zone's origin and the names in its SOA. */
export interface RpzOptions {
  origin: string;
  hostmaster: string;
  ttl: number;
}

/** Defaults: `rpz.mamori.`, answers cached five minutes. */
export const DEFAULT_RPZ: RpzOptions = { origin: 'rpz.mamori.', hostmaster: 'hostmaster.mamori.', ttl: 300 };

/**
 * A DNS Response Policy Zone: each sinkholed domain and its subdomains answer NXDOMAIN
 * (`CNAME .`). Load it with BIND `response-policy`, Unbound `rpz:` or Knot Resolver.
 * @see https://datatracker.ietf.org/doc/draft-vixie-dnsop-dns-rpz/ §3, §4.1
 */
export function buildRpzZone(measures: readonly Measure[], options: RpzOptions = DEFAULT_RPZ): Artifact {
  const origin = options.origin.endsWith('.') ? options.origin : `${options.origin}.`;
  const lines = [
    '; mamori DNS response policy zone (RPZ): domains sinkholed by measures in force. Generated; do not edit.',
    `$TTL ${options.ttl}`,
    `$ORIGIN ${origin}`,
    `@ IN SOA localhost. ${options.hostmaster} ( ${serialOf(measures)} 3600 600 604800 ${options.ttl} )`,
    '@ IN NS localhost.',
  ];
  const seen = new Set<string>();
  for (const m of measures) {
    if (m.kind !== 'dns_sinkhole' || !('domains' in m.target)) continue;
    const domains = m.target.domains.filter((d) => !seen.has(d));
    if (domains.length === 0) continue;
    lines.push('', `; measure ${m.id} (${m.state}, ${m.authorization ?? 'unauthorized'} ${m.approvalId ?? ''})`.trimEnd());
    for (const d of domains) {
      seen.add(d);
      lines.push(`${d} CNAME .`, `*.${d} CNAME .`);
    }
  }
  return artifactOf(`${lines.join('\n')}\n`, 'text/dns; charset=utf-8');
}

/** One blocked prefix and the measures that block it. */
export interface BlockEntry { prefix: string; family: 4 | 6; measures: string[] }

/** The border block list: every prefix of the block measures in force, collapsed (no overlaps), with provenance. */
export function blockEntries(measures: readonly Measure[]): BlockEntry[] {
  const by = new Map<string, { p: Prefix; measures: Set<string> }>();
  for (const m of measures) {
    if (m.kind !== 'block' || !('prefixes' in m.target)) continue;
    for (const t of m.target.prefixes) {
      const p = parsePrefix(t);
      if (p === undefined) continue;
      const key = formatPrefix(p, false);
      const e = by.get(key) ?? { p, measures: new Set<string>() };
      e.measures.add(m.id);
      by.set(key, e);
    }
  }
  const kept = collapsePrefixes([...by.values()].map((e) => e.p));
  return kept.map((p) => {
    // A kept prefix carries the measures of every prefix it covers.
    const ms = new Set<string>();
    for (const e of by.values()) if (contains(p, e.p)) for (const id of e.measures) ms.add(id);
    return { prefix: formatPrefix(p, false), family: p.family, measures: [...ms].sort() };
  });
}

/** The block list as plain CIDR text, one prefix a line, for routers, firewalls and `ipset restore`-style loaders. */
export function buildCidrList(measures: readonly Measure[]): Artifact {
  const entries = blockEntries(measures);
  const head = [`# mamori border block list: prefixes blocked by measures in force (serial ${serialOf(measures)}). Generated; do not edit.`];
  return artifactOf(`${[...head, ...entries.map((e) => e.prefix)].join('\n')}\n`, 'text/plain; charset=utf-8');
}

/**
 * The block list as an nftables file: table `inet mamori` with interval sets `blocklist_v4` and
 * `blocklist_v6` and chains dropping traffic to and from them. Loading it replaces the table
 * atomically (`nft -f`).
 * @see https://wiki.nftables.org/wiki-nftables/index.php/Sets
 */
export function buildNftables(measures: readonly Measure[]): Artifact {
  const entries = blockEntries(measures);
  const v4 = entries.filter((e) => e.family === 4).map((e) => e.prefix.endsWith('/32') ? e.prefix.slice(0, -3) : e.prefix);
  const v6 = entries.filter((e) => e.family === 6).map((e) => e.prefix.endsWith('/128') ? e.prefix.slice(0, -4) : e.prefix);
  const set = (name: string, type: string, elements: string[]): string[] => [
    `\tset ${name} {`, `\t\ttype ${type}`, '\t\tflags interval',
    ...(elements.length > 0 ? [`\t\telements = { ${elements.join(',\n\t\t\t     ')} }`] : []),
    '\t}',
  ];
  const chain = (name: string, hook: string): string[] => [
    `\tchain ${name} {`, `\t\ttype filter hook ${hook} priority filter - 10; policy accept;`,
    '\t\tip daddr @blocklist_v4 counter drop', '\t\tip saddr @blocklist_v4 counter drop',
    '\t\tip6 daddr @blocklist_v6 counter drop', '\t\tip6 saddr @blocklist_v6 counter drop', '\t}',
  ];
  const lines = [
    '#!/usr/sbin/nft -f',
    `# mamori border block list (serial ${serialOf(measures)}): prefixes blocked by measures in force. Generated; do not edit.`,
    '# Loading replaces table inet mamori in one transaction.',
    'table inet mamori',
    'delete table inet mamori',
    'table inet mamori {',
    ...set('blocklist_v4', 'ipv4_addr', v4),
    ...set('blocklist_v6', 'ipv6_addr', v6),
    ...chain('input', 'input'), ...chain('forward', 'forward'), ...chain('output', 'output'),
    '}',
  ];
  return artifactOf(`${lines.join('\n')}\n`, 'text/plain; charset=utf-8');
}

/** The block list as JSON, with each prefix's measures and each measure's authority. */
export function buildBlockJson(measures: readonly Measure[]): Artifact {
  const blocks = measures.filter((m) => m.kind === 'block');
  const body = {
    format: 'mamori-blocklist/1',
    serial: serialOf(measures),
    entries: blockEntries(measures),
    measures: blocks.map((m) => ({ id: m.id, state: m.state, agency: m.agency, authorization: m.authorization, approvalId: m.approvalId, since: m.executingSince })),
  };
  return artifactOf(`${JSON.stringify(body, null, 2)}\n`, 'application/json; charset=utf-8');
}

const STIX_NAMESPACE = 'a1d3e1c2-6f0b-5a7e-9c1d-6d616d6f7269';

function describe(m: Measure): { name: string; description: string } {
  const t = m.target as Record<string, unknown>;
  switch (m.kind) {
    case 'dns_sinkhole': return { name: `DNS sinkhole of ${(t['domains'] as string[]).length} domain(s)`, description: `Resolvers answer NXDOMAIN for: ${(t['domains'] as string[]).join(', ')} (and their subdomains).` };
    case 'block': return { name: `Border block of ${(t['prefixes'] as string[]).length} prefix(es)`, description: `Traffic to and from these prefixes is dropped at the border: ${(t['prefixes'] as string[]).join(', ')}.` };
    case 'takedown_notice': return { name: 'Takedown notice to the hosting network', description: `The hosting network's abuse contact was asked to take down: ${[...(t['addresses'] as string[]), ...(t['domains'] as string[]), ...(t['urls'] as string[])].join(', ')}.` };
    case 'access_neutralize': return { name: 'Access and neutralization of an attack server', description: `A designated executor accessed the attack server ${String(t['address'])} to neutralize the harm, under the commission's authority.` };
  }
}

/**
 * STIX 2.1 course-of-action objects, one per measure in force, marked TLP:AMBER, in a bundle for the
 * council. Ids derive from the measure ids, so the same measures give the same bundle.
 * @see STIX 2.1 §4.3 (course-of-action); TLP 2.0
 */
export function buildStixBundle(measures: readonly Measure[]): Artifact {
  const objects: StixObject[] = [TLP.AMBER as StixObject];
  for (const m of measures) {
    const at = new Date(Date.parse(m.executingSince ?? m.updatedAt)).toISOString();
    const { name, description } = describe(m);
    const o = parseStixObject({
      type: 'course-of-action', spec_version: '2.1', id: `course-of-action--${uuidV5(STIX_NAMESPACE, m.id)}`, created: at, modified: at,
      name, description, object_marking_refs: [TLP.AMBER.id], external_references: [{ source_name: 'mamori', external_id: m.id }],
    });
    if (!o.ok) throw new AppError('INTERNAL', 'A course-of-action object did not validate.', { cause: o.error });
    objects.push(o.value);
  }
  const b = parseBundle({ type: 'bundle', id: `bundle--${uuidV5(STIX_NAMESPACE, `bundle:${measures.map((m) => `${m.id}@${m.updatedAt}`).join(',')}`)}`, objects });
  if (!b.ok) throw new AppError('INTERNAL', 'The STIX bundle did not validate.', { cause: b.error });
  return artifactOf(`${JSON.stringify(b.value as Bundle, null, 2)}\n`, 'application/stix+json;version=2.1');
}

/** The artifact formats served. */
export const ARTIFACT_FORMATS = ['rpz', 'cidr', 'nft', 'json', 'stix'] as const;
/** One artifact format. */
export type ArtifactFormat = (typeof ARTIFACT_FORMATS)[number];

/** Builds the artifact of `format` from measures in force. */
export function buildArtifact(format: ArtifactFormat, measures: readonly Measure[], rpz: RpzOptions = DEFAULT_RPZ): Artifact {
  switch (format) {
    case 'rpz': return buildRpzZone(measures, rpz);
    case 'cidr': return buildCidrList(measures);
    case 'nft': return buildNftables(measures);
    case 'json': return buildBlockJson(measures);
    case 'stix': return buildStixBundle(measures);
  }
}

/**
 * Whether an If-None-Match header matches the entity tag (weak comparison, as RFC 9110 prescribes
 * for If-None-Match): `*`, or any listed tag equal ignoring a `W/` prefix.
 * @see RFC 9110 §13.1.2
 */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  const strip = (t: string): string => t.trim().replace(/^W\//, '');
  return header.split(',').map(strip).includes(strip(etag));
}
