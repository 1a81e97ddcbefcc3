/** @module A TAXII 2.1 client over fetch: discovery, API roots, collections, objects (paged), manifest, versions, add with status, delete. */
import { AppError } from '#platform/errors/index.js';
import type { FeedAuth } from './schema.js';
import { TAXII_MEDIA_TYPE, type StatusResource } from './taxii.js';

/** The part of fetch the client uses (tests pass one bound to an in-process server). */
export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal }) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

/** Filters of a GET objects/manifest request. @see TAXII 2.1 §3.4.1 */
export interface GetOptions {
  addedAfter?: string;
  limit?: number;
  next?: string;
  matchId?: string[];
  matchType?: string[];
  matchVersion?: string[];
  matchSpecVersion?: string[];
}

/** One page of objects with the server's paging facts. @see TAXII 2.1 §3.7 envelope */
export interface ObjectsPage {
  objects: Record<string, unknown>[];
  more: boolean;
  next: string | undefined;
  dateAddedFirst: string | undefined;
  dateAddedLast: string | undefined;
}

function authHeader(auth: FeedAuth): Record<string, string> {
  if (auth.kind === 'basic') return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
  if (auth.kind === 'bearer') return { authorization: `Bearer ${auth.token}` };
  return {};
}

function withQuery(url: string, o: GetOptions): string {
  const u = new URL(url);
  if (o.addedAfter !== undefined) u.searchParams.set('added_after', o.addedAfter);
  if (o.limit !== undefined) u.searchParams.set('limit', String(o.limit));
  if (o.next !== undefined) u.searchParams.set('next', o.next);
  if (o.matchId !== undefined) u.searchParams.set('match[id]', o.matchId.join(','));
  if (o.matchType !== undefined) u.searchParams.set('match[type]', o.matchType.join(','));
  if (o.matchVersion !== undefined) u.searchParams.set('match[version]', o.matchVersion.join(','));
  if (o.matchSpecVersion !== undefined) u.searchParams.set('match[spec_version]', o.matchSpecVersion.join(','));
  return u.toString();
}

/**
 * Creates a TAXII 2.1 client; every request sends the exact TAXII media type and fails with the
 * server's error title and description.
 * @see TAXII 2.1 §1.6.8, §4, §5
 */
export function createTaxiiClient(options: { fetch: FetchLike; auth: FeedAuth; timeoutMs?: number }) {
  const timeout = options.timeoutMs ?? 30_000;

  async function call(method: string, url: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown>; headers: { get(name: string): string | null } }> {
    const headers: Record<string, string> = { accept: TAXII_MEDIA_TYPE, ...authHeader(options.auth) };
    if (body !== undefined) headers['content-type'] = TAXII_MEDIA_TYPE;
    let res;
    try {
      res = await options.fetch(url, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(timeout) });
    } catch (e) {
      throw new AppError('UNAVAILABLE', `The TAXII server at ${new URL(url).host} did not answer (${(e as Error).message}).`, { cause: e });
    }
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try { json = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>); } catch { /* non-JSON error page */ }
    if (res.status >= 400) {
      const what = typeof json['title'] === 'string' ? `${json['title']}${typeof json['description'] === 'string' ? `: ${json['description']}` : ''}` : `HTTP ${res.status}`;
      throw new AppError(res.status === 401 ? 'UNAUTHENTICATED' : res.status === 403 ? 'FORBIDDEN' : res.status === 404 ? 'NOT_FOUND' : 'UNAVAILABLE', `TAXII server answered ${res.status} (${what}).`, { status: res.status >= 500 ? 503 : res.status });
    }
    const type = res.headers.get('content-type') ?? '';
    if (!type.replace(/\s/g, '').toLowerCase().startsWith('application/taxii+json')) throw new AppError('UNAVAILABLE', `The server answered with ${type || 'no content type'}, not the TAXII media type.`);
    return { status: res.status, json, headers: res.headers };
  }

  return {
    /** GET /taxii2/: the server's title and API roots. @see TAXII 2.1 §4.1 */
    async discovery(baseUrl: string): Promise<Record<string, unknown>> {
      return (await call('GET', new URL('/taxii2/', baseUrl).toString())).json;
    },
    /** GET an API root's information. @see TAXII 2.1 §4.2 */
    async apiRoot(rootUrl: string): Promise<Record<string, unknown>> {
      return (await call('GET', rootUrl)).json;
    },
    /** GET an API root's collections. @see TAXII 2.1 §5.1 */
    async collections(rootUrl: string): Promise<Record<string, unknown>[]> {
      return ((await call('GET', new URL('collections/', rootUrl).toString())).json['collections'] as Record<string, unknown>[] | undefined) ?? [];
    },
    /** GET one page of a collection's objects. @see TAXII 2.1 §5.4 */
    async getObjects(collectionUrl: string, o: GetOptions = {}): Promise<ObjectsPage> {
      const r = await call('GET', withQuery(new URL('objects/', collectionUrl).toString(), o));
      return {
        objects: (r.json['objects'] as Record<string, unknown>[] | undefined) ?? [],
        more: r.json['more'] === true,
        next: typeof r.json['next'] === 'string' ? r.json['next'] : undefined,
        dateAddedFirst: r.headers.get('x-taxii-date-added-first') ?? undefined,
        dateAddedLast: r.headers.get('x-taxii-date-added-last') ?? undefined,
      };
    },
    /** GET a collection's manifest. @see TAXII 2.1 §5.3 */
    async getManifest(collectionUrl: string, o: GetOptions = {}): Promise<Record<string, unknown>> {
      return (await call('GET', withQuery(new URL('manifest/', collectionUrl).toString(), o))).json;
    },
    /** GET one object's versions. @see TAXII 2.1 §5.8 */
    async getVersions(collectionUrl: string, id: string, o: GetOptions = {}): Promise<Record<string, unknown>> {
      return (await call('GET', withQuery(new URL(`objects/${id}/versions/`, collectionUrl).toString(), o))).json;
    },
    /** GET one object (an envelope of its selected versions). @see TAXII 2.1 §5.6 */
    async getObject(collectionUrl: string, id: string, o: GetOptions = {}): Promise<Record<string, unknown>> {
      return (await call('GET', withQuery(new URL(`objects/${id}/`, collectionUrl).toString(), o))).json;
    },
    /** POST an envelope of objects; returns the status resource. @see TAXII 2.1 §5.5 */
    async addObjects(collectionUrl: string, objects: readonly unknown[]): Promise<StatusResource> {
      return (await call('POST', new URL('objects/', collectionUrl).toString(), { objects })).json as unknown as StatusResource;
    },
    /** GET a status resource. @see TAXII 2.1 §4.3 */
    async status(rootUrl: string, statusId: string): Promise<StatusResource> {
      return (await call('GET', new URL(`status/${statusId}/`, rootUrl).toString())).json as unknown as StatusResource;
    },
    /** DELETE an object (selected versions). @see TAXII 2.1 §5.7 */
    async deleteObject(collectionUrl: string, id: string, o: GetOptions = {}): Promise<void> {
      await call('DELETE', withQuery(new URL(`objects/${id}/`, collectionUrl).toString(), o));
    },
  };
}

/** A TAXII client's interface. */
export type TaxiiClient = ReturnType<typeof createTaxiiClient>;
