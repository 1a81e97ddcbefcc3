// Fetching and checking the audit log's signed checkpoint and inclusion proofs, all hashing done here in the browser.
import { api } from './api.js';
import { fromBase64, hashEntry, parseCheckpointNote, toBase64, verifyCheckpointSignature, verifyInclusion, type ParsedNote, type SignatureCheck } from './merkle.js';

export interface CheckpointView {
  note: ParsedNote;
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
  return { note, createdAt: cp.createdAt, signature: await verifyCheckpointSignature(note, keys.log), logKey: keys.log, witnessKey: keys.witness };
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
