/** @module Inspection and the Diet report: holdings, deletions and reads for the commission, and the report made, published and read. */
import { isoUtc } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import { AppError } from '#platform/errors/index.js';
import { keysetPage, pageQuery, type Page, type PageQuery } from '#platform/paging/index.js';
import type { OversightPorts } from './ports.js';
import { buildDietReport, isReadAction, type DietReport } from './diet-report.js';
import { userOf, type OversightDeps } from './records.js';
import type { Enforcement } from './enforcement.js';

/** A Diet report as the public sees it once the commission published it. */
export type PublishedDietReport = Omit<DietReport, 'reconciliation'> & { publishedAt: string; reconciliation?: DietReport['reconciliation'] };
/** One line of the public list of published Diet reports. */
export type PublishedDietReportSummary = Pick<PublishedDietReport, 'id' | 'title' | 'window' | 'publishedAt' | 'checkpoint' | 'figuresSha256'>;

/** The public form of a report: its fields named one by one, so nothing added to the report later is published unseen (its checkpoint note lets readers check the signature). */
function publicReport(r: DietReport, publishedAt: string): PublishedDietReport {
  return {
    id: r.id, title: r.title, window: r.window, generatedAt: r.generatedAt, publishedAt,
    checkpoint: { size: r.checkpoint.size, root: r.checkpoint.root, createdAt: r.checkpoint.createdAt, note: r.checkpoint.note },
    verified: r.verified, figures: r.figures, figuresSha256: r.figuresSha256, method: r.method, sources: r.sources,
    // Reports published before the reconciliation existed have none.
    ...(r.reconciliation !== undefined ? { reconciliation: r.reconciliation } : {}),
  };
}

