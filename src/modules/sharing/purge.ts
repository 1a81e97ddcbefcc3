/** @module Purging intelligence drawn from purged findings: unreleased drafts are deleted; released intel is withdrawn from the collections and recalled from each recipient, tracked until acknowledged. */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '#platform/clock/index.js';
import { isoUtc } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import type { AnyDb, Database, NamedMigration } from '#platform/db/index.js';
import { AppError } from '#platform/errors/index.js';
import { newId } from '#platform/ids/index.js';
import { afterKey, cutPage, decodeCursor, DEFAULT_PAGE_LIMIT, type Page } from '#platform/paging/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';

/** The recall ledger: one row per released draft and recipient organization. */
export const recallMigrations: NamedMigration[] = [{
  name: '0503_sharing_recalls',
  async up(db) {
    await db.schema.createTable('sharing_recalls')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('draft_id', 'text', (c) => c.notNull())
      .addColumn('stix_ids', 'text', (c) => c.notNull())
      .addColumn('recipient_org_id', 'text', (c) => c.notNull())
      .addColumn('basis_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('acknowledged_at', 'text')
      .addColumn('acknowledged_by', 'text')
      .execute();
    await db.schema.createIndex('sharing_recalls_org').on('sharing_recalls').column('recipient_org_id').execute();
  },
}];

/** A recall notice: released objects the recipient must delete, because the data they came from was purged. */
export const RecallSchema = z.object({
  id: z.string(), draftId: z.string(), stixIds: z.array(z.string()), recipientOrgId: z.string(), basisId: z.string(),
  createdAt: z.string(), acknowledgedAt: z.string().nullable(), acknowledgedBy: z.string().nullable(),
});
/** A recall notice. */
export type Recall = z.infer<typeof RecallSchema>;

/** The legal basis a recall names, as the dashboard names bases (kind, title, validity). */
export interface RecallBasis { id: string; kind: string; title: string; validFrom: string; validUntil: string }

/** A recall notice as listed: with names instead of ids, and how many objects of each STIX type it recalls. */
export type NamedRecall = Recall & {
  recipientName: string | null;
  /** True when the caller's organization is the recipient (it may acknowledge). */
  ownOrg: boolean;
  basis: RecallBasis | null;
  acknowledgedByName: string | null;
  objectTypes: Record<string, number>;
};

/** What a purge did to intelligence: references and hashes only. */
export interface IntelPurge {
  draftsDeleted: string[];
  /** Released drafts withdrawn from their collections and recalled. */
  draftsRecalled: string[];
  objectsWithdrawn: number;
  recalls: number;
  contentHash: string;
}

type Row = Record<string, unknown>;
/** Roles that track every recall notice (the NCO that released, the commission that inspects). */
const OVERSEERS: readonly string[] = ['analyst', 'nco_director', 'commissioner'];
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/**
 * Creates the intel purger. Decision (docs/oversight.md "Lifecycle"): released intelligence cannot be
 * unsent, so each recipient organization gets a recall notice naming the STIX ids to delete, tracked until
 * it acknowledges; our copies (objects, collection entries, indicators, the draft) are deleted at once.
 * @see DESIGN.md invariant 4; TLP 2.0 (recipients are bound by the marking and by the council's secrecy)
 */
export function createIntelPurger(deps: {
  db: Database; policy: PolicyEngine; audit: AuditRecorder; clock: Clock; forgetCaches: () => void;
  /** Names for the recall list (organizations, people, bases); without them the list carries ids only. */
  names?: { orgs(ids: string[]): Promise<Map<string, string>>; people(ids: string[]): Promise<Map<string, string>>; basis(id: string): Promise<RecallBasis | null> } | undefined;
}) {
  const { db, policy, audit, clock } = deps;
  const k = db.kysely;

  async function recipientsOf(trx: AnyDb, groups: readonly string[], stixIds: readonly string[]): Promise<Set<string>> {
    const orgs = new Set<string>();
    if (groups.length > 0) for (const r of (await trx.selectFrom('sharing_group_members').select('org_id').where('group_id', 'in', [...groups]).execute()) as Row[]) orgs.add(String(r['org_id']));
    // Whoever actually received a version (the dissemination ledger), even if no longer a member.
    const ledger = (await trx.selectFrom('sharing_disseminations').select(['recipient_org_id', 'objects']).execute()) as Row[];
    for (const d of ledger) {
      if (d['recipient_org_id'] === null) continue;
      const text = String(d['objects']);
      if (stixIds.some((id) => text.includes(`${id}|`))) orgs.add(String(d['recipient_org_id']));
    }
    return orgs;
  }

  return {
    /** Deletes unreleased drafts drawn from the findings or cases, and withdraws and recalls released ones. */
    async purgeDerived(ctx: RequestContext, basisId: string, sources: { findingIds: readonly string[]; caseIds: readonly string[] }): Promise<IntelPurge> {
      policy.require(ctx, 'flows:purge');
      const out: IntelPurge = { draftsDeleted: [], draftsRecalled: [], objectsWithdrawn: 0, recalls: 0, contentHash: sha256('') };
      if (sources.findingIds.length + sources.caseIds.length === 0) return out;
      const hashes: string[] = [];
      await db.transaction(async (trx) => {
        const drafts = (await trx.selectFrom('sharing_drafts').selectAll()
          .where((eb) => eb.or([
            eb.and([eb('source_type', '=', 'finding'), eb('source_id', 'in', sources.findingIds.length > 0 ? [...sources.findingIds] : [''])]),
            eb.and([eb('source_type', '=', 'case'), eb('source_id', 'in', sources.caseIds.length > 0 ? [...sources.caseIds] : [''])]),
          ])).execute()) as Row[];
        const at = isoUtc(clock.nowMs());
        for (const d of drafts) {
          const id = String(d['id']);
          hashes.push(sha256(JSON.stringify(d)));
          if (d['status'] !== 'released') {
            await trx.deleteFrom('sharing_drafts').where('id', '=', id).execute();
            out.draftsDeleted.push(id);
            continue;
          }
          const stixIds = (JSON.parse(String(d['objects'])) as { id: string }[]).map((o) => o.id);
          const groups = JSON.parse(String(d['released_to'] ?? '[]')) as string[];
          for (const org of await recipientsOf(trx, groups, stixIds)) {
            await trx.insertInto('sharing_recalls').values({ id: newId(clock.nowMs()), draft_id: id, stix_ids: JSON.stringify(stixIds), recipient_org_id: org, basis_id: basisId, created_at: at, acknowledged_at: null, acknowledged_by: null }).execute();
            out.recalls++;
          }
          if (stixIds.length > 0) {
            const n = await trx.deleteFrom('intel_objects').where('stix_id', 'in', stixIds).where('origin', '=', 'mamori').executeTakeFirst();
            out.objectsWithdrawn += Number(n.numDeletedRows);
            await trx.deleteFrom('intel_collection_entries').where('stix_id', 'in', stixIds).execute();
          }
          await trx.deleteFrom('indicators').where('source_type', '=', 'intel').where('source_id', '=', id).execute();
          // Cached pages are keyed by the collection's version: bumping it retires every page that held them.
          if (groups.length > 0) await trx.updateTable('sharing_groups').set((eb) => ({ version: eb('version', '+', 1) })).where('id', 'in', groups).execute();
          await trx.deleteFrom('sharing_drafts').where('id', '=', id).execute();
          out.draftsRecalled.push(id);
        }
      });
      deps.forgetCaches();
      out.contentHash = sha256([...hashes].sort().join('\n'));
      return out;
    },

    /**
     * Recall notices, newest first, a page at a time: a recipient sees its organization's; the NCO and the commission see
     * all of them. `pending` keeps those not yet acknowledged. Each carries names (recipient, basis, who acknowledged)
     * and the recalled objects' types — never a title or a name of an object, which could hold the purged data.
     */
    async listRecalls(ctx: RequestContext, query: { limit?: number; cursor?: string | undefined; pending?: boolean } = {}): Promise<Page<NamedRecall>> {
      policy.require(ctx, 'intel:read');
      const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
      let q = k.selectFrom('sharing_recalls').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc');
      if (!ctx.actor.roles.some((r) => OVERSEERS.includes(r))) q = q.where('recipient_org_id', '=', ctx.actor.orgId ?? '');
      if (query.pending === true) q = q.where('acknowledged_at', 'is', null);
      if (query.cursor !== undefined) q = q.where(afterKey(['created_at', 'id'], decodeCursor(query.cursor, ['string', 'string']), 'desc'));
      const page = cutPage((await q.limit(limit + 1).execute()) as Row[], limit, (r) => [String(r['created_at']), String(r['id'])]);
      const recalls = page.rows.map((r): Recall => ({
        id: String(r['id']), draftId: String(r['draft_id']), stixIds: JSON.parse(String(r['stix_ids'])) as string[], recipientOrgId: String(r['recipient_org_id']),
        basisId: String(r['basis_id']), createdAt: String(r['created_at']), acknowledgedAt: (r['acknowledged_at'] as string | null) ?? null, acknowledgedBy: (r['acknowledged_by'] as string | null) ?? null,
      }));
      const names = deps.names;
      const orgs = names === undefined ? new Map<string, string>() : await names.orgs([...new Set(recalls.map((r) => r.recipientOrgId))]);
      const people = names === undefined ? new Map<string, string>() : await names.people([...new Set(recalls.flatMap((r) => (r.acknowledgedBy === null ? [] : [r.acknowledgedBy])))]);
      const bases = new Map<string, RecallBasis | null>();
      for (const id of new Set(recalls.map((r) => r.basisId))) bases.set(id, names === undefined ? null : await names.basis(id));
      const items = recalls.map((r) => ({
        ...r,
        recipientName: orgs.get(r.recipientOrgId) ?? null,
        ownOrg: r.recipientOrgId === ctx.actor.orgId,
        basis: bases.get(r.basisId) ?? null,
        acknowledgedByName: r.acknowledgedBy === null ? null : people.get(r.acknowledgedBy) ?? null,
        objectTypes: r.stixIds.reduce<Record<string, number>>((acc, id) => { const t = id.split('--')[0] ?? 'object'; acc[t] = (acc[t] ?? 0) + 1; return acc; }, {}),
      }));
      return { items, nextCursor: page.nextCursor };
    },

    /** A recipient acknowledges that it deleted the recalled objects; audited. */
    async acknowledgeRecall(ctx: RequestContext, id: string): Promise<void> {
      policy.require(ctx, 'intel:read');
      const row = (await k.selectFrom('sharing_recalls').selectAll().where('id', '=', id).executeTakeFirst()) as Row | undefined;
      if (row === undefined || row['recipient_org_id'] !== ctx.actor.orgId) throw new AppError('NOT_FOUND', `No recall notice ${id} for your organization; list yours with GET /api/v1/intel/recalls.`);
      if (row['acknowledged_at'] !== null) throw new AppError('CONFLICT', 'This recall notice is already acknowledged.');
      await db.transaction(async (trx) => {
        await trx.updateTable('sharing_recalls').set({ acknowledged_at: isoUtc(clock.nowMs()), acknowledged_by: ctx.actor.userId ?? ctx.actor.id }).where('id', '=', id).execute();
        await audit.record(ctx, { action: 'intel:recall-ack', object: { type: 'intel_recall', id }, outcome: 'success', legalBasis: String(row['basis_id']) }, trx);
      });
    },
  };
}

/** The intel purger. */
export type IntelPurger = ReturnType<typeof createIntelPurger>;

