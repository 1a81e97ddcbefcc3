/** @module Test world for reporting: two electricity operators, a finance operator, METI and the FSA, each with a user and token. */
import { systemContext, type Role } from '#platform/context/index.js';
import type { Core } from '#server/core.js';

/** A user made for a test, with its bearer token. */
export interface TestUser {
  token: string;
  orgId: string;
  userId: string;
}

/** Creates an organization (if new) and a user of `role` in it. */
export async function addUser(core: Core, org: { name: string; kind: 'operator' | 'ministry'; sectors: string[] }, role: Role, username: string): Promise<TestUser> {
  const sys = systemContext('test');
  const existing = await core.identity.findOrgByName(sys, org.name);
  const orgId = existing?.id ?? (await core.identity.createOrg(sys, { name: org.name, kind: org.kind, sectors: org.sectors as never })).id;
  const user = await core.identity.createUser(sys, { username, displayName: username, password: `password for ${username}!`, roles: [role], orgId });
  const { token } = await core.identity.createToken(sys, { name: 'test', expiresInDays: 30 }, user.id);
  return { token, orgId, userId: user.id };
}

/** Designates an existing org as an operator of `sector`, subject to `regimes`. */
export async function designate(core: Core, orgId: string, sector: string, regimes: ('nis2' | 'circia')[] = []): Promise<void> {
  await core.registry.designate(systemContext('test'), { orgId, sector: sector as never, designatedOn: '2026-01-15', contacts: [{ name: 'SOC desk', email: 'soc@example.jp', phone: '+81 3 0000 0000' }], regimes });
}

/** The fields of a valid v1 computer notification. */
export function notificationFields(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    computerName: 'EMS control server', purpose: 'Energy management of the Kanto grid', location: 'Tokyo control centre', manufacturer: 'Example Corp', model: 'X-1000',
    operatingSystem: 'RHEL 9', software: ['SCADA suite 5.2'], networkAddresses: ['192.0.2.10'], externalConnection: 'closed_network', remoteMaintenance: false,
    introducedOn: '2026-03-01', responsibleDepartment: 'Grid IT', ...overrides,
  };
}

/** A valid initial incident report aware at `awareAt`. */
export function incidentBody(awareAt: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    awareAt,
    items: {
      category: 'malware', operatorOverview: 'Electricity transmission operator, 4,000 staff', summary: 'Beaconing from an engineering workstation to 203.0.113.45 and evil-c2[.]example',
      affectedComputer: { description: 'Engineering workstation EWS-3' }, technicalDetails: 'Dropper sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 contacted update.badcdn.example over 443/tcp; report.pdf attached',
      response: 'Isolated the workstation', other: '',
    },
    indicators: [{ kind: 'ipv4', value: '198.51.100.7' }],
    ...overrides,
  };
}
