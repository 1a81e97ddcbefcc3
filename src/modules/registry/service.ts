/** @module The registry: sectors and their competent ministries, designated operators, their address ranges and exporters, CSV import/export. */
import type { Clock } from '#platform/clock/index.js';
import { isoUtc } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import { sql, type AnyDb, type Database } from '#platform/db/index.js';
import { AppError, parseOrThrow, type FieldIssue } from '#platform/errors/index.js';
import { newId } from '#platform/ids/index.js';
import { keysetPage, pageQuery, type Page, type PageQuery } from '#platform/paging/index.js';
import type { PolicyEngine, PolicyResource } from '#platform/policy/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import { SECTORS, type Sector } from '#modules/identity/index.js';
import { csvLine, parseCsv } from './csv.js';
import {
  DesignationInputSchema, ExporterInputSchema, MINISTRIES, RangeInputSchema, REGIMES, SECTOR_TABLE, ContactSchema, cidrContains, normalizeCidr,
  type Contact, type DesignatedOperator, type DesignationInput, type Regime,
} from './schema.js';

/** What the registry needs. */
export interface RegistryDeps {
  db: Database;
  policy: PolicyEngine;
  audit: AuditRecorder;
  clock: Clock;
  /** Runs every change of registered ranges with the changed prefixes held in selection, and applies the change after it (server wiring). */
  rangeGate?: RangeGate;
}

/**
 * Wraps a change of registered address ranges: `prefixes` (every range added or removed) are held — their
 * flows dropped — while `work` runs, and the change reaches selection before the call returns.
 * @see DESIGN.md invariant 1
 */
export interface RangeGate {
  around<T>(prefixes: readonly string[], work: () => Promise<T>): Promise<T>;
}

const noGate: RangeGate = { around: (_p, work) => work() };

/** A sector with its labels and competent ministry. */
export interface SectorInfo {
  sector: Sector;
  ja: string;
  en: string;
  ministry: { code: string; ja: string; en: string };
}

/** One problem found in an import file, by line. */
export interface ImportError {
  line: number;
  field: string;
  message: string;
}

/** What an import did (or, in a dry run, would do). */
export interface ImportResult {
  dryRun: boolean;
  applied: boolean;
  errors: ImportError[];
  operators: { name: string; action: 'create' | 'update' }[];
  ranges: number;
  exporters: number;
}

/** The CSV header of import and export. */
export const REGISTRY_CSV_HEADER = ['record', 'operator', 'name_ja', 'sector', 'designated_on', 'contact_name', 'contact_email', 'contact_phone', 'regimes', 'cidr', 'exporter_address', 'observation_domain', 'note'] as const;

interface OperatorRow { org_id: string; sector: string; designated_on: string; contacts: string; regimes: string; updated_at: string }
interface OrgRow { id: string; name: string; name_ja: string | null; kind: string }

const resourceOf = (orgId: string, sector: string): PolicyResource => ({ type: 'OperatorRecord', id: orgId, attrs: { orgId, sector } });

