/** @module The audit log: appends entries with their Merkle nodes (in the same row) in the caller's transaction, answers proofs from the store. */
import type { Clock } from '#platform/clock/index.js';
import { isoUtc } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import { sql, type AnyDb, type Database } from '#platform/db/index.js';
import { AppError } from '#platform/errors/index.js';
import { createEntryGroup } from './group.js';
import { canonicalize } from './jcs.js';
import {
  appendLeaf, assembleProof, assembleRoot, consistencyProofPlan, hashLeaf, HASH_BYTES, inclusionProofPlan, planKeys, rootPlan,
  type NodeKey, type NodeReader, type RightEdge, type StoredNode,
} from './merkle.js';
import type { AuditEntryRef, AuditEvent, AuditRecorder } from './types.js';
import { externalizeText, readAuditText, redactAuditText, type AuditText } from './texts.js';

/** One entry as stored and hashed: references and hashes only. */
export interface AuditEntry {
  v: 1;
  index: number;
  time: string;
  /** `userId` names the owning user when the actor is an API token, so "own actions" cover every way a user acts. */
  actor: { kind: string; id: string; username: string; roles: string[]; orgId: string | null; userId?: string };
  action: string;
  object: { type: string; id: string } | null;
  legalBasis: string | null;
  outcome: AuditEvent['outcome'];
  requestId: string;
  policyHash: string;
  details: Record<string, string | number | boolean | null>;
}

/** What the log needs. */
export interface AuditLogDeps {
  db: Database;
  clock: Clock;
  /** The hash of the authorization policy in force, written into every entry. */
  policyHash: string;
  /** Test seam: called inside the transaction before the entry is written; a throw aborts the change. */
  beforeWrite?: (entry: AuditEntry) => void;
}

const b64 = (h: Uint8Array): string => Buffer.from(h).toString('base64');
const encoder = new TextEncoder();

function toBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  throw new AppError('INTERNAL', 'The audit store returned a hash that is not bytes.');
}

/**
 * The entry row that stores complete node (level, index): the leaf whose append completed it, leaf
 * (index + 1)·2^level − 1. Level 0 is that row's leaf hash; level L ≥ 1 is bytes [(L−1)·32, L·32) of
 * its `nodes` column. Keeping nodes in the entry row means one row per append, not three.
 * @see RFC 9162 §2.1.1
 */
export function nodeRow(key: NodeKey): number {
  return (key.index + 1) * 2 ** key.level - 1;
}

/** The `nodes` column of an entry row: the hashes of the subtrees its append completed, level 1 upwards. */
export function nodesColumn(completed: readonly StoredNode[]): Buffer {
  return Buffer.concat(completed.filter((n) => n.level > 0).map((n) => n.hash));
}

/** A node reader over `audit_entries` (leaf hashes and the `nodes` column): one query per batch of keys. */
export function dbNodeReader(q: AnyDb): NodeReader {
  return {
    async getNodes(keys: readonly NodeKey[]): Promise<Uint8Array[]> {
      if (keys.length === 0) return [];
      const wanted = [...new Set(keys.map(nodeRow))];
      const byRow = new Map<number, { leaf: Uint8Array; nodes: Uint8Array }>();
      for (let i = 0; i < wanted.length; i += 500) {
        const rows = (await q.selectFrom('audit_entries').select(['idx', 'leaf_hash', 'nodes']).where('idx', 'in', wanted.slice(i, i + 500)).execute()) as { idx: number; leaf_hash: Uint8Array; nodes: Uint8Array }[];
        for (const r of rows) byRow.set(Number(r.idx), { leaf: toBytes(r.leaf_hash), nodes: toBytes(r.nodes) });
      }
      return keys.map((k) => {
        const row = byRow.get(nodeRow(k));
        const h = row === undefined ? undefined : k.level === 0 ? row.leaf : row.nodes.subarray((k.level - 1) * HASH_BYTES, k.level * HASH_BYTES);
        if (h === undefined || h.length !== HASH_BYTES) throw new AppError('AUDIT_VERIFY_FAILED', `The audit store lacks the subtree at level ${k.level}, index ${k.index}: the log is damaged; run \`mamori audit verify\`.`);
        return h;
      });
    },
  };
}

