/** @module Who may call each route: the expected answer for every role, checked against the running app by a test. */
import { ROLES, type Role } from '#platform/context/index.js';

/** `public`: anyone; `signed-in`: every role; otherwise the roles allowed. */
export type RouteExpectation = 'public' | 'signed-in' | readonly Role[];

const ALL: readonly Role[] = ROLES;

/**
 * The table the role × route test checks. Every registered route must appear here, so a new route
 * cannot be added without deciding who may call it.
 */
export const ROUTE_MATRIX: Record<string, RouteExpectation> = {
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /metrics': 'public',
  'GET /api/v1/version': 'public',
  'GET /api/v1/policy': 'public',
  'GET /api/v1/config': ['admin'],
  'POST /api/v1/auth/login': 'public',
  'POST /api/v1/auth/logout': 'public',
  'GET /api/v1/auth/me': ALL,
  'GET /api/v1/users': ['admin'],
  'POST /api/v1/users': ['admin'],
  'POST /api/v1/users/:id/disable': ['admin'],
  'GET /api/v1/orgs': ['admin'],
  'POST /api/v1/orgs': ['admin'],
  'GET /api/v1/tokens': 'signed-in',
  'POST /api/v1/tokens': 'signed-in',
  'DELETE /api/v1/tokens/:id': 'signed-in',
  'GET /api/v1/audit/checkpoint': 'public',
  'GET /api/v1/audit/keys': 'public',
  'GET /api/v1/audit/entries': ALL,
  'GET /api/v1/audit/proofs/inclusion': 'public',
  'GET /api/v1/audit/proofs/consistency': 'public',
  'GET /api/v1/findings': ['analyst', 'nco_director', 'commissioner'],
  'GET /api/v1/findings/:id': ['analyst', 'nco_director', 'commissioner'],
  'GET /api/v1/cases': ['analyst', 'nco_director', 'commissioner'],
  'POST /api/v1/cases': ['analyst', 'nco_director'],
  'GET /api/v1/cases/:id': ['analyst', 'nco_director', 'commissioner'],
  'PATCH /api/v1/cases/:id': ['analyst', 'nco_director'],
  'POST /api/v1/cases/:id/items': ['analyst', 'nco_director'],
  'POST /api/v1/cases/:id/notes': ['analyst', 'nco_director'],
  'GET /api/v1/legal-bases': ['analyst', 'nco_director', 'commissioner'],
  'GET /api/v1/legal-bases/:id': ['analyst', 'nco_director', 'commissioner'],
  'POST /api/v1/legal-bases': ['nco_director'],
  'POST /api/v1/legal-bases/:id/revoke': ['nco_director', 'commissioner'],
  'GET /api/v1/selection/counters': ['analyst', 'commissioner'],
  'POST /api/v1/flows/query': ['analyst'],
  // Oversight: NCO drafts and submits, the commission votes, decides, inspects and reports; police and the NCO director may act first.
  'GET /api/v1/oversight/requests': ['analyst', 'nco_director', 'commissioner'],
  'POST /api/v1/oversight/requests': ['analyst', 'nco_director'],
  'GET /api/v1/oversight/requests/:id': ['analyst', 'nco_director', 'commissioner'],
  'POST /api/v1/oversight/requests/:id/submit': ['nco_director'],
  'POST /api/v1/oversight/requests/:id/withdraw': ['nco_director'],
  'POST /api/v1/oversight/requests/:id/conflicts': ['commissioner'],
  'POST /api/v1/oversight/requests/:id/votes': ['commissioner'],
  'POST /api/v1/oversight/requests/:id/decision': ['commissioner'],
  'GET /api/v1/oversight/approvals': ['analyst', 'nco_director', 'commissioner', 'police', 'sdf'],
  'GET /api/v1/oversight/approvals/:id': ['analyst', 'nco_director', 'commissioner', 'police', 'sdf'],
  'POST /api/v1/oversight/approvals/:id/revoke': ['commissioner'],
  'GET /api/v1/oversight/emergency-actions': ['analyst', 'nco_director', 'commissioner', 'police'],
  'POST /api/v1/oversight/emergency-actions': ['nco_director', 'police'],
  'GET /api/v1/oversight/inspection/inventory': ['commissioner'],
  'GET /api/v1/oversight/inspection/reads': ['commissioner'],
  'GET /api/v1/oversight/diet-report': ['commissioner'],
};
