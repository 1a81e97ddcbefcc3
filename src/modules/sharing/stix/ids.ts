/** @module STIX identifiers: random (UUIDv4) ids for domain objects and deterministic (UUIDv5) ids for cyber-observables (STIX 2.1 §2.9). */
import { createHash, randomUUID } from 'node:crypto';
import { AppError } from '#platform/errors/index.js';

const TYPE_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*-?$/;

/** The namespace STIX 2.1 fixes for cyber-observable UUIDv5 ids. @see STIX 2.1 §2.9 */
export const SCO_ID_NAMESPACE = '00abedb4-aa42-466c-9c01-fed23315a9b7';

function checkType(type: string): void {
  if (!TYPE_NAME.test(type) || type.length < 3 || type.length > 250) {
    throw new AppError('BAD_REQUEST', 'A STIX type name has 3–250 characters from a-z, 0-9 and hyphens, starting with a letter.');
  }
}

/** A fresh identifier `type--UUIDv4`, as domain, relationship and meta objects use. @see STIX 2.1 §2.9 */
export function stixId(type: string): string {
  checkType(type);
  return `${type}--${randomUUID()}`;
}

/** A name-based UUID version 5 (SHA-1) of `name` in `namespace`. @see RFC 9562 §5.5 */
export function uuidV5(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (ns.length !== 16) throw new AppError('BAD_REQUEST', 'The UUID namespace must be a UUID.');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  const b = hash.subarray(0, 16);
  b[6] = ((b[6] as number) & 0x0f) | 0x50;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** JSON with object keys sorted, the JCS form STIX hashes for UUIDv5 ids (for the strings and integers these properties hold). @see RFC 8785; STIX 2.1 §2.9 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The ID contributing properties of the cyber-observable types whose ids we derive deterministically.
 * Types whose contributing properties include `hashes` (artifact, file, x509-certificate) and process
 * (which has none) get UUIDv4 ids instead, which STIX permits.
 * @see STIX 2.1 §6 (each object's "ID Contributing Properties")
 */
export const SCO_ID_CONTRIBUTING_PROPERTIES: Readonly<Record<string, readonly string[]>> = {
  'autonomous-system': ['number'],
  directory: ['path'],
  'domain-name': ['value'],
  'email-addr': ['value'],
  'email-message': ['from_ref', 'subject', 'body'],
  'ipv4-addr': ['value'],
  'ipv6-addr': ['value'],
  'mac-addr': ['value'],
  mutex: ['name'],
  'network-traffic': ['start', 'end', 'src_ref', 'dst_ref', 'src_port', 'dst_port', 'protocols', 'extensions'],
  software: ['name', 'cpe', 'swid', 'vendor', 'version'],
  url: ['value'],
  'user-account': ['account_type', 'user_id', 'account_login'],
  'windows-registry-key': ['key', 'values'],
};

/**
 * The id of a cyber-observable: UUIDv5 over the canonical JSON of its ID contributing properties, so
 * the same observable gets the same id everywhere; UUIDv4 when none of them is present.
 * @see STIX 2.1 §2.9
 */
export function scoId(object: { type: string } & Record<string, unknown>): string {
  checkType(object.type);
  const contributing = SCO_ID_CONTRIBUTING_PROPERTIES[object.type] ?? [];
  const picked: Record<string, unknown> = {};
  for (const p of contributing) if (object[p] !== undefined) picked[p] = object[p];
  if (Object.keys(picked).length === 0) return stixId(object.type);
  return `${object.type}--${uuidV5(SCO_ID_NAMESPACE, canonicalJson(picked))}`;
}
