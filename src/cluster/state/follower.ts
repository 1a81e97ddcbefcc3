/** @module The edge's follower of the centre's selection state: a watch on the KV bucket that keeps legal bases, operator ranges and unwrapped pseudonym keys current, in memory only. */
import type { NatsConnection } from '@nats-io/transport-node';
import type { QueuedIterator } from '@nats-io/nats-core';
import type { KvWatchEntry } from '@nats-io/kv';
import { compileBases, type CompiledBases, type Rotation } from '#modules/selection/index.js';
import type { Clock } from '#platform/clock/index.js';
import { connectNats, openBucket, type BucketSettings } from './bucket.js';
import { BasesEntrySchema, basisAtEdge, ENTRY, HeartbeatEntrySchema, LayoutEntrySchema, parseEntry, periodOfEntry, RangesEntrySchema } from './entries.js';
import { unwrapKey, type WrapKey } from './keywrap.js';
import { layoutDifference, type WireLayout } from '../wire/index.js';

/** Settings of the follower. */
export interface FollowerSettings extends BucketSettings {
  /** Past this age of the centre's last heartbeat (ms) the state is not current and the edge fails closed; 0: never. */
  maxAgeMs: number;
  /** With nothing heard for this long (ms) the watch is started again (a watch silently lost in an outage). */
  rewatchAfterMs: number;
  /** How this edge places flows on the wire: while the centre's `layout` entry names another, the state is not current. */
  layout: WireLayout;
}

/** What the follower needs. */
export interface FollowerDeps {
  wrap: WrapKey;
  clock: Clock;
  /** A period's key was removed (shredded or out of use): drop everything derived from it. */
  onKeyRemoved?(period: string): void;
  /** The operators' ranges changed. */
  onRanges?(ranges: readonly string[]): void;
  logger?: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void } | undefined;
}

/** Why the state is not current (the edge drops every flow meanwhile, counted by reason). */
export type NotCurrent = 'no_bases' | 'no_ranges' | 'no_heartbeat' | 'stale' | 'layout_differs';

/** The follower as a component, and the state it holds. */
export interface StateFollower {
  name: string;
  /** Connects and starts watching; resolves once connected (the state may still be empty: `current()` says). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Undefined when the state is current; else why not. */
  notCurrent(): NotCurrent | undefined;
  bases(): CompiledBases;
  ranges(): readonly string[] | undefined;
  rotation(): Rotation | undefined;
  /** The unwrapped key of `period`, if the centre published it (never created here). */
  key(period: string): Uint8Array | undefined;
  /** Periods with a key. */
  periods(): string[];
  stats(): { updates: number; rejected: number; watches: number; heartbeatAt: string | null; basesVersion: string | null };
}

/**
 * Creates the follower. The watch delivers each entry's last value, then every change: a `bases` entry is
 * compiled at once (so a revocation applies at the next batch), a `key.<period>` entry is unwrapped into memory, a
 * deleted or purged key entry is zeroed and forgotten. An entry that fails to parse or open is refused and counted,
 * and the last good state kept; nothing about a key's value is ever logged. After a broker outage the client's
 * reconnection resumes the watch; if nothing arrives for `rewatchAfterMs` the watch is made again.
 * @see docs/decisions/0011-edge-selection-state-over-kv.md
 */
