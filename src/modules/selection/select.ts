/** @module Selection at the collection point: classify each flow, keep it only if a legal basis covers it at its own time, minimize it; count the rest. */
import { addressView, type FlowBatch } from '#modules/collection/index.js';
import type { Clock } from '#platform/clock/index.js';
import { isoUtc } from '#platform/clock/index.js';
import { CAT_DOMESTIC, CAT_INBOUND, CAT_OUTBOUND, CAT_TRANSIT, CAT_UNCLASSIFIED, CATEGORIES, type Category } from './classify.js';
import { LOC_DOMESTIC, LOC_FOREIGN, LOC_IGNORE, LOC_UNKNOWN, type Locator } from './geo.js';
import { exporterMasks, type CompiledBases } from './matcher.js';
import { ADDR_ABSENT, ADDR_FOREIGN, ADDR_PSEUDONYM, createSelectedBatch, type SelectedBatch } from './minimize.js';
import { periodBounds, periodOf, type Pseudonymizer, type Rotation } from './pseudonym.js';
import { lookupSlotAt } from './ranges.js';
import { FIELD_BIT } from './schema.js';

/** What happened to a flow: kept, or the reason it was dropped. */
export const OUTCOMES = ['kept', 'domestic', 'special_range', 'unknown_location', 'no_basis', 'expired', 'revoked'] as const;

/** One outcome. */
export type Outcome = (typeof OUTCOMES)[number];

const O_KEPT = 0, O_DOMESTIC = 1, O_SPECIAL = 2, O_UNKNOWN = 3, O_NO_BASIS = 4, O_EXPIRED = 5, O_REVOKED = 6;
const NO = OUTCOMES.length;
const NC = CATEGORIES.length;

/** One row of the aggregate counters: the only trace a dropped flow leaves. */
export interface CounterRow {
  exporter: string;
  category: Category;
  outcome: Outcome;
  flows: number;
}

/**
 * Why a kept flow was lost after selection: the one place flows are dropped for want of capacity is the
 * pipeline's admission (a whole batch, when the detectors' queue or the archive writer's buffer is full,
 * or the archive cannot write). @see docs/selection.md#when-the-server-falls-behind
 */
export const LOSS_REASONS = ['analysis_behind', 'archive_behind', 'archive_failed'] as const;

/** One loss reason. */
export type LossReason = (typeof LOSS_REASONS)[number];

/** Aggregate counters per exporter × category × outcome since `since`, and kept flows lost later by reason. */
export class SelectionCounters {
  private readonly rows = new Map<string, CounterRow>();
  private readonly lostByReason = new Map<LossReason, number>();
  readonly since: string;

  constructor(nowMs: number) {
    this.since = isoUtc(nowMs);
  }

  /** Adds `n` flows to a cell. */
  add(exporter: string, category: Category, outcome: Outcome, n: number): void {
    const key = `${exporter}\u0000${category}\u0000${outcome}`;
    const row = this.rows.get(key);
    if (row === undefined) this.rows.set(key, { exporter, category, outcome, flows: n });
    else row.flows += n;
  }

  /** Counts `n` kept flows lost after selection (see LOSS_REASONS). */
  lose(reason: LossReason, n: number): void {
    this.lostByReason.set(reason, (this.lostByReason.get(reason) ?? 0) + n);
  }

  /** Every non-zero cell, sorted, and the kept flows lost by reason. */
  snapshot(): { since: string; rows: CounterRow[]; lost: { reason: LossReason; flows: number }[] } {
    const rows = [...this.rows.values()].map((r) => ({ ...r })).sort((a, b) => a.exporter.localeCompare(b.exporter) || a.category.localeCompare(b.category) || a.outcome.localeCompare(b.outcome));
    return { since: this.since, rows, lost: LOSS_REASONS.filter((r) => this.lostByReason.has(r)).map((reason) => ({ reason, flows: this.lostByReason.get(reason)! })) };
  }

  /** Total flows with `outcome` (all exporters and categories). */
  total(outcome: Outcome): number {
    let n = 0;
    for (const r of this.rows.values()) if (r.outcome === outcome) n += r.flows;
    return n;
  }
}

/** Rows per two-pass chunk of `select`: their pseudonym cache records stay in the CPU caches between the passes. */
const SELECT_CHUNK = 256;
let locScratch = new Uint8Array(2 * 8192);
const places = new Int32Array(SELECT_CHUNK);
const touched = new Uint32Array(1); // what the first pass read, stored so the reads are not optimized away
const EMPTY32 = new Uint32Array(0);
const wordViews = new WeakMap<Uint8Array, Uint32Array>();

