/** @module The TAXII 2.1 server's HTTP face: discovery, API root, status, collections, manifest, objects, object, versions; exact media type, Basic and Bearer auth, TAXII error messages. */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '#platform/context/index.js';
import { AppError, isAppError, type Result } from '#platform/errors/index.js';
import { ctxOf, type RouteModule } from '#platform/http/index.js';
import type { SharingService, ObjectPage } from './service.js';
import { acceptsTaxii, isTaxiiContentType, objectsEnvelope, parseObjectQuery, TAXII_MEDIA_TYPE, taxiiError } from './taxii.js';

/** What the TAXII routes need. */
export interface TaxiiRouteDeps {
  sharing: SharingService;
  /** Checks HTTP Basic credentials (identity's password check, under its sign-in throttle). */
  authenticateBasic(username: string, password: string, client: { address: string; requestId: string }): Promise<Result<Actor, BasicFailure>>;
  /** Rechecks a cached Basic credential's user (one query, no password hashing): a disabled or locked user is refused at once. */
  userActive(userId: string): Promise<boolean>;
  apiRoot?: { name: string; title: string; description: string };
  maxContentLength: number;
  /** How long a verified Basic credential is remembered (password hashing is deliberately slow). */
  basicCacheMs?: number;
  nowMs?: () => number;
}

/** Why Basic credentials were refused: wrong (any reason alike), or too many failures lately. */
export type BasicFailure = { code: 'INVALID_CREDENTIALS' } | { code: 'THROTTLED'; retryAfterSeconds: number };

const READ = { auth: { action: 'intel:read' } };

// The TAXII endpoints and the methods each takes (TAXII 2.1 §4, §5), for 405 answers to any other method.
const SEG = '[^/]+';
const TAXII_METHODS: readonly (readonly [RegExp, string])[] = [
  [/^\/taxii2\/?$/, 'GET, HEAD'],
  [new RegExp(`^/taxii2/${SEG}/$`), 'GET, HEAD'],
  [new RegExp(`^/taxii2/${SEG}/status/${SEG}/?$`), 'GET, HEAD'],
  [new RegExp(`^/taxii2/${SEG}/collections/$`), 'GET, HEAD'],
  [new RegExp(`^/taxii2/${SEG}/collections/${SEG}/$`), 'GET, HEAD'],
  [new RegExp(`^/taxii2/${SEG}/collections/${SEG}/manifest/$`), 'GET, HEAD'],
  [new RegExp(`^/taxii2/${SEG}/collections/${SEG}/objects/$`), 'GET, HEAD, POST'],
  [new RegExp(`^/taxii2/${SEG}/collections/${SEG}/objects/${SEG}/$`), 'GET, HEAD, DELETE'],
  [new RegExp(`^/taxii2/${SEG}/collections/${SEG}/objects/${SEG}/versions/$`), 'GET, HEAD'],
];

function send(reply: FastifyReply, status: number, body: string | Buffer, page?: { firstAdded: string | undefined; lastAdded: string | undefined }): FastifyReply {
  if (page?.firstAdded !== undefined) void reply.header('X-TAXII-Date-Added-First', page.firstAdded);
  if (page?.lastAdded !== undefined) void reply.header('X-TAXII-Date-Added-Last', page.lastAdded);
  // A Buffer keeps the media type exactly as TAXII 2.1 §1.6.8 writes it (a string would get a charset appended).
  return reply.code(status).header('content-type', TAXII_MEDIA_TYPE).send(typeof body === 'string' ? Buffer.from(body) : body);
}

function paging(page: ObjectPage): string {
  return `"more":${page.more}${page.next !== undefined ? `,"next":${JSON.stringify(page.next)}` : ''}`;
}

