/** @module The commission's witness: co-signs the log's latest checkpoint only after checking it extends the last one it co-signed. */
import { existsSync, readFileSync } from 'node:fs';
import { AppError } from '#platform/errors/index.js';
import {
  cosignCheckpoint, formatVerifierKey, openCheckpoint, parseVerifierKey, SIG_COSIGNATURE_V1, verifierOf,
  type SignerKey, type VerifierKey,
} from './checkpoint.js';
import { loadOrCreateSignerKey, writePrivateFile } from './keys.js';
import { verifyConsistency } from './merkle.js';

/** What the witness remembers between runs: the log key it trusts and the last checkpoint it co-signed. */
export interface WitnessState {
  v: 1;
  /** The log's verifier key, pinned on the first run: a different key is refused. */
  logKey: string;
  /** The witness's own verifier key, published by the API. */
  witnessKey: string;
  size: number;
  /** Root hash (base64) of the last co-signed checkpoint. */
  root: string;
  note: string;
  cosignedAt: string;
}

/** The log as the witness sees it: its latest signed checkpoint, consistency proofs, and where co-signed notes go. */
export interface WitnessedLog {
  latest(): Promise<{ size: number; note: string } | undefined>;
  /** Consistency proof (base64 hashes) from size1 to size2. */
  consistencyProof(size1: number, size2: number): Promise<string[]>;
  /** Replaces the stored note of `size` if it still is `previous`; false if it changed meanwhile. */
  storeCosigned(size: number, previous: string, cosigned: string): Promise<boolean>;
}

/** What one witness run did. */
export interface WitnessOutcome {
  outcome: 'cosigned' | 'unchanged';
  size: number;
  note: string;
  state: WitnessState;
}

/** The refusal error of the witness (AUDIT_VERIFY_FAILED), naming the problem. @see c2sp.org/tlog-witness */
export function refuse(why: string): AppError {
  return new AppError('AUDIT_VERIFY_FAILED', `Not co-signed: ${why}. Investigate before the witness runs again; the log may have been rewritten.`);
}

/**
 * Checks the log's latest checkpoint against the witness's state and co-signs it. Refuses (throws
 * AUDIT_VERIFY_FAILED naming the problem) a bad log signature, an unknown log key, a smaller size,
 * the same size with a different root, or a failed consistency proof.
 * @see c2sp.org/tlog-witness
 * @see RFC 9162 §2.1.4.2
 */
export async function witnessCheckpoint(args: { key: SignerKey; logKey: VerifierKey; state: WitnessState | undefined; log: WitnessedLog; nowMs: number }): Promise<WitnessOutcome> {
  const { key, logKey, state, log } = args;
  const logKeyText = formatVerifierKey(logKey);
  if (state !== undefined && state.logKey !== logKeyText) throw refuse(`the log key changed from ${state.logKey} to ${logKeyText}`);
  const latest = await log.latest();
  if (latest === undefined) throw new AppError('NOT_FOUND', 'The log has no checkpoint yet; run `mamori audit checkpoint` first.');
  const opened = openCheckpoint(latest.note, logKey);
  if (!opened.ok) throw refuse(`the checkpoint of size ${latest.size} has a bad log signature (${opened.error.message})`);
  const cp = opened.value.checkpoint;
  if (cp.size !== latest.size) throw refuse(`the stored checkpoint row says size ${latest.size} but its note says ${cp.size}`);
  const root = Buffer.from(cp.rootHash).toString('base64');
  if (state !== undefined) {
    if (cp.size < state.size) throw refuse(`the latest checkpoint has size ${cp.size}, smaller than the size ${state.size} already co-signed`);
    if (cp.size === state.size) {
      if (root !== state.root) throw refuse(`the checkpoint of size ${cp.size} has root ${root}, but the witness co-signed root ${state.root} for that size`);
      return { outcome: 'unchanged', size: cp.size, note: latest.note, state };
    }
    const proof = (await log.consistencyProof(state.size, cp.size)).map((p) => Buffer.from(p, 'base64'));
    if (!verifyConsistency(state.size, cp.size, proof, Buffer.from(state.root, 'base64'), cp.rootHash)) {
      throw refuse(`the consistency proof from size ${state.size} to ${cp.size} fails: the new tree does not extend the one co-signed before`);
    }
  }
  const seconds = Math.floor(args.nowMs / 1000);
  const note = cosignCheckpoint(latest.note, key, seconds);
  if (!(await log.storeCosigned(cp.size, latest.note, note))) throw new AppError('CONFLICT', `The checkpoint of size ${cp.size} changed while the witness ran; run it again.`);
  const next: WitnessState = { v: 1, logKey: logKeyText, witnessKey: formatVerifierKey(verifierOf(key)), size: cp.size, root, note, cosignedAt: new Date(args.nowMs).toISOString() };
  return { outcome: 'cosigned', size: cp.size, note, state: next };
}

/** The state file beside a witness key file (`x.key` → `x.state.json`). @see c2sp.org/tlog-witness */
export function witnessStatePath(keyFile: string): string {
  return `${keyFile.replace(/\.key$/, '')}.state.json`;
}

/** Reads the witness state, or undefined before the first co-signature. @see c2sp.org/tlog-witness */
export function readWitnessState(stateFile: string): WitnessState | undefined {
  if (!existsSync(stateFile)) return undefined;
  let s: WitnessState;
  try {
    s = JSON.parse(readFileSync(stateFile, 'utf8')) as WitnessState;
  } catch (cause) {
    throw new AppError('CONFIG_INVALID', `The witness state file ${stateFile} is not JSON; restore it from backup (deleting it would let the witness co-sign a rewritten log).`, { cause });
  }
  if (s.v !== 1 || !Number.isSafeInteger(s.size) || typeof s.root !== 'string' || typeof s.logKey !== 'string') throw new AppError('CONFIG_INVALID', `The witness state file ${stateFile} is damaged; restore it from backup.`);
  return s;
}

/** The witness's public key from its state file, if it has co-signed at least once. @see c2sp.org/tlog-cosignature */
export function readWitnessVerifier(stateFile: string): VerifierKey | undefined {
  const s = readWitnessState(stateFile);
  if (s === undefined) return undefined;
  const r = parseVerifierKey(s.witnessKey);
  return r.ok ? r.value : undefined;
}

/**
 * One witness run on the host: loads (or creates, mode 0600) the witness key, reads its state,
 * co-signs the latest checkpoint and saves the new state (mode 0600) only after the note is stored.
 * @see c2sp.org/tlog-witness
 */
export async function runWitness(args: { keyFile: string; name: string; logKey: VerifierKey; log: WitnessedLog; nowMs: number }): Promise<WitnessOutcome> {
  const { key } = loadOrCreateSignerKey(args.keyFile, args.name, SIG_COSIGNATURE_V1);
  const stateFile = witnessStatePath(args.keyFile);
  const out = await witnessCheckpoint({ key, logKey: args.logKey, state: readWitnessState(stateFile), log: args.log, nowMs: args.nowMs });
  if (out.outcome === 'cosigned') writePrivateFile(stateFile, `${JSON.stringify(out.state, null, 2)}\n`);
  return out;
}
