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

const COMPRESSIBLE = /\.(js|css|svg)$/;

/** Which content codings an Accept-Encoding header allows (a q of 0 refuses one). @see RFC 9110 §12.5.3 */
export function acceptedEncodings(header: string | undefined): Set<string> {
  const out = new Set<string>();
  for (const part of (header ?? '').split(',')) {
    const [token, ...params] = part.trim().toLowerCase().split(';');
    if (token === undefined || token === '') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue;
    out.add(token);
  }
  return out;
}

/** The precompressed copy of a file the client accepts (Brotli first, then gzip), if the build wrote one. */
async function precompressed(path: string, header: string | string[] | undefined): Promise<{ name: 'br' | 'gzip'; body: Buffer } | undefined> {
  if (!COMPRESSIBLE.test(path)) return undefined;
  const accepted = acceptedEncodings(Array.isArray(header) ? header.join(',') : header);
  for (const [name, ext] of [['br', '.br'], ['gzip', '.gz']] as const) {
    if (!accepted.has(name)) continue;
    try {
      return { name, body: await readFile(`${path}${ext}`) };
    } catch {
      // No such copy (a small file, or a build from before): try the next coding, then send the file as it is.
    }
  }
  return undefined;
}

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
      // The build wrote .br and .gz copies of scripts and styles (web/vite.config.ts); send one the browser accepts.
      const encoding = await precompressed(join(assets, name), req.headers['accept-encoding']);
      if (encoding !== undefined) void reply.header('content-encoding', encoding.name).header('vary', 'accept-encoding');
      else if (COMPRESSIBLE.test(name)) void reply.header('vary', 'accept-encoding');
      // Vite puts a content hash in every file name, so a file never changes under its name.
      return reply.type(TYPES[extname(name)] ?? 'application/octet-stream').header('cache-control', 'public, max-age=31536000, immutable').send(encoding?.body ?? body);
    });
  };
}
