/** @module The checkpointer: signs the log's head as a C2SP checkpoint every N entries or T seconds and on demand, never against an earlier one. */
import type { Clock } from '#platform/clock/index.js';
import { isoUtc } from '#platform/clock/index.js';
import type { AnyDb, Database } from '#platform/db/index.js';
import { AppError } from '#platform/errors/index.js';
import {
  formatVerifierKey, openCheckpoint, signCheckpoint, SIG_ED25519, verifierOf, type SignerKey, type VerifierKey,
} from './checkpoint.js';
import { existsSync, readFileSync } from 'node:fs';
import { loadOrCreateSignerKey, writePrivateFile } from './keys.js';
import type { AuditLog } from './log.js';
import { verifyConsistency } from './merkle.js';
import { readWitnessState } from './witness.js';

/** A signed checkpoint as stored in `audit_checkpoints`. */
export interface StoredCheckpoint {
  size: number;
  /** Root hash, standard base64. */
  root: string;
  /** The signed note (log signature, plus the witness's cosignature once it has co-signed). */
  note: string;
  createdAt: string;
}

/** When and how the checkpointer signs. */
export interface CheckpointerConfig {
  /** Checkpoint origin and log key name, e.g. `mamori.go.jp/audit`. */
  origin: string;
  everyEntries: number;
  everySeconds: number;
  /** Path of the log's private key file (created on first start, mode 0600). */
  keyFile: string;
  /** How often the timer looks at the head; default min(1 s, everySeconds). */
  pollMs?: number;
  /** The commission witness's state file, if any: the log must never be smaller than what it co-signed. */
  witnessStateFile?: string;
}

/** The log's own record of the largest tree it signed, beside its key (`x.key` → `x.state.json`). */
export function logStatePath(keyFile: string): string {
  return `${keyFile.replace(/\.key$/, '')}.state.json`;
}

/**
 * The largest (size, root) the log signed, from its state file outside the database, or undefined before the
 * first checkpoint. A damaged file is an error: deleting or breaking it must not let a shrunk log pass.
 * @see c2sp.org/tlog-checkpoint
 */
export function readLogState(keyFile: string): { size: number; root: string } | undefined {
  const stateFile = logStatePath(keyFile);
  if (!existsSync(stateFile)) return undefined;
  try {
    const s = JSON.parse(readFileSync(stateFile, 'utf8')) as { size: number; root: string };
    if (Number.isSafeInteger(s.size) && typeof s.root === 'string') return { size: s.size, root: s.root };
  } catch { /* fall through */ }
  throw new AppError('CONFIG_INVALID', `The checkpointer state file ${stateFile} is damaged; restore it from backup before signing again.`);
}

/** The largest trees ever signed, as recorded outside the database (the log's state file, the witness's). */
export function signedHighWater(keyFile: string, witnessStateFile: string | undefined): { label: string; size: number; root: string }[] {
  const out: { label: string; size: number; root: string }[] = [];
  const own = readLogState(keyFile);
  if (own !== undefined) out.push({ label: `the checkpoint of size ${own.size} recorded in ${logStatePath(keyFile)}`, ...own });
  const w = witnessStateFile === undefined ? undefined : readWitnessState(witnessStateFile);
  if (w !== undefined) out.push({ label: `the checkpoint of size ${w.size} the witness co-signed (${witnessStateFile})`, size: w.size, root: w.root });
  return out;
}

/** What the checkpointer needs. */
export interface CheckpointerDeps {
  db: Database;
  log: AuditLog;
  clock: Clock;
  /** Where a failed background checkpoint is reported (the timer must not crash the process). */
  onError?: (e: unknown) => void;
  /** Told after this process stored a new checkpoint (API replicas tell the others to serve it). */
  onSigned?: (cp: StoredCheckpoint) => void;
}

const b64 = (h: Uint8Array): string => Buffer.from(h).toString('base64');

function rowOf(r: { size: number | string; root: string; note: string; created_at: string }): StoredCheckpoint {
  return { size: Number(r.size), root: r.root, note: r.note, createdAt: r.created_at };
}

/** Every stored checkpoint with `size` in [from, ∞), smallest first. @see c2sp.org/tlog-checkpoint */
export async function listCheckpoints(q: AnyDb, from = 0): Promise<StoredCheckpoint[]> {
  const rows = (await q.selectFrom('audit_checkpoints').select(['size', 'root', 'note', 'created_at']).where('size', '>=', from).orderBy('size').execute()) as Parameters<typeof rowOf>[0][];
  return rows.map(rowOf);
}

/** The stored checkpoint of the largest size, if any. @see c2sp.org/tlog-checkpoint */
export async function latestCheckpoint(q: AnyDb): Promise<StoredCheckpoint | undefined> {
  const r = (await q.selectFrom('audit_checkpoints').select(['size', 'root', 'note', 'created_at']).orderBy('size', 'desc').limit(1).executeTakeFirst()) as Parameters<typeof rowOf>[0] | undefined;
  return r === undefined ? undefined : rowOf(r);
}

