/** @module Loss from sequence numbers: gaps counted as lost flows or packets within a plausible budget, larger jumps as resets. */
import type { DecoderState, Domain } from './state.js';

// A sequence gap counts as loss only within what the exporter could have sent: a budget per observation domain,
// refilled at a rate no single domain reaches. A larger jump is a restart or garbage and counts as a reset, so
// forged sequence numbers cannot push the loss counters beyond that rate (they reached 1.96e14 before).
const LOSS_BUDGET = { records: { max: 2 ** 22, perMs: 1000 }, packets: { max: 2 ** 17, perMs: 50 } } as const;

/** Whether a forward gap fits the domain's loss budget (which it then spends). */
function plausibleLoss(s: DecoderState, d: Domain, gap: number, unit: keyof typeof LOSS_BUDGET): boolean {
  const b = LOSS_BUDGET[unit];
  const now = s.exp.lastSeenMs;
  d.lossBudget = Math.min(b.max, (Number.isNaN(d.lossBudget) ? b.max : d.lossBudget) + Math.max(0, now - d.lossBudgetAtMs) * b.perMs);
  d.lossBudgetAtMs = now;
  if (gap > d.lossBudget) return false;
  d.lossBudget -= gap;
  return true;
}

/** Sequence tracking where the number counts export packets (NetFlow v9, RFC 3954 §5.1). */
export function trackSequence(s: DecoderState, d: Domain, seq: number, next: number | undefined, packets: boolean): void {
  if (d.expectedSeq !== undefined) {
    const gap = (seq - d.expectedSeq) >>> 0;
    if (gap !== 0 && gap < 2 ** 31 && plausibleLoss(s, d, gap, packets ? 'packets' : 'records')) {
      if (packets) {
        s.exp.counters.lostPackets += gap;
        // Estimate flows per lost packet from what this source id has sent so far.
        s.exp.counters.lostFlows += Math.round(gap * (d.datagrams > 0 ? d.flows / d.datagrams : 0));
      } else {
        s.exp.counters.lostFlows += gap;
      }
    } else if (gap !== 0) {
      s.exp.counters.sequenceResets++;
    }
  }
  d.expectedSeq = next === undefined ? undefined : next >>> 0;
}

/**
 * Sequence tracking for v5 and IPFIX, whose sequence numbers count data records sent before this message
 * (RFC 7011 §3.1). Some exporters (softflowd 1.1's IPFIX) include this message's records; a domain that
 * matches that reading and not the standard one is switched to it, so neither reading invents loss.
 */
export function trackRecordSequence(s: DecoderState, d: Domain, seq: number, count: number | undefined, flowCount: number | undefined = count): void {
  const last = d.lastSeq;
  d.lastSeq = seq;
  const lastCount = d.lastCount;
  const lastFlowCount = d.lastFlowCount;
  d.lastCount = count;
  d.lastFlowCount = flowCount;
  if (last === undefined) return;
  // Either count may be what the exporter numbers by: all data records (RFC 7011 §3.1) or flow records only.
  const lc = pickCount(seq, last, lastCount, lastFlowCount);
  const c = pickCount(seq, last, count, flowCount);
  const standard = lc === undefined ? undefined : (last + lc) >>> 0;
  const inclusive = c === undefined ? undefined : (last + c) >>> 0;
  if (seq === standard && (!d.seqInclusive || seq === inclusive)) return;
  if (seq === inclusive && (d.seqInclusive || seq !== standard)) {
    d.seqInclusive = true;
    return;
  }
  if (seq === standard) {
    d.seqInclusive = false;
    return;
  }
  const expected = d.seqInclusive ? inclusive : standard;
  if (expected === undefined) return;
  const gap = (seq - expected) >>> 0;
  if (gap < 2 ** 31 && plausibleLoss(s, d, gap, 'records')) s.exp.counters.lostFlows += gap;
  else s.exp.counters.sequenceResets++;
}

// The count that explains `seq` after `last`, preferring all data records; undefined when unknown.
function pickCount(seq: number, last: number, all: number | undefined, flowsOnly: number | undefined): number | undefined {
  if (all === undefined) return undefined;
  return flowsOnly !== undefined && seq === ((last + flowsOnly) >>> 0) ? flowsOnly : all;
}
