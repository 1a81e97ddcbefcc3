/** @module The audit module's public face: the recorder every module uses, the log, its proofs and checkpoints. */
export type { AuditEvent, AuditEntryRef, AuditRecorder } from './types.js';
export { createAuditLog, dbNodeReader, type AuditLog, type AuditEntry } from './log.js';
export { auditMigrations } from './migrations.js';
export { FREE_TEXT_KEYS, type AuditText } from './texts.js';
export { canonicalize } from './jcs.js';
export { hashLeaf, verifyInclusion, verifyConsistency, MemoryNodeStore } from './merkle.js';
export { parseVerifierKey, formatVerifierKey, openCheckpoint, type VerifierKey } from './checkpoint.js';
export {
  createCheckpointer, listCheckpoints, latestCheckpoint, logStatePath, readLogState, replaceCheckpointNote, signedHighWater, type Checkpointer, type StoredCheckpoint,
} from './checkpointer.js';
export { createPrivateFileOnce, defaultLogKeyPath, defaultWitnessKeyPath, loadOrCreateSignerKey } from './keys.js';
export { verifyAuditLog, type VerifyReport, type VerifyProblem } from './verify.js';
export { runWitness, witnessCheckpoint, witnessStatePath, readWitnessState, readWitnessVerifier, type WitnessedLog, type WitnessState } from './witness.js';
export { auditRoutes } from './routes.js';
export { assertWitnessKey, createWitnessJob, witnessVerifierOf, type WitnessJob, type WitnessJobStats } from './witness-job.js';
