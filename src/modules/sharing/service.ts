/** @module Sharing: council and sharing groups, the intel store with its collections, drafts and release, delivery under TLP with per-recipient marks, sightings, feeds and leak tracing. */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Clock } from '#platform/clock/index.js';
import { isoUtc } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import { sql, type AnyDb, type Database } from '#platform/db/index.js';
import { AppError, parseOrThrow } from '#platform/errors/index.js';
import { newId } from '#platform/ids/index.js';
import { keysetPage, pageQuery, type Page, type PageQuery } from '#platform/paging/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import { canonicalize, type AuditEntryRef, type AuditEvent, type AuditRecorder } from '#modules/audit/index.js';
import { buildDraftObjects, ncoIdentity, type Removal } from './drafts.js';
import { markObject, recipientKey, unmarkId, type JsonObject } from './fingerprint.js';
import {
  CouncilMemberInputSchema, DraftInputSchema, GroupInputSchema, GroupMemberInputSchema, ReleaseInputSchema, SightingInputSchema,
  type CouncilMemberInput, type Draft, type DraftInput, type Group, type GroupInput, type GroupMemberInput, type ReleaseInput, type SightingInput,
} from './schema.js';
import { extractIndicators, newVersion, parsePattern, parseStixObject, tlpOf, type StixObject, type TlpLevel } from './stix/index.js';
import { encodeNext, objectsEnvelope, STIX_MEDIA_TYPE, type ObjectQuery, type StatusDetail, type StatusResource } from './taxii.js';
import { mayReceive, type Audience, type Recipient } from './tlp.js';
import type { FetchLike } from './client.js';
import { createIntelActivity } from './activity.js';
import { contentHash, msOf, sha256Hex } from './content.js';
import { createFeedAdmin } from './feed-admin.js';
import { createLeakTracing } from './leaks.js';

/** An organization as sharing needs it. */
export interface DirectoryOrg { id: string; name: string; kind: string; sectors: readonly string[] }
/** A user as sharing needs it. */
export interface DirectoryUser { id: string; username: string; orgId: string | null }

/** What sharing needs from the rest of the system. */
export interface SharingDeps {
  db: Database;
  policy: PolicyEngine;
  /** The audit log; with `recordBatch` a group commit of deliveries appends all their entries at once. */
  audit: AuditRecorder & { recordBatch?: (items: readonly { ctx: RequestContext; event: AuditEvent }[], trx?: AnyDb) => Promise<AuditEntryRef[]> };
  clock: Clock;
  /** Organizations and users (from identity, read as the system). */
  directory: { orgs(): Promise<readonly DirectoryOrg[]>; users(): Promise<readonly DirectoryUser[]> };
  /** The secret that per-recipient marks derive from; kept apart from the database. */
  fingerprintKey: Uint8Array;
  /** Sector names TLP:CLEAR/GREEN intelligence must not reveal. */
  sectorNames: readonly string[];
  /** HTTP for the TAXII client (defaults to the global fetch). */
  fetch?: FetchLike;
  /** Told after this process dropped cached data (API replicas pass it on to the others: `applyCacheEvent`). */
  cacheEvents?: (e: SharingCacheEvent) => void;
  settings?: {
    maxPageSize?: number; renderCacheEntries?: number; pageCacheBytes?: number;
    /** How long a TAXII status resource stays readable (default 7 days); older ones are deleted on the next add. */
    statusRetentionMs?: number;
  };
}

/** Cached data dropped: everything (directory, groups, pages), or one collection's served pages. */
export type SharingCacheEvent = { scope: 'all' } | { scope: 'pages'; collectionId: string };

/** One page of a collection read, already filtered by TLP and rendered for the recipient. */
export interface ObjectPage {
  /** Each delivered object as JSON text (the recipient's marked copy for objects mamori originated). */
  objects: string[];
  /** Manifest facts of each delivered object, in the same order. */
  manifest: { id: string; date_added: string; version: string; media_type: string }[];
  more: boolean;
  next: string | undefined;
  firstAdded: string | undefined;
  lastAdded: string | undefined;
}

interface EntryRow {
  seq: number; stix_id: string; modified: string; type: string; spec_version: string; date_added: string;
  json: string; tlp: string | null; origin: string; origin_org_id: string | null; red_recipients: string;
}

interface Rendered { text: string; id: string; version: string }

interface GroupView { id: string; name: string; description: string; version: number; audience: Audience; audienceKey: string; rights: Map<string, { canRead: boolean; canWrite: boolean }> }

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
interface CachedPage extends ObjectsEnvelope {
  ledger: { seqMin: number | null; seqMax: number | null; objects: string; objectsHash: string };
  /** Ledger rows already durable for this very copy, by channel: a repeat hand-out is audited but not re-entered. */
  recorded: Map<string, string>;
  bytes: number;
}

/** Who reads, with the facts the TLP function needs. */
export type SharingRecipient = Recipient & { username: string; isNco: boolean };

