/** @module Who reads and what they may see: directory, recipients and group views (cached, as are served pages), rights on collections. */
import { performance } from 'node:perf_hooks';
import type { RequestContext } from '#platform/context/index.js';
import { AppError } from '#platform/errors/index.js';
import type { DirectoryOrg, DirectoryUser, SharingCacheEvent, SharingDeps } from './deps.js';
import { recipientKey, unmarkId } from './fingerprint.js';
import type { Audience, Recipient } from './tlp.js';

/** A sharing group as reading it needs: its TLP audience and each member organization's rights, as of `version`. */
export interface GroupView { id: string; name: string; description: string; version: number; audience: Audience; audienceKey: string; rights: Map<string, { canRead: boolean; canWrite: boolean }> }

/** A TAXII objects page as served: the envelope's bytes and the facts its headers and the ledger need. */
export interface ObjectsEnvelope {
  /** The whole TAXII envelope, serialized (the recipient's marked copies). */
  body: Buffer;
  count: number;
  firstAdded: string | undefined;
  lastAdded: string | undefined;
}

/**
 * One cached objects page for one recipient: exactly the bytes rendering would produce again (marks are
 * deterministic per recipient), with what the dissemination ledger records of it.
 */
export interface CachedPage extends ObjectsEnvelope {
  ledger: { seqMin: number | null; seqMax: number | null; objects: string; objectsHash: string };
  /** Ledger rows already durable for this very copy, by channel: a repeat hand-out is audited but not re-entered. */
  recorded: Map<string, string>;
  bytes: number;
}

/** Who reads, with the facts the TLP function needs. */
export type SharingRecipient = Recipient & { username: string; isNco: boolean };

