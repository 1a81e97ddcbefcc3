// Which screens each role sees, in the order of its work. The server decides access; this only avoids dead links.
import type { MessageKey } from './i18n/index.js';
import { hasRole, type Actor, type Role } from './lib/session.js';

export interface NavItem {
  to: string;
  label: MessageKey;
  hint: MessageKey;
  roles: Role[] | 'all';
}

export const NAV: NavItem[] = [
  { to: '/app', label: 'nav.home', hint: 'nav.home.hint', roles: 'all' },
  { to: '/app/incidents', label: 'nav.incidents', hint: 'nav.incidents.hint', roles: ['operator', 'ministry', 'analyst', 'nco_director'] },
  { to: '/app/incidents/new', label: 'nav.fileIncident', hint: 'nav.fileIncident.hint', roles: ['operator'] },
  { to: '/app/notifications', label: 'nav.notifications', hint: 'nav.notifications.hint', roles: ['operator', 'ministry'] },
  { to: '/app/inbox', label: 'nav.inbox', hint: 'nav.inbox.hint', roles: ['operator', 'ministry', 'analyst', 'nco_director'] },
  { to: '/app/findings', label: 'nav.findings', hint: 'nav.findings.hint', roles: ['analyst', 'nco_director', 'commissioner'] },
  { to: '/app/cases', label: 'nav.cases', hint: 'nav.cases.hint', roles: ['analyst', 'nco_director', 'commissioner'] },
  { to: '/app/drafts', label: 'nav.drafts', hint: 'nav.drafts.hint', roles: ['analyst', 'nco_director', 'commissioner'] },
  { to: '/app/flows', label: 'nav.flows', hint: 'nav.flows.hint', roles: ['analyst'] },
  { to: '/app/counters', label: 'nav.counters', hint: 'nav.counters.hint', roles: ['analyst', 'commissioner'] },
  { to: '/app/measures', label: 'nav.measures', hint: 'nav.measures.hint', roles: ['analyst', 'nco_director', 'commissioner', 'police', 'sdf', 'prime_minister', 'foreign_ministry'] },
  { to: '/app/requests', label: 'nav.requests', hint: 'nav.requests.hint', roles: ['analyst', 'nco_director', 'commissioner'] },
  { to: '/app/requests/new', label: 'nav.newRequest', hint: 'nav.newRequest.hint', roles: ['analyst', 'nco_director'] },
  { to: '/app/approvals', label: 'nav.approvals', hint: 'nav.approvals.hint', roles: ['commissioner', 'nco_director', 'analyst', 'police', 'sdf'] },
  { to: '/app/emergency', label: 'nav.emergency', hint: 'nav.emergency.hint', roles: ['commissioner', 'nco_director', 'analyst', 'police'] },
  { to: '/app/inspection', label: 'nav.inspection', hint: 'nav.inspection.hint', roles: ['commissioner'] },
  { to: '/app/diet-report', label: 'nav.diet', hint: 'nav.diet.hint', roles: ['commissioner'] },
  { to: '/app/audit', label: 'nav.audit', hint: 'nav.audit.hint', roles: ['commissioner'] },
  { to: '/app/recalls', label: 'nav.recalls', hint: 'nav.recalls.hint', roles: ['council_member', 'analyst', 'nco_director', 'commissioner'] },
  { to: '/app/intel', label: 'nav.intel', hint: 'nav.intel.hint', roles: ['council_member', 'operator', 'ministry', 'analyst', 'nco_director', 'police', 'sdf'] },
  { to: '/app/artifacts', label: 'nav.artifacts', hint: 'nav.artifacts.hint', roles: ['police', 'sdf', 'analyst', 'nco_director', 'commissioner', 'operator'] },
  { to: '/app/transparency', label: 'nav.transparency', hint: 'nav.transparency.hint', roles: 'all' },
];

export function navFor(actor: Actor): NavItem[] {
  return NAV.filter((n) => n.roles === 'all' || hasRole(actor, ...n.roles));
}

/** The menu's groups, by task: the screens of each, in the order of the work. */
export const NAV_GROUPS: { id: string; label: MessageKey; items: readonly string[] }[] = [
  { id: 'reports', label: 'navg.reports', items: ['/app/incidents', '/app/incidents/new', '/app/notifications', '/app/inbox'] },
  { id: 'analysis', label: 'navg.analysis', items: ['/app/findings', '/app/cases', '/app/drafts', '/app/flows', '/app/counters'] },
  { id: 'response', label: 'navg.response', items: ['/app/measures', '/app/artifacts'] },
  { id: 'oversight', label: 'navg.oversight', items: ['/app/requests', '/app/requests/new', '/app/approvals', '/app/emergency', '/app/inspection', '/app/diet-report', '/app/audit'] },
  { id: 'sharing', label: 'navg.sharing', items: ['/app/intel', '/app/recalls', '/app/transparency'] },
];

/** A role's menu: the home link, then each group with the screens the role has (a group of one screen is that screen's link). */
export function menuFor(actor: Actor): { home: NavItem; groups: { id: string; label: MessageKey; items: NavItem[] }[] } {
  const mine = new Map(navFor(actor).map((n) => [n.to, n]));
  const grouped = new Set(NAV_GROUPS.flatMap((g) => g.items));
  // A screen no group names yet still shows, as a link of its own, rather than vanishing from the menu.
  const loose = [...mine.values()].filter((n) => n.to !== NAV[0]!.to && !grouped.has(n.to)).map((n) => ({ id: n.to, label: n.label, items: [n] }));
  return {
    home: NAV[0]!,
    groups: [...NAV_GROUPS.map((g) => ({ id: g.id, label: g.label, items: g.items.flatMap((to) => mine.get(to) ?? []) })).filter((g) => g.items.length > 0), ...loose],
  };
}
