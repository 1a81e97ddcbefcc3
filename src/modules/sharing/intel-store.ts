/** @module The intel store: object versions into collections (sequence, first/last flags) and indicator values into the indicator store. */
import { isoUtc } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import type { AnyDb } from '#platform/db/index.js';
import { newId } from '#platform/ids/index.js';
import { contentHash } from './content.js';
import type { SharingDeps } from './deps.js';
import type { JsonObject } from './fingerprint.js';
import { extractIndicators, parsePattern, tlpOf, type StixObject, type TlpLevel } from './stix/index.js';

/** Writes to collections and the indicator store; `forgetPages` drops a changed collection's served pages. */
export function createIntelStore(deps: SharingDeps, forgetPages: (collectionId: string) => void) {
  const { db, policy, clock } = deps;
  const k = db.kysely;

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

  return {
    storeInCollection, refreshFlags, ownedIds, indicatorsFrom,
    /** Indicator values analysis matches against (feeds and our released intelligence), still valid at now. */
    async activeIndicators(ctx: RequestContext, kind?: string): Promise<{ kind: string; value: string; sourceType: string; sourceId: string; confidence: number; validUntil: string | null }[]> {
      policy.require(ctx, 'indicator:read');
      let q = k.selectFrom('indicators').selectAll().where((eb) => eb.or([eb('valid_until', 'is', null), eb('valid_until', '>', isoUtc(clock.nowMs()))]));
      if (kind !== undefined) q = q.where('kind', '=', kind);
      const rows = (await q.orderBy('kind').orderBy('value').execute()) as { kind: string; value: string; source_type: string; source_id: string; confidence: number; valid_until: string | null }[];
      return rows.map((x) => ({ kind: x.kind, value: x.value, sourceType: x.source_type, sourceId: x.source_id, confidence: Number(x.confidence), validUntil: x.valid_until }));
    },
  };
}

/** The intel-store part of the sharing service. */
export type IntelStore = ReturnType<typeof createIntelStore>;