/**
 * A Uint32Array over the same memory as an address column (kept per column: batches are reused), or an empty one
 * when the column does not start on a 4-byte boundary. Slots then copy as four words rather than sixteen bytes:
 * the byte loops were the hottest lines of `select` (bench/ingest, V8's line ticks).
 */
function wordsOf(b: Uint8Array): Uint32Array {
  let w = wordViews.get(b);
  if (w === undefined) {
    w = b.byteOffset % 4 === 0 && b.length % 4 === 0 ? new Uint32Array(b.buffer, b.byteOffset, b.length / 4) : EMPTY32;
    wordViews.set(b, w);
  }
  return w;
}

/** What the selector needs. */
export interface SelectorDeps {
  /** The locator, or a function returning the one in force (read once per batch, so a range change reaches the next batch). */
  locator: Locator | (() => Locator);
  pseudonyms: Pseudonymizer;
  rotation: Rotation;
  clock: Clock;
  /** The current compiled bases; read once per batch, so a reload takes effect at the next batch. */
  bases: () => CompiledBases;
  counters: SelectionCounters;
}

/** Result of selecting one batch. */
export interface SelectionResult {
  kept: SelectedBatch;
  /** Per-batch counts `[(exporter * categories + category) * outcomes + outcome]`. */
  counts: Float64Array;
}

/** The selector: one call per FlowBatch, in memory, before anything is written anywhere. */
export interface Selector {
  select(batch: FlowBatch, out?: SelectedBatch): SelectionResult;
}

/**
 * Creates the selector. Each flow is classified; domestic↔domestic flows are counted and dropped at
 * once; the rest are kept only if a basis covers them at the flow's own time and is still valid now,
 * with only the basis's allowed fields and domestic addresses replaced by pseudonyms.
 * Hot path: bench/selection.
 * @see DESIGN.md invariants 1–3
 */
