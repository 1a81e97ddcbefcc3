/** @module The registry's HTTP routes: sectors, designated operators, their ranges and exporters, CSV transfer, address look-up. */
import type { FastifyInstance } from 'fastify';
import { AppError } from '#platform/errors/index.js';
import { ctxOf, type RouteModule } from '#platform/http/index.js';
import { PAGED, parsePageQuery } from '#platform/paging/index.js';
import type { RegistryService } from './service.js';

/** Registers the registry's routes. */
export function registryRoutes(deps: { registry: RegistryService }): RouteModule {
  const { registry } = deps;
  return (app: FastifyInstance) => {
    const tags = ['registry'];
    app.get('/api/v1/registry/sectors', { config: { auth: { action: 'registry:read' } }, schema: { tags, summary: 'The 15 sectors with their competent ministry.' } }, async (req) => ({ sectors: registry.listSectors(ctxOf(req)) }));
    app.get('/api/v1/registry/operators', { config: { auth: { action: 'registry:read' } }, schema: { tags, summary: `Designated operators you may see (yours, your sectors', or all), by name. ${PAGED}` } }, async (req) => registry.pageOperators(ctxOf(req), parsePageQuery(req.query)));
    app.post('/api/v1/registry/operators', { config: { auth: { action: 'registry:manage' } }, schema: { tags, summary: 'Designate an operator (or update its designation).' } }, async (req, reply) => {
      const operator = await registry.designate(ctxOf(req), req.body as never);
      void reply.code(201);
      return { operator };
    });
    app.get<{ Params: { orgId: string } }>('/api/v1/registry/operators/:orgId', { config: { auth: { action: 'registry:read' } }, schema: { tags, summary: 'One designated operator.' } }, async (req) => ({ operator: await registry.getOperator(ctxOf(req), req.params.orgId) }));
    app.post<{ Params: { orgId: string } }>('/api/v1/registry/operators/:orgId/ranges', { config: { auth: { action: 'registry:manage' } }, schema: { tags, summary: 'Add an address range (CIDR) to an operator.' } }, async (req, reply) => {
      const operator = await registry.addRange(ctxOf(req), req.params.orgId, req.body);
      void reply.code(201);
      return { operator };
    });
    app.delete<{ Params: { orgId: string; rangeId: string } }>('/api/v1/registry/operators/:orgId/ranges/:rangeId', { config: { auth: { action: 'registry:manage' } }, schema: { tags, summary: 'Remove an address range from an operator (it stops being domestic at once).' } }, async (req) => ({ operator: await registry.removeRange(ctxOf(req), req.params.orgId, req.params.rangeId) }));
    app.post<{ Params: { orgId: string } }>('/api/v1/registry/operators/:orgId/exporters', { config: { auth: { action: 'registry:manage' } }, schema: { tags, summary: 'Add a flow exporter (address, observation domain) to an operator.' } }, async (req, reply) => {
      const operator = await registry.addExporter(ctxOf(req), req.params.orgId, req.body);
      void reply.code(201);
      return { operator };
    });
    app.get<{ Querystring: { address?: string } }>('/api/v1/registry/affected', { config: { auth: { action: 'registry:lookup' } }, schema: { tags, summary: 'Operators whose registered ranges hold an address.' } }, async (req) => {
      const address = req.query.address;
      if (typeof address !== 'string' || address === '') throw new AppError('VALIDATION_FAILED', 'address: give ?address=IP.', { details: [{ path: 'address', message: 'required' }] });
      return { operators: await registry.operatorsForAddress(ctxOf(req), address) };
    });
    app.get('/api/v1/registry/export', { config: { auth: { action: 'registry:transfer' } }, schema: { tags, summary: 'The registry as CSV.' } }, async (req, reply) => {
      const csv = await registry.exportCsv(ctxOf(req));
      void reply.type('text/csv; charset=utf-8');
      return csv;
    });
    app.post<{ Body: { csv?: unknown; dryRun?: unknown } }>('/api/v1/registry/import', { config: { auth: { action: 'registry:transfer' } }, schema: { tags, summary: 'Import a registry CSV ({ csv, dryRun }); errors list their lines; all or nothing.' } }, async (req) => {
      const body = req.body ?? {};
      if (typeof body.csv !== 'string') throw new AppError('VALIDATION_FAILED', 'csv: send the file text as a string.', { details: [{ path: 'csv', message: 'required string' }] });
      if (body.dryRun !== undefined && typeof body.dryRun !== 'boolean') throw new AppError('VALIDATION_FAILED', 'dryRun: must be true or false.', { details: [{ path: 'dryRun', message: 'must be a boolean' }] });
      return { result: await registry.importCsv(ctxOf(req), body.csv, { dryRun: body.dryRun === true }) };
    });
  };
}
