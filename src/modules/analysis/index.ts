/** @module Public surface of the analysis module: the input contract, the detectors, findings and cases. */
export { HostTable, copyFlowRow, createAnalysisBatch, hashSlot, hashSlotAt, hashWordsAt, internWordRows, type AnalysisBatch, type AnalysisHost, type HostTableShare } from './batch.js';
export { DEFAULT_BEACON_CONFIG, INTERVAL_BUCKETS_S, createBeaconDetector, type BeaconConfig, type BeaconDetector, type PairScore } from './beacon.js';
export { DEFAULT_SCAN_CONFIG, createScanDetector, scanReadsFlow, type ScanConfig, type ScanDetector } from './scan.js';
export { AMPLIFIER_PORTS, DEFAULT_DDOS_CONFIG, createDdosDetector, type DdosConfig, type DdosDetector } from './ddos.js';
export { IndicatorMatcher, createIndicatorDetector, memoryIndicatorSource, type Indicator, type IndicatorSource } from './indicators.js';
export { DETECTOR_KINDS, createDetectors, type DetectorKind, type Detectors, type DetectorsConfig } from './pipeline.js';
export { assignKinds, createDetectorThreads, createSlotBatch, type DetectorThreads, type DetectorThreadsOptions, type SlotBatch } from './shards.js';
export { BloomFilter, CountMinSketch, HyperLogLog } from './sketch.js';
export * from './schema.js';
export { analysisMigrations, createAnalysisService, dbIndicatorSource, type AnalysisService, type AnalysisServiceDeps } from './service.js';
export { analysisRoutes } from './routes.js';
export { createFindingsPurger, rootHash, type FindingsPurge, type FindingsPurger } from './purge.js';
