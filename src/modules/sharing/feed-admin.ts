/** @module External TAXII feeds: registering them, listing them (never their credentials) and pulling their indicators. */
import type { Clock } from '#platform/clock/index.js';
import { isoUtc } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import type { AnyDb, Database } from '#platform/db/index.js';
import { AppError, parseOrThrow } from '#platform/errors/index.js';
import { newId } from '#platform/ids/index.js';
import { keysetPage, pageQuery, type Page, type PageQuery } from '#platform/paging/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import { createTaxiiClient, type FetchLike } from './client.js';
import { sha256Hex } from './content.js';
import type { JsonObject } from './fingerprint.js';
import { FeedInputSchema, type Feed, type FeedAuth, type FeedInput } from './schema.js';

/** What feed administration needs from the sharing service. */
export interface FeedAdminDeps {
  db: Database;
  policy: PolicyEngine;
  audit: AuditRecorder;
  clock: Clock;
  fetch: FetchLike;
  /** Stores an object's indicator values (source 'feed'); returns how many. */
  indicatorsFrom(trx: AnyDb, o: JsonObject, sourceType: string, sourceId: string, defaultConfidence: number): Promise<number>;
}

type FeedRow = { id: string; name: string; url: string; auth: string; interval_seconds: number; default_confidence: number; cursor: string | null; last_pulled_at: string | null; last_error: string | null; pulled_objects: number };

function toFeed(r: FeedRow): Feed {
  return { id: r.id, name: r.name, url: r.url, auth: (JSON.parse(r.auth) as FeedAuth).kind, intervalSeconds: r.interval_seconds, defaultConfidence: r.default_confidence, cursor: r.cursor, lastPulledAt: r.last_pulled_at, lastError: r.last_error, pulledObjects: Number(r.pulled_objects) };
}