/** Up to `limit` stored checkpoints, largest first, of size below `before` when given. @see c2sp.org/tlog-checkpoint */
export async function recentCheckpoints(q: AnyDb, limit: number, before?: number): Promise<StoredCheckpoint[]> {
  let s = q.selectFrom('audit_checkpoints').select(['size', 'root', 'note', 'created_at']);
  if (before !== undefined) s = s.where('size', '<', before);
  const rows = (await s.orderBy('size', 'desc').limit(limit).execute()) as Parameters<typeof rowOf>[0][];
  return rows.map(rowOf);
}

/** The stored checkpoint of exactly `size`, if any. @see c2sp.org/tlog-checkpoint */
export async function checkpointAt(q: AnyDb, size: number): Promise<StoredCheckpoint | undefined> {
  const r = (await q.selectFrom('audit_checkpoints').select(['size', 'root', 'note', 'created_at']).where('size', '=', size).executeTakeFirst()) as Parameters<typeof rowOf>[0] | undefined;
  return r === undefined ? undefined : rowOf(r);
}

/**
 * Replaces a stored note by one that carries more signatures (the witness's cosignature), only if
 * the row still holds `previous`; returns false when someone else changed it first.
 * @see c2sp.org/tlog-cosignature
 */
export async function replaceCheckpointNote(q: AnyDb, size: number, previous: string, next: string): Promise<boolean> {
  const r = await q.updateTable('audit_checkpoints').set({ note: next }).where('size', '=', size).where('note', '=', previous).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * Creates the checkpointer. `start()` loads (or creates) the key and runs a timer; `checkpointNow()`
 * signs on demand. It never signs a size below the last checkpoint, and checks the stored tree is
 * consistent with the last signed root before signing a larger one.
 * @see c2sp.org/tlog-checkpoint
 * @see RFC 9162 §2.1.4
 */
export function createCheckpointer(config: CheckpointerConfig, deps: CheckpointerDeps) {
  const { db, log, clock } = deps;
  let key: SignerKey | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  // One signing at a time in this process; across processes the primary key on size decides.
  let chain: Promise<unknown> = Promise.resolve();
  let lastSignedAtMs: number | undefined;

  // The last signed (size, root) is also kept beside the key, outside the database: rows deleted
  // from audit_checkpoints cannot make the log sign a smaller or different tree again.
  const stateFile = logStatePath(config.keyFile);
  const lastSignedOnDisk = () => readLogState(config.keyFile);

  /** Refuses a log smaller than, or different at, the largest tree signed according to the files outside the database. */
  async function checkNotShrunk(): Promise<void> {
    // Files before the head, as in signHead: a replica sharing the state file may sign a larger head meanwhile.
    const highWater = signedHighWater(config.keyFile, config.witnessStateFile);
    const { size } = await log.head();
    for (const hw of highWater) {
      if (size < hw.size) throw new AppError('AUDIT_VERIFY_FAILED', `The audit log holds ${size} entries but ${hw.label} was signed: the log was truncated. Refusing to start; run \`mamori audit verify\` and restore the log from backup.`);
      if (hw.size > 0 && (await log.rootAt(hw.size)) !== hw.root) throw new AppError('AUDIT_VERIFY_FAILED', `The first ${hw.size} entries of the audit log no longer have the root of ${hw.label}: the log was rewritten. Refusing to start; run \`mamori audit verify\`.`);
    }
  }

  function signer(): SignerKey {
    key ??= loadOrCreateSignerKey(config.keyFile, config.origin, SIG_ED25519).key;
    return key;
  }

  function serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined);
    return run;
  }

  async function signHead(): Promise<StoredCheckpoint | undefined> {
    const k = signer();
    // Read in the order things are written (a signer writes its file after its row, and signs only committed entries):
    // file, then the latest row, then the head. Another replica signing between two reads then never makes the
    // later read look smaller than the earlier one, which would pass for a truncated log or removed checkpoints.
    const onDisk = lastSignedOnDisk();
    const last = await latestCheckpoint(db.kysely);
    const { size } = await log.head();
    if (onDisk !== undefined && (last === undefined || last.size < onDisk.size)) {
      throw new AppError('AUDIT_VERIFY_FAILED', `The log signed a checkpoint of size ${onDisk.size} (${stateFile}) that is no longer stored: checkpoints were removed from the database. Run \`mamori audit verify\`; nothing was signed.`);
    }
    if (last !== undefined) {
      const opened = openCheckpoint(last.note, verifierOf(k));
      if (!opened.ok) throw new AppError('AUDIT_VERIFY_FAILED', `The last stored checkpoint (size ${last.size}) does not verify with the log key: ${opened.error.message} Run \`mamori audit verify\` before signing again.`);
      const lastRoot = opened.value.checkpoint.rootHash;
      if (opened.value.checkpoint.size !== last.size || b64(lastRoot) !== last.root) throw new AppError('AUDIT_VERIFY_FAILED', `The stored checkpoint row of size ${last.size} does not match its signed note; run \`mamori audit verify\`.`);
      if (size < last.size) throw new AppError('AUDIT_VERIFY_FAILED', `The log holds ${size} entries but a checkpoint of size ${last.size} was signed: entries were removed. Run \`mamori audit verify\`; nothing was signed.`);
      const root = Buffer.from(await log.rootAt(size), 'base64');
      if (size === last.size) {
        if (b64(root) !== last.root) throw new AppError('AUDIT_VERIFY_FAILED', `The tree of size ${size} no longer has the signed root; run \`mamori audit verify\`. Nothing was signed.`);
        return undefined;
      }
      const proof = (await log.consistencyProof(last.size, size)).proof.map((p) => Buffer.from(p, 'base64'));
      if (!verifyConsistency(last.size, size, proof, lastRoot, root)) throw new AppError('AUDIT_VERIFY_FAILED', `The log of size ${size} is not consistent with the checkpoint of size ${last.size}; run \`mamori audit verify\`. Nothing was signed.`);
      return store(k, size, root);
    }
    if (size === 0) return undefined;
    return store(k, size, Buffer.from(await log.rootAt(size), 'base64'));
  }

  async function store(k: SignerKey, size: number, root: Uint8Array): Promise<StoredCheckpoint> {
    const note = signCheckpoint({ origin: config.origin, size, rootHash: root, extensions: [] }, k);
    const row = { size, root: b64(root), note, created_at: isoUtc(clock.nowMs()) };
    try {
      await db.kysely.insertInto('audit_checkpoints').values(row).execute();
    } catch (e) {
      // Another process signed the same size first: fine if it signed the same root.
      const other = await checkpointAt(db.kysely, size);
      if (other?.root !== row.root) throw new AppError('AUDIT_VERIFY_FAILED', `A different checkpoint of size ${size} is already stored; run \`mamori audit verify\`.`, { cause: e });
      return other;
    }
    lastSignedAtMs = clock.nowMs();
    // Only forward: a replica sharing the file may have recorded a larger tree since this row was inserted.
    if ((lastSignedOnDisk()?.size ?? -1) < size) writePrivateFile(stateFile, `${JSON.stringify({ size, root: row.root, at: row.created_at })}\n`);
    const stored = rowOf(row);
    deps.onSigned?.(stored);
    return stored;
  }

  /** Signs when N entries or T seconds have passed since the last checkpoint (and there is something new). */
  async function maybeCheckpoint(): Promise<StoredCheckpoint | undefined> {
    return serialize(async () => {
      const [{ size }, last] = await Promise.all([log.head(), latestCheckpoint(db.kysely)]);
      const lastSize = last?.size ?? 0;
      if (size <= lastSize) return undefined;
      lastSignedAtMs ??= last !== undefined ? Date.parse(last.createdAt) : clock.nowMs();
      const due = size - lastSize >= config.everyEntries || clock.nowMs() - lastSignedAtMs >= config.everySeconds * 1000;
      return due ? signHead() : undefined;
    });
  }

  return {
    /** Loads or creates the key, then checks the head on a timer. */
    async start(): Promise<void> {
      signer();
      await checkNotShrunk();
      if (timer !== undefined) return;
      const every = config.pollMs ?? Math.min(1000, config.everySeconds * 1000);
      timer = setInterval(() => {
        maybeCheckpoint().catch((e: unknown) => deps.onError?.(e));
      }, every);
      timer.unref();
    },
    /** Stops the timer and waits for a signing in progress. */
    async stop(): Promise<void> {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await chain;
    },
    maybeCheckpoint,
    checkNotShrunk,
    /** Signs the current head now (if it grew) and returns the latest checkpoint. */
    async checkpointNow(): Promise<StoredCheckpoint | undefined> {
      return serialize(async () => (await signHead()) ?? (await latestCheckpoint(db.kysely)));
    },
    /** The latest stored checkpoint. */
    latest: () => latestCheckpoint(db.kysely),
    /** Up to `limit` stored checkpoints, newest first, of size below `before` when given. */
    recent: (limit: number, before?: number) => recentCheckpoints(db.kysely, limit, before),
    /** The log's public key (to verify its checkpoints). */
    verifier(): VerifierKey {
      return verifierOf(signer());
    },
    /** The log's public key as a signed-note verifier key string, safe to publish. */
    verifierKeyString(): string {
      return formatVerifierKey(verifierOf(signer()));
    },
    origin: config.origin,
  };
}

/** The checkpointer's interface. */
export type Checkpointer = ReturnType<typeof createCheckpointer>;
