/** @module What route modules need from the HTTP layer: how a route declares who may call it, the caller's context, and when a streamed response must stop. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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
    /** An audit action to record (outcome denied) when this route's body is refused before its handler, for routes audited either way. */
    auditRefused?: string;
    /** A public route that reads the Authorization header itself (the metrics token), so no user or token is looked up. */
    ownAuthorization?: boolean;
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

// Set on the root instance; route scopes (Object.create children of it) inherit it.
const CLOSING = Symbol('mamori.closing');

/** Makes {@link streamSignal} abort on this app's close (registered once, at build time, before routes). */
export function abortStreamsOnClose(app: FastifyInstance): void {
  const controller = new AbortController();
  (app as unknown as Record<symbol, AbortController>)[CLOSING] = controller;
  app.addHook('preClose', (done) => {
    controller.abort();
    done();
  });
}

/**
 * A signal for a streamed response: aborted when the client goes away before the end, or when the server
 * starts to stop (a long export must not hold a SIGTERM back until it is done).
 */
export function streamSignal(req: FastifyRequest, reply: FastifyReply): AbortSignal {
  const client = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) client.abort();
  });
  const server = (req.server as unknown as Record<symbol, AbortController | undefined>)[CLOSING];
  return server === undefined ? client.signal : AbortSignal.any([client.signal, server.signal]);
}
