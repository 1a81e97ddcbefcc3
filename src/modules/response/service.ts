/** @module Response: measures against attack servers — proposed, submitted to the commission, routed to the police or the SDF, consulted, executed step by step, halted, reviewed. */
import { createHash } from 'node:crypto';
import type { Clock } from '#platform/clock/index.js';
import { isoUtc } from '#platform/clock/index.js';
import { systemContext, type RequestContext } from '#platform/context/index.js';
import type { AnyDb, Database } from '#platform/db/index.js';
import { AppError, isAppError, parseOrThrow } from '#platform/errors/index.js';
import { newId } from '#platform/ids/index.js';
import { keysetPage, pageQuery, type Page, type PageQuery } from '#platform/paging/index.js';
import type { PolicyEngine, PolicyResource } from '#platform/policy/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import type { MeasureAuthorizationInForce, MeasureSummary, ResponsePorts } from './ports.js';
import { checkTransition, transitionOf, IN_FORCE_STATES, type MeasureFacts, type Refusal, type TransitionName } from './transitions.js';
import {
  CompleteInputSchema, ConsultationInputSchema, MeasureInputSchema, OrderInputSchema, ReasonSchema, StepInputSchema, sdfGroundsMet,
  type Consultation, type Measure, type MeasureEvent, type MeasureInput, type MeasureState, type OperationStep, type ParsedMeasure,
  type PmOrder, type SdfGrounds, type TargetLocation,
} from './schema.js';
import { parsePrefix, formatPrefix } from './net.js';
import { computeEffect, type MeasureEffect } from './effect.js';
import { artifactOf, buildArtifact, ifNoneMatchHits, DEFAULT_RPZ, type Artifact, type ArtifactFormat, type RpzOptions } from './artifacts.js';
import { renderTakedownNotice, type NoticeLanguage } from './notices.js';
import { eventMessage } from './messages.js';

/** What response needs from the rest of the system. */
export interface ResponseDeps {
  db: Database;
  policy: PolicyEngine;
  audit: AuditRecorder;
  clock: Clock;
  ports?: ResponsePorts;
  /** The RPZ zone's origin and SOA names (default rpz.mamori.). */
  rpz?: RpzOptions;
}

