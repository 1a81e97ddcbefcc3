/** @module The cluster's streams and how a process reaches them, from `cluster.*` settings. */
import type { Config } from '#platform/config/index.js';
import { createJetStreamTransport, createMemoryTransport, type StreamSpec, type Transport } from '#platform/transport/index.js';

/** The flows stream: every partition subject of both families, kept `retentionHours`, R`replicas`. @see docs/decisions/0006-cluster-transport.md */
export function flowStreamSpec(c: Config['cluster']): StreamSpec {
  return { name: c.stream, subjects: [`${c.subjectPrefix}.>`], replicas: c.replicas, maxAgeMs: c.retentionHours * 3_600_000, duplicateWindowMs: 10 * 60_000 };
}

/**
 * The transport `cluster.servers` names (JetStream), or the in-process one when it names none. `gatherWrites`: for a
 * bulk publisher (the edge) that leaves a payload alone until its publish settled (JetStreamTransportOptions).
 */
export async function openTransport(c: Config['cluster'], name: string, onStatus?: (s: 'disconnected' | 'reconnected', server: string) => void, gatherWrites = false): Promise<Transport> {
  if (c.servers.length === 0) return createMemoryTransport();
  return createJetStreamTransport({ servers: c.servers, name, gatherWrites, ...(onStatus !== undefined ? { onStatus } : {}) });
}
