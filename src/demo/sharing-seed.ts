/** @module Seeds the demo's sharing: a council member, a "Finance ISAC" sharing group, and intelligence drafted by the analyst and released by the director. */
import type { RequestContext, Role } from '#platform/context/index.js';
import type { Core } from '#server/core.js';
import { INTEL_SERVER, SCANNER } from './address-plan.js';

/** What the sharing seed made, for the banner. */
export interface SharingSeed {
  collectionId: string;
  groupName: string;
  objects: number;
}

type SeedUser = { id: string; username: string; roles: readonly Role[]; orgId: string | null };

function ctxOf(u: SeedUser): RequestContext {
  return { actor: { kind: 'user', id: u.id, username: u.username, roles: u.roles, orgId: u.orgId, sectors: [] }, requestId: `demo-seed-${u.username}` };
}

/** Creates the group, makes the demo bank a council member in it, drafts (analyst) and releases (director) intelligence. */
export async function seedSharing(core: Core, users: ReadonlyMap<string, SeedUser>): Promise<SharingSeed | undefined> {
  const analyst = users.get('analyst');
  const director = users.get('director');
  const council = users.get('council');
  if (analyst === undefined || director === undefined || council?.orgId == null) return undefined;
  const d = ctxOf(director);
  const group = await core.sharing.createGroup(d, { name: 'Finance ISAC', description: 'Council members of the finance sector and their service providers.' });
  await core.sharing.addCouncilMember(d, { orgId: council.orgId, clients: [] });
  await core.sharing.addGroupMember(d, group.id, { orgId: council.orgId, canRead: true, canWrite: true });
  const draft = await core.sharing.draftFromIndicators(ctxOf(analyst), {
    title: 'Beaconing C2 servers abroad contacted from finance-sector networks',
    description: 'Regular 60 s beacons to these servers were found in lawfully selected cross-border flows.',
    indicators: [{ kind: 'ipv4', value: INTEL_SERVER }, { kind: 'ipv4', value: SCANNER }, { kind: 'domain', value: 'update-check.example' }],
    tlp: 'amber', labels: ['c2', 'beaconing'], confidence: 75, sourceRef: { type: 'finding', id: 'demo-finding-beacon' },
  });
  await core.sharing.releaseDraft(d, draft.id, { groupIds: [group.id] });
  return { collectionId: group.id, groupName: group.name, objects: draft.objects.length };
}