/** Feed administration; its methods are part of the sharing service. */
export function createFeedAdmin(deps: FeedAdminDeps) {
  const { db, policy, audit, clock, indicatorsFrom } = deps;
  const k = db.kysely;
  const fetchImpl = deps.fetch;
  const admin = {
    /** Registers an external TAXII 2.1 collection to pull indicators from. */
    async addFeed(ctx: RequestContext, input: FeedInput): Promise<Feed> {
      policy.require(ctx, 'feeds:manage');
      const v = parseOrThrow(FeedInputSchema, input, 'feed');
      const row = { id: newId(clock.nowMs()), name: v.name, url: v.url.endsWith('/') ? v.url : `${v.url}/`, auth: JSON.stringify(v.auth), interval_seconds: v.intervalSeconds, default_confidence: v.defaultConfidence, cursor: null, last_pulled_at: null, last_error: null, pulled_objects: 0, created_at: isoUtc(clock.nowMs()) };
      await db.transaction(async (trx) => {
        if ((await trx.selectFrom('sharing_feeds').select('id').where('name', '=', v.name).executeTakeFirst()) !== undefined) throw new AppError('CONFLICT', `A feed named "${v.name}" exists.`);
        await trx.insertInto('sharing_feeds').values(row).execute();
        await audit.record(ctx, { action: 'feeds:manage', object: { type: 'feed', id: row.id }, outcome: 'success', details: { urlHash: sha256Hex(row.url) } }, trx);
      });
      return toFeed(row);
    },

    /** Lists feeds (never their credentials). */
    async listFeeds(ctx: RequestContext, page: Partial<PageQuery> = {}): Promise<Page<Feed>> {
      policy.require(ctx, 'feeds:manage');
      type Row = Parameters<typeof toFeed>[0];
      const { rows, nextCursor } = await keysetPage(pageQuery(page), { columns: ['name', 'id'], shape: ['string', 'string'], direction: 'asc' }, (r: Row) => [r.name, r.id], async (after, take) => {
        let q = k.selectFrom('sharing_feeds').selectAll().orderBy('name').orderBy('id').limit(take);
        if (after !== undefined) q = q.where(after);
        return (await q.execute()) as Row[];
      });
      return { items: rows.map(toFeed), nextCursor };
    },

    /**
     * Pulls a feed now: objects added since the last pull, page by page, their indicator values into
     * the indicator store (source_type 'feed'); the cursor is the server's X-TAXII-Date-Added-Last.
     * @see TAXII 2.1 §5.4, §3.4.2
     */
    async pullFeed(ctx: RequestContext, idOrName: string): Promise<{ feed: Feed; objects: number; indicators: number }> {
      policy.require(ctx, 'feeds:manage');
      const row = (await k.selectFrom('sharing_feeds').selectAll().where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)])).executeTakeFirst()) as (Parameters<typeof toFeed>[0] & { auth: string }) | undefined;
      if (row === undefined) throw new AppError('NOT_FOUND', `No feed "${idOrName}"; list them with \`mamori feeds list\`.`);
      const client = createTaxiiClient({ fetch: fetchImpl, auth: JSON.parse(row.auth) as FeedAuth });
      let cursor = row.cursor;
      let objects = 0;
      let indicators = 0;
      let next: string | undefined;
      try {
        const since = row.cursor;
        for (let pages = 0; pages < 10_000; pages++) {
          // `next` continues the same query, so added_after stays what the first page asked.
          const page = await client.getObjects(row.url, { ...(since !== null ? { addedAfter: since } : {}), ...(next !== undefined ? { next } : {}), limit: 1000 });
          await db.transaction(async (trx) => {
            for (const o of page.objects) indicators += await indicatorsFrom(trx, o, 'feed', row.id, row.default_confidence);
          });
          objects += page.objects.length;
          // The cursor moves only when the pull completes, so a failed pull repeats from where it was.
          if (page.dateAddedLast !== undefined && (cursor === null || page.dateAddedLast > cursor)) cursor = page.dateAddedLast;
          if (!page.more || page.next === undefined) break;
          next = page.next;
        }
        const at = isoUtc(clock.nowMs());
        await db.transaction(async (trx) => {
          await trx.updateTable('sharing_feeds').set({ cursor, last_pulled_at: at, last_error: null, pulled_objects: Number(row.pulled_objects) + objects }).where('id', '=', row.id).execute();
          await audit.record(ctx, { action: 'feeds:pull', object: { type: 'feed', id: row.id }, outcome: 'success', details: { objects, indicators } }, trx);
        });
      } catch (e) {
        const message = e instanceof AppError ? e.message : (e as Error).message;
        await k.updateTable('sharing_feeds').set({ last_pulled_at: isoUtc(clock.nowMs()), last_error: message.slice(0, 500) }).where('id', '=', row.id).execute();
        await audit.record(ctx, { action: 'feeds:pull', object: { type: 'feed', id: row.id }, outcome: 'failure', details: { objects } });
        // The remote server's 401/403/404 are the feed's problem, not the caller's: answered as 503 with what
        // to check, so a dashboard does not read them as its own session ending.
        const remoteRefusal = e instanceof AppError && (e.code === 'UNAUTHENTICATED' || e.code === 'FORBIDDEN' || e.code === 'NOT_FOUND');
        if (remoteRefusal) throw new AppError('UNAVAILABLE', `Pulling feed "${row.name}" failed: ${message} Check the feed's URL and credentials (\`mamori feeds list\`).`, { cause: e });
        throw e instanceof AppError ? e : new AppError('UNAVAILABLE', `Pulling feed "${row.name}" failed: ${message}`, { cause: e });
      }
      const fresh = (await k.selectFrom('sharing_feeds').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow()) as Parameters<typeof toFeed>[0];
      return { feed: toFeed(fresh), objects, indicators };
    },

    /** Pulls every feed whose interval has passed (what the scheduler calls); failures are recorded on the feed. */
    async pullDueFeeds(ctx: RequestContext): Promise<{ pulled: number; failed: number }> {
      const now = clock.nowMs();
      const feeds = (await k.selectFrom('sharing_feeds').select(['id', 'interval_seconds', 'last_pulled_at']).execute()) as { id: string; interval_seconds: number; last_pulled_at: string | null }[];
      let pulled = 0;
      let failed = 0;
      for (const f of feeds) {
        if (f.last_pulled_at !== null && Date.parse(f.last_pulled_at) + f.interval_seconds * 1000 > now) continue;
        try { await admin.pullFeed(ctx, f.id); pulled++; } catch { failed++; }
      }
      return { pulled, failed };
    },
  };
  return admin;
}
