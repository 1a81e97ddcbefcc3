/** @module The cluster's replicated flow archive: a JetStream object store bucket, the archiver's rounds into it, each API replica's cache of it, and retention and purge over it. */
export { openArchiveBucket, type ArchiveBucket, type ArchiveBucketOptions, type ObjectInfo } from './bucket.js';
export { createArchiveCache, replacesOf, type ArchiveCache, type ArchiveCacheStats } from './cache.js';
export { createClusterArchive, type ClusterArchive, type ClusterArchiveDeps } from './cluster-archive.js';
export { createRoundStore, type Recovered, type RoundRecord, type RoundStore, type Staged, type StoredRound } from './rounds.js';
export { flowObjectName, parseFlowObject, purgedObjectName, roundObjectName, META, type FlowObjectName } from './names.js';
export { createArchiveHub, type ArchiveHub, type ArchiveHubDeps } from './hub.js';
export { compactBucket, type BucketCompaction } from './compaction.js';
