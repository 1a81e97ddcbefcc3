/** @module The flow archive: kept, minimized flows as Parquet partitioned by basis and hour, a retention job, and audited queries. */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { Clock } from '#platform/clock/index.js';
import { isoUtc } from '#platform/clock/index.js';
import type { RequestContext } from '#platform/context/index.js';
import type { DuckDb } from '#platform/duckdb/index.js';
import { AppError, parseOrThrow } from '#platform/errors/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import { formatAddress } from '#modules/collection/index.js';
import { CATEGORIES } from './classify.js';
import { ADDR_FOREIGN, ADDR_PSEUDONYM, type SelectedBatch } from './minimize.js';
import { pseudonymHex } from './pseudonym.js';
import { parsePrefix, slotToBigInt } from './ranges.js';
import { FIELD_BIT } from './schema.js';

/** What the archive needs; the engine is the embedded DuckDB driver (src/platform/duckdb) or a stand-in. */
export interface ArchiveDeps {
  /** `<dataDir>/archive` holds `basis=<id>/hour=<YYYY-MM-DDTHH>/flows_<uuid>.parquet`. */
  dir: string;
  /** Opens the engine on first use (DuckDB starts only when the archive is used). */
  engine: () => Promise<DuckDb>;
  audit: AuditRecorder;
  policy: PolicyEngine;
  clock: Clock;
  /** Retention in days of each basis id; undefined for an unknown basis (its partitions are purged). */
  retentionOf: (basisIds: readonly string[]) => Promise<Map<string, number>>;
}

const STAGING_COLUMNS = [
  ['basis', 'varchar'], ['hour', 'varchar'], ['category', 'varchar'], ['start_ms', 'double'], ['end_ms', 'double'],
  ['src_addr', 'varchar'], ['dst_addr', 'varchar'], ['src_num', 'varchar'], ['dst_num', 'varchar'],
  ['src_pseudonym', 'varchar'], ['dst_pseudonym', 'varchar'], ['pseudonym_period', 'varchar'],
  ['src_port', 'double'], ['dst_port', 'double'], ['proto', 'double'], ['tcp_flags', 'double'], ['bytes', 'double'], ['packets', 'double'],
  ['sampling_rate', 'double'], ['in_if', 'double'], ['out_if', 'double'], ['exporter', 'varchar'],
] as const;

// The Parquet columns: foreign addresses as text and as a 128-bit number (for prefix filters), pseudonyms as hex.
const COPY_SELECT = `SELECT basis, hour, category, epoch_ms(CAST(start_ms AS BIGINT)) AS start, epoch_ms(CAST(end_ms AS BIGINT)) AS "end",
  src_addr, dst_addr, CAST(src_num AS UHUGEINT) AS src_num, CAST(dst_num AS UHUGEINT) AS dst_num, src_pseudonym, dst_pseudonym, pseudonym_period,
  CAST(src_port AS USMALLINT) AS src_port, CAST(dst_port AS USMALLINT) AS dst_port, CAST(proto AS UTINYINT) AS proto, CAST(tcp_flags AS UTINYINT) AS tcp_flags,
  bytes, packets, CAST(sampling_rate AS UINTEGER) AS sampling_rate, CAST(in_if AS UINTEGER) AS in_if, CAST(out_if AS UINTEGER) AS out_if, exporter FROM flow_staging`;

/** Group-by keys of a flow query and the column each reads. */
export const GROUP_KEYS = {
  hour: 'hour', minute: `strftime(date_trunc('minute', start), '%Y-%m-%dT%H:%M')`, basis: 'basis', category: 'category', srcAddr: 'src_addr', dstAddr: 'dst_addr',
  foreignAddress: `CASE WHEN category = 'outbound' THEN dst_addr ELSE src_addr END`,
  srcPort: 'src_port', dstPort: 'dst_port', proto: 'proto', exporter: 'exporter',
} as const;

const iso = z.string().datetime({ offset: true, message: 'use ISO 8601 with a time zone' });

