/** @module Wires analysis and reporting to sharing: a finding, a case or an incident report becomes a sanitized STIX draft (only foreign addresses and prefixes, domains and hashes; pseudonyms never; the operator anonymous unless it consented). */
import { BlockList, isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { RequestContext } from '#platform/context/index.js';
import { AppError } from '#platform/errors/index.js';
import { ctxOf, type RouteModule } from '#platform/http/index.js';
import type { AnalysisService, Finding } from '#modules/analysis/index.js';
import type { IncidentReport, ReportingService } from '#modules/reporting/index.js';
import type { RegistryService } from '#modules/registry/index.js';
import type { DraftInput, SharingService } from '#modules/sharing/index.js';

/** One value a draft may carry. */
export interface DraftIndicator {
  kind: 'ipv4' | 'ipv6' | 'domain' | 'md5' | 'sha1' | 'sha256';
  value: string;
}

/** The draft options the caller may choose; everything else comes from the source. */
interface DraftOptions {
  title?: string;
  tlp?: DraftInput['tlp'];
  redRecipients?: string[];
  labels?: string[];
  confidence?: number;
  validDays?: number;
}

const OPTION_KEYS = new Set(['title', 'tlp', 'redRecipients', 'labels', 'confidence', 'validDays']);

/** Addresses that are never foreign attack infrastructure (private, loopback, link-local, CGN, unique-local). */
const NOT_SHAREABLE = (() => {
  const b = new BlockList();
  for (const [net, len] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16], ['224.0.0.0', 3]] as const) b.addSubnet(net, len, 'ipv4');
  for (const [net, len] of [['::', 127], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) b.addSubnet(net, len, 'ipv6');
  return b;
})();

/** An address or CIDR prefix as a draft indicator; undefined when it is not a plain public address or prefix. */
export function addressIndicator(value: string, domestic?: BlockList): DraftIndicator | undefined {
  const [addr = '', len, extra] = value.trim().split('/');
  const family = isIP(addr);
  if (family === 0 || extra !== undefined) return undefined;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (len !== undefined && !(/^\d{1,3}$/.test(len) && Number(len) <= (family === 4 ? 32 : 128))) return undefined;
  if (NOT_SHAREABLE.check(addr, type) || domestic?.check(addr, type) === true) return undefined;
  return { kind: type, value: family === 6 ? value.trim().toLowerCase() : value.trim() };
}

/**
 * What of a finding may leave: its subject when it is a foreign address or prefix. Hosts (pseudonyms),
 * pseudonymous subjects, ASNs, ports and evidence stay in mamori.
 */
export function findingIndicators(f: Pick<Finding, 'subject'>): DraftIndicator[] {
  if (f.subject.kind !== 'address' && f.subject.kind !== 'prefix') return [];
  const i = addressIndicator(f.subject.value);
  return i === undefined ? [] : [i];
}

/** What of an incident report may leave: its domains and hashes, and its addresses outside the operator's own ranges. */
export function reportIndicators(r: Pick<IncidentReport, 'indicators'>, operatorRanges: readonly string[]): DraftIndicator[] {
  const own = new BlockList();
  for (const cidr of operatorRanges) {
    const [net = '', len = ''] = cidr.split('/');
    const family = isIP(net);
    if (family !== 0) own.addSubnet(net, Number(len === '' ? (family === 4 ? 32 : 128) : len), family === 4 ? 'ipv4' : 'ipv6');
  }
  return r.indicators.flatMap((i): DraftIndicator[] => {
    if (i.kind === 'ipv4' || i.kind === 'ipv6') {
      const a = addressIndicator(i.value, own);
      return a === undefined ? [] : [a];
    }
    return [{ kind: i.kind, value: i.value }];
  });
}

function dedupe(list: readonly DraftIndicator[]): DraftIndicator[] {
  const seen = new Map<string, DraftIndicator>();
  for (const i of list) seen.set(`${i.kind}:${i.value}`, i);
  return [...seen.values()];
}

function optionsOf(body: unknown): DraftOptions {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new AppError('VALIDATION_FAILED', 'Send a JSON object with any of title, tlp, redRecipients, labels, confidence, validDays.');
  const unknown = Object.keys(body).filter((k) => !OPTION_KEYS.has(k));
  if (unknown.length > 0) throw new AppError('VALIDATION_FAILED', `Unknown field(s) ${unknown.join(', ')}: the indicators come from the source; choose only title, tlp, redRecipients, labels, confidence, validDays.`, { details: unknown.map((path) => ({ path, message: 'unknown field' })) });
  return body as DraftOptions;
}

function nothingShareable(what: string): never {
  throw new AppError('VALIDATION_FAILED', `The ${what} has nothing shareable: only foreign addresses and prefixes, domains and hashes leave mamori, never pseudonyms.`, { details: [{ path: 'indicators', message: 'nothing shareable' }] });
}

