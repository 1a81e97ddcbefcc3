/** @module Partition ownership by PostgreSQL advisory locks: a partition has at most one owner, and a dead worker's partitions are free the moment its session ends. */
import pg from 'pg';

/** Advisory lock key spaces (the first int4 of the two-key form): live workers and partitions. */
const WORKERS = 0x6d6d7701; // "mmw\1"
const PARTITIONS = 0x6d6d7002; // "mmp\2"

/** One partition: family index and number. */
export interface PartitionKey { family: number; partition: number }

const keyOf = (p: PartitionKey): number => p.family * 65_536 + p.partition;
const fromKey = (k: number): PartitionKey => ({ family: Math.floor(k / 65_536), partition: k % 65_536 });

/** FNV-1a of a worker id, as a positive int4. */
function workerKey(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 1) & 0x7fffffff;
}

/** A worker's view of ownership. */
export interface Leases {
  /** Registers this worker as alive (fails if another live worker has the same id). */
  join(): Promise<void>;
  /** Live workers now (this one included). */
  liveWorkers(): Promise<number>;
  /** Partitions some live worker holds. */
  held(): Promise<Set<number>>;
  /** Tries to take a partition: true when this worker now holds it (and no other can). */
  tryTake(p: PartitionKey): Promise<boolean>;
  /** Lets a partition go. */
  release(p: PartitionKey): Promise<void>;
  /** Whether the session holding the locks is still there (false: every lock is gone; stop consuming at once). */
  healthy(): boolean;
  close(): Promise<void>;
}

/**
 * Leases on PostgreSQL advisory locks held by one dedicated session: exclusive by construction, and
 * released by the server when the session ends (a worker killed with -9 frees its partitions as soon as
 * PostgreSQL notices the closed connection). @see https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS
 */
export async function pgLeases(url: string, workerId: string, onLost: (e: Error) => void): Promise<Leases> {
  const client = new pg.Client({ connectionString: url, application_name: `mamori-worker-${workerId}`, keepAlive: true });
  let ok = true;
  client.on('error', (e) => { if (ok) { ok = false; onLost(e); } });
  client.on('end', () => { if (ok) { ok = false; onLost(new Error('lease session ended')); } });
  await client.connect();
  const held = async (space: number): Promise<number[]> => {
    const r = await client.query<{ objid: string }>(
      "select objid::text from pg_locks where locktype = 'advisory' and granted and objsubid = 2 and classid = $1::bigint::oid and database = (select oid from pg_database where datname = current_database())",
      [space],
    );
    return r.rows.map((x) => Number(x.objid));
  };
  return {
    async join() {
      const r = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [WORKERS, workerKey(workerId)]);
      if (r.rows[0]?.ok !== true) throw new Error(`another live worker already has the id ${workerId}`);
    },
    liveWorkers: async () => (await held(WORKERS)).length,
    held: async () => new Set(await held(PARTITIONS)),
    async tryTake(p) {
      const r = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [PARTITIONS, keyOf(p)]);
      return r.rows[0]?.ok === true;
    },
    async release(p) {
      await client.query('select pg_advisory_unlock($1, $2)', [PARTITIONS, keyOf(p)]);
    },
    healthy: () => ok,
    async close() {
      ok = false;
      await client.end().catch(() => undefined);
    },
  };
}

export { keyOf as partitionKeyOf, fromKey as partitionFromKey };

/** Key space of cluster-wide singletons (the archiver, later the API's schedulers). */
const SINGLETONS = 0x6d6d7303; // "mms\3"

/** A singleton's lease: at most one holder cluster-wide; the holder's death frees it with its session. */
export interface SingletonLease {
  /** Takes the lease if free; true while this process holds it. */
  tryAcquire(): Promise<boolean>;
  healthy(): boolean;
  close(): Promise<void>;
}

/**
 * A singleton lease on a PostgreSQL advisory lock (leader election): `name` is hashed into the lock key.
 * @see pgLeases
 */
export async function pgSingleton(url: string, name: string, onLost: (e: Error) => void): Promise<SingletonLease> {
  const client = new pg.Client({ connectionString: url, application_name: `mamori-${name}`, keepAlive: true });
  let ok = true;
  let held = false;
  client.on('error', (e) => { if (ok) { ok = false; onLost(e); } });
  client.on('end', () => { if (ok) { ok = false; onLost(new Error('lease session ended')); } });
  await client.connect();
  return {
    async tryAcquire() {
      if (held) return true;
      const r = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [SINGLETONS, workerKey(name)]);
      held = r.rows[0]?.ok === true;
      return held;
    },
    healthy: () => ok,
    async close() {
      ok = false;
      await client.end().catch(() => undefined);
    },
  };
}
