/** @module Serves the built dashboard (web/dist): the page at `/` and `/app/*` (client routes), hashed files under `/assets/`. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '#platform/errors/index.js';
import type { RouteModule } from '#platform/http/index.js';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** A file name Vite writes under assets/: no directories, so no way out of the folder. */
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

/**
 * The folder of the built dashboard: `web/dist` at the repository root, found from this file whether
 * it runs from `src/server/` (sources) or `dist/src/server/` (the build).
 */
export function defaultWebRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '../../web/dist'), resolve(here, '../../../web/dist')];
  return candidates.find((c) => existsSync(join(c, 'index.html'))) ?? candidates[0]!;
}

/** Registers the dashboard's routes; without a build they answer 503 with what to run. @see docs/dashboard.md */
export function webRoutes(deps: { root: string }): RouteModule {
  const root = deps.root;
  const assets = join(root, 'assets');

  async function sendIndex(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    let html: Buffer;
    try {
      html = await readFile(join(root, 'index.html'));
    } catch {
      // Answered here, not thrown: the error handler hides 5xx messages, and this one tells the operator what to do.
      return reply.code(503).type('application/json; charset=utf-8').send({ code: 'UNAVAILABLE', message: 'The dashboard is not built on this server; run `npm run build:web` (or `npm run build`).', requestId: req.id });
    }
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
  }

  return (app: FastifyInstance) => {
    const config = { auth: { public: true as const } };
    const tags = ['dashboard'];
    app.get('/', { config, schema: { tags, summary: 'The dashboard (single-page app).' } }, async (req, reply) => sendIndex(req, reply));
    app.get('/app', { config, schema: { tags, summary: 'The dashboard: a client route.' } }, async (req, reply) => sendIndex(req, reply));
    app.get('/app/*', { config, schema: { tags, summary: 'The dashboard: any client route answers the same page.' } }, async (req, reply) => sendIndex(req, reply));
    app.get<{ Params: { '*': string } }>('/assets/*', { config, schema: { tags, summary: 'The dashboard\'s hashed script and style files.' } }, async (req, reply) => {
      const name = req.params['*'];
      if (!ASSET_NAME.test(name)) throw new AppError('NOT_FOUND', 'No such dashboard file.');
      let body: Buffer;
      try {
        body = await readFile(join(assets, name));
      } catch {
        throw new AppError('NOT_FOUND', 'No such dashboard file; reload the page to get the current version.');
      }
      // Vite puts a content hash in every file name, so a file never changes under its name.
      return reply.type(TYPES[extname(name)] ?? 'application/octet-stream').header('cache-control', 'public, max-age=31536000, immutable').send(body);
    });
  };
}
