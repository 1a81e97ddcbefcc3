/** @module The audit actions the Diet report counts, shared by its figures and its reconciliation. */

/**
 * The audit actions each figure counts. Oversight writes the first group; selection, response and
 * sharing write the others under these names (their modules document the details they carry).
 * @see DPA (the commission's report to the Diet)
 */
export const DIET_REPORT_ACTIONS = {
  submit: 'request:submit',
  withdraw: 'request:withdraw',
  decide: 'request:decide',
  lapse: 'request:lapse',
  revoke: 'approval:revoke',
  expire: 'approval:expire',
  emergencyAct: 'emergency:act',
  emergencyHalt: 'emergency:halt',
  emergencyPurge: 'emergency:purge',
  /** selection: periodic counters; details `kept_<category>` and `dropped_<category>` (numbers). */
  selectionCounters: 'selection:counters',
  /** selection: one entry per re-identification attempt (success or denied). */
  reidentify: 'pseudonym:reidentify',
  /** selection: the retention job's deletions; details `flows`, `partitions`. */
  retentionDelete: 'retention:delete',
  /** sharing: a leak investigation (`mamori leak trace`: a leaked copy traced to its recipient). */
  leakInvestigation: 'leak:trace',
  /** selection: a partition purged with its basis (revocation, refused emergency basis); details `flows`, `partitions`. */
  purgeDelete: 'flows:purge',
  /** lifecycle: a deletion certificate; details `cause`, `archiveFlows`, `findingsDeleted`, `findingsWithdrawn`, `recallNotices`. */
  certificate: 'lifecycle:certificate',
  /** lifecycle: a pseudonym key period destroyed (crypto-shredding). */
  keyDestroyed: 'keys:destroy',
  /** audit: a free text redacted by a commission order. */
  textRedacted: 'audit:redact',
} as const;

/** True for actions that read data (the "who read what" of inspection): `…:read`, `…:read-all`, `…:query`, `…:export`. */
export function isReadAction(action: string): boolean {
  return /:(read|read-all|read-own|query|export|download)$/.test(action);
}
