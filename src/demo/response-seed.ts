/** @module Seeds the response demo: a beacon finding from analysis becomes a proposed DNS sinkhole, ready for submission, the commission's approval and police execution (docs/response.md). */
import { systemContext, type RequestContext } from '#platform/context/index.js';
import type { User } from '#modules/identity/index.js';
import type { Core } from '#server/core.js';
import { C2 } from './address-plan.js';

/** What the response seed created. */
export interface ResponseSeed {
  findingId: string;
  measureId: string;
}

/** Records the demo's beacon finding and has the analyst propose a police sinkhole of its C2 domains. */
export async function seedResponse(core: Core, users: Map<string, User>): Promise<ResponseSeed> {
  const u = users.get('analyst');
  if (u === undefined) throw new Error('demo user analyst missing');
  const analyst: RequestContext = { actor: { kind: 'user', id: u.id, username: u.username, roles: u.roles, orgId: u.orgId, sectors: [] }, requestId: 'demo-seed-response' };
  const now = core.clock.nowMs();
  const [findingId] = await core.analysis.recordFindings(systemContext('demo-seed'), [{
    kind: 'beacon', subject: { kind: 'address', value: C2 }, level: 'alert', score: 0.93,
    scoreDetail: { method: 'rita-beacon', components: { tsSkew: 0.97, tsMadm: 0.95, dsSkew: 0.9, connCount: 0.88 } },
    evidence: { intervalSeconds: 60, window: { from: new Date(now - 2 * 86_400_000).toISOString(), to: new Date(now - 600_000).toISOString() } },
    firstSeen: now - 2 * 86_400_000, lastSeen: now - 600_000, hosts: [], hostCount: 12, bases: [],
  }]);
  const measure = await core.response.proposeMeasure(analyst, {
    kind: 'dns_sinkhole',
    title: 'Sinkhole the C2 domains of campaign "Kumo"',
    target: { domains: ['update.kumo-c2.example', 'cdn.kumo-c2.example'] },
    // A domain has no address to locate, so the proposer declares where it is hosted (here: in Japan, so no MOFA consultation).
    targetCountry: 'JP',
    justification: { findings: [findingId!], reports: [], summary: `12 hosts of Kanto Electric beacon every 60 s to ${C2}, which these domains resolve to.` },
    expectedEffect: 'Infected hosts can no longer resolve their C2; the beacon finding goes quiet.',
  });
  return { findingId: findingId!, measureId: measure.id };
}
