/** @module All detectors behind one ingest/flush: the analysis stage of the pipeline (select → analyse → findings). */
import type { AnalysisBatch, HostTable } from './batch.js';
import { createBeaconDetector, type BeaconConfig, type BeaconDetector } from './beacon.js';
import { createDdosDetector, type DdosConfig, type DdosDetector } from './ddos.js';
import { IndicatorMatcher, createIndicatorDetector } from './indicators.js';
import { createScanDetector, type ScanConfig, type ScanDetector } from './scan.js';
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
  const on = { beacon: kinds.includes('beacon'), scan: kinds.includes('scan'), ddos: kinds.includes('ddos'), indicators: kinds.includes('indicators') };
  // Only the kinds this set runs are built at once: a beacon detector's tables alone are ≈ 260 MB of typed arrays and
  // ≈ 10 MB of heap (which every major GC marks), and a set of one kind (a detector thread, a worker's scan family) never
  // reads the others. One of the others is built when asked for (its config, in tests).
  let beaconD = on.beacon ? createBeaconDetector(hosts, config.beacon) : undefined;
  let scanD = on.scan ? createScanDetector(hosts, config.scan) : undefined;
  let ddosD = on.ddos ? createDdosDetector(hosts, config.ddos) : undefined;
  const beaconOf = (): BeaconDetector => (beaconD ??= createBeaconDetector(hosts, config.beacon));
  const scanOf = (): ScanDetector => (scanD ??= createScanDetector(hosts, config.scan));
  const ddosOf = (): DdosDetector => (ddosD ??= createDdosDetector(hosts, config.ddos));
  let indicators = createIndicatorDetector(hosts, matcher);
  let flows = 0;
  /** Findings that changed, by detector kind (only the kinds this set runs). */
  const flushByKind = (nowMs: number, final = false): Partial<Record<DetectorKind, FindingUpdate[]>> => {
    const out: Partial<Record<DetectorKind, FindingUpdate[]>> = {};
    if (beaconD !== undefined && on.beacon) out.beacon = beaconD.flush(nowMs, final);
    if (scanD !== undefined && on.scan) out.scan = scanD.flush(final ? Infinity : nowMs);
    if (ddosD !== undefined && on.ddos) out.ddos = ddosD.flush(nowMs, final);
    if (on.indicators) out.indicators = indicators.flush();
    return out;
  };
  return {
    get beacon(): BeaconDetector { return beaconOf(); },
    get scan(): ScanDetector { return scanOf(); },
    get ddos(): DdosDetector { return ddosOf(); },
    /** The kinds this set runs. */
    kinds: DETECTOR_KINDS.filter((k) => on[k]),
    /** Feeds one batch to every detector. */
    ingest(b: AnalysisBatch): void {
      flows += b.length;
      if (beaconD !== undefined && on.beacon) beaconD.ingest(b);
      if (scanD !== undefined && on.scan) scanD.ingest(b);
      if (ddosD !== undefined && on.ddos) ddosD.ingest(b);
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
      // The kinds this set runs (one not run has no state to report).
      return { flows, hosts: hosts.size, beacon: on.beacon ? beaconOf().stats() : undefined, scan: on.scan ? scanOf().stats() : undefined, ddos: on.ddos ? ddosOf().stats() : undefined, indicators: indicators.stats() };
    },
  };
}

/** All detectors. */
export type Detectors = ReturnType<typeof createDetectors>;