/** The services the wiring calls; each audits its own reads. */
export interface IntelWiringDeps {
  analysis: Pick<AnalysisService, 'getFinding' | 'getCase'>;
  reporting: Pick<ReportingService, 'getIncident'>;
  registry: Pick<RegistryService, 'profileOf'>;
  sharing: Pick<SharingService, 'draftFromIndicators'>;
}

/** Drafts intelligence from our own work; the draft waits for an NCO director's release. @see issue 9 item 2 */
export function createIntelDrafter(deps: IntelWiringDeps) {
  const { analysis, reporting, registry, sharing } = deps;

  async function fromReport(ctx: RequestContext, report: IncidentReport): Promise<{ indicators: DraftIndicator[]; consentedOrgId?: string; operatorName?: string }> {
    const profile = await registry.profileOf(ctx, report.orgId);
    const indicators = reportIndicators(report, profile?.ranges ?? []);
    return report.operatorNamed && profile !== undefined ? { indicators, consentedOrgId: report.orgId, operatorName: profile.name } : { indicators };
  }

  const draft = (ctx: RequestContext, o: DraftOptions, input: Omit<DraftInput, 'tlp'>) =>
    sharing.draftFromIndicators(ctx, { ...input, ...(o.title !== undefined ? { title: o.title } : {}), tlp: o.tlp ?? 'amber', ...(o.redRecipients !== undefined ? { redRecipients: o.redRecipients } : {}), ...(o.labels !== undefined ? { labels: o.labels } : {}), ...(o.confidence !== undefined ? { confidence: o.confidence } : {}), ...(o.validDays !== undefined ? { validDays: o.validDays } : {}) });

  return {
    async fromFinding(ctx: RequestContext, id: string, o: DraftOptions) {
      const f = await analysis.getFinding(ctx, id);
      const indicators = findingIndicators(f);
      if (indicators.length === 0) nothingShareable('finding');
      return draft(ctx, o, { title: `${f.kind} activity from ${indicators[0]!.value}`, description: `Observed by the NCO between ${new Date(f.firstSeen).toISOString()} and ${new Date(f.lastSeen).toISOString()}.`, indicators, sourceRef: { type: 'finding', id } });
    },
    async fromCase(ctx: RequestContext, id: string, o: DraftOptions) {
      const c = await analysis.getCase(ctx, id);
      const all: DraftIndicator[] = [];
      const consented: string[] = [];
      for (const item of c.items) {
        if (item.type === 'finding') all.push(...findingIndicators(await analysis.getFinding(ctx, item.id)));
        else {
          const r = await fromReport(ctx, await reporting.getIncident(ctx, item.id));
          all.push(...r.indicators);
          if (r.consentedOrgId !== undefined) consented.push(r.consentedOrgId);
        }
      }
      const indicators = dedupe(all);
      if (indicators.length === 0) nothingShareable('case');
      return draft(ctx, o, { title: c.title, indicators, sourceRef: { type: 'case', id }, consentedOrgIds: [...new Set(consented)] });
    },
    async fromReport(ctx: RequestContext, id: string, o: DraftOptions) {
      const report = await reporting.getIncident(ctx, id);
      const r = await fromReport(ctx, report);
      if (r.indicators.length === 0) nothingShareable('incident report');
      return draft(ctx, o, {
        title: `${report.category} incident reported by ${r.operatorName ?? 'a designated operator'}`,
        description: `Indicators from an incident report by ${r.operatorName ?? 'a designated operator'}, aware at ${report.awareAt}.`,
        indicators: r.indicators, sourceRef: { type: 'report', id }, consentedOrgIds: r.consentedOrgId !== undefined ? [r.consentedOrgId] : [],
      });
    },
  };
}

/** Routes: POST /api/v1/sharing/drafts/from-{finding,case,report}/:id (analysts and the NCO director draft; release is the existing director-only route). */
export function intelDraftRoutes(deps: IntelWiringDeps): RouteModule {
  const drafter = createIntelDrafter(deps);
  return (app: FastifyInstance) => {
    const tags = ['sharing'];
    const sources = [
      ['finding', 'a finding (its foreign subject; never its pseudonymous hosts)', drafter.fromFinding],
      ['case', 'a case (its findings and reports)', drafter.fromCase],
      ['report', 'an incident report (its indicators; the operator anonymous unless it consented to be named)', drafter.fromReport],
    ] as const;
    for (const [source, what, fn] of sources) {
      app.post<{ Params: { id: string } }>(`/api/v1/sharing/drafts/from-${source}/:id`, { config: { auth: { action: 'intel:draft' } }, schema: { tags, summary: `Draft sanitized STIX intelligence from ${what}.` } }, async (req, reply) => {
        const draft = await fn(ctxOf(req), req.params.id, optionsOf(req.body));
        void reply.code(201);
        return { draft };
      });
    }
  };
}
