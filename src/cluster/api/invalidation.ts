/** @module Cache invalidation between API replicas over NATS core pub/sub: a replica that dropped cached data tells the others to drop it too. */
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { SharingCacheEvent } from '#modules/sharing/index.js';
import { AppError } from '#platform/errors/index.js';

/** What replicas tell each other: sharing's caches dropped, or a new audit checkpoint signed (drop the served one). */
export type CacheEvent = SharingCacheEvent | { scope: 'checkpoint' };

/** What the bus needs. */
export interface InvalidationDeps {
  servers: readonly string[];
  subject: string;
  /** This replica's id: its own messages come back to it and are ignored. */
  replicaId: string;
  /** Drops cached data locally (not passed on again). */
  apply(e: CacheEvent): void;
  logger?: { info(o: object, m: string): void; warn(o: object, m: string): void } | undefined;
}

/** The bus as a server component. */
export interface InvalidationBus {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Tells the other replicas (nothing while disconnected: they drop everything when they reconnect). */
  publish(e: CacheEvent): void;
  stats(): { sent: number; received: number; reconnects: number };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The event in a message, or undefined for anything else (a message of another version or a stranger). */
export function parseInvalidation(data: Uint8Array): { from: string; event: CacheEvent } | undefined {
  try {
    const m = JSON.parse(decoder.decode(data)) as { v?: unknown; from?: unknown; event?: { scope?: unknown; collectionId?: unknown } };
    if (m.v !== 1 || typeof m.from !== 'string' || typeof m.event !== 'object' || m.event === null) return undefined;
    if (m.event.scope === 'all') return { from: m.from, event: { scope: 'all' } };
    if (m.event.scope === 'checkpoint') return { from: m.from, event: { scope: 'checkpoint' } };
    if (m.event.scope === 'pages' && typeof m.event.collectionId === 'string') return { from: m.from, event: { scope: 'pages', collectionId: m.event.collectionId } };
  } catch { /* not JSON */ }
  return undefined;
}

/**
 * Creates the bus. The leader's checkpointer announces each checkpoint it signs, so every replica serves the
 * new one at once rather than up to a second later. Core NATS delivers at most once, so a replica that was cut off from NATS may have missed
 * events: when it reconnects it drops all its caches (the directory's own 5 s lifetime bounds the rest).
 * Served TAXII pages are keyed by the collection's version read from PostgreSQL on every request, so a
 * missed event never serves an outdated page; the event only frees their memory early.
 * @see https://docs.nats.io/nats-concepts/core-nats/pubsub
 */
export function createInvalidationBus(deps: InvalidationDeps): InvalidationBus {
  let nc: NatsConnection | undefined;
  let sub: Subscription | undefined;
  let watching: Promise<void> | undefined;
  const stats = { sent: 0, received: 0, reconnects: 0 };
  return {
    name: 'cache-invalidation',
    async start() {
      try {
        nc = await connect({ servers: [...deps.servers], name: `mamori-api-${deps.replicaId}`, maxReconnectAttempts: -1, reconnectTimeWait: 500, timeout: 5000 });
      } catch (e) {
        throw new AppError('UNAVAILABLE', `Cannot reach NATS at ${deps.servers.join(', ')} (cluster.servers): ${(e as Error).message}. API replicas tell each other to drop caches there; start NATS or fix cluster.servers.`, { cause: e });
      }
      sub = nc.subscribe(deps.subject, {
        callback: (err, msg) => {
          if (err !== null) return;
          const m = parseInvalidation(msg.data);
          if (m === undefined || m.from === deps.replicaId) return;
          stats.received++;
          deps.apply(m.event);
        },
      });
      // The server has the subscription once flush answers: nothing said after start() is missed.
      await nc.flush();
      const conn = nc;
      watching = (async () => {
        for await (const s of conn.status()) {
          if (s.type === 'reconnect') {
            stats.reconnects++;
            deps.logger?.info({}, 'cache invalidation: reconnected to NATS; dropping every cache (events may have been missed)');
            deps.apply({ scope: 'all' });
            deps.apply({ scope: 'checkpoint' });
          }
        }
      })().catch(() => undefined);
    },
    async stop() {
      sub?.unsubscribe();
      await nc?.drain().catch(() => undefined);
      await watching;
      nc = undefined;
    },
    publish(e) {
      if (nc === undefined || nc.isClosed()) return;
      try {
        nc.publish(deps.subject, encoder.encode(JSON.stringify({ v: 1, from: deps.replicaId, event: e })));
        stats.sent++;
      } catch (err) {
        deps.logger?.warn({ err: (err as Error).message }, 'cache invalidation: publish failed; other replicas see the change within the caches\' lifetime');
      }
    },
    stats: () => ({ ...stats }),
  };
}
