/** @module Demo reporting: designated operators in the registry, a computer notification, a fresh incident report and one overdue report escalated to METI. */
import { isoUtc } from '#platform/clock/index.js';
import { systemContext, type RequestContext } from '#platform/context/index.js';
import type { User } from '#modules/identity/index.js';
import type { Core } from '#server/core.js';
import { KANTO_SERVERS, OPERATOR_EXPORTERS, OPERATOR_RANGES, REPORTED_C2 } from './address-plan.js';

/** What the reporting seed filed. */
export interface ReportingSeed {
  notificationId: string;
  incidentId: string;
  overdueIncidentId: string;
}

// Ranges and exporters come from the demo's one address plan, so they never fall in the attackers' blocks.
const DESIGNATIONS: { org: string; sector: string; designatedOn: string; contact: string; regimes?: ('nis2' | 'circia')[] }[] = [
  { org: 'Kanto Electric Power Co.', sector: 'electricity', designatedOn: '2026-01-15', contact: 'soc@kanto-electric.example' },
  { org: 'Tokai City Gas Co.', sector: 'gas', designatedOn: '2026-01-15', contact: 'csirt@tokai-gas.example', regimes: ['nis2'] },
  { org: 'Nishi-Nihon Railway Co.', sector: 'railway', designatedOn: '2026-02-01', contact: 'it-security@nishi-rail.example' },
  { org: 'Nippon Telecom Corp.', sector: 'telecommunications', designatedOn: '2026-01-20', contact: 'noc@nippon-telecom.example' },
  { org: 'Sakura Bank Ltd.', sector: 'finance', designatedOn: '2026-02-10', contact: 'secops@sakura-bank.example', regimes: ['circia'] },
  { org: 'Haneda Airport Terminal Co.', sector: 'airport', designatedOn: '2026-03-01', contact: 'soc@haneda-terminal.example' },
];

function operatorCtx(core: Core, u: User, sector: string): RequestContext {
  return { actor: { kind: 'user', id: u.id, username: u.username, roles: u.roles, orgId: u.orgId, sectors: [sector] }, requestId: `demo-seed-${u.username}-${core.clock.nowMs()}` };
}

/** Registers the demo operators and files their notification and incidents through the reporting service. */
export async function seedReporting(core: Core, users: Map<string, User>): Promise<ReportingSeed> {
  const sys = systemContext('demo-seed');
  const orgs = await core.identity.listOrgs(sys);
  for (const d of DESIGNATIONS) {
    const org = orgs.find((o) => o.name === d.org);
    if (org === undefined) continue;
    await core.registry.designate(sys, { orgId: org.id, sector: d.sector as never, designatedOn: d.designatedOn, contacts: [{ name: 'Security operations', email: d.contact }], regimes: d.regimes ?? [] });
    for (const cidr of OPERATOR_RANGES[d.org] ?? []) await core.registry.addRange(sys, org.id, { cidr });
    const exporter = OPERATOR_EXPORTERS[d.org];
    if (exporter !== undefined) await core.registry.addExporter(sys, org.id, { address: exporter[0], observationDomain: exporter[1] });
  }
  const kanto = users.get('operator')!;
  const op = operatorCtx(core, kanto, 'electricity');
  const { notification } = await core.reporting.fileNotification(op, {
    form: 'computer-notification', formVersion: 1,
    fields: {
      computerName: '給電指令システム (EMS)', purpose: 'Load dispatch for the Kanto grid', location: 'Tokyo central dispatch centre', manufacturer: 'Example Systems K.K.', model: 'EMS-9000',
      operatingSystem: 'Red Hat Enterprise Linux 9', software: ['SCADA suite 5.2', 'Historian 3.1'], networkAddresses: [...KANTO_SERVERS], externalConnection: 'closed_network',
      remoteMaintenance: true, maintenanceVendor: 'Example Maintenance Co.', introducedOn: '2026-02-01', responsibleDepartment: 'Grid Operations IT',
    },
  });
  const now = core.clock.nowMs();
  const { report } = await core.reporting.fileIncident(op, {
    awareAt: isoUtc(now - 2 * 3_600_000),
    items: {
      category: 'malware', operatorOverview: 'Electricity transmission and distribution in the Kanto region; 12,000 staff.',
      summary: `An engineering workstation beaconed every 60 s to ${REPORTED_C2} (hxxp://update-check[.]example/api) after a USB-borne dropper ran.`,
      affectedComputer: { computerId: notification.computerId, description: 'Engineering workstation attached to the EMS maintenance network' },
      technicalDetails: 'Dropper SHA-256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08; C2 update-check.example over 443/tcp; no lateral movement seen so far.',
      response: 'Workstation isolated, USB ports locked on the maintenance network, credentials rotated.', other: '',
    },
    indicators: [{ kind: 'ipv4', value: REPORTED_C2 }],
  });
  // Tokai City Gas became aware 35 days ago and has not filed its written report: overdue, escalated to METI and the NCO.
  const gas = operatorCtx(core, users.get('operator-gas')!, 'gas');
  const { report: overdue } = await core.reporting.fileIncident(gas, {
    awareAt: isoUtc(now - 35 * 86_400_000),
    items: {
      category: 'denial_of_service', operatorOverview: 'City gas supply in the Tokai region.',
      summary: 'Customer portal unreachable for 3 hours under a UDP reflection flood from many sources.',
      affectedComputer: { description: 'Customer portal front-end servers' }, technicalDetails: 'Peak 40 Gbit/s, NTP and memcached reflection.', response: 'Upstream scrubbing enabled.', other: '',
    },
  });
  await core.reporting.sweep(sys);
  return { notificationId: notification.id, incidentId: report.id, overdueIncidentId: overdue.id };
}
