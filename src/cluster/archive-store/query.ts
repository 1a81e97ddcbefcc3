/** @module Flow queries on an API replica: the partitions a query's time range and bases name are leased from the on-demand cache, then read as a single node reads its archive. */
import type { RequestContext } from '#platform/context/index.js';
import type { DuckDb } from '#platform/duckdb/index.js';
import { parseOrThrow } from '#platform/errors/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import { FlowQuerySchema, queryFlows, readsPortRollups, readsRollupsOnly, type FlowQuery, type FlowQueryResult } from '#modules/selection/index.js';
import type { ArchiveCache } from './cache.js';

const hourOf = (ms: number): string => new Date(ms).toISOString().slice(0, 13);

/**
 * `queryFlows` over the cluster's archive: only the flow files (and their rollups) of the hours and bases the query
 * names are fetched — only the rollups, where they answer the question whole — pinned for the read, and read through
 * the single node's query (same SQL, rollups, audit).
 * A query that needs more than the cache holds is refused with what to narrow (audited as a failure).
 * @see docs/decisions/0015-replica-cache-on-demand.md
 */
export function createReplicaQueries(deps: { cache: ArchiveCache; audit: AuditRecorder; policy: PolicyEngine; engine: () => Promise<DuckDb>; rollups?: boolean }) {
  return {
    async queryFlows(ctx: RequestContext, input: FlowQuery): Promise<FlowQueryResult> {
      deps.policy.require(ctx, 'flows:query');
      const q = parseOrThrow(FlowQuerySchema, input, 'flow query');
      const fromHour = hourOf(Date.parse(q.filters.from));
      const toHour = hourOf(Date.parse(q.filters.to) - 1);
      const bases = q.filters.basisIds;
      let lease;
      try {
        // A question the rollups answer over whole minutes needs no row: only the rollups of files that have one are fetched.
        const rollupsOnly = deps.rollups !== false && readsRollupsOnly(q);
        // A question by a covered port: a usable port rollup is fetched instead of the files it covers (decision 0016).
        const port = deps.rollups !== false ? readsPortRollups(q) : undefined;
        lease = await deps.cache.acquire((n) => n.hour >= fromHour && n.hour <= toHour && (bases === undefined || bases.includes(n.basis)),
          { rollupsOnly, ...(port !== undefined ? { port: { port, fromMs: Date.parse(q.filters.from), toMs: Date.parse(q.filters.to) } } : {}) });
      } catch (e) {
        await deps.audit.record(ctx, { action: 'flows:query', object: { type: 'flow_archive', id: 'flows' }, outcome: 'failure', details: { purpose: q.purpose, stage: 'archive cache' } });
        throw e;
      }
      try {
        const l = lease;
        return await queryFlows({ dir: l.dir, engine: deps.engine, audit: deps.audit, policy: deps.policy, files: (d) => l.flowFiles(d), ...(deps.rollups === false ? { rollups: false } : {}) }, ctx, q);
      } finally {
        lease.release();
      }
    },
  };
}
