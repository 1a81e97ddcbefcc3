/** @module Computer notifications: the forms, filing an introduction or a change (with its diff), and reading them. @see 同法 Art. 4 */
import type { RequestContext } from '#platform/context/index.js';
import { AppError, parseOrThrow } from '#platform/errors/index.js';
import { newId } from '#platform/ids/index.js';
import { afterKey, cutPage, decodeCursor, pageOf, pageQuery, type Page, type PageQuery } from '#platform/paging/index.js';
import { diffValues, type FormValues } from './forms.js';
import { filingHash, type Receipt } from './receipts.js';
import { NotificationInputSchema } from './schema.js';
import { filing, withPrefix, type ComputerNotification, type NotificationRow, type ReportingDeps } from './model.js';
import type { ReportAccess } from './report-access.js';

/** Forms and computer notifications. */
export function createNotifications(deps: ReportingDeps, access: ReportAccess) {
  const { db, audit, clock, forms } = deps;
  const policy = deps.policy;
  const k = db.kysely;
  const { now, ownProfile, scoped, deliver, notificationView } = access;

  return {
    /** The notification forms loaded from the forms directory, every version, by name then version: one page. */
    listForms(ctx: RequestContext, page: Partial<PageQuery> = {}) {
      policy.require(ctx, 'form:read');
      return pageOf(forms.list(), pageQuery(page), { shape: ['string', 'number'], direction: 'asc' }, (f) => [f.form, f.version]);
    },

    /** One form definition with its fields and their Japanese and English labels. */
    getForm(ctx: RequestContext, form: string, version: number) {
      policy.require(ctx, 'form:read');
      const def = forms.get(form, version);
      if (def === undefined) throw new AppError('NOT_FOUND', `No form ${form} version ${version}; list them with GET /api/v1/forms.`);
      return def;
    },

    /**
     * Files a computer notification: on introduction (no `computerId`) or on a change of any notified
     * field (with `computerId`; the diff is stored). Delivered to the sector ministry and the NCO; the
     * operator receives a signed receipt with the SHA-256 of the canonical filing.
     * @see 同法 Art. 4 paras. 1–2
     */
    async fileNotification(ctx: RequestContext, input: unknown): Promise<{ notification: ComputerNotification; receipt: Receipt }> {
      policy.require(ctx, 'notification:file');
      const v = parseOrThrow(NotificationInputSchema, input, 'notification');
      const def = forms.get(v.form, v.formVersion);
      if (def === undefined) {
        const versions = forms.list().filter((f) => f.form === v.form).map((f) => f.version);
        const path = versions.length === 0 ? 'form' : 'formVersion';
        throw new AppError('VALIDATION_FAILED', versions.length === 0 ? `form: there is no form "${v.form}"; list forms with GET /api/v1/forms.` : `formVersion: form ${v.form} has no version ${v.formVersion}; versions: ${versions.join(', ')}.`, { details: [{ path, message: 'no such form version' }] });
      }
      const fields = withPrefix('fields', () => parseOrThrow(forms.validator(v.form, v.formVersion)!, v.fields, 'fields'));
      const p = await ownProfile(ctx);
      const filedAt = now();
      const id = newId<'notification'>(clock.nowMs());
      policy.require(ctx, 'notification:file', filing(p.orgId, p.sector, id));
      return db.transaction(async (trx) => {
        let computerId: string = newId(clock.nowMs());
        let previous: NotificationRow | undefined;
        let diff: ReturnType<typeof diffValues> | null = null;
        if (v.computerId !== undefined) {
          // Changes of one computer take turns (see fileFollowUp): on PostgreSQL lock its filings, then read
          // them again in a new statement, which sees what a change committed meanwhile.
          if (db.dialect === 'postgres') await trx.selectFrom('computer_notifications').select('id').where('computer_id', '=', v.computerId).where('org_id', '=', p.orgId).forUpdate().execute();
          // The latest filing is the one no other filing names as its previous (times may tie within a millisecond).
          const chain = (await trx.selectFrom('computer_notifications').selectAll().where('computer_id', '=', v.computerId).where('org_id', '=', p.orgId).execute()) as NotificationRow[];
          const superseded = new Set(chain.map((c) => c.previous_id));
          previous = chain.find((c) => !superseded.has(c.id));
          if (previous === undefined) throw new AppError('VALIDATION_FAILED', 'computerId: your organization has notified no computer with this id; omit it to notify a new computer.', { details: [{ path: 'computerId', message: 'unknown computer' }] });
          diff = diffValues(JSON.parse(previous.fields) as FormValues, fields);
          if (diff.length === 0) throw new AppError('CONFLICT', 'fields: no notified field changed, so there is nothing to notify.');
          computerId = v.computerId;
        }
        const kind = previous === undefined ? 'introduction' : 'change';
        const body = { type: 'computer-notification', id, orgId: p.orgId, sector: p.sector, computerId, kind, form: v.form, formVersion: v.formVersion, fields, diff, filedAt };
        const sha = filingHash(body);
        const row: NotificationRow = { id, org_id: p.orgId, sector: p.sector, computer_id: computerId, kind, form: v.form, form_version: v.formVersion, fields: JSON.stringify(fields), diff: diff === null ? null : JSON.stringify(diff), previous_id: previous?.id ?? null, filed_by: ctx.actor.userId ?? ctx.actor.id, filed_at: filedAt, sha256: sha };
        await trx.insertInto('computer_notifications').values(row).execute();
        const receipt = await deliver(trx, { type: 'notification', id, reportId: null, orgId: p.orgId, sector: p.sector, sha256: sha, filedAt });
        await audit.record(ctx, { action: 'notification:file', object: { type: 'notification', id }, outcome: 'success', details: { kind, form: v.form, formVersion: v.formVersion, sha256: sha, changedFields: diff?.length ?? null } }, trx);
        const [view] = await notificationView(trx, [row]);
        return { notification: view!, receipt };
      });
    },

    /** Notifications the caller may see (its own org's, its sectors', or all for the NCO), newest first, one page. */
    async listNotifications(ctx: RequestContext, page: PageQuery): Promise<Page<ComputerNotification>> {
      policy.require(ctx, 'notification:read');
      let q = k.selectFrom('computer_notifications').selectAll().orderBy('filed_at', 'desc').orderBy('id', 'desc').limit(page.limit + 1);
      if (page.cursor !== undefined) q = q.where(afterKey(['filed_at', 'id'], decodeCursor(page.cursor, ['string', 'string']), 'desc'));
      const s = scoped(q, ctx);
      const rows = s === undefined ? [] : ((await s.execute()) as NotificationRow[]);
      const cut = cutPage(rows, page.limit, (r) => [r.filed_at, r.id], (r) => policy.authorize(ctx, 'notification:read', filing(r.org_id, r.sector, r.id)).allowed);
      await audit.record(ctx, { action: 'notification:read', object: null, outcome: 'success', details: { count: cut.rows.length } });
      return { items: await notificationView(k, cut.rows), nextCursor: cut.nextCursor };
    },

    /** One notification, if the caller may see it. */
    async getNotification(ctx: RequestContext, id: string): Promise<ComputerNotification> {
      policy.require(ctx, 'notification:read');
      const r = (await k.selectFrom('computer_notifications').selectAll().where('id', '=', id).executeTakeFirst()) as NotificationRow | undefined;
      if (r === undefined || !policy.authorize(ctx, 'notification:read', filing(r.org_id, r.sector, r.id)).allowed) throw new AppError('NOT_FOUND', `No notification ${id} that you may see.`);
      await audit.record(ctx, { action: 'notification:read', object: { type: 'notification', id }, outcome: 'success', details: { sha256: r.sha256 } });
      return (await notificationView(k, [r]))[0]!;
    },
  };
}
