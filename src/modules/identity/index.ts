/** @module The identity module's public face: organizations, users, sessions, API tokens. */
export { createIdentityService, type IdentityService, type LoginClient, type LoginFailure, type LoginSuccess } from './service.js';
export { identityMigrations } from './migrations.js';
export { SECTORS, ORG_KINDS, type Sector, type Org, type User, type ApiToken, type OrgInput, type UserInput } from './schema.js';
export { hashPassword, verifyPassword, type PasswordCost } from './password.js';
export { identityRoutes, loginFailure, SESSION_COOKIE } from './routes.js';
export { createLoginThrottle, type LoginThrottle, type ThrottleScope } from './throttle.js';