/** Creates the sharing service. @see DESIGN.md "sharing"; issue 9 */
export function createSharingService(deps: SharingDeps) {
  const { db, policy, audit, clock } = deps;
  const k = db.kysely;
  const maxPage = deps.settings?.maxPageSize ?? 1000;
  const renderCap = deps.settings?.renderCacheEntries ?? 250_000;
  const pageCap = deps.settings?.pageCacheBytes ?? 128 * 1024 * 1024;
  const statusRetentionMs = deps.settings?.statusRetentionMs ?? 7 * 86_400_000;
  const fetchImpl: FetchLike = deps.fetch ?? ((url, init) => fetch(url, init));

  // --- caches: the directory and group audiences change rarely; rendering copies is the hot path (bench/taxii).
  let dirCache: { at: number; orgs: Map<string, DirectoryOrg>; users: Map<string, DirectoryUser>; council: Map<string, string[]> } | undefined;
  const groupCache = new Map<string, GroupView>();
  const keys = new Map<string, Buffer>();
  const rendered = new Map<string, Rendered>();
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

  /** The recipient's copy of a stored object version with its marked id and version (cached: the same recipient always gets the same copy). */
  function render(r: SharingRecipient, row: EntryRow): Rendered {
    if (row.origin !== 'mamori') return { text: row.json, id: row.stix_id, version: row.modified };
    const cacheKey = `${r.userId}\u0000${row.stix_id}\u0000${row.modified}`;
    let hit = rendered.get(cacheKey);
    if (hit === undefined) {
      const marked = markObject(keyOf(r.userId), JSON.parse(row.json) as JsonObject);
      hit = { text: JSON.stringify(marked), id: String(marked['id']), version: String(marked['modified'] ?? row.modified) };
      if (rendered.size >= renderCap) rendered.delete(rendered.keys().next().value as string);
      rendered.set(cacheKey, hit);
    }
    return hit;
  }

  /** THE check on every path out: TLP 2.0 through `mayReceive`, with the object's RED recipients. */
  function allowed(r: SharingRecipient, g: GroupView, row: EntryRow): boolean {
    const red = row.tlp === 'red' ? (JSON.parse(row.red_recipients) as string[]) : [];
    const audience: Audience = red.length === 0 && row.origin_org_id === g.audience.originOrgId ? g.audience : { ...g.audience, originOrgId: row.origin_org_id ?? g.audience.originOrgId, redRecipients: red };
    return mayReceive(r, (row.tlp ?? undefined) as TlpLevel | undefined, audience).allowed;
  }

  function canonicalIds(r: SharingRecipient, ids: readonly string[]): string[] {
    const key = keyOf(r.userId);
    return [...new Set(ids.flatMap((id) => [id, unmarkId(key, id)]))];
  }

  function entryQuery(q: AnyDb, collectionId: string, query: ObjectQuery, r: SharingRecipient, withJson: boolean) {
    let s = q
      .selectFrom('intel_collection_entries as e')
      .innerJoin('intel_objects as o', (j) => j.onRef('o.stix_id', '=', 'e.stix_id').onRef('o.modified', '=', 'e.modified'))
      .select(['e.seq', 'e.stix_id', 'e.modified', 'e.type', 'e.spec_version', 'e.date_added', 'o.tlp', 'o.origin', 'o.origin_org_id', 'o.red_recipients'])
      .where('e.collection_id', '=', collectionId);
    if (withJson) s = s.select('o.json');
    if (query.addedAfter !== undefined) s = s.where('e.date_added', '>', msOf(query.addedAfter));
    if (query.ids.length > 0) s = s.where('e.stix_id', 'in', canonicalIds(r, query.ids));
    if (query.types.length > 0) s = s.where('e.type', 'in', query.types);
    if (query.specVersions.length > 0) s = s.where('e.spec_version', 'in', query.specVersions);
    const v = query.versions;
    if (!v.all) {
      const stamps = [...new Set(v.timestamps.flatMap((t) => [t, msOf(t)]))];
      s = s.where((eb) => eb.or([
        ...(v.first ? [eb('e.is_first', '=', 1)] : []),
        ...(v.last ? [eb('e.is_last', '=', 1)] : []),
        ...(stamps.length > 0 ? [eb('e.modified', 'in', stamps)] : []),
      ]));
    }
    return s;
  }

  // Group commit of deliveries: each response waits until its ledger row and audit entry are durable, but
  // concurrent readers share one transaction (one fsync) instead of one each. The SQLite driver commits
  // synchronously, so each fsync stalls the event loop: a batch gathers for 2 ms (pending I/O is read
  // meanwhile) so that fewer, larger commits serve the same requests. Hot path: bench/taxii (server CPU
  // per request fell from 2.4 to 1.9 ms against setImmediate, the static page's being 1.9 ms).
  type Delivery = { ctx: RequestContext; row: Record<string, unknown> | undefined; event: Parameters<AuditRecorder['record']>[1]; done: (e?: unknown) => void };
  const deliveries: Delivery[] = [];
  const GATHER_MS = 2;
  let flushScheduled = false;
  function scheduleFlush(): void {
    if (flushScheduled) return;
    flushScheduled = true;
    setTimeout(() => { void flushDeliveries(); }, GATHER_MS);
  }
  /** Writes deliveries' ledger rows and audit entries in `trx`. */
  async function writeDeliveries(trx: AnyDb, items: readonly Delivery[]): Promise<void> {
    const rows = items.flatMap((d) => (d.row !== undefined ? [d.row] : []));
    for (let i = 0; i < rows.length; i += 100) await trx.insertInto('sharing_disseminations').values(rows.slice(i, i + 100)).execute();
    if (audit.recordBatch !== undefined) await audit.recordBatch(items.map((d) => ({ ctx: d.ctx, event: d.event })), trx);
    else for (const d of items) await audit.record(d.ctx, d.event, trx);
  }
  async function flushDeliveries(): Promise<void> {
    const batch = deliveries.splice(0, 500);
    try {
      await db.transaction((trx) => writeDeliveries(trx, batch));
      for (const d of batch) d.done();
    } catch (e) {
      // Nothing of the batch is stored. One delivery at fault must not refuse the others: each is recorded
      // again in a transaction of its own, and only a delivery whose own recording fails is refused
      // (its copy is never handed out unrecorded).
      if (batch.length === 1) batch[0]!.done(e);
      else {
        for (const d of batch) {
          try {
            await db.transaction((trx) => writeDeliveries(trx, [d]));
            d.done();
          } catch (alone) {
            d.done(alone);
          }
        }
      }
    } finally {
      flushScheduled = false;
      if (deliveries.length > 0) scheduleFlush();
    }
  }

  type Channel = 'taxii' | 'api' | 'export';
  type LedgerFacts = CachedPage['ledger'] & { count: number };

  /** What the ledger records of a delivery: the sequence numbers (delta-coded) or, outside a collection, the versions. */
  function ledgerFacts(collectionId: string | null, rows: readonly EntryRow[]): LedgerFacts {
    const seqs = rows.map((x) => x.seq);
    let prev = 0;
    const objects = collectionId !== null ? `s:${seqs.map((s) => { const d = s - prev; prev = s; return d.toString(36); }).join(',')}` : `i:${rows.map((x) => `${x.stix_id}|${x.modified}`).join('\n')}`;
    return { seqMin: seqs.length > 0 ? Math.min(...seqs) : null, seqMax: seqs.length > 0 ? Math.max(...seqs) : null, objects, objectsHash: sha256Hex(objects), count: rows.length };
  }

  /**
   * Records a delivery durably (ledger row and audit entry in one group commit) before it is answered;
   * returns the ledger row's id. `repeatOf` names a durable ledger row of this very copy to this
   * recipient: then only the access is audited (naming that row), as the ledger already says they hold it.
   */
  async function recordDelivery(ctx: RequestContext, r: SharingRecipient, channel: Channel, collectionId: string | null, facts: LedgerFacts, what: string, repeatOf?: string): Promise<string | null> {
    const id = newId(clock.nowMs());
    const row = facts.count === 0 || repeatOf !== undefined ? undefined : {
      id, recipient_user_id: r.userId, recipient_org_id: r.orgId, channel, collection_id: collectionId,
      seq_min: facts.seqMin, seq_max: facts.seqMax, object_count: facts.count, objects: facts.objects, at: isoUtc(clock.nowMs()),
    };
    const dissemination = row !== undefined ? id : (repeatOf ?? null);
    const event = { action: 'intel:read', object: collectionId === null ? null : { type: 'collection', id: collectionId }, outcome: 'success' as const, details: { channel, what, count: facts.count, dissemination, objectsHash: facts.objectsHash, ...(repeatOf !== undefined ? { repeat: true } : {}) } };
    await new Promise<void>((resolve, reject) => {
      deliveries.push({ ctx, row, event, done: (e) => (e === undefined ? resolve() : reject(e)) });
      scheduleFlush();
    });
    return dissemination;
  }

  /** The entries of one page that the recipient may receive: the query's filters, then TLP per object, in sequence order. */
  async function selectPage(r: SharingRecipient, g: GroupView, collectionId: string, query: ObjectQuery): Promise<{ out: EntryRow[]; more: boolean; after: number }> {
    const limit = Math.min(query.limit, maxPage);
    const out: EntryRow[] = [];
    let after = query.after;
    let more = false;
    for (let round = 0; round < 20 && out.length < limit; round++) {
      const batch = (await entryQuery(k, collectionId, query, r, true).where('e.seq', '>', after).orderBy('e.seq').limit(limit - out.length + 1).execute()) as EntryRow[];
      const take = batch.slice(0, limit - out.length);
      more = batch.length > take.length;
      for (const row of take) {
        row.seq = Number(row.seq);
        after = row.seq;
        if (allowed(r, g, row)) out.push(row);
      }
      if (!more) break;
    }
    return { out, more, after };
  }

  /**
   * Reads one page of a collection for the caller: filters, then TLP (`mayReceive`) per object, then the
   * recipient's marked copies; the delivery goes into the dissemination ledger and the audit log together.
   * Paging follows the collection's sequence, so pages stay stable while objects are being added.
   * @see TAXII 2.1 §5.4, §5.5, §3.4; TLP 2.0 (FIRST)
   */
  async function readPage(ctx: RequestContext, collectionId: string, query: ObjectQuery, channel: Channel, what: string): Promise<ObjectPage> {
    const { r, g } = await readableGroup(ctx, collectionId, 'read');
    const { out, more, after } = await selectPage(r, g, collectionId, query);
    const copies = out.map((row) => render(r, row));
    const objects = copies.map((c) => c.text);
    const manifest = out.map((row, i) => ({ id: copies[i]!.id, date_added: row.date_added, version: copies[i]!.version, media_type: STIX_MEDIA_TYPE }));
    await recordDelivery(ctx, r, channel, collectionId, ledgerFacts(collectionId, out), what);
    return { objects, manifest, more, next: more ? encodeNext(after) : undefined, firstAdded: out[0]?.date_added, lastAdded: out.at(-1)?.date_added };
  }

  /**
   * The TAXII objects endpoint: readPage's selection, TLP check and marked copies as the serialized
   * envelope, cached per (recipient and the facts TLP decides on, collection, collection version, query).
   * Every hand-out, cached or not, is durable in the ledger and the audit log before it is answered; a
   * repeat of a copy whose ledger row is already durable is audited with a reference to that row.
   * Hot path: bench/taxii.
   * @see TAXII 2.1 §5.4; docs/sharing.md "Serving pages"
   */
  async function readObjects(ctx: RequestContext, collectionId: string, query: ObjectQuery, channel: Channel, what: string): Promise<ObjectsEnvelope> {
    const { r, g } = await readableGroup(ctx, collectionId, 'read');
    // The group view read the version before the page is read: a page is never cached under a version newer than what it shows.
    const version = g.version;
    const v = query.versions;
    const key = [
      r.userId, collectionId, version, r.orgId ?? '', r.orgKind ?? '', r.councilMember ? 1 : 0, r.isNco ? 1 : 0, g.audienceKey,
      Math.min(query.limit, maxPage), query.after, query.addedAfter ?? '', query.ids.join(','), query.types.join(','), query.specVersions.join(','),
      `${v.first ? 1 : 0}${v.last ? 1 : 0}${v.all ? 1 : 0}${v.timestamps.join(',')}`,
    ].join('\u0000');
    let page = cachedPage(key);
    if (page === undefined) {
      const { out, more, after } = await selectPage(r, g, collectionId, query);
      const body = Buffer.from(objectsEnvelope(out.map((row) => render(r, row).text), more, more ? encodeNext(after) : undefined));
      const ledger = ledgerFacts(collectionId, out);
      page = { body, count: out.length, firstAdded: out[0]?.date_added, lastAdded: out.at(-1)?.date_added, ledger: { seqMin: ledger.seqMin, seqMax: ledger.seqMax, objects: ledger.objects, objectsHash: ledger.objectsHash }, recorded: new Map(), bytes: body.length + ledger.objects.length + key.length };
      cachePage(key, page);
    }
    const repeatOf = page.recorded.get(channel);
    const id = await recordDelivery(ctx, r, channel, collectionId, { ...page.ledger, count: page.count }, what, repeatOf);
    if (repeatOf === undefined && id !== null && page.count > 0) page.recorded.set(channel, id);
    return { body: page.body, count: page.count, firstAdded: page.firstAdded, lastAdded: page.lastAdded };
  }

  /** Stores one object version in a collection: new version rows, a new sequence number, first/last flags. */
  async function storeInCollection(trx: AnyDb, collectionId: string, o: StixObject, meta: { origin: string; originOrgId: string | null; sourceType: string; sourceId: string | null; redRecipients: readonly string[]; tlp?: TlpLevel | null }): Promise<'added' | 'exists'> {
    const rec = o as unknown as JsonObject;
    const modified = String(rec['modified'] ?? rec['created'] ?? '1970-01-01T00:00:00.000Z');
    const existing = await trx.selectFrom('intel_objects').select('stix_id').where('stix_id', '=', o.id).where('modified', '=', modified).executeTakeFirst();
    if (existing === undefined) {
      await trx.insertInto('intel_objects').values({
        stix_id: o.id, modified, type: o.type, spec_version: String(rec['spec_version'] ?? '2.1'),
        tlp: meta.tlp !== undefined ? meta.tlp : (tlpOf(o as never) ?? null), created_by: (rec['created_by_ref'] as string | undefined) ?? null,
        origin: meta.origin, origin_org_id: meta.originOrgId, source_type: meta.sourceType, source_id: meta.sourceId,
        red_recipients: JSON.stringify(meta.redRecipients), content_hash: contentHash(rec), json: JSON.stringify(o), stored_at: isoUtc(clock.nowMs()),
      }).execute();
    }
    const inCollection = await trx.selectFrom('intel_collection_entries').select('seq').where('collection_id', '=', collectionId).where('stix_id', '=', o.id).where('modified', '=', modified).executeTakeFirst();
    if (inCollection !== undefined) return 'exists';
    const g = (await trx.updateTable('sharing_groups').set((eb) => ({ next_seq: eb('next_seq', '+', 1), version: eb('version', '+', 1) })).where('id', '=', collectionId).returning(['next_seq', 'last_added']).executeTakeFirstOrThrow()) as { next_seq: number; last_added: string };
    const seq = Number(g.next_seq) - 1;
    // date_added never goes backwards within a collection, so added_after agrees with the sequence.
    let added = isoUtc(clock.nowMs());
    if (g.last_added !== '' && added < g.last_added) added = g.last_added;
    await trx.updateTable('sharing_groups').set({ last_added: added }).where('id', '=', collectionId).execute();
    const versions = (await trx.selectFrom('intel_collection_entries').select(['seq', 'modified']).where('collection_id', '=', collectionId).where('stix_id', '=', o.id).execute()) as { seq: number; modified: string }[];
    const isFirst = versions.every((v) => v.modified > modified);
    const isLast = versions.every((v) => v.modified < modified);
    if (isFirst) await trx.updateTable('intel_collection_entries').set({ is_first: 0 }).where('collection_id', '=', collectionId).where('stix_id', '=', o.id).execute();
    if (isLast) await trx.updateTable('intel_collection_entries').set({ is_last: 0 }).where('collection_id', '=', collectionId).where('stix_id', '=', o.id).execute();
    await trx.insertInto('intel_collection_entries').values({ collection_id: collectionId, seq, stix_id: o.id, modified, type: o.type, spec_version: String(rec['spec_version'] ?? '2.1'), date_added: added, is_first: isFirst ? 1 : 0, is_last: isLast ? 1 : 0 }).execute();
    forgetPages(collectionId);
    return 'added';
  }

  async function refreshFlags(trx: AnyDb, collectionId: string, stixId: string): Promise<void> {
    const versions = (await trx.selectFrom('intel_collection_entries').select(['seq', 'modified']).where('collection_id', '=', collectionId).where('stix_id', '=', stixId).execute()) as { seq: number; modified: string }[];
    if (versions.length === 0) return;
    const sorted = [...versions].sort((a, b) => (a.modified < b.modified ? -1 : a.modified > b.modified ? 1 : 0));
    await trx.updateTable('intel_collection_entries').set({ is_first: 0, is_last: 0 }).where('collection_id', '=', collectionId).where('stix_id', '=', stixId).execute();
    await trx.updateTable('intel_collection_entries').set({ is_first: 1 }).where('collection_id', '=', collectionId).where('seq', '=', sorted[0]!.seq).execute();
    await trx.updateTable('intel_collection_entries').set({ is_last: 1 }).where('collection_id', '=', collectionId).where('seq', '=', sorted.at(-1)!.seq).execute();
  }

  async function ownedIds(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = (await k.selectFrom('intel_objects').select('stix_id').distinct().where('stix_id', 'in', [...new Set(ids)]).where('origin', '=', 'mamori').execute()) as { stix_id: string }[];
    return new Set(rows.map((x) => x.stix_id));
  }

  /** Rewrites references in a member's object from the member's marked ids to ours. */
  /**
   * Why a member's object may not be stored, or undefined: STIX lets only an object's creator version it (§3.6), a
   * (id, modified) pair names one content only (§3.6.1), and a reference to one of our objects must name one the
   * member can see in this collection (it is refused, never rewritten to an id the member cannot read).
   */
  async function memberObjectProblem(r: SharingRecipient, g: GroupView, collectionId: string, posted: JsonObject, o: StixObject): Promise<string | undefined> {
    const rec = o as unknown as JsonObject;
    const modified = String(rec['modified'] ?? rec['created'] ?? '');
    if ((await ownedIds([unmarkId(keyOf(r.userId), o.id), o.id])).size > 0) return 'id: this is the NCO\'s object; only its creator may publish a new version of it.';
    const earlier = (await k.selectFrom('intel_objects').select(['modified', 'origin', 'origin_org_id', 'created_by', 'json']).where('stix_id', '=', o.id).execute()) as { modified: string; origin: string; origin_org_id: string | null; created_by: string | null; json: string }[];
    if (earlier.some((x) => x.origin !== 'member' || x.origin_org_id !== r.orgId || x.created_by !== ((rec['created_by_ref'] as string | undefined) ?? null))) {
      return 'id: another identity created this object; only its creator may publish a new version of it (STIX 2.1 §3.6).';
    }
    const same = earlier.find((x) => x.modified === modified);
    if (same !== undefined && canonicalize(JSON.parse(same.json)) !== canonicalize(rec)) {
      return 'modified: an object with this id and modified but different content exists; a new version needs a later modified (STIX 2.1 §3.6.1).';
    }
    // References the canonical form changed point at our objects: each must be one the member can see here.
    for (const [name, ours] of changedRefs(posted, rec)) {
      const rows = (await entryQuery(k, collectionId, { limit: 1000, after: 0, addedAfter: undefined, ids: [ours], types: [], versions: { first: false, last: false, all: true, timestamps: [] }, specVersions: [] }, r, false).execute()) as EntryRow[];
      if (!rows.some((row) => row.stix_id === ours && allowed(r, g, row))) return `${name}: refers to no object you can see in this collection; refer to one you can read here.`;
    }
    return undefined;
  }

  /** The _ref/_refs values that differ between a posted object and its canonical form: (property, our id). */
  function changedRefs(posted: unknown, canonical: unknown, name = ''): [string, string][] {
    if (typeof posted === 'string') return typeof canonical === 'string' && canonical !== posted && (name.endsWith('_ref') || name.endsWith('_refs')) ? [[name, canonical]] : [];
    if (Array.isArray(posted) && Array.isArray(canonical)) return posted.flatMap((x, i) => changedRefs(x, canonical[i], name));
    if (posted !== null && typeof posted === 'object' && canonical !== null && typeof canonical === 'object') {
      return Object.entries(posted as JsonObject).flatMap(([kk, vv]) => changedRefs(vv, (canonical as JsonObject)[kk], kk));
    }
    return [];
  }

  async function canonicalRefs(r: SharingRecipient, o: JsonObject): Promise<JsonObject> {
    const key = keyOf(r.userId);
    const refs: string[] = [];
    const walk = (v: unknown, name = ''): void => {
      if (typeof v === 'string' && (name.endsWith('_ref') || name.endsWith('_refs'))) refs.push(v);
      else if (Array.isArray(v)) v.forEach((x) => walk(x, name));
      else if (v !== null && typeof v === 'object') for (const [kk, vv] of Object.entries(v as JsonObject)) walk(vv, kk);
    };
    walk(o);
    const candidates = new Map(refs.map((ref) => [ref, unmarkId(key, ref)]));
    const ours = await ownedIds([...candidates.values()]);
    const map = (v: unknown, name = ''): unknown => {
      if (typeof v === 'string' && (name.endsWith('_ref') || name.endsWith('_refs'))) { const c = candidates.get(v); return c !== undefined && ours.has(c) ? c : v; }
      if (Array.isArray(v)) return v.map((x) => map(x, name));
      if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v as JsonObject).map(([kk, vv]) => [kk, map(vv, kk)]));
      return v;
    };
    return map(o) as JsonObject;
  }

  async function adjustConfidence(ctx: RequestContext, r: SharingRecipient, canonicalId: string, outcome: 'confirmed' | 'false_positive', count: number): Promise<{ before: number; after: number }> {
    const id = newId(clock.nowMs());
    const at = isoUtc(clock.nowMs());
    // Read the current version inside the transaction, after taking a per-indicator lock on PostgreSQL (a
    // row lock would not do: the next version is a new row; SQLite runs one writer at a time), so two
    // sightings at once each build on the other's confidence instead of one being lost.
    return db.transaction(async (trx) => {
      if (db.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtextextended(${`sighting:${canonicalId}`}, 0))`.execute(trx);
      const q = trx.selectFrom('intel_objects').selectAll().where('stix_id', '=', canonicalId).orderBy('modified', 'desc').limit(1);
      const latest = (await q.executeTakeFirst()) as (EntryRow & { source_type: string; source_id: string | null }) | undefined;
      if (latest === undefined || latest.type !== 'indicator') throw new AppError('NOT_FOUND', 'No indicator with this id; give the id from your copy of the intelligence.');
      const ind = JSON.parse(latest.json) as JsonObject & { id: string; type: string; created: string; modified: string };
      const before = typeof ind['confidence'] === 'number' ? ind['confidence'] : 50;
      // Each confirmation closes a fifth of the gap to 100; each false positive takes off a quarter, so one
      // member alone cannot swing an indicator from certain to worthless.
      let after = before;
      for (let i = 0; i < Math.min(count, 5); i++) after = outcome === 'confirmed' ? after + Math.ceil((100 - after) / 5) : after - Math.ceil(after / 4);
      after = Math.max(0, Math.min(100, after));
      if (after !== before) {
        const v = newVersion(ind, { confidence: after } as never, new Date(clock.nowMs()));
        if (!v.ok) throw v.error;
        const collections = (await trx.selectFrom('intel_collection_entries').select('collection_id').distinct().where('stix_id', '=', canonicalId).execute()) as { collection_id: string }[];
        for (const c of collections) {
          await storeInCollection(trx, c.collection_id, v.value as unknown as StixObject, { origin: latest.origin, originOrgId: latest.origin_org_id, sourceType: latest.source_type, sourceId: latest.source_id, redRecipients: JSON.parse(latest.red_recipients) as string[], tlp: (latest.tlp ?? null) as TlpLevel | null });
        }
        await trx.updateTable('indicators').set({ confidence: after, last_seen: at }).where('stix_id', '=', canonicalId).execute();
      }
      await trx.insertInto('sharing_sightings').values({ id, indicator_id: canonicalId, reporter_user_id: r.userId, reporter_org_id: r.orgId, outcome, count, confidence_before: before, confidence_after: after, at }).execute();
      await audit.record(ctx, { action: 'intel:sighting', object: { type: 'indicator', id: canonicalId }, outcome: 'success', details: { outcome, count, before, after } }, trx);
      return { before, after };
    });
  }

  async function upsertIndicator(trx: AnyDb, v: { kind: string; value: string; sourceType: string; sourceId: string; stixId: string | null; confidence: number; validUntil: string | null }): Promise<void> {
    const now = isoUtc(clock.nowMs());
    const found = (await trx.selectFrom('indicators').select('id').where('kind', '=', v.kind).where('value', '=', v.value).where('source_type', '=', v.sourceType).where('source_id', '=', v.sourceId).executeTakeFirst()) as { id: string } | undefined;
    if (found === undefined) {
      await trx.insertInto('indicators').values({ id: newId(clock.nowMs()), kind: v.kind, value: v.value, source_type: v.sourceType, source_id: v.sourceId, stix_id: v.stixId, confidence: v.confidence, first_seen: now, last_seen: now, valid_until: v.validUntil }).execute();
    } else {
      await trx.updateTable('indicators').set({ confidence: v.confidence, last_seen: now, valid_until: v.validUntil, stix_id: v.stixId }).where('id', '=', found.id).execute();
    }
  }

  async function indicatorsFrom(trx: AnyDb, o: JsonObject, sourceType: string, sourceId: string, defaultConfidence: number): Promise<number> {
    if (o['type'] === 'indicator' && o['revoked'] === true && typeof o['id'] === 'string') {
      // A later version revokes the indicator (STIX 2.1 §3.6.3): what it put in the store ends now, kept for history.
      const now = isoUtc(clock.nowMs());
      await trx.updateTable('indicators').set({ valid_until: now }).where('stix_id', '=', o['id']).where('source_type', '=', sourceType).where('source_id', '=', sourceId)
        .where((eb) => eb.or([eb('valid_until', 'is', null), eb('valid_until', '>', now)])).execute();
      return 0;
    }
    if (o['type'] !== 'indicator' || o['pattern_type'] !== 'stix' || typeof o['pattern'] !== 'string') return 0;
    const p = parsePattern(o['pattern']);
    if (!p.ok) return 0;
    let n = 0;
    for (const x of extractIndicators(p.value)) {
      if (x.kind === 'port') continue;
      const value = x.kind === 'hash' ? `${x.algorithm}:${x.value}` : String(x.value);
      await upsertIndicator(trx, { kind: x.kind, value, sourceType, sourceId, stixId: String(o['id']), confidence: typeof o['confidence'] === 'number' ? o['confidence'] : defaultConfidence, validUntil: typeof o['valid_until'] === 'string' ? o['valid_until'] : null });
      n++;
    }
    return n;
  }

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

  const activity = createIntelActivity({
    db, policy, audit,
    recipient: async (ctx) => { const r = await recipientOf(ctx); return { orgId: r.orgId, isNco: r.isNco }; },
    canonicalId: async (ctx, id) => {
      const canonical = unmarkId(keyOf((await recipientOf(ctx)).userId), id);
      return (await ownedIds([canonical])).has(canonical) ? canonical : id;
    },
    orgName: async (orgId) => (await directory({ orgId })).orgs.get(orgId)?.name ?? null,
  });

  const feeds = createFeedAdmin({ db, policy, audit, clock, fetch: fetchImpl, indicatorsFrom });
  const leaks = createLeakTracing({ db, policy, audit, directory, keyOf, ownedIds });

  const service = {
    ...activity,
    ...feeds,
    ...leaks,
    // --- council and groups -------------------------------------------------------------------
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

    // --- drafts and release --------------------------------------------------------------------
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

    // --- reading: every path out goes through readPage/exportBundle and so through mayReceive ----
    readPage,
    readObjects,

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

    /** The caller's copy of a collection (or of the objects `ids` names) as a STIX bundle (latest versions), for export. @see STIX 2.1 §8 */
    async exportBundle(ctx: RequestContext, collectionId: string, ids: readonly string[] = []): Promise<string> {
      if (ids.length > 1000) throw new AppError('VALIDATION_FAILED', 'Export at most 1000 objects at once; select fewer.');
      const parts: string[] = [];
      let after = 0;
      for (;;) {
        // `ids` are the caller's own ids (as its copy names them): a selection exports exactly those objects, marked the same way.
        const page = await readPage(ctx, collectionId, { limit: maxPage, after, addedAfter: undefined, ids: [...ids], types: [], versions: { first: false, last: true, all: false, timestamps: [] }, specVersions: [] }, 'export', 'bundle');
        parts.push(...page.objects);
        if (!page.more || page.next === undefined) break;
        after = Number(Buffer.from(page.next, 'base64url').toString('utf8').slice(2));
      }
      return `{"type":"bundle","id":"bundle--${uuid4()}","objects":[${parts.join(',')}]}`;
    },

    /** Versions of one object in a collection, for the caller (marked `modified` for our objects). @see TAXII 2.1 §5.8 */
    async versions(ctx: RequestContext, collectionId: string, objectId: string, query: ObjectQuery): Promise<ObjectPage> {
      return readPage(ctx, collectionId, { ...query, ids: [objectId], versions: { first: false, last: false, all: true, timestamps: [] } }, 'taxii', 'versions');
    },

    /** Whether an object (by the caller's id) is in a collection at all, before TLP (for 404 answers). */
    async objectExists(ctx: RequestContext, collectionId: string, objectId: string): Promise<boolean> {
      const { r } = await readableGroup(ctx, collectionId, 'read');
      const row = await k.selectFrom('intel_collection_entries').select('seq').where('collection_id', '=', collectionId).where('stix_id', 'in', canonicalIds(r, [objectId])).executeTakeFirst();
      return row !== undefined;
    },

    /**
     * Adds objects a member posts to a collection (TAXII POST): each is validated; references to our
     * objects are mapped back from the member's copy; sightings of our indicators adjust confidence.
     * @see TAXII 2.1 §5.5 (POST), §4.3
     */
    async addObjects(ctx: RequestContext, apiRoot: string, collectionId: string, envelope: unknown): Promise<StatusResource> {
      policy.require(ctx, 'intel:submit');
      const { r, g } = await readableGroup(ctx, collectionId, 'write');
      if (typeof envelope !== 'object' || envelope === null || !Array.isArray((envelope as { objects?: unknown }).objects)) throw new AppError('BAD_REQUEST', 'Send an envelope: {"objects": [ … STIX objects … ]}.');
      const items = (envelope as { objects: unknown[] }).objects;
      const successes: StatusDetail[] = [];
      const failures: StatusDetail[] = [];
      for (const item of items) {
        const rec = (typeof item === 'object' && item !== null ? item : {}) as JsonObject;
        const ref = { id: String(rec['id'] ?? ''), version: String(rec['modified'] ?? rec['created'] ?? '') };
        const parsed = parseStixObject(await canonicalRefs(r, rec));
        if (!parsed.ok) {
          failures.push({ ...ref, message: parsed.error.details?.map((d) => `${d.path}: ${d.message}`).join('; ').slice(0, 500) ?? 'invalid' });
          continue;
        }
        const problem = await memberObjectProblem(r, g, collectionId, rec, parsed.value);
        if (problem !== undefined) {
          failures.push({ ...ref, message: problem });
          continue;
        }
        try {
          await db.transaction(async (trx) => {
            await storeInCollection(trx, collectionId, parsed.value, { origin: 'member', originOrgId: r.orgId, sourceType: 'member', sourceId: r.orgId, redRecipients: [] });
          });
          successes.push(ref);
        } catch (e) {
          failures.push({ ...ref, message: e instanceof AppError ? e.message : 'could not be stored' });
          continue;
        }
        const o = parsed.value as unknown as JsonObject;
        if (o['type'] === 'sighting' && typeof o['sighting_of_ref'] === 'string' && (await ownedIds([o['sighting_of_ref']])).has(o['sighting_of_ref'])) {
          const falsePositive = Array.isArray(o['labels']) && (o['labels'] as unknown[]).includes('false-positive');
          await adjustConfidence(ctx, r, o['sighting_of_ref'], falsePositive ? 'false_positive' : 'confirmed', typeof o['count'] === 'number' ? Math.max(1, o['count']) : 1);
        }
      }
      const status: StatusResource = {
        id: newId(clock.nowMs()), status: 'complete', request_timestamp: isoUtc(clock.nowMs()),
        total_count: items.length, success_count: successes.length, successes, failure_count: failures.length, failures, pending_count: 0, pendings: [],
      };
      await db.transaction(async (trx) => {
        await trx.insertInto('taxii_status').values({ id: status.id, api_root: apiRoot, user_id: r.userId, body: JSON.stringify(status), created_at: status.request_timestamp }).execute();
        await trx.deleteFrom('taxii_status').where('created_at', '<', isoUtc(clock.nowMs() - statusRetentionMs)).execute();
        await audit.record(ctx, { action: 'intel:submit', object: { type: 'collection', id: collectionId }, outcome: 'success', details: { total: items.length, succeeded: successes.length, status: status.id } }, trx);
      });
      return status;
    },

    /** A status resource, to the user who made the request. @see TAXII 2.1 §4.3 */
    async status(ctx: RequestContext, apiRoot: string, statusId: string): Promise<StatusResource> {
      const r = await recipientOf(ctx);
      const row = (await k.selectFrom('taxii_status').selectAll().where('id', '=', statusId).where('api_root', '=', apiRoot).executeTakeFirst()) as { user_id: string; body: string; created_at: string } | undefined;
      const expired = row !== undefined && Date.parse(row.created_at) < clock.nowMs() - statusRetentionMs;
      if (row === undefined || row.user_id !== r.userId || expired) {
        throw new AppError('NOT_FOUND', `No status ${statusId} of yours (status resources are kept ${Math.round(statusRetentionMs / 3_600_000)} hours after their request).`);
      }
      return JSON.parse(row.body) as StatusResource;
    },

    /**
     * Deletes an object (the versions `match[version]` selects) from a collection: writers only, and
     * outside the NCO only objects their own organization submitted.
     * @see TAXII 2.1 §5.7
     */
    async deleteObject(ctx: RequestContext, collectionId: string, objectId: string, query: ObjectQuery): Promise<number> {
      policy.require(ctx, 'intel:delete');
      const { r } = await readableGroup(ctx, collectionId, 'write');
      const rows = (await entryQuery(k, collectionId, { ...query, ids: [objectId], versions: query.versions }, r, false).execute()) as EntryRow[];
      if (rows.length === 0) throw new AppError('NOT_FOUND', `No object ${objectId} in this collection.`);
      if (!r.isNco && rows.some((x) => x.origin_org_id !== r.orgId)) throw new AppError('FORBIDDEN', 'You may delete only objects your organization added.');
      await db.transaction(async (trx) => {
        for (const row of rows) await trx.deleteFrom('intel_collection_entries').where('collection_id', '=', collectionId).where('seq', '=', Number(row.seq)).execute();
        await refreshFlags(trx, collectionId, rows[0]!.stix_id);
        await trx.updateTable('sharing_groups').set((eb) => ({ version: eb('version', '+', 1) })).where('id', '=', collectionId).execute();
        await audit.record(ctx, { action: 'intel:delete', object: { type: 'collection', id: collectionId }, outcome: 'success', details: { object: rows[0]!.stix_id, versions: rows.length } }, trx);
      });
      forgetPages(collectionId);
      return rows.length;
    },

    // --- sightings ----------------------------------------------------------------------------
    /** A member's sighting (or false positive) of an indicator raises (or lowers) its confidence. @see STIX 2.1 §5.2 */
    async recordSighting(ctx: RequestContext, input: SightingInput): Promise<{ indicatorId: string; before: number; after: number }> {
      policy.require(ctx, 'intel:submit');
      const v = parseOrThrow(SightingInputSchema, input, 'sighting');
      const r = await recipientOf(ctx);
      const canonical = unmarkId(keyOf(r.userId), v.indicatorId);
      const id = (await ownedIds([canonical])).has(canonical) ? canonical : v.indicatorId;
      const res = await adjustConfidence(ctx, r, id, v.outcome, v.count);
      return { indicatorId: v.indicatorId, ...res };
    },

    /** Indicator values analysis matches against (feeds and our released intelligence), still valid at now. */
    async activeIndicators(ctx: RequestContext, kind?: string): Promise<{ kind: string; value: string; sourceType: string; sourceId: string; confidence: number; validUntil: string | null }[]> {
      policy.require(ctx, 'indicator:read');
      let q = k.selectFrom('indicators').selectAll().where((eb) => eb.or([eb('valid_until', 'is', null), eb('valid_until', '>', isoUtc(clock.nowMs()))]));
      if (kind !== undefined) q = q.where('kind', '=', kind);
      const rows = (await q.orderBy('kind').orderBy('value').execute()) as { kind: string; value: string; source_type: string; source_id: string; confidence: number; valid_until: string | null }[];
      return rows.map((x) => ({ kind: x.kind, value: x.value, sourceType: x.source_type, sourceId: x.source_id, confidence: Number(x.confidence), validUntil: x.valid_until }));
    },
  };

  return service;
}

function uuid4(): string {
  const b = randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
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

/** The sharing service's interface. */
export type SharingService = ReturnType<typeof createSharingService>;
