/** @module Sharing: the service composed of its parts (groups, releases, delivery under TLP, submissions, feeds, activity, leak tracing). */
import { createIntelActivity } from './activity.js';
import { createAudience } from './audience.js';
import type { FetchLike } from './client.js';
import { createDelivery } from './delivery.js';
import type { SharingDeps } from './deps.js';
import { createFeedAdmin } from './feed-admin.js';
import { unmarkId } from './fingerprint.js';
import { createGroups } from './groups.js';
import { createIntelStore } from './intel-store.js';
import { createLeakTracing } from './leaks.js';
import { createReleases } from './releases.js';
import { createSubmissions } from './submissions.js';

export type { DirectoryOrg, DirectoryUser, SharingCacheEvent, SharingDeps } from './deps.js';
export type { ObjectsEnvelope, SharingRecipient } from './audience.js';
export type { ObjectPage } from './delivery.js';

/** Creates the sharing service. @see DESIGN.md "sharing"; issue 9 */
export function createSharingService(deps: SharingDeps) {
  const { db, policy, audit, clock } = deps;
  const fetchImpl: FetchLike = deps.fetch ?? ((url, init) => fetch(url, init));
  const audience = createAudience(deps);
  const { directory, keyOf, recipientOf } = audience;
  const store = createIntelStore(deps, audience.forgetPages);
  const { ownedIds, indicatorsFrom } = store;
  const delivery = createDelivery(deps, audience);

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
    ...createGroups(deps, audience),
    ...createReleases(deps, audience, store),
    // --- reading: every path out goes through readPage/exportBundle and so through mayReceive ----
    readPage: delivery.readPage,
    readObjects: delivery.readObjects,
    forgetCaches: audience.forgetCaches,
    applyCacheEvent: audience.applyCacheEvent,
    pageCacheStats: audience.pageCacheStats,
    exportBundle: delivery.exportBundle,
    versions: delivery.versions,
    objectExists: delivery.objectExists,
    ...createSubmissions(deps, audience, delivery, store),
    activeIndicators: store.activeIndicators,
  };

  return service;
}

/** The sharing service's interface. */
export type SharingService = ReturnType<typeof createSharingService>;
