/** @module The API replicas' leader lease: a PostgreSQL advisory lock held by a dedicated session, checked by a query every few seconds. */
import pg from 'pg';

/** Key space of the API's leader lease (first int4 of the two-key advisory lock). */
const API_LEADER = 0x6d6d6104; // "mma\4"

/** A lease: at most one holder cluster-wide; it ends with the holder's database session. */
export interface LeaderLease {
  /** Takes the lease if free; true when this session holds it. */
  tryAcquire(): Promise<boolean>;
  /** Asks the server whether this session still holds the lease (false also when the session is gone or slow). */
  stillHeld(): Promise<boolean>;
  close(): Promise<void>;
}

/** Second key of the lock: FNV-1a of the lease name, as a positive int4. */
export function leaseKey(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return (h >>> 1) & 0x7fffffff;
}

/**
 * Opens a lease session. The server closes the session of a holder that died (kill -9: at once, the socket
 * closes; a host gone: TCP keepalives every `checkSeconds`, three missed), which frees the lock for a standby.
 * Every query times out after `checkSeconds`, so a holder cut off from PostgreSQL notices and stops its
 * singletons before a standby could take over.
 * @see https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS
 * @see https://www.postgresql.org/docs/current/runtime-config-connection.html#GUC-TCP-KEEPALIVES-IDLE
 */
export async function openLeaderLease(url: string, name: string, replicaId: string, checkSeconds: number): Promise<LeaderLease> {
  const client = new pg.Client({
    connectionString: url, application_name: `mamori-api-${replicaId}`.slice(0, 63), keepAlive: true, keepAliveInitialDelayMillis: checkSeconds * 1000,
    query_timeout: checkSeconds * 1000, connectionTimeoutMillis: checkSeconds * 1000,
  });
  let alive = true;
  client.on('error', () => { alive = false; });
  client.on('end', () => { alive = false; });
  await client.connect();
  const s = Math.max(1, checkSeconds);
  await client.query(`set tcp_keepalives_idle = ${s}; set tcp_keepalives_interval = ${s}; set tcp_keepalives_count = 3`);
  const key = leaseKey(name);
  return {
    async tryAcquire() {
      const r = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [API_LEADER, key]);
      return r.rows[0]?.ok === true;
    },
    async stillHeld() {
      if (!alive) return false;
      try {
        const r = await client.query<{ n: string }>(
          "select count(*)::text as n from pg_locks where locktype = 'advisory' and granted and pid = pg_backend_pid() and classid = $1::bigint::oid and objid = $2::bigint::oid and objsubid = 2",
          [API_LEADER, key],
        );
        return r.rows[0]?.n === '1';
      } catch {
        alive = false;
        return false;
      }
    },
    async close() {
      alive = false;
      await client.end().catch(() => undefined);
    },
  };
}
