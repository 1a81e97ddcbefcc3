/** @module The audit module's public face: the recorder every module uses, the log, its proofs and checkpoints. */
export type { AuditEvent, AuditEntryRef, AuditRecorder } from './types.js';
export { createAuditLog, dbNodeReader, type AuditLog, type AuditEntry } from './log.js';
export { auditMigrations } from './migrations.js';
export { canonicalize } from './jcs.js';
export { hashLeaf, verifyInclusion, verifyConsistency, MemoryNodeStore } from './merkle.js';