export function createSelector(deps: SelectorDeps): Selector {
  const { pseudonyms, rotation, clock } = deps;
  const locatorNow = typeof deps.locator === 'function' ? deps.locator : ((l: Locator) => () => l)(deps.locator);
  return {
    select(batch, given) {
      const locator = locatorNow();
      const geo = locator.table;
      const miss = locator.missValue;
      const hold = locator.hold;
      const n = batch.length;
      const out = given !== undefined && given.start.length >= n ? given : createSelectedBatch(n);
      const c = deps.bases();
      const W = c.words;
      const nb = c.bases.length;
      const now = clock.nowMs();
      const nowOk = new Uint8Array(nb);
      for (let j = 0; j < nb; j++) nowOk[j] = c.revoked[j] === 0 && now < c.validUntil[j]! ? 1 : 0;
      const exMask = exporterMasks(c, batch.exporters);
      const counts = new Float64Array(Math.max(1, batch.exporters.length) * NC * NO);
      out.length = 0;
      out.basisIds = c.bases.map((b) => b.id);
      out.exporters = [...batch.exporters];
      out.periods = [];
      let pStart = 0, pEnd = -1, pIdx = 0;
      const fTable = c.foreign.table, fMasks = c.foreign.masks, fAny = c.foreign.any;
      const dTable = c.domestic.table, dMasks = c.domestic.masks, dAny = c.domestic.any;
      const src = batch.srcAddr, dst = batch.dstAddr;
      const src32 = wordsOf(src), dst32 = wordsOf(dst), osrc32 = wordsOf(out.srcAddr), odst32 = wordsOf(out.dstAddr);
      const sv = addressView(src), dv = addressView(dst);
      const words = src32.length > 0 && dst32.length > 0 && osrc32.length > 0 && odst32.length > 0;
      const cand = new Uint32Array(W);
      const bStartField = FIELD_BIT.start, bEnd = FIELD_BIT.end, bSrc = FIELD_BIT.srcAddr, bDst = FIELD_BIT.dstAddr;
      const locs = locScratch.length >= n * 2 ? locScratch : (locScratch = new Uint8Array(n * 2));
      let acc = 0;
      for (let from = 0; from < n; from += SELECT_CHUNK) {
        const to = Math.min(n, from + SELECT_CHUNK);
        // First pass: each row's locations, and the pseudonym cache records of its domestic addresses
        // touched, so their cache misses overlap rather than stall the second pass row by row.
        let np = 0;
        for (let i = from; i < to; i++) {
          const o = i * 16;
          let sl = lookupSlotAt(geo, sv, o, miss) >>> 16;
          let dl = lookupSlotAt(geo, dv, o, miss) >>> 16;
          // Fail closed while operator ranges change: a held address is of unknown location, so its flow is dropped.
          if (hold !== undefined) {
            if (lookupSlotAt(hold, sv, o, 0) !== 0) sl = LOC_UNKNOWN;
            if (lookupSlotAt(hold, dv, o, 0) !== 0) dl = LOC_UNKNOWN;
          }
          locs[i * 2] = sl;
          locs[i * 2 + 1] = dl;
          if (sl === LOC_DOMESTIC && dl === LOC_FOREIGN) places[np++] = pseudonyms.place(src, o, sv);
          else if (dl === LOC_DOMESTIC && sl === LOC_FOREIGN) places[np++] = pseudonyms.place(dst, o, dv);
        }
        for (let j = 0; j < np; j++) acc ^= pseudonyms.touch(places[j]!);
        for (let i = from; i < to; i++) {
          const o = i * 16;
          const ex = batch.exporterIndex[i]!;
          const sl = locs[i * 2]!;
          const dl = locs[i * 2 + 1]!;
          let cat: number;
          if (sl === LOC_FOREIGN) cat = dl === LOC_FOREIGN ? CAT_TRANSIT : dl === LOC_DOMESTIC ? CAT_INBOUND : CAT_UNCLASSIFIED;
          else if (sl === LOC_DOMESTIC) cat = dl === LOC_FOREIGN ? CAT_OUTBOUND : dl === LOC_DOMESTIC ? CAT_DOMESTIC : CAT_UNCLASSIFIED;
          else cat = CAT_UNCLASSIFIED;
          const cell = (ex * NC + cat) * NO;
          if (cat === CAT_DOMESTIC) { counts[cell + O_DOMESTIC]!++; continue; } // invariant 1: nothing of it goes further
          if (cat === CAT_UNCLASSIFIED) { counts[cell + (sl === LOC_IGNORE || dl === LOC_IGNORE ? O_SPECIAL : O_UNKNOWN)]!++; continue; }
          // Candidate bases: every selector must agree.
          let fId1: number, fId2: number, dId = 0;
          if (cat === CAT_TRANSIT) { fId1 = lookupSlotAt(fTable, sv, o, 0); fId2 = lookupSlotAt(fTable, dv, o, 0); }
          else if (cat === CAT_INBOUND) { fId1 = fId2 = lookupSlotAt(fTable, sv, o, 0); dId = lookupSlotAt(dTable, dv, o, 0); }
          else { fId1 = fId2 = lookupSlotAt(fTable, dv, o, 0); dId = lookupSlotAt(dTable, sv, o, 0); }
          const pr = batch.proto[i]!, sp = batch.srcPort[i]!, dp = batch.dstPort[i]!;
          let any = 0;
          for (let w = 0; w < W; w++) {
            const dm = cat === CAT_TRANSIT ? 0xffffffff : dMasks[dId * W + w]! | dAny[w]!;
            const m = c.category[cat * W + w]! & exMask[ex * W + w]! & c.proto[pr * W + w]! & (c.port[sp * W + w]! | c.port[dp * W + w]!) &
              (fMasks[fId1 * W + w]! | fMasks[fId2 * W + w]! | fAny[w]!) & dm;
            cand[w] = m;
            any |= m;
          }
          if (any === 0) { counts[cell + O_NO_BASIS]!++; continue; }
          const t0 = batch.start[i]!;
          const e0 = batch.end[i]!;
          const t1 = e0 > t0 ? e0 : t0;
          let chosen = -1;
          let sawRevoked = false;
          for (let w = 0; w < W && chosen < 0; w++) {
            let m = cand[w]!;
            while (m !== 0) {
              const bit = 31 - Math.clz32(m & -m);
              m &= m - 1;
              const j = w * 32 + bit;
              if (c.revoked[j] === 1) { sawRevoked = true; continue; }
              if (nowOk[j] === 1 && c.validFrom[j]! <= t0 && t1 < c.validUntil[j]!) { chosen = j; break; }
            }
          }
          if (chosen < 0) { counts[cell + (sawRevoked ? O_REVOKED : O_EXPIRED)]!++; continue; }
          counts[cell + O_KEPT]!++;
          // Minimize: copy only the allowed fields; everything else stays zero.
          const k = out.length++;
          const fm = c.fieldMask[chosen]!;
          const ko = k * 16;
          out.basisIndex[k] = chosen;
          out.category[k] = cat;
          out.fields[k] = fm;
          out.start[k] = (fm & bStartField) !== 0 ? t0 : 0;
          out.end[k] = (fm & bEnd) !== 0 ? e0 : 0;
          if (t0 < pStart || t0 >= pEnd) {
            [pStart, pEnd] = periodBounds(t0, rotation);
            const label = periodOf(t0, rotation);
            pIdx = out.periods.indexOf(label);
            if (pIdx < 0) { pIdx = out.periods.length; out.periods.push(label); }
            pseudonyms.usePeriod(label);
          }
          out.periodIndex[k] = pIdx;
          // Slots copied byte by byte: no subarray view per flow (bench/pipeline).
          if ((fm & bSrc) === 0) { out.srcKind[k] = ADDR_ABSENT; zeroSlot(out.srcAddr, ko); }
          else if (sl === LOC_FOREIGN) { out.srcKind[k] = ADDR_FOREIGN; if (words) copyWords(src32, i * 4, osrc32, k * 4); else copySlot(src, o, out.srcAddr, ko); }
          else { out.srcKind[k] = ADDR_PSEUDONYM; pseudonyms.write(src, o, out.srcAddr, ko, words ? osrc32 : undefined, sv); }
          if ((fm & bDst) === 0) { out.dstKind[k] = ADDR_ABSENT; zeroSlot(out.dstAddr, ko); }
          else if (dl === LOC_FOREIGN) { out.dstKind[k] = ADDR_FOREIGN; if (words) copyWords(dst32, i * 4, odst32, k * 4); else copySlot(dst, o, out.dstAddr, ko); }
          else { out.dstKind[k] = ADDR_PSEUDONYM; pseudonyms.write(dst, o, out.dstAddr, ko, words ? odst32 : undefined, dv); }
          out.srcPort[k] = (fm & FIELD_BIT.srcPort) !== 0 ? sp : 0;
          out.dstPort[k] = (fm & FIELD_BIT.dstPort) !== 0 ? dp : 0;
          out.proto[k] = (fm & FIELD_BIT.proto) !== 0 ? pr : 0;
          out.tcpFlags[k] = (fm & FIELD_BIT.tcpFlags) !== 0 ? batch.tcpFlags[i]! : 0;
          out.bytes[k] = (fm & FIELD_BIT.bytes) !== 0 ? batch.bytes[i]! : 0;
          out.packets[k] = (fm & FIELD_BIT.packets) !== 0 ? batch.packets[i]! : 0;
          out.samplingRate[k] = (fm & FIELD_BIT.samplingRate) !== 0 ? batch.samplingRate[i]! : 0;
          out.inIf[k] = (fm & FIELD_BIT.inIf) !== 0 ? batch.inIf[i]! : 0;
          out.outIf[k] = (fm & FIELD_BIT.outIf) !== 0 ? batch.outIf[i]! : 0;
          out.exporterIndex[k] = (fm & FIELD_BIT.exporter) !== 0 ? ex : 0;
        }
      }
      touched[0] = acc;
      const cats = CATEGORIES;
      for (let e = 0; e < batch.exporters.length; e++) {
        for (let ct = 0; ct < NC; ct++) {
          for (let oc = 0; oc < NO; oc++) {
            const v = counts[(e * NC + ct) * NO + oc]!;
            if (v !== 0) deps.counters.add(batch.exporters[e]!, cats[ct]!, OUTCOMES[oc]!, v);
          }
        }
      }
      return { kept: out, counts };
    },
  };
}

function copySlot(from: Uint8Array, o: number, to: Uint8Array, at: number): void {
  for (let j = 0; j < 16; j++) to[at + j] = from[o + j]!;
}

function copyWords(from: Uint32Array, o: number, to: Uint32Array, at: number): void {
  to[at] = from[o]!; to[at + 1] = from[o + 1]!; to[at + 2] = from[o + 2]!; to[at + 3] = from[o + 3]!;
}

function zeroSlot(to: Uint8Array, at: number): void {
  for (let j = 0; j < 16; j++) to[at + j] = 0;
}
