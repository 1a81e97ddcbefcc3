/** @module TLP 2.0 enforcement: the ONE function that decides whether a recipient may receive an object, used on every path out (API, TAXII, export, UI). */
import { TLP_LEVELS, type TlpLevel } from './stix/index.js';

/** Organization kinds that count as government: the public side of the council's community. @see TLP 2.0 (FIRST) "community" */
export const GOVERNMENT_ORG_KINDS: readonly string[] = ['ministry', 'nco', 'commission', 'police', 'sdf', 'cabinet', 'mofa'];

/** Who would receive: a person, their organization and its standing in the council. @see TLP 2.0 (FIRST) */
export interface Recipient {
  userId: string;
  orgId: string | null;
  orgKind: string | null;
  /** The recipient's organization is a council member (listed, or of kind council_member). */
  councilMember: boolean;
}

/** To whom an object was disseminated: the member organizations of its sharing groups, their clients, named people for RED. @see TLP 2.0 (FIRST) */
export interface Audience {
  /** The organization that originated the object (it always reads its own intelligence). */
  originOrgId: string | null;
  /** Member organizations of the sharing group(s) the object was shared to. */
  memberOrgIds: ReadonlySet<string>;
  /** Clients of those member organizations (AMBER reaches them, AMBER+STRICT does not). */
  clientOrgIds: ReadonlySet<string>;
  /** For RED: the user ids of the named people. */
  redRecipients: readonly string[];
}

/** Why an object may or may not go to a recipient. */
export type ReleaseDecision =
  | { allowed: true; reason: 'ORIGINATOR' | 'TLP_CLEAR' | 'TLP_GREEN_COMMUNITY' | 'TLP_AMBER_ORG' | 'TLP_AMBER_CLIENT' | 'TLP_AMBER_STRICT_ORG' | 'TLP_RED_NAMED' }
  | { allowed: false; reason: 'NOT_IN_COMMUNITY' | 'NOT_RECIPIENT_ORG' | 'NOT_NAMED' | 'UNKNOWN_MARKING' };

/** The level assumed for an object that carries no TLP marking: AMBER, so unmarked intelligence never spreads wider than its group. */
export const DEFAULT_TLP: TlpLevel = 'amber';

/**
 * Decides whether `recipient` may receive an object marked `tlp` that was shared to `audience`:
 * CLEAR everyone; GREEN the community (council members and government); AMBER the recipient
 * organizations and their clients; AMBER+STRICT the organizations only; RED only named people.
 * The originating organization always may. Every path out calls this function and no other.
 * @see TLP 2.0 (FIRST) definitions; DESIGN.md invariant 9
 */
export function mayReceive(recipient: Recipient, tlp: TlpLevel | undefined, audience: Audience): ReleaseDecision {
  const level = tlp ?? DEFAULT_TLP;
  if (!TLP_LEVELS.includes(level)) return { allowed: false, reason: 'UNKNOWN_MARKING' };
  if (recipient.orgId !== null && recipient.orgId === audience.originOrgId) return { allowed: true, reason: 'ORIGINATOR' };
  const org = recipient.orgId;
  switch (level) {
    case 'clear':
      return { allowed: true, reason: 'TLP_CLEAR' };
    case 'green':
      return recipient.councilMember || (recipient.orgKind !== null && GOVERNMENT_ORG_KINDS.includes(recipient.orgKind))
        ? { allowed: true, reason: 'TLP_GREEN_COMMUNITY' }
        : { allowed: false, reason: 'NOT_IN_COMMUNITY' };
    case 'amber':
      if (org !== null && audience.memberOrgIds.has(org)) return { allowed: true, reason: 'TLP_AMBER_ORG' };
      if (org !== null && audience.clientOrgIds.has(org)) return { allowed: true, reason: 'TLP_AMBER_CLIENT' };
      return { allowed: false, reason: 'NOT_RECIPIENT_ORG' };
    case 'amber+strict':
      return org !== null && audience.memberOrgIds.has(org) ? { allowed: true, reason: 'TLP_AMBER_STRICT_ORG' } : { allowed: false, reason: 'NOT_RECIPIENT_ORG' };
    case 'red':
      return audience.redRecipients.includes(recipient.userId) ? { allowed: true, reason: 'TLP_RED_NAMED' } : { allowed: false, reason: 'NOT_NAMED' };
  }
}