/** A flow query: a stated purpose, a bounded time range, filters and optional grouping. */
export const FlowQuerySchema = z.object({
  purpose: z.string().trim().min(10, 'state the purpose in at least 10 characters').max(500),
  filters: z.object({
    from: iso,
    to: iso,
    basisIds: z.array(z.string().min(1).max(100)).max(100).optional(),
    foreignAddress: z.string().min(2).max(64).optional(),
    foreignPrefix: z.string().min(2).max(64).optional(),
    /** A domestic endpoint's keyed pseudonym (hex), as findings name it. */
    pseudonym: z.string().regex(/^[0-9a-f]{8,64}$/, 'a pseudonym is the hex a finding shows').optional(),
    port: z.number().int().min(0).max(65535).optional(),
    proto: z.number().int().min(0).max(255).optional(),
    category: z.enum(['transit', 'inbound', 'outbound']).optional(),
  }).strict(),
  groupBy: z.array(z.enum(Object.keys(GROUP_KEYS) as [keyof typeof GROUP_KEYS, ...(keyof typeof GROUP_KEYS)[]])).max(5).default([]),
  limit: z.number().int().min(1).max(10_000).default(1000),
}).strict().refine((q) => Date.parse(q.filters.to) > Date.parse(q.filters.from), { path: ['filters', 'to'], message: 'must be after from' });

/** Input of queryFlows. */
export type FlowQuery = z.input<typeof FlowQuerySchema>;

const hourOf = (ms: number): string => isoUtc(ms).slice(0, 13);

interface Partition { basis: string; hour: string; dir: string }

/** Basis ids are path components of the archive: nothing that could leave it. */
const SAFE_BASIS_ID = /^[A-Za-z0-9_-]{1,100}$/;

/** One basis's holdings in the archive (counts only). */
export interface BasisInventory {
  basisId: string;
  partitions: number;
  rows: number;
  bytes: number;
  /** First and last hour held, `YYYY-MM-DDTHH` (UTC). */
  firstHour: string;
  lastHour: string;
}