/** The commission's inspection reads and the Diet report; every read and report is itself audited. */
export function createInspection(deps: OversightDeps, enforcement: Enforcement) {
  const { db, policy, audit } = deps;
  const k = db.kysely;
  const { ports, now, record, connected } = enforcement;

  const inspection = {
    /** Inspection: holdings by basis and discard counters from selection, with the approvals behind them; the read is audited. */
    async inspectInventory(ctx: RequestContext): Promise<{ connected: boolean; holdings: Awaited<ReturnType<NonNullable<OversightPorts['inventory']>['inventoryByBasis']>>; discards: Awaited<ReturnType<NonNullable<OversightPorts['inventory']>['discardCounters']>>; hooks: Record<keyof OversightPorts, boolean> }> {
      policy.require(ctx, 'inspection:read');
      const inv = ports.inventory;
      const holdings = inv === undefined ? [] : await inv.inventoryByBasis(ctx);
      const discards = inv === undefined ? [] : await inv.discardCounters(ctx);
      await audit.record(ctx, { action: 'inspection:read', object: { type: 'inventory', id: 'flows' }, outcome: 'success', details: { bases: holdings.length, connected: inv !== undefined } });
      return { connected: inv !== undefined, holdings, discards, hooks: connected() };
    },

    /**
     * Inspection: the deletion certificates of every purge and retention run (`lifecycle:certificate`: what
     * went, how many, hashes of the content), newest first; the read is audited.
     * @see DESIGN.md invariant 4
     */
    async inspectDeletions(ctx: RequestContext): Promise<{ certificates: { index: number; time: string; basisId: string | null; details: Record<string, unknown> }[] }> {
      policy.require(ctx, 'inspection:read');
      const { size } = await deps.log.head();
      const entries = await deps.log.entries({ from: 0, to: size, actions: ['lifecycle:certificate'] });
      const certificates = entries.reverse().slice(0, 1000).map((e) => ({ index: e.index, time: e.time, basisId: e.legalBasis, details: e.details }));
      await audit.record(ctx, { action: 'inspection:read', object: { type: 'AuditLog', id: 'deletions' }, outcome: 'success', details: { what: 'deletions', count: certificates.length } });
      return { certificates };
    },

    /** Inspection: who read what — audit entries of read actions with index in [from, to); the read is audited. */
    async inspectReads(ctx: RequestContext, asked: { from: number; to: number } | { latest: number }): Promise<{ from: number; to: number; size: number; reads: { index: number; time: string; actor: string; userId: string; roles: string[]; action: string; object: { type: string; id: string } | null; legalBasis: string | null; outcome: string }[] }> {
      policy.require(ctx, 'inspection:read');
      const { size } = await deps.log.head();
      const range = 'latest' in asked ? { from: Math.max(0, size - asked.latest), to: size } : asked;
      const end = Math.min(range.to, size);
      const entries = range.from >= end ? [] : await deps.log.entries({ from: range.from, to: end });
      const reads = entries.filter((e) => isReadAction(e.action)).map((e) => ({ index: e.index, time: e.time, actor: e.actor.username, userId: e.actor.userId ?? e.actor.id, roles: e.actor.roles, action: e.action, object: e.object, legalBasis: e.legalBasis, outcome: e.outcome }));
      await audit.record(ctx, { action: 'inspection:read', object: { type: 'AuditLog', id: `${range.from}-${end}` }, outcome: 'success', details: { what: 'reads', from: range.from, to: end, count: reads.length } });
      return { from: range.from, to: end, size, reads };
    },

    /**
     * The report to the Diet for [from, to): signs a checkpoint, checks that the entries read hash to
     * its root, and computes every figure from those entries alone. The report is itself audited.
     * @see DPA (the commission's report to the Diet)
     */
    async dietReport(ctx: RequestContext, window: { from: string; to: string }): Promise<DietReport> {
      policy.require(ctx, 'diet-report:create');
      const from = Date.parse(window.from);
      const to = Date.parse(window.to);
      if (!Number.isFinite(from) || !Number.isFinite(to)) throw new AppError('VALIDATION_FAILED', 'from and to: give ISO 8601 dates or times (e.g. 2026-04-01 or 2026-04-01T00:00:00Z).', { details: [{ path: 'from', message: 'not a date' }] });
      if (to <= from) throw new AppError('VALIDATION_FAILED', 'to: must be after from.', { details: [{ path: 'to', message: 'not after from' }] });
      const cp = await deps.checkpoints.checkpointNow();
      if (cp === undefined) throw new AppError('NOT_FOUND', 'The audit log has no entries yet: there is nothing to report.');
      if (!deps.checkpoints.verify(cp.note, cp.size, cp.root)) throw new AppError('AUDIT_VERIFY_FAILED', `The checkpoint of size ${cp.size} does not carry a valid log signature; run \`mamori audit verify\`. No report was made.`);
      const report = await buildDietReport({
        window: { from: isoUtc(from), to: isoUtc(to) },
        checkpoint: cp,
        generatedAt: now(),
        readEntries: (a, b) => deps.log.entries({ from: a, to: b }),
        connected: connected(),
      });
      await audit.record(ctx, { action: 'diet-report:create', object: { type: 'diet_report', id: report.id }, outcome: 'success', details: { from: report.window.from, to: report.window.to, checkpointSize: cp.size, figuresSha256: report.figuresSha256 } });
      return report;
    },

    /**
     * Publishes the report for a period: computes it as `dietReport` does (at a freshly signed
     * checkpoint) and keeps it for the public transparency page. Who published it is recorded in
     * the audit log, not shown to the public. @see DPA (the commission's report to the Diet)
     */
    async publishDietReport(ctx: RequestContext, window: { from: string; to: string }): Promise<PublishedDietReport> {
      policy.require(ctx, 'diet-report:publish');
      const report = await inspection.dietReport(ctx, window);
      const publishedAt = now();
      await db.transaction(async (trx) => {
        await trx.insertInto('oversight_published_reports').values({ id: report.id, window_from: report.window.from, window_to: report.window.to, report: JSON.stringify(report), published_by: userOf(ctx), published_at: publishedAt }).execute();
        await record(ctx, trx, { action: 'diet-report:publish', object: { type: 'diet_report', id: report.id }, outcome: 'success', details: { from: report.window.from, to: report.window.to, checkpointSize: report.checkpoint.size, figuresSha256: report.figuresSha256 } });
      });
      return publicReport(report, publishedAt);
    },

    /** The published Diet reports, newest first (public: figures, window and checkpoint only). */
    async listPublishedReports(page: Partial<PageQuery> = {}): Promise<Page<PublishedDietReportSummary>> {
      type Row = { id: string; report: string; published_at: string };
      const { rows, nextCursor } = await keysetPage(pageQuery(page), { columns: ['published_at', 'id'], shape: ['string', 'string'], direction: 'desc' }, (r: Row) => [r.published_at, r.id], async (after, take) => {
        let q = k.selectFrom('oversight_published_reports').select(['id', 'report', 'published_at']).orderBy('published_at', 'desc').orderBy('id', 'desc').limit(take);
        if (after !== undefined) q = q.where(after);
        return (await q.execute()) as Row[];
      });
      const items = rows.map((r) => {
        const p = publicReport(JSON.parse(r.report) as DietReport, r.published_at);
        return { id: p.id, title: p.title, window: p.window, publishedAt: p.publishedAt, checkpoint: p.checkpoint, figuresSha256: p.figuresSha256 };
      });
      return { items, nextCursor };
    },

    /** One published Diet report (public). */
    async getPublishedReport(id: string): Promise<PublishedDietReport> {
      const r = (await k.selectFrom('oversight_published_reports').select(['report', 'published_at']).where('id', '=', id).executeTakeFirst()) as { report: string; published_at: string } | undefined;
      if (r === undefined) throw new AppError('NOT_FOUND', `No published Diet report with id ${id}; list them with GET /api/v1/oversight/published-reports.`);
      return publicReport(JSON.parse(r.report) as DietReport, r.published_at);
    },
  };
  return inspection;
}
