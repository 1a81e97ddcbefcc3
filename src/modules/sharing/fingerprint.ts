/**
 * @module Leak attribution: each recipient's copy of an object carries marks derived from a keyed PRF of
 * the recipient (a format-preserving encryption of the object id, sub-millisecond timestamp digits, list
 * orders, pattern spacing and a dissemination reference), and a leaked copy is scored against each
 * recipient's expected marks. docs/sharing.md explains the scheme and its limits.
 */
import { createHmac } from 'node:crypto';

/** A JSON object as the marker sees it. */
export type JsonObject = Record<string, unknown>;

/** The per-recipient key: HMAC-SHA-256(master, "recipient:" + user id). @see docs/sharing.md "Leak tracing" */
export function recipientKey(master: Uint8Array, userId: string): Buffer {
  return createHmac('sha256', master).update(`recipient:${userId}`).digest();
}

function prf(key: Uint8Array, label: string): Buffer {
  return createHmac('sha256', key).update(label).digest();
}

const MASK61 = (1n << 61n) - 1n;
const UUID4 = /^([a-z][a-z0-9-]*--)([0-9a-f]{8})-([0-9a-f]{4})-4([0-9a-f]{3})-([89ab][0-9a-f]{3})-([0-9a-f]{12})$/;

function roundF(key: Uint8Array, round: number, half: bigint): bigint {
  const b = Buffer.alloc(9);
  b[0] = round;
  b.writeBigUInt64BE(half, 1);
  return createHmac('sha256', key).update(b).digest().readBigUInt64BE(0) & MASK61;
}

function splitUuid(m: RegExpExecArray): bigint {
  // The 122 free bits of a version-4 UUID: 48 + 12 after the version nibble + 62 after the variant bits.
  const a = BigInt(`0x${m[2]}${m[3]}`);
  const b = BigInt(`0x${m[4]}`);
  const c = ((BigInt(`0x${m[5]}`) & 0x3fffn) << 48n) | BigInt(`0x${m[6]}`);
  return (a << 74n) | (b << 62n) | c;
}

function joinUuid(prefix: string, x: bigint): string {
  const a = (x >> 74n).toString(16).padStart(12, '0');
  const b = ((x >> 62n) & 0xfffn).toString(16).padStart(3, '0');
  const c = x & ((1n << 62n) - 1n);
  const v = (0x8000n | (c >> 48n)).toString(16);
  const d = (c & ((1n << 48n) - 1n)).toString(16).padStart(12, '0');
  return `${prefix}${a.slice(0, 8)}-${a.slice(8)}-4${b}-${v}-${d}`;
}

function feistel(key: Uint8Array, x: bigint, decrypt: boolean): bigint {
  let l = x >> 61n;
  let r = x & MASK61;
  const rounds = [0, 1, 2, 3];
  if (!decrypt) {
    for (const i of rounds) [l, r] = [r, l ^ roundF(key, i, r)];
  } else {
    for (const i of rounds.reverse()) [l, r] = [r ^ roundF(key, i, l), l];
  }
  return (l << 61n) | r;
}

/**
 * The recipient's form of a STIX identifier: its 122 random bits through a 4-round Feistel permutation
 * keyed by the recipient, so it stays a valid version-4 identifier and is reversible with the key.
 * Identifiers that are not version 4 (deterministic SCO ids, TLP markings) are returned unchanged.
 * @see STIX 2.1 §2.9; docs/sharing.md
 */
export function markId(key: Uint8Array, id: string): string {
  let memo = idMemo.get(key);
  if (memo === undefined) { memo = new Map(); idMemo.set(key, memo); }
  const hit = memo.get(id);
  if (hit !== undefined) return hit;
  const m = UUID4.exec(id);
  const out = m === null || id.startsWith('marking-definition--') || id.startsWith('extension-definition--') ? id : joinUuid(m[1]!, feistel(key, splitUuid(m), false));
  // Shared references (the NCO identity) recur in every object; a small memo per key saves their rounds.
  if (memo.size > 4096) memo.clear();
  memo.set(id, out);
  return out;
}

const idMemo = new WeakMap<Uint8Array, Map<string, string>>();

