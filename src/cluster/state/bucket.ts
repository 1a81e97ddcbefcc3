/** @module The selection-state KV bucket: one NATS connection, the bucket opened (the centre creates it), and a secure erase of one key's stored messages. */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { AppError } from '#platform/errors/index.js';

/** Where the bucket is. */
export interface BucketSettings {
  servers: readonly string[];
  bucket: string;
  /** Copies on distinct NATS servers (the centre creates the bucket with them). */
  replicas: number;
  /** Connection name (shown by the NATS server's monitoring). */
  name: string;
}

/** An open bucket and its connection. */
export interface OpenBucket {
  nc: NatsConnection;
  kv: KV;
  /** Overwrites on the servers' disks, then removes, every stored revision of `key` and leaves a purge marker (watchers see PURGE). */
  erase(key: string): Promise<void>;
  close(): Promise<void>;
}

/** Connects with unlimited reconnects: a broker outage is waited out, never fatal. */
export async function connectNats(s: Pick<BucketSettings, 'servers' | 'name'>): Promise<NatsConnection> {
  try {
    return await connect({ servers: [...s.servers], name: s.name, maxReconnectAttempts: -1, reconnectTimeWait: 500, timeout: 5000 });
  } catch (e) {
    throw new AppError('UNAVAILABLE', `Cannot reach NATS at ${s.servers.join(', ')} (cluster.servers): ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Opens the bucket; `create` (the centre) makes it when absent, with one revision kept per entry (a replaced key is
 * not kept as history). Edges never create it: `undefined` says the centre has not published yet.
 */
export async function openBucket(nc: NatsConnection, s: BucketSettings, create: boolean): Promise<OpenBucket | undefined> {
  const kvm = new Kvm(nc);
  let kv: KV;
  if (create) {
    try {
      kv = await kvm.create(s.bucket, { replicas: s.replicas, history: 1, description: 'mamori selection state for the edges: legal bases, operator ranges, wrapped pseudonym keys' });
    } catch {
      kv = await kvm.open(s.bucket);
    }
  } else {
    try {
      kv = await kvm.open(s.bucket);
      await kv.status();
    } catch {
      return undefined;
    }
  }
  const jsm = await jetstreamManager(nc, { timeout: 5000 });
  const stream = `KV_${s.bucket}`;
  return {
    nc, kv,
    async erase(key) {
      // JetStream's erase overwrites the message on every replica's disk; the purge marker then tells watchers.
      for (let i = 0; i < 5; i++) {
        const e = await kv.get(key);
        if (e === null || e.operation !== 'PUT') break;
        await jsm.streams.deleteMessage(stream, e.revision, true);
      }
      await kv.purge(key);
    },
    async close() { /* the connection is the caller's */ },
  };
}
