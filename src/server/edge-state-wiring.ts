/** @module Wires the centre's jobs for the cluster's edges (selection state published over NATS KV, the edges' counters audited) from the server's core. */
import { replicaId } from '#cluster/api/index.js';
import { centreStateJobs, type CentreJob } from '#cluster/state/index.js';
import { openTransport } from '#cluster/streams.js';
import type { Logger } from '#platform/logger/index.js';
import type { Core } from './core.js';
import { registeredRanges } from './selection-wiring.js';

/**
 * The leader's jobs for the edges, or none (with a warning) when `cluster.keyWrapFile` is not set: edges then
 * find no state and drop every flow, saying why. @see docs/decisions/0011-edge-selection-state-over-kv.md
 */
export function edgeStateJobs(core: Core, logger?: Logger): CentreJob[] {
  const config = core.config;
  if (config.cluster.keyWrapFile === undefined) {
    logger?.warn({}, 'cluster.keyWrapFile is not set: the selection state (bases, ranges, pseudonym keys) is not published to the edges, which drop every flow until it is');
    return [];
  }
  const { publisher, jobs } = centreStateJobs({
    config, clock: core.clock, audit: core.audit, keys: core.keys, replicaId: replicaId(config), logger,
    bases: () => { const c = core.selection.compiled(); return { version: String(c.version), bases: c.bases }; },
    ranges: () => registeredRanges(core.registry),
    openTransport: () => openTransport(config.cluster, `mamori-centre-counters-${replicaId(config)}`),
  });
  // A revocation made here reaches the edges without waiting for the publisher's next tick (a no-op on a standby).
  core.selection.subscribe(() => { void publisher.publishNow(); });
  return jobs;
}
