/** @module Test fixtures for response: a core on a ManualClock, the people who act on measures, the commission's vote, and sample proposals. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '#platform/clock/index.js';
import type { RequestContext, Role } from '#platform/context/index.js';
import { newId } from '#platform/ids/index.js';
import { createTestCore } from '#server/test-support/harness.js';
import type { Core } from '#server/core.js';
import type { MeasureInput } from '../schema.js';

/** A person acting in a test: a context with the given roles. */
export function person(username: string, roles: Role[]): RequestContext {
  return { actor: { kind: 'user', id: newId(), username, roles, orgId: null, sectors: [] }, requestId: `test-${username}` };
}

/** Everyone who touches a measure. */
export function cast() {
  return {
    analyst: person('analyst', ['analyst']),
    director: person('director', ['nco_director']),
    police: person('police', ['police']),
    sdf: person('sdf', ['sdf']),
    pm: person('pm', ['prime_minister']),
    mofa: person('mofa', ['foreign_ministry']),
    operator: person('operator', ['operator']),
    council: person('council', ['council_member']),
    admin: person('admin', ['admin']),
    members: [person('chair', ['commissioner']), ...[1, 2, 3, 4].map((i) => person(`commissioner${i}`, ['commissioner']))],
  };
}

/** A core with every module wired, on a ManualClock. */
export async function responseCore(): Promise<{ core: Core; clock: ManualClock; people: ReturnType<typeof cast> }> {
  const clock = new ManualClock('2026-04-01T00:00:00.000Z');
  const core = await createTestCore({ clock, config: { dataDir: mkdtempSync(join(tmpdir(), 'mamori-response-')) } });
  return { core, clock, people: cast() };
}

/** The commission votes three times `vote` on `requestId` and the chair closes the vote. */
export async function commissionDecides(core: Core, people: ReturnType<typeof cast>, requestId: string, vote: 'approve' | 'deny' = 'approve'): Promise<void> {
  for (const m of people.members.slice(0, 3)) await core.oversight.castVote(m, requestId, { vote, reasons: `${vote}: the evidence and the proportionality were considered.` });
  await core.oversight.decideRequest(people.members[0]!, requestId, {});
}

const justification = { findings: ['finding-beacon-1'], reports: [], summary: 'Beaconing from 40 domestic hosts to this C2 every 60 s.' };

/** A police sinkhole of domains declared in `country` (default: abroad). */
export function sinkhole(domains = ['c2.bad.example'], country = 'US'): MeasureInput {
  return { kind: 'dns_sinkhole', title: 'Sinkhole the C2 domains of campaign X', target: { domains }, justification, expectedEffect: 'Infected hosts can no longer resolve their C2.', targetCountry: country };
}

/** A police block of prefixes (located by the locator). */
export function block(prefixes: string[], agency: 'police' | 'sdf' = 'police'): MeasureInput {
  return {
    kind: 'block', title: 'Block the C2 servers at the border', target: { prefixes }, justification, expectedEffect: 'No traffic reaches the C2 servers.', agency,
    ...(agency === 'sdf' ? { sdfGrounds: { graveTarget: { kind: 'specified_important_computer' as const, reference: 'SIC-2026-0042' }, attackerAssessment: 'state_backed' as const, reasons: 'Attribution report 2026-17.' } } : {}),
  };
}
