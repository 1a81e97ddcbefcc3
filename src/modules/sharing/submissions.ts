/** @module Members' writes: objects posted over TAXII (creator and reference checks), status resources, deletion, and sightings. */
import { isoUtc } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import { sql } from '#platform/db/index.js';
import { AppError, parseOrThrow } from '#platform/errors/index.js';
import { newId } from '#platform/ids/index.js';
import { canonicalize } from '#modules/audit/index.js';
import type { GroupView, SharingAudience, SharingRecipient } from './audience.js';
import type { EntryRow, SharingDelivery } from './delivery.js';
import type { SharingDeps } from './deps.js';
import { unmarkId, type JsonObject } from './fingerprint.js';
import type { IntelStore } from './intel-store.js';
import { SightingInputSchema, type SightingInput } from './schema.js';
import { newVersion, parseStixObject, type StixObject, type TlpLevel } from './stix/index.js';
import type { ObjectQuery, StatusDetail, StatusResource } from './taxii.js';

/** TAXII POST, status and DELETE, and sightings; each write goes through the audience's rights and the intel store. */
export function createSubmissions(deps: SharingDeps, audience: SharingAudience, delivery: SharingDelivery, store: IntelStore) {
  const { db, policy, audit, clock } = deps;
  const k = db.kysely;
  const statusRetentionMs = deps.settings?.statusRetentionMs ?? 7 * 86_400_000;
  const { keyOf, recipientOf, readableGroup, forgetPages } = audience;
  const { entryQuery, allowed } = delivery;
  const { storeInCollection, refreshFlags, ownedIds } = store;

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

  /** Rewrites references in a member's object from the member's marked ids to ours. */
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

  return {
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
  };
}
