/** @module Purging findings: what rests only on a purged or expired legal basis is deleted with its case items; the rest loses that basis and everything that cannot be told apart from it. */
import { createHash } from 'node:crypto';
import type { Clock } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import type { AnyDb, Database } from '#platform/db/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import { findingLockKey, lockFindingKeys } from './locks.js';

/** What a purge did to findings and cases: references and hashes only. */
export interface FindingsPurge {
  /** Findings deleted: they rested only on the purged bases. */
  deleted: string[];
  /** Findings that rest on other bases too: the purged bases, their hosts and their evidence are withdrawn. */
  withdrawn: string[];
  /** Case items removed (a deleted finding's membership of a case). */
  caseItems: number;
  /** Cases that lost an item. */
  cases: string[];
  /** SHA-256 over the sorted SHA-256 of each finding row as it was before the purge. */
  contentHash: string;
}

type Row = Record<string, unknown>;

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const rowHash = (r: Row): string => sha256(JSON.stringify(Object.keys(r).sort().map((k) => [k, r[k]])));

/** Hashes a list of item hashes into one (sorted, so the order of deletion does not matter). */
export function rootHash(hashes: readonly string[]): string {
  return sha256([...hashes].sort().join('\n'));
}

/**
 * Creates the findings purger. Evidence and affected hosts are kept per finding, not per basis, so where a
 * finding rests on several bases the purged one's part cannot be told apart: all of its hosts and evidence
 * are withdrawn (the detectors add fresh evidence from flows under the remaining bases), its kind, subject,
 * level and score stay. Updates that name a purged basis are refused afterwards (`refuses`).
 * @see DESIGN.md invariants 4 and 6
 */
export function createFindingsPurger(deps: { db: Database; policy: PolicyEngine; clock: Clock }) {
  const { db, policy, clock } = deps;
  const purged = new Set<string>();

  /**
   * On PostgreSQL, workers merge into findings concurrently (analysis/service.ts): the purge takes the same per-key advisory
   * locks, all before any row and in the same (hash) order, then each row FOR UPDATE — so a merge cannot write back a row the
   * purge changed (or the reverse), and purge and merge never wait on each other in a cycle.
   */
  async function lockKeys(trx: AnyDb, ids: readonly string[]): Promise<void> {
    if (db.dialect !== 'postgres') return;
    const keys: string[] = [];
    for (let i = 0; i < ids.length; i += 5_000) {
      const rows = (await trx.selectFrom('findings').select(['kind', 'subject_kind', 'subject_value'])
        .where('id', 'in', ids.slice(i, i + 5_000)).execute()) as Row[];
      for (const r of rows) keys.push(findingLockKey(String(r['kind']), String(r['subject_kind']), String(r['subject_value'])));
    }
    await lockFindingKeys(db, trx, keys);
  }

  async function apply(trx: AnyDb, byFinding: Map<string, Set<string>>, out: FindingsPurge, hashes: string[]): Promise<void> {
    await lockKeys(trx, [...byFinding.keys()]);
    for (const [id, bases] of byFinding) {
      let find = trx.selectFrom('findings').selectAll().where('id', '=', id);
      if (db.dialect === 'postgres') find = find.forUpdate();
      const row = (await find.executeTakeFirst()) as Row | undefined;
      if (row === undefined) continue;
      hashes.push(rowHash(row));
      const remaining = (JSON.parse(String(row['legal_bases'])) as string[]).filter((b) => !bases.has(b));
      if (remaining.length === 0) {
        const items = (await trx.selectFrom('case_items').select('case_id').where('item_type', '=', 'finding').where('item_id', '=', id).execute()) as { case_id: string }[];
        await trx.deleteFrom('case_items').where('item_type', '=', 'finding').where('item_id', '=', id).execute();
        await trx.deleteFrom('findings').where('id', '=', id).execute();
        out.deleted.push(id);
        out.caseItems += items.length;
        for (const i of items) if (!out.cases.includes(i.case_id)) out.cases.push(i.case_id);
      } else {
        await trx.updateTable('findings').set({
          legal_bases: JSON.stringify(remaining), hosts: '[]', host_count: 0,
          evidence: JSON.stringify({ withdrawn: 'rested in part on a legal basis whose data was purged; new evidence follows from the remaining bases' }),
          revision: Number(row['revision']) + 1, updated_at: new Date(clock.nowMs()).toISOString(),
        }).where('id', '=', id).execute();
        out.withdrawn.push(id);
      }
    }
  }

  async function run(ctx: RequestContext, byFinding: Map<string, Set<string>>): Promise<FindingsPurge> {
    policy.require(ctx, 'flows:purge');
    const out: FindingsPurge = { deleted: [], withdrawn: [], caseItems: 0, cases: [], contentHash: rootHash([]) };
    const hashes: string[] = [];
    await db.transaction((trx) => apply(trx, byFinding, out, hashes));
    out.contentHash = rootHash(hashes);
    return out;
  }

  async function findingsOf(): Promise<{ id: string; bases: string[]; lastSeen: number }[]> {
    const rows = (await db.kysely.selectFrom('findings').select(['id', 'legal_bases', 'last_seen']).execute()) as Row[];
    return rows.map((r) => ({ id: String(r['id']), bases: JSON.parse(String(r['legal_bases'])) as string[], lastSeen: Date.parse(String(r['last_seen'])) }));
  }

  return {
    /** Every basis some finding still rests on (the retention sweep retries the purge of revoked ones among them). */
    async basesInUse(): Promise<Set<string>> {
      return new Set((await findingsOf()).flatMap((f) => f.bases));
    },

    /** True when updates naming `basisId` must be refused (its data was purged in this process). */
    refuses: (basisId: string): boolean => purged.has(basisId),

    /** Removes what rests on `basisId` from every finding; deletes the findings that rest on it alone, and their case items. */
    async purgeBasis(ctx: RequestContext, basisId: string): Promise<FindingsPurge> {
      purged.add(basisId);
      const byFinding = new Map<string, Set<string>>();
      for (const f of await findingsOf()) if (f.bases.includes(basisId)) byFinding.set(f.id, new Set([basisId]));
      return run(ctx, byFinding);
    },

    /**
     * Retention of findings from the bases they rest on: a finding's part under basis b goes once its last
     * evidence is older than b's retention (an unknown basis keeps nothing). Returns what went, per basis.
     * @see DESIGN.md invariant 4
     */
    async expire(ctx: RequestContext, retentionOf: (ids: readonly string[]) => Promise<Map<string, number>>): Promise<Map<string, FindingsPurge>> {
      policy.require(ctx, 'flows:purge');
      const all = await findingsOf();
      const days = await retentionOf([...new Set(all.flatMap((f) => f.bases))]);
      const now = clock.nowMs();
      const perBasis = new Map<string, Map<string, Set<string>>>();
      for (const f of all) {
        for (const b of f.bases) {
          if (f.lastSeen + (days.get(b) ?? 0) * 86_400_000 > now) continue;
          let m = perBasis.get(b);
          if (m === undefined) perBasis.set(b, (m = new Map()));
          m.set(f.id, new Set([b]));
        }
      }
      const out = new Map<string, FindingsPurge>();
      for (const [b, byFinding] of perBasis) out.set(b, await run(ctx, byFinding));
      return out;
    },
  };
}

/** The findings purger. */
export type FindingsPurger = ReturnType<typeof createFindingsPurger>;
