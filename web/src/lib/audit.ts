// Fetching and checking the audit log's signed checkpoints, inclusion and consistency proofs, all hashing done here in the browser.
import { api } from './api.js';
import { fromBase64, hashEntry, parseCheckpointNote, toBase64, verifyCheckpointSignature, verifyConsistency, verifyInclusion, type ParsedNote, type SignatureCheck } from './merkle.js';

export interface CheckpointView {
  note: ParsedNote;
  /** The signed note as served (to remember it). */
  raw: string;
  createdAt: string;
  signature: SignatureCheck;
  logKey: string;
  witnessKey: string | null;
}

/** The latest checkpoint with its log signature checked against the published key. */
export async function loadCheckpoint(): Promise<CheckpointView> {
  const [cp, keys] = await Promise.all([
    api<{ note: string; createdAt: string }>('/api/v1/audit/checkpoint'),
    api<{ log: string; witness: string | null }>('/api/v1/audit/keys'),
  ]);
  const note = parseCheckpointNote(cp.note);
  if (note === undefined) throw new Error('malformed checkpoint');
  return { note, raw: cp.note, createdAt: cp.createdAt, signature: await verifyCheckpointSignature(note, keys.log), logKey: keys.log, witnessKey: keys.witness };
}

export type InclusionResult = { ok: true; leafHash: string } | { ok: false; reason: 'leaf-mismatch' | 'proof-failed' | 'not-in-checkpoint' };

/**
 * Proves an entry is in the signed tree: hashes its canonical JSON here, asks the server only for the
 * sibling hashes, and recomputes the root the checkpoint signs. @see RFC 9162 §2.1.3.2
 */
export async function proveEntry(entry: { index: number }, note: ParsedNote): Promise<InclusionResult> {
  if (entry.index >= note.size) return { ok: false, reason: 'not-in-checkpoint' };
  const leaf = await hashEntry(entry);
  const proof = await api<{ leafIndex: number; treeSize: number; leafHash: string; proof: string[] }>(`/api/v1/audit/proofs/inclusion?index=${entry.index}&size=${note.size}`);
  if (proof.leafHash !== toBase64(leaf)) return { ok: false, reason: 'leaf-mismatch' };
  const root = fromBase64(note.root);
  const siblings = proof.proof.map((p) => fromBase64(p) ?? new Uint8Array(0));
  const ok = root !== undefined && (await verifyInclusion(leaf, entry.index, note.size, siblings, root));
  return ok ? { ok: true, leafHash: toBase64(leaf) } : { ok: false, reason: 'proof-failed' };
}

export type ConsistencyResult = { ok: true; size1: number; size2: number } | { ok: false; reason: 'earlier-signature' | 'proof-failed' };

/**
 * Proves the log only grew between an earlier signed checkpoint and the latest: checks the earlier
 * note's signature against the log key, asks the server only for the proof's hashes, and recomputes
 * both signed roots from them. @see RFC 9162 §2.1.4.2
 */
export async function proveConsistency(earlierNote: string, latest: CheckpointView): Promise<ConsistencyResult> {
  const earlier = parseCheckpointNote(earlierNote);
  if (earlier === undefined) return { ok: false, reason: 'earlier-signature' };
  const sig = await verifyCheckpointSignature(earlier, latest.logKey);
  if (sig !== 'valid' && !(sig === 'unsupported' && latest.signature === 'unsupported')) return { ok: false, reason: 'earlier-signature' };
  const p = await api<{ size1: number; size2: number; proof: string[] }>(`/api/v1/audit/proofs/consistency?size1=${earlier.size}&size2=${latest.note.size}`);
  const root1 = fromBase64(earlier.root);
  const root2 = fromBase64(latest.note.root);
  const ok = root1 !== undefined && root2 !== undefined
    && (await verifyConsistency(earlier.size, latest.note.size, p.proof.map((h) => fromBase64(h) ?? new Uint8Array(0)), root1, root2));
  return ok ? { ok: true, size1: earlier.size, size2: latest.note.size } : { ok: false, reason: 'proof-failed' };
}

/** Where this browser keeps the last checkpoint it checked, to prove next time that the log only grew since. */
const LAST_SEEN = 'mamori.checkpoint';

/** The checkpoint note this browser checked last, if any. */
export function lastSeenCheckpoint(): string | undefined {
  try {
    return localStorage.getItem(LAST_SEEN) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Remembers a checkpoint this browser has checked. */
export function rememberCheckpoint(note: string): void {
  try {
    localStorage.setItem(LAST_SEEN, note);
  } catch {
    // Storage refused (private mode): the next visit just has nothing to compare with.
  }
}
