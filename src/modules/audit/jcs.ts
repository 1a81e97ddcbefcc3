/** @module RFC 8785 JSON Canonicalization Scheme, so an audit entry hashes to the same bytes on every node. */
import { AppError } from '#platform/errors/index.js';

// Lone surrogates cannot be encoded as UTF-8; with the u flag a valid pair is one code point and
// does not match, so this finds only the unpaired halves.
const LONE_SURROGATE = /\p{Cs}/u;

function reject(path: string, what: string): never {
  throw new AppError('BAD_REQUEST', `Cannot canonicalize ${path}: ${what}.`, { details: [{ path, message: what }] });
}

function serializeString(s: string, path: string): string {
  if (LONE_SURROGATE.test(s)) reject(path, 'string holds an unpaired UTF-16 surrogate');
  // ECMAScript's JSON.stringify escapes exactly as RFC 8785 §3.2.2.2 requires: \" \\ \b \f \n \r \t,
  // other controls as lowercase \u00xx, everything else literal.
  return JSON.stringify(s);
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function serialize(value: unknown, path: string, ancestors: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return serializeString(value, path);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) reject(path, 'NaN and Infinity are not JSON numbers');
      // Number.prototype.toString is the ECMAScript serialization RFC 8785 §3.2.2.3 mandates; -0 becomes "0".
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      return reject(path, `a ${typeof value} is not a JSON value`);
  }
  if (value === null) return 'null';
  if (ancestors.has(value)) reject(path, 'the value contains a cycle');
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      const items: string[] = [];
      for (let i = 0; i < value.length; i++) items.push(serialize(value[i] as unknown, `${path}[${i}]`, ancestors));
      return `[${items.join(',')}]`;
    }
    if (!isPlainObject(value)) reject(path, 'only plain objects, arrays and primitives are JSON (convert dates, maps and class instances first)');
    // Default sort compares UTF-16 code units, the order RFC 8785 §3.2.3 specifies.
    const keys = Object.keys(value).sort();
    const members = keys.map((k) => `${serializeString(k, `${path}.${k}`)}:${serialize(value[k], `${path}.${k}`, ancestors)}`);
    return `{${members.join(',')}}`;
  } finally {
    ancestors.delete(value);
  }
}

/**
 * Serializes a JSON value canonically (sorted keys, ECMAScript number form, minimal escaping).
 * Throws AppError BAD_REQUEST, with the offending path, for anything that is not I-JSON: NaN,
 * Infinity, undefined (in arrays and as property values), functions, symbols, bigints, non-plain
 * objects, cycles and unpaired surrogates; it never silently drops or rewrites a value.
 * @see RFC 8785 §3.2
 */
export function canonicalize(value: unknown): string {
  try {
    return fast(value, 0);
  } catch (e) {
    if (e !== NOT_FAST) throw e;
    // Something is not I-JSON: the slow serializer finds it and names its path.
    return serialize(value, '$', new Set());
  }
}

const NOT_FAST = new Error('not canonicalizable on the fast path');
// Plain data nests shallowly; deeper values (or cycles) go to the slow path, which reports cycles.
const FAST_DEPTH = 64;

/**
 * The same serialization without building error paths (bench/audit appends canonicalize every
 * entry); any value it is unsure of throws NOT_FAST and the path-reporting serializer takes over.
 */
function fast(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      if (LONE_SURROGATE.test(value)) throw NOT_FAST;
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw NOT_FAST;
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw NOT_FAST;
  }
  if (value === null) return 'null';
  if (depth > FAST_DEPTH) throw NOT_FAST;
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + fast(value[i] as unknown, depth + 1);
    return `${out}]`;
  }
  if (!isPlainObject(value)) throw NOT_FAST;
  const keys = Object.keys(value).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (LONE_SURROGATE.test(k)) throw NOT_FAST;
    out += `${i === 0 ? '' : ','}${JSON.stringify(k)}:${fast(value[k], depth + 1)}`;
  }
  return `${out}}`;
}

/** The canonical form as UTF-8 bytes, ready to hash. @see RFC 8785 §3.2.4 */
export function canonicalBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalize(value));
}
