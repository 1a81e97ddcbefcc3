/** @module The wire between edges and the centre: the batch format and the partitions. */
export { WIRE_MAGIC, WIRE_MAX_ROWS, WIRE_VERSION, WireError, decodeWireBatch, decodeWireForAnalysis, encodeWireBatch, encodeWireRows, type WireAnalysisBatch, type WireBatch, type WireColumns, type WireMeta } from './codec.js';
export { FAMILIES, FAMILY_KINDS, layoutDifference, PARTITION_HASH, PartitionScratch, wireLayout, type WireLayout, partitionRows, partitionSubject, slotPartition, splitByPartition, type Family, type PartitionRows } from './partition.js';
export { SeenIds, SeenSequences } from './seen.js';
