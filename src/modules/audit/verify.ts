/** @module `mamori audit verify`: rebuilds the Merkle tree from the stored entry texts, page by page, and checks every stored hash, node and checkpoint against it. */
import type { AnyDb, Database } from '#platform/db/index.js';
import { isAppError } from '#platform/errors/index.js';
import { openCheckpoint, type VerifierKey } from './checkpoint.js';
import { listCheckpoints } from './checkpointer.js';
import { canonicalize } from './jcs.js';
import { dbNodeReader, nodesColumn, type AuditEntry } from './log.js';
import {
  appendLeaf, consistencyProof, emptyRightEdge, hashLeaf, rightEdgeRoot, verifyConsistency, type RightEdge,
} from './merkle.js';

/** What to verify against. */
export interface VerifyOptions {
  /** The log's public key: every stored checkpoint must carry its valid signature. */
  logKey: VerifierKey;
  /** Witness keys: a cosignature by one of them that does not verify fails the check. */
  witnessKeys?: readonly VerifierKey[];
  /** A checkpoint note kept outside the system; the log must still hold the tree it signed. */
  externalCheckpoint?: string;
  /**
   * Trees recorded as signed outside the database (the log's state file, the witness's state): the log must still
   * hold each, so a log truncated together with its head and checkpoints fails.
   */
  signedElsewhere?: readonly { label: string; size: number; root: string }[];
  /** Entries read per query (bounded memory); default 5000. */
  pageSize?: number;
  /** Called after each page with entries checked so far and the total expected. */
  onProgress?: (done: number, total: number) => void;
}

/** The first problem found: the first bad entry index (null when no entry is to blame) and why. */
export interface VerifyProblem {
  index: number | null;
  reason: string;
}

/** The outcome of a verification. */
export interface VerifyReport {
  ok: boolean;
  /** Entries checked. */
  size: number;
  /** Stored checkpoints checked, and how many carry a verified witness cosignature. */
  checkpoints: number;
  cosigned: number;
  /** The root recomputed from the entries (base64). */
  root: string;
  problem?: VerifyProblem;
}

interface EntryRow {
  idx: number | string;
  time: string;
  actor_kind: string;
  actor_id: string;
  actor_user: string;
  action: string;
  object_type: string | null;
  object_id: string | null;
  legal_basis: string | null;
  outcome: string;
  request_id: string;
  entry: string;
  leaf_hash: Uint8Array;
  nodes: Uint8Array;
}

const b64 = (h: Uint8Array): string => Buffer.from(h).toString('base64');
const encoder = new TextEncoder();

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Why an entry row is bad, or undefined when its text, leaf hash, position and indexed columns all agree. */
function checkRow(row: EntryRow, i: number, leaf: Uint8Array): string | undefined {
  let parsed: AuditEntry;
  try {
    parsed = JSON.parse(row.entry) as AuditEntry;
  } catch {
    return 'its stored text is not JSON (edited)';
  }
  let canonical: string;
  try {
    canonical = canonicalize(parsed);
  } catch {
    return 'its stored text is not canonical JSON (edited)';
  }
  if (canonical !== row.entry) return 'its stored text is not in RFC 8785 canonical form (edited)';
  if (!bytesEqual(leaf, row.leaf_hash)) return 'its text does not hash to its stored leaf hash (edited)';
  if (parsed.index !== i) return `its text says it is entry ${String(parsed.index)} (moved, inserted or reordered)`;
  const expect: [string, unknown, unknown][] = [
    ['time', row.time, parsed.time],
    ['actor_kind', row.actor_kind, parsed.actor?.kind],
    ['actor_id', row.actor_id, parsed.actor?.id],
    ['actor_user', row.actor_user, parsed.actor?.userId ?? parsed.actor?.id],
    ['action', row.action, parsed.action],
    ['object_type', row.object_type, parsed.object?.type ?? null],
    ['object_id', row.object_id, parsed.object?.id ?? null],
    ['legal_basis', row.legal_basis, parsed.legalBasis],
    ['outcome', row.outcome, parsed.outcome],
    ['request_id', row.request_id, parsed.requestId],
  ];
  const bad = expect.find(([, column, json]) => column !== json);
  if (bad !== undefined) return `its indexed column ${bad[0]} disagrees with its text (edited)`;
  return undefined;
}

