/** @module Seeds the commission's docket for the demo: an approved transit acquisition (now a legal basis), a pending measure request, and an emergency action awaiting review. */
import type { RequestContext } from '#platform/context/index.js';
import type { User } from '#modules/identity/index.js';
import type { Core } from '#server/core.js';
import { BLOCKED_HOST, FOREIGN_PREFIXES } from './address-plan.js';

/** What the oversight seed created. */
export interface OversightSeed {
  approvedRequestId: string;
  pendingRequestId: string;
  emergencyActionId: string;
}

function as(users: Map<string, User>, username: string): RequestContext {
  const u = users.get(username);
  if (u === undefined) throw new Error(`demo user ${username} missing`);
  return { actor: { kind: 'user', id: u.id, username: u.username, roles: u.roles, orgId: u.orgId, sectors: [] }, requestId: `demo-seed-${username}` };
}

/** Drafts, submits and decides through the service as the demo's people, so every step is audited and attributable. */
export async function seedOversight(core: Core, users: Map<string, User>): Promise<OversightSeed> {
  const o = core.oversight;
  const analyst = as(users, 'analyst');
  const director = as(users, 'director');
  const now = core.clock.nowMs();
  const day = 86_400_000;
  const approved = await o.draftRequest(analyst, {
    kind: 'acquisition',
    title: 'Transit flows to suspected C2 servers (campaign "Kumo")',
    evidence: [{ type: 'finding', id: 'demo-finding-beacon-1' }, { type: 'incident_report', id: 'demo-incident-kanto-electric' }],
    acquisition: {
      basisKind: 'transit_approval',
      selectors: { foreignPrefixes: [...FOREIGN_PREFIXES], ports: [443, 8443] },
      periodStart: new Date(now).toISOString(),
      periodEnd: new Date(now + 90 * day).toISOString(),
      purpose: 'Identify the servers commanding the botnet that attacked Kanto Electric Power.',
      retentionDays: 90,
    },
  });
  await o.submitRequest(director, approved.id);
  await o.castVote(as(users, 'chair'), approved.id, { vote: 'approve', reasons: 'Necessary: the campaign is ongoing; the selectors are specific.' });
  await o.castVote(as(users, 'commissioner1'), approved.id, { vote: 'approve', reasons: 'Proportionate if limited to port 443.' });
  await o.castVote(as(users, 'commissioner2'), approved.id, { vote: 'abstain', reasons: `Not enough evidence for ${FOREIGN_PREFIXES[1]}.` });
  await o.castVote(as(users, 'commissioner3'), approved.id, { vote: 'approve', reasons: 'Agree with the narrowing.' });
  await o.decideRequest(as(users, 'chair'), approved.id, {
    narrowing: { selectors: { foreignPrefixes: [FOREIGN_PREFIXES[0]], ports: [443] }, periodEnd: new Date(now + 60 * day).toISOString() },
    conditions: ['Report the findings to the commission every month.'],
  });

  const pending = await o.draftRequest(analyst, {
    kind: 'measure',
    title: 'DNS sinkhole for the campaign "Kumo" C2 domains',
    evidence: [{ type: 'finding', id: 'demo-finding-beacon-1' }],
    measure: { measureId: 'demo-measure-sinkhole-1', measureKind: 'dns_sinkhole', agency: 'police', summary: 'Sinkhole three C2 domains in the national RPZ.' },
  });
  await o.submitRequest(director, pending.id);
  await o.castVote(as(users, 'commissioner4'), pending.id, { vote: 'approve', reasons: 'The domains serve only the botnet.' });

  // A draft the analyst is still working on: the docket's "edit the draft" and the director's submit have one to act on.
  await o.draftRequest(analyst, {
    kind: 'acquisition',
    title: 'Cross-border flows to the "Kumo" relays abroad (draft)',
    evidence: [{ type: 'finding', id: 'demo-finding-beacon-1' }],
    acquisition: {
      basisKind: 'cross_border_approval',
      selectors: { foreignPrefixes: [FOREIGN_PREFIXES[0]], ports: [443] },
      periodStart: new Date(now + day).toISOString(),
      periodEnd: new Date(now + 60 * day).toISOString(),
      purpose: 'Find the relays the botnet uses between its C2 servers and the infected hosts.',
      retentionDays: 60,
    },
  });

  const emergency = await o.recordEmergencyAction(as(users, 'police'), {
    kind: 'measure',
    title: 'Block the DDoS controller attacking Haneda Airport Terminal',
    justification: 'The attack is in progress and the terminal systems are failing; waiting for the commission would cause grave harm.',
    evidence: [{ type: 'incident_report', id: 'demo-incident-haneda' }],
    measure: { measureId: 'demo-measure-block-1', measureKind: 'block', agency: 'police', summary: `Block ${BLOCKED_HOST}/32 at the border.` },
  });
  return { approvedRequestId: approved.id, pendingRequestId: pending.id, emergencyActionId: emergency.id };
}
