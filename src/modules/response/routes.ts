/** @module Response's HTTP routes: measures and their transitions, effect data, takedown notices, and artifacts with conditional GET. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '#platform/errors/index.js';
import { ctxOf, type RouteModule } from '#platform/http/index.js';
import { PAGED, parsePageQuery } from '#platform/paging/index.js';
import type { ResponseService } from './service.js';
import type { Artifact, ArtifactFormat } from './artifacts.js';
import { NOTICE_LANGUAGES, type NoticeLanguage } from './notices.js';

type IdParams = { Params: { id: string } };

function query(req: FastifyRequest, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > 100) throw new AppError('VALIDATION_FAILED', `Query parameter ${name}: give it once, as plain text.`, { details: [{ path: name, message: 'invalid' }] });
  return v;
}

/** Answers an artifact with its ETag: 304 without a body when If-None-Match names it. @see RFC 9110 §13.1.2, §15.4.5 */
function sendArtifact(reply: FastifyReply, r: { artifact: Artifact; notModified: boolean }): FastifyReply {
  void reply.header('etag', r.artifact.etag).header('cache-control', 'private, no-cache');
  if (r.notModified) return reply.code(304).send();
  return reply.type(r.artifact.contentType).send(r.artifact.body);
}

const ifNoneMatch = (req: FastifyRequest): string | undefined => {
  const h = req.headers['if-none-match'];
  return Array.isArray(h) ? h.join(',') : h;
};

/** Registers response's routes. @see Police Duties Execution Act Art. 6-2; SDF Act Art. 81-3 */
export function responseRoutes(deps: { response: ResponseService }): RouteModule {
  const { response } = deps;
  const tags = ['response'];
  const base = '/api/v1/response';
  return (app: FastifyInstance) => {
    app.get(`${base}/measures`, { config: { auth: { action: 'measure:read' } }, schema: { tags, summary: `Measures (?state=, ?kind=), newest first. ${PAGED} Audited.` } },
      async (req) => response.listMeasures(ctxOf(req), { state: query(req, 'state'), kind: query(req, 'kind'), ...parsePageQuery(req.query) }));

    app.post(`${base}/measures`, { config: { auth: { action: 'measure:propose' } }, schema: { tags, summary: 'Propose a measure (sinkhole, block, takedown notice, access and neutralize) with target, justification and expected effect.' } }, async (req, reply) => {
      const measure = await response.proposeMeasure(ctxOf(req), req.body as never);
      void reply.code(201);
      return { measure };
    });

    app.get<IdParams>(`${base}/measures/:id`, { config: { auth: { action: 'measure:read' } }, schema: { tags, summary: 'One measure with its order, consultations, steps and every transition. Audited.' } },
      async (req) => ({ measure: await response.getMeasure(ctxOf(req), req.params.id) }));

    app.post<IdParams>(`${base}/measures/:id/submit`, { config: { auth: { action: 'measure:submit' } }, schema: { tags, summary: 'Submit to the commission (creates and submits the oversight measure request).' } },
      async (req) => ({ measure: await response.submitMeasure(ctxOf(req), req.params.id, req.body as never) }));

    app.post<IdParams>(`${base}/measures/:id/order`, { config: { auth: { action: 'measure:order' } }, schema: { tags, summary: 'Record the Prime Minister\'s order to the SDF (approved SDF measures whose conditions hold).' } },
      async (req) => ({ measure: await response.orderMeasure(ctxOf(req), req.params.id, req.body as never) }));

    app.post<IdParams>(`${base}/measures/:id/consultations`, { config: { auth: { action: 'measure:consult' } }, schema: { tags, summary: 'Record a Foreign Ministry consultation on a target abroad.' } }, async (req, reply) => {
      const measure = await response.recordConsultation(ctxOf(req), req.params.id, req.body as never);
      void reply.code(201);
      return { measure };
    });

    app.post<IdParams>(`${base}/measures/:id/execute`, { config: { auth: { action: 'measure:execute' } }, schema: { tags, summary: 'Start execution by the routed agency (approved; ordered for the SDF; consulted if abroad).' } },
      async (req) => ({ measure: await response.executeMeasure(ctxOf(req), req.params.id, req.body as never) }));

    app.post<IdParams>(`${base}/measures/:id/emergency`, { config: { auth: { action: 'measure:act-emergency' } }, schema: { tags, summary: 'Act first on the emergency path (police): oversight opens the retroactive review.' } },
      async (req) => ({ measure: await response.actFirst(ctxOf(req), req.params.id, req.body as never) }));

    app.post<IdParams>(`${base}/measures/:id/steps`, { config: { auth: { action: 'measure:record-step' } }, schema: { tags, summary: 'Record one step of the operation (executing officers, while executing).' } }, async (req, reply) => {
      const measure = await response.recordStep(ctxOf(req), req.params.id, req.body as never);
      void reply.code(201);
      return { measure };
    });

    app.post<IdParams>(`${base}/measures/:id/complete`, { config: { auth: { action: 'measure:complete' } }, schema: { tags, summary: 'End execution: executed or failed, with the reason.' } },
      async (req) => ({ measure: await response.completeMeasure(ctxOf(req), req.params.id, req.body as never) }));

    app.post<IdParams>(`${base}/measures/:id/review`, { config: { auth: { action: 'measure:review' } }, schema: { tags, summary: 'Close with an after-action review (executed, failed or halted measures).' } },
      async (req) => ({ measure: await response.reviewMeasure(ctxOf(req), req.params.id, req.body as never) }));

    app.get<IdParams>(`${base}/measures/:id/effect`, { config: { auth: { action: 'measure:effect-read' } }, schema: { tags, summary: 'The measure\'s findings before and after execution (data for a before/after chart) and a verdict. Audited.' } },
      async (req) => ({ effect: await response.measureEffect(ctxOf(req), req.params.id) }));

    app.get<IdParams>(`${base}/measures/:id/notice`, { config: { auth: { action: 'measure:notice' } }, schema: { tags, summary: 'The takedown notice as plain-text mail (?lang=ja|en), with ETag. Audited.' } }, async (req, reply) => {
      const lang = query(req, 'lang') ?? 'ja';
      if (!(NOTICE_LANGUAGES as readonly string[]).includes(lang)) throw new AppError('VALIDATION_FAILED', 'Query parameter lang: give ja or en.', { details: [{ path: 'lang', message: 'ja or en' }] });
      return sendArtifact(reply, await response.takedownNotice(ctxOf(req), req.params.id, lang as NoticeLanguage, ifNoneMatch(req)));
    });

    const artifact = (path: string, format: ArtifactFormat, action: string, summary: string): void => {
      app.get(`${base}/artifacts/${path}`, { config: { auth: { action } }, schema: { tags, summary: `${summary} Built from measures in force; ETag and If-None-Match (304). Audited.` } },
        async (req, reply) => sendArtifact(reply, await response.artifact(ctxOf(req), format, ifNoneMatch(req))));
    };
    artifact('rpz.zone', 'rpz', 'artifact:read', 'DNS response policy zone (RPZ) of the sinkholed domains.');
    artifact('blocklist.txt', 'cidr', 'artifact:read', 'Border block list, one CIDR a line.');
    artifact('blocklist.nft', 'nft', 'artifact:read', 'Border block list as an nftables file (table inet mamori, interval sets).');
    artifact('blocklist.json', 'json', 'artifact:read', 'Border block list as JSON with provenance.');
    artifact('stix', 'stix', 'artifact:read-stix', 'STIX 2.1 bundle of course-of-action objects (TLP:AMBER) for the council.');
  };
}
