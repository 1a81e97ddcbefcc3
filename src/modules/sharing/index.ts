/** @module The sharing module's public face: STIX 2.1, TLP 2.0 enforcement, sharing groups, TAXII 2.1 server and client, feeds, leak tracing. */
export * from './stix/index.js';
export { createSharingService, type SharingService, type SharingDeps, type ObjectPage, type DirectoryOrg, type DirectoryUser, type SharingCacheEvent } from './service.js';
export { contentHash } from './content.js';
export { leakedObjects, type LeakReport, type LeakCandidate } from './leaks.js';
export { sharingMigrations } from './migrations.js';
export { mayReceive, DEFAULT_TLP, GOVERNMENT_ORG_KINDS, type Recipient, type Audience, type ReleaseDecision } from './tlp.js';
export { markObject, markId, unmarkId, recipientKey, compareMarks, disseminationRef, type MarkEvidence } from './fingerprint.js';
export { buildDraftObjects, sanitizeText, patternFor, NCO_IDENTITY_ID, ncoIdentity, type Removal } from './drafts.js';
export { createTaxiiClient, type TaxiiClient, type FetchLike, type ObjectsPage } from './client.js';
export { createFeedScheduler, type FeedScheduler } from './feeds.js';
export { TAXII_MEDIA_TYPE, STIX_MEDIA_TYPE, acceptsTaxii, isTaxiiContentType, parseObjectQuery, type StatusResource } from './taxii.js';
export { loadOrCreateFingerprintKey } from './keys.js';
export { taxiiRoutes } from './taxii-routes.js';
export { recallRoutes, sharingRoutes } from './routes.js';
export type { Draft, DraftInput, Feed, FeedInput, Group, GroupInput } from './schema.js';
export { createIntelPurger, recallMigrations, RecallSchema, type IntelPurge, type IntelPurger, type Recall, type NamedRecall, type RecallBasis } from './purge.js';