interface MeasureRow {
  id: string; kind: Measure['kind']; title: string; state: MeasureState; agency: Measure['agency']; target: string; justification: string; expected_effect: string;
  sdf_grounds: string | null; location: string; abroad: number; request_id: string | null; approval_id: string | null; authorization: 'prior' | 'emergency' | null;
  emergency_action_id: string | null; proposed_by: string; proposed_at: string; updated_at: string; executing_since: string | null; completed_at: string | null; halt_reason: string | null;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const userOf = (ctx: RequestContext): string => ctx.actor.userId ?? ctx.actor.id;

/** Where the target is, failing closed: abroad unless every address is located domestic, or (no address) the proposer declared JP. */
export function locateTarget(m: ParsedMeasure, locate: ResponsePorts['locator'], domesticCountry = 'JP'): TargetLocation {
  const addresses: string[] = m.kind === 'block' ? m.target.prefixes.map((p) => formatPrefix({ ...parsePrefix(p)!, length: parsePrefix(p)!.family === 4 ? 32 : 128 }))
    : m.kind === 'takedown_notice' ? m.target.addresses
      : m.kind === 'access_neutralize' ? [m.target.address] : [];
  const declared = m.targetCountry ?? null;
  if (addresses.length > 0 && locate !== undefined) {
    const found = addresses.map((a) => locate.describe(a));
    const countries = [...new Set(found.map((f) => f.country).filter((c): c is string => c !== undefined))].sort();
    const allDomestic = found.every((f) => f.location === 'domestic');
    return { abroad: !allDomestic || (declared !== null && declared !== domesticCountry), countries, source: 'locator', declaredCountry: declared };
  }
  if (declared !== null) return { abroad: declared !== domesticCountry, countries: [declared], source: 'declared', declaredCountry: declared };
  return { abroad: true, countries: [], source: 'unknown', declaredCountry: null };
}

/** Creates the response service. @see Police Duties Execution Act Art. 6-2; SDF Act Art. 81-3 */
export function createResponseService(deps: ResponseDeps) {
  const { db, policy, audit, clock } = deps;
  const k = db.kysely;
  const ports: ResponsePorts = { ...(deps.ports ?? {}) };
  const now = (): string => isoUtc(clock.nowMs());

  async function row(q: AnyDb, id: string): Promise<MeasureRow> {
    const r = (await q.selectFrom('response_measures').selectAll().where('id', '=', id).executeTakeFirst()) as MeasureRow | undefined;
    if (r === undefined) throw new AppError('NOT_FOUND', `No measure with id ${id}; list them with GET /api/v1/response/measures.`);
    return r;
  }

  async function orderOf(q: AnyDb, id: string): Promise<PmOrder | null> {
    const o = (await q.selectFrom('response_orders').selectAll().where('measure_id', '=', id).executeTakeFirst()) as { reference: string; issued_by: string; issued_at: string; reason: string } | undefined;
    return o === undefined ? null : { reference: o.reference, issuedBy: o.issued_by, issuedAt: o.issued_at, reason: o.reason };
  }

  async function consultationsOf(q: AnyDb, id: string): Promise<Consultation[]> {
    const rows = (await q.selectFrom('response_consultations').selectAll().where('measure_id', '=', id).orderBy('recorded_at').execute()) as { id: string; reference: string; outcome: Consultation['outcome']; summary: string; recorded_by: string; recorded_at: string }[];
    return rows.map((c) => ({ id: c.id, reference: c.reference, outcome: c.outcome, summary: c.summary, recordedBy: c.recorded_by, recordedAt: c.recorded_at }));
  }

  async function toMeasure(q: AnyDb, r: MeasureRow): Promise<Measure> {
    const steps = (await q.selectFrom('response_steps').selectAll().where('measure_id', '=', r.id).orderBy('seq').execute()) as { seq: number; officer: string; at: string; action: string; result: string | null }[];
    const events = (await q.selectFrom('response_events').selectAll().where('measure_id', '=', r.id).orderBy('seq').execute()) as { seq: number; transition: string; from_state: MeasureState | null; to_state: MeasureState; actor: string; roles: string; at: string; reason: string; details: string }[];
    return {
      id: r.id, kind: r.kind, title: r.title, state: r.state, agency: r.agency, target: JSON.parse(r.target) as Measure['target'],
      justification: JSON.parse(r.justification) as Measure['justification'], expectedEffect: r.expected_effect,
      sdfGrounds: r.sdf_grounds === null ? null : (JSON.parse(r.sdf_grounds) as SdfGrounds), location: JSON.parse(r.location) as TargetLocation,
      requestId: r.request_id, approvalId: r.approval_id, authorization: r.authorization, emergencyActionId: r.emergency_action_id,
      order: await orderOf(q, r.id), consultations: await consultationsOf(q, r.id),
      steps: steps.map((s): OperationStep => ({ seq: Number(s.seq), officer: s.officer, at: s.at, action: s.action, result: s.result })),
      events: events.map((e): MeasureEvent => {
        const details = JSON.parse(e.details) as Record<string, unknown>;
        return { seq: Number(e.seq), transition: e.transition, from: e.from_state, to: e.to_state, actor: e.actor, roles: JSON.parse(e.roles) as string[], at: e.at, reason: e.reason, message: eventMessage(e.transition, e.reason, details), details };
      }),
      proposedBy: r.proposed_by, proposedAt: r.proposed_at, updatedAt: r.updated_at, executingSince: r.executing_since, completedAt: r.completed_at, haltReason: r.halt_reason,
    };
  }

  /** Oversight's answer now; an approval for another agency does not authorize this measure. Fails closed when oversight is not wired. */
  async function authorizationOf(ctx: RequestContext, r: MeasureRow): Promise<MeasureAuthorizationInForce | undefined> {
    const a = await ports.authorizer?.authorizationFor(ctx, r.id, clock.nowMs());
    return a !== undefined && a.agency === r.agency ? a : undefined;
  }

  async function factsOf(q: AnyDb, r: MeasureRow, auth: MeasureAuthorizationInForce | undefined): Promise<MeasureFacts> {
    const grounds = r.sdf_grounds === null ? null : (JSON.parse(r.sdf_grounds) as SdfGrounds);
    return {
      state: r.state, agency: r.agency, abroad: r.abroad === 1, mofaConsulted: (await consultationsOf(q, r.id)).length > 0,
      pmOrdered: (await orderOf(q, r.id)) !== null, sdfGroundsMet: sdfGroundsMet(grounds), authorization: auth?.kind,
    };
  }

  /** The measure as a Cedar resource: the role rules of docs/policy.md are checked on these attributes too. */
  function resourceOf(r: MeasureRow, f: MeasureFacts): PolicyResource {
    return { type: 'Measure', id: r.id, attrs: { kind: r.kind, agency: r.agency, state: r.state, abroad: f.abroad, mofaConsulted: f.mofaConsulted, pmOrdered: f.pmOrdered, sdfGroundsMet: f.sdfGroundsMet, authorized: f.authorization !== undefined } };
  }

  async function refuse(ctx: RequestContext, r: MeasureRow, name: TransitionName, refusal: Refusal, status: 'CONFLICT' | 'FORBIDDEN'): Promise<never> {
    await audit.record(ctx, { action: `measure:${name}`, object: { type: 'measure', id: r.id }, outcome: 'denied', details: { state: r.state, agency: r.agency, reason: refusal.code } });
    throw new AppError(status, refusal.message, { details: [{ path: 'state', message: refusal.code }], reason: { code: `measureRefusal.${refusal.code}`, params: { transition: name, state: r.state, agency: r.agency } } });
  }

  /** Checks the table's guards, then the policy on the measure; a refusal is audited before it is answered. */
  async function allow(ctx: RequestContext, r: MeasureRow, name: TransitionName, f: MeasureFacts): Promise<void> {
    const refusal = checkTransition(name, f);
    if (refusal !== undefined) await refuse(ctx, r, name, refusal, 'CONFLICT');
    const d = policy.authorize(ctx, transitionOf(name).action, resourceOf(r, f));
    if (!d.allowed) await refuse(ctx, r, name, { code: 'WRONG_AGENCY', message: `Your role may not ${name} this measure (${r.agency}, ${r.state}); docs/policy.md says who may.` }, 'FORBIDDEN');
  }

  /** Moves a measure from the state it was read in to the transition's target, with its event and audit entry, in one transaction. */
  async function move(ctx: RequestContext, r: MeasureRow, name: TransitionName, reason: string, set: Partial<MeasureRow> = {}, details: Record<string, string | number | boolean | null> = {}, extra?: (trx: AnyDb, at: string) => Promise<void>): Promise<Measure> {
    const t = transitionOf(name);
    return db.transaction(async (trx) => {
      const at = now();
      const n = await trx.updateTable('response_measures').set({ ...set, state: t.to, updated_at: at }).where('id', '=', r.id).where('state', '=', r.state).executeTakeFirst();
      if (Number(n.numUpdatedRows) !== 1) throw new AppError('CONFLICT', 'The measure changed while you acted; read it again and retry.');
      if (extra !== undefined) await extra(trx, at);
      const last = (await trx.selectFrom('response_events').select((eb) => eb.fn.max('seq').as('m')).where('measure_id', '=', r.id).executeTakeFirst()) as { m: number | null } | undefined;
      await trx.insertInto('response_events').values({
        measure_id: r.id, seq: Number(last?.m ?? 0) + 1, transition: name, from_state: r.state, to_state: t.to, actor: userOf(ctx), roles: JSON.stringify(ctx.actor.roles), at, reason, details: JSON.stringify(details),
      }).execute();
      await audit.record(ctx, { action: `measure:${name}`, object: { type: 'measure', id: r.id }, outcome: 'success', details: { from: r.state, to: t.to, kind: r.kind, agency: r.agency, abroad: r.abroad === 1, reasonSha256: sha256(reason), ...details } }, trx);
      return toMeasure(trx, (await row(trx, r.id)));
    });
  }

  /**
   * Follows the commission: a submitted measure whose approval is in force becomes approved (the event
   * names the approval). The transition is the commission's decision carried over, so it is recorded as
   * the system (`system:commission-decision`) under the request that noticed it, never as the reader.
   */
  async function syncApproval(ctx: RequestContext, r: MeasureRow): Promise<MeasureRow> {
    if (r.state !== 'submitted') return r;
    const auth = await authorizationOf(ctx, r);
    if (auth?.kind !== 'prior') return r;
    try {
      await move(systemContext('commission-decision', ctx.requestId), r, 'approve', `approved by the commission (approval ${auth.approvalId})`, { approval_id: auth.approvalId, authorization: 'prior' }, { approvalId: auth.approvalId, conditions: auth.conditions.length });
    } catch (e) {
      // Another request carried the approval over first: nothing left to do.
      if (!(isAppError(e) && e.code === 'CONFLICT')) throw e;
    }
    return row(k, r.id);
  }

  function summaryOf(r: MeasureRow): MeasureSummary {
    const j = JSON.parse(r.justification) as Measure['justification'];
    return { measureId: r.id, kind: r.kind, agency: r.agency, title: r.title, summary: `${r.title}. Expected effect: ${r.expected_effect}`.slice(0, 2000), findings: j.findings, reports: j.reports };
  }

  async function prepare(ctx: RequestContext, id: string, action: string): Promise<{ r: MeasureRow; auth: MeasureAuthorizationInForce | undefined; facts: MeasureFacts }> {
    policy.require(ctx, action);
    const r = await syncApproval(ctx, await row(k, id));
    const auth = await authorizationOf(ctx, r);
    return { r, auth, facts: await factsOf(k, r, auth) };
  }

  const service = {
    /** Connects oversight's, selection's and analysis's hooks once they exist (the composition root calls this). */
    connect(more: ResponsePorts): void {
      Object.assign(ports, more);
    },

    /** Which hooks are connected. */
    connected(): Record<keyof ResponsePorts, boolean> {
      return { authorizer: ports.authorizer !== undefined, submitter: ports.submitter !== undefined, emergency: ports.emergency !== undefined, locator: ports.locator !== undefined, findings: ports.findings !== undefined };
    },

    /** Proposes a measure with its target, justification and expected effect (analysts, NCO directors). @see Police Duties Execution Act Art. 6-2 */
    async proposeMeasure(ctx: RequestContext, input: MeasureInput): Promise<Measure> {
      policy.require(ctx, 'measure:propose');
      const v = parseOrThrow(MeasureInputSchema, input, 'measure');
      if (v.agency === 'sdf' && v.sdfGrounds === undefined) throw new AppError('VALIDATION_FAILED', 'sdfGrounds: an SDF measure must state the grave target and the attacker assessment.', { details: [{ path: 'sdfGrounds', message: 'required for agency sdf' }] });
      const location = locateTarget(v, ports.locator);
      const at = now();
      const id = newId(clock.nowMs());
      const r: MeasureRow = {
        id, kind: v.kind, title: v.title, state: 'proposed', agency: v.agency, target: JSON.stringify(v.target), justification: JSON.stringify(v.justification), expected_effect: v.expectedEffect,
        sdf_grounds: v.sdfGrounds === undefined ? null : JSON.stringify(v.sdfGrounds), location: JSON.stringify(location), abroad: location.abroad ? 1 : 0,
        request_id: null, approval_id: null, authorization: null, emergency_action_id: null, proposed_by: userOf(ctx), proposed_at: at, updated_at: at, executing_since: null, completed_at: null, halt_reason: null,
      };
      const measure = await db.transaction(async (trx) => {
        await trx.insertInto('response_measures').values(r).execute();
        await trx.insertInto('response_events').values({ measure_id: id, seq: 1, transition: 'propose', from_state: null, to_state: 'proposed', actor: userOf(ctx), roles: JSON.stringify(ctx.actor.roles), at, reason: v.justification.summary, details: JSON.stringify({ findings: v.justification.findings.length, reports: v.justification.reports.length }) }).execute();
        await audit.record(ctx, { action: 'measure:propose', object: { type: 'measure', id }, outcome: 'success', details: { kind: v.kind, agency: v.agency, abroad: location.abroad, locationSource: location.source, findings: v.justification.findings.length, reports: v.justification.reports.length } }, trx);
        return toMeasure(trx, r);
      });
      await service.sampleEffect(ctx, id).catch(() => undefined);
      return measure;
    },

    /** Measures, newest first (?state=, ?kind=); submitted ones follow the commission's decision first. The read is audited. */
    async listMeasures(ctx: RequestContext, filter: { state?: string | undefined; kind?: string | undefined } & Partial<PageQuery> = {}): Promise<Page<Measure>> {
      policy.require(ctx, 'measure:read');
      for (const s of (await k.selectFrom('response_measures').selectAll().where('state', '=', 'submitted').execute()) as MeasureRow[]) await syncApproval(ctx, s);
      const { rows, nextCursor } = await keysetPage(pageQuery(filter), { columns: ['proposed_at', 'id'], shape: ['string', 'string'], direction: 'desc' }, (r: MeasureRow) => [r.proposed_at, r.id], async (after, take) => {
        let q = k.selectFrom('response_measures').selectAll().orderBy('proposed_at', 'desc').orderBy('id', 'desc').limit(take);
        if (after !== undefined) q = q.where(after);
        if (filter.state !== undefined) q = q.where('state', '=', filter.state);
        if (filter.kind !== undefined) q = q.where('kind', '=', filter.kind);
        return (await q.execute()) as MeasureRow[];
      });
      await audit.record(ctx, { action: 'measure:read', object: null, outcome: 'success', details: { count: rows.length, state: filter.state ?? null, kind: filter.kind ?? null } });
      return { items: await Promise.all(rows.map((r) => toMeasure(k, r))), nextCursor };
    },

    /** One measure with its orders, consultations, steps and every transition; the read is audited. */
    async getMeasure(ctx: RequestContext, id: string): Promise<Measure> {
      policy.require(ctx, 'measure:read');
      const r = await syncApproval(ctx, await row(k, id));
      await audit.record(ctx, { action: 'measure:read', object: { type: 'measure', id }, outcome: 'success', details: { state: r.state } });
      return toMeasure(k, r);
    },

    /** Submits the measure to the commission: oversight gets a measure request, drafted and submitted (NCO directors). @see DPA; Police Duties Execution Act Art. 6-2 */
    async submitMeasure(ctx: RequestContext, id: string, input: { reason: string }): Promise<Measure> {
      const v = parseOrThrow(ReasonSchema, input, 'submission');
      const { r, facts } = await prepare(ctx, id, 'measure:submit');
      await allow(ctx, r, 'submit', facts);
      if (ports.submitter === undefined) throw new AppError('UNAVAILABLE', 'Oversight is not connected: the measure cannot be submitted to the commission.');
      const { requestId } = await ports.submitter.submit(ctx, summaryOf(r));
      return move(ctx, r, 'submit', v.reason, { request_id: requestId }, { requestId });
    },

    /** Records the Prime Minister's order to the SDF (approved SDF measures whose conditions hold). @see SDF Act Art. 81-3 */
    async orderMeasure(ctx: RequestContext, id: string, input: { reference: string; reason: string }): Promise<Measure> {
      const v = parseOrThrow(OrderInputSchema, input, 'order');
      const { r, facts } = await prepare(ctx, id, 'measure:order');
      await allow(ctx, r, 'order', facts);
      return move(ctx, r, 'order', v.reason, {}, { orderReferenceSha256: sha256(v.reference) }, async (trx, at) => {
        await trx.insertInto('response_orders').values({ measure_id: r.id, reference: v.reference, issued_by: userOf(ctx), issued_at: at, reason: v.reason }).execute();
      });
    },

    /** Records a Foreign Ministry consultation on a target abroad; until one exists the measure cannot execute. */
    async recordConsultation(ctx: RequestContext, id: string, input: { reference: string; outcome: string; summary: string }): Promise<Measure> {
      const v = parseOrThrow(ConsultationInputSchema, input, 'consultation');
      const { r, facts } = await prepare(ctx, id, 'measure:consult');
      if (['executed', 'failed', 'halted', 'reviewed'].includes(r.state)) throw new AppError('CONFLICT', `The measure is ${r.state}; consultations are recorded before execution.`);
      if (!facts.abroad) throw new AppError('CONFLICT', 'The target is located in Japan: no Foreign Ministry consultation is needed.');
      const d = policy.authorize(ctx, 'measure:consult', resourceOf(r, facts));
      if (!d.allowed) throw new AppError('FORBIDDEN', 'Your role may not record consultations.');
      const cid = newId(clock.nowMs());
      return db.transaction(async (trx) => {
        await trx.insertInto('response_consultations').values({ id: cid, measure_id: r.id, reference: v.reference, outcome: v.outcome, summary: v.summary, recorded_by: userOf(ctx), recorded_at: now() }).execute();
        await trx.updateTable('response_measures').set({ updated_at: now() }).where('id', '=', r.id).execute();
        await audit.record(ctx, { action: 'measure:consult', object: { type: 'measure', id: r.id }, outcome: 'success', details: { consultationId: cid, outcome: v.outcome, state: r.state, summarySha256: sha256(v.summary) } }, trx);
        return toMeasure(trx, await row(trx, r.id));
      });
    },

    /** Starts execution by the routed agency: approved (police) or ordered (SDF), authorized now, consulted if abroad. @see Police Duties Execution Act Art. 6-2; SDF Act Art. 81-3 */
    async executeMeasure(ctx: RequestContext, id: string, input: { reason: string }): Promise<Measure> {
      const v = parseOrThrow(ReasonSchema, input, 'execution');
      const { r, auth, facts } = await prepare(ctx, id, 'measure:execute');
      await allow(ctx, r, 'execute', facts);
      await service.sampleEffect(ctx, id).catch(() => undefined);
      const m = await move(ctx, r, 'execute', v.reason, { executing_since: now(), approval_id: auth!.approvalId, authorization: auth!.kind }, { approvalId: auth!.approvalId, authorization: auth!.kind });
      return m;
    },

    /** The emergency path: the police act first; oversight records the action and opens its retroactive review. @see Police Duties Execution Act Art. 6-2 */
    async actFirst(ctx: RequestContext, id: string, input: { reason: string }): Promise<Measure> {
      const v = parseOrThrow(ReasonSchema, input, 'emergency action');
      const { r, facts } = await prepare(ctx, id, 'measure:act-emergency');
      await allow(ctx, r, 'act-emergency', facts);
      if (ports.emergency === undefined || ports.authorizer === undefined) throw new AppError('UNAVAILABLE', 'Oversight is not connected: the emergency path cannot be recorded, so the measure cannot be taken.');
      const { emergencyActionId, reviewDeadline } = await ports.emergency.actFirst(ctx, summaryOf(r), v.reason);
      const auth = await authorizationOf(ctx, r);
      if (auth?.kind !== 'emergency') throw new AppError('CONFLICT', 'Oversight did not record the emergency action as open for review; the measure was not taken.');
      await service.sampleEffect(ctx, id).catch(() => undefined);
      return move(ctx, r, 'act-emergency', v.reason, { executing_since: now(), emergency_action_id: emergencyActionId, approval_id: emergencyActionId, authorization: 'emergency' }, { emergencyActionId, reviewDeadline });
    },

    /** Records one step of the operation, by an officer of the executing agency, while it executes. @see Police Duties Execution Act Art. 6-2 */
    async recordStep(ctx: RequestContext, id: string, input: { action: string; result?: string }): Promise<Measure> {
      const v = parseOrThrow(StepInputSchema, input, 'step');
      const { r, facts } = await prepare(ctx, id, 'measure:record-step');
      if (r.state !== 'executing') throw new AppError('CONFLICT', `The measure is ${r.state}; steps are recorded while it executes.`);
      if (!policy.authorize(ctx, 'measure:record-step', resourceOf(r, facts)).allowed) throw new AppError('FORBIDDEN', `Only officers of the executing agency (${r.agency}) record steps of this measure.`);
      return db.transaction(async (trx) => {
        // A no-op update of the measure first makes steps take turns for their numbers (PostgreSQL runs
        // transactions side by side; the update holds the row until commit) and refuses a step once
        // execution ended. It leaves updated_at alone: a step changes no artifact.
        const touched = await trx.updateTable('response_measures').set((eb) => ({ updated_at: eb.ref('updated_at') })).where('id', '=', r.id).where('state', '=', 'executing').executeTakeFirst();
        if (Number(touched.numUpdatedRows) !== 1) throw new AppError('CONFLICT', 'The measure changed while you acted; read it again and retry.');
        const last = (await trx.selectFrom('response_steps').select((eb) => eb.fn.max('seq').as('m')).where('measure_id', '=', r.id).executeTakeFirst()) as { m: number | null } | undefined;
        const seq = Number(last?.m ?? 0) + 1;
        await trx.insertInto('response_steps').values({ measure_id: r.id, seq, officer: userOf(ctx), at: now(), action: v.action, result: v.result ?? null }).execute();
        await audit.record(ctx, { action: 'measure:record-step', object: { type: 'measure', id: r.id }, outcome: 'success', details: { seq, actionSha256: sha256(v.action), resultSha256: v.result === undefined ? null : sha256(v.result) } }, trx);
        return toMeasure(trx, await row(trx, r.id));
      });
    },

    /** Ends execution: executed or failed, with why (the executing agency). */
    async completeMeasure(ctx: RequestContext, id: string, input: { outcome: string; reason: string }): Promise<Measure> {
      const v = parseOrThrow(CompleteInputSchema, input, 'completion');
      const { r, facts } = await prepare(ctx, id, 'measure:complete');
      const name = v.outcome === 'executed' ? 'complete' : 'fail';
      await allow(ctx, r, name, facts);
      const m = await move(ctx, r, name, v.reason, { completed_at: now() });
      await service.sampleEffect(ctx, id).catch(() => undefined);
      return m;
    },

    /**
     * Halts a measure at once (oversight calls it when an emergency review is denied or lapses, or an
     * approval is revoked): it leaves every artifact. Idempotent; an unknown or finished measure is left as is.
     * @see Police Duties Execution Act Art. 6-2
     */
    async haltMeasure(ctx: RequestContext, id: string, reason: string): Promise<Measure | undefined> {
      policy.require(ctx, 'measure:halt');
      const r = (await k.selectFrom('response_measures').selectAll().where('id', '=', id).executeTakeFirst()) as MeasureRow | undefined;
      if (r === undefined || !transitionOf('halt').from.includes(r.state)) return r === undefined ? undefined : toMeasure(k, r);
      const why = reason.trim().slice(0, 4000) || 'halted by oversight';
      return move(ctx, r, 'halt', why, { halt_reason: why }, {});
    },

    /** Closes the measure with an after-action review (NCO director or commission). */
    async reviewMeasure(ctx: RequestContext, id: string, input: { reason: string }): Promise<Measure> {
      const v = parseOrThrow(ReasonSchema, input, 'review');
      const { r, facts } = await prepare(ctx, id, 'measure:review');
      await allow(ctx, r, 'review', facts);
      return move(ctx, r, 'review', v.reason);
    },

    /** Takes a sample of the measure's findings (for the before/after chart); silent when analysis is not connected. */
    async sampleEffect(ctx: RequestContext, id: string): Promise<number> {
      const src = ports.findings;
      if (src === undefined) return 0;
      const r = await row(k, id);
      const ids = (JSON.parse(r.justification) as Measure['justification']).findings;
      if (ids.length === 0) return 0;
      const snaps = await src.snapshot(ctx, ids);
      const at = now();
      for (const s of snaps) {
        await k.insertInto('response_effect_samples').values({ measure_id: id, finding_id: s.id, at, score: s.score, host_count: s.hostCount, last_seen: s.lastSeen, level: s.level }).execute();
      }
      return snaps.length;
    },

    /** The measure's effect: its findings over time around execution, for a before/after chart; the read is audited. */
    async measureEffect(ctx: RequestContext, id: string): Promise<MeasureEffect> {
      policy.require(ctx, 'measure:effect-read');
      const r = await row(k, id);
      await service.sampleEffect(ctx, id).catch(() => undefined);
      const samples = (await k.selectFrom('response_effect_samples').selectAll().where('measure_id', '=', id).orderBy('at').execute()) as { finding_id: string; at: string; score: number; host_count: number; last_seen: string; level: string }[];
      const ids = (JSON.parse(r.justification) as Measure['justification']).findings;
      const series = new Map<string, { at: string; score: number; hostCount: number }[]>();
      const src = ports.findings;
      if (src?.series !== undefined && r.executing_since !== null) {
        const span = Math.max(clock.nowMs() - Date.parse(r.executing_since), 86_400_000);
        for (const f of ids) series.set(f, await src.series(ctx, f, isoUtc(Date.parse(r.executing_since) - span), now()).catch(() => []));
      }
      const effect = computeEffect({ measureId: id, findingIds: ids, executingSince: r.executing_since, completedAt: r.completed_at, now: now(), samples: samples.map((s) => ({ findingId: s.finding_id, at: s.at, score: Number(s.score), hostCount: Number(s.host_count), lastSeen: s.last_seen, level: s.level })), series });
      await audit.record(ctx, { action: 'measure:effect-read', object: { type: 'measure', id }, outcome: 'success', details: { findings: ids.length, samples: samples.length, verdict: effect.verdict } });
      return effect;
    },

    /**
     * Measures in force for artifacts: executing or executed, and authorized now (prior approval or an
     * emergency action under review). Anything else is left out: artifacts fail closed.
     * @see Police Duties Execution Act Art. 6-2
     */
    async measuresInForce(ctx: RequestContext): Promise<Measure[]> {
      const rows = (await k.selectFrom('response_measures').selectAll().where('state', 'in', [...IN_FORCE_STATES]).orderBy('id').execute()) as MeasureRow[];
      const out: Measure[] = [];
      for (const r of rows) if ((await authorizationOf(ctx, r)) !== undefined) out.push(await toMeasure(k, r));
      return out;
    },

    /**
     * An artifact built from the measures in force, with its strong ETag; `notModified` when the
     * caller's If-None-Match already names it. Every fetch is audited (by the body's hash).
     * @see RFC 9110 §13.1.2
     */
    async artifact(ctx: RequestContext, format: ArtifactFormat, ifNoneMatch?: string): Promise<{ artifact: Artifact; notModified: boolean }> {
      policy.require(ctx, format === 'stix' ? 'artifact:read-stix' : 'artifact:read');
      const measures = await service.measuresInForce(ctx);
      const artifact = buildArtifact(format, measures, deps.rpz ?? DEFAULT_RPZ);
      const notModified = ifNoneMatchHits(ifNoneMatch, artifact.etag);
      await audit.record(ctx, { action: format === 'stix' ? 'artifact:read-stix' : 'artifact:read', object: { type: 'artifact', id: format }, outcome: 'success', details: { etag: artifact.etag.slice(1, -1), measures: measures.length, notModified } });
      return { artifact, notModified };
    },

    /** The takedown notice of a measure in force, in Japanese or English; the read is audited. @see Police Duties Execution Act Art. 6-2 */
    async takedownNotice(ctx: RequestContext, id: string, lang: NoticeLanguage, ifNoneMatch?: string): Promise<{ artifact: Artifact; notModified: boolean }> {
      policy.require(ctx, 'measure:notice');
      const r = await row(k, id);
      if (r.kind !== 'takedown_notice') throw new AppError('NOT_FOUND', 'This measure is not a takedown notice; only takedown_notice measures have one.');
      if (!IN_FORCE_STATES.includes(r.state) || (await authorizationOf(ctx, r)) === undefined) throw new AppError('CONFLICT', `The measure is ${r.state} and not authorized now: a notice is issued only for a measure being executed under an approval.`);
      const n = renderTakedownNotice(await toMeasure(k, r), lang)!;
      const artifact = artifactOf(`To: ${n.to}\nSubject: ${n.subject}\nContent-Language: ${lang}\n\n${n.body}\n`, 'text/plain; charset=utf-8');
      const notModified = ifNoneMatchHits(ifNoneMatch, artifact.etag);
      await audit.record(ctx, { action: 'measure:notice', object: { type: 'measure', id }, outcome: 'success', details: { lang, etag: artifact.etag.slice(1, -1), notModified } });
      return { artifact, notModified };
    },
  };
  return service;
}

/** The response service's interface. */
export type ResponseService = ReturnType<typeof createResponseService>;
