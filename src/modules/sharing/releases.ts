/** @module Intelligence from our own work: sanitized drafts and their release by another NCO director into groups and the indicator store. */
import { isoUtc } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import { AppError, parseOrThrow } from '#platform/errors/index.js';
import { newId } from '#platform/ids/index.js';
import { keysetPage, pageQuery, type Page, type PageQuery } from '#platform/paging/index.js';
import type { SharingAudience } from './audience.js';
import type { SharingDeps } from './deps.js';
import { buildDraftObjects, ncoIdentity, type Removal } from './drafts.js';
import type { JsonObject } from './fingerprint.js';
import type { IntelStore } from './intel-store.js';
import { DraftInputSchema, ReleaseInputSchema, type Draft, type DraftInput, type ReleaseInput } from './schema.js';
import type { StixObject } from './stix/index.js';

/** Drafting and releasing; a release stores into each group's collection and the indicator store in one transaction. */
export function createReleases(deps: SharingDeps, audience: SharingAudience, store: IntelStore) {
  const { db, policy, audit, clock } = deps;
  const k = db.kysely;
  const { directory, recipientOf, groupView } = audience;
  const { storeInCollection, indicatorsFrom } = store;

  return {
    /**
     * Drafts STIX intelligence from indicator values found by our own work (a finding, case or report):
     * sanitized at once; the draft waits for an NCO director's release.
     * @see issue 9 "Intel from our own work"
     */
    async draftFromIndicators(ctx: RequestContext, input: DraftInput): Promise<Draft> {
      policy.require(ctx, 'intel:draft');
      const v = parseOrThrow(DraftInputSchema, input, 'draft');
      const d = await directory({ userIds: v.redRecipients.filter((x) => /^[0-9a-f-]{36}$/.test(x)) });
      const red = v.redRecipients.map((ref) => [...d.users.values()].find((u) => u.id === ref || u.username === ref)?.id);
      if (red.some((x) => x === undefined)) throw new AppError('VALIDATION_FAILED', 'redRecipients: name existing users by id or username.', { details: [{ path: 'redRecipients', message: 'unknown user' }] });
      if (v.tlp === 'red' && red.length === 0) throw new AppError('VALIDATION_FAILED', 'redRecipients: TLP:RED intelligence goes to named people only; name at least one.', { details: [{ path: 'redRecipients', message: 'required for TLP:RED' }] });
      const operatorNames = [...d.orgs.values()].filter((o) => o.kind === 'operator' && !v.consentedOrgIds.includes(o.id)).flatMap((o) => [o.name]);
      const now = new Date(clock.nowMs());
      const built = buildDraftObjects({ title: v.title, description: v.description, indicators: v.indicators, tlp: v.tlp, labels: v.labels, confidence: v.confidence, validDays: v.validDays }, { operatorNames, sectorNames: deps.sectorNames }, now);
      if (built.objects.length === 0) throw new AppError('VALIDATION_FAILED', 'indicators: nothing shareable is left after sanitization (pseudonyms are never shared).', { details: [{ path: 'indicators', message: 'nothing shareable' }] });
      const removed: Removal[] = [...built.removed, ...(v.tlp !== 'red' && red.length > 0 ? [{ path: 'redRecipients', reason: 'TLP_FORBIDS' as const }] : [])];
      const id = newId(clock.nowMs());
      const r = await recipientOf(ctx);
      const row = {
        id, title: v.title.slice(0, 300), tlp: v.tlp, status: 'draft', source_type: v.sourceRef.type, source_id: v.sourceRef.id,
        objects: JSON.stringify(built.objects), removed: JSON.stringify(removed), red_recipients: JSON.stringify(v.tlp === 'red' ? red : []),
        created_by_user: r.userId, created_at: isoUtc(clock.nowMs()), released_by_user: null, released_at: null, released_to: null,
      };
      await db.transaction(async (trx) => {
        await trx.insertInto('sharing_drafts').values(row).execute();
        await audit.record(ctx, { action: 'intel:draft', object: { type: 'intel_draft', id }, outcome: 'success', details: { source: `${v.sourceRef.type}:${v.sourceRef.id}`, objects: built.objects.length, removed: removed.length, tlp: v.tlp } }, trx);
      });
      return toDraft(row);
    },

    /** Lists drafts (newest first). */
    async listDrafts(ctx: RequestContext, page: Partial<PageQuery> = {}): Promise<Page<Draft>> {
      policy.require(ctx, 'intel:draft-read');
      const { rows, nextCursor } = await keysetPage(pageQuery(page), { columns: ['created_at', 'id'], shape: ['string', 'string'], direction: 'desc' }, (r: DraftRow) => [r.created_at, r.id], async (after, take) => {
        let q = k.selectFrom('sharing_drafts').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(take);
        if (after !== undefined) q = q.where(after);
        return (await q.execute()) as DraftRow[];
      });
      await audit.record(ctx, { action: 'intel:draft-read', object: null, outcome: 'success', details: { count: rows.length } });
      return { items: rows.map(toDraft), nextCursor };
    },

    /**
     * Releases a draft to sharing groups: an NCO director who did not write it; the objects enter each
     * group's collection and the indicator store.
     * @see DESIGN.md "No one approves their own request"; issue 9
     */
    async releaseDraft(ctx: RequestContext, draftId: string, input: ReleaseInput): Promise<Draft> {
      policy.require(ctx, 'intel:release');
      const v = parseOrThrow(ReleaseInputSchema, input, 'release');
      const r = await recipientOf(ctx);
      const row = (await k.selectFrom('sharing_drafts').selectAll().where('id', '=', draftId).executeTakeFirst()) as DraftRow | undefined;
      if (row === undefined) throw new AppError('NOT_FOUND', `No draft ${draftId}.`);
      if (row.status !== 'draft') throw new AppError('CONFLICT', 'This draft is already released.');
      if (row.created_by_user === r.userId) throw new AppError('FORBIDDEN', 'No one releases their own draft; ask another NCO director.');
      for (const g of v.groupIds) if ((await groupView(g)) === undefined) throw new AppError('VALIDATION_FAILED', `groupIds: no sharing group ${g}.`, { details: [{ path: 'groupIds', message: 'unknown group' }] });
      const objects = JSON.parse(row.objects) as StixObject[];
      const red = JSON.parse(row.red_recipients) as string[];
      const at = isoUtc(clock.nowMs());
      await db.transaction(async (trx) => {
        // Claim the draft first: of two releases at once only one finds it still a draft (on PostgreSQL the
        // other waits on the row, then finds it released); the check above only spares the work.
        const claimed = await trx.updateTable('sharing_drafts').set({ status: 'released', released_by_user: r.userId, released_at: at, released_to: JSON.stringify(v.groupIds) }).where('id', '=', draftId).where('status', '=', 'draft').executeTakeFirst();
        if (Number(claimed.numUpdatedRows) !== 1) throw new AppError('CONFLICT', 'This draft is already released.');
        // Groups in id order, so two releases naming the same groups lock their rows in the same order (PostgreSQL).
        for (const g of [...new Set(v.groupIds)].sort()) {
          await storeInCollection(trx, g, ncoIdentity(), { origin: 'mamori', originOrgId: r.orgId, sourceType: 'nco', sourceId: null, redRecipients: [], tlp: 'clear' });
          for (const o of objects) await storeInCollection(trx, g, o, { origin: 'mamori', originOrgId: r.orgId, sourceType: row.source_type, sourceId: row.source_id, redRecipients: red });
        }
        for (const o of objects) await indicatorsFrom(trx, o as unknown as JsonObject, 'intel', draftId, 70);
        await audit.record(ctx, { action: 'intel:release', object: { type: 'intel_draft', id: draftId }, outcome: 'success', details: { groups: v.groupIds.join(','), objects: objects.length, tlp: row.tlp } }, trx);
      });
      return toDraft({ ...row, status: 'released', released_by_user: r.userId, released_at: at, released_to: JSON.stringify(v.groupIds) });
    },
  };
}

interface DraftRow {
  id: string; title: string; tlp: string; status: string; source_type: string; source_id: string; objects: string; removed: string; red_recipients: string;
  created_by_user: string; created_at: string; released_by_user: string | null; released_at: string | null; released_to: string | null;
}

function toDraft(r: DraftRow): Draft {
  return {
    id: r.id, title: r.title, tlp: r.tlp, status: r.status as Draft['status'], sourceRef: { type: r.source_type, id: r.source_id },
    objects: JSON.parse(r.objects) as Record<string, unknown>[], removed: JSON.parse(r.removed) as Draft['removed'], redRecipients: JSON.parse(r.red_recipients) as string[],
    createdBy: r.created_by_user, createdAt: r.created_at, releasedBy: r.released_by_user, releasedAt: r.released_at, releasedTo: r.released_to === null ? [] : (JSON.parse(r.released_to) as string[]),
  };
}
