/** @module TAXII 2.1 protocol pieces without HTTP: media types, query filters, paging tokens and resource shapes (TAXII 2.1 §1.6, §3, §4, §5). */
import { AppError } from '#platform/errors/index.js';

/** The one TAXII 2.1 media type. @see TAXII 2.1 §1.6.8 */
export const TAXII_MEDIA_TYPE = 'application/taxii+json;version=2.1';
/** The STIX 2.1 media type, as collections and manifests name it. @see TAXII 2.1 §1.6.8 */
export const STIX_MEDIA_TYPE = 'application/stix+json;version=2.1';

function mediaParts(value: string): { type: string; params: Map<string, string> } {
  const [type = '', ...rest] = value.split(';').map((s) => s.trim());
  const params = new Map<string, string>();
  for (const p of rest) {
    const i = p.indexOf('=');
    if (i > 0) params.set(p.slice(0, i).trim().toLowerCase(), p.slice(i + 1).trim().replace(/^"|"$/g, ''));
  }
  return { type: type.toLowerCase(), params };
}

/** True when an Accept header admits the TAXII 2.1 media type (absent, wildcard, or taxii+json with version 2.1 or none). @see TAXII 2.1 §1.6.8 */
export function acceptsTaxii(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  return accept.split(',').some((range) => {
    const { type, params } = mediaParts(range);
    if (params.get('q') === '0') return false;
    if (type === '*/*' || type === 'application/*') return true;
    return type === 'application/taxii+json' && (params.get('version') === undefined || params.get('version') === '2.1');
  });
}

/** True when a Content-Type is the TAXII 2.1 media type (optionally without its version parameter). @see TAXII 2.1 §1.6.8 */
export function isTaxiiContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const { type, params } = mediaParts(contentType);
  return type === 'application/taxii+json' && (params.get('version') ?? '2.1') === '2.1';
}

/** Which versions `match[version]` selects: first, last, all, or given `modified` timestamps. @see TAXII 2.1 §3.4.1 */
export interface VersionMatch {
  first: boolean;
  last: boolean;
  all: boolean;
  timestamps: string[];
}

/** A parsed TAXII object query. @see TAXII 2.1 §3.4, §3.5 */
export interface ObjectQuery {
  limit: number;
  /** The last sequence number already delivered (from `next`). */
  after: number;
  addedAfter: string | undefined;
  ids: string[];
  types: string[];
  versions: VersionMatch;
  specVersions: string[];
}

const TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

function list(v: unknown): string[] {
  if (v === undefined) return [];
  const parts = (Array.isArray(v) ? v : [v]).flatMap((s) => String(s).split(','));
  return parts.map((s) => s.trim()).filter((s) => s !== '');
}

/** Encodes a paging token: the last sequence number of a page, opaque to clients. @see TAXII 2.1 §3.4 */
export function encodeNext(seq: number): string {
  return Buffer.from(`s:${seq}`).toString('base64url');
}

function decodeNext(token: string): number {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const m = /^s:(0|[1-9]\d{0,15})$/.exec(text);
  if (m === null) throw new AppError('BAD_REQUEST', 'next: this paging token is not one this server issued; start again without next.');
  return Number(m[1]);
}

/** The envelope of an objects page (`more` and `next` lead, so a client can page from its head). @see TAXII 2.1 §3.7 */
export function objectsEnvelope(objects: readonly string[], more: boolean, next: string | undefined): string {
  if (objects.length === 0) return '{"more":false}';
  return `{"more":${more}${next !== undefined ? `,"next":${JSON.stringify(next)}` : ''},"objects":[${objects.join(',')}]}`;
}

/**
 * Parses the query parameters of an objects, manifest, object or versions request: `limit`, `next`,
 * `added_after`, `match[id]`, `match[type]`, `match[version]`, `match[spec_version]`.
 * @see TAXII 2.1 §3.4.1, §5.3–§5.8
 */
export function parseObjectQuery(q: Record<string, unknown>, options: { maxLimit: number; defaultLimit: number; defaultVersion: 'last' | 'all' }): ObjectQuery {
  let limit = options.defaultLimit;
  if (q['limit'] !== undefined) {
    const s = String(q['limit']);
    if (!/^[1-9]\d{0,8}$/.test(s)) throw new AppError('BAD_REQUEST', 'limit: give a positive whole number.');
    limit = Math.min(Number(s), options.maxLimit);
  }
  const after = q['next'] === undefined ? 0 : decodeNext(String(q['next']));
  let addedAfter: string | undefined;
  if (q['added_after'] !== undefined) {
    addedAfter = String(q['added_after']);
    if (!TS.test(addedAfter) || Number.isNaN(Date.parse(addedAfter))) throw new AppError('BAD_REQUEST', 'added_after: give an RFC 3339 UTC timestamp such as 2026-04-01T00:00:00.000Z.');
  }
  const versionsRaw = list(q['match[version]']);
  const versions: VersionMatch = { first: false, last: false, all: false, timestamps: [] };
  for (const v of versionsRaw.length === 0 ? [options.defaultVersion] : versionsRaw) {
    if (v === 'first') versions.first = true;
    else if (v === 'last') versions.last = true;
    else if (v === 'all') versions.all = true;
    else if (TS.test(v) && !Number.isNaN(Date.parse(v))) versions.timestamps.push(v);
    else throw new AppError('BAD_REQUEST', 'match[version]: give first, last, all or an RFC 3339 timestamp, comma-separated.');
  }
  const specVersions = list(q['match[spec_version]']);
  for (const s of specVersions) if (!/^2\.[01]$/.test(s)) throw new AppError('BAD_REQUEST', 'match[spec_version]: give 2.0 or 2.1.');
  const types = list(q['match[type]']);
  for (const t of types) if (!/^[a-z][a-z0-9-]{0,249}$/.test(t)) throw new AppError('BAD_REQUEST', 'match[type]: give STIX type names such as indicator.');
  const ids = list(q['match[id]']);
  for (const id of ids) if (!/^[a-z][a-z0-9-]*--[0-9a-fA-F-]{36}$/.test(id)) throw new AppError('BAD_REQUEST', 'match[id]: give STIX identifiers such as indicator--<uuid>.');
  return { limit, after, addedAfter, ids, types, versions, specVersions };
}

/** The TAXII error message resource. @see TAXII 2.1 §3.6.1 */
export interface TaxiiError {
  title: string;
  description?: string;
  error_id?: string;
  error_code?: string;
  http_status?: string;
  external_details?: string;
  details?: Record<string, string>;
}

/** Builds a TAXII error message for an HTTP status and a stable code. @see TAXII 2.1 §3.6.1 */
export function taxiiError(status: number, code: string, message: string, requestId: string): TaxiiError {
  const titles: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 406: 'Not Acceptable', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 429: 'Too Many Requests' };
  return { title: titles[status] ?? (status >= 500 ? 'Internal Server Error' : 'Error'), description: message, error_id: requestId, error_code: code, http_status: String(status), details: { request_id: requestId } };
}

/** One success or failure of an add-objects request, as the status resource lists it. @see TAXII 2.1 §4.3.1 */
export interface StatusDetail {
  id: string;
  version: string;
  message?: string;
}

/** The status resource of an add-objects request. @see TAXII 2.1 §4.3.1 */
export interface StatusResource {
  id: string;
  status: 'pending' | 'complete';
  request_timestamp: string;
  total_count: number;
  success_count: number;
  successes: StatusDetail[];
  failure_count: number;
  failures: StatusDetail[];
  pending_count: number;
  pendings: StatusDetail[];
}