/** Creates the registry service. @see 重要電子計算機に対する不正な行為による被害の防止に関する法律 Art. 2, Art. 3 (designation of specified social infrastructure operators) */
export function createRegistryService(deps: RegistryDeps) {
  const { db, policy, audit, clock } = deps;
  const k = db.kysely;
  const gate = deps.rangeGate ?? noGate;

  async function load(q: AnyDb, orgIds?: readonly string[]): Promise<DesignatedOperator[]> {
    let sel = q.selectFrom('registry_operators as r').innerJoin('orgs as o', 'o.id', 'r.org_id').select(['r.org_id', 'r.sector', 'r.designated_on', 'r.contacts', 'r.regimes', 'o.name', 'o.name_ja']).orderBy('o.name');
    if (orgIds !== undefined) {
      if (orgIds.length === 0) return [];
      sel = sel.where('r.org_id', 'in', orgIds);
    }
    const rows = (await sel.execute()) as (OperatorRow & { name: string; name_ja: string | null })[];
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.org_id);
    const ranges = (await q.selectFrom('registry_ranges').selectAll().where('org_id', 'in', ids).orderBy('cidr').execute()) as { id: string; org_id: string; cidr: string; note: string | null }[];
    const exporters = (await q.selectFrom('registry_exporters').selectAll().where('org_id', 'in', ids).orderBy('address').execute()) as { id: string; org_id: string; address: string; observation_domain: number; name: string | null }[];
    return rows.map((r) => ({
      orgId: r.org_id, name: r.name, nameJa: r.name_ja, sector: r.sector as Sector, designatedOn: r.designated_on,
      contacts: JSON.parse(r.contacts) as Contact[], regimes: JSON.parse(r.regimes) as Regime[],
      ranges: ranges.filter((x) => x.org_id === r.org_id).map((x) => ({ id: x.id, cidr: x.cidr, note: x.note })),
      exporters: exporters.filter((x) => x.org_id === r.org_id).map((x) => ({ id: x.id, address: x.address, observationDomain: Number(x.observation_domain), name: x.name })),
    }));
  }

  async function visibleOrNotFound(ctx: RequestContext, orgId: string, action: string): Promise<DesignatedOperator> {
    const [op] = await load(k, [orgId]);
    if (op === undefined || !policy.authorize(ctx, action, resourceOf(op.orgId, op.sector)).allowed) {
      throw new AppError('NOT_FOUND', `No designated operator ${orgId} that you may see; list them with GET /api/v1/registry/operators.`);
    }
    return op;
  }

  /** Writes one designation (new org when needed) inside `trx`; returns the org id. */
  async function upsertDesignation(ctx: RequestContext, trx: AnyDb, v: { orgId?: string | undefined; name?: string | undefined; nameJa?: string | undefined; sector: Sector; designatedOn: string; contacts: Contact[]; regimes: Regime[] }): Promise<{ orgId: string; created: boolean }> {
    const now = isoUtc(clock.nowMs());
    let org: OrgRow | undefined;
    if (v.orgId !== undefined) org = (await trx.selectFrom('orgs').select(['id', 'name', 'name_ja', 'kind']).where('id', '=', v.orgId).executeTakeFirst()) as OrgRow | undefined;
    else org = (await trx.selectFrom('orgs').select(['id', 'name', 'name_ja', 'kind']).where('name', '=', v.name!).executeTakeFirst()) as OrgRow | undefined;
    if (v.orgId !== undefined && org === undefined) throw new AppError('VALIDATION_FAILED', 'orgId: no organization has this id.', { details: [{ path: 'orgId', message: 'unknown organization' }] });
    if (org !== undefined && org.kind !== 'operator') throw new AppError('VALIDATION_FAILED', `orgId: "${org.name}" is a ${org.kind}, not an operator.`, { details: [{ path: 'orgId', message: 'not an operator organization' }] });
    let created = false;
    if (org === undefined) {
      // Designating a new operator creates its organization in the same transaction, so both land or neither does.
      org = { id: newId(clock.nowMs()), name: v.name!, name_ja: v.nameJa ?? null, kind: 'operator' };
      await trx.insertInto('orgs').values({ ...org, sectors: JSON.stringify([v.sector]), created_at: now }).execute();
      await audit.record(ctx, { action: 'org:create', object: { type: 'org', id: org.id }, outcome: 'success', details: { via: 'registry' } }, trx);
      created = true;
    } else {
      await trx.updateTable('orgs').set({ sectors: JSON.stringify([v.sector]), ...(v.nameJa !== undefined ? { name_ja: v.nameJa } : {}) }).where('id', '=', org.id).execute();
    }
    const row = { org_id: org.id, sector: v.sector, designated_on: v.designatedOn, contacts: JSON.stringify(v.contacts), regimes: JSON.stringify([...new Set(v.regimes)]), updated_at: now };
    const exists = await trx.selectFrom('registry_operators').select('org_id').where('org_id', '=', org.id).executeTakeFirst();
    if (exists === undefined) await trx.insertInto('registry_operators').values(row).execute();
    else await trx.updateTable('registry_operators').set(row).where('org_id', '=', org.id).execute();
    await audit.record(ctx, { action: 'registry:manage', object: { type: 'operator', id: org.id }, outcome: 'success', details: { change: exists === undefined ? 'designate' : 'update', sector: v.sector } }, trx);
    return { orgId: org.id, created };
  }

  function scopeFilter(ctx: RequestContext): { all: true } | { orgIds: string[] } | { sectors: string[] } {
    const roles = ctx.actor.roles;
    if (ctx.actor.kind === 'system' || roles.some((r) => r === 'analyst' || r === 'nco_director' || r === 'admin')) return { all: true };
    if (roles.includes('ministry')) return { sectors: [...ctx.actor.sectors] };
    return { orgIds: ctx.actor.orgId === null ? [] : [ctx.actor.orgId] };
  }

  return {
    /** The 15 sectors with labels and competent ministry. @see 同法 Art. 2 para. 2 */
    listSectors(ctx: RequestContext): SectorInfo[] {
      policy.require(ctx, 'registry:read');
      return SECTORS.map((s) => {
        const t = SECTOR_TABLE[s];
        return { sector: s, ja: t.ja, en: t.en, ministry: { code: t.ministry, ...MINISTRIES[t.ministry] } };
      });
    },

    /** Designates an operator (or updates its designation), creating its organization when named anew. @see 同法 Art. 3 */
    async designate(ctx: RequestContext, input: DesignationInput): Promise<DesignatedOperator> {
      policy.require(ctx, 'registry:manage');
      const v = parseOrThrow(DesignationInputSchema, input, 'designation');
      policy.require(ctx, 'registry:manage', resourceOf(v.orgId ?? 'new', v.sector));
      const id = await db.transaction(async (trx) => (await upsertDesignation(ctx, trx, v)).orgId);
      return (await load(k, [id]))[0]!;
    },

    /** Lists designated operators the caller may see: its own, its sectors', or all. */
    async listOperators(ctx: RequestContext): Promise<DesignatedOperator[]> {
      policy.require(ctx, 'registry:read');
      const scope = scopeFilter(ctx);
      let ops = await load(k);
      if ('orgIds' in scope) ops = ops.filter((o) => scope.orgIds.includes(o.orgId));
      if ('sectors' in scope) ops = ops.filter((o) => scope.sectors.includes(o.sector));
      return ops.filter((o) => policy.authorize(ctx, 'registry:read', resourceOf(o.orgId, o.sector)).allowed);
    },

    /** One page of the designated operators the caller may see, by name (its own, its sectors', or all). */
    async pageOperators(ctx: RequestContext, page: Partial<PageQuery> = {}): Promise<Page<DesignatedOperator>> {
      policy.require(ctx, 'registry:read');
      const scope = scopeFilter(ctx);
      type Row = { org_id: string; name: string };
      const { rows, nextCursor } = await keysetPage(pageQuery(page), { columns: ['o.name', 'r.org_id'], shape: ['string', 'string'], direction: 'asc' }, (r: Row) => [r.name, r.org_id], async (after, take) => {
        let q = k.selectFrom('registry_operators as r').innerJoin('orgs as o', 'o.id', 'r.org_id').select(['r.org_id', 'o.name']).orderBy('o.name').orderBy('r.org_id').limit(take);
        if (after !== undefined) q = q.where(after);
        if ('orgIds' in scope) q = scope.orgIds.length === 0 ? q.where(sql<boolean>`1 = 0`) : q.where('r.org_id', 'in', scope.orgIds);
        if ('sectors' in scope) q = scope.sectors.length === 0 ? q.where(sql<boolean>`1 = 0`) : q.where('r.sector', 'in', scope.sectors);
        return (await q.execute()) as Row[];
      });
      const ops = await load(k, rows.map((r) => r.org_id));
      return { items: ops.filter((o) => policy.authorize(ctx, 'registry:read', resourceOf(o.orgId, o.sector)).allowed), nextCursor };
    },

    /** One designated operator, if the caller may see it. */
    async getOperator(ctx: RequestContext, orgId: string): Promise<DesignatedOperator> {
      policy.require(ctx, 'registry:read');
      return visibleOrNotFound(ctx, orgId, 'registry:read');
    },

    /** Adds an address range to an operator (used for consent agreements and to tell it when it is affected). */
    async addRange(ctx: RequestContext, orgId: string, input: unknown): Promise<DesignatedOperator> {
      policy.require(ctx, 'registry:manage');
      const v = parseOrThrow(RangeInputSchema, input, 'address range');
      await visibleOrNotFound(ctx, orgId, 'registry:manage');
      const cidr = normalizeCidr(v.cidr)!;
      await gate.around([cidr], () => db.transaction(async (trx) => {
        const dup = await trx.selectFrom('registry_ranges').select('id').where('org_id', '=', orgId).where('cidr', '=', cidr).executeTakeFirst();
        if (dup !== undefined) throw new AppError('CONFLICT', `cidr: ${cidr} is already registered for this operator.`);
        const id = newId(clock.nowMs());
        await trx.insertInto('registry_ranges').values({ id, org_id: orgId, cidr, note: v.note ?? null, created_at: isoUtc(clock.nowMs()) }).execute();
        await audit.record(ctx, { action: 'registry:manage', object: { type: 'operator', id: orgId }, outcome: 'success', details: { change: 'range-add', range: id } }, trx);
      }));
      return (await load(k, [orgId]))[0]!;
    },

    /** Removes an address range from an operator; its addresses stop being domestic before the call returns. */
    async removeRange(ctx: RequestContext, orgId: string, rangeId: string): Promise<DesignatedOperator> {
      policy.require(ctx, 'registry:manage');
      await visibleOrNotFound(ctx, orgId, 'registry:manage');
      const row = (await k.selectFrom('registry_ranges').select(['id', 'cidr']).where('org_id', '=', orgId).where('id', '=', rangeId).executeTakeFirst()) as { id: string; cidr: string } | undefined;
      if (row === undefined) throw new AppError('NOT_FOUND', `No range "${rangeId}" for this operator; see its ranges with GET /api/v1/registry/operators/${orgId}.`);
      await gate.around([row.cidr], () => db.transaction(async (trx) => {
        await trx.deleteFrom('registry_ranges').where('id', '=', rangeId).execute();
        await audit.record(ctx, { action: 'registry:manage', object: { type: 'operator', id: orgId }, outcome: 'success', details: { change: 'range-remove', range: rangeId } }, trx);
      }));
      return (await load(k, [orgId]))[0]!;
    },

    /** Adds an exporter (address and observation domain) to an operator. @see RFC 7011 §3.1 (Observation Domain ID) */
    async addExporter(ctx: RequestContext, orgId: string, input: unknown): Promise<DesignatedOperator> {
      policy.require(ctx, 'registry:manage');
      const v = parseOrThrow(ExporterInputSchema, input, 'exporter');
      await visibleOrNotFound(ctx, orgId, 'registry:manage');
      await db.transaction(async (trx) => {
        const dup = await trx.selectFrom('registry_exporters').select('id').where('address', '=', v.address).where('observation_domain', '=', v.observationDomain).executeTakeFirst();
        if (dup !== undefined) throw new AppError('CONFLICT', `address: exporter ${v.address} domain ${v.observationDomain} is already registered.`);
        const id = newId(clock.nowMs());
        await trx.insertInto('registry_exporters').values({ id, org_id: orgId, address: v.address, observation_domain: v.observationDomain, name: v.name ?? null, created_at: isoUtc(clock.nowMs()) }).execute();
        await audit.record(ctx, { action: 'registry:manage', object: { type: 'operator', id: orgId }, outcome: 'success', details: { change: 'exporter-add', exporter: id } }, trx);
      });
      return (await load(k, [orgId]))[0]!;
    },

    /** Operators whose registered ranges hold `address`: whom to tell when an address is affected. */
    async operatorsForAddress(ctx: RequestContext, address: string): Promise<{ orgId: string; name: string; sector: Sector; cidr: string }[]> {
      policy.require(ctx, 'registry:lookup');
      const rows = (await k.selectFrom('registry_ranges as g').innerJoin('registry_operators as r', 'r.org_id', 'g.org_id').innerJoin('orgs as o', 'o.id', 'g.org_id').select(['g.org_id', 'g.cidr', 'o.name', 'r.sector']).execute()) as { org_id: string; cidr: string; name: string; sector: string }[];
      const hits = rows.filter((r) => cidrContains(r.cidr, address)).map((r) => ({ orgId: r.org_id, name: r.name, sector: r.sector as Sector, cidr: r.cidr }));
      await audit.record(ctx, { action: 'registry:lookup', object: null, outcome: 'success', details: { matches: hits.length } });
      return hits;
    },

    /** The sector and extra regimes of an operator org (for the reporting module, acting for `ctx`); undefined when not designated. */
    async profileOf(_ctx: RequestContext, orgId: string): Promise<{ orgId: string; name: string; sector: Sector; regimes: Regime[]; ranges: string[] } | undefined> {
      const row = (await k.selectFrom('registry_operators as r').innerJoin('orgs as o', 'o.id', 'r.org_id').select(['r.sector', 'r.regimes', 'o.name']).where('r.org_id', '=', orgId).executeTakeFirst()) as { sector: string; regimes: string; name: string } | undefined;
      if (row === undefined) return undefined;
      const ranges = (await k.selectFrom('registry_ranges').select('cidr').where('org_id', '=', orgId).execute()) as { cidr: string }[];
      return { orgId, name: row.name, sector: row.sector as Sector, regimes: JSON.parse(row.regimes) as Regime[], ranges: ranges.map((x) => x.cidr) };
    },

    /** Exports the whole registry as CSV (the import format). */
    async exportCsv(ctx: RequestContext): Promise<string> {
      policy.require(ctx, 'registry:transfer');
      const ops = await load(k);
      const lines = [csvLine(REGISTRY_CSV_HEADER)];
      for (const o of ops) {
        const [first, ...more] = o.contacts;
        lines.push(csvLine(['operator', o.name, o.nameJa, o.sector, o.designatedOn, first?.name, first?.email, first?.phone, o.regimes.join(';'), '', '', '', first?.role]));
        for (const c of more) lines.push(csvLine(['contact', o.name, '', '', '', c.name, c.email, c.phone, '', '', '', '', c.role]));
        for (const r of o.ranges) lines.push(csvLine(['range', o.name, '', '', '', '', '', '', '', r.cidr, '', '', r.note]));
        for (const e of o.exporters) lines.push(csvLine(['exporter', o.name, '', '', '', '', '', '', '', '', e.address, e.observationDomain, e.name]));
      }
      await audit.record(ctx, { action: 'registry:transfer', object: null, outcome: 'success', details: { direction: 'export', operators: ops.length } });
      return `${lines.join('\n')}\n`;
    },

    /**
     * Imports a registry CSV. Every error is listed with its line before anything changes; a real import
     * writes all of it in one transaction or nothing. For each operator named, its contacts, ranges and
     * exporters become those of the file.
     */
    async importCsv(ctx: RequestContext, text: string, options: { dryRun: boolean }): Promise<ImportResult> {
      policy.require(ctx, 'registry:transfer');
      const plan = planImport(text);
      const result: ImportResult = { dryRun: options.dryRun, applied: false, errors: plan.errors, operators: [], ranges: 0, exporters: 0 };
      // Exporters must be unique across operators: check those of other operators already stored.
      const names = [...plan.operators.keys()];
      const existing = names.length === 0 ? [] : ((await k.selectFrom('orgs').select(['id', 'name', 'kind']).where('name', 'in', names).execute()) as { id: string; name: string; kind: string }[]);
      for (const [name, p] of plan.operators) {
        const e = existing.find((x) => x.name === name);
        if (e !== undefined && e.kind !== 'operator') plan.errors.push({ line: p.line, field: 'operator', message: `"${name}" is an organization of kind ${e.kind}, not an operator` });
        result.operators.push({ name, action: e === undefined ? 'create' : 'update' });
        result.ranges += p.ranges.length;
        result.exporters += p.exporters.length;
      }
      const storedExporters = (await k.selectFrom('registry_exporters as x').innerJoin('orgs as o', 'o.id', 'x.org_id').select(['x.address', 'x.observation_domain', 'o.name']).execute()) as { address: string; observation_domain: number; name: string }[];
      for (const [name, p] of plan.operators) {
        for (const x of p.exporters) {
          const clash = storedExporters.find((s) => s.address === x.address && Number(s.observation_domain) === x.observationDomain && s.name !== name && !plan.operators.has(s.name));
          if (clash !== undefined) plan.errors.push({ line: x.line, field: 'exporter_address', message: `exporter ${x.address} domain ${x.observationDomain} belongs to "${clash.name}"` });
        }
      }
      result.errors.sort((a, b) => a.line - b.line);
      if (result.errors.length > 0 || options.dryRun) {
        await audit.record(ctx, { action: 'registry:transfer', object: null, outcome: result.errors.length > 0 ? 'failure' : 'success', details: { direction: 'import', dryRun: options.dryRun, errors: result.errors.length } });
        if (result.errors.length > 0 && !options.dryRun) {
          throw new AppError('VALIDATION_FAILED', `The registry file has ${result.errors.length} error(s); nothing was imported. ${result.errors.slice(0, 5).map((e) => `line ${e.line} ${e.field}: ${e.message}`).join('; ')}`, { details: result.errors.map((e): FieldIssue => ({ path: `line ${e.line}.${e.field}`, message: e.message })) });
        }
        return result;
      }
      // Every range of the operators named, before and after, is held until selection has the new set.
      const touched = existing.length === 0 ? [] : ((await k.selectFrom('registry_ranges').select('cidr').where('org_id', 'in', existing.map((e) => e.id)).execute()) as { cidr: string }[]).map((r) => r.cidr);
      const held = [...new Set([...touched, ...[...plan.operators.values()].flatMap((p) => p.ranges.map((r) => r.cidr))])];
      await gate.around(held, () => db.transaction(async (trx) => {
        const now = isoUtc(clock.nowMs());
        for (const [name, p] of plan.operators) {
          const { orgId } = await upsertDesignation(ctx, trx, { name, nameJa: p.nameJa, sector: p.sector, designatedOn: p.designatedOn, contacts: p.contacts, regimes: p.regimes });
          await trx.deleteFrom('registry_ranges').where('org_id', '=', orgId).execute();
          await trx.deleteFrom('registry_exporters').where('org_id', '=', orgId).execute();
          for (const r of p.ranges) await trx.insertInto('registry_ranges').values({ id: newId(clock.nowMs()), org_id: orgId, cidr: r.cidr, note: r.note, created_at: now }).execute();
          for (const x of p.exporters) await trx.insertInto('registry_exporters').values({ id: newId(clock.nowMs()), org_id: orgId, address: x.address, observation_domain: x.observationDomain, name: x.name, created_at: now }).execute();
        }
        await audit.record(ctx, { action: 'registry:transfer', object: null, outcome: 'success', details: { direction: 'import', operators: plan.operators.size, ranges: result.ranges, exporters: result.exporters } }, trx);
      }));
      result.applied = true;
      return result;
    },
  };
}

