/** @module The request context every service call takes first, so every access is attributable (STYLE.md §3). */
import { newId } from '#platform/ids/index.js';

/** The roles of DESIGN.md; each user holds one or more. */
export const ROLES = [
  'operator', 'ministry', 'analyst', 'nco_director', 'commissioner', 'police', 'sdf',
  'prime_minister', 'foreign_ministry', 'council_member', 'admin',
] as const;

/** One role of DESIGN.md. */
export type Role = (typeof ROLES)[number];

/** True when `s` names a role. */
export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

/** Who acts: a signed-in user, a machine token, or the system itself (schedulers, the collector). */
export interface Actor {
  kind: 'user' | 'token' | 'system';
  /** User id, token id, or the system component's name. */
  id: string;
  /** The user's login name (for tokens, the owner's) — a reference, not personal data beyond the login. */
  username: string;
  roles: readonly Role[];
  orgId: string | null;
  /** Sectors the actor's organization belongs to or, for a ministry, supervises. */
  sectors: readonly string[];
  /** The owning user's id when `kind` is `token`. */
  userId?: string;
}

/** The context of one request or job. */
export interface RequestContext {
  actor: Actor;
  requestId: string;
  /** The legal basis the caller acts under, when one applies (e.g. a basis id for a flow query). */
  legalBasis?: string;
  /** Why the caller acts, when the action needs a stated purpose. */
  purpose?: string;
}

/** A context for work the system does by itself (migrations, schedulers, the demo seed). */
export function systemContext(component: string, requestId: string = newId()): RequestContext {
  return { actor: { kind: 'system', id: component, username: `system:${component}`, roles: [], orgId: null, sectors: [] }, requestId };
}