export function createStateFollower(settings: FollowerSettings, deps: FollowerDeps): StateFollower {
  let nc: NatsConnection | undefined;
  let watch: QueuedIterator<KvWatchEntry> | undefined;
  let compiled: CompiledBases | undefined;
  let basesVersion: string | null = null;
  let ranges: string[] | undefined;
  let heartbeat: { atMs: number; at: string; rotation: Rotation } | undefined;
  // What differs between the centre's wire layout and this edge's (undefined: they agree, or the centre names none).
  let layoutDiffers: string | undefined;
  const keys = new Map<string, Uint8Array>();
  let lastHeardMs = 0;
  let stopping = false;
  let loop: Promise<void> | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  const stats = { updates: 0, rejected: 0, watches: 0 };
  const empty = compileBases([]);
  let waitingLogged = false;

  function dropKey(period: string): void {
    const k = keys.get(period);
    if (k === undefined) return;
    k.fill(0);
    keys.delete(period);
    deps.onKeyRemoved?.(period);
    deps.logger?.info({ period }, 'edge state: a period\'s pseudonym key was withdrawn by the centre; forgotten here');
  }

  function apply(e: KvWatchEntry): void {
    lastHeardMs = deps.clock.nowMs();
    const period = periodOfEntry(e.key);
    if (e.operation !== 'PUT') {
      if (period !== undefined) dropKey(period);
      else if (e.key === ENTRY.bases) { compiled = undefined; basesVersion = null; }
      else if (e.key === ENTRY.ranges) ranges = undefined;
      else if (e.key === ENTRY.heartbeat) heartbeat = undefined;
      else if (e.key === ENTRY.layout) layoutDiffers = undefined;
      stats.updates++;
      return;
    }
    if (period !== undefined) {
      const r = unwrapKey(deps.wrap, settings.bucket, period, e.value);
      if (!r.ok) {
        stats.rejected++;
        // Fail closed for this period: an old key kept would give pseudonyms the centre no longer uses.
        dropKey(period);
        deps.logger?.error({ period, reason: r.reason }, r.reason === 'other_wrap_key'
          ? 'edge state: a pseudonym key entry was wrapped with another key than cluster.keyWrapFile: give this edge the centre\'s file'
          : 'edge state: a pseudonym key entry does not open; refused');
        return;
      }
      const before = keys.get(period);
      if (before !== undefined && !Buffer.from(before).equals(Buffer.from(r.key))) dropKey(period); // a replaced key: forget the old one's pseudonyms
      else before?.fill(0);
      keys.set(period, r.key);
      stats.updates++;
      return;
    }
    if (e.key === ENTRY.bases) {
      const p = parseEntry(BasesEntrySchema, e.key, e.value);
      if (!p.ok) { stats.rejected++; deps.logger?.error({ err: p.error }, 'edge state: refused an entry; keeping the last good one'); return; }
      const now = deps.clock.nowMs();
      compiled = compileBases(p.value.bases.map((b) => basisAtEdge(b, now)), now);
      basesVersion = p.value.version;
    } else if (e.key === ENTRY.ranges) {
      const p = parseEntry(RangesEntrySchema, e.key, e.value);
      if (!p.ok) { stats.rejected++; deps.logger?.error({ err: p.error }, 'edge state: refused an entry; keeping the last good one'); return; }
      ranges = p.value.ranges;
      deps.onRanges?.(ranges);
    } else if (e.key === ENTRY.heartbeat) {
      const p = parseEntry(HeartbeatEntrySchema, e.key, e.value);
      if (!p.ok) { stats.rejected++; deps.logger?.error({ err: p.error }, 'edge state: refused an entry; keeping the last good one'); return; }
      heartbeat = { atMs: Date.parse(p.value.at), at: p.value.at, rotation: p.value.rotation };
    } else if (e.key === ENTRY.layout) {
      const p = parseEntry(LayoutEntrySchema, e.key, e.value);
      if (!p.ok) { stats.rejected++; deps.logger?.error({ err: p.error }, 'edge state: refused an entry; keeping the last good one'); return; }
      // Flows placed by another count or hash would reach workers whose detectors do not hold their keys' state.
      const { v: _v, ...centre } = p.value;
      const differs = layoutDifference(centre, settings.layout);
      if (differs !== layoutDiffers) {
        if (differs !== undefined) deps.logger?.error({ centre, edge: settings.layout }, `edge state: ${differs}; dropping every flow until they agree`);
        else if (layoutDiffers !== undefined) deps.logger?.info({ layout: settings.layout }, 'edge state: the centre\'s wire layout agrees with this edge\'s again');
        layoutDiffers = differs;
      }
    } else return;
    stats.updates++;
  }

  async function watchOnce(): Promise<void> {
    const ob = await openBucket(nc!, settings, false);
    if (ob === undefined) {
      if (!waitingLogged) deps.logger?.warn({ bucket: settings.bucket }, 'edge state: the centre has not published selection state yet (no bucket); dropping every flow until it does');
      waitingLogged = true;
      return;
    }
    waitingLogged = false;
    watch = await ob.kv.watch({ key: '>' });
    stats.watches++;
    lastHeardMs = deps.clock.nowMs();
    for await (const e of watch) apply(e);
  }

  async function run(): Promise<void> {
    while (!stopping) {
      try {
        await watchOnce();
      } catch (e) {
        if (!stopping) deps.logger?.warn({ err: (e as Error).message }, 'edge state: watch ended; watching again');
      }
      watch = undefined;
      if (!stopping) await new Promise((r) => setTimeout(r, 1000));
    }
  }

  return {
    name: 'edge-state-follower',
    async start() {
      stopping = false;
      nc = await connectNats({ servers: settings.servers, name: settings.name });
      loop = run();
      // A watch that hears nothing (not even the centre's heartbeat) for too long is made again.
      timer = setInterval(() => {
        if (watch !== undefined && deps.clock.nowMs() - lastHeardMs > settings.rewatchAfterMs) { lastHeardMs = deps.clock.nowMs(); watch.stop(); }
      }, 1000);
      timer.unref();
    },
    async stop() {
      stopping = true;
      if (timer !== undefined) clearInterval(timer);
      watch?.stop();
      await loop;
      await nc?.close().catch(() => undefined);
      nc = undefined;
      for (const k of keys.values()) k.fill(0);
      keys.clear();
    },
    notCurrent() {
      if (compiled === undefined) return 'no_bases';
      if (ranges === undefined) return 'no_ranges';
      if (heartbeat === undefined) return 'no_heartbeat';
      if (settings.maxAgeMs > 0 && deps.clock.nowMs() - heartbeat.atMs > settings.maxAgeMs) return 'stale';
      if (layoutDiffers !== undefined) return 'layout_differs';
      return undefined;
    },
    bases: () => compiled ?? empty,
    ranges: () => ranges,
    rotation: () => heartbeat?.rotation,
    key: (period) => keys.get(period),
    periods: () => [...keys.keys()].sort(),
    stats: () => ({ ...stats, heartbeatAt: heartbeat?.at ?? null, basesVersion }),
  };
}
