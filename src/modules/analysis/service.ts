/** @module Findings and cases: the store (merge by kind and subject), the audited reads, and analysts' cases with items, notes, status and owner. */
import type { Clock } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import { type AnyDb, type Database, type NamedMigration } from '#platform/db/index.js';
import { AppError, parseOrThrow } from '#platform/errors/index.js';
import type { z } from 'zod';
import { newId } from '#platform/ids/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import type { AuditEntryRef, AuditEvent, AuditRecorder } from '#modules/audit/index.js';
import { CASE_STATUSES, MAX_FINDING_HOSTS, findingQuerySchema, levelRank, type Case, type CaseStatus, type Finding, type FindingQuery, type FindingUpdate, type TriageEvent, type TriagedFinding } from './schema.js';
import { findingLockKey, lockFindingKeys } from './locks.js';
import { changeTriage, stateCondition, triageHistory, triageMigration, triageOf } from './triage.js';
import type { Indicator, IndicatorSource } from './indicators.js';
import { afterKey, cutPage, decodeCursor, type Page, type PageQuery } from '#platform/paging/index.js';

/** Analysis's tables: findings (one row per kind and subject), cases, their items and notes. */
export const analysisMigrations: NamedMigration[] = [
  {
    // The indicator store the known-indicator detector matches against; reporting (indicators in
    // reports), sharing (feeds, released intel) and analysts write to it. Runs before their migrations.
    name: '0200_indicators',
    async up(db) {
      await db.schema
        .createTable('indicators')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('source_type', 'text', (c) => c.notNull())
        .addColumn('source_id', 'text', (c) => c.notNull())
        .addColumn('stix_id', 'text')
        .addColumn('confidence', 'integer', (c) => c.notNull())
        .addColumn('first_seen', 'text', (c) => c.notNull())
        .addColumn('last_seen', 'text', (c) => c.notNull())
        .addColumn('valid_until', 'text')
        .execute();
      await db.schema.createIndex('indicators_key').unique().on('indicators').columns(['kind', 'value', 'source_type', 'source_id']).execute();
      await db.schema.createIndex('indicators_stix').on('indicators').column('stix_id').execute();
    },
  },
  {
    // Keyset paging of indicator lists (first_seen, id) and a report's indicators by source id (exports read them per chunk).
    name: '0910_analysis_indicator_paging',
    async up(db) {
      await db.schema.createIndex('indicators_page').ifNotExists().on('indicators').columns(['first_seen', 'id']).execute();
      await db.schema.createIndex('indicators_source').ifNotExists().on('indicators').columns(['source_id', 'source_type']).execute();
    },
  },
  {
    // Keyset paging of findings (last_seen, id) and cases (updated_at, id).
    name: '0911_analysis_findings_cases_paging',
    async up(db) {
      await db.schema.createIndex('findings_page').ifNotExists().on('findings').columns(['last_seen', 'id']).execute();
      await db.schema.createIndex('cases_page').ifNotExists().on('cases').columns(['updated_at', 'id']).execute();
    },
  },
  {
    name: '0600_analysis',
    async up(db) {
      await db.schema.createTable('findings')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('subject_kind', 'text', (c) => c.notNull())
        .addColumn('subject_value', 'text', (c) => c.notNull())
        .addColumn('level', 'text', (c) => c.notNull())
        .addColumn('score', 'real', (c) => c.notNull())
        .addColumn('score_detail', 'text', (c) => c.notNull())
        .addColumn('evidence', 'text', (c) => c.notNull())
        .addColumn('first_seen', 'text', (c) => c.notNull())
        .addColumn('last_seen', 'text', (c) => c.notNull())
        .addColumn('hosts', 'text', (c) => c.notNull())
        .addColumn('host_count', 'integer', (c) => c.notNull())
        .addColumn('legal_bases', 'text', (c) => c.notNull())
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('findings_kind_subject', ['kind', 'subject_kind', 'subject_value'])
        .execute();
      await db.schema.createIndex('findings_last_seen').on('findings').column('last_seen').execute();
      await db.schema.createTable('cases')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('owner_id', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('case_items')
        .addColumn('case_id', 'text', (c) => c.notNull().references('cases.id'))
        .addColumn('item_type', 'text', (c) => c.notNull())
        .addColumn('item_id', 'text', (c) => c.notNull())
        .addColumn('added_by', 'text', (c) => c.notNull())
        .addColumn('added_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('case_items_pk', ['case_id', 'item_type', 'item_id'])
        .execute();
      await db.schema.createTable('case_notes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('case_id', 'text', (c) => c.notNull().references('cases.id'))
        .addColumn('author_id', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  triageMigration,
];

/** Dependencies of the analysis service. */
export interface AnalysisServiceDeps {
  db: Database;
  policy: PolicyEngine;
  /** The audit log; with `recordMany` (the real log has it), a merge's entries are appended together. */
  audit: AuditRecorder & { recordMany?(ctx: RequestContext, events: readonly AuditEvent[], trx?: AnyDb): Promise<AuditEntryRef[]> };
  clock: Clock;
  /** Display names of users by id (the identity module), so cases show people, not ids; absent, names are null. */
  people?: { namesOf(ids: readonly string[]): Promise<ReadonlyMap<string, string>> };
  /** True for a legal basis whose data was purged: detector updates naming it are refused (purge.ts). */
  refuses?: (basisId: string) => boolean;
}

type Row = Record<string, unknown>;

/** The person acting: a token stands for its owner, so cases name the user, not the token. */
const personOf = (ctx: RequestContext): string => ctx.actor.userId ?? ctx.actor.id;
const iso = (ms: number) => new Date(ms).toISOString();
const json = (v: unknown) => JSON.stringify(v);
const parse = <T>(v: unknown): T => JSON.parse(String(v)) as T;

/** PostgreSQL aborted the transaction to break a deadlock (the code may sit on a cause: audit failures wrap theirs). */
function isDeadlock(e: unknown): boolean {
  for (let c = e, depth = 0; c !== undefined && c !== null && depth < 5; c = (c as { cause?: unknown }).cause, depth++) {
    if ((c as { code?: unknown }).code === '40P01') return true;
  }
  return false;
}

function toFinding(r: Row): Finding {
  return {
    id: String(r['id']), kind: r['kind'] as Finding['kind'],
    subject: { kind: r['subject_kind'] as Finding['subject']['kind'], value: String(r['subject_value']) },
    level: r['level'] as Finding['level'], score: Number(r['score']),
    scoreDetail: parse(r['score_detail']), evidence: parse(r['evidence']),
    firstSeen: Date.parse(String(r['first_seen'])), lastSeen: Date.parse(String(r['last_seen'])),
    hosts: parse(r['hosts']), hostCount: Number(r['host_count']), bases: parse(r['legal_bases']),
    revision: Number(r['revision']), createdAt: String(r['created_at']), updatedAt: String(r['updated_at']),
  };
}

/**
 * Creates the analysis service: `recordFindings` merges detector updates (one row per kind and subject,
 * its revision counting how often evidence grew); every read of findings or cases is authorized and audited.
 * @see docs/detection.md#findings
 */
export function createAnalysisService(deps: AnalysisServiceDeps) {
  const { db, policy, audit, clock } = deps;
  const q = db.kysely;
  const namesOf = async (ids: Iterable<string>): Promise<ReadonlyMap<string, string>> => (deps.people === undefined ? new Map() : deps.people.namesOf([...new Set(ids)]));

  /** The case with the display name of everyone it mentions (null for an id that names no user, e.g. a token or the system). */
  async function withNames(c: Case): Promise<Case> {
    const names = await namesOf([c.ownerId, c.createdBy, ...c.items.map((i) => i.addedBy), ...c.notes.map((n) => n.authorId)]);
    const name = (id: string) => names.get(id) ?? null;
    return {
      ...c, ownerName: name(c.ownerId), createdByName: name(c.createdBy),
      items: c.items.map((i) => ({ ...i, addedByName: name(i.addedBy) })), notes: c.notes.map((n) => ({ ...n, authorName: name(n.authorId) })),
    };
  }
  const now = () => new Date(clock.nowMs()).toISOString();

  function allow(ctx: RequestContext, action: string): void {
    policy.require(ctx, action);
  }

  /** Merges detector updates into stored findings; returns the ids written (system or analyst context). */
  async function recordFindings(ctx: RequestContext, updates: readonly FindingUpdate[]): Promise<string[]> {
    allow(ctx, 'findings:write');
    // A detector may still hold state from flows of a basis purged since: what names it is not written back.
    const refuses = deps.refuses;
    if (refuses !== undefined) updates = updates.filter((u) => !u.bases.some(refuses));
    for (let attempt = 1; ; attempt++) {
      try {
        return await mergeFindings(ctx, updates);
      } catch (e) {
        // Another writer's transaction (a purge, say) took the same rows in the other order: PostgreSQL aborted this one; it is tried again.
        if (db.dialect !== 'postgres' || attempt >= 5 || !isDeadlock(e)) throw e;
      }
    }
  }

  async function mergeFindings(ctx: RequestContext, updates: readonly FindingUpdate[]): Promise<string[]> {
    const ids: string[] = [];
    const events: AuditEvent[] = [];
    await q.transaction().execute(async (trx) => {
      if (db.dialect === 'postgres' && updates.length > 0) {
        // Several workers (processes) merge into the same findings: each merge reads the row and writes it back, so a key is
        // locked for the whole transaction, every key before anything else and in one order (no deadlock between mergers),
        // and before the audit head (taken by the entries, appended at the end). A lock per key covers a finding not yet inserted, too.
        await lockFindingKeys(db, trx, updates.map((u) => findingLockKey(u.kind, u.subject.kind, u.subject.value)));
      }
      for (const u of updates) {
        let find = trx.selectFrom('findings').selectAll()
          .where('kind', '=', u.kind).where('subject_kind', '=', u.subject.kind).where('subject_value', '=', u.subject.value);
        // Writers that do not merge (a purge) take the row itself.
        if (db.dialect === 'postgres') find = find.forUpdate();
        const existing = await find.executeTakeFirst() as Row | undefined;
        const t = now();
        if (existing === undefined) {
          const id = newId();
          await trx.insertInto('findings').values({
            id, kind: u.kind, subject_kind: u.subject.kind, subject_value: u.subject.value, level: u.level, score: u.score,
            score_detail: json(u.scoreDetail), evidence: json(u.evidence), first_seen: iso(u.firstSeen), last_seen: iso(u.lastSeen),
            hosts: json(u.hosts.slice(0, MAX_FINDING_HOSTS)), host_count: u.hostCount, legal_bases: json(u.bases), revision: 1, created_at: t, updated_at: t,
          }).execute();
          ids.push(id);
          events.push({ action: 'findings:write', object: { type: 'finding', id }, outcome: 'success', details: { kind: u.kind, level: u.level, revision: 1 } });
          continue;
        }
        const old = toFinding(existing);
        const hosts = [...new Set([...old.hosts, ...u.hosts])].slice(0, MAX_FINDING_HOSTS);
        const level = levelRank(u.level) >= levelRank(old.level) ? u.level : old.level;
        const revision = old.revision + 1;
        await trx.updateTable('findings').set({
          level, score: Math.max(u.score, old.score), score_detail: json(u.scoreDetail), evidence: json(u.evidence),
          first_seen: iso(Math.min(old.firstSeen, u.firstSeen)), last_seen: iso(Math.max(old.lastSeen, u.lastSeen)),
          hosts: json(hosts), host_count: Math.max(old.hostCount, u.hostCount, hosts.length), legal_bases: json([...new Set([...old.bases, ...u.bases])]),
          revision, updated_at: t,
        }).where('id', '=', old.id).execute();
        ids.push(old.id);
        events.push({ action: 'findings:write', object: { type: 'finding', id: old.id }, outcome: 'success', details: { kind: u.kind, level, revision } });
      }
      // One entry per finding written, appended together (one lock and update of the audit head for the whole merge).
      if (audit.recordMany !== undefined) await audit.recordMany(ctx, events, trx);
      else for (const e of events) await audit.record(ctx, e, trx);
    });
    return ids;
  }

  const triageNames = async (ids: string[]) => namesOf(ids);

  /** Lists findings, newest evidence first, each with its triage; the read is audited. */
  async function listFindings(ctx: RequestContext, input: z.input<typeof findingQuerySchema>): Promise<Page<TriagedFinding> & { total: number }> {
    allow(ctx, 'findings:read');
    const query: FindingQuery = parseOrThrow(findingQuerySchema, input, 'findings query');
    let sel = q.selectFrom('findings');
    if (query.kind !== undefined) sel = sel.where('kind', '=', query.kind);
    if (query.level !== undefined) sel = sel.where('level', '=', query.level);
    if (query.minLevel !== undefined) sel = sel.where('level', 'in', ['info', 'suspect', 'alert'].slice(['info', 'suspect', 'alert'].indexOf(query.minLevel)));
    if (query.subject !== undefined) sel = sel.where('subject_value', '=', query.subject);
    if (query.since !== undefined) sel = sel.where('last_seen', '>=', new Date(query.since).toISOString());
    if (query.until !== undefined) sel = sel.where('last_seen', '<', new Date(query.until).toISOString());
    if (query.state !== undefined) sel = sel.where(stateCondition(query.state) as never);
    const total = Number(((await sel.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst()) as Row | undefined)?.['n'] ?? 0);
    let page = sel.selectAll().orderBy('last_seen', 'desc').orderBy('id', 'desc').limit(query.limit + 1);
    if (query.cursor !== undefined) page = page.where(afterKey(['last_seen', 'id'], decodeCursor(query.cursor, ['string', 'string']), 'desc'));
    const cut = cutPage(await page.execute() as Row[], query.limit, (r) => [String(r['last_seen']), String(r['id'])]);
    const found = cut.rows.map(toFinding);
    const triage = await triageOf(q, found.map((f) => f.id), triageNames);
    const items = found.map((f) => ({ ...f, triage: triage.get(f.id)! }));
    await audit.record(ctx, { action: 'findings:read', object: { type: 'findings', id: 'list' }, outcome: 'success', details: { count: items.length, total } });
    return { items, nextCursor: cut.nextCursor, total };
  }

  /** One finding with its triage and triage history; the read is audited. */
  async function getFinding(ctx: RequestContext, id: string): Promise<TriagedFinding & { triageHistory: TriageEvent[] }> {
    allow(ctx, 'findings:read');
    const row = await q.selectFrom('findings').selectAll().where('id', '=', id).executeTakeFirst() as Row | undefined;
    if (row === undefined) {
      await audit.record(ctx, { action: 'findings:read', object: { type: 'finding', id }, outcome: 'failure', details: { reason: 'NOT_FOUND' } });
      throw new AppError('NOT_FOUND', `No finding ${id}.`);
    }
    const f = toFinding(row);
    await audit.record(ctx, { action: 'findings:read', object: { type: 'finding', id }, outcome: 'success', legalBasis: f.bases[0] ?? null, details: { revision: f.revision } });
    return { ...f, triage: (await triageOf(q, [id], triageNames)).get(id)!, triageHistory: await triageHistory(q, id, triageNames) };
  }

  /** Dismisses a finding with a reason code (and a note), or reopens a dismissed one with a note; audited. */
  async function triageFinding(ctx: RequestContext, id: string, op: 'dismiss' | 'reopen', input: unknown): Promise<TriagedFinding & { triageHistory: TriageEvent[] }> {
    allow(ctx, 'findings:triage');
    await changeTriage({ q, audit, now }, ctx, personOf(ctx), id, op, input);
    const row = await q.selectFrom('findings').selectAll().where('id', '=', id).executeTakeFirstOrThrow() as Row;
    return { ...toFinding(row), triage: (await triageOf(q, [id], triageNames)).get(id)!, triageHistory: await triageHistory(q, id, triageNames) };
  }

  async function loadCase(trx: AnyDb, id: string): Promise<Case | undefined> {
    const c = await trx.selectFrom('cases').selectAll().where('id', '=', id).executeTakeFirst() as Row | undefined;
    if (c === undefined) return undefined;
    const items = await trx.selectFrom('case_items').selectAll().where('case_id', '=', id).orderBy('added_at').execute() as Row[];
    const notes = await trx.selectFrom('case_notes').selectAll().where('case_id', '=', id).orderBy('created_at').execute() as Row[];
    return {
      id, title: String(c['title']), status: c['status'] as CaseStatus, ownerId: String(c['owner_id']), ownerName: null, createdBy: String(c['created_by']), createdByName: null,
      createdAt: String(c['created_at']), updatedAt: String(c['updated_at']),
      items: items.map((r) => ({ type: r['item_type'] as 'finding' | 'report', id: String(r['item_id']), addedBy: String(r['added_by']), addedByName: null, addedAt: String(r['added_at']) })),
      notes: notes.map((r) => ({ id: String(r['id']), authorId: String(r['author_id']), authorName: null, text: String(r['text']), createdAt: String(r['created_at']) })),
    };
  }

  async function requireFinding(trx: AnyDb, id: string): Promise<void> {
    const f = await trx.selectFrom('findings').select('id').where('id', '=', id).executeTakeFirst();
    if (f === undefined) throw new AppError('NOT_FOUND', `No finding ${id}: add findings that exist.`);
  }

  /** Opens a case owned by the caller (or `ownerId`), with findings; audited. */
  async function createCase(ctx: RequestContext, input: { title: string; ownerId?: string | undefined; findingIds: string[] }): Promise<Case> {
    allow(ctx, 'cases:write');
    const id = newId();
    const t = now();
    await q.transaction().execute(async (trx) => {
      await trx.insertInto('cases').values({ id, title: input.title, status: 'open', owner_id: input.ownerId ?? personOf(ctx), created_by: personOf(ctx), created_at: t, updated_at: t }).execute();
      for (const fid of new Set(input.findingIds)) {
        await requireFinding(trx, fid);
        await trx.insertInto('case_items').values({ case_id: id, item_type: 'finding', item_id: fid, added_by: personOf(ctx), added_at: t }).execute();
      }
      await audit.record(ctx, { action: 'cases:write', object: { type: 'case', id }, outcome: 'success', details: { op: 'create', findings: input.findingIds.length } }, trx);
    });
    return withNames((await loadCase(q, id))!);
  }

  /** Lists cases (without notes' text); audited. */
  async function listCases(ctx: RequestContext, filter: { status?: CaseStatus | undefined; ownerId?: string | undefined } & PageQuery): Promise<Page<Omit<Case, 'items' | 'notes'>>> {
    allow(ctx, 'cases:read');
    let sel = q.selectFrom('cases').selectAll();
    if (filter.status !== undefined) sel = sel.where('status', '=', filter.status);
    if (filter.ownerId !== undefined) sel = sel.where('owner_id', '=', filter.ownerId);
    if (filter.cursor !== undefined) sel = sel.where(afterKey(['updated_at', 'id'], decodeCursor(filter.cursor, ['string', 'string']), 'desc'));
    const cut = cutPage(await sel.orderBy('updated_at', 'desc').orderBy('id', 'desc').limit(filter.limit + 1).execute() as Row[], filter.limit, (c) => [String(c['updated_at']), String(c['id'])]);
    const rows = cut.rows;
    await audit.record(ctx, { action: 'cases:read', object: { type: 'cases', id: 'list' }, outcome: 'success', details: { count: rows.length } });
    const names = await namesOf(rows.flatMap((c) => [String(c['owner_id']), String(c['created_by'])]));
    const items = rows.map((c) => ({
      id: String(c['id']), title: String(c['title']), status: c['status'] as CaseStatus, ownerId: String(c['owner_id']), ownerName: names.get(String(c['owner_id'])) ?? null,
      createdBy: String(c['created_by']), createdByName: names.get(String(c['created_by'])) ?? null, createdAt: String(c['created_at']), updatedAt: String(c['updated_at']),
    }));
    return { items, nextCursor: cut.nextCursor };
  }

  /** One case with its items and notes; audited. */
  async function getCase(ctx: RequestContext, id: string): Promise<Case> {
    allow(ctx, 'cases:read');
    const c = await loadCase(q, id);
    await audit.record(ctx, { action: 'cases:read', object: { type: 'case', id }, outcome: c === undefined ? 'failure' : 'success' });
    if (c === undefined) throw new AppError('NOT_FOUND', `No case ${id}.`);
    return withNames(c);
  }

  /** Changes a case's status, owner or title; audited. A closed case stays closed. */
  async function updateCase(ctx: RequestContext, id: string, patch: { status?: CaseStatus | undefined; ownerId?: string | undefined; title?: string | undefined }): Promise<Case> {
    allow(ctx, 'cases:write');
    await q.transaction().execute(async (trx) => {
      const c = await loadCase(trx, id);
      if (c === undefined) throw new AppError('NOT_FOUND', `No case ${id}.`);
      if (c.status === 'closed' && patch.status !== undefined && patch.status !== 'closed') throw new AppError('CONFLICT', 'The case is closed; open a new case instead.');
      if (patch.status !== undefined && !CASE_STATUSES.includes(patch.status)) throw new AppError('VALIDATION_FAILED', 'Unknown status.');
      await trx.updateTable('cases').set({
        ...(patch.status !== undefined ? { status: patch.status } : {}), ...(patch.ownerId !== undefined ? { owner_id: patch.ownerId } : {}),
        ...(patch.title !== undefined ? { title: patch.title } : {}), updated_at: now(),
      }).where('id', '=', id).execute();
      await audit.record(ctx, { action: 'cases:write', object: { type: 'case', id }, outcome: 'success', details: { op: 'update', status: patch.status ?? null, ownerChanged: patch.ownerId !== undefined } }, trx);
    });
    return withNames((await loadCase(q, id))!);
  }

  /** Adds a finding or an incident report to a case; audited. */
  async function addCaseItem(ctx: RequestContext, id: string, item: { type: 'finding' | 'report'; id: string }): Promise<Case> {
    allow(ctx, 'cases:write');
    await q.transaction().execute(async (trx) => {
      if ((await loadCase(trx, id)) === undefined) throw new AppError('NOT_FOUND', `No case ${id}.`);
      if (item.type === 'finding') await requireFinding(trx, item.id);
      const dup = await trx.selectFrom('case_items').select('item_id').where('case_id', '=', id).where('item_type', '=', item.type).where('item_id', '=', item.id).executeTakeFirst();
      if (dup === undefined) await trx.insertInto('case_items').values({ case_id: id, item_type: item.type, item_id: item.id, added_by: personOf(ctx), added_at: now() }).execute();
      await trx.updateTable('cases').set({ updated_at: now() }).where('id', '=', id).execute();
      await audit.record(ctx, { action: 'cases:write', object: { type: 'case', id }, outcome: 'success', details: { op: 'add-item', itemType: item.type, itemId: item.id } }, trx);
    });
    return withNames((await loadCase(q, id))!);
  }

  /** Adds a note; audited (by reference: the note's id, never its text). */
  async function addCaseNote(ctx: RequestContext, id: string, text: string): Promise<Case> {
    allow(ctx, 'cases:write');
    const noteId = newId();
    await q.transaction().execute(async (trx) => {
      if ((await loadCase(trx, id)) === undefined) throw new AppError('NOT_FOUND', `No case ${id}.`);
      await trx.insertInto('case_notes').values({ id: noteId, case_id: id, author_id: personOf(ctx), text, created_at: now() }).execute();
      await trx.updateTable('cases').set({ updated_at: now() }).where('id', '=', id).execute();
      await audit.record(ctx, { action: 'cases:write', object: { type: 'case', id }, outcome: 'success', details: { op: 'add-note', noteId } }, trx);
    });
    return withNames((await loadCase(q, id))!);
  }

  /** The cases holding any of these findings, with which of them each holds (for an entity page); audited. */
  async function casesHolding(ctx: RequestContext, findingIds: readonly string[]): Promise<Array<Omit<Case, 'items' | 'notes'> & { findingIds: string[] }>> {
    allow(ctx, 'cases:read');
    if (findingIds.length === 0) return [];
    const items = await q.selectFrom('case_items').select(['case_id', 'item_id']).where('item_type', '=', 'finding').where('item_id', 'in', [...new Set(findingIds)].slice(0, 500)).execute() as Row[];
    const byCase = new Map<string, string[]>();
    for (const i of items) byCase.set(String(i['case_id']), [...(byCase.get(String(i['case_id'])) ?? []), String(i['item_id'])]);
    if (byCase.size === 0) return [];
    const rows = await q.selectFrom('cases').selectAll().where('id', 'in', [...byCase.keys()]).orderBy('updated_at', 'desc').execute() as Row[];
    await audit.record(ctx, { action: 'cases:read', object: { type: 'cases', id: 'by-finding' }, outcome: 'success', details: { count: rows.length } });
    const names = await namesOf(rows.flatMap((c) => [String(c['owner_id']), String(c['created_by'])]));
    return rows.map((c) => ({
      id: String(c['id']), title: String(c['title']), status: c['status'] as CaseStatus, ownerId: String(c['owner_id']), ownerName: names.get(String(c['owner_id'])) ?? null,
      createdBy: String(c['created_by']), createdByName: names.get(String(c['created_by'])) ?? null, createdAt: String(c['created_at']), updatedAt: String(c['updated_at']),
      findingIds: byCase.get(String(c['id'])) ?? [],
    }));
  }

  return { recordFindings, listFindings, getFinding, triageFinding, createCase, listCases, getCase, updateCase, addCaseItem, addCaseNote, casesHolding };
}

/** The analysis service. */
export type AnalysisService = ReturnType<typeof createAnalysisService>;

/**
 * Reads indicators from the `indicators` table (reporting and sharing fill it): addresses, prefixes
 * and ports, while valid; other kinds are skipped. Returns an empty set while the table does not exist yet.
 * @see docs/detection.md#known-indicators
 */
export function dbIndicatorSource(db: Database, nowMs: () => number = Date.now): IndicatorSource {
  return {
    async list(): Promise<Indicator[]> {
      const q = db.kysely;
      let rows: Row[];
      // Past its valid_until (expired, or revoked by a later STIX version) an indicator no longer matches.
      const now = new Date(nowMs()).toISOString();
      try {
        rows = await q.selectFrom('indicators').select(['id', 'kind', 'value', 'source_type', 'confidence'])
          .where((eb) => eb.or([eb('valid_until', 'is', null), eb('valid_until', '>', now)])).execute() as Row[];
      } catch {
        return [];
      }
      const out: Indicator[] = [];
      for (const r of rows) {
        const kind = String(r['kind']).toLowerCase();
        const k = kind === 'ipv4-addr' || kind === 'ipv4' ? 'ipv4' : kind === 'ipv6-addr' || kind === 'ipv6' ? 'ipv6' : kind === 'port' ? 'port' : undefined;
        if (k === undefined) continue;
        out.push({ id: String(r['id']), kind: k, value: String(r['value']), confidence: Number(r['confidence'] ?? 50), sourceType: String(r['source_type'] ?? '') });
      }
      return out;
    },
  };
}
