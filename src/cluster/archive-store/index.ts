/** @module The cluster's replicated flow archive: a JetStream object store bucket, the archiver's rounds into it, each API replica's cache of it, and retention and purge over it. */
export { OBJECT_CHUNK_BYTES, openArchiveBucket, type ArchiveBucket, type ArchiveBucketOptions, type ObjectInfo } from './bucket.js';
export { archiveCacheMetrics, createArchiveCache, replacesOf, DEFAULT_CACHE_OPTIONS, type ArchiveCache, type ArchiveCacheOptions, type ArchiveCacheStats, type CacheLease } from './cache.js';
export { createReplicaQueries } from './query.js';
export { createClusterArchive, type ClusterArchive, type ClusterArchiveDeps } from './cluster-archive.js';
export { createRoundStore, type Recovered, type RoundRecord, type RoundStore, type Staged, type StoredRound } from './rounds.js';
export { flowObjectName, parseArchiveObject, rollupObjectName, parseFlowObject, purgedObjectName, roundObjectName, META, type FlowObjectName } from './names.js';
export { createArchiveHub, type ArchiveHub, type ArchiveHubDeps } from './hub.js';
export { compactBucket, type BucketCompaction } from './compaction.js';
