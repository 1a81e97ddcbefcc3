/** @module The council and sharing groups: members, their rights, and the TAXII collections each caller may see. */
import { isoUtc } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import { AppError, parseOrThrow } from '#platform/errors/index.js';
import { newId } from '#platform/ids/index.js';
import { keysetPage, pageQuery, type Page, type PageQuery } from '#platform/paging/index.js';
import type { SharingAudience } from './audience.js';
import type { SharingDeps } from './deps.js';
import {
  CouncilMemberInputSchema, GroupInputSchema, GroupMemberInputSchema, type CouncilMemberInput, type Group, type GroupInput, type GroupMemberInput,
} from './schema.js';
import { STIX_MEDIA_TYPE } from './taxii.js';

/** Council and group administration, and the collections list; membership changes move group versions and drop caches. */
export function createGroups(deps: SharingDeps, audience: SharingAudience) {
  const { db, policy, audit, clock } = deps;
  const k = db.kysely;
  const { directory, invalidate, recipientOf, groupView, rightsOf } = audience;

  /** Every group (or those of `ids`) with its members, by name. */
  async function listGroupsRaw(ids?: readonly string[]): Promise<Group[]> {
    if (ids?.length === 0) return [];
    let gq = k.selectFrom('sharing_groups').select(['id', 'name', 'description', 'created_at']).orderBy('name').orderBy('id');
    let mq = k.selectFrom('sharing_group_members').selectAll();
    if (ids !== undefined) {
      gq = gq.where('id', 'in', ids);
      mq = mq.where('group_id', 'in', ids);
    }
    const groups = (await gq.execute()) as { id: string; name: string; description: string; created_at: string }[];
    const members = (await mq.execute()) as { group_id: string; org_id: string; can_read: number; can_write: number }[];
    return groups.map((g) => ({ id: g.id, name: g.name, description: g.description, createdAt: g.created_at, members: members.filter((m) => m.group_id === g.id).map((m) => ({ orgId: m.org_id, canRead: m.can_read === 1, canWrite: m.can_write === 1 })) }));
  }

  return {
    /** Adds (or updates) a council member organization and its clients. @see DESIGN.md "council" */
    async addCouncilMember(ctx: RequestContext, input: CouncilMemberInput): Promise<{ orgId: string; clients: string[] }> {
      policy.require(ctx, 'sharing:manage');
      const v = parseOrThrow(CouncilMemberInputSchema, input, 'council member');
      const d = await directory({ orgId: v.orgId });
      for (const id of [v.orgId, ...v.clients]) if (!d.orgs.has(id)) throw new AppError('VALIDATION_FAILED', `No organization ${id}; list them with GET /api/v1/orgs.`, { details: [{ path: 'orgId', message: 'unknown organization' }] });
      await db.transaction(async (trx) => {
        await trx.deleteFrom('sharing_council_members').where('org_id', '=', v.orgId).execute();
        await trx.insertInto('sharing_council_members').values({ org_id: v.orgId, clients: JSON.stringify(v.clients), joined_at: isoUtc(clock.nowMs()) }).execute();
        // Clients are part of the audience of every group the member is in: those groups' versions move, so every
        // process reloads its views and pages. One group at a time in id order, so row locks are taken in one order.
        const groups = (await trx.selectFrom('sharing_group_members').select('group_id').where('org_id', '=', v.orgId).orderBy('group_id').execute()) as { group_id: string }[];
        for (const g of groups) await trx.updateTable('sharing_groups').set((eb) => ({ version: eb('version', '+', 1) })).where('id', '=', g.group_id).execute();
        await audit.record(ctx, { action: 'sharing:manage', object: { type: 'council_member', id: v.orgId }, outcome: 'success', details: { clients: v.clients.length } }, trx);
      });
      invalidate();
      return { orgId: v.orgId, clients: v.clients };
    },

    /** Lists council members. */
    async listCouncil(ctx: RequestContext, page: Partial<PageQuery> = {}): Promise<Page<{ orgId: string; clients: string[]; joinedAt: string }>> {
      policy.require(ctx, 'sharing:read');
      type Row = { org_id: string; clients: string; joined_at: string };
      const { rows, nextCursor } = await keysetPage(pageQuery(page), { columns: ['joined_at', 'org_id'], shape: ['string', 'string'], direction: 'asc' }, (r: Row) => [r.joined_at, r.org_id], async (after, take) => {
        let q = k.selectFrom('sharing_council_members').selectAll().orderBy('joined_at').orderBy('org_id').limit(take);
        if (after !== undefined) q = q.where(after);
        return (await q.execute()) as Row[];
      });
      return { items: rows.map((r) => ({ orgId: r.org_id, clients: JSON.parse(r.clients) as string[], joinedAt: r.joined_at })), nextCursor };
    },

    /** Creates a sharing group; it is served as one TAXII collection. @see TAXII 2.1 §5.2 */
    async createGroup(ctx: RequestContext, input: GroupInput): Promise<Group> {
      policy.require(ctx, 'sharing:manage');
      const v = parseOrThrow(GroupInputSchema, input, 'sharing group');
      const id = newId(clock.nowMs());
      const at = isoUtc(clock.nowMs());
      await db.transaction(async (trx) => {
        if ((await trx.selectFrom('sharing_groups').select('id').where('name', '=', v.name).executeTakeFirst()) !== undefined) throw new AppError('CONFLICT', `A sharing group named "${v.name}" exists; choose another name.`);
        await trx.insertInto('sharing_groups').values({ id, name: v.name, description: v.description, next_seq: 1, last_added: '', created_at: at }).execute();
        await audit.record(ctx, { action: 'sharing:manage', object: { type: 'sharing_group', id }, outcome: 'success' }, trx);
      });
      return { id, name: v.name, description: v.description, createdAt: at, members: [] };
    },

    /** Adds an organization to a group with read and/or write rights. @see TAXII 2.1 §5.2 */
    async addGroupMember(ctx: RequestContext, groupId: string, input: GroupMemberInput): Promise<Group> {
      policy.require(ctx, 'sharing:manage');
      const v = parseOrThrow(GroupMemberInputSchema, input, 'group member');
      const d = await directory({ orgId: v.orgId });
      if (!d.orgs.has(v.orgId)) throw new AppError('VALIDATION_FAILED', `No organization ${v.orgId}.`, { details: [{ path: 'orgId', message: 'unknown organization' }] });
      await db.transaction(async (trx) => {
        if ((await trx.selectFrom('sharing_groups').select('id').where('id', '=', groupId).executeTakeFirst()) === undefined) throw new AppError('NOT_FOUND', `No sharing group ${groupId}.`);
        await trx.deleteFrom('sharing_group_members').where('group_id', '=', groupId).where('org_id', '=', v.orgId).execute();
        await trx.insertInto('sharing_group_members').values({ group_id: groupId, org_id: v.orgId, can_read: v.canRead ? 1 : 0, can_write: v.canWrite ? 1 : 0, added_at: isoUtc(clock.nowMs()) }).execute();
        await trx.updateTable('sharing_groups').set((eb) => ({ version: eb('version', '+', 1) })).where('id', '=', groupId).execute();
        await audit.record(ctx, { action: 'sharing:manage', object: { type: 'sharing_group', id: groupId }, outcome: 'success', details: { org: v.orgId, canRead: v.canRead, canWrite: v.canWrite } }, trx);
      });
      invalidate();
      return (await listGroupsRaw()).find((g) => g.id === groupId)!;
    },

    /** Lists sharing groups: all for the NCO, otherwise those the caller's organization may see. */
    async listGroups(ctx: RequestContext, page: Partial<PageQuery> = {}): Promise<Page<Group>> {
      policy.require(ctx, 'sharing:read');
      type Row = { id: string; name: string };
      const { rows, nextCursor } = await keysetPage(pageQuery(page), { columns: ['name', 'id'], shape: ['string', 'string'], direction: 'asc' }, (g: Row) => [g.name, g.id], async (after, take) => {
        let q = k.selectFrom('sharing_groups').select(['id', 'name']).orderBy('name').orderBy('id').limit(take);
        if (after !== undefined) q = q.where(after);
        return (await q.execute()) as Row[];
      });
      const groups = await listGroupsRaw(rows.map((g) => g.id));
      if (ctx.actor.kind === 'system') return { items: groups, nextCursor };
      const r = await recipientOf(ctx);
      const items: Group[] = [];
      // Groups the caller has no right on are left out after the query: a page may hold fewer than its limit.
      for (const g of groups) {
        const view = await groupView(g.id);
        if (view !== undefined) { const rights = rightsOf(r, view); if (rights.canRead || rights.canWrite) items.push(g); }
      }
      return { items, nextCursor };
    },

    /** The TAXII collections the caller may see, with its rights on each. @see TAXII 2.1 §5.1, §5.2 */
    async collections(ctx: RequestContext): Promise<{ id: string; title: string; description: string; can_read: boolean; can_write: boolean; media_types: string[] }[]> {
      const r = await recipientOf(ctx);
      const out = [];
      for (const g of await listGroupsRaw()) {
        const view = await groupView(g.id);
        if (view === undefined) continue;
        const rights = rightsOf(r, view);
        if (rights.canRead || rights.canWrite) out.push({ id: g.id, title: g.name, description: g.description, can_read: rights.canRead, can_write: rights.canWrite, media_types: [STIX_MEDIA_TYPE] });
      }
      return out;
    },
  };
}
