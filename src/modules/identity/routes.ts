/** @module Identity's HTTP routes: sign-in and sign-out, the caller, users, organizations and API tokens. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { systemContext } from '#platform/context/index.js';
import { AppError } from '#platform/errors/index.js';
import { ctxOf, type RouteModule } from '#platform/http/index.js';
import { PAGED, parsePageQuery } from '#platform/paging/index.js';
import type { IdentityService, LoginFailure } from './service.js';

/** Name of the web session cookie. */
export const SESSION_COOKIE = 'mamori_session';

/**
 * The answer to a failed sign-in: the same for unknown, disabled and wrong-password users; a throttled attempt
 * says when to try again (Retry-After), whether or not the account exists.
 */
export function loginFailure(f: LoginFailure, reply: FastifyReply): AppError {
  if (f.code === 'THROTTLED') {
    void reply.header('retry-after', String(f.retryAfterSeconds));
    return new AppError('RATE_LIMITED', `Too many failed sign-ins for this account or from this address; wait ${f.retryAfterSeconds} s and try again.`);
  }
  return new AppError('INVALID_CREDENTIALS', 'Wrong username or password.');
}

/** Registers identity's routes. */
export function identityRoutes(deps: { identity: IdentityService; cookieSecure: boolean }): RouteModule {
  const { identity } = deps;
  return (app: FastifyInstance) => {
    app.post('/api/v1/auth/login', {
      // Throttled by identity itself (per account and per client address, failures only), not by a flat per-address limit:
      // a flat limit let 20 tries from a shared NAT keep every user behind it out.
      config: { auth: { public: true } },
      schema: { tags: ['identity'], summary: 'Sign in with username and password; sets the session cookie.' },
    }, async (req, reply) => {
      const ctx = { ...systemContext('login', req.id), actor: { kind: 'user' as const, id: 'anonymous', username: 'anonymous', roles: [], orgId: null, sectors: [] } };
      const r = await identity.login(ctx, req.body, { address: req.ip, scheme: 'password' });
      if (!r.ok) throw loginFailure(r.error, reply);
      void reply.setCookie(SESSION_COOKIE, r.value.sessionToken, { httpOnly: true, secure: deps.cookieSecure, sameSite: 'strict', path: '/', expires: new Date(r.value.expiresAt) });
      return { user: r.value.user, expiresAt: r.value.expiresAt };
    });

    app.post('/api/v1/auth/logout', { config: { auth: { public: true } }, schema: { tags: ['identity'], summary: 'End the web session.' } }, async (req, reply) => {
      const token = req.cookies[SESSION_COOKIE];
      if (token !== undefined) await identity.logout(token);
      void reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return { ok: true };
    });

    // The dashboard's first question on every page load: answered 200 either way, so a signed-out visit logs no failed request.
    app.get('/api/v1/auth/session', { config: { auth: { public: true } }, schema: { tags: ['identity'], summary: 'The signed-in caller, or `actor: null` when no valid session or token came with the request.' } }, async (req) => {
      const ctx = req.ctx;
      return ctx === undefined ? { actor: null, sessionExpiresAt: null } : { actor: ctx.actor, sessionExpiresAt: (req as unknown as { sessionExpiresAt?: string }).sessionExpiresAt ?? null };
    });

    app.get('/api/v1/auth/me', { config: { auth: { action: 'session:read' } }, schema: { tags: ['identity'], summary: 'The signed-in caller: roles, organization, sectors.' } }, async (req) => {
      const ctx = ctxOf(req);
      return { actor: ctx.actor, sessionExpiresAt: (req as unknown as { sessionExpiresAt?: string }).sessionExpiresAt ?? null };
    });

    app.get('/api/v1/users', { config: { auth: { action: 'user:list' } }, schema: { tags: ['identity'], summary: `List users by username. ${PAGED}` } }, async (req) => identity.pageUsers(ctxOf(req), parsePageQuery(req.query)));

    app.post('/api/v1/users', { config: { auth: { action: 'user:create' } }, schema: { tags: ['identity'], summary: 'Create a user.' } }, async (req, reply) => {
      const user = await identity.createUser(ctxOf(req), req.body as never);
      void reply.code(201);
      return { user };
    });

    app.post<{ Params: { id: string } }>('/api/v1/users/:id/disable', { config: { auth: { action: 'user:disable' } }, schema: { tags: ['identity'], summary: 'Disable a user; ends their sessions.' } }, async (req) => ({ user: await identity.disableUser(ctxOf(req), req.params.id) }));

    app.get('/api/v1/orgs', { config: { auth: { action: 'org:list' } }, schema: { tags: ['identity'], summary: `List organizations by name. ${PAGED}` } }, async (req) => identity.pageOrgs(ctxOf(req), parsePageQuery(req.query)));

    app.post('/api/v1/orgs', { config: { auth: { action: 'org:create' } }, schema: { tags: ['identity'], summary: 'Create an organization.' } }, async (req, reply) => {
      const org = await identity.createOrg(ctxOf(req), req.body as never);
      void reply.code(201);
      return { org };
    });

    app.get('/api/v1/tokens', { config: { auth: { authenticated: true } }, schema: { tags: ['identity'], summary: `List your API tokens (administrators: everyone's), oldest first. ${PAGED}` } }, async (req) => identity.listTokens(ctxOf(req), parsePageQuery(req.query)));

    app.post('/api/v1/tokens', { config: { auth: { authenticated: true } }, schema: { tags: ['identity'], summary: 'Create an API token for yourself; the secret is shown once.' } }, async (req, reply) => {
      const { token, meta } = await identity.createToken(ctxOf(req), req.body as never);
      void reply.code(201);
      return { token, meta };
    });

    app.delete<{ Params: { id: string } }>('/api/v1/tokens/:id', { config: { auth: { authenticated: true } }, schema: { tags: ['identity'], summary: 'Revoke an API token.' } }, async (req) => ({ token: await identity.revokeToken(ctxOf(req), req.params.id) }));
  };
}

