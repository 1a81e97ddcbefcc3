/** @module Purging intelligence drawn from purged findings: unreleased drafts are deleted; released intel is withdrawn from the collections and recalled from each recipient, tracked until acknowledged. */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '#platform/clock/index.js';
import { isoUtc } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import type { AnyDb, Database, NamedMigration } from '#platform/db/index.js';
import { AppError } from '#platform/errors/index.js';
import { newId } from '#platform/ids/index.js';
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
export function createIntelPurger(deps: { db: Database; policy: PolicyEngine; audit: AuditRecorder; clock: Clock; forgetCaches: () => void }) {
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

    /** Recall notices: a recipient sees its organization's; the NCO and the commission see all of them. */
    async listRecalls(ctx: RequestContext): Promise<Recall[]> {
      policy.require(ctx, 'intel:read');
      let q = k.selectFrom('sharing_recalls').selectAll().orderBy('created_at', 'desc');
      if (!ctx.actor.roles.some((r) => OVERSEERS.includes(r))) q = q.where('recipient_org_id', '=', ctx.actor.orgId ?? '');
      const rows = (await q.limit(1000).execute()) as Row[];
      return rows.map((r) => ({
        id: String(r['id']), draftId: String(r['draft_id']), stixIds: JSON.parse(String(r['stix_ids'])) as string[], recipientOrgId: String(r['recipient_org_id']),
        basisId: String(r['basis_id']), createdAt: String(r['created_at']), acknowledgedAt: (r['acknowledged_at'] as string | null) ?? null, acknowledgedBy: (r['acknowledged_by'] as string | null) ?? null,
      }));
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

