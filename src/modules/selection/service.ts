/** @module Selection's service: legal bases (create, list, revoke), the live matcher that reloads on change, counters, re-identification. */
import type { Clock } from '#platform/clock/index.js';
import { isoUtc } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import type { AnyDb, Database } from '#platform/db/index.js';
import { AppError, isAppError, parseOrThrow } from '#platform/errors/index.js';
import { newId } from '#platform/ids/index.js';
import { keysetPage, pageQuery, type Page, type PageQuery } from '#platform/paging/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import { text } from '#platform/text/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import { writeAddress, type FlowBatch } from '#modules/collection/index.js';
import type { Locator } from './geo.js';
import { compileBases, type CompiledBases } from './matcher.js';
import { PSEUDONYM_BYTES, pseudonymOf, Pseudonymizer, type PseudonymKeyStore, type Rotation } from './pseudonym.js';
import { parsePrefix } from './ranges.js';
import { BasisInputSchema, basisStatus, RevokeInputSchema, type BasisInput, type LegalBasis } from './schema.js';
import { createSelector, SelectionCounters, type LossReason, type Selector, type SelectionResult } from './select.js';
import type { SelectedBatch } from './minimize.js';
import { z } from 'zod';

/** Decides whether an approval id authorizes a re-identification; oversight provides it. */
export type ApprovalCheck = (ctx: RequestContext, approvalId: string, request: { action: 'pseudonym:reidentify'; pseudonym: string; period: string }) => Promise<boolean>;

/** A change of legal bases, as subscribers see it (the lifecycle purges on revocation; the cluster's edges reload). */
export interface BasisChange {
  kind: 'created' | 'revoked';
  basisId: string;
  /** Who made the change (a purge it causes is attributed to the same request). */
  ctx: RequestContext;
  reason?: string;
}

/** What selection needs. */
export interface SelectionDeps {
  db: Database;
  policy: PolicyEngine;
  audit: AuditRecorder;
  clock: Clock;
  /** The locator in force, read once per batch (a live locator: operator ranges changed at run time count at the next batch). */
  locator: () => Locator;
  keys: PseudonymKeyStore;
  settings: { rotation: Rotation; pseudonymCacheEntries?: number };
  /** Validates re-identification approvals; absent means every re-identification is refused. */
  approvals?: ApprovalCheck;
}

interface BasisRow {
  id: string; kind: string; title: string; selectors: string; valid_from: string; valid_until: string; allowed_fields: string;
  retention_days: number; created_by: string; operator_org_id: string | null; created_at: string; created_by_actor: string;
  revoked_at: string | null; revoked_reason: string | null; revoked_by: string | null; updated_at: string;
}

/** How long ended bases stay compiled, so drops can say `expired` or `revoked` instead of `no_basis`. */
const RECENT_MS = 7 * 86_400_000;

const ReidentifySchema = z.object({
  pseudonym: z.string().regex(new RegExp(`^[0-9a-f]{${PSEUDONYM_BYTES * 2}}$`), `must be ${PSEUDONYM_BYTES * 2} lower-case hex digits`),
  period: z.string().regex(/^\d{4}(-\d{2}){0,2}$/, 'a key period such as 2026-04'),
  candidates: z.array(z.string().min(2).max(64)).max(65_536).optional(),
  prefix: z.string().min(2).max(64).optional(),
  approvalId: text(200, { singleLine: true }),
}).strict().refine((v) => (v.candidates === undefined) !== (v.prefix === undefined), { message: 'give either candidates or prefix', path: ['candidates'] });

