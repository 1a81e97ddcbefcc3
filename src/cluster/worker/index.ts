/** @module The analysis worker role: partitions owned by lease, detectors per partition family, findings stored before acknowledging. */
export { createAnalysisWorker, type AnalysisWorker, type WorkerDeps, type WorkerSettings, type WorkerStats } from './worker.js';
export { pgLeases, pgSingleton, type Leases, type PartitionKey, type SingletonLease } from './leases.js';
export { tuneWorkerHeap, WORKER_HEAP_GROWING_PERCENT } from './heap.js';
