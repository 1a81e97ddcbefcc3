/** @module The cluster's archive bucket: a JetStream object store (R`cluster.replicas`, file storage) reached over its own NATS connection. */
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadable } from 'node:stream/web';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Objm, setSha256Backend, StorageType, type ObjectInfo, type ObjectStore, type ObjectWatchInfo } from '@nats-io/obj';

// The client hashes every chunk stored or fetched; its default is a pure-JS SHA-256 (browser-safe), about 25 ms of CPU
// a MiB on this machine — node:crypto's is a fraction of that. Process-wide, before any object store call.
setSha256Backend('native');

export type { ObjectInfo, ObjectWatchInfo };

/**
 * Chunk size of a stored file (the client caps it at the server's max_payload, 1 MiB by default). The client's default,
 * 128 KiB, sent eight times the messages, each published and acknowledged in turn (≈ 1.5 × the CPU of client and server a
 * byte). The object's bytes and digest do not depend on it; readers reassemble any chunk size.
 */
export const OBJECT_CHUNK_BYTES = 1 << 20;

/** Where the bucket is and how it is replicated. */
export interface ArchiveBucketOptions {
  servers: string[];
  bucket: string;
  /** Copies on distinct NATS servers (3 in production: a node lost loses nothing stored). */
  replicas: number;
  /** Connection name shown by the server. */
  name: string;
  /** How long one call may wait for the server (ms); object puts of large files take longer than the default. */
  timeoutMs?: number;
}

/** The bucket's operations the archive needs. */
export interface ArchiveBucket {
  /** Stores a local file under `name` (replacing any object of that name); resolves once the stream stored every chunk and the meta. */
  putFile(name: string, path: string, metadata: Record<string, string>): Promise<ObjectInfo>;
  /** Stores a small object (round records, tombstones). */
  putBytes(name: string, data: Uint8Array, metadata?: Record<string, string>): Promise<ObjectInfo>;
  /** Reads an object into `path` (digest checked by the client); false when it is gone. */
  getFile(name: string, path: string): Promise<boolean>;
  getBytes(name: string): Promise<Uint8Array | null>;
  info(name: string): Promise<ObjectInfo | null>;
  /** Every live object. */
  list(): Promise<ObjectInfo[]>;
  delete(name: string): Promise<void>;
  /** Every object's latest state (history first, `isUpdate` from the last of it on), deletions included. */
  watch(): Promise<AsyncIterable<ObjectWatchInfo> & { stop(): void }>;
  close(): Promise<void>;
}

/**
 * Connects and opens (or creates) the bucket.
 * @see https://docs.nats.io/nats-concepts/jetstream/obj_store
 */
export async function openArchiveBucket(o: ArchiveBucketOptions): Promise<ArchiveBucket> {
  const nc: NatsConnection = await connect({ servers: o.servers, name: o.name, timeout: 5000, maxReconnectAttempts: -1, reconnectTimeWait: 500, waitOnFirstConnect: false, pingInterval: 5000 });
  let store: ObjectStore;
  try {
    store = await createRetrying(() => new Objm(jetstream(nc, { timeout: o.timeoutMs ?? 30_000 })).create(o.bucket, { replicas: o.replicas, storage: StorageType.File }));
  } catch (e) {
    await nc.close().catch(() => undefined);
    throw e;
  }
  return {
    putFile: (name, path, metadata) => store.put({ name, metadata, options: { max_chunk_size: OBJECT_CHUNK_BYTES } },
      Readable.toWeb(createReadStream(path)) as unknown as ReadableStream<Uint8Array>),
    putBytes: (name, data, metadata) => store.putBlob({ name, ...(metadata !== undefined ? { metadata } : {}) }, data),
    async getFile(name, path) {
      const r = await store.get(name);
      if (r === null) return false;
      await pipeline(Readable.fromWeb(r.data as unknown as WebReadable<Uint8Array>), createWriteStream(path));
      const err = await r.error;
      if (err !== null && err !== undefined) throw err; // resolves with nothing on success
      return true;
    },
    getBytes: (name) => store.getBlob(name),
    info: (name) => store.info(name),
    list: () => store.list(),
    async delete(name) { await store.delete(name); },
    async watch() {
      return store.watch({ includeHistory: true });
    },
    async close() { await nc.drain().catch(() => nc.close()); },
  };
}

/** Bucket creation right after a cluster (re)started finds no JetStream leader for a while: retried for up to 20 s. */
async function createRetrying<T>(fn: () => Promise<T>): Promise<T> {
  const end = Date.now() + 20_000;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
