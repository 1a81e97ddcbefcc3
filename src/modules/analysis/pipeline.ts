/** @module All detectors behind one ingest/flush: the analysis stage of the pipeline (select → analyse → findings). */
import type { AnalysisBatch, HostTable } from './batch.js';
import { createBeaconDetector, type BeaconConfig } from './beacon.js';
import { createDdosDetector, type DdosConfig } from './ddos.js';
import { IndicatorMatcher, createIndicatorDetector } from './indicators.js';
import { createScanDetector, type ScanConfig } from './scan.js';
import type { FindingUpdate } from './schema.js';

/** The detector kinds, in the order `flush` lists their findings. */
export const DETECTOR_KINDS = ['beacon', 'scan', 'ddos', 'indicators'] as const;

/** One detector kind (beacon includes botnet fan-in, which it computes from the same pairs). */
export type DetectorKind = (typeof DETECTOR_KINDS)[number];

/** Detector parameters (each part optional: defaults in docs/detection.md). */
export interface DetectorsConfig {
  beacon?: Partial<BeaconConfig>;
  scan?: Partial<ScanConfig>;
  ddos?: Partial<DdosConfig>;
}

/**
 * Creates every detector over one host table (or only `kinds`: a detector thread runs a subset). `ingest`
 * takes minimized batches; `flush(now)` returns the findings that changed since the last flush (the caller
 * stores them: the store merges by kind and subject).
 * @see docs/detection.md
 */
export function createDetectors(hosts: HostTable, config: DetectorsConfig = {}, matcher: IndicatorMatcher = new IndicatorMatcher([]), kinds: readonly DetectorKind[] = DETECTOR_KINDS) {
  const beacon = createBeaconDetector(hosts, config.beacon);
  const scan = createScanDetector(hosts, config.scan);
  const ddos = createDdosDetector(hosts, config.ddos);
  let indicators = createIndicatorDetector(hosts, matcher);
  const on = { beacon: kinds.includes('beacon'), scan: kinds.includes('scan'), ddos: kinds.includes('ddos'), indicators: kinds.includes('indicators') };
  let flows = 0;
  /** Findings that changed, by detector kind (only the kinds this set runs). */
  const flushByKind = (nowMs: number, final = false): Partial<Record<DetectorKind, FindingUpdate[]>> => {
    const out: Partial<Record<DetectorKind, FindingUpdate[]>> = {};
    if (on.beacon) out.beacon = beacon.flush(nowMs, final);
    if (on.scan) out.scan = scan.flush(final ? Infinity : nowMs);
    if (on.ddos) out.ddos = ddos.flush(nowMs, final);
    if (on.indicators) out.indicators = indicators.flush();
    return out;
  };
  return {
    beacon, scan, ddos,
    /** The kinds this set runs. */
    kinds: DETECTOR_KINDS.filter((k) => on[k]),
    /** Feeds one batch to every detector. */
    ingest(b: AnalysisBatch): void {
      flows += b.length;
      if (on.beacon) beacon.ingest(b);
      if (on.scan) scan.ingest(b);
      if (on.ddos) ddos.ingest(b);
      if (on.indicators) indicators.ingest(b);
    },
    /** Findings that changed; `final` closes every open window (end of a file or of a replay). */
    flush(nowMs: number, final = false): FindingUpdate[] {
      const by = flushByKind(nowMs, final);
      return DETECTOR_KINDS.flatMap((k) => by[k] ?? []);
    },
    flushByKind,
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
