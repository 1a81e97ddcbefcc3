/** @module Identity's HTTP routes: sign-in and sign-out, the caller, users, organizations and API tokens. */
import type { FastifyInstance } from 'fastify';
import { systemContext } from '#platform/context/index.js';
import { AppError } from '#platform/errors/index.js';
import { ctxOf, type RouteModule } from '#platform/http/index.js';
import type { IdentityService } from './service.js';

/** Name of the web session cookie. */
export const SESSION_COOKIE = 'mamori_session';

/** Registers identity's routes. */
export function identityRoutes(deps: { identity: IdentityService; cookieSecure: boolean; loginRateLimitPerMinute: number }): RouteModule {
  const { identity } = deps;
  return (app: FastifyInstance) => {
    app.post('/api/v1/auth/login', {
      config: { auth: { public: true }, rateLimit: { max: deps.loginRateLimitPerMinute, timeWindow: 60_000 } },
      schema: { tags: ['identity'], summary: 'Sign in with username and password; sets the session cookie.' },
    }, async (req, reply) => {
      const ctx = { ...systemContext('login', req.id), actor: { kind: 'user' as const, id: 'anonymous', username: 'anonymous', roles: [], orgId: null, sectors: [] } };
      const r = await identity.login(ctx, req.body);
      if (!r.ok) {
        // Locked and wrong-password answers differ only in code, never in what they reveal about the password.
        if (r.error === 'ACCOUNT_LOCKED') throw new AppError('ACCOUNT_LOCKED', 'Too many failed sign-ins: this account is locked for a while. Try again later or ask an administrator.');
        throw new AppError('INVALID_CREDENTIALS', 'Wrong username or password.');
      }
      void reply.setCookie(SESSION_COOKIE, r.value.sessionToken, { httpOnly: true, secure: deps.cookieSecure, sameSite: 'strict', path: '/', expires: new Date(r.value.expiresAt) });
      return { user: r.value.user, expiresAt: r.value.expiresAt };
    });

    app.post('/api/v1/auth/logout', { config: { auth: { public: true } }, schema: { tags: ['identity'], summary: 'End the web session.' } }, async (req, reply) => {
      const token = req.cookies[SESSION_COOKIE];
      if (token !== undefined) await identity.logout(token);
      void reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return { ok: true };
    });

    app.get('/api/v1/auth/me', { config: { auth: { action: 'session:read' } }, schema: { tags: ['identity'], summary: 'The signed-in caller: roles, organization, sectors.' } }, async (req) => {
      const ctx = ctxOf(req);
      return { actor: ctx.actor, sessionExpiresAt: (req as unknown as { sessionExpiresAt?: string }).sessionExpiresAt ?? null };
    });

    app.get('/api/v1/users', { config: { auth: { action: 'user:list' } }, schema: { tags: ['identity'], summary: 'List users.' } }, async (req) => ({ users: await identity.listUsers(ctxOf(req)) }));

    app.post('/api/v1/users', { config: { auth: { action: 'user:create' } }, schema: { tags: ['identity'], summary: 'Create a user.' } }, async (req, reply) => {
      const user = await identity.createUser(ctxOf(req), req.body as never);
      void reply.code(201);
      return { user };
    });

    app.post<{ Params: { id: string } }>('/api/v1/users/:id/disable', { config: { auth: { action: 'user:disable' } }, schema: { tags: ['identity'], summary: 'Disable a user; ends their sessions.' } }, async (req) => ({ user: await identity.disableUser(ctxOf(req), req.params.id) }));

    app.get('/api/v1/orgs', { config: { auth: { action: 'org:list' } }, schema: { tags: ['identity'], summary: 'List organizations.' } }, async (req) => ({ orgs: await identity.listOrgs(ctxOf(req)) }));

    app.post('/api/v1/orgs', { config: { auth: { action: 'org:create' } }, schema: { tags: ['identity'], summary: 'Create an organization.' } }, async (req, reply) => {
      const org = await identity.createOrg(ctxOf(req), req.body as never);
      void reply.code(201);
      return { org };
    });

    app.get('/api/v1/tokens', { config: { auth: { authenticated: true } }, schema: { tags: ['identity'], summary: 'List your API tokens (administrators: everyone\'s).' } }, async (req) => ({ tokens: await identity.listTokens(ctxOf(req)) }));

    app.post('/api/v1/tokens', { config: { auth: { authenticated: true } }, schema: { tags: ['identity'], summary: 'Create an API token for yourself; the secret is shown once.' } }, async (req, reply) => {
      const { token, meta } = await identity.createToken(ctxOf(req), req.body as never);
      void reply.code(201);
      return { token, meta };
    });

    app.delete<{ Params: { id: string } }>('/api/v1/tokens/:id', { config: { auth: { authenticated: true } }, schema: { tags: ['identity'], summary: 'Revoke an API token.' } }, async (req) => ({ token: await identity.revokeToken(ctxOf(req), req.params.id) }));
  };
}

