/** @module The centre's publisher of selection state: legal bases, operator ranges and the pseudonym keys of the periods in use, wrapped, into the KV bucket the edges watch. */
import type { Clock } from '#platform/clock/index.js';
import { isoUtc } from '#platform/clock/index.js';
import { periodBounds, periodOf, type LegalBasis, type PseudonymKeyStore, type Rotation } from '#modules/selection/index.js';
import { connectNats, openBucket, type BucketSettings, type OpenBucket } from './bucket.js';
import { edgeBasis, encodeEntry, ENTRY, keyEntry, periodOfEntry } from './entries.js';
import { unwrapKey, wrapKey, type WrapKey } from './keywrap.js';
import type { WireLayout } from '../wire/index.js';

/** What the publisher reads at the centre. */
export interface PublisherDeps {
  /** The bases the centre's matcher holds (valid now or ended within a week) and their version. */
  bases(): { version: string; bases: readonly LegalBasis[] };
  /** The designated operators' registered ranges. */
  ranges(): Promise<string[]>;
  keys: PseudonymKeyStore;
  rotation: Rotation;
  wrap: WrapKey;
  clock: Clock;
  logger?: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void } | undefined;
}

/** Settings of the publisher. */
export interface PublisherSettings extends BucketSettings {
  /** How often bases, ranges and keys are compared with what was published (ms). */
  everyMs: number;
  /** How often the heartbeat is written (ms): edges that hear none for `cluster.edge.stateMaxAgeSeconds` fail closed. */
  heartbeatMs: number;
  /** This publisher's name in the heartbeat (the replica id). */
  by: string;
  /** The wire layout the centre's workers read (`cluster.partitions`): edges compare theirs with it. */
  layout: WireLayout;
}

/** The publisher as a component (a singleton job on the API replicas' leader). */
export interface StatePublisher {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Compares and publishes now (a change made in this process need not wait for the timer). */
  publishNow(): Promise<void>;
  stats(): { publishes: number; erased: number; errors: number; lastOkAt: string | null };
}

/** The periods whose keys the edges hold: the previous, the current and the next (published ahead of a rotation). */
export function periodsInUse(nowMs: number, rotation: Rotation): string[] {
  const [start, end] = periodBounds(nowMs, rotation);
  return [periodOf(start - 1, rotation), periodOf(nowMs, rotation), periodOf(end, rotation)];
}

/**
 * Creates the publisher. Each tick puts what changed: `bases` (the fields matching needs), `ranges`, `key.<period>`
 * for each period in use (AES-256-GCM under the edge key-wrapping key, bound to bucket and period), and erases the
 * key entries of periods no longer in use or whose key the centre destroyed. A put is skipped when the bucket
 * already holds the same content, so several publishers (a leader change) agree. Keys never reach a log.
 * @see docs/decisions/0011-edge-selection-state-over-kv.md
 */
