/** @module The centre's part of the edges' state: the publisher of bases, ranges and wrapped keys, and the recorder of the edges' counters, as singleton jobs of the API replicas' leader. */
import { systemContext } from '#platform/context/index.js';
import type { Config } from '#platform/config/index.js';
import { AppError } from '#platform/errors/index.js';
import type { Clock } from '#platform/clock/index.js';
import type { Consumption, Transport } from '#platform/transport/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import type { LegalBasis, PseudonymKeyStore, Rotation } from '#modules/selection/index.js';
import { edgeCountersStreamSpec, parseCountersMessage } from './counters.js';
import { readWrapKeyFile } from './keywrap.js';
import { createStatePublisher, type StatePublisher } from './publisher.js';
import { WIRE_VERSION, wireLayout } from '../wire/index.js';

/** What the centre's jobs read: a slice of the server's core. */
export interface CentreDeps {
  config: Config;
  clock: Clock;
  audit: AuditRecorder;
  keys: PseudonymKeyStore;
  bases(): { version: string; bases: readonly LegalBasis[] };
  ranges(): Promise<string[]>;
  /** Opens the JetStream transport (the counters' stream). */
  openTransport(): Promise<Transport>;
  replicaId: string;
  logger?: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void } | undefined;
}

/** A job with a start and a stop. */
export interface CentreJob {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The edges' state jobs, or a clear refusal when `cluster.keyWrapFile` is missing (edges could not open any key). */
export function centreStateJobs(deps: CentreDeps): { publisher: StatePublisher; jobs: CentreJob[] } {
  const c = deps.config.cluster;
  if (c.keyWrapFile === undefined) {
    throw new AppError('CONFIG_INVALID', 'cluster.keyWrapFile: the centre wraps the pseudonym keys it publishes to the edges under this key; create it (`head -c 32 /dev/urandom > /etc/mamori/credentials/edge-key-wrap && chmod 600 …`) and give the same file to every edge.');
  }
  const wrap = readWrapKeyFile(c.keyWrapFile);
  const publisher = createStatePublisher(
    { servers: c.servers, bucket: c.stateBucket, replicas: c.replicas, name: `mamori-centre-${deps.replicaId}`, everyMs: 500, heartbeatMs: 5000, by: deps.replicaId, layout: wireLayout(c.partitions, WIRE_VERSION) },
    { bases: deps.bases, ranges: deps.ranges, keys: deps.keys, rotation: deps.config.selection.pseudonymRotation as Rotation, wrap, clock: deps.clock, logger: deps.logger },
  );
  let transport: Transport | undefined;
  let consumption: Consumption | undefined;
  const ctx = systemContext('edge-counters');
  const recorder: CentreJob = {
    name: 'edge-counters-recorder',
    async start() {
      transport = await deps.openTransport();
      const spec = edgeCountersStreamSpec(c);
      await transport.ensureStream(spec);
      consumption = await transport.consume(spec.name, { durable: 'centre-edge-counters', filterSubject: 'mamori.edge-counters.>', deliverFrom: { kind: 'all' }, ackWaitMs: 30_000, maxAckPending: 16 }, async (d) => {
        const m = parseCountersMessage(d.data);
        if (m === undefined) { deps.logger?.warn({ seq: d.seq }, 'edge counters: a message that is not one; skipped'); d.ack(); return; }
        // Counts only; the message id names the entry, so a rare redelivery after a crash shows as the same id twice.
        await deps.audit.record(ctx, { action: 'selection:counters', object: { type: 'selection_counters', id: d.msgId ?? `seq-${d.seq}` }, outcome: 'success', details: { ...m.delta, since: m.since, until: m.until, edge: m.edge } });
        d.ack();
      });
    },
    async stop() {
      await consumption?.stop();
      await transport?.close();
      consumption = undefined;
      transport = undefined;
    },
  };
  return { publisher, jobs: [publisher, recorder] };
}
