/** @module An edge's aggregate selection counters to the centre's audit log over JetStream: the edge publishes each minute's delta with a message id, the centre's leader appends one `selection:counters` entry per message. */
import type { Config } from '#platform/config/index.js';
import { isoUtc, type Clock } from '#platform/clock/index.js';
import type { StreamSpec, Transport } from '#platform/transport/index.js';
import type { SelectionCounters } from '#modules/selection/index.js';

/** The stream of counter messages (a week: a centre down for days still audits every minute's counts). */
export function edgeCountersStreamSpec(c: Config['cluster']): StreamSpec {
  return { name: 'MAMORI_EDGE_COUNTERS', subjects: ['mamori.edge-counters.>'], replicas: c.replicas, maxAgeMs: 7 * 86_400_000, duplicateWindowMs: 10 * 60_000 };
}

/** One message: counts only — never an exporter, an address or a basis. */
export interface CountersMessage {
  v: 1;
  edge: string;
  since: string;
  until: string;
  /** `kept_<category>`, `dropped_<category>` (selection), `unselected_no_state`, `unselected_no_key` (the edge's gates). */
  delta: Record<string, number>;
}

/** Parses a counters message; undefined for anything else. */
export function parseCountersMessage(data: Uint8Array): CountersMessage | undefined {
  try {
    const m = JSON.parse(Buffer.from(data).toString('utf8')) as Partial<CountersMessage>;
    if (m.v !== 1 || typeof m.edge !== 'string' || typeof m.since !== 'string' || typeof m.until !== 'string' || typeof m.delta !== 'object' || m.delta === null) return undefined;
    const delta: Record<string, number> = {};
    for (const [k, n] of Object.entries(m.delta)) {
      if (!/^(kept|dropped|unselected)_[a-z_]{1,40}$/.test(k) || typeof n !== 'number' || !Number.isSafeInteger(n)) return undefined;
      delta[k] = n;
    }
    return { v: 1, edge: m.edge.slice(0, 64), since: m.since, until: m.until, delta };
  } catch {
    return undefined;
  }
}

/** Totals by audit key of selection's counters and the edge's own gates. */
export function counterTotals(counters: SelectionCounters, gates: { droppedNoState: number; droppedNoKey: number }): Map<string, number> {
  const totals = new Map<string, number>();
  for (const r of counters.snapshot().rows) {
    const key = `${r.outcome === 'kept' ? 'kept' : 'dropped'}_${r.category}`;
    totals.set(key, (totals.get(key) ?? 0) + r.flows);
  }
  if (gates.droppedNoState > 0) totals.set('unselected_no_state', gates.droppedNoState);
  if (gates.droppedNoKey > 0) totals.set('unselected_no_key', gates.droppedNoKey);
  return totals;
}

/** The edge's reporter. */
export interface CountersReporter {
  /** Publishes what changed since the last acknowledged message (a message not acknowledged is sent again, same id). */
  report(): Promise<boolean>;
}

/**
 * Creates the reporter. A message stays pending, with its id, until the stream acknowledges it; counts made
 * meanwhile go in the next one, so a retry after a lost acknowledgement is stored once (deduplication) and no
 * count is reported twice or lost.
 */
export function createCountersReporter(s: { edgeId: string; run: string }, deps: { transport: Transport; totals(): Map<string, number>; clock: Clock; timeoutMs: number }): CountersReporter {
  const reported = new Map<string, number>();
  let pending: { msgId: string; msg: CountersMessage } | undefined;
  let n = 0;
  let since = isoUtc(deps.clock.nowMs());
  return {
    async report() {
      if (pending === undefined) {
        const delta: Record<string, number> = {};
        for (const [k, v] of deps.totals()) { const d = v - (reported.get(k) ?? 0); if (d !== 0) delta[k] = d; }
        if (Object.keys(delta).length === 0) return true;
        const until = isoUtc(deps.clock.nowMs());
        pending = { msgId: `${s.edgeId}.${s.run}.counters.${n++}`, msg: { v: 1, edge: s.edgeId, since, until, delta } };
      }
      const p = pending;
      await deps.transport.publish(`mamori.edge-counters.${s.edgeId}`, Buffer.from(JSON.stringify(p.msg)), { msgId: p.msgId, timeoutMs: deps.timeoutMs });
      for (const [k, d] of Object.entries(p.msg.delta)) reported.set(k, (reported.get(k) ?? 0) + d);
      since = p.msg.until;
      pending = undefined;
      return true;
    },
  };
}
