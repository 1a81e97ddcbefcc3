/** @module Drafting intelligence from our own work: STIX objects from indicator values, and sanitization (pseudonyms, operator identities, what the marking forbids). */
import { createBundle, createStixObject, TLP, uuidV5, type StixObject, type TlpLevel } from './stix/index.js';

/** The NCO's STIX identity: every object mamori originates names it in `created_by_ref`. @see STIX 2.1 §4.5 */
export const NCO_IDENTITY_ID = `identity--${uuidV5('6f1a3c2e-4b7d-4e59-9a1f-2c8d5e7b9a10', 'mamori-national-cybersecurity-office')}`;

/** The NCO identity object. @see STIX 2.1 §4.5 */
export function ncoIdentity(): StixObject {
  return { type: 'identity', spec_version: '2.1', id: NCO_IDENTITY_ID, created: '2025-07-01T00:00:00.000Z', modified: '2025-07-01T00:00:00.000Z', name: 'National Cybersecurity Office', identity_class: 'organization', sectors: ['government'] } as StixObject;
}

const TLP_MARKING: Record<TlpLevel, string> = {
  clear: TLP.CLEAR.id, green: TLP.GREEN.id, amber: TLP.AMBER.id, 'amber+strict': TLP.AMBER_STRICT.id, red: TLP.RED.id,
};

/** One thing sanitization took out, and why. */
export interface Removal {
  path: string;
  reason: 'PSEUDONYM' | 'OPERATOR_IDENTITY' | 'TLP_FORBIDS';
}

/** What sanitization needs to know: operators that may not be named, and sector names a wide marking must not reveal. */
export interface SanitizeContext {
  /** Names of designated operators that did not consent to be named. */
  operatorNames: readonly string[];
  /** Sector names (victim sectors) that TLP:CLEAR and TLP:GREEN intelligence must not carry. */
  sectorNames: readonly string[];
}

// Keyed pseudonyms are 128-bit hex (selection's HMAC truncated to 16 bytes), optionally prefixed.
const PSEUDONYM = /\b(?:pseud(?:onym)?[:_-])?[0-9a-f]{32}\b/gi;

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Cleans free text: pseudonyms (except values that are declared MD5 indicators) and names of operators
 * that did not consent. Returns the text and what was removed.
 * @see DESIGN.md invariant 3; issue 9 "Sanitization"
 */
export function sanitizeText(text: string, path: string, sc: SanitizeContext, allowedHex: ReadonlySet<string>): { text: string; removed: Removal[] } {
  const removed: Removal[] = [];
  let out = text.replace(PSEUDONYM, (m) => {
    if (allowedHex.has(m.toLowerCase())) return m;
    removed.push({ path, reason: 'PSEUDONYM' });
    return '[pseudonym removed]';
  });
  for (const name of sc.operatorNames) {
    if (name.trim() === '') continue;
    const re = new RegExp(escapeRegex(name), 'gi');
    if (re.test(out)) {
      removed.push({ path, reason: 'OPERATOR_IDENTITY' });
      out = out.replace(re, '[a designated operator]');
    }
  }
  return { text: out, removed };
}

function quote(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A STIX pattern for one indicator value. @see STIX 2.1 §9 */
export function patternFor(kind: string, value: string): string | undefined {
  switch (kind) {
    case 'ipv4': return `[ipv4-addr:value = ${quote(value)}]`;
    case 'ipv6': return `[ipv6-addr:value = ${quote(value)}]`;
    case 'domain': return `[domain-name:value = ${quote(value.toLowerCase())}]`;
    case 'url': return `[url:value = ${quote(value)}]`;
    case 'email': return `[email-addr:value = ${quote(value)}]`;
    case 'md5': return `[file:hashes.MD5 = ${quote(value.toLowerCase())}]`;
    case 'sha1': return `[file:hashes.'SHA-1' = ${quote(value.toLowerCase())}]`;
    case 'sha256': return `[file:hashes.'SHA-256' = ${quote(value.toLowerCase())}]`;
    default: return undefined;
  }
}

/** The draft content sanitization and STIX building work on. */
export interface DraftContent {
  title: string;
  description?: string | undefined;
  indicators: readonly { kind: string; value: string }[];
  tlp: TlpLevel;
  labels: readonly string[];
  confidence: number;
  validDays: number;
}

/**
 * Builds the STIX objects of a draft (one indicator per value and a report grouping them, all marked
 * with the draft's TLP and created by the NCO), sanitizing on the way.
 * @see STIX 2.1 §4.7, §4.14; TLP 2.0 (FIRST)
 */
export function buildDraftObjects(content: DraftContent, sc: SanitizeContext, now: Date): { objects: StixObject[]; removed: Removal[] } {
  const removed: Removal[] = [];
  const md5s = new Set(content.indicators.filter((i) => i.kind === 'md5').map((i) => i.value.toLowerCase()));
  const clean = (text: string, path: string) => {
    const r = sanitizeText(text, path, sc, md5s);
    removed.push(...r.removed);
    return r.text;
  };
  const wide = content.tlp === 'clear' || content.tlp === 'green';
  const sectors = new Set(sc.sectorNames.map((s) => s.toLowerCase()));
  const labels = content.labels.flatMap((l, i) => {
    if (wide && sectors.has(l.toLowerCase())) {
      removed.push({ path: `labels.${i}`, reason: 'TLP_FORBIDS' });
      return [];
    }
    return [clean(l, `labels.${i}`)];
  });
  const marking = [TLP_MARKING[content.tlp]];
  const validUntil = new Date(now.getTime() + content.validDays * 86_400_000).toISOString();
  const objects: StixObject[] = [];
  content.indicators.forEach((ind, i) => {
    if (ind.kind === 'pseudonym') {
      removed.push({ path: `indicators.${i}`, reason: 'PSEUDONYM' });
      return;
    }
    const pattern = patternFor(ind.kind, ind.value);
    if (pattern === undefined) return;
    const r = createStixObject('indicator', {
      name: `${ind.kind} ${ind.value}`,
      pattern, pattern_type: 'stix', valid_from: now.toISOString(), valid_until: validUntil,
      indicator_types: ['malicious-activity'], confidence: content.confidence,
      ...(labels.length > 0 ? { labels } : {}),
      created_by_ref: NCO_IDENTITY_ID, object_marking_refs: marking,
    }, now);
    if (!r.ok) {
      removed.push({ path: `indicators.${i}`, reason: 'TLP_FORBIDS' });
      return;
    }
    objects.push(r.value);
  });
  if (objects.length > 0) {
    const report = createStixObject('report', {
      name: clean(content.title, 'title'),
      ...(content.description !== undefined ? { description: clean(content.description, 'description') } : {}),
      report_types: ['indicator'], published: now.toISOString(),
      object_refs: objects.map((o) => o.id), confidence: content.confidence,
      created_by_ref: NCO_IDENTITY_ID, object_marking_refs: marking,
    }, now);
    if (report.ok) objects.push(report.value);
  }
  return { objects, removed };
}

/** A valid bundle of `objects` (for export and tests). @see STIX 2.1 §8 */
export function bundleOf(objects: readonly StixObject[]): string {
  const b = createBundle(objects);
  if (!b.ok) throw b.error;
  return JSON.stringify(b.value);
}
