/** @module Selection's HTTP routes: legal bases, selection counters, audited flow queries and approval-gated re-identification. */
import type { FastifyInstance } from 'fastify';
import { ctxOf, type RouteModule } from '#platform/http/index.js';
import { PAGED, parsePageQuery } from '#platform/paging/index.js';
import type { FlowArchive, FlowQuery } from './archive/index.js';
import type { BasisInput } from './schema.js';
import type { SelectionService } from './service.js';

/** Registers selection's routes. */
export function selectionRoutes(deps: { selection: SelectionService; archive: FlowArchive }): RouteModule {
  const { selection, archive } = deps;
  return (app: FastifyInstance) => {
    app.get('/api/v1/legal-bases', { config: { auth: { action: 'basis:list' } }, schema: { tags: ['selection'], summary: `List legal bases (approvals and consent agreements), newest first. ${PAGED}` } }, async (req) => selection.listBases(ctxOf(req), parsePageQuery(req.query)));

    app.get<{ Params: { id: string } }>('/api/v1/legal-bases/:id', { config: { auth: { action: 'basis:read' } }, schema: { tags: ['selection'], summary: 'One legal basis.' } }, async (req) => ({ basis: await selection.getBasis(ctxOf(req), req.params.id) }));

    app.post('/api/v1/legal-bases', { config: { auth: { action: 'basis:create' } }, schema: { tags: ['selection'], summary: 'Record an operator\'s consent agreement (approvals come from the commission through oversight).' } }, async (req, reply) => {
      const basis = await selection.createBasis(ctxOf(req), req.body as BasisInput);
      void reply.code(201);
      return { basis };
    });

    app.post<{ Params: { id: string } }>('/api/v1/legal-bases/:id/revoke', { config: { auth: { action: 'basis:revoke' } }, schema: { tags: ['selection'], summary: 'Revoke a legal basis: matching stops within a second.' } }, async (req) => ({ basis: await selection.revokeBasis(ctxOf(req), req.params.id, req.body as { reason: string }) }));

    app.get('/api/v1/selection/counters', { config: { auth: { action: 'selection:counters' } }, schema: { tags: ['selection'], summary: 'Flows kept and dropped per exporter, category and reason (the only trace of dropped flows).' } }, async (req) => selection.counters(ctxOf(req)));

    app.post('/api/v1/pseudonyms/reidentify', { config: { auth: { action: 'pseudonym:reidentify' }, auditRefused: 'pseudonym:reidentify' }, schema: { tags: ['selection'], summary: 'Find which candidate address (or address in a prefix of at most 65,536) has a pseudonym, under a re-identification approval of the commission; audited either way.' } }, async (req) => selection.reidentify(ctxOf(req), req.body as Parameters<SelectionService['reidentify']>[1]));

    app.post('/api/v1/flows/query', { config: { auth: { action: 'flows:query' } }, schema: { tags: ['selection'], summary: 'Query the flow archive with a stated purpose; audited with the bases read.' } }, async (req) => archive.queryFlows(ctxOf(req), req.body as FlowQuery));
  };
}
