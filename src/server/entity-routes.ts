/**
 * @module The entity pivot: from one address, prefix, pseudonym, domain or other indicator to the findings, cases,
 * measures, intelligence and sightings about it, each part read through its own service (so its own policy and
 * audit apply); a part the caller may not read is named as withheld rather than failing the page.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AppError } from '#platform/errors/index.js';
import type { RequestContext } from '#platform/context/index.js';
import { ctxOf, type RouteModule } from '#platform/http/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import type { AnalysisService, Finding } from '#modules/analysis/index.js';
import type { ResponseService } from '#modules/response/index.js';
import type { SharingService } from '#modules/sharing/index.js';
import { parsePrefix } from '#modules/selection/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';

/** The kinds of entity a page can be about. */
export const ENTITY_KINDS = ['address', 'prefix', 'pseudonym', 'domain', 'indicator'] as const;
/** One kind. */
export type EntityKind = (typeof ENTITY_KINDS)[number];
/** An entity, its value normalized. */
export interface Entity { kind: EntityKind; value: string }

type Range = { family: 4 | 6; start: bigint; end: bigint };
const DOMAIN = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/;

function rangeOf(text: string): Range | undefined {
  const p = parsePrefix(text);
  return p === undefined ? undefined : { family: p.family, start: BigInt(p.start), end: BigInt(p.end) };
}

/** Checks and normalizes an entity from the URL; a clear error names what to write instead. */
export function parseEntity(kind: string, raw: string): Entity {
  const value = raw.trim();
  if (!(ENTITY_KINDS as readonly string[]).includes(kind)) throw new AppError('VALIDATION_FAILED', `The kind must be one of ${ENTITY_KINDS.join(', ')}.`);
  if (value === '' || value.length > 500) throw new AppError('VALIDATION_FAILED', 'Give a value of 1 to 500 characters.');
  switch (kind as EntityKind) {
    case 'address':
      if (value.includes('/') || rangeOf(value) === undefined) throw new AppError('VALIDATION_FAILED', 'An address is written a.b.c.d or x:y::z, without a prefix length.');
      return { kind: 'address', value: value.toLowerCase() };
    case 'prefix':
      if (!value.includes('/') || rangeOf(value) === undefined) throw new AppError('VALIDATION_FAILED', 'A prefix is written a.b.c.d/len or x:y::/len.');
      return { kind: 'prefix', value: value.toLowerCase() };
    case 'pseudonym':
      if (!/^[0-9a-f]{8,64}$/i.test(value)) throw new AppError('VALIDATION_FAILED', 'A pseudonym is the hexadecimal text a finding shows.');
      return { kind: 'pseudonym', value: value.toLowerCase() };
    case 'domain': {
      const d = value.toLowerCase().replace(/\.$/, '');
      if (!DOMAIN.test(d)) throw new AppError('VALIDATION_FAILED', 'A domain is written like c2.example (letters, digits, hyphens and dots).');
      return { kind: 'domain', value: d };
    }
    case 'indicator':
      return { kind: 'indicator', value };
  }
}

const inside = (inner: Range, outer: Range) => inner.family === outer.family && inner.start >= outer.start && inner.end <= outer.end;

/** Whether a finding is about the entity: its subject, one of its hosts, or (for a domain or indicator) a value in its evidence. */
export function findingMatches(e: Entity, f: Pick<Finding, 'subject' | 'hosts' | 'evidence'>): boolean {
  const subject = f.subject.value.toLowerCase();
  switch (e.kind) {
    case 'address':
    case 'prefix': {
      const r = rangeOf(e.value);
      const s = f.subject.kind === 'pseudonym' ? undefined : rangeOf(subject);
      if (r === undefined || s === undefined) return false;
      // A finding about an address matches its prefixes; one about a prefix matches the addresses in it.
      return e.kind === 'prefix' ? inside(s, r) : inside(r, s);
    }
    case 'pseudonym':
      return subject === e.value || (f.hosts ?? []).includes(e.value);
    case 'domain':
    case 'indicator':
      return subject === e.value.toLowerCase() || JSON.stringify(f.evidence ?? {}).toLowerCase().includes(`"${e.value.toLowerCase()}"`);
  }
}

