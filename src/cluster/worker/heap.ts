/** @module The analysis worker's V8 heap setting: fewer full collections of a small heap that flows keep promoting garbage into. */
import { setFlagsFromString } from 'node:v8';

/**
 * The old generation's growing factor a worker runs with, as V8's `--heap-growing-percent` (3 ×). A worker's detectors keep
 * their state in typed arrays, so its JS heap is small (≈ 40 MB live) while flows promote garbage into it steadily; V8 then
 * sets the next collection ≈ 10 MB above what is live and marks the whole heap every second or two (bench/cluster with
 * --trace-gc at 250,000 flows/s: "allocation limit" at 40 of 49 MB). At 3 × it collects a third as often for ≈ 80 MB more.
 */
export const WORKER_HEAP_GROWING_PERCENT = 200;

/**
 * Sets the worker's heap growing factor unless node was started with one (`node --heap-growing-percent=N`, 0: V8's own
 * choice). V8 reads the factor each time it sizes the heap after a collection, so setting it at start takes effect.
 * Returns whether it set it.
 */
export function tuneWorkerHeap(execArgv: readonly string[] = process.execArgv, set: (flags: string) => void = setFlagsFromString): boolean {
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a))) return false;
  set(`--heap-growing-percent=${WORKER_HEAP_GROWING_PERCENT}`);
  return true;
}