/** Creates the audit log. @see RFC 9162 §2.1 */
export function createAuditLog(deps: AuditLogDeps) {
  const { db, clock, policyHash } = deps;
  // The right edge is cached between appends and trusted only while the head row still names the
  // same size and last leaf; any other writer or a rolled-back append makes it reload (O(log n)).
  let cached: { edge: RightEdge; lastLeaf: string | null } | undefined;

  async function lockHead(trx: AnyDb): Promise<{ size: number; lastLeaf: string | null }> {
    const q = trx.selectFrom('audit_head').select(['size', 'last_leaf']).where('id', '=', 1);
    // PostgreSQL: row lock serializes appenders across processes; SQLite: the write transaction already does.
    const row = (await (db.dialect === 'postgres' ? q.forUpdate() : q).executeTakeFirstOrThrow()) as { size: number; last_leaf: Uint8Array | null };
    return { size: Number(row.size), lastLeaf: row.last_leaf === null ? null : b64(toBytes(row.last_leaf)) };
  }

  async function appendAll(items: readonly { ctx: RequestContext; event: AuditEvent }[], trx: AnyDb): Promise<AuditEntryRef[]> {
    const head = await lockHead(trx);
    let edge: RightEdge;
    if (cached !== undefined && cached.edge.size === head.size && cached.lastLeaf === head.lastLeaf) edge = cached.edge;
    else {
      const keys = planKeys(rootPlan(head.size));
      edge = { size: head.size, hashes: await dbNodeReader(trx).getNodes(keys) };
    }
    const time = isoUtc(clock.nowMs());
    const entryRows: Record<string, unknown>[] = [];
    const refs: AuditEntryRef[] = [];
    let lastLeaf = head.lastLeaf;
    for (const { ctx, event } of items) {
      const entry: AuditEntry = {
        v: 1,
        index: edge.size,
        time,
        actor: { kind: ctx.actor.kind, id: ctx.actor.id, username: ctx.actor.username, roles: [...ctx.actor.roles], orgId: ctx.actor.orgId, ...(ctx.actor.userId !== undefined ? { userId: ctx.actor.userId } : {}) },
        action: event.action,
        object: event.object,
        legalBasis: event.legalBasis ?? ctx.legalBasis ?? null,
        outcome: event.outcome,
        requestId: ctx.requestId,
        policyHash,
        // Free text goes to the side table, referenced by a salted hash (texts.ts).
        details: await externalizeText(trx, event.details ?? {}, time),
      };
      deps.beforeWrite?.(entry);
      const text = canonicalize(entry);
      const leaf = hashLeaf(encoder.encode(text));
      const step = appendLeaf(edge, leaf);
      edge = step.edge;
      lastLeaf = b64(leaf);
      entryRows.push({
        idx: entry.index, time, actor_kind: entry.actor.kind, actor_id: entry.actor.id, actor_user: entry.actor.userId ?? entry.actor.id, action: entry.action,
        object_type: entry.object?.type ?? null, object_id: entry.object?.id ?? null, legal_basis: entry.legalBasis,
        outcome: entry.outcome, request_id: entry.requestId, entry: text, leaf_hash: Buffer.from(leaf), nodes: nodesColumn(step.nodes),
      });
      refs.push({ index: entry.index, leafHash: lastLeaf });
    }
    // Chunks keep each statement under SQLite's bound-parameter limit.
    for (let i = 0; i < entryRows.length; i += 1000) await trx.insertInto('audit_entries').values(entryRows.slice(i, i + 1000)).execute();
    await trx.updateTable('audit_head').set({ size: edge.size, last_leaf: Buffer.from(Buffer.from(lastLeaf ?? '', 'base64')) }).where('id', '=', 1).execute();
    cached = { edge, lastLeaf };
    return refs;
  }

  async function inTrx<T>(trx: AnyDb | undefined, fn: (q: AnyDb) => Promise<T>): Promise<T> {
    if (trx !== undefined) return fn(trx);
    return db.transaction((t) => fn(t));
  }

  // Entries written on their own (reads, denials) share commits; entries inside a caller's transaction commit with it.
  const group = createEntryGroup(async (items) => {
    try {
      return await db.transaction((t) => appendAll(items, t));
    } catch (e) {
      cached = undefined;
      throw e;
    }
  });

  const recorder: AuditRecorder = {
    async record(ctx, event, trx) {
      try {
        if (trx === undefined) return await group.append(ctx, event);
        const [ref] = await appendAll([{ ctx, event }], trx);
        return ref!;
      } catch (e) {
        cached = undefined;
        throw new AppError('AUDIT_WRITE_FAILED', 'The audit entry could not be written, so the change was not made. Try again; if it persists, the operators must check the database.', { cause: e });
      }
    },
  };

  return {
    ...recorder,
    policyHash,
    /** Appends several entries in one transaction (imports, benchmarks, batched jobs). */
    async recordMany(ctx: RequestContext, events: readonly AuditEvent[], trx?: AnyDb): Promise<AuditEntryRef[]> {
      try {
        return await inTrx(trx, (q) => appendAll(events.map((event) => ({ ctx, event })), q));
      } catch (e) {
        cached = undefined;
        throw new AppError('AUDIT_WRITE_FAILED', 'The audit entries could not be written, so the change was not made.', { cause: e });
      }
    },
    /** Appends entries of several requests, each with its own context, in one transaction (group commits: one head update for all). */
    async recordBatch(items: readonly { ctx: RequestContext; event: AuditEvent }[], trx?: AnyDb): Promise<AuditEntryRef[]> {
      if (items.length === 0) return [];
      try {
        return await inTrx(trx, (q) => appendAll(items, q));
      } catch (e) {
        cached = undefined;
        throw new AppError('AUDIT_WRITE_FAILED', 'The audit entries could not be written, so the change was not made. Try again; if it persists, the operators must check the database.', { cause: e });
      }
    },
    /** A free text an entry references (`…Ref: "text:<hash>"`), or its redaction. */
    readText: (ref: string): Promise<AuditText | undefined> => readAuditText(db.kysely, ref),
    /**
     * Redacts a free text by a commission order: text and salt are erased, the entry keeps its reference, so
     * the log verifies as before. The order itself is audited (`audit:redact`, by reference only).
     */
    async redactText(ctx: RequestContext, ref: string, order: string): Promise<boolean> {
      if (!/^[A-Za-z0-9:_-]{1,100}$/.test(order)) throw new AppError('VALIDATION_FAILED', 'order: the id of the commission\'s order (its oversight request or decision), letters, digits, ":", "_" and "-".', { details: [{ path: 'order', message: 'not an id' }] });
      if (!/^text:[0-9a-f]{64}$/.test(ref)) throw new AppError('VALIDATION_FAILED', 'ref: a text reference such as text:<64 hex digits>, as an entry\'s …Ref detail shows it.', { details: [{ path: 'ref', message: 'not a text reference' }] });
      const done = await db.transaction(async (trx) => {
        const ok = await redactAuditText(trx, ref, ctx.actor.userId ?? ctx.actor.id, order, isoUtc(clock.nowMs()));
        if (ok) await recorder.record(ctx, { action: 'audit:redact', object: { type: 'audit_text', id: ref }, outcome: 'success', details: { order } }, trx);
        return ok;
      });
      // The erased text must not survive in free pages or the write-ahead log.
      if (done) await db.scrub(['audit_texts']);
      return done;
    },
    /** The current tree size and root (base64). */
    async head(): Promise<{ size: number; root: string }> {
      const row = (await db.kysely.selectFrom('audit_head').select('size').where('id', '=', 1).executeTakeFirstOrThrow()) as { size: number };
      const size = Number(row.size);
      const plan = rootPlan(size);
      return { size, root: b64(assembleRoot(plan, await dbNodeReader(db.kysely).getNodes(planKeys(plan)))) };
    },
    /** The root (base64) of the first `size` entries. */
    async rootAt(size: number): Promise<string> {
      const plan = rootPlan(size);
      return b64(assembleRoot(plan, await dbNodeReader(db.kysely).getNodes(planKeys(plan))));
    },
    /** Inclusion proof of entry `index` in the tree of `size` entries. @see RFC 9162 §2.1.3.1 */
    async inclusionProof(index: number, size: number): Promise<{ leafIndex: number; treeSize: number; leafHash: string; proof: string[] }> {
      const plan = inclusionProofPlan(index, size);
      const leafKey = { level: 0, index };
      const hashes = await dbNodeReader(db.kysely).getNodes([leafKey, ...planKeys(plan)]);
      return { leafIndex: index, treeSize: size, leafHash: b64(hashes[0]!), proof: assembleProof(plan, hashes.slice(1)).map(b64) };
    },
    /** The index of the entry with this leaf hash (base64), if any. */
    async indexOfLeaf(leafHashB64: string): Promise<number | undefined> {
      const row = (await db.kysely.selectFrom('audit_entries').select('idx').where('leaf_hash', '=', Buffer.from(leafHashB64, 'base64')).executeTakeFirst()) as { idx: number } | undefined;
      return row === undefined ? undefined : Number(row.idx);
    },
    /** Consistency proof between two sizes. @see RFC 9162 §2.1.4.1 */
    async consistencyProof(size1: number, size2: number): Promise<{ size1: number; size2: number; proof: string[] }> {
      const plan = consistencyProofPlan(size1, size2);
      return { size1, size2, proof: assembleProof(plan, await dbNodeReader(db.kysely).getNodes(planKeys(plan))).map(b64) };
    },
    /** Entries in [from, to), optionally only those of one user (directly or through their tokens) or system actor, or of some actions, at most `limit`. */
    async entries(range: { from: number; to: number; actorId?: string | undefined; actions?: readonly string[] | undefined; limit?: number }): Promise<AuditEntry[]> {
      let q = db.kysely.selectFrom('audit_entries').select('entry').where('idx', '>=', range.from).where('idx', '<', range.to).orderBy('idx');
      if (range.actorId !== undefined) q = q.where('actor_user', '=', range.actorId);
      if (range.actions !== undefined) q = q.where('action', 'in', range.actions.length > 0 ? [...range.actions] : ['']);
      if (range.limit !== undefined) q = q.limit(range.limit);
      return ((await q.execute()) as { entry: string }[]).map((r) => JSON.parse(r.entry) as AuditEntry);
    },
    /** Counts entries by action and outcome in a time window (for the Diet report and inspection). */
    async countByAction(window: { from: string; to: string }): Promise<{ action: string; outcome: string; n: number }[]> {
      const rows = (await db.kysely
        .selectFrom('audit_entries')
        .select(['action', 'outcome', sql<number>`count(*)`.as('n')])
        .where('time', '>=', window.from)
        .where('time', '<', window.to)
        .groupBy(['action', 'outcome'])
        .execute()) as { action: string; outcome: string; n: number | string }[];
      return rows.map((r) => ({ action: r.action, outcome: r.outcome, n: Number(r.n) }));
    },
  };
}

/** The audit log's interface. */
export type AuditLog = ReturnType<typeof createAuditLog>;
