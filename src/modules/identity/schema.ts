/** @module Identity's data shapes (zod is the single source of their types): organizations, users, tokens, logins. */
import { z } from 'zod';
import { ROLES } from '#platform/context/index.js';

/** The 15 sectors of designated critical-infrastructure operators. */
export const SECTORS = [
  'electricity', 'gas', 'water', 'railway', 'trucking', 'aviation', 'airport', 'ocean_shipping', 'port',
  'oil', 'telecommunications', 'broadcasting', 'postal', 'finance', 'credit_card',
] as const;

/** One sector identifier. */
export type Sector = (typeof SECTORS)[number];

/** What kind of body an organization is. */
export const ORG_KINDS = ['operator', 'ministry', 'nco', 'commission', 'police', 'sdf', 'cabinet', 'mofa', 'council_member', 'system_operator'] as const;

export const RoleSchema = z.enum(ROLES);

export const UsernameSchema = z
  .string()
  .min(3, 'must be at least 3 characters')
  .max(64, 'must be at most 64 characters')
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'use lower-case letters, digits, ".", "_" or "-", starting with a letter or digit')
  // Administrators name users by id or username; a username shaped like an id would make that ambiguous.
  .refine((s) => !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(s), 'must not have the shape of a user id (a UUID)');

/** Passwords: long enough to resist guessing; no composition rules (NIST SP 800-63B §5.1.1.2). */
export const PasswordSchema = z.string().min(12, 'must be at least 12 characters').max(256, 'must be at most 256 characters');

export const OrgInputSchema = z
  .object({
    name: z.string().min(1).max(200),
    nameJa: z.string().min(1).max(200).optional(),
    kind: z.enum(ORG_KINDS),
    sectors: z.array(z.enum(SECTORS)).max(SECTORS.length).default([]),
  })
  .strict();
export type OrgInput = z.input<typeof OrgInputSchema>;

export const UserInputSchema = z
  .object({
    username: UsernameSchema,
    displayName: z.string().min(1).max(200),
    password: PasswordSchema,
    roles: z.array(RoleSchema).min(1, 'give the user at least one role').max(ROLES.length),
    orgId: z.string().uuid().nullable().default(null),
  })
  .strict();
export type UserInput = z.input<typeof UserInputSchema>;

export const LoginSchema = z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(256) }).strict();

export const TokenInputSchema = z
  .object({
    name: z.string().min(1).max(100),
    roles: z.array(RoleSchema).min(1).max(ROLES.length).optional(),
    expiresInDays: z.number().int().min(1).max(3650).default(90),
  })
  .strict();
export type TokenInput = z.input<typeof TokenInputSchema>;

/** An organization as returned by the API. */
export interface Org {
  id: string;
  name: string;
  nameJa: string | null;
  kind: (typeof ORG_KINDS)[number];
  sectors: Sector[];
  createdAt: string;
}

/** A user as returned by the API: never the password hash. */
export interface User {
  id: string;
  username: string;
  displayName: string;
  roles: z.infer<typeof RoleSchema>[];
  orgId: string | null;
  disabled: boolean;
  createdAt: string;
  lastLoginAt: string | null;
}

/** An API token's metadata; the secret is shown once, at creation. */
export interface ApiToken {
  id: string;
  userId: string;
  name: string;
  roles: z.infer<typeof RoleSchema>[];
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}