/** Creates the archive. @see DESIGN.md "Chosen parts" (flow archive) and invariants 2–5 */
export function createFlowArchive(deps: ArchiveDeps) {
  const dir = resolve(deps.dir);
  const { audit, policy, clock } = deps;
  let opened: Promise<DuckDb> | undefined;
  const engine = (): Promise<DuckDb> => (opened ??= deps.engine());
  let ready: Promise<void> | undefined;
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };
  // Bases purged in this process: a batch selected under one before the purge but written after it (the
  // pipeline hands batches over asynchronously) must not bring its flows back. Revoked bases stop matching
  // at selection, so after a restart no batch of theirs can be in flight.
  const purged = new Set<string>();
  const setup = (): Promise<void> => (ready ??= engine().then((e) => e.run(`CREATE TEMP TABLE flow_staging (${STAGING_COLUMNS.map(([n, t]) => `${n} ${t === 'double' ? 'DOUBLE' : 'VARCHAR'}`).join(', ')})`)));

  function partitions(): Partition[] {
    if (!existsSync(dir)) return [];
    const out: Partition[] = [];
    for (const b of readdirSync(dir)) {
      if (!b.startsWith('basis=')) continue;
      for (const h of readdirSync(join(dir, b))) {
        if (!h.startsWith('hour=')) continue;
        out.push({ basis: b.slice(6), hour: h.slice(5), dir: join(dir, b, h) });
      }
    }
    return out;
  }

  const parquetFiles = (d: string): string[] => (existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.parquet')).map((f) => join(d, f)) : []);

  // Row counts come from the Parquet footers; callers hold the serial chain.
  async function countRows(files: readonly string[]): Promise<number> {
    if (files.length === 0) return 0;
    const [r] = await (await engine()).all(`SELECT count(*) AS n FROM read_parquet([${files.map((f) => `'${f.replace(/'/g, "''")}'`).join(', ')}])`);
    return Number(r?.['n'] ?? 0);
  }

  /** Audits, then deletes one partition (a failed deletion is audited too); returns the flows it held. Callers hold the serial chain. */
  async function deletePartition(ctx: RequestContext, p: Partition, action: 'retention:delete' | 'flows:purge', extra: Record<string, string | number>): Promise<number> {
    const files = readdirSync(p.dir);
    const bytes = files.reduce((a, f) => a + statSync(join(p.dir, f)).size, 0);
    const flows = await countRows(parquetFiles(p.dir));
    const event = { action, object: { type: 'archive_partition', id: `basis=${p.basis}/hour=${p.hour}` }, legalBasis: p.basis, details: { ...extra, flows, partitions: 1, files: files.length, bytes } };
    await audit.record(ctx, { ...event, outcome: 'success' });
    try {
      rmSync(p.dir, { recursive: true, force: true });
    } catch (e) {
      await audit.record(ctx, { ...event, outcome: 'failure' });
      throw e;
    }
    return flows;
  }

  function removeEmptyBasisDirs(): void {
    for (const b of existsSync(dir) ? readdirSync(dir) : []) if (b.startsWith('basis=') && readdirSync(join(dir, b)).length === 0) rmSync(join(dir, b), { recursive: true, force: true });
  }

  return {
    dir,
    /** Closes the engine if it was opened. */
    async close(): Promise<void> {
      if (opened !== undefined) (await opened).close();
      opened = undefined;
      ready = undefined;
    },
    /**
     * Appends a minimized batch: only allowed fields, foreign addresses, pseudonyms; never a raw domestic
     * address. Rows of a basis purged meanwhile are dropped and counted in `droppedPurged`.
     */
    async write(batch: SelectedBatch): Promise<{ rows: number; droppedPurged: number }> {
      if (batch.length === 0) return { rows: 0, droppedPurged: 0 };
      const rows: (string | number | null)[][] = [];
      for (let i = 0; i < batch.length; i++) {
        const m = batch.fields[i]!;
        const f = (bit: number, v: number): number | null => ((m & bit) !== 0 ? v : null);
        const addr = (kind: number, buf: Uint8Array): [string | null, string | null, string | null] =>
          kind === ADDR_FOREIGN ? [formatAddress(buf, i * 16), slotToBigInt(buf, i * 16).toString(), null] : kind === ADDR_PSEUDONYM ? [null, null, pseudonymHex(buf, i * 16)] : [null, null, null];
        const [sa, sn, sp] = addr(batch.srcKind[i]!, batch.srcAddr);
        const [da, dn, dp] = addr(batch.dstKind[i]!, batch.dstAddr);
        rows.push([
          batch.basisIds[batch.basisIndex[i]!]!, hourOf(batch.start[i]!), CATEGORIES[batch.category[i]!]!, batch.start[i]!, f(FIELD_BIT.end, batch.end[i]!),
          sa, da, sn, dn, sp, dp, sp !== null || dp !== null ? batch.periods[batch.periodIndex[i]!]! : null,
          f(FIELD_BIT.srcPort, batch.srcPort[i]!), f(FIELD_BIT.dstPort, batch.dstPort[i]!), f(FIELD_BIT.proto, batch.proto[i]!), f(FIELD_BIT.tcpFlags, batch.tcpFlags[i]!),
          f(FIELD_BIT.bytes, batch.bytes[i]!), f(FIELD_BIT.packets, batch.packets[i]!), f(FIELD_BIT.samplingRate, batch.samplingRate[i]!),
          f(FIELD_BIT.inIf, batch.inIf[i]!), f(FIELD_BIT.outIf, batch.outIf[i]!), (m & FIELD_BIT.exporter) !== 0 ? batch.exporters[batch.exporterIndex[i]!]! : null,
        ]);
      }
      return serial(async () => {
        // Checked inside the chain: a purge enqueued before this write has already marked its basis.
        const kept = purged.size === 0 ? rows : rows.filter((r) => !purged.has(r[0] as string));
        const droppedPurged = rows.length - kept.length;
        if (kept.length === 0) return { rows: 0, droppedPurged };
        await setup();
        const e = await engine();
        await e.append('flow_staging', STAGING_COLUMNS.map(([, t]) => t), kept);
        try {
          await e.run(`COPY (${COPY_SELECT}) TO '${dir.replace(/'/g, "''")}' (FORMAT PARQUET, PARTITION_BY (basis, hour), APPEND, FILENAME_PATTERN 'flows_{uuid}')`);
        } finally {
          await e.run('DELETE FROM flow_staging');
        }
        return { rows: kept.length, droppedPurged };
      });
    },

    /** The partitions on disk (basis, hour). */
    partitions: (): { basis: string; hour: string }[] => partitions().map(({ basis, hour }) => ({ basis, hour })),

    /**
     * Deletes every partition past its basis's retention and writes each deletion to the audit log as
     * `retention:delete` (details `flows`, `partitions`: the names the Diet report counts).
     * @see DESIGN.md invariant 4
     */
    async enforceRetention(ctx: RequestContext): Promise<{ deleted: { basis: string; hour: string }[] }> {
      policy.require(ctx, 'flows:purge');
      const parts = partitions();
      const retention = await deps.retentionOf([...new Set(parts.map((p) => p.basis))]);
      const now = clock.nowMs();
      const deleted: { basis: string; hour: string }[] = [];
      for (const p of parts) {
        const hourEnd = Date.parse(`${p.hour}:00:00.000Z`) + 3_600_000;
        const days = retention.get(p.basis) ?? 0; // no known basis: nothing allows keeping it
        if (!Number.isFinite(hourEnd) || hourEnd + days * 86_400_000 > now) continue;
        await serial(() => deletePartition(ctx, p, 'retention:delete', { retentionDays: days }));
        deleted.push({ basis: p.basis, hour: p.hour });
      }
      removeEmptyBasisDirs();
      return { deleted };
    },

    /**
     * Deletes every partition of one basis (an emergency acquisition the commission denied, or whose
     * review deadline passed), auditing each deletion as `flows:purge` with the reason and the flows deleted.
     * @see DESIGN.md invariant 6 (purge if denied)
     */
    async purgeBasis(ctx: RequestContext, basisId: string, reason: string): Promise<{ flows: number; partitions: number; deleted: { basis: string; hour: string }[] }> {
      policy.require(ctx, 'flows:purge');
      if (!SAFE_BASIS_ID.test(basisId)) throw new AppError('VALIDATION_FAILED', 'basisId: a legal basis id (letters, digits, "-" and "_").');
      const why = reason.trim().slice(0, 500);
      if (why === '') throw new AppError('VALIDATION_FAILED', 'reason: say why the data is purged.');
      // Enqueued behind any write in flight, so rows written before this call are purged too (and counted);
      // writes enqueued after it drop the basis's rows.
      return serial(async () => {
        purged.add(basisId);
        const deleted: { basis: string; hour: string }[] = [];
        let flows = 0;
        for (const p of partitions().filter((x) => x.basis === basisId)) {
          flows += await deletePartition(ctx, p, 'flows:purge', { reason: why });
          deleted.push({ basis: p.basis, hour: p.hour });
        }
        removeEmptyBasisDirs();
        return { flows, partitions: deleted.length, deleted };
      });
    },

    /**
     * Holdings by basis, for inspection: partitions, rows, bytes, first and last hour (counts only).
     * @see DESIGN.md "Oversight" (inspection: data inventory by basis)
     */
    async inventory(ctx: RequestContext): Promise<BasisInventory[]> {
      policy.require(ctx, 'selection:counters');
      return serial(async () => {
        const byBasis = new Map<string, BasisInventory>();
        for (const p of partitions()) {
          const files = parquetFiles(p.dir);
          const bytes = files.reduce((a, f) => a + statSync(f).size, 0);
          const rows = await countRows(files);
          const cur = byBasis.get(p.basis);
          if (cur === undefined) byBasis.set(p.basis, { basisId: p.basis, partitions: 1, rows, bytes, firstHour: p.hour, lastHour: p.hour });
          else {
            cur.partitions += 1;
            cur.rows += rows;
            cur.bytes += bytes;
            if (p.hour < cur.firstHour) cur.firstHour = p.hour;
            if (p.hour > cur.lastHour) cur.lastHour = p.hour;
          }
        }
        return [...byBasis.values()].sort((a, b) => a.basisId.localeCompare(b.basisId));
      });
    },

    /** Answers a filtered, grouped question over the archive; every query is audited with its purpose and the bases it read. */
    async queryFlows(ctx: RequestContext, input: FlowQuery): Promise<{ rows: Record<string, unknown>[]; bases: string[]; partitions: number }> {
      policy.require(ctx, 'flows:query');
      const q = parseOrThrow(FlowQuerySchema, input, 'flow query');
      const from = Date.parse(q.filters.from);
      const to = Date.parse(q.filters.to);
      const fromHour = hourOf(from);
      const toHour = hourOf(to - 1);
      const parts = partitions().filter((p) => p.hour >= fromHour && p.hour <= toHour && (q.filters.basisIds === undefined || q.filters.basisIds.includes(p.basis)));
      const bases = [...new Set(parts.map((p) => p.basis))].sort();
      const files = parts.flatMap((p) => readdirSync(p.dir).filter((f) => f.endsWith('.parquet')).map((f) => join(p.dir, f)));
      const where: string[] = ['start >= epoch_ms(CAST($1 AS BIGINT))', 'start < epoch_ms(CAST($2 AS BIGINT))'];
      const params: (string | number)[] = [from, to];
      const add = (sql: string, ...vals: (string | number)[]): void => {
        let s = sql;
        vals.forEach((v) => { params.push(v); s = s.replace('?', `$${params.length}`); });
        where.push(s);
      };
      const range = (text: string, what: string): [string, string] => {
        const p = parsePrefix(text);
        if (p === undefined) throw new AppError('VALIDATION_FAILED', `${what}: write an address or a prefix (a.b.c.d/len, x:y::/len).`);
        const base = p.family === 4 ? 0xffff_0000_0000n : 0n;
        return [(base + BigInt(p.start)).toString(), (base + BigInt(p.end)).toString()];
      };
      if (q.filters.foreignAddress !== undefined) { const [lo] = range(q.filters.foreignAddress, 'foreignAddress'); add('(src_num = CAST(? AS UHUGEINT) OR dst_num = CAST(? AS UHUGEINT))', lo, lo); }
      if (q.filters.foreignPrefix !== undefined) {
        const [lo, hi] = range(q.filters.foreignPrefix, 'foreignPrefix');
        add('(src_num BETWEEN CAST(? AS UHUGEINT) AND CAST(? AS UHUGEINT) OR dst_num BETWEEN CAST(? AS UHUGEINT) AND CAST(? AS UHUGEINT))', lo, hi, lo, hi);
      }
      if (q.filters.pseudonym !== undefined) add('(src_pseudonym = ? OR dst_pseudonym = ?)', q.filters.pseudonym, q.filters.pseudonym);
      if (q.filters.port !== undefined) add('(src_port = ? OR dst_port = ?)', q.filters.port, q.filters.port);
      if (q.filters.proto !== undefined) add('proto = ?', q.filters.proto);
      if (q.filters.category !== undefined) add('category = ?', q.filters.category);
      const filterHash = createHash('sha256').update(JSON.stringify(q.filters)).digest('hex');
      const event = { action: 'flows:query', object: { type: 'flow_archive', id: 'flows' }, legalBasis: bases.join(',').slice(0, 1000) || null };
      let rows: Record<string, unknown>[] = [];
      try {
        if (files.length > 0) {
          const source = `read_parquet([${files.map((f) => `'${f.replace(/'/g, "''")}'`).join(', ')}], hive_partitioning = true, union_by_name = true)`;
          const keys = q.groupBy.map((g) => `${GROUP_KEYS[g]} AS "${g}"`);
          const sql = keys.length > 0
            ? `SELECT ${keys.join(', ')}, count(*) AS flows, sum(bytes) AS bytes, sum(packets) AS packets, min(start) AS first, max(start) AS last FROM ${source} WHERE ${where.join(' AND ')} GROUP BY ALL ORDER BY flows DESC LIMIT ${q.limit}`
            : `SELECT * EXCLUDE (src_num, dst_num) FROM ${source} WHERE ${where.join(' AND ')} ORDER BY start LIMIT ${q.limit}`;
          rows = await serial(async () => (await engine()).all(sql, params));
        }
      } catch (e) {
        await audit.record(ctx, { ...event, outcome: 'failure', details: { purpose: q.purpose, bases: bases.join(','), filters: filterHash } });
        throw new AppError('INTERNAL', 'The flow query failed.', { cause: e });
      }
      await audit.record(ctx, { ...event, outcome: 'success', details: { purpose: q.purpose, bases: bases.join(','), filters: filterHash, groupBy: q.groupBy.join(','), rows: rows.length, partitions: parts.length } });
      return { rows, bases, partitions: parts.length };
    },
  };
}

/** The flow archive. */
export type FlowArchive = ReturnType<typeof createFlowArchive>;