/** Whether a measure's target names the entity (an address in one of its prefixes, a domain or one of its subdomains). */
export function targetMatches(e: Entity, target: Record<string, unknown>): boolean {
  const strings = (k: string): string[] => {
    const v = target[k];
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];
  };
  const addrs = [...strings('prefixes'), ...strings('addresses'), ...strings('address')];
  const domains = strings('domains').map((d) => d.toLowerCase());
  if (e.kind === 'address' || e.kind === 'prefix') {
    const r = rangeOf(e.value);
    return r !== undefined && addrs.some((a) => { const t = rangeOf(a); return t !== undefined && (inside(r, t) || inside(t, r)); });
  }
  if (e.kind === 'domain') return domains.some((d) => e.value === d || e.value.endsWith(`.${d}`));
  if (e.kind === 'indicator') return [...addrs, ...domains, ...strings('urls')].includes(e.value);
  return false;
}

/** A part of the page the caller's role may not read: said so, not an error. */
async function part<T>(read: () => Promise<T>): Promise<{ status: 'ok'; data: T } | { status: 'withheld' }> {
  try {
    return { status: 'ok', data: await read() };
  } catch (e) {
    if (e instanceof AppError && e.code === 'FORBIDDEN') return { status: 'withheld' };
    throw e;
  }
}

/** Everything the caller may see about one entity. @see docs/dashboard.md "Entity pages" */
export async function readEntity(ctx: RequestContext, deps: { analysis: AnalysisService; response: ResponseService; sharing: SharingService; audit: AuditRecorder; policy: PolicyEngine }, e: Entity) {
  deps.policy.require(ctx, 'entity:read');
  // The value itself is kept out of the log (an address or pseudonym is what the reader looked for); its hash identifies it.
  const ref = createHash('sha256').update(`${e.kind}:${e.value}`).digest('hex').slice(0, 32);
  await deps.audit.record(ctx, { action: 'entity:read', object: { type: `entity:${e.kind}`, id: ref }, outcome: 'success' });
  const findings = await part(async () => (await deps.analysis.listFindings(ctx, { limit: 500 })).items.filter((f) => findingMatches(e, f)));
  const ids = findings.status === 'ok' ? findings.data.map((f) => f.id) : [];
  const cases = await part(() => deps.analysis.casesHolding(ctx, ids));
  const measures = await part(async () => (await deps.response.listMeasures(ctx, { limit: 500 })).items.filter((m) => targetMatches(e, m.target as Record<string, unknown>) || m.justification.findings.some((id) => ids.includes(id)))
    .map((m) => ({ id: m.id, title: m.title, kind: m.kind, state: m.state, agency: m.agency, proposedAt: m.proposedAt })));
  const values = e.kind === 'prefix' || e.kind === 'pseudonym' ? [e.value] : [e.value, e.value.toLowerCase()];
  const intel = await part(() => deps.sharing.intelAbout(ctx, [...new Set(values)]));
  return {
    entity: e,
    findings: findings.status === 'ok' ? { status: 'ok' as const, items: findings.data.map(({ hosts: _h, evidence: _e, scoreDetail: _s, ...f }) => f) } : findings,
    cases: cases.status === 'ok' ? { status: 'ok' as const, items: cases.data } : cases,
    measures: measures.status === 'ok' ? { status: 'ok' as const, items: measures.data } : measures,
    intel: intel.status === 'ok' ? { status: 'ok' as const, ...intel.data } : intel,
  };
}

/** Registers `GET /api/v1/entities/:kind/:value`. */
export function entityRoutes(deps: Parameters<typeof readEntity>[1]): RouteModule {
  return (app: FastifyInstance) => {
    app.get<{ Params: { kind: string; value: string } }>('/api/v1/entities/:kind/:value', {
      config: { auth: { action: 'entity:read' } },
      schema: { tags: ['analysis'], summary: 'Everything you may see about an address, prefix (value URL-encoded, e.g. 203.0.113.0%2F24), pseudonym, domain or indicator: findings, cases, measures, intelligence and sightings. Audited.' },
    }, async (req) => readEntity(ctxOf(req), deps, parseEntity(req.params.kind, req.params.value)));
  };
}
