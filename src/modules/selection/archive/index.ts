/** @module The flow archive's face: the archive (queries, retention, purge, compaction) and its stream writer. */
export { createFlowArchive, inventoryByBasis, type ArchiveDeps, type BasisInventory, type CompactionResult, type FlowArchive } from './archive.js';
export { FlowQuerySchema, GROUP_KEYS, presentRow, queryFlows, readsPortRollups, readsRollupsOnly, type FlowQueryDeps, type FlowQuery, type FlowQueryResult } from './query.js';
export { createArchiveWriter, DEFAULT_WRITER_SETTINGS, type AppendOutcome, type ArchiveRefusal, type ArchiveWriter, type ArchiveWriterDeps, type ArchiveWriterSettings, type ArchiveWriterStats } from './writer.js';
export { checkPurgeRequest, FOREIGN_ORDER, liveFiles, listPartitions, PARQUET_OPTIONS, SPILL_DIR, WAL_DIR } from './layout.js';
export { damagedFiles, parquetDamage, DAMAGED_DIR, type DamagedFile } from './damage.js';
export { claimSpillDir, openSpilling, type SpillDir } from './spill.js';
export { writeRollup, ROLLUP_SUFFIX } from './rollup.js';
export { portRollupChunks, portRollupMeta, portRollupOf, portRollupPartition, readPortRollups, rollupsAnswering, usableRollups, PORT_ROLLUP_SUFFIX, type PortRollup } from './port-rollup.js';
