/** @module Selection at the edge from the centre's followed state: fails closed (drops and counts every flow) while the state is not current, and drops the flows of a period whose key the edge does not hold. */
import type { FlowBatch } from '#modules/collection/index.js';
import { createFlowBatch } from '#modules/collection/index.js';
import { createLiveLocator, type CompiledBases, createSelectedBatch, createSelector, periodBounds, periodOf, Pseudonymizer, SelectionCounters, type LiveLocator, type Locator, type Rotation, type SelectedBatch, type Selector } from '#modules/selection/index.js';
import type { Clock } from '#platform/clock/index.js';

/** What the edge's selection reads from the follower. */
export interface FollowedState {
  notCurrent(): string | undefined;
  bases(): CompiledBases;
  rotation(): Rotation | undefined;
  key(period: string): Uint8Array | undefined;
}

/** What it needs besides. */
export interface EdgeSelectionDeps {
  state: FollowedState;
  /** Builds the locator with the given domestic prefixes (country data read once, on first use). */
  buildLocator(domesticPrefixes: readonly string[]): Locator;
  /** The domestic prefixes for a list of the centre's operator ranges (the edge's configured prefixes added). */
  domesticPrefixes(ranges: readonly string[]): string[];
  clock: Clock;
  pseudonymCacheEntries?: number;
}

/** Flows the edge dropped before selection, by reason (selection's counters hold the rest). */
export interface EdgeSelectionStats {
  /** While the state was not current (no bases, ranges or heartbeat yet, or the heartbeat too old). */
  droppedNoState: number;
  /** Flows of a period whose pseudonym key the edge does not hold (not yet published, shredded, or too old). */
  droppedNoKey: number;
}

/** The edge's selection. */
export interface EdgeSelection {
  /** Kept flows, in `out` when it has room (the caller's batch reused from call to call: no new arrays per batch). */
  select(batch: FlowBatch, out?: SelectedBatch): SelectedBatch;
  /** The operators' ranges changed at the centre: applied before the next batch. */
  applyRanges(ranges: readonly string[]): void;
  /** A period's key was withdrawn: its cached pseudonyms are dropped. */
  forgetPeriod(period: string): void;
  counters: SelectionCounters;
  stats(): EdgeSelectionStats;
  live: LiveLocator;
}

/**
 * Creates the edge's selection: the same selector as the centre's (bases compiled from the bucket, the
 * live locator with the centre's operator ranges, pseudonyms under the centre's period keys), behind two
 * fail-closed gates. Hot path: bench/cluster (the period gate is one comparison per flow while every flow is
 * of a period already checked).
 * @see DESIGN.md invariants 1–3
 */
export function createEdgeSelection(deps: EdgeSelectionDeps): EdgeSelection {
  const { state, clock } = deps;
  const counters = new SelectionCounters(clock.nowMs());
  const live = createLiveLocator(deps.buildLocator, deps.domesticPrefixes([]));
  const stats: EdgeSelectionStats = { droppedNoState: 0, droppedNoKey: 0 };
  let selector: Selector | undefined;
  let pseudonyms: Pseudonymizer | undefined;
  let rotation: Rotation | undefined;
  let scratch = createFlowBatch(0);

  function selectorFor(r: Rotation): Selector {
    if (selector === undefined || rotation !== r) {
      rotation = r;
      pseudonyms = new Pseudonymizer({ keyFor: (p) => state.key(p) }, deps.pseudonymCacheEntries ?? 1 << 16);
      selector = createSelector({ locator: live.current, pseudonyms, rotation: r, clock, bases: state.bases, counters });
    }
    return selector;
  }

  /** The rows whose period has a key, copied when some do not; undefined when none do. */
  function keyedRows(batch: FlowBatch, r: Rotation): FlowBatch | undefined {
    const n = batch.length;
    let lo = 0, hi = -1; // [lo, hi): the bounds of the last period found keyed
    let keep: Uint8Array | undefined;
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const t = batch.start[i]!;
      if (t >= lo && t < hi) { kept++; continue; }
      if (state.key(periodOf(t, r)) !== undefined) { [lo, hi] = periodBounds(t, r); kept++; continue; }
      keep ??= new Uint8Array(n).fill(1);
      keep[i] = 0;
    }
    if (keep === undefined) return batch;
    stats.droppedNoKey += n - kept;
    if (kept === 0) return undefined;
    if (scratch.start.length < kept) scratch = createFlowBatch(Math.max(kept, 1024));
    const out = scratch;
    out.exporters = batch.exporters;
    let k = 0;
    for (let i = 0; i < n; i++) {
      if (keep[i] === 0) continue;
      out.start[k] = batch.start[i]!; out.end[k] = batch.end[i]!;
      out.srcAddr.set(batch.srcAddr.subarray(i * 16, i * 16 + 16), k * 16);
      out.dstAddr.set(batch.dstAddr.subarray(i * 16, i * 16 + 16), k * 16);
      out.srcPort[k] = batch.srcPort[i]!; out.dstPort[k] = batch.dstPort[i]!; out.proto[k] = batch.proto[i]!; out.tcpFlags[k] = batch.tcpFlags[i]!;
      out.bytes[k] = batch.bytes[i]!; out.packets[k] = batch.packets[i]!; out.samplingRate[k] = batch.samplingRate[i]!;
      out.inIf[k] = batch.inIf[i]!; out.outIf[k] = batch.outIf[i]!; out.exporterIndex[k] = batch.exporterIndex[i]!;
      k++;
    }
    out.length = k;
    return out;
  }

  return {
    select(batch, out) {
      const r = state.rotation();
      if (state.notCurrent() !== undefined || r === undefined) {
        stats.droppedNoState += batch.length;
        return createSelectedBatch(0);
      }
      const rows = keyedRows(batch, r);
      if (rows === undefined) return createSelectedBatch(0);
      return selectorFor(r).select(rows, out).kept;
    },
    applyRanges(ranges) { live.apply(deps.domesticPrefixes(ranges)); },
    forgetPeriod(period) { pseudonyms?.forget(period); },
    counters,
    stats: () => ({ ...stats }),
    live,
  };
}