/** The canonical identifier behind a recipient's marked identifier (the inverse of `markId`). @see docs/sharing.md */
export function unmarkId(key: Uint8Array, id: string): string {
  const m = UUID4.exec(id);
  if (m === null || id.startsWith('marking-definition--') || id.startsWith('extension-definition--')) return id;
  return joinUuid(m[1]!, feistel(key, splitUuid(m), true));
}

/** Timestamp properties that get sub-millisecond digits. */
export const MARKED_TIMESTAMPS = ['created', 'modified', 'valid_from', 'valid_until', 'first_seen', 'last_seen', 'published'] as const;
/** List properties whose order is permuted per recipient (their order carries no meaning in STIX). */
export const MARKED_LISTS = ['labels', 'indicator_types', 'external_references', 'object_refs', 'kill_chain_phases', 'aliases', 'roles', 'sectors'] as const;
/** The source name of the per-recipient dissemination reference. */
export const DISSEMINATION_SOURCE = 'mamori-dissemination';

const TS = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,3}))?Z$/;

// One PRF output per (recipient, object) feeds every choice in that object (hot path: bench/taxii):
// bytes 0–13 timestamp digits (2 bytes per field), 14–18 the dissemination reference, 19 the pattern
// form, 20–31 list permutations (a second block is drawn for long lists).
function streamOf(key: Uint8Array, canonicalId: string): Buffer {
  return Buffer.concat([prf(key, `obj|${canonicalId}`), prf(key, `obj2|${canonicalId}`)]);
}

function markTimestamp(stream: Buffer, field: number, value: string, reuse?: string): string {
  const m = TS.exec(value);
  if (m === null) return value;
  const ms = (m[2] ?? '').padEnd(3, '0');
  return `${m[1]}.${ms}${reuse ?? String(stream.readUInt16BE(field * 2) % 1000).padStart(3, '0')}Z`;
}

