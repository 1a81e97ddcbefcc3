/** @module Oversight's HTTP routes: the docket, votes and decisions, approvals, emergency actions, inspection, the Diet report and its published copies. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '#platform/errors/index.js';
import { ctxOf, type RouteModule } from '#platform/http/index.js';
import { PAGED, parsePageQuery } from '#platform/paging/index.js';
import type { OversightService } from './service.js';
import { renderDietReportHtml } from './diet-report.js';

type IdParams = { Params: { id: string } };

function query(req: FastifyRequest, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > 100) throw new AppError('VALIDATION_FAILED', `Query parameter ${name}: give it once, as plain text.`, { details: [{ path: name, message: 'invalid' }] });
  return v;
}

function intQuery(req: FastifyRequest, name: string): number | undefined {
  const v = query(req, name);
  if (v === undefined) return undefined;
  if (!/^(0|[1-9][0-9]{0,15})$/.test(v)) throw new AppError('VALIDATION_FAILED', `Query parameter ${name}: give a non-negative whole number.`, { details: [{ path: name, message: 'not a whole number' }] });
  return Number(v);
}

/** Registers oversight's routes. @see DPA Art. 17, 22, 32, 38 ff. */
export function oversightRoutes(deps: { oversight: OversightService }): RouteModule {
  const { oversight } = deps;
  const tags = ['oversight'];
  return (app: FastifyInstance) => {
    app.get('/api/v1/oversight/requests', { config: { auth: { action: 'request:read' } }, schema: { tags, summary: `The docket: requests to the commission (?status=, ?kind=), newest first. ${PAGED} Audited.` } },
      async (req) => oversight.listRequests(ctxOf(req), { status: query(req, 'status'), kind: query(req, 'kind'), ...parsePageQuery(req.query) }));

    app.post('/api/v1/oversight/requests', { config: { auth: { action: 'request:draft' } }, schema: { tags, summary: 'Draft a request (acquisition, measure or re-identification) with its evidence by reference.' } }, async (req, reply) => {
      const request = await oversight.draftRequest(ctxOf(req), req.body as never);
      void reply.code(201);
      return { request };
    });

    app.get<IdParams>('/api/v1/oversight/requests/:id', { config: { auth: { action: 'request:read' } }, schema: { tags, summary: 'One request with its votes and conflict declarations. Audited.' } },
      async (req) => ({ request: await oversight.getRequest(ctxOf(req), req.params.id) }));

    app.put<IdParams>('/api/v1/oversight/requests/:id', { config: { auth: { action: 'request:draft' } }, schema: { tags, summary: 'Edit a draft before it is submitted (whoever drafted it, or an NCO director): the same body and checks as drafting. Audited.' } },
      async (req) => ({ request: await oversight.editDraft(ctxOf(req), req.params.id, req.body as never) }));

    app.post<IdParams>('/api/v1/oversight/requests/:id/submit', { config: { auth: { action: 'request:submit' } }, schema: { tags, summary: 'Submit a draft to the commission (NCO director).' } },
      async (req) => ({ request: await oversight.submitRequest(ctxOf(req), req.params.id) }));

    app.post<IdParams>('/api/v1/oversight/requests/:id/withdraw', { config: { auth: { action: 'request:withdraw' } }, schema: { tags, summary: 'Withdraw a request that is not decided yet (NCO director).' } },
      async (req) => ({ request: await oversight.withdrawRequest(ctxOf(req), req.params.id) }));

    app.post<IdParams>('/api/v1/oversight/requests/:id/conflicts', { config: { auth: { action: 'request:declare-conflict' } }, schema: { tags, summary: 'Declare a conflict of interest: you will neither vote on nor decide this request.' } },
      async (req) => ({ request: await oversight.declareConflict(ctxOf(req), req.params.id, req.body as never) }));

    app.post<IdParams>('/api/v1/oversight/requests/:id/votes', { config: { auth: { action: 'request:vote' } }, schema: { tags, summary: 'Vote approve, deny or abstain, with reasons (one vote per member).' } },
      async (req) => ({ request: await oversight.castVote(ctxOf(req), req.params.id, req.body as never) }));

    app.post<IdParams>('/api/v1/oversight/requests/:id/decision', { config: { auth: { action: 'request:decide' } }, schema: { tags, summary: 'Close the vote: with a quorum, the majority decides; an approval may narrow the scope and add conditions.' } },
      async (req) => ({ request: await oversight.decideRequest(ctxOf(req), req.params.id, (req.body ?? {}) as never) }));

    app.get('/api/v1/oversight/approvals', { config: { auth: { action: 'approval:read' } }, schema: { tags, summary: `Approvals (?kind=, ?state=active|pending|expired|revoked), newest first. ${PAGED} Audited.` } },
      async (req) => oversight.listApprovals(ctxOf(req), { kind: query(req, 'kind'), state: query(req, 'state'), ...parsePageQuery(req.query) }));

    app.get<IdParams>('/api/v1/oversight/approvals/:id', { config: { auth: { action: 'approval:read' } }, schema: { tags, summary: 'One approval and its state now. Audited.' } },
      async (req) => ({ approval: await oversight.getApproval(ctxOf(req), req.params.id) }));

    app.post<IdParams>('/api/v1/oversight/approvals/:id/revoke', { config: { auth: { action: 'approval:revoke' } }, schema: { tags, summary: 'Revoke an approval at once: its basis stops matching, its measure halts.' } },
      async (req) => ({ approval: await oversight.revokeApproval(ctxOf(req), req.params.id, req.body as never) }));

    app.get('/api/v1/oversight/emergency-actions', { config: { auth: { action: 'emergency:read' } }, schema: { tags, summary: `Emergency actions and their reviews (?status=), newest first. ${PAGED} Audited.` } },
      async (req) => oversight.listEmergencyActions(ctxOf(req), { status: query(req, 'status'), ...parsePageQuery(req.query) }));

    app.post('/api/v1/oversight/emergency-actions', { config: { auth: { action: 'emergency:act' } }, schema: { tags, summary: 'Record an action taken first (emergency path); opens its retroactive review with a deadline.' } }, async (req, reply) => {
      const emergencyAction = await oversight.recordEmergencyAction(ctxOf(req), req.body as never);
      void reply.code(201);
      return { emergencyAction };
    });

    app.get('/api/v1/oversight/inspection/inventory', { config: { auth: { action: 'inspection:read' } }, schema: { tags, summary: 'Inspection: data held by basis and the discard counters (from selection). Audited.' } },
      async (req) => oversight.inspectInventory(ctxOf(req)));

    app.get('/api/v1/oversight/inspection/deletions', { config: { auth: { action: 'inspection:read' } }, schema: { tags, summary: 'Inspection: deletion certificates of every purge and retention run (what, how many, hashes). Audited.' } },
      async (req) => oversight.inspectDeletions(ctxOf(req)));

    app.get('/api/v1/oversight/inspection/reads', { config: { auth: { action: 'inspection:read' } }, schema: { tags, summary: 'Inspection: who read what — read entries of the audit log with index in [from, to) (at most 5000; without them the newest 1000 entries). Audited.' } }, async (req) => {
      const given = intQuery(req, 'from');
      // Without a range the newest 1000 entries: what the commission looks at first is what happened last.
      if (given === undefined && intQuery(req, 'to') === undefined) return oversight.inspectReads(ctxOf(req), { latest: 1000 });
      const from = given ?? 0;
      const to = intQuery(req, 'to') ?? from + 1000;
      if (to < from || to - from > 5000) throw new AppError('VALIDATION_FAILED', 'Query parameter to: give from ≤ to ≤ from + 5000.', { details: [{ path: 'to', message: 'out of range' }] });
      return oversight.inspectReads(ctxOf(req), { from, to });
    });

    app.get('/api/v1/oversight/diet-report', { config: { auth: { action: 'diet-report:create' } }, schema: { tags, summary: 'The report to the Diet for ?from=&to= (JSON, or HTML with ?format=html), computed at a freshly signed checkpoint.' } }, async (req, reply) => {
      const from = query(req, 'from');
      const to = query(req, 'to');
      if (from === undefined || to === undefined) throw new AppError('VALIDATION_FAILED', 'Give the period as ?from=2026-04-01&to=2026-07-01.', { details: [{ path: from === undefined ? 'from' : 'to', message: 'required' }] });
      const report = await oversight.dietReport(ctxOf(req), { from, to });
      if (query(req, 'format') === 'html') {
        void reply.type('text/html; charset=utf-8');
        return renderDietReportHtml(report);
      }
      return { report };
    });

    app.post('/api/v1/oversight/published-reports', { config: { auth: { action: 'diet-report:publish' } }, schema: { tags, summary: 'Publish the report to the Diet for { from, to } on the public transparency page (computed at a freshly signed checkpoint).' } }, async (req, reply) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const from = body['from'];
      const to = body['to'];
      if (typeof from !== 'string' || typeof to !== 'string') throw new AppError('VALIDATION_FAILED', 'Give the period as {"from": "2026-04-01T00:00:00Z", "to": "2026-07-01T00:00:00Z"}.', { details: [{ path: typeof from !== 'string' ? 'from' : 'to', message: 'required' }] });
      const report = await oversight.publishDietReport(ctxOf(req), { from, to });
      void reply.code(201);
      return { report };
    });

    app.get('/api/v1/oversight/published-reports', { config: { auth: { public: true } }, schema: { tags, summary: `The Diet reports the commission has published, newest first (public). ${PAGED}` } },
      async (req) => oversight.listPublishedReports(parsePageQuery(req.query)));

    app.get<IdParams>('/api/v1/oversight/published-reports/:id', { config: { auth: { public: true } }, schema: { tags, summary: 'One published Diet report (public): JSON, or HTML with ?format=html.' } }, async (req, reply) => {
      const report = await oversight.getPublishedReport(req.params.id);
      if (query(req, 'format') === 'html') {
        void reply.type('text/html; charset=utf-8');
        return renderDietReportHtml(report);
      }
      return { report };
    });
  };
}