/**
 * Verifies the whole log: recomputes every leaf from its stored canonical text, rebuilds the tree
 * in memory a page at a time, compares stored leaf hashes and subtree nodes, checks each stored
 * checkpoint's signatures, its root at its size and the consistency between successive
 * checkpoints, and optionally a checkpoint kept outside the system. Stops at the first problem.
 * @see RFC 9162 §2.1
 * @see c2sp.org/tlog-checkpoint
 */
export async function verifyAuditLog(db: Database, options: VerifyOptions): Promise<VerifyReport> {
  // Every read in one snapshot (PostgreSQL: repeatable read; SQLite: a read transaction over the WAL): a server or API
  // replica appending and signing during the run must not make the head, the checkpoints and the entries read at
  // different moments disagree — entries appended after the head was read passed for inserted ones.
  return db.kysely.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute((trx) => verifySnapshot(trx, options));
}

async function verifySnapshot(k: AnyDb, options: VerifyOptions): Promise<VerifyReport> {
  const pageSize = options.pageSize ?? 5000;
  const head = (await k.selectFrom('audit_head').select(['size', 'last_leaf']).where('id', '=', 1).executeTakeFirstOrThrow()) as { size: number | string; last_leaf: Uint8Array | null };
  const headSize = Number(head.size);
  const report = (size: number, edge: RightEdge, checkpoints: number, cosigned: number, problem?: VerifyProblem): VerifyReport => ({
    ok: problem === undefined, size, checkpoints, cosigned, root: b64(rightEdgeRoot(edge)), ...(problem !== undefined ? { problem } : {}),
  });

  // 1. Signatures of every stored checkpoint, and the sizes whose roots the rebuilt tree must match.
  const stored = await listCheckpoints(k);
  const targets = new Map<number, { label: string; root: string }[]>();
  const addTarget = (size: number, label: string, root: string) => targets.set(size, [...(targets.get(size) ?? []), { label, root }]);
  let cosigned = 0;
  for (const cp of stored) {
    const opened = openCheckpoint(cp.note, options.logKey, options.witnessKeys ?? []);
    if (!opened.ok) return report(0, emptyRightEdge(), 0, 0, { index: null, reason: `the stored checkpoint of size ${cp.size} fails: ${opened.error.message}` });
    const c = opened.value.checkpoint;
    if (c.size !== cp.size || b64(c.rootHash) !== cp.root) return report(0, emptyRightEdge(), 0, 0, { index: null, reason: `the stored checkpoint row of size ${cp.size} does not match its signed note (edited)` });
    if (opened.value.verified.some((v) => v.key !== options.logKey)) cosigned++;
    addTarget(cp.size, `the signed checkpoint of size ${cp.size}`, cp.root);
  }
  if (options.externalCheckpoint !== undefined) {
    const opened = openCheckpoint(options.externalCheckpoint, options.logKey, options.witnessKeys ?? []);
    if (!opened.ok) return report(0, emptyRightEdge(), stored.length, cosigned, { index: null, reason: `the external checkpoint does not verify with the log key: ${opened.error.message}` });
    addTarget(opened.value.checkpoint.size, `the external checkpoint of size ${opened.value.checkpoint.size}`, b64(opened.value.checkpoint.rootHash));
  }
  for (const hw of options.signedElsewhere ?? []) addTarget(hw.size, hw.label, hw.root);
  const maxTarget = Math.max(0, ...targets.keys());
  const total = Math.max(headSize, maxTarget);
  // The empty tree is trivially consistent with anything; a size-0 checkpoint needs no entries.
  for (const t of targets.get(0) ?? []) if (t.root !== b64(rightEdgeRoot(emptyRightEdge()))) return report(0, emptyRightEdge(), stored.length, cosigned, { index: null, reason: `${t.label} does not have the empty tree's root` });

  // 2. Stream the entries in index order, a page per query.
  let edge = emptyRightEdge();
  let i = 0;
  let lastLeaf: Uint8Array | undefined;
  for (;;) {
    const rows = (await k.selectFrom('audit_entries')
      .select(['idx', 'time', 'actor_kind', 'actor_id', 'actor_user', 'action', 'object_type', 'object_id', 'legal_basis', 'outcome', 'request_id', 'entry', 'leaf_hash', 'nodes'])
      .where('idx', '>=', i).orderBy('idx').limit(pageSize).execute()) as EntryRow[];
    if (rows.length === 0) break;
    const pageStart = i;
    let rowProblem: VerifyProblem | undefined;
    for (const row of rows) {
      const idx = Number(row.idx);
      if (idx !== i) { rowProblem = { index: i, reason: `entry ${i} is missing (deleted)` }; break; }
      if (i >= headSize) { rowProblem = { index: i, reason: `entry ${i} lies beyond the log's head size ${headSize} (inserted)` }; break; }
      const leaf = hashLeaf(encoder.encode(row.entry));
      const why = checkRow(row, i, leaf);
      if (why !== undefined) { rowProblem = { index: i, reason: `entry ${i}: ${why}` }; break; }
      const step = appendLeaf(edge, leaf);
      if (!bytesEqual(nodesColumn(step.nodes), row.nodes)) { rowProblem = { index: i, reason: `entry ${i}: its stored Merkle subtree hashes are wrong (edited)` }; break; }
      edge = step.edge;
      lastLeaf = leaf;
      i++;
      for (const t of targets.get(i) ?? []) {
        if (b64(rightEdgeRoot(edge)) !== t.root) {
          rowProblem = { index: i - 1, reason: `the tree of the first ${i} entries does not have the root of ${t.label}: an entry at or before ${i - 1} was rewritten together with its hashes` };
          break;
        }
      }
      if (rowProblem !== undefined) break;
    }
    if (rowProblem !== undefined) return report(i, edge, stored.length, cosigned, rowProblem);
    options.onProgress?.(i, total);
    if (i === pageStart) break;
  }

  // 3. Truncation: fewer entries than the head or a signed checkpoint claims.
  if (maxTarget > i) return report(i, edge, stored.length, cosigned, { index: i, reason: `entry ${i} is missing: the log holds ${i} entries but ${[...(targets.get(maxTarget) ?? [])].map((t) => t.label).join(' and ')} was signed (truncated)` });
  if (i < headSize) return report(i, edge, stored.length, cosigned, { index: i, reason: `entry ${i} is missing: the log holds ${i} entries but its head says ${headSize} (deleted)` });
  if (headSize > 0 && (head.last_leaf === null || lastLeaf === undefined || !bytesEqual(head.last_leaf, lastLeaf))) return report(i, edge, stored.length, cosigned, { index: headSize - 1, reason: `the head's last leaf hash is not the hash of entry ${headSize - 1} (edited)` });

  // 4. Consistency between successive checkpoints, from the stored nodes (now known to be right).
  const reader = dbNodeReader(k);
  for (let j = 1; j < stored.length; j++) {
    const a = stored[j - 1]!;
    const b = stored[j]!;
    if (a.size === 0) continue;
    try {
      const proof = await consistencyProof(reader, a.size, b.size);
      if (!verifyConsistency(a.size, b.size, proof, Buffer.from(a.root, 'base64'), Buffer.from(b.root, 'base64'))) return report(i, edge, stored.length, cosigned, { index: a.size, reason: `the checkpoints of sizes ${a.size} and ${b.size} are not consistent` });
    } catch (e) {
      return report(i, edge, stored.length, cosigned, { index: a.size, reason: `no consistency proof between the checkpoints of sizes ${a.size} and ${b.size}: ${isAppError(e) ? e.message : String(e)}` });
    }
  }
  return report(i, edge, stored.length, cosigned);
}
