/** @module Seeds the demo world through the same services the API uses, so every seeded change is audited. */
import { systemContext } from '#platform/context/index.js';
import type { Core } from '#server/core.js';
import { DEMO_ORGS, DEMO_USERS } from './world.js';
import { seedOversight } from './oversight-seed.js';
import { seedSharing, type SharingSeed } from './sharing-seed.js';
import { seedResponse, type ResponseSeed } from './response-seed.js';
import { seedReporting, type ReportingSeed } from './reporting-seed.js';

/** What the seed created, for the banner. */
export interface SeedSummary {
  orgs: number;
  users: number;
  /** The released demo intelligence's TAXII collection. */
  sharing?: SharingSeed | undefined;
  /** The demo finding and the sinkhole proposed from it. */
  response?: ResponseSeed | undefined;
  /** The demo notification, a fresh incident report and an overdue one. */
  reporting?: ReportingSeed | undefined;
}

/** Creates the demo organizations and users. */
export async function seedDemo(core: Core): Promise<SeedSummary> {
  const ctx = systemContext('demo-seed');
  const orgIds = new Map<string, string>();
  for (const o of DEMO_ORGS) {
    const org = await core.identity.createOrg(ctx, { name: o.name, nameJa: o.nameJa, kind: o.kind, sectors: o.sectors as never });
    orgIds.set(o.name, org.id);
  }
  const users = new Map<string, Awaited<ReturnType<Core['identity']['createUser']>>>();
  for (const u of DEMO_USERS) {
    users.set(u.username, await core.identity.createUser(ctx, { username: u.username, displayName: u.displayName, password: u.password, roles: [u.role], orgId: orgIds.get(u.org) ?? null }));
  }
  // The commission's docket: one approved and one pending request, one emergency action awaiting review.
  await seedOversight(core, users);
  // Intelligence drafted by the analyst, released by the director to the finance sharing group.
  const sharing = await seedSharing(core, users);
  // A demo finding becomes a proposed sinkhole (docs/response.md walks it to the RPZ zone).
  const response = await seedResponse(core, users);
  // Designated operators in the registry; Kanto Electric notifies a computer and reports an incident; Tokai Gas is overdue.
  const reporting = await seedReporting(core, users);
  return { orgs: DEMO_ORGS.length, users: DEMO_USERS.length, sharing, response, reporting };
}
