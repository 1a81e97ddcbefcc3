/** @module The HTTP application: security headers, limits, request ids, authentication, route-level policy, one error shape. */
import { systemContext } from '#platform/context/index.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import helmet from 'helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { redactConfig } from '#platform/config/index.js';
import { isAppError, AppError, type Message } from '#platform/errors/index.js';
import { newId } from '#platform/ids/index.js';
import type { Logger } from '#platform/logger/index.js';
import { MetricsRegistry } from '#platform/metrics/index.js';
import { abortStreamsOnClose, ctxOf, type RouteAuth, type RouteModule } from '#platform/http/index.js';
import { inspectJson } from '#platform/text/index.js';
import { identityRoutes, SESSION_COOKIE } from '#modules/identity/index.js';
import { registryRoutes } from '#modules/registry/index.js';
import { reportingRoutes } from '#modules/reporting/index.js';
import { selectionRoutes } from '#modules/selection/index.js';
import { oversightRoutes } from '#modules/oversight/index.js';
import { recallRoutes, sharingRoutes, taxiiRoutes } from '#modules/sharing/index.js';
import { analysisRoutes } from '#modules/analysis/index.js';
import { responseRoutes } from '#modules/response/index.js';
import { auditRoutes, defaultWitnessKeyPath, readWitnessVerifier, witnessStatePath, witnessVerifierOf, type VerifierKey } from '#modules/audit/index.js';
import type { Core } from './core.js';
import { entityRoutes } from './entity-routes.js';
import { defaultWebRoot, webRoutes } from './web.js';
import { intelDraftRoutes } from './intel-wiring.js';

/** A registered route, as the role × route test and the OpenAPI document see it. */
export interface RouteInfo {
  method: string;
  url: string;
  auth: RouteAuth | undefined;
}

/** Options of the HTTP app. */
export interface AppOptions {
  logger?: Logger | false;
  metrics?: MetricsRegistry;
  /** Extra route modules (later parts of the system register theirs here). */
  extraRoutes?: RouteModule[];
  /** Folder of the built dashboard (default: web/dist of this checkout). */
  webRoot?: string;
}

/** The app with the list of its routes. */
export interface App {
  fastify: FastifyInstance;
  routes: RouteInfo[];
  metrics: MetricsRegistry;
}

const VERSION = '0.1.0';