function statusOf(e: unknown): { status: number; code: string; message: string } {
  if (isAppError(e)) return e.status >= 500 ? { status: e.status, code: e.code, message: 'An unexpected error occurred; quote the request id when you report it.' } : { status: e.status, code: e.code, message: e.message };
  const fe = e as { code?: string; statusCode?: number };
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: `Send Content-Type: ${TAXII_MEDIA_TYPE}.` };
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'The envelope is larger than max_content_length; send fewer objects per request.' };
  if (fe.statusCode === 400 || e instanceof SyntaxError) return { status: 400, code: 'BAD_REQUEST', message: 'The body is not valid JSON; send a TAXII envelope.' };
  if (fe.statusCode === 429) return { status: 429, code: 'RATE_LIMITED', message: 'Too many requests; wait and try again.' };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return { status: fe.statusCode, code: 'BAD_REQUEST', message: 'The request is malformed.' };
  return { status: 500, code: 'INTERNAL', message: 'An unexpected error occurred; quote the request id when you report it.' };
}

/** Registers the TAXII 2.1 server under /taxii2/. @see TAXII 2.1 §4, §5 */
export function taxiiRoutes(deps: TaxiiRouteDeps): RouteModule {
  const root = deps.apiRoot ?? { name: 'mamori', title: 'mamori information-sharing council', description: 'STIX 2.1 intelligence shared with the council, one collection per sharing group.' };
  const now = deps.nowMs ?? (() => Date.now());
  const basicCache = new Map<string, { actor: Actor; until: number }>();
  const cacheMs = deps.basicCacheMs ?? 30_000;
  // One password check at a time per credential: when the cache entry of a client with many connections expires,
  // its requests share one scrypt run instead of each queueing its own (50 readers' herd held the thread pool for
  // seconds under load: the TAXII tail, and a SIGTERM whose exit waited for the queued hashes).
  const checking = new Map<string, Promise<Result<Actor, BasicFailure> | undefined>>();

  return async (app: FastifyInstance) => {
    await app.register(async (t) => {
      t.addContentTypeParser(/^application\/taxii\+json/i, { parseAs: 'string', bodyLimit: deps.maxContentLength }, (_req, body, done) => {
        try {
          done(null, body === '' ? {} : JSON.parse(body as string));
        } catch (e) {
          done(Object.assign(e as Error, { statusCode: 400 }), undefined);
        }
      });

      // An endpoint that exists but not with this method (RFC 9110 §15.5.6): 405 naming the methods it takes, before the
      // body is parsed or the caller authenticated (an unmatched route has no url).
      t.addHook('onRequest', async (req, reply) => {
        if (req.routeOptions.url !== undefined) return;
        const path = req.url.split('?')[0]!;
        const allow = TAXII_METHODS.find(([re]) => re.test(path))?.[1];
        if (allow === undefined) return;
        void reply.header('allow', allow);
        return send(reply, 405, JSON.stringify(taxiiError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}; use ${allow}.`, req.id)));
      });

      // HTTP Basic, beside the app's Bearer and session: TAXII clients commonly only speak Basic (TAXII 2.1 §1.6.1).
      t.addHook('onRequest', async (req, reply) => {
        const h = req.headers.authorization;
        if (typeof h !== 'string' || !/^basic /i.test(h)) return;
        const digest = createHash('sha256').update(h).digest('hex');
        const hit = basicCache.get(digest);
        if (hit !== undefined && hit.until > now()) {
          if (!(await deps.userActive(hit.actor.id))) {
            basicCache.delete(digest);
            throw new AppError('UNAUTHENTICATED', 'Wrong username or password for HTTP Basic authentication.');
          }
          req.ctx = { actor: hit.actor, requestId: req.id };
          return;
        }
        let check = checking.get(digest);
        if (check === undefined) {
          const decoded = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
          const i = decoded.indexOf(':');
          check = i <= 0 ? Promise.resolve(undefined) : deps.authenticateBasic(decoded.slice(0, i), decoded.slice(i + 1), { address: req.ip, requestId: req.id });
          checking.set(digest, check);
          void check.finally(() => checking.delete(digest)).catch(() => undefined);
        }
        const r = await check;
        if (r !== undefined && !r.ok && r.error.code === 'THROTTLED') {
          void reply.header('retry-after', String(r.error.retryAfterSeconds));
          throw new AppError('RATE_LIMITED', `Too many failed sign-ins for this account or from this address; wait ${r.error.retryAfterSeconds} s and try again.`);
        }
        if (r === undefined || !r.ok) throw new AppError('UNAUTHENTICATED', 'Wrong username or password for HTTP Basic authentication.');
        const actor = r.value;
        if (basicCache.size > 10_000) basicCache.clear();
        basicCache.set(digest, { actor, until: now() + cacheMs });
        req.ctx = { actor, requestId: req.id };
      });

      // After authentication and the route's policy check: the exact media type (TAXII 2.1 §1.6.8).
      t.addHook('preHandler', async (req) => {
        if (!acceptsTaxii(req.headers.accept)) throw new AppError('NOT_ACCEPTABLE', `Accept ${TAXII_MEDIA_TYPE}; this server speaks TAXII 2.1 only.`);
        if (req.method === 'POST' && !isTaxiiContentType(req.headers['content-type'])) throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Send Content-Type: ${TAXII_MEDIA_TYPE}.`);
      });

      t.setErrorHandler((error, req, reply) => {
        const s = statusOf(error);
        if (s.status >= 500) req.log.error({ err: error, requestId: req.id }, 'TAXII request failed');
        if (s.status === 401) void reply.header('WWW-Authenticate', 'Basic realm="mamori TAXII", Bearer');
        void send(reply, s.status, JSON.stringify(taxiiError(s.status, s.code, s.message, req.id)));
      });
      t.setNotFoundHandler((req, reply) => {
        return send(reply, 404, JSON.stringify(taxiiError(404, 'NOT_FOUND', `No TAXII endpoint ${req.method} ${req.url.split('?')[0]}; start at /taxii2/.`, req.id)));
      });

      const base = (req: FastifyRequest) => `${req.protocol}://${req.host}/taxii2/`;
      const checkRoot = (req: FastifyRequest) => {
        const name = (req.params as { root: string }).root;
        if (name !== root.name) throw new AppError('NOT_FOUND', `No API root "${name}"; the discovery resource at /taxii2/ lists them.`);
        return name;
      };
      const query = (req: FastifyRequest, defaultVersion: 'last' | 'all' = 'last') => parseObjectQuery(req.query as Record<string, unknown>, { maxLimit: 1000, defaultLimit: 100, defaultVersion });

      t.get('/', { prefixTrailingSlash: 'slash', config: READ, schema: { tags: ['taxii'], summary: 'TAXII 2.1 discovery.' } }, async (req, reply) => {
        ctxOf(req);
        const url = `${base(req)}${root.name}/`;
        return send(reply, 200, JSON.stringify({ title: 'mamori TAXII 2.1 server', description: 'Intelligence of the information-sharing council (STIX 2.1, TLP 2.0).', contact: 'National Cybersecurity Office', default: url, api_roots: [url] }));
      });

      t.get('/:root/', { config: READ, schema: { tags: ['taxii'], summary: 'TAXII 2.1 API root information.' } }, async (req, reply) => {
        checkRoot(req);
        return send(reply, 200, JSON.stringify({ title: root.title, description: root.description, versions: [TAXII_MEDIA_TYPE], max_content_length: deps.maxContentLength }));
      });

      const statusHandler = async (req: FastifyRequest, reply: FastifyReply) => {
        const name = checkRoot(req);
        return send(reply, 200, JSON.stringify(await deps.sharing.status(ctxOf(req), name, (req.params as { statusId: string }).statusId)));
      };
      t.get('/:root/status/:statusId/', { config: READ, schema: { tags: ['taxii'], summary: 'TAXII 2.1 status of an add request.' } }, statusHandler);
      t.get('/:root/status/:statusId', { config: READ, schema: { tags: ['taxii'], summary: 'TAXII 2.1 status (without the trailing slash).' } }, statusHandler);

      t.get('/:root/collections/', { config: READ, schema: { tags: ['taxii'], summary: 'TAXII 2.1 collections the caller may see.' } }, async (req, reply) => {
        checkRoot(req);
        const collections = await deps.sharing.collections(ctxOf(req));
        return send(reply, 200, JSON.stringify(collections.length === 0 ? {} : { collections }));
      });

      t.get('/:root/collections/:collectionId/', { config: READ, schema: { tags: ['taxii'], summary: 'One TAXII 2.1 collection.' } }, async (req, reply) => {
        checkRoot(req);
        const id = (req.params as { collectionId: string }).collectionId;
        const c = (await deps.sharing.collections(ctxOf(req))).find((x) => x.id === id);
        if (c === undefined) throw new AppError('NOT_FOUND', `No collection ${id} that you may see.`);
        return send(reply, 200, JSON.stringify(c));
      });

      t.get('/:root/collections/:collectionId/manifest/', { config: READ, schema: { tags: ['taxii'], summary: 'TAXII 2.1 manifest of a collection.' } }, async (req, reply) => {
        checkRoot(req);
        const page = await deps.sharing.readPage(ctxOf(req), (req.params as { collectionId: string }).collectionId, query(req), 'taxii', 'manifest');
        return send(reply, 200, page.manifest.length === 0 ? `{"more":false}` : `{${paging(page)},"objects":${JSON.stringify(page.manifest)}}`, page);
      });

      t.get('/:root/collections/:collectionId/objects/', { config: READ, schema: { tags: ['taxii'], summary: 'TAXII 2.1 objects of a collection (paged, filtered).' } }, async (req, reply) => {
        checkRoot(req);
        // The envelope arrives serialized (and usually cached): bench/taxii.
        const page = await deps.sharing.readObjects(ctxOf(req), (req.params as { collectionId: string }).collectionId, query(req), 'taxii', 'objects');
        return send(reply, 200, page.body, page);
      });

      t.post('/:root/collections/:collectionId/objects/', { config: { auth: { action: 'intel:submit' } }, schema: { tags: ['taxii'], summary: 'TAXII 2.1 add objects (an envelope); answers a status resource.' } }, async (req, reply) => {
        const name = checkRoot(req);
        const status = await deps.sharing.addObjects(ctxOf(req), name, (req.params as { collectionId: string }).collectionId, req.body);
        return send(reply, 202, JSON.stringify(status));
      });

      t.get('/:root/collections/:collectionId/objects/:objectId/', { config: READ, schema: { tags: ['taxii'], summary: 'TAXII 2.1 one object (selected versions).' } }, async (req, reply) => {
        checkRoot(req);
        const p = req.params as { collectionId: string; objectId: string };
        const q = query(req);
        const page = await deps.sharing.readPage(ctxOf(req), p.collectionId, { ...q, ids: [p.objectId] }, 'taxii', 'object');
        if (page.objects.length === 0 && q.after === 0 && !(await deps.sharing.objectExists(ctxOf(req), p.collectionId, p.objectId))) throw new AppError('NOT_FOUND', `No object ${p.objectId} in this collection.`);
        return send(reply, 200, objectsEnvelope(page.objects, page.more, page.next), page);
      });

      t.delete('/:root/collections/:collectionId/objects/:objectId/', { config: { auth: { action: 'intel:delete' } }, schema: { tags: ['taxii'], summary: 'TAXII 2.1 delete an object (selected versions).' } }, async (req, reply) => {
        checkRoot(req);
        const p = req.params as { collectionId: string; objectId: string };
        await deps.sharing.deleteObject(ctxOf(req), p.collectionId, p.objectId, query(req, 'all'));
        return send(reply, 200, '');
      });

      t.get('/:root/collections/:collectionId/objects/:objectId/versions/', { config: READ, schema: { tags: ['taxii'], summary: 'TAXII 2.1 versions of an object.' } }, async (req, reply) => {
        checkRoot(req);
        const p = req.params as { collectionId: string; objectId: string };
        const q = query(req, 'all');
        const page = await deps.sharing.versions(ctxOf(req), p.collectionId, p.objectId, q);
        if (page.manifest.length === 0 && q.after === 0 && !(await deps.sharing.objectExists(ctxOf(req), p.collectionId, p.objectId))) throw new AppError('NOT_FOUND', `No object ${p.objectId} in this collection.`);
        return send(reply, 200, page.manifest.length === 0 ? `{"more":false}` : `{${paging(page)},"versions":${JSON.stringify(page.manifest.map((m) => m.version))}}`, page);
      });
    }, { prefix: '/taxii2' });
  };
}