/** The sharing service's caches and the reads that fill them; every other part asks here who reads and what they may see. */
export function createAudience(deps: SharingDeps) {
  const k = deps.db.kysely;
  const pageCap = deps.settings?.pageCacheBytes ?? 128 * 1024 * 1024;

  // --- caches: the directory and group audiences change rarely.
  let dirCache: { at: number; orgs: Map<string, DirectoryOrg>; users: Map<string, DirectoryUser>; council: Map<string, string[]> } | undefined;
  const groupCache = new Map<string, GroupView>();
  const keys = new Map<string, Buffer>();
  // Served objects pages, least recently used first, bounded by bytes. Keys carry the collection's version
  // (see 0501_sharing_collection_version), so a change makes every older page unreachable; `forgetPages`
  // also drops them at once when the change happened in this process.
  const pages = new Map<string, CachedPage>();
  let pageBytes = 0;
  const TTL = 5_000;

  function cachePage(key: string, page: CachedPage): void {
    if (page.bytes > pageCap) return;
    const old = pages.get(key);
    if (old !== undefined) { pages.delete(key); pageBytes -= old.bytes; }
    pages.set(key, page);
    pageBytes += page.bytes;
    for (const [k0, p] of pages) {
      if (pageBytes <= pageCap) break;
      pages.delete(k0);
      pageBytes -= p.bytes;
    }
  }

  function cachedPage(key: string): CachedPage | undefined {
    const hit = pages.get(key);
    if (hit !== undefined) { pages.delete(key); pages.set(key, hit); }
    return hit;
  }

  function dropPages(collectionId: string): void {
    const tag = `\u0000${collectionId}\u0000`;
    for (const [k0, p] of pages) if (k0.includes(tag)) { pages.delete(k0); pageBytes -= p.bytes; }
  }

  function dropAll(): void {
    dirCache = undefined;
    groupCache.clear();
    pages.clear();
    pageBytes = 0;
  }

  // Changes made here drop the caches here and tell the other API replicas (the directory's 5 s would let them lag).
  function forgetPages(collectionId: string): void {
    dropPages(collectionId);
    deps.cacheEvents?.({ scope: 'pages', collectionId });
  }

  function invalidate(): void {
    dropAll();
    deps.cacheEvents?.({ scope: 'all' });
  }

  // Cache ages use the monotonic process clock, not the domain clock (tests hold that one still).
  async function directory(need?: { orgId?: string | null; userIds?: readonly string[] }) {
    const now = performance.now();
    const stale = dirCache === undefined || now - dirCache.at >= TTL
      || (need?.orgId != null && !dirCache.orgs.has(need.orgId))
      || (need?.userIds !== undefined && need.userIds.some((u) => !dirCache!.users.has(u)));
    if (!stale) return dirCache!;
    const [orgs, users, council] = await Promise.all([
      deps.directory.orgs(), deps.directory.users(),
      k.selectFrom('sharing_council_members').selectAll().execute() as Promise<{ org_id: string; clients: string }[]>,
    ]);
    dirCache = {
      at: now,
      orgs: new Map(orgs.map((o) => [o.id, o])),
      users: new Map(users.map((u) => [u.id, u])),
      council: new Map(council.map((c) => [c.org_id, JSON.parse(c.clients) as string[]])),
    };
    return dirCache;
  }

  function keyOf(userId: string): Buffer {
    let key = keys.get(userId);
    if (key === undefined) {
      key = recipientKey(deps.fingerprintKey, userId);
      keys.set(userId, key);
    }
    return key;
  }

  async function recipientOf(ctx: RequestContext): Promise<SharingRecipient> {
    const userId = ctx.actor.kind === 'token' ? (ctx.actor.userId ?? ctx.actor.id) : ctx.actor.id;
    const d = await directory({ orgId: ctx.actor.orgId });
    const org = ctx.actor.orgId === null ? undefined : d.orgs.get(ctx.actor.orgId);
    const councilMember = org !== undefined && (org.kind === 'council_member' || d.council.has(org.id));
    return { userId, username: ctx.actor.username, orgId: org?.id ?? null, orgKind: org?.kind ?? null, councilMember, isNco: org?.kind === 'nco' };
  }

  /**
   * The group's members, rights and audience, as of its version. The version is read on every call,
   * before the view and any page built on it: membership and council changes bump it as entry changes
   * do, so a change made by any process is seen at once (a time-to-live would let an organization that
   * lost its right keep reading, from another process, until it ran out).
   */
  async function groupView(groupId: string): Promise<GroupView | undefined> {
    const g = (await k.selectFrom('sharing_groups').select(['id', 'name', 'description', 'version']).where('id', '=', groupId).executeTakeFirst()) as { id: string; name: string; description: string; version: number | string } | undefined;
    if (g === undefined) return undefined;
    const version = Number(g.version);
    const hit = groupCache.get(groupId);
    if (hit !== undefined && hit.version === version) return hit;
    const members = (await k.selectFrom('sharing_group_members').selectAll().where('group_id', '=', groupId).execute()) as { org_id: string; can_read: number; can_write: number }[];
    const memberOrgIds = new Set(members.map((m) => m.org_id));
    // The members' clients from the table itself, not the directory cache: a client dropped by another process counts at once.
    const council = memberOrgIds.size === 0 ? [] : ((await k.selectFrom('sharing_council_members').select('clients').where('org_id', 'in', [...memberOrgIds]).execute()) as { clients: string }[]);
    const clientOrgIds = new Set(council.flatMap((c) => JSON.parse(c.clients) as string[]));
    const d = await directory();
    const nco = [...d.orgs.values()].find((o) => o.kind === 'nco')?.id ?? null;
    const view: GroupView = {
      id: g.id, name: g.name, description: g.description, version,
      audience: { originOrgId: nco, memberOrgIds, clientOrgIds, redRecipients: [] },
      audienceKey: `${nco ?? ''}|${[...memberOrgIds].sort().join(',')}|${[...clientOrgIds].sort().join(',')}`,
      rights: new Map(members.map((m) => [m.org_id, { canRead: m.can_read === 1, canWrite: m.can_write === 1 }])),
    };
    groupCache.set(groupId, view);
    return view;
  }

  function rightsOf(r: SharingRecipient, g: GroupView): { canRead: boolean; canWrite: boolean } {
    if (r.isNco) return { canRead: true, canWrite: true };
    if (r.orgId === null) return { canRead: false, canWrite: false };
    const own = g.rights.get(r.orgId);
    if (own !== undefined) return own;
    return { canRead: g.audience.clientOrgIds.has(r.orgId), canWrite: false };
  }

  async function readableGroup(ctx: RequestContext, groupId: string, need: 'read' | 'write'): Promise<{ r: SharingRecipient; g: GroupView }> {
    const r = await recipientOf(ctx);
    const g = await groupView(groupId);
    const rights = g === undefined ? undefined : rightsOf(r, g);
    // An unknown collection and one the caller may not see answer alike, so existence does not leak.
    if (g === undefined || rights === undefined || (!rights.canRead && !rights.canWrite)) throw new AppError('NOT_FOUND', `No collection ${groupId} that you may see; list them at the collections endpoint.`);
    if (need === 'read' && !rights.canRead) throw new AppError('FORBIDDEN', 'Your organization may write to this collection but not read it.');
    if (need === 'write' && !rights.canWrite) throw new AppError('FORBIDDEN', 'Your organization may read this collection but not write to it.');
    return { r, g };
  }

  function canonicalIds(r: SharingRecipient, ids: readonly string[]): string[] {
    const key = keyOf(r.userId);
    return [...new Set(ids.flatMap((id) => [id, unmarkId(key, id)]))];
  }

  return {
    directory, keyOf, recipientOf, groupView, rightsOf, readableGroup, canonicalIds, cachePage, cachedPage, forgetPages, invalidate,
    /** Drops every cached directory, group and served page (after a purge withdrew objects). */
    forgetCaches: invalidate,
    /** Drops what another replica said it dropped (not passed on again). */
    applyCacheEvent(e: SharingCacheEvent): void {
      if (e.scope === 'all') dropAll();
      else dropPages(e.collectionId);
    },

    /** What the served-pages cache holds now (for metrics and tests). */
    pageCacheStats(): { entries: number; bytes: number; capBytes: number } {
      return { entries: pages.size, bytes: pageBytes, capBytes: pageCap };
    },
  };
}

/** The audience part of the sharing service. */
export type SharingAudience = ReturnType<typeof createAudience>;
