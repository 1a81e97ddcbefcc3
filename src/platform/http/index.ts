/** @module What route modules need from the HTTP layer: how a route declares who may call it, and the caller's context. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
// Type augmentations only: cookies, OpenAPI route tags and per-route rate limits.
import type {} from '@fastify/cookie';
import type {} from '@fastify/swagger';
import type {} from '@fastify/rate-limit';
import type { RequestContext } from '#platform/context/index.js';
import { AppError } from '#platform/errors/index.js';

/**
 * Who may call a route: anyone (`public`), anyone signed in (`authenticated`), or those the policy
 * allows for `action` (checked before the handler; services check objects again).
 */
export type RouteAuth = { public: true } | { authenticated: true } | { action: string };

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    ctx?: RequestContext;
  }
}

/** A module's routes: a function that registers them on the app. */
export type RouteModule = (app: FastifyInstance) => void | Promise<void>;

/** The caller's context; throws UNAUTHENTICATED on a route that forgot to require sign-in. */
export function ctxOf(req: FastifyRequest): RequestContext {
  if (req.ctx === undefined) throw new AppError('UNAUTHENTICATED', 'Sign in first: send the session cookie or an Authorization: Bearer token.');
  return req.ctx;
}

/** The JSON media type every API route speaks. */
export const JSON_TYPE = 'application/json; charset=utf-8';
