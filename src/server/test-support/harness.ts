/** @module Test harness: a core on a fresh database (SQLite in memory, or PostgreSQL from MAMORI_TEST_DATABASE_URL), users of every role, the app. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, type Clock } from '#platform/clock/index.js';
import { parseConfig, type Config, type ConfigInput } from '#platform/config/index.js';
import { ROLES, systemContext, type RequestContext, type Role } from '#platform/context/index.js';
import type { Logger } from '#platform/logger/index.js';
import { createCore, type Core } from '../core.js';
import { buildApp, type App } from '../app.js';

/** Fast scrypt for tests: the production cost is tested separately. */
export const TEST_PASSWORD_COST = { logN: 10, r: 8, p: 1 };

/** A fresh core on `url` (default: SQLite in memory). */
export async function createTestCore(options: { url?: string; clock?: Clock; config?: ConfigInput; logger?: Logger } = {}): Promise<Core & { clock: Clock }> {
  // A fresh data directory per core: the audit log key and its last-signed state live there, and a
  // state left by an earlier run would (rightly) refuse to sign for a new in-memory database.
  const dataDir = options.config?.dataDir ?? mkdtempSync(join(tmpdir(), 'mamori-test-'));
  // Test data directories are temporary: the keystore's key-encryption key may live in them (demo and tests only).
  const config: Config = parseConfig({ ...(options.config ?? {}), selection: { kekBesideData: true, ...(options.config?.selection ?? {}) }, dataDir, database: { url: options.url ?? ':memory:' }, auth: { cookieSecure: false, ...(options.config?.auth ?? {}) } });
  const clock = options.clock ?? new ManualClock('2026-04-01T00:00:00.000Z');
  const core = await createCore(config, { clock, passwordCost: TEST_PASSWORD_COST, ...(options.logger !== undefined ? { logger: options.logger } : {}) });
  return core as Core & { clock: Clock };
}

/** One user of each role, with a bearer token, in an organization of the fitting kind. */
export interface RoleUsers {
  tokens: Record<Role, string>;
  ctx: Record<Role, RequestContext>;
  orgs: Record<string, string>;
}

const ORG_FOR_ROLE: Record<Role, { name: string; kind: 'operator' | 'ministry' | 'nco' | 'commission' | 'police' | 'sdf' | 'cabinet' | 'mofa' | 'council_member' | 'system_operator'; sectors: string[] }> = {
  operator: { name: 'Test Electric Power Co.', kind: 'operator', sectors: ['electricity'] },
  ministry: { name: 'Ministry of Economy, Trade and Industry', kind: 'ministry', sectors: ['electricity', 'gas', 'oil'] },
  analyst: { name: 'National Cybersecurity Office', kind: 'nco', sectors: [] },
  nco_director: { name: 'National Cybersecurity Office', kind: 'nco', sectors: [] },
  commissioner: { name: 'Cyber Communications Information Supervisory Commission', kind: 'commission', sectors: [] },
  police: { name: 'National Police Agency', kind: 'police', sectors: [] },
  sdf: { name: 'JSDF Cyber Defense Command', kind: 'sdf', sectors: [] },
  prime_minister: { name: 'Cabinet Office', kind: 'cabinet', sectors: [] },
  foreign_ministry: { name: 'Ministry of Foreign Affairs', kind: 'mofa', sectors: [] },
  council_member: { name: 'Council Member Bank', kind: 'council_member', sectors: ['finance'] },
  admin: { name: 'System Operations', kind: 'system_operator', sectors: [] },
};

/** Creates one user per role (username = role) and a bearer token for each. */
export async function seedRoleUsers(core: Core): Promise<RoleUsers> {
  const sys = systemContext('test');
  const orgs: Record<string, string> = {};
  const tokens = {} as Record<Role, string>;
  const ctx = {} as Record<Role, RequestContext>;
  for (const role of ROLES) {
    const o = ORG_FOR_ROLE[role];
    if (orgs[o.name] === undefined) orgs[o.name] = (await core.identity.createOrg(sys, { name: o.name, kind: o.kind, sectors: o.sectors as never })).id;
    const user = await core.identity.createUser(sys, { username: role.replace(/_/g, '-'), displayName: `Test ${role}`, password: `correct horse ${role} battery`, roles: [role], orgId: orgs[o.name]! });
    const { token } = await core.identity.createToken(sys, { name: 'test', expiresInDays: 30 }, user.id);
    tokens[role] = token;
    const actor = await core.identity.authenticateToken(token);
    ctx[role] = { actor: actor!, requestId: `test-${role}` };
  }
  return { tokens, ctx, orgs };
}

/** A core, its app and a user of every role. */
export async function createTestApp(options: { url?: string; clock?: Clock; config?: ConfigInput } = {}): Promise<{ core: Core; app: App; users: RoleUsers; close(): Promise<void> }> {
  const core = await createTestCore(options);
  const app = await buildApp(core);
  const users = await seedRoleUsers(core);
  return { core, app, users, close: async () => { await app.fastify.close(); await core.close(); } };
}