export function createStatePublisher(settings: PublisherSettings, deps: PublisherDeps): StatePublisher {
  let ob: OpenBucket | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let lastBeat = 0;
  let chain: Promise<void> = Promise.resolve();
  const published = new Map<string, string>(); // entry → JSON of the content published (keys: the period's key id)
  const stats = { publishes: 0, erased: 0, errors: 0, lastOkAt: null as string | null };
  let failing = false;

  async function put(name: string, value: unknown, same: string): Promise<void> {
    if (published.get(name) === same) return;
    await ob!.kv.put(name, encodeEntry(value));
    published.set(name, same);
    stats.publishes++;
  }

  async function tick(): Promise<void> {
    if (ob === undefined) return;
    const now = deps.clock.nowMs();
    const b = deps.bases();
    const bases = { v: 1 as const, version: b.version, bases: b.bases.map(edgeBasis) };
    await put(ENTRY.bases, bases, JSON.stringify(bases.bases));
    const ranges = [...new Set(await deps.ranges())].sort();
    await put(ENTRY.ranges, { v: 1, ranges }, JSON.stringify(ranges));
    const wanted = new Set<string>();
    for (const period of periodsInUse(now, deps.rotation)) {
      if (deps.keys.destroyedAt?.(period) !== undefined) continue;
      const key = deps.keys.keyFor(period, true);
      if (key === undefined) continue;
      wanted.add(period);
      // Compared by a fingerprint, never logged: the same key is not wrapped again (a new IV would be a new revision).
      const fp = Buffer.from(await crypto.subtle.digest('SHA-256', key)).toString('hex');
      const had = published.get(keyEntry(period));
      if (had === fp) continue;
      if (had !== undefined && !had.startsWith('unreadable:')) {
        // Another keystore's key for this period: the edges' pseudonyms would change mid-period.
        deps.logger?.error({ period }, 'selection state: the bucket held another key for this period than this replica\'s keystore; replacing it (API replicas must share selection.keystoreDir)');
      }
      await ob.kv.put(keyEntry(period), encodeEntry(wrapKey(deps.wrap, settings.bucket, period, key)));
      published.set(keyEntry(period), fp);
      stats.publishes++;
    }
    for (const name of [...published.keys()]) {
      const period = periodOfEntry(name);
      if (period === undefined || wanted.has(period)) continue;
      await ob.erase(name);
      published.delete(name);
      stats.erased++;
      deps.logger?.info({ period }, 'selection state: a period\'s key entry erased from the bucket (out of use or destroyed)');
    }
    await put(ENTRY.layout, { v: 1, ...settings.layout }, JSON.stringify(settings.layout));
    if (now - lastBeat >= settings.heartbeatMs) {
      await ob.kv.put(ENTRY.heartbeat, encodeEntry({ v: 1, at: isoUtc(now), by: settings.by, rotation: deps.rotation }));
      lastBeat = now;
    }
    stats.lastOkAt = isoUtc(now);
  }

  /** What the bucket holds already: entries with the same content are not put again; key entries are checked to open. */
  async function learn(): Promise<void> {
    const names: string[] = [];
    for await (const k of await ob!.kv.keys()) names.push(k);
    for (const name of names) {
      const e = await ob!.kv.get(name);
      if (e === null || e.operation !== 'PUT') continue;
      const period = periodOfEntry(name);
      if (period !== undefined) {
        const r = unwrapKey(deps.wrap, settings.bucket, period, e.value);
        // An entry another wrapping key made is replaced (and its old bytes erased by the replacement's history of 1).
        if (r.ok) { published.set(name, Buffer.from(await crypto.subtle.digest('SHA-256', r.key)).toString('hex')); r.key.fill(0); }
        else { published.set(name, `unreadable:${r.reason}`); deps.logger?.warn({ period, reason: r.reason }, 'selection state: a key entry in the bucket does not open with cluster.keyWrapFile; replacing it'); }
      } else if (name === ENTRY.bases) {
        try { published.set(name, JSON.stringify((JSON.parse(e.string()) as { bases: unknown }).bases)); } catch { /* replaced at the first tick */ }
      } else if (name === ENTRY.ranges) {
        try { published.set(name, JSON.stringify((JSON.parse(e.string()) as { ranges: unknown }).ranges)); } catch { /* replaced at the first tick */ }
      }
    }
  }

  const run = (): Promise<void> => (chain = chain.then(async () => {
    try {
      await tick();
      if (failing) deps.logger?.info({}, 'selection state: publishing again');
      failing = false;
    } catch (e) {
      stats.errors++;
      if (!failing) deps.logger?.error({ err: (e as Error).message }, 'selection state: publishing failed; edges keep their last state (and fail closed once it is older than cluster.edge.stateMaxAgeSeconds)');
      failing = true;
    }
  }));

  return {
    name: 'selection-state-publisher',
    async start() {
      const nc = await connectNats({ servers: settings.servers, name: settings.name });
      try {
        ob = await openBucket(nc, settings, true);
        await learn();
      } catch (e) {
        await nc.close();
        ob = undefined;
        throw e;
      }
      lastBeat = 0;
      await run();
      timer = setInterval(() => { void run(); }, settings.everyMs);
      timer.unref();
    },
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await chain;
      const nc = ob?.nc;
      ob = undefined;
      published.clear();
      await nc?.drain().catch(() => undefined);
    },
    publishNow: run,
    stats: () => ({ ...stats }),
  };
}
