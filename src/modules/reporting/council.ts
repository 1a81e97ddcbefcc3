/** @module What reporting passes on: reports for the information-sharing council (sanitized, named only with consent), indicators. */
import type { RequestContext } from '#platform/context/index.js';
import { parseOrThrow } from '#platform/errors/index.js';
import { cidrContains } from '#modules/registry/index.js';
import { afterKey, cutPage, decodeCursor, type Page, type PageQuery } from '#platform/paging/index.js';
import { NamingConsentSchema, ShareDecisionSchema } from './schema.js';
import type { IncidentReport, IncidentSummary, ReportingDeps, ReportRow } from './model.js';
import type { ReportAccess } from './report-access.js';

/** Naming consent, the NCO's sharing decision, the council's sanitized reports, and indicators from reports. */
export function createCouncilSharing(deps: ReportingDeps, access: ReportAccess) {
  const { db, audit, registry } = deps;
  const policy = deps.policy;
  const k = db.kysely;
  const { summaryOf, reportFor, fullReports } = access;

  return {
    /** The operator agrees (or not) to be named when its report is shared with the council. */
    async setNamingConsent(ctx: RequestContext, id: string, input: unknown): Promise<IncidentSummary> {
      policy.require(ctx, 'incident:update');
      const v = parseOrThrow(NamingConsentSchema, input, 'naming consent');
      return db.transaction(async (trx) => {
        const r = await reportFor(ctx, trx, id, 'incident:update');
        await trx.updateTable('incident_reports').set({ operator_named: v.operatorNamed ? 1 : 0 }).where('id', '=', id).execute();
        await audit.record(ctx, { action: 'incident:update', object: { type: 'incident_report', id }, outcome: 'success', details: { operatorNamed: v.operatorNamed } }, trx);
        return summaryOf({ ...r, operator_named: v.operatorNamed ? 1 : 0 }, []);
      });
    },

    /** The NCO flags (or unflags) a report for sharing with the council, sanitized. @see 同法 Art. 45 (information-sharing council) */
    async setSharing(ctx: RequestContext, id: string, input: unknown): Promise<IncidentSummary> {
      policy.require(ctx, 'incident:share');
      const v = parseOrThrow(ShareDecisionSchema, input, 'sharing decision');
      return db.transaction(async (trx) => {
        const r = await reportFor(ctx, trx, id, 'incident:share');
        await trx.updateTable('incident_reports').set({ share_with_council: v.shareWithCouncil ? 1 : 0 }).where('id', '=', id).execute();
        await audit.record(ctx, { action: 'incident:share', object: { type: 'incident_report', id }, outcome: 'success', details: { shareWithCouncil: v.shareWithCouncil } }, trx);
        return summaryOf({ ...r, share_with_council: v.shareWithCouncil ? 1 : 0 }, []);
      });
    },

    /** Reports flagged for the council, sanitized (the operator anonymous unless it agreed, contact details and its own addresses removed), newest first, one page. */
    async listShared(ctx: RequestContext, page: PageQuery): Promise<Page<ReturnType<typeof sanitize>>> {
      policy.require(ctx, 'shared-report:read');
      let q = k.selectFrom('incident_reports').selectAll().where('share_with_council', '=', 1).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit + 1);
      if (page.cursor !== undefined) q = q.where(afterKey(['created_at', 'id'], decodeCursor(page.cursor, ['string', 'string']), 'desc'));
      const cut = cutPage((await q.execute()) as ReportRow[], page.limit, (r) => [r.created_at, r.id]);
      const full = await fullReports(k, cut.rows);
      const profiles = new Map<string, Awaited<ReturnType<typeof registry.profileOf>>>();
      for (const orgId of new Set(cut.rows.map((r) => r.org_id))) profiles.set(orgId, await registry.profileOf(ctx, orgId));
      const items = cut.rows.map((r, i) => {
        const profile = profiles.get(r.org_id);
        const ranges = r.operator_named === 1 ? [] : (profile?.ranges ?? []);
        return sanitize(full[i]!, r.operator_named === 1 ? profile?.name ?? null : null, ranges);
      });
      await audit.record(ctx, { action: 'shared-report:read', object: null, outcome: 'success', details: { count: items.length } });
      return { items, nextCursor: cut.nextCursor };
    },

    /** Indicators from reports (for the analysis module and analysts). */
    async listIndicators(ctx: RequestContext, options: { sourceId?: string } & PageQuery): Promise<Page<{ id: string; kind: string; value: string; sourceType: string; sourceId: string; firstSeen: string; confidence: number }>> {
      policy.require(ctx, 'indicator:read');
      let q = k.selectFrom('indicators').selectAll().orderBy('first_seen', 'desc').orderBy('id', 'desc').limit(options.limit + 1);
      if (options.sourceId !== undefined) q = q.where('source_id', '=', options.sourceId);
      if (options.cursor !== undefined) q = q.where(afterKey(['first_seen', 'id'], decodeCursor(options.cursor, ['string', 'string']), 'desc'));
      const cut = cutPage((await q.execute()) as { id: string; kind: string; value: string; source_type: string; source_id: string; first_seen: string; confidence: number }[], options.limit, (r) => [r.first_seen, r.id]);
      await audit.record(ctx, { action: 'indicator:read', object: null, outcome: 'success', details: { count: cut.rows.length } });
      return { items: cut.rows.map((r) => ({ id: r.id, kind: r.kind, value: r.value, sourceType: r.source_type, sourceId: r.source_id, firstSeen: r.first_seen, confidence: Number(r.confidence) })), nextCursor: cut.nextCursor };
    },
  };
}

/** A report with the operator anonymous (unless named), contact details and the operator's own addresses removed. */
export function sanitize(r: IncidentReport, operatorName: string | null, ownRanges: readonly string[]) {
  const scrub = (s: string) => {
    let out = s.replace(/[\w.+-]+@[\w-]+(\.[\w-]+)+/g, '[email]').replace(/(\+?\d[\d -]{8,}\d)/g, '[phone]');
    for (const m of out.match(/(?:\d{1,3}\.){3}\d{1,3}|[0-9a-f]*:[0-9a-f:]+/gi) ?? []) if (ownRanges.some((c) => cidrContains(c, m))) out = out.split(m).join('[operator address]');
    return out;
  };
  return {
    id: r.id,
    operator: operatorName ?? `a designated operator (${r.sector})`,
    sector: r.sector,
    category: r.category,
    awareAt: r.awareAt,
    version: r.version,
    summary: scrub(r.items.summary),
    technicalDetails: scrub(r.items.technicalDetails),
    response: scrub(r.items.response),
    indicators: r.indicators.filter((i) => !ownRanges.some((c) => cidrContains(c, i.value))),
  };
}
