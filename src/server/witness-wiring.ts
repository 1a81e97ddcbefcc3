/** @module Wires the commission's witness job into `mamori serve` (a singleton on API replicas) when audit.witnessEverySeconds > 0. */
import { assertWitnessKey, createWitnessJob, defaultWitnessKeyPath } from '#modules/audit/index.js';
import type { Logger } from '#platform/logger/index.js';
import type { MetricsRegistry } from '#platform/metrics/index.js';
import type { Core } from './core.js';

/**
 * The witness component (none when off). Every process checks the key file at start, so a replica missing it
 * fails at once with a clear error rather than later when it becomes the leader and gives the lease up.
 * @see docs/audit.md "The witness inside mamori serve"
 */
export function witnessComponent(core: Core, metrics: MetricsRegistry, logger: Logger): { name: string; start(): Promise<void>; stop(): Promise<void> }[] {
  const { audit } = core.config;
  if (audit.witnessEverySeconds === 0) return [];
  const keyFile = audit.witnessKeyFile ?? defaultWitnessKeyPath(core.config.dataDir);
  assertWitnessKey(keyFile, audit.witnessName);
  const job = createWitnessJob(
    { keyFile, name: audit.witnessName, everySeconds: audit.witnessEverySeconds },
    { db: core.db.kysely, log: core.audit, logKey: () => core.checkpointer.verifier(), clock: core.clock, logger, onCosigned: () => core.checkpointChanged() },
  );
  metrics.collect('mamori_audit_witness_cosigned_total', 'Checkpoints the witness job co-signed in this process.', 'counter', () => [{ labels: {}, value: job.stats().cosigned }]);
  metrics.collect('mamori_audit_witness_refusals_total', 'Witness runs in this process that refused to co-sign (the log may have been rewritten).', 'counter', () => [{ labels: {}, value: job.stats().refusals }]);
  metrics.collect('mamori_audit_witness_refusing', 'Whether the last witness run in this process refused to co-sign (1): investigate before anything else.', 'gauge', () => [{ labels: {}, value: job.stats().refusing ? 1 : 0 }]);
  return [job];
}
