/**
 * @module What sharing knows about an indicator value and how members saw it: the indicator rows (any source)
 * for an entity page, and the sighting history of one indicator as its reader may see it. Both reads are audited.
 */
import type { RequestContext } from '#platform/context/index.js';
import type { Database } from '#platform/db/index.js';
import type { PolicyEngine } from '#platform/policy/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';

/** One indicator row: where it came from and how sure we are. */
export interface IndicatorFact {
  kind: string;
  value: string;
  sourceType: string;
  stixId: string | null;
  confidence: number;
  firstSeen: string;
  lastSeen: string;
  validUntil: string | null;
}

/** One sighting report; the reporting organization is named only to NCO readers and to the reporter's own organization. */
export interface SightingFact {
  at: string;
  outcome: 'confirmed' | 'false_positive';
  count: number;
  confidenceBefore: number;
  confidenceAfter: number;
  reporterOrg: string | null;
  ownOrg: boolean;
}

/** What the activity reads need from the sharing service. */
export interface ActivityDeps {
  db: Database;
  policy: PolicyEngine;
  audit: AuditRecorder;
  /** The caller's organization and whether it is the NCO. */
  recipient: (ctx: RequestContext) => Promise<{ orgId: string | null; isNco: boolean }>;
  /** The canonical id of an indicator id as the caller's copy names it. */
  canonicalId: (ctx: RequestContext, id: string) => Promise<string>;
  orgName: (orgId: string) => Promise<string | null>;
}

/** Creates the two reads. @see docs/sharing.md "Sightings" */
export function createIntelActivity(deps: ActivityDeps) {
  const k = deps.db.kysely;

  async function sightings(ctx: RequestContext, canonicalIds: readonly string[]): Promise<(SightingFact & { indicatorId: string })[]> {
    if (canonicalIds.length === 0) return [];
    const me = await deps.recipient(ctx);
    const rows = (await k.selectFrom('sharing_sightings').selectAll().where('indicator_id', 'in', [...canonicalIds]).orderBy('at', 'desc').limit(500).execute()) as {
      indicator_id: string; reporter_org_id: string | null; outcome: string; count: number | string; confidence_before: number | string; confidence_after: number | string; at: string;
    }[];
    return Promise.all(rows.map(async (r) => {
      const own = r.reporter_org_id !== null && r.reporter_org_id === me.orgId;
      return {
        indicatorId: r.indicator_id, at: r.at, outcome: r.outcome as SightingFact['outcome'], count: Number(r.count),
        confidenceBefore: Number(r.confidence_before), confidenceAfter: Number(r.confidence_after),
        // Which member saw an attack is that member's business: others learn that it was seen, not by whom.
        reporterOrg: (own || me.isNco) && r.reporter_org_id !== null ? await deps.orgName(r.reporter_org_id) : null,
        ownOrg: own,
      };
    }));
  }

  return {
    /** The sighting history of one indicator, named by the caller's own id of it; audited. */
    async sightingsOf(ctx: RequestContext, indicatorId: string): Promise<SightingFact[]> {
      deps.policy.require(ctx, 'intel:read');
      const canonical = await deps.canonicalId(ctx, indicatorId);
      const list = await sightings(ctx, [canonical]);
      await deps.audit.record(ctx, { action: 'intel:read', object: { type: 'indicator', id: canonical }, outcome: 'success', details: { view: 'sightings', count: list.length } });
      return list.map(({ indicatorId: _, ...s }) => s);
    },

    /** Indicator rows whose value is one of `values`, with the sightings of their STIX indicators (NCO and commission); audited. */
    async intelAbout(ctx: RequestContext, values: readonly string[]): Promise<{ indicators: IndicatorFact[]; sightings: (SightingFact & { indicatorId: string })[] }> {
      deps.policy.require(ctx, 'intel:read');
      if (values.length === 0) return { indicators: [], sightings: [] };
      const rows = (await k.selectFrom('indicators').selectAll().where('value', 'in', [...values]).orderBy('last_seen', 'desc').limit(200).execute()) as {
        kind: string; value: string; source_type: string; stix_id: string | null; confidence: number | string; first_seen: string; last_seen: string; valid_until: string | null;
      }[];
      const indicators = rows.map((r) => ({
        kind: r.kind, value: r.value, sourceType: r.source_type, stixId: r.stix_id, confidence: Number(r.confidence), firstSeen: r.first_seen, lastSeen: r.last_seen, validUntil: r.valid_until,
      }));
      const seen = await sightings(ctx, [...new Set(indicators.flatMap((i) => (i.stixId === null ? [] : [i.stixId])))]);
      await deps.audit.record(ctx, { action: 'intel:read', object: { type: 'indicators', id: 'entity' }, outcome: 'success', details: { view: 'entity', indicators: indicators.length, sightings: seen.length } });
      return { indicators, sightings: seen };
    },
  };
}

/** The intel activity reads. */
export type IntelActivity = ReturnType<typeof createIntelActivity>;