/** Builds the Fastify app over a core; `listen` is the caller's business. */
export async function buildApp(core: Core, options: AppOptions = {}): Promise<App> {
  const metrics = options.metrics ?? new MetricsRegistry();
  const routes: RouteInfo[] = [];
  const app = Fastify({
    ...(options.logger !== undefined && options.logger !== false ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: core.config.server.bodyLimitBytes,
    trustProxy: core.config.server.trustProxy,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      // Accept a caller's id only when it is short and plain, so logs cannot be polluted through it.
      return typeof given === 'string' && /^[A-Za-z0-9._-]{8,64}$/.test(given) ? given : newId();
    },
    return503OnClosing: true,
    forceCloseConnections: false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  }) as unknown as FastifyInstance;

  abortStreamsOnClose(app);
  app.addHook('onRoute', (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    for (const m of methods) {
      if (m === 'HEAD' || m === 'OPTIONS') continue;
      routes.push({ method: m, url: r.url, auth: (r.config as { auth?: RouteAuth } | undefined)?.auth });
    }
  });

  // Helmet's headers do not depend on the request, so they are worked out once: the Fastify plugin rebuilt
  // helmet's middleware (parsing the CSP) on every request, ~4 % of a filing's CPU (bench/reporting).
  // `upgrade-insecure-requests` only over TLS (directly, or as a trusted proxy says): on plain HTTP it sent the
  // dashboard's own requests to an https:// that does not exist, on any address but loopback.
  const headers = securityHeaders({ tls: false });
  const tlsHeaders = securityHeaders({ tls: true });
  app.addHook('onRequest', (req, reply, done) => {
    void reply.headers(req.protocol === 'https' ? tlsHeaders : headers);
    done();
  });
  await app.register(cookie);
  await app.register(rateLimit, { global: false });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'mamori API', version: VERSION, description: 'National active cyber defense: reporting, lawful selection, analysis, oversight, response, sharing.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE } } },
      security: [{ bearer: [] }, { session: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs', uiConfig: { docExpansion: 'list' }, staticCSP: true,
    // Its static CSP asks to upgrade to https, which breaks the docs served over plain HTTP (HSTS still covers TLS sites).
    transformStaticCSP: (h: string) => h.replace(/\s*upgrade-insecure-requests;?/, '') });

  app.addHook('onRequest', async (req, reply) => {
    void reply.header('x-request-id', req.id);
  });

  // Authentication then route-level authorization; a route without a declared `auth` is refused.
  app.addHook('preHandler', async (req) => {
    const auth = req.routeOptions.config.auth;
    const url = req.routeOptions.url ?? '';
    if (url.startsWith('/api/docs')) return;
    if (auth === undefined) {
      if (req.routeOptions.url === undefined) return; // 404 handler
      throw new AppError('INTERNAL', 'This route declares no access rule and is refused.');
    }
    if ('public' in auth) {
      if (req.routeOptions.config.ownAuthorization === true) return;
      await tryAuthenticate(req);
      await checkBody(req);
      return;
    }
    const ctx = await tryAuthenticate(req);
    if (ctx === undefined) throw new AppError('UNAUTHENTICATED', 'Sign in first: send the session cookie or an Authorization: Bearer token.');
    if ('action' in auth) core.policy.require(ctx, auth.action);
    await checkBody(req);
  });

  // Every JSON body, on every route: bounded nesting (deep documents overflowed the stack of later code) and
  // no unpaired surrogates (no UTF-8 store, audit entry or signature can hold one). Routes audited either way
  // record the refusal too.
  async function checkBody(req: FastifyRequest): Promise<void> {
    if (req.body === undefined || req.body === null || typeof req.body !== 'object') return;
    const issue = inspectJson(req.body, core.config.server.maxJsonDepth);
    if (issue === undefined) return;
    const action = req.routeOptions.config.auditRefused;
    if (action !== undefined && req.ctx !== undefined) {
      await core.audit.record(req.ctx, { action, object: null, outcome: 'denied', details: { reason: 'invalid_input', path: issue.path.replace(/[^\w.-]/g, '?').slice(0, 200) } });
    }
    throw new AppError('VALIDATION_FAILED', `${issue.path === '' ? 'body' : issue.path}: ${issue.message}.`, { details: [issue] });
  }

  async function tryAuthenticate(req: FastifyRequest): Promise<FastifyRequest['ctx']> {
    // A scope's own scheme (TAXII's HTTP Basic) may have authenticated the request already.
    if (req.ctx !== undefined) return req.ctx;
    const header = req.headers.authorization;
    if (typeof header === 'string' && header.startsWith('Bearer ')) {
      const actor = await core.identity.authenticateToken(header.slice(7).trim());
      if (actor === undefined) throw new AppError('UNAUTHENTICATED', 'The bearer token is unknown, expired or revoked; create a new one.');
      req.ctx = { actor, requestId: req.id };
      return req.ctx;
    }
    const session = req.cookies[SESSION_COOKIE];
    if (session !== undefined) {
      refuseCrossSiteWrite(req);
      const s = await core.identity.authenticateSession(session);
      if (s !== undefined) {
        req.ctx = { actor: s.actor, requestId: req.id };
        (req as unknown as { sessionExpiresAt: string }).sessionExpiresAt = s.expiresAt;
        return req.ctx;
      }
    }
    return undefined;
  }

  metrics.collect('mamori_auth_throttled_total', 'Sign-in attempts refused by the throttle, by scheme (password, basic) and limit (account, address).', 'counter',
    () => core.identity.throttleCounts().map((c) => ({ labels: { scheme: c.scheme, scope: c.scope }, value: c.count })));

  // A cookie-authenticated write must come from the dashboard's own origin; SameSite=Strict alone does not stop a
  // sibling subdomain. Browsers send Sec-Fetch-Site (or at least Origin) on every cross-site write; clients that send
  // neither are not browsers, so no other site can make them send the cookie.
  const publicOrigin = core.config.server.publicUrl === undefined ? undefined : new URL(core.config.server.publicUrl).origin;
  function refuseCrossSiteWrite(req: FastifyRequest): void {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return;
    const site = req.headers['sec-fetch-site'];
    const origin = req.headers.origin;
    const ok = typeof site === 'string' ? site === 'same-origin'
      : typeof origin === 'string' ? origin === `${req.protocol}://${req.host}` || origin === publicOrigin
        : true;
    if (!ok) throw new AppError('FORBIDDEN', 'Cross-site request refused: a signed-in write must come from this site\'s own pages (or use a bearer token).');
  }

  app.addHook('onResponse', async (req, reply) => {
    metrics.inc('mamori_http_requests_total', 'HTTP requests by route and status class.', { route: req.routeOptions.url ?? 'unmatched', method: req.method, status: `${Math.floor(reply.statusCode / 100)}xx` });
  });

  app.setErrorHandler((error: FastifyError | AppError, req, reply) => {
    const body = toErrorBody(error, req.id);
    if (body.status >= 500) req.log.error({ err: error, requestId: req.id }, 'request failed');
    void reply.code(body.status).type('application/json; charset=utf-8').send({ code: body.code, message: body.message, requestId: req.id, ...(body.details !== undefined ? { details: body.details } : {}), ...(body.reason !== undefined ? { reason: body.reason } : {}) });
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ code: 'NOT_FOUND', message: `No route ${req.method} ${req.url.split('?')[0]}; see /api/docs for the API.`, requestId: req.id });
  });

  // --- Operations -----------------------------------------------------------------------------
  app.get('/healthz', { config: { auth: { public: true } }, schema: { tags: ['operations'], summary: 'Liveness: the process answers.' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { auth: { public: true } }, schema: { tags: ['operations'], summary: 'Readiness: the database answers.' } }, async (_req, reply) => {
    const ok = await core.db.ping();
    void reply.code(ok ? 200 : 503);
    return { status: ok ? 'ready' : 'unavailable', database: ok ? 'ok' : 'unreachable' };
  });
  // The metrics name every exporter (router) address: a scraper shows the configured token, or reads from this host.
  const metricsToken = core.config.secrets.metricsToken === undefined ? undefined : createHash('sha256').update(core.config.secrets.metricsToken).digest();
  app.get('/metrics', { config: { auth: { public: true }, ownAuthorization: true }, schema: { tags: ['operations'], summary: 'Prometheus metrics (bearer secrets.metricsToken, or from loopback when none is set).' } }, async (req, reply) => {
    if (metricsToken !== undefined) {
      const h = req.headers.authorization;
      const given = typeof h === 'string' && h.startsWith('Bearer ') ? createHash('sha256').update(h.slice(7).trim()).digest() : undefined;
      if (given === undefined || !timingSafeEqual(given, metricsToken)) {
        void reply.header('www-authenticate', 'Bearer realm="mamori metrics"');
        throw new AppError('UNAUTHENTICATED', 'Send the metrics token (secrets.metricsToken) as Authorization: Bearer <token>.');
      }
    } else if (!isLoopback(req.ip)) {
      throw new AppError('FORBIDDEN', 'Metrics are served to this host only; set secrets.metricsToken to let a scraper elsewhere read them.');
    }
    void reply.type('text/plain; version=0.0.4; charset=utf-8');
    return metrics.render();
  });
  app.get('/api/v1/version', { config: { auth: { public: true } }, schema: { tags: ['operations'], summary: 'Version and the hash of the authorization policy in force.' } }, async () => ({ version: VERSION, policyHash: core.policy.hash }));
  app.get('/api/v1/policy', { config: { auth: { public: true } }, schema: { tags: ['operations'], summary: 'The published authorization policy (Cedar text, schema and hash).' } }, async () => ({ hash: core.policy.hash, schema: core.policy.schemaText, policy: core.policy.policyText }));
  app.get('/api/v1/config', { config: { auth: { action: 'config:read' } }, schema: { tags: ['operations'], summary: 'The effective configuration, secrets redacted.' } }, async (req) => {
    ctxOf(req);
    return { config: redactConfig(core.config) };
  });

  await app.register(async (scope) => {
    await identityRoutes({ identity: core.identity, cookieSecure: core.config.auth.cookieSecure })(scope);
    const witnessKeyFile = core.config.audit.witnessKeyFile ?? defaultWitnessKeyPath(core.config.dataDir);
    const witnessState = witnessStatePath(witnessKeyFile);
    // A replica whose witness job has not run yet has no state file of its own: publish the key it co-signs with.
    let ownWitness: VerifierKey | undefined;
    const witnessKey = () => readWitnessVerifier(witnessState)
      ?? (core.config.audit.witnessEverySeconds > 0 ? (ownWitness ??= witnessVerifierOf(witnessKeyFile, core.config.audit.witnessName)) : undefined);
    await auditRoutes({
      audit: core.audit, checkpointer: core.checkpointer, policy: core.policy, witnessKey, db: core.db.kysely, onCheckpointSigned: core.onCheckpointSigned,
      userIdOf: async (username) => (await core.identity.listUsers(systemContext('audit-search'))).find((u) => u.username === username)?.id,
    })(scope);
    await analysisRoutes({ analysis: core.analysis })(scope);
    await registryRoutes({ registry: core.registry })(scope);
    await reportingRoutes({ reporting: core.reporting, attachmentMaxBytes: core.config.reporting.attachmentMaxBytes, nowIso: () => new Date(core.clock.nowMs()).toISOString() })(scope);
    await selectionRoutes({ selection: core.selection, archive: core.archive })(scope);
    await oversightRoutes({ oversight: core.oversight })(scope);
    await responseRoutes({ response: core.response })(scope);
    await sharingRoutes({ sharing: core.sharing })(scope);
    await recallRoutes({ recalls: core.recalls })(scope);
    await intelDraftRoutes({ analysis: core.analysis, reporting: core.reporting, registry: core.registry, sharing: core.sharing })(scope);
    await taxiiRoutes({ sharing: core.sharing, authenticateBasic: (u, p, c) => core.identity.authenticateBasic(u, p, c), userActive: (id) => core.identity.userActive(id), maxContentLength: core.config.server.bodyLimitBytes })(scope);
    await entityRoutes({ analysis: core.analysis, response: core.response, sharing: core.sharing, audit: core.audit, policy: core.policy })(scope);
    await webRoutes({ root: options.webRoot ?? defaultWebRoot() })(scope);
    for (const m of options.extraRoutes ?? []) await m(scope);
  });

  await app.ready();
  return { fastify: app, routes, metrics };
}

