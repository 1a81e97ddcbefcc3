/** @module Sharing's REST routes: council, groups, drafts and release, export, sightings, feeds, leak tracing. */
import type { FastifyInstance } from 'fastify';
import { AppError } from '#platform/errors/index.js';
import { ctxOf, type RouteModule } from '#platform/http/index.js';
import { PAGED, parsePageQuery } from '#platform/paging/index.js';
import type { SharingService } from './service.js';
import type { IntelPurger } from './purge.js';

/** Registers sharing's REST routes under /api/v1/sharing. */
export function sharingRoutes(deps: { sharing: SharingService }): RouteModule {
  const { sharing } = deps;
  return (app: FastifyInstance) => {
    const tags = ['sharing'];
    app.get('/api/v1/sharing/council', { config: { auth: { action: 'sharing:read' } }, schema: { tags, summary: `Council member organizations and their clients, by joining time. ${PAGED}` } }, async (req) => sharing.listCouncil(ctxOf(req), parsePageQuery(req.query)));
    app.post('/api/v1/sharing/council', { config: { auth: { action: 'sharing:manage' } }, schema: { tags, summary: 'Add or update a council member.' } }, async (req, reply) => {
      const member = await sharing.addCouncilMember(ctxOf(req), req.body as never);
      void reply.code(201);
      return { member };
    });
    app.get('/api/v1/sharing/groups', { config: { auth: { action: 'sharing:read' } }, schema: { tags, summary: `Sharing groups the caller may see, by name. ${PAGED}` } }, async (req) => sharing.listGroups(ctxOf(req), parsePageQuery(req.query)));
    app.post('/api/v1/sharing/groups', { config: { auth: { action: 'sharing:manage' } }, schema: { tags, summary: 'Create a sharing group (a TAXII collection).' } }, async (req, reply) => {
      const group = await sharing.createGroup(ctxOf(req), req.body as never);
      void reply.code(201);
      return { group };
    });
    app.post<{ Params: { id: string } }>('/api/v1/sharing/groups/:id/members', { config: { auth: { action: 'sharing:manage' } }, schema: { tags, summary: 'Add an organization to a group.' } }, async (req) => ({ group: await sharing.addGroupMember(ctxOf(req), req.params.id, req.body as never) }));
    app.get<{ Params: { id: string }; Querystring: { ids?: string } }>('/api/v1/sharing/groups/:id/bundle', { config: { auth: { action: 'intel:read' } }, schema: { tags, summary: 'Export your copy of a group\'s intelligence (or of the objects ?ids= names, comma-separated) as a STIX 2.1 bundle.' } }, async (req, reply) => {
      const ids = (req.query.ids ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '');
      const bundle = await sharing.exportBundle(ctxOf(req), req.params.id, ids);
      void reply.type('application/stix+json;version=2.1');
      return bundle;
    });
    app.get<{ Params: { id: string } }>('/api/v1/sharing/indicators/:id/sightings', { config: { auth: { action: 'intel:read' } }, schema: { tags, summary: 'The sighting history of an indicator (by the id your copy names it); the reporting member is named to the NCO and to itself only. Audited.' } }, async (req) => ({ sightings: await sharing.sightingsOf(ctxOf(req), req.params.id) }));
    app.get('/api/v1/sharing/drafts', { config: { auth: { action: 'intel:draft-read' } }, schema: { tags, summary: `Intelligence drafts, newest first. ${PAGED} Audited.` } }, async (req) => sharing.listDrafts(ctxOf(req), parsePageQuery(req.query)));
    app.post('/api/v1/sharing/drafts', { config: { auth: { action: 'intel:draft' } }, schema: { tags, summary: 'Draft STIX intelligence from indicators of a finding, case or report (sanitized).' } }, async (req, reply) => {
      const draft = await sharing.draftFromIndicators(ctxOf(req), req.body as never);
      void reply.code(201);
      return { draft };
    });
    app.post<{ Params: { id: string } }>('/api/v1/sharing/drafts/:id/release', { config: { auth: { action: 'intel:release' } }, schema: { tags, summary: 'Release a draft to sharing groups (NCO director; not your own draft).' } }, async (req) => ({ draft: await sharing.releaseDraft(ctxOf(req), req.params.id, req.body as never) }));
    app.post('/api/v1/sharing/sightings', { config: { auth: { action: 'intel:submit' } }, schema: { tags, summary: 'Report a sighting or false positive of an indicator.' } }, async (req) => ({ sighting: await sharing.recordSighting(ctxOf(req), req.body as never) }));
    app.get('/api/v1/sharing/feeds', { config: { auth: { action: 'feeds:manage' } }, schema: { tags, summary: `External TAXII feeds, by name (never their credentials). ${PAGED}` } }, async (req) => sharing.listFeeds(ctxOf(req), parsePageQuery(req.query)));
    app.post('/api/v1/sharing/feeds', { config: { auth: { action: 'feeds:manage' } }, schema: { tags, summary: 'Add an external TAXII 2.1 feed.' } }, async (req, reply) => {
      const feed = await sharing.addFeed(ctxOf(req), req.body as never);
      void reply.code(201);
      return { feed };
    });
    app.post<{ Params: { id: string } }>('/api/v1/sharing/feeds/:id/pull', { config: { auth: { action: 'feeds:manage' } }, schema: { tags, summary: 'Pull a feed now.' } }, async (req) => sharing.pullFeed(ctxOf(req), req.params.id));
    app.post('/api/v1/sharing/leaks/trace', { config: { auth: { action: 'leak:trace' } }, schema: { tags, summary: 'Name the recipient(s) of a leaked bundle or fragment, with the evidence.' } }, async (req) => {
      const body = req.body as Record<string, unknown> | undefined;
      // Either {"text": "…"} (a leaked file as text, any fragment) or a STIX bundle or object as such; nothing else.
      const asText = typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 1 && typeof body['text'] === 'string' && body['text'].trim() !== '';
      const asStix = typeof body === 'object' && body !== null && !Array.isArray(body) && typeof body['type'] === 'string' && typeof body['id'] === 'string';
      if (!asText && !asStix) {
        throw new AppError('VALIDATION_FAILED', 'Send {"text": "<the leaked file or fragment>"} or a STIX bundle or object (with its type and id).', { details: [{ path: 'text', message: 'expected the leaked text, or a STIX bundle or object' }] });
      }
      return sharing.traceLeak(ctxOf(req), asText ? String(body['text']) : JSON.stringify(body));
    });
  };
}

