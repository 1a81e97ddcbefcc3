/** @module The flow archive's face: the archive (queries, retention, purge, compaction) and its stream writer. */
export { createFlowArchive, FlowQuerySchema, GROUP_KEYS, presentRow, type ArchiveDeps, type BasisInventory, type CompactionResult, type FlowArchive, type FlowQuery } from './archive.js';
export { createArchiveWriter, DEFAULT_WRITER_SETTINGS, type AppendOutcome, type ArchiveRefusal, type ArchiveWriter, type ArchiveWriterDeps, type ArchiveWriterSettings, type ArchiveWriterStats } from './writer.js';
export { liveFiles, listPartitions, WAL_DIR } from './layout.js';