function permute<T>(stream: Buffer, salt: number, list: readonly T[]): T[] {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = stream.readUInt16BE(20 + ((i * 2 + salt * 6) % 42)) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** The recipient's dissemination reference for an object: `NCO-` and 8 base-32 characters (40 bits). @see docs/sharing.md */
export function disseminationRef(key: Uint8Array, canonicalId: string): string {
  return refOf(streamOf(key, canonicalId));
}

function refOf(stream: Buffer): string {
  let n = stream.readUIntBE(14, 5);
  let s = '';
  for (let i = 0; i < 8; i++) {
    s = BASE32[n % 32]! + s;
    n = Math.floor(n / 32);
  }
  return `NCO-${s}`;
}

function patternVariant(stream: Buffer, pattern: string): string {
  const bits = stream[19]!;
  let p = pattern;
  // Both edits only touch whitespace between tokens (the first ' = ' is the comparison operator by the
  // regex), so the variant means exactly the same pattern; fingerprint.test.ts checks it parses alike.
  if ((bits & 1) === 1 && /^\[[a-z0-9-]+:[a-z0-9_.]+ = '/.test(p)) p = p.replace(' = ', '=');
  if ((bits & 2) === 2 && p.startsWith('[') && p.endsWith(']') && !p.startsWith('[ ')) p = `[ ${p.slice(1, -1)} ]`;
  return p;
}

function mapRefs(value: unknown, f: (id: string) => string, key = ''): unknown {
  if (Array.isArray(value)) return key.endsWith('_refs') ? value.map((v) => (typeof v === 'string' ? f(v) : v)) : value.map((v) => mapRefs(v, f));
  if (value !== null && typeof value === 'object') {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value as JsonObject)) out[k] = k.endsWith('_ref') && typeof v === 'string' ? f(v) : mapRefs(v, f, k);
    return out;
  }
  return value;
}

/**
 * The recipient's copy of one of our objects: identifiers (its own and those it references) through
 * `markId`, sub-millisecond digits on its timestamps, list orders permuted, a spacing variant of its
 * pattern, and a dissemination reference among its external references. The copy is valid STIX and
 * means the same as the original. Deterministic: the same recipient always gets the same copy.
 * @see STIX 2.1 §2.9, §3.2, §4.7; docs/sharing.md
 */
export function markObject(key: Uint8Array, object: JsonObject): JsonObject {
  const canonicalId = String(object['id']);
  const out = mapRefs(object, (id) => markId(key, id)) as JsonObject;
  out['id'] = markId(key, canonicalId);
  if (object['type'] === 'marking-definition' || object['type'] === 'identity') return out;
  const stream = streamOf(key, canonicalId);
  const createdMark = typeof object['created'] === 'string' ? markTimestamp(stream, 0, object['created']) : undefined;
  MARKED_TIMESTAMPS.forEach((f, i) => {
    const v = object[f];
    if (typeof v !== 'string') return;
    // modified equal to created must stay equal (STIX requires modified >= created).
    out[f] = f === 'modified' && v === object['created'] && createdMark !== undefined ? createdMark : f === 'created' ? createdMark : markTimestamp(stream, i, v);
  });
  const refs = Array.isArray(out['external_references']) ? [...(out['external_references'] as unknown[])] : [];
  refs.push({ source_name: DISSEMINATION_SOURCE, external_id: refOf(stream) });
  out['external_references'] = refs;
  MARKED_LISTS.forEach((f, i) => {
    const v = out[f];
    if (Array.isArray(v) && v.length > 1) out[f] = permute(stream, i, v);
  });
  if (typeof out['pattern'] === 'string') out['pattern'] = patternVariant(stream, out['pattern']);
  return out;
}

/** One piece of evidence that a leaked copy is a given recipient's: which mark, and how many bits it carries. */
export interface MarkEvidence {
  mark: string;
  bits: number;
  matched: boolean;
}

function log2Factorial(n: number): number {
  let s = 0;
  for (let i = 2; i <= n; i++) s += Math.log2(i);
  return s;
}

/**
 * Compares a leaked (possibly partial) object with what `expected` (a recipient's copy) says, mark by
 * mark; only marks present in the leaked object are compared.
 * @see docs/sharing.md "Leak tracing"
 */
export function compareMarks(leaked: JsonObject, expected: JsonObject): MarkEvidence[] {
  const out: MarkEvidence[] = [];
  if (typeof leaked['id'] === 'string' && leaked['id'] !== expected['id'] && UUID4.test(String(expected['id']))) out.push({ mark: 'id', bits: 122, matched: false });
  else if (typeof leaked['id'] === 'string' && UUID4.test(String(expected['id']))) out.push({ mark: 'id', bits: 122, matched: true });
  for (const f of MARKED_TIMESTAMPS) {
    const l = leaked[f];
    const e = expected[f];
    if (typeof l !== 'string' || typeof e !== 'string') continue;
    if (!/\.\d{6}Z$/.test(l)) continue; // digits stripped: no evidence either way
    if (f === 'modified' && expected['modified'] === expected['created'] && leaked['created'] !== undefined) continue;
    out.push({ mark: `timestamp:${f}`, bits: Math.log2(1000), matched: l === e });
  }
  const extRefs = (v: unknown) => (Array.isArray(v) ? v : []).flatMap((r) => (r !== null && typeof r === 'object' && (r as JsonObject)['source_name'] === DISSEMINATION_SOURCE ? [String((r as JsonObject)['external_id'])] : []));
  const le = extRefs(leaked['external_references']);
  const ee = extRefs(expected['external_references']);
  if (le.length > 0 && ee.length > 0) out.push({ mark: 'dissemination-ref', bits: 40, matched: le.includes(ee[0]!) });
  for (const f of MARKED_LISTS) {
    const l = leaked[f];
    const e = expected[f];
    if (!Array.isArray(l) || !Array.isArray(e) || l.length < 3 || l.length !== e.length) continue;
    out.push({ mark: `order:${f}`, bits: log2Factorial(l.length), matched: JSON.stringify(l) === JSON.stringify(e) });
  }
  if (typeof leaked['pattern'] === 'string' && typeof expected['pattern'] === 'string') out.push({ mark: 'pattern-form', bits: 1, matched: leaked['pattern'] === expected['pattern'] });
  return out;
}