interface PlannedOperator {
  line: number;
  nameJa: string | undefined;
  sector: Sector;
  designatedOn: string;
  contacts: Contact[];
  regimes: Regime[];
  ranges: { line: number; cidr: string; note: string | null }[];
  exporters: { line: number; address: string; observationDomain: number; name: string | null }[];
}

/** Parses and checks a registry CSV without touching the database; every error carries its line. */
export function planImport(text: string): { operators: Map<string, PlannedOperator>; errors: ImportError[] } {
  const errors: ImportError[] = [];
  const operators = new Map<string, PlannedOperator>();
  const parsed = parseCsv(text);
  if (parsed.error !== undefined) errors.push({ line: parsed.error.line, field: '(file)', message: parsed.error.message });
  const [header, ...rows] = parsed.records;
  if (header === undefined) return { operators, errors: [...errors, { line: 1, field: '(file)', message: `empty file; the first line must be the header ${REGISTRY_CSV_HEADER.join(',')}` }] };
  const cols = header.cells.map((c) => c.trim());
  const missing = REGISTRY_CSV_HEADER.filter((h) => !cols.includes(h));
  const unknown = cols.filter((c) => !(REGISTRY_CSV_HEADER as readonly string[]).includes(c));
  for (const m of missing) errors.push({ line: header.line, field: m, message: 'column missing from the header' });
  for (const u of unknown) errors.push({ line: header.line, field: u, message: 'unknown column; remove it' });
  if (missing.length > 0) return { operators, errors };
  const later: { line: number; kind: string; op: string; get: (h: string) => string }[] = [];
  for (const r of rows) {
    if (r.cells.length !== cols.length) { errors.push({ line: r.line, field: '(row)', message: `has ${r.cells.length} cells; the header has ${cols.length}` }); continue; }
    // A leading ' before = + - @ is the export's guard against spreadsheet formulas: drop it again.
    const get = (h: string) => (r.cells[cols.indexOf(h)] ?? '').trim().replace(/^'(?=[=+\-@])/, '');
    const kind = get('record');
    const op = get('operator');
    if (op === '') { errors.push({ line: r.line, field: 'operator', message: 'required' }); continue; }
    if (kind === 'operator') {
      if (operators.has(op)) { errors.push({ line: r.line, field: 'operator', message: `"${op}" appears on more than one operator line` }); continue; }
      const sector = get('sector');
      const designatedOn = get('designated_on');
      const regimes = get('regimes') === '' ? [] : get('regimes').split(';').map((s) => s.trim());
      let ok = true;
      if (!(SECTORS as readonly string[]).includes(sector)) { errors.push({ line: r.line, field: 'sector', message: `unknown sector "${sector}"; one of ${SECTORS.join(', ')}` }); ok = false; }
      if (!/^\d{4}-\d{2}-\d{2}$/.test(designatedOn) || Number.isNaN(Date.parse(designatedOn))) { errors.push({ line: r.line, field: 'designated_on', message: 'must be a date YYYY-MM-DD' }); ok = false; }
      for (const g of regimes) if (!(REGIMES as readonly string[]).includes(g)) { errors.push({ line: r.line, field: 'regimes', message: `unknown regime "${g}"; use ${REGIMES.join(' or ')}, separated by ;` }); ok = false; }
      const contact = checkContact(r.line, get, errors);
      if (!ok || contact === undefined) continue;
      operators.set(op, { line: r.line, nameJa: get('name_ja') === '' ? undefined : get('name_ja'), sector: sector as Sector, designatedOn, contacts: [contact], regimes: regimes as Regime[], ranges: [], exporters: [] });
    } else if (kind === 'contact' || kind === 'range' || kind === 'exporter') {
      later.push({ line: r.line, kind, op, get });
    } else {
      errors.push({ line: r.line, field: 'record', message: `unknown record type "${kind}"; use operator, contact, range or exporter` });
    }
  }
  for (const l of later) {
    const p = operators.get(l.op);
    if (p === undefined) { errors.push({ line: l.line, field: 'operator', message: `"${l.op}" has no valid operator line in this file` }); continue; }
    if (l.kind === 'contact') {
      const c = checkContact(l.line, l.get, errors);
      if (c !== undefined) p.contacts.push(c);
    } else if (l.kind === 'range') {
      const cidr = normalizeCidr(l.get('cidr'));
      if (cidr === undefined) errors.push({ line: l.line, field: 'cidr', message: 'must be an IPv4 or IPv6 prefix such as 192.0.2.0/24' });
      else if (p.ranges.some((x) => x.cidr === cidr)) errors.push({ line: l.line, field: 'cidr', message: `${cidr} is listed twice for this operator` });
      else p.ranges.push({ line: l.line, cidr, note: l.get('note') === '' ? null : l.get('note') });
    } else {
      const v = ExporterInputSchema.safeParse({ address: l.get('exporter_address'), observationDomain: /^\d+$/.test(l.get('observation_domain')) ? Number(l.get('observation_domain')) : l.get('observation_domain') });
      if (!v.success) for (const i of v.error.issues) errors.push({ line: l.line, field: i.path[0] === 'address' ? 'exporter_address' : 'observation_domain', message: i.message });
      else {
        const dup = [...operators.values()].some((o) => o.exporters.some((x) => x.address === v.data.address && x.observationDomain === v.data.observationDomain));
        if (dup) errors.push({ line: l.line, field: 'exporter_address', message: `exporter ${v.data.address} domain ${v.data.observationDomain} is listed twice` });
        else p.exporters.push({ line: l.line, address: v.data.address, observationDomain: v.data.observationDomain, name: l.get('note') === '' ? null : l.get('note') });
      }
    }
  }
  return { operators, errors };
}

function checkContact(line: number, get: (h: string) => string, errors: ImportError[]): Contact | undefined {
  const c = ContactSchema.safeParse({ name: get('contact_name'), email: get('contact_email'), ...(get('contact_phone') !== '' ? { phone: get('contact_phone') } : {}), ...(get('note') !== '' ? { role: get('note') } : {}) });
  if (c.success) return c.data;
  for (const i of c.error.issues) errors.push({ line, field: `contact_${String(i.path[0] ?? 'name')}`, message: i.message });
  return undefined;
}

/** The registry service's interface. */
export type RegistryService = ReturnType<typeof createRegistryService>;
