/** @module Analysis's HTTP routes: findings (list, one) and cases (list, create, read, update, items, notes); every read audited by the service. */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { AppError } from '#platform/errors/index.js';
import { ctxOf, type RouteModule } from '#platform/http/index.js';
import { parsePageQuery } from '#platform/paging/index.js';
import { CASE_STATUSES, caseCreateSchema, caseItemSchema, caseNoteSchema, casePatchSchema, findingQuerySchema, type CaseStatus } from './schema.js';
import type { AnalysisService } from './service.js';

function parseOr<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) {
    throw new AppError('VALIDATION_FAILED', 'The request does not match what this route takes; see details.', {
      details: r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  }
  return r.data;
}

/** Registers analysis's routes. @see docs/detection.md#findings */
export function analysisRoutes(deps: { analysis: AnalysisService }): RouteModule {
  const { analysis } = deps;
  return (app: FastifyInstance) => {
    app.get('/api/v1/findings', {
      config: { auth: { action: 'findings:read' } },
      schema: { tags: ['analysis'], summary: 'Findings, latest evidence first, one page ({ items, nextCursor, total }; ?limit=, ?cursor=); filters kind, level, minLevel, subject, since, until, state (new, in-case, dismissed); each item carries its triage. Audited.' },
    }, async (req) => analysis.listFindings(ctxOf(req), parseOr(findingQuerySchema, req.query)));

    app.get('/api/v1/findings/:id', {
      config: { auth: { action: 'findings:read' } },
      schema: { tags: ['analysis'], summary: 'One finding with its score detail and evidence. Audited.' },
    }, async (req) => analysis.getFinding(ctxOf(req), (req.params as { id: string }).id));

    app.post('/api/v1/findings/:id/dismiss', {
      config: { auth: { action: 'findings:triage' } },
      schema: { tags: ['analysis'], summary: 'Dismisses a finding: { reason: false_positive|benign|duplicate|out_of_scope|other, note? } (a note is required for other). Audited.' },
    }, async (req) => analysis.triageFinding(ctxOf(req), (req.params as { id: string }).id, 'dismiss', req.body ?? {}));

    app.post('/api/v1/findings/:id/reopen', {
      config: { auth: { action: 'findings:triage' } },
      schema: { tags: ['analysis'], summary: 'Reopens a dismissed finding: { note } says why. Audited.' },
    }, async (req) => analysis.triageFinding(ctxOf(req), (req.params as { id: string }).id, 'reopen', req.body ?? {}));

    app.get('/api/v1/cases', {
      config: { auth: { action: 'cases:read' } },
      schema: { tags: ['analysis'], summary: 'Cases, latest first, one page ({ items, nextCursor }; ?limit=, ?cursor=); filters status, owner. Audited.' },
    }, async (req) => {
      const qs = req.query as Record<string, unknown>;
      const status = qs['status'];
      if (status !== undefined && !(CASE_STATUSES as readonly unknown[]).includes(status)) throw new AppError('VALIDATION_FAILED', `status must be one of ${CASE_STATUSES.join(', ')}.`);
      return analysis.listCases(ctxOf(req), { status: status as CaseStatus | undefined, ownerId: typeof qs['owner'] === 'string' ? qs['owner'] : undefined, ...parsePageQuery(qs) });
    });

    app.post('/api/v1/cases', {
      config: { auth: { action: 'cases:write' } },
      schema: { tags: ['analysis'], summary: 'Opens a case (title, optional owner and findings).' },
    }, async (req, reply) => {
      const c = await analysis.createCase(ctxOf(req), parseOr(caseCreateSchema, req.body));
      void reply.code(201);
      return c;
    });

    app.get('/api/v1/cases/:id', {
      config: { auth: { action: 'cases:read' } },
      schema: { tags: ['analysis'], summary: 'One case with its items and notes. Audited.' },
    }, async (req) => analysis.getCase(ctxOf(req), (req.params as { id: string }).id));

    app.patch('/api/v1/cases/:id', {
      config: { auth: { action: 'cases:write' } },
      schema: { tags: ['analysis'], summary: 'Changes status, owner or title.' },
    }, async (req) => analysis.updateCase(ctxOf(req), (req.params as { id: string }).id, parseOr(casePatchSchema, req.body)));

    app.post('/api/v1/cases/:id/items', {
      config: { auth: { action: 'cases:write' } },
      schema: { tags: ['analysis'], summary: 'Adds a finding or an incident report to a case.' },
    }, async (req) => analysis.addCaseItem(ctxOf(req), (req.params as { id: string }).id, parseOr(caseItemSchema, req.body)));

    app.post('/api/v1/cases/:id/notes', {
      config: { auth: { action: 'cases:write' } },
      schema: { tags: ['analysis'], summary: 'Adds a note to a case.' },
    }, async (req) => analysis.addCaseNote(ctxOf(req), (req.params as { id: string }).id, parseOr(caseNoteSchema, req.body).text));
  };
}