/** Whether a client address is this host's (127.0.0.0/8, ::1, or IPv4-mapped loopback). */
function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');
}

/** The security headers helmet sets (CSP, HSTS, framing, sniffing, referrer), computed once per scheme. */
export function securityHeaders(options: { tls: boolean }): Record<string, string> {
  const out: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: string | number | readonly string[]) => { out[name.toLowerCase()] = String(value); },
    removeHeader: (name: string) => { delete out[name.toLowerCase()]; },
  };
  helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        upgradeInsecureRequests: options.tls ? [] : null,
      },
    },
    hsts: { maxAge: 31_536_000, includeSubDomains: true },
  })({} as never, res as never, (err?: unknown) => { if (err !== undefined && err !== null) throw err; });
  if (Object.keys(out).length === 0) throw new Error('helmet set no security headers');
  return out;
}

/** Maps any error to the one response shape; the message says what to fix and never leaks internals. */
export function toErrorBody(error: unknown, _requestId: string): { status: number; code: string; message: string; details?: readonly { path: string; message: string }[]; reason?: Message } {
  if (isAppError(error)) {
    if (error.status >= 500) return { status: error.status, code: error.code, message: error.code === 'AUDIT_WRITE_FAILED' ? error.message : 'An unexpected error occurred; quote the request id when you report it.' };
    return { status: error.status, code: error.code, message: error.message, ...(error.details !== undefined ? { details: error.details } : {}), ...(error.reason !== undefined ? { reason: error.reason } : {}) };
  }
  const fe = error as Partial<FastifyError>;
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'The request body is too large; send less data.' };
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Unsupported Content-Type; send application/json.' };
  if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return { status: 400, code: 'BAD_REQUEST', message: 'The JSON body is empty; send a JSON object.' };
  if (fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (error instanceof SyntaxError && fe.statusCode === 400)) return { status: 400, code: 'BAD_REQUEST', message: 'The body is not valid JSON; check its syntax.' };
  if (fe.validation !== undefined) return { status: 400, code: 'VALIDATION_FAILED', message: `Invalid request: ${fe.message ?? 'check the fields'}` };
  if (fe.statusCode === 429) return { status: 429, code: 'RATE_LIMITED', message: 'Too many requests; wait a minute and try again.' };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return { status: fe.statusCode, code: 'BAD_REQUEST', message: 'The request is malformed; check the method, headers and body.' };
  return { status: 500, code: 'INTERNAL', message: 'An unexpected error occurred; quote the request id when you report it.' };
}
