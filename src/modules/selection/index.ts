/** @module The selection module's public face: where addresses are, legal bases, selection, minimization, pseudonyms, the flow archive. */
export { createLocator, createLocatorFactory, type LocatorFactory, loadIpLocationDb, parseRirDelegated, parseCountryCsv, bundledCountryDataDir, packCountry, unpackCountry, LOC_DOMESTIC, LOC_FOREIGN, LOC_UNKNOWN, LOC_IGNORE, type Locator, type LocatorOptions, type LocationName } from './geo.js';
export { openMmdb, mmdbCountryRanges, mmdbRecordCountry, MmdbError, type MmdbReader, type MmdbMetadata } from './mmdb.js';
export { DEFAULT_SPECIAL_RANGES, SPECIAL_TREATMENTS, withOverrides, type SpecialRange, type SpecialTreatment } from './special-ranges.js';
export type { RangeSet } from './ranges.js';
export { CATEGORIES, classifyPair, type Category } from './classify.js';
export { BASIS_KINDS, FLOW_FIELDS, BasisInputSchema, addMonthsUtc, basisStatus, type BasisInput, type BasisKind, type FlowField, type LegalBasis, type Selectors } from './schema.js';
export { compileBases, type CompiledBases } from './matcher.js';
export { createSelector, SelectionCounters, OUTCOMES, LOSS_REASONS, type CounterRow, type LossReason, type Outcome, type Selector, type SelectionResult } from './select.js';
export { createSelectedBatch, readSelectedFlow, allowedFieldsOf, ADDR_ABSENT, ADDR_FOREIGN, ADDR_PSEUDONYM, type SelectedBatch, type SelectedFlow } from './minimize.js';
export { Pseudonymizer, derivedKeyStore, periodOf, periodBounds, PSEUDONYM_BYTES, ROTATIONS, type PseudonymKeyStore, type Rotation } from './pseudonym.js';
export { lookupSlot, lookupSlotAt, parsePrefix } from './ranges.js';
export { openKeystore, readKekFile, kekFromSecret, resolveKek, isDestructible, type Keystore, type KeyPeriod } from './keystore.js';
export { createLiveLocator, type LiveLocator, type DomesticRangeChange } from './live-locator.js';
export { createSelectionService, type SelectionService, type SelectionDeps, type ApprovalCheck, type BasisChange } from './service.js';
export { selectionMigrations } from './migrations.js';
export { createFlowArchive, inventoryByBasis, createArchiveWriter, presentRow, queryFlows, readsPortRollups, readsRollupsOnly, writeRollup, portRollupChunks, portRollupMeta, portRollupOf, portRollupPartition, readPortRollups, rollupsAnswering, usableRollups, PORT_ROLLUP_SUFFIX, type PortRollup, ROLLUP_SUFFIX, type FlowQueryDeps, DEFAULT_WRITER_SETTINGS, FlowQuerySchema, GROUP_KEYS, checkPurgeRequest, FOREIGN_ORDER, liveFiles, listPartitions, PARQUET_OPTIONS, SPILL_DIR, claimSpillDir, openSpilling, type SpillDir, WAL_DIR, type AppendOutcome, type ArchiveDeps, type ArchiveRefusal, type ArchiveWriter, type ArchiveWriterSettings, type ArchiveWriterStats, type BasisInventory, type CompactionResult, type FlowArchive, type FlowQuery, type FlowQueryResult } from './archive/index.js';
export { selectionRoutes } from './routes.js';
