/** @module All detectors behind one ingest/flush: the analysis stage of the pipeline (select → analyse → findings). */
import type { AnalysisBatch, HostTable } from './batch.js';
import { createBeaconDetector, type BeaconConfig } from './beacon.js';
import { createDdosDetector, type DdosConfig } from './ddos.js';
import { IndicatorMatcher, createIndicatorDetector } from './indicators.js';
import { createScanDetector, type ScanConfig } from './scan.js';
import type { FindingUpdate } from './schema.js';

/** Detector parameters (each part optional: defaults in docs/detection.md). */
export interface DetectorsConfig {
  beacon?: Partial<BeaconConfig>;
  scan?: Partial<ScanConfig>;
  ddos?: Partial<DdosConfig>;
}

/**
 * Creates every detector over one host table. `ingest` takes minimized batches; `flush(now)` returns the
 * findings that changed since the last flush (the caller stores them: the store merges by kind and subject).
 * @see docs/detection.md
 */
export function createDetectors(hosts: HostTable, config: DetectorsConfig = {}, matcher: IndicatorMatcher = new IndicatorMatcher([])) {
  const beacon = createBeaconDetector(hosts, config.beacon);
  const scan = createScanDetector(hosts, config.scan);
  const ddos = createDdosDetector(hosts, config.ddos);
  let indicators = createIndicatorDetector(hosts, matcher);
  let flows = 0;
  return {
    beacon, scan, ddos,
    /** Feeds one batch to every detector. */
    ingest(b: AnalysisBatch): void {
      flows += b.length;
      beacon.ingest(b);
      scan.ingest(b);
      ddos.ingest(b);
      indicators.ingest(b);
    },
    /** Findings that changed; `final` closes every open window (end of a file or of a replay). */
    flush(nowMs: number, final = false): FindingUpdate[] {
      return [...beacon.flush(nowMs, final), ...scan.flush(final ? Infinity : nowMs), ...ddos.flush(nowMs, final), ...indicators.flush()];
    },
    /** Replaces the indicator set (after the store changed). */
    setIndicators(next: IndicatorMatcher): void {
      indicators = createIndicatorDetector(hosts, next);
    },
    stats() {
      return { flows, hosts: hosts.size, beacon: beacon.stats(), scan: scan.stats(), ddos: ddos.stats(), indicators: indicators.stats() };
    },
  };
}

/** All detectors. */
export type Detectors = ReturnType<typeof createDetectors>;