/** Routes of recall notices: list (`GET /api/v1/intel/recalls`) and acknowledge (`POST /api/v1/intel/recalls/:id/acknowledge`). */
export function recallRoutes(deps: { recalls: IntelPurger }): RouteModule {
  return (app: FastifyInstance) => {
    const tags = ['sharing'];
    app.get('/api/v1/intel/recalls', { config: { auth: { action: 'intel:read' } }, schema: { tags, summary: 'Recall notices of released intelligence whose data was purged, newest first, paged ({ items, nextCursor }; ?state=pending|all, ?limit, ?cursor): yours; all for the NCO and the commission.' } },
      async (req) => {
        const page = parsePageQuery(req.query);
        const state = (req.query as Record<string, unknown>)['state'];
        if (state !== undefined && state !== 'pending' && state !== 'all') throw new AppError('VALIDATION_FAILED', 'state: pending or all.', { details: [{ path: 'state', message: 'not pending or all' }] });
        return deps.recalls.listRecalls(ctxOf(req), { ...page, pending: state === 'pending' });
      });
    app.post<{ Params: { id: string } }>('/api/v1/intel/recalls/:id/acknowledge', { config: { auth: { action: 'intel:read' } }, schema: { tags, summary: 'Acknowledge that your organization deleted the recalled objects.' } }, async (req) => {
      await deps.recalls.acknowledgeRecall(ctxOf(req), req.params.id);
      return { acknowledged: true };
    });
  };
}