/** Creates the selection service. @see DESIGN.md "The legal pipeline" (select) and invariants 1–3 */
export function createSelectionService(deps: SelectionDeps) {
  const { db, policy, audit, clock } = deps;
  const k = db.kysely;
  let compiled: CompiledBases = compileBases([]);
  let seen = '';
  let timer: ReturnType<typeof setInterval> | undefined;
  const counters = new SelectionCounters(clock.nowMs());
  const listeners = new Set<(change: BasisChange) => void | Promise<void>>();
  async function tell(change: BasisChange): Promise<void> {
    for (const l of listeners) await l(change);
  }
  // What the last `selection:counters` audit entry covered, per `kept_<category>` / `dropped_<category>`.
  const reported = new Map<string, number>();
  let reportedUntil = isoUtc(clock.nowMs());

  const toBasis = (r: BasisRow): LegalBasis => ({
    id: r.id, kind: r.kind as LegalBasis['kind'], title: r.title, selectors: JSON.parse(r.selectors) as LegalBasis['selectors'],
    validFrom: r.valid_from, validUntil: r.valid_until, allowedFields: JSON.parse(r.allowed_fields) as LegalBasis['allowedFields'],
    retentionDays: Number(r.retention_days), createdBy: r.created_by, operatorOrgId: r.operator_org_id,
    status: basisStatus({ revokedAt: r.revoked_at, validUntil: r.valid_until }, clock.nowMs()),
    createdAt: r.created_at, createdByActor: r.created_by_actor, revokedAt: r.revoked_at, revokedReason: r.revoked_reason,
  });

  async function versionOf(q: AnyDb): Promise<string> {
    const r = (await q.selectFrom('legal_bases').select((eb) => [eb.fn.max('updated_at').as('u'), eb.fn.countAll().as('n')]).executeTakeFirst()) as { u: string | null; n: number | string } | undefined;
    return `${r?.u ?? ''}/${String(r?.n ?? 0)}`;
  }

  /** Recompiles the matcher from the store (bases valid now or ended within a week). */
  async function reload(): Promise<void> {
    const cutoff = isoUtc(clock.nowMs() - RECENT_MS);
    const version = await versionOf(k);
    const rows = (await k.selectFrom('legal_bases').selectAll().where('valid_until', '>', cutoff).orderBy('created_at').orderBy('id').execute()) as BasisRow[];
    compiled = compileBases(rows.map(toBasis).filter((b) => b.revokedAt === null || Date.parse(b.revokedAt) > clock.nowMs() - RECENT_MS), clock.nowMs());
    seen = version;
  }

  async function find(q: AnyDb, id: string): Promise<BasisRow | undefined> {
    return (await q.selectFrom('legal_bases').selectAll().where('id', '=', id).executeTakeFirst()) as BasisRow | undefined;
  }

  let built: Selector | undefined;
  let pseudonymizer: Pseudonymizer | undefined;
  const selector = (): Selector => (built ??= createSelector({
    locator: deps.locator,
    pseudonyms: (pseudonymizer = new Pseudonymizer(deps.keys, deps.settings.pseudonymCacheEntries ?? 1 << 16)),
    rotation: deps.settings.rotation,
    clock,
    bases: () => compiled,
    counters,
  }));

  return {
    /** Retention (days) of each basis id that exists. */
    async retentionOf(ids: readonly string[]): Promise<Map<string, number>> {
      if (ids.length === 0) return new Map();
      const rows = (await k.selectFrom('legal_bases').select(['id', 'retention_days']).where('id', 'in', [...ids]).execute()) as { id: string; retention_days: number }[];
      return new Map(rows.map((r) => [r.id, Number(r.retention_days)]));
    },
    /** Selects one batch in memory (the collector calls this); it always uses the latest compiled bases. */
    select: (batch: FlowBatch, out?: SelectedBatch): SelectionResult => selector().select(batch, out),
    /** Counts kept flows the pipeline lost afterwards, by reason (shown with the counters, audited with them). */
    countLost: (reason: LossReason, flows: number): void => counters.lose(reason, flows),
    /** Drops the in-memory key state and cache of a period whose key was destroyed. */
    forgetKeyPeriod(period: string): void {
      pseudonymizer?.forget(period);
    },
    /** The current compiled bases (for tests and the archive). */
    compiled: (): CompiledBases => compiled,
    reload,

    /**
     * Calls `listener` after every basis created or revoked in this process, awaiting it before the call that
     * made the change returns (a revocation's purge is done when the revocation answers); returns the unsubscribe.
     */
    subscribe(listener: (change: BasisChange) => void | Promise<void>): () => void {
      listeners.add(listener);
      return () => { listeners.delete(listener); };
    },

    /** Loads the bases and polls the store every second, so a change made by another process takes effect within a second. */
    async start(): Promise<void> {
      await reload();
      timer = setInterval(() => {
        void versionOf(k).then((v) => (v !== seen ? reload() : undefined)).catch(() => undefined);
      }, 1000);
      timer.unref();
    },
    /** Stops polling. */
    async stop(): Promise<void> {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },

    /**
     * Records a legal basis. Oversight calls this (as the system) with the approving request's id;
     * an NCO director may record an operator's consent agreement directly.
     */
    async createBasis(ctx: RequestContext, input: BasisInput): Promise<LegalBasis> {
      policy.require(ctx, 'basis:create');
      const v = parseOrThrow(BasisInputSchema, input, 'legal basis');
      if (ctx.actor.kind !== 'system' && v.kind !== 'consent_agreement') {
        throw new AppError('FORBIDDEN', 'Transit and cross-border approvals are recorded by the commission\'s decision (oversight), not by hand; record consent agreements here.');
      }
      const now = isoUtc(clock.nowMs());
      const row: BasisRow = {
        id: newId(clock.nowMs()), kind: v.kind, title: v.title, selectors: JSON.stringify(v.selectors), valid_from: isoUtc(Date.parse(v.validFrom)),
        valid_until: isoUtc(Date.parse(v.validUntil)), allowed_fields: JSON.stringify([...new Set(v.allowedFields)]), retention_days: v.retentionDays,
        created_by: v.createdBy, operator_org_id: v.operatorOrgId ?? null, created_at: now, created_by_actor: ctx.actor.id,
        revoked_at: null, revoked_reason: null, revoked_by: null, updated_at: now,
      };
      await db.transaction(async (trx) => {
        await trx.insertInto('legal_bases').values(row).execute();
        await audit.record(ctx, { action: 'basis:create', object: { type: 'legal_basis', id: row.id }, outcome: 'success', legalBasis: row.id, details: { kind: row.kind, createdBy: row.created_by, validUntil: row.valid_until } }, trx);
      });
      await reload();
      await tell({ kind: 'created', basisId: row.id, ctx });
      return toBasis(row);
    },

    /** Lists legal bases, newest first, one page. */
    async listBases(ctx: RequestContext, page: Partial<PageQuery> = {}): Promise<Page<LegalBasis>> {
      policy.require(ctx, 'basis:list');
      const { rows, nextCursor } = await keysetPage(pageQuery(page), { columns: ['created_at', 'id'], shape: ['string', 'string'], direction: 'desc' }, (r: BasisRow) => [r.created_at, r.id], async (after, take) => {
        let q = k.selectFrom('legal_bases').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(take);
        if (after !== undefined) q = q.where(after);
        return (await q.execute()) as BasisRow[];
      });
      return { items: rows.map(toBasis), nextCursor };
    },

    /** One legal basis. */
    async getBasis(ctx: RequestContext, id: string): Promise<LegalBasis> {
      policy.require(ctx, 'basis:read');
      const row = await find(k, id);
      if (row === undefined) throw new AppError('NOT_FOUND', `No legal basis "${id}"; list them with GET /api/v1/legal-bases.`);
      return toBasis(row);
    },

    /** Revokes a basis: matching stops at the next batch in this process and within a second elsewhere. */
    async revokeBasis(ctx: RequestContext, id: string, input: { reason: string }): Promise<LegalBasis> {
      policy.require(ctx, 'basis:revoke');
      const v = parseOrThrow(RevokeInputSchema, input, 'revocation');
      const now = isoUtc(clock.nowMs());
      const row = await db.transaction(async (trx) => {
        const r = await find(trx, id);
        if (r === undefined) throw new AppError('NOT_FOUND', `No legal basis "${id}"; list them with GET /api/v1/legal-bases.`);
        if (r.revoked_at !== null) throw new AppError('CONFLICT', 'This legal basis is already revoked.');
        await trx.updateTable('legal_bases').set({ revoked_at: now, revoked_reason: v.reason, revoked_by: ctx.actor.id, updated_at: now }).where('id', '=', id).execute();
        await audit.record(ctx, { action: 'basis:revoke', object: { type: 'legal_basis', id }, outcome: 'success', legalBasis: id }, trx);
        return { ...r, revoked_at: now, revoked_reason: v.reason, revoked_by: ctx.actor.id, updated_at: now };
      });
      await reload();
      await tell({ kind: 'revoked', basisId: id, ctx, reason: v.reason });
      return toBasis(row);
    },

    /** Ids of every revoked basis (their data must be gone: the retention sweep checks). */
    async revokedIds(): Promise<string[]> {
      const rows = (await k.selectFrom('legal_bases').select('id').where('revoked_at', 'is not', null).execute()) as { id: string }[];
      return rows.map((r) => r.id);
    },

    /** The aggregate counters (exporter × category × outcome): the only trace of dropped flows. */
    counters(ctx: RequestContext): ReturnType<SelectionCounters['snapshot']> {
      policy.require(ctx, 'selection:counters');
      return counters.snapshot();
    },

    /**
     * Appends a `selection:counters` audit entry with the flows kept and dropped per category since the
     * previous entry (details `kept_<category>`, `dropped_<category>`: the figures the Diet report sums).
     * Counts only — never an exporter, an address or a basis. Nothing is written when nothing changed.
     * @see DESIGN.md invariant 1 (dropped flows survive only as aggregate counts)
     */
    async recordCounters(ctx: RequestContext): Promise<Record<string, number> | undefined> {
      policy.require(ctx, 'selection:counters');
      const totals = new Map<string, number>();
      const snap = counters.snapshot();
      for (const r of snap.rows) {
        const key = `${r.outcome === 'kept' ? 'kept' : 'dropped'}_${r.category}`;
        totals.set(key, (totals.get(key) ?? 0) + r.flows);
      }
      // Kept flows lost afterwards (the pipeline fell behind): `lost_<reason>`, outside the Diet report's kept/dropped sums.
      for (const l of snap.lost) totals.set(`lost_${l.reason}`, l.flows);
      const delta: Record<string, number> = {};
      for (const [key, n] of totals) {
        const d = n - (reported.get(key) ?? 0);
        if (d !== 0) delta[key] = d;
      }
      if (Object.keys(delta).length === 0) return undefined;
      // Claim the delta before awaiting, so concurrent calls never report the same flows twice.
      for (const [key, d] of Object.entries(delta)) reported.set(key, (reported.get(key) ?? 0) + d);
      const since = reportedUntil;
      const until = isoUtc(clock.nowMs());
      reportedUntil = until;
      try {
        await audit.record(ctx, { action: 'selection:counters', object: { type: 'selection_counters', id: until }, outcome: 'success', details: { ...delta, since, until } });
      } catch (e) {
        for (const [key, d] of Object.entries(delta)) reported.set(key, (reported.get(key) ?? 0) - d);
        reportedUntil = since;
        throw e;
      }
      return delta;
    },

    /**
     * Finds which address among candidates (or in a prefix of at most 65 536 addresses) has a
     * pseudonym, under an approval that oversight validates; audited whether it succeeds or not.
     */
    async reidentify(ctx: RequestContext, input: z.input<typeof ReidentifySchema>): Promise<{ matches: string[] }> {
      policy.require(ctx, 'pseudonym:reidentify');
      const parsed = ReidentifySchema.safeParse(input);
      if (!parsed.success) {
        // A refused request is audited too, by the paths of its bad fields only (the values may be anything).
        await audit.record(ctx, { action: 'pseudonym:reidentify', object: null, outcome: 'denied', details: { reason: 'invalid_input', paths: parsed.error.issues.map((i) => i.path.join('.')).join(',').slice(0, 200) } });
      }
      const v = parseOrThrow(ReidentifySchema, input, 're-identification');
      const event = { action: 'pseudonym:reidentify', object: { type: 'pseudonym', id: v.pseudonym }, details: { period: v.period, approvalId: v.approvalId } };
      // Said before any approval is weighed: after crypto-shredding no approval can make it possible.
      const destroyed = deps.keys.destroyedAt?.(v.period);
      if (destroyed !== undefined) {
        await audit.record(ctx, { ...event, outcome: 'failure', details: { ...event.details, reason: 'key_destroyed' } });
        throw new AppError('KEY_DESTROYED', `Re-identification in period ${v.period} is impossible: its pseudonym key was destroyed at ${destroyed}, once nothing pseudonymized with it remained within retention.`);
      }
      const approved = deps.approvals !== undefined && (await deps.approvals(ctx, v.approvalId, { action: 'pseudonym:reidentify', pseudonym: v.pseudonym, period: v.period }));
      if (!approved) {
        await audit.record(ctx, { ...event, outcome: 'denied' });
        throw new AppError('FORBIDDEN', 'Re-identification needs an approval that oversight has granted for this pseudonym; quote its id as approvalId.');
      }
      const key = deps.keys.keyFor(v.period, false);
      if (key === undefined) {
        await audit.record(ctx, { ...event, outcome: 'failure', details: { ...event.details, reason: 'no_key' } });
        throw new AppError('NOT_FOUND', `No pseudonym key for period ${v.period}: nothing was pseudonymized in that period.`);
      }
      const slot = new Uint8Array(16);
      const mac = new Uint8Array(PSEUDONYM_BYTES);
      const want = Buffer.from(v.pseudonym, 'hex');
      const matches: string[] = [];
      const test = (text: string): void => {
        if (!writeAddress(slot, 0, text)) throw new AppError('VALIDATION_FAILED', `"${text}" is not an address.`);
        pseudonymOf(key, slot, 0, mac, 0);
        if (want.equals(mac)) matches.push(text);
      };
      const search = (): void => {
        if (v.candidates !== undefined) for (const c of v.candidates) test(c);
        else {
          const p = parsePrefix(v.prefix!);
          if (p === undefined) throw new AppError('VALIDATION_FAILED', 'prefix: write a.b.c.d/len or x:y::/len with the host bits zero.');
          const size = p.family === 4 ? p.end - p.start + 1 : Number(p.end - p.start + 1n);
          if (size > 65_536) throw new AppError('VALIDATION_FAILED', 'prefix: at most 65 536 addresses (an IPv4 /16 or IPv6 /112) per request.');
          for (let i = 0; i < size; i++) {
            if (p.family === 4) { const a = p.start + i; test(`${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`); }
            else { const a = p.start + BigInt(i); test(Array.from({ length: 8 }, (_, g) => ((a >> BigInt(112 - 16 * g)) & 0xffffn).toString(16)).join(':')); }
          }
        }
      };
      try {
        search();
      } catch (e) {
        // Refused for a bad address or prefix: audited as well ("audited either way").
        if (isAppError(e) && e.code === 'VALIDATION_FAILED') await audit.record(ctx, { ...event, outcome: 'denied', details: { ...event.details, reason: 'invalid_input' } });
        throw e;
      }
      // The audit holds references only: the pseudonym, the period, the approval and how many matched — never the address.
      await audit.record(ctx, { ...event, outcome: 'success', details: { ...event.details, matches: matches.length } });
      return { matches };
    },
  };
}

/** The selection service. */
export type SelectionService = ReturnType<typeof createSelectionService>;
