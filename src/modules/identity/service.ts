/** @module Identity: organizations, users, throttled sign-in, web sessions and API tokens, all attributable. */
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '#platform/clock/index.js';
import { isoUtc } from '#platform/clock/index.js';
import type { Actor, RequestContext, Role } from '#platform/context/index.js';
import type { Database, AnyDb } from '#platform/db/index.js';
import { AppError, parseOrThrow, type Result, ok, err } from '#platform/errors/index.js';
import { newId } from '#platform/ids/index.js';
import { keysetPage, pageQuery, type Page, type PageQuery } from '#platform/paging/index.js';
import { SELF_RESOURCE, type PolicyEngine } from '#platform/policy/index.js';
import type { AuditRecorder } from '#modules/audit/index.js';
import { hashPassword, verifyPassword, DEFAULT_PASSWORD_COST, type PasswordCost } from './password.js';
import { createLoginThrottle, type LoginThrottle, type ThrottleScope } from './throttle.js';
import { createSharedLoginThrottle } from './shared-throttle.js';
import {
  LoginSchema, OrgInputSchema, TokenInputSchema, UserInputSchema,
  type ApiToken, type Org, type OrgInput, type Sector, type TokenInput, type User, type UserInput,
} from './schema.js';

/** What identity needs from the rest of the system. */
export interface IdentityDeps {
  db: Database;
  policy: PolicyEngine;
  audit: AuditRecorder;
  clock: Clock;
  settings: {
    sessionTtlMinutes: number; maxFailedLogins: number; backoffMaxSeconds: number; loginRateLimitPerMinute: number; tokenMaxDays: number;
    passwordCost?: PasswordCost;
    /** Keep the sign-in throttle's counts in the database, shared by every API replica (default: in memory). */
    sharedThrottle?: boolean;
  };
}

/**
 * Why a sign-in failed. Unknown, disabled and wrong-password users are one answer; a throttled attempt says
 * how long to wait, and whether it is throttled never depends on whether the account exists.
 */
export type LoginFailure = { code: 'INVALID_CREDENTIALS' } | { code: 'THROTTLED'; retryAfterSeconds: number };

/** Who is signing in from where, for throttling and the audit entry. */
export interface LoginClient {
  /** The client's address as the HTTP layer sees it (after the configured trusted proxies). */
  address: string;
  scheme: 'password' | 'basic';
}

/** A successful sign-in. */
export interface LoginSuccess {
  sessionToken: string;
  expiresAt: string;
  user: User;
}

const TOKEN_PREFIX = 'mmr_';
const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

interface UserRow {
  id: string; username: string; display_name: string; password_hash: string; roles: string; org_id: string | null;
  disabled: number; failed_logins: number; locked_until: string | null; created_at: string; last_login_at: string | null;
}

function toUser(r: UserRow): User {
  return { id: r.id, username: r.username, displayName: r.display_name, roles: JSON.parse(r.roles) as Role[], orgId: r.org_id, disabled: r.disabled === 1, createdAt: r.created_at, lastLoginAt: r.last_login_at };
}

interface OrgRow { id: string; name: string; name_ja: string | null; kind: string; sectors: string; created_at: string }

function toOrg(r: OrgRow): Org {
  return { id: r.id, name: r.name, nameJa: r.name_ja, kind: r.kind as Org['kind'], sectors: JSON.parse(r.sectors) as Sector[], createdAt: r.created_at };
}

interface TokenRow { id: string; user_id: string; name: string; token_hash: string; roles: string; created_at: string; expires_at: string; revoked_at: string | null; last_used_at: string | null }

function toToken(r: TokenRow): ApiToken {
  return { id: r.id, userId: r.user_id, name: r.name, roles: JSON.parse(r.roles) as Role[], createdAt: r.created_at, expiresAt: r.expires_at, revokedAt: r.revoked_at, lastUsedAt: r.last_used_at };
}

/** Creates the identity service. @see DESIGN.md "Who uses it (roles)" */
export function createIdentityService(deps: IdentityDeps) {
  const { db, policy, audit, clock, settings } = deps;
  const k = db.kysely;
  const cost = settings.passwordCost ?? DEFAULT_PASSWORD_COST;

  async function sectorsOf(q: AnyDb, orgId: string | null): Promise<Sector[]> {
    if (orgId === null) return [];
    const row = (await q.selectFrom('orgs').select('sectors').where('id', '=', orgId).executeTakeFirst()) as { sectors: string } | undefined;
    return row === undefined ? [] : (JSON.parse(row.sectors) as Sector[]);
  }

  async function actorFor(u: User, kind: 'user' | 'token', roles: readonly Role[], tokenId?: string): Promise<Actor> {
    const base: Actor = { kind, id: tokenId ?? u.id, username: u.username, roles: roles.filter((r) => u.roles.includes(r)), orgId: u.orgId, sectors: await sectorsOf(k, u.orgId) };
    return kind === 'token' ? { ...base, userId: u.id } : base;
  }

  async function findUserById(q: AnyDb, id: string): Promise<UserRow | undefined> {
    return (await q.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()) as UserRow | undefined;
  }

  async function findUserByName(q: AnyDb, username: string): Promise<UserRow | undefined> {
    return (await q.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst()) as UserRow | undefined;
  }

  // Administrators and the CLI name a user by id or by username; usernames cannot have an id's shape, so this is unambiguous.
  async function findUserRef(q: AnyDb, ref: string): Promise<UserRow | undefined> {
    return UUID_SHAPE.test(ref) ? findUserById(q, ref) : findUserByName(q, ref);
  }

  const throttleSettings = { freeFailures: settings.maxFailedLogins, backoffMaxMs: settings.backoffMaxSeconds * 1000, addressFailuresPerMinute: settings.loginRateLimitPerMinute };
  const throttle: LoginThrottle = settings.sharedThrottle === true ? createSharedLoginThrottle(db, throttleSettings, clock) : createLoginThrottle(throttleSettings, clock);
  const throttled = new Map<string, number>();
  // Unknown users are checked against this hash of the same cost, so every attempt runs scrypt exactly once.
  const dummyHash = hashPassword(randomBytes(18).toString('base64'), cost);

  /** Checks a username and password under the throttle: one scrypt run for every user, existing or not, disabled or not. */
  async function checkCredentials(ctx: RequestContext, username: string, password: string, client: LoginClient): Promise<Result<UserRow, LoginFailure>> {
    const account = username.normalize('NFKC').toLowerCase();
    // Counted as a failure as it begins (a success undoes it): guesses sent at once cannot all pass the check.
    const verdict = await throttle.attempt(account, client.address);
    if (!verdict.allowed) {
      const key = `${client.scheme}\n${verdict.scope}`;
      throttled.set(key, (throttled.get(key) ?? 0) + 1);
      const retryAfterSeconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
      await audit.record(ctx, { action: 'session:throttle', object: null, outcome: 'denied', details: { usernameHash: sha256(account), scope: verdict.scope, scheme: client.scheme, retryAfterSeconds } });
      return err({ code: 'THROTTLED', retryAfterSeconds });
    }
    let row: UserRow | undefined;
    let matches: boolean;
    try {
      row = await findUserByName(k, account);
      matches = await verifyPassword(password, row?.password_hash ?? (await dummyHash));
    } catch (e) {
      // Neither a failure nor a success: the attempt counted as it began is taken back (a database outage must not throttle).
      await Promise.resolve(throttle.release(account, client.address, verdict.knownClient)).catch(() => undefined);
      throw e;
    }
    if (row === undefined || row.disabled === 1 || !matches) {
      const reason = row === undefined ? 'unknown' : row.disabled === 1 ? 'disabled' : 'password';
      await audit.record(ctx, {
        action: 'session:login', object: row === undefined ? null : { type: 'user', id: row.id }, outcome: 'denied',
        details: { reason, scheme: client.scheme, ...(row === undefined ? { usernameHash: sha256(account) } : {}) },
      });
      return err({ code: 'INVALID_CREDENTIALS' });
    }
    await throttle.succeed(account, client.address, verdict.knownClient);
    return ok(row);
  }

  return {
    /** Creates an organization (a designated operator, a ministry, an agency). */
    async createOrg(ctx: RequestContext, input: OrgInput): Promise<Org> {
      policy.require(ctx, 'org:create');
      const v = parseOrThrow(OrgInputSchema, input, 'organization');
      const row: OrgRow = { id: newId(clock.nowMs()), name: v.name, name_ja: v.nameJa ?? null, kind: v.kind, sectors: JSON.stringify(v.sectors), created_at: isoUtc(clock.nowMs()) };
      return db.transaction(async (trx) => {
        const exists = await trx.selectFrom('orgs').select('id').where('name', '=', v.name).executeTakeFirst();
        if (exists !== undefined) throw new AppError('CONFLICT', `An organization named "${v.name}" already exists; choose another name.`);
        await trx.insertInto('orgs').values(row).execute();
        await audit.record(ctx, { action: 'org:create', object: { type: 'org', id: row.id }, outcome: 'success' }, trx);
        return toOrg(row);
      });
    },

    /** Every organization, by name (the services' directory; the API pages with {@link pageOrgs}). */
    async listOrgs(ctx: RequestContext): Promise<Org[]> {
      policy.require(ctx, 'org:list');
      const rows = (await k.selectFrom('orgs').selectAll().orderBy('name').execute()) as OrgRow[];
      return rows.map(toOrg);
    },

    /** One page of organizations, by name. */
    async pageOrgs(ctx: RequestContext, page: Partial<PageQuery> = {}): Promise<Page<Org>> {
      policy.require(ctx, 'org:list');
      const { rows, nextCursor } = await keysetPage(pageQuery(page), { columns: ['name', 'id'], shape: ['string', 'string'], direction: 'asc' }, (r: OrgRow) => [r.name, r.id], async (after, take) => {
        let q = k.selectFrom('orgs').selectAll().orderBy('name').orderBy('id').limit(take);
        if (after !== undefined) q = q.where(after);
        return (await q.execute()) as OrgRow[];
      });
      return { items: rows.map(toOrg), nextCursor };
    },

    /** Finds an organization by its exact name (for the CLI and the demo seed). */
    async findOrgByName(ctx: RequestContext, name: string): Promise<Org | undefined> {
      policy.require(ctx, 'org:list');
      const row = (await k.selectFrom('orgs').selectAll().where('name', '=', name).executeTakeFirst()) as OrgRow | undefined;
      return row === undefined ? undefined : toOrg(row);
    },

    /** Creates a user with a hashed password; the username must be new. */
    async createUser(ctx: RequestContext, input: UserInput): Promise<User> {
      policy.require(ctx, 'user:create');
      const v = parseOrThrow(UserInputSchema, input, 'user');
      if (v.orgId !== null && (await k.selectFrom('orgs').select('id').where('id', '=', v.orgId).executeTakeFirst()) === undefined) {
        throw new AppError('VALIDATION_FAILED', 'orgId: no organization has this id; list them with GET /api/v1/orgs.', { details: [{ path: 'orgId', message: 'unknown organization' }] });
      }
      const passwordHash = await hashPassword(v.password, cost);
      const now = isoUtc(clock.nowMs());
      const row: UserRow = { id: newId(clock.nowMs()), username: v.username, display_name: v.displayName, password_hash: passwordHash, roles: JSON.stringify([...new Set(v.roles)]), org_id: v.orgId, disabled: 0, failed_logins: 0, locked_until: null, created_at: now, last_login_at: null };
      return db.transaction(async (trx) => {
        if ((await findUserByName(trx, v.username)) !== undefined) throw new AppError('CONFLICT', `The username "${v.username}" is taken; choose another.`);
        await trx.insertInto('users').values(row).execute();
        await audit.record(ctx, { action: 'user:create', object: { type: 'user', id: row.id }, outcome: 'success', details: { roles: row.roles } }, trx);
        return toUser(row);
      });
    },

    /** Every user (never their password hashes), by username: the services' directory; the API pages with {@link pageUsers}. */
    async listUsers(ctx: RequestContext): Promise<User[]> {
      policy.require(ctx, 'user:list');
      const rows = (await k.selectFrom('users').selectAll().orderBy('username').execute()) as UserRow[];
      return rows.map(toUser);
    },

    /** One page of users (never their password hashes), by username. */
    async pageUsers(ctx: RequestContext, page: Partial<PageQuery> = {}): Promise<Page<User>> {
      policy.require(ctx, 'user:list');
      const { rows, nextCursor } = await keysetPage(pageQuery(page), { columns: ['username', 'id'], shape: ['string', 'string'], direction: 'asc' }, (r: UserRow) => [r.username, r.id], async (after, take) => {
        let q = k.selectFrom('users').selectAll().orderBy('username').orderBy('id').limit(take);
        if (after !== undefined) q = q.where(after);
        return (await q.execute()) as UserRow[];
      });
      return { items: rows.map(toUser), nextCursor };
    },

    /** Counts users: zero means the first admin has not been bootstrapped yet. */
    async countUsers(): Promise<number> {
      const r = (await k.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst()) as { n: number | string } | undefined;
      return Number(r?.n ?? 0);
    },

    /** Disables a user: their sessions end and their tokens stop working at once. */
    async disableUser(ctx: RequestContext, idOrUsername: string): Promise<User> {
      policy.require(ctx, 'user:disable');
      return db.transaction(async (trx) => {
        const row = await findUserRef(trx, idOrUsername);
        if (row === undefined) throw new AppError('NOT_FOUND', `No user "${idOrUsername}"; list users with \`mamori user list\`.`);
        if (ctx.actor.kind !== 'system' && (row.id === ctx.actor.id || row.id === ctx.actor.userId)) throw new AppError('CONFLICT', 'You cannot disable your own account; ask another administrator.');
        await trx.updateTable('users').set({ disabled: 1 }).where('id', '=', row.id).execute();
        await trx.deleteFrom('sessions').where('user_id', '=', row.id).execute();
        await audit.record(ctx, { action: 'user:disable', object: { type: 'user', id: row.id }, outcome: 'success' }, trx);
        return toUser({ ...row, disabled: 1 });
      });
    },

    /**
     * Signs a user in. Repeated failures slow further attempts (exponential backoff per account and per
     * client address) but never lock the account; failures are typed results.
     */
    async login(ctx: RequestContext, input: unknown, client: LoginClient = { address: 'unknown', scheme: 'password' }): Promise<Result<LoginSuccess, LoginFailure>> {
      const v = parseOrThrow(LoginSchema, input, 'sign-in');
      const checked = await checkCredentials(ctx, v.username, v.password, client);
      if (!checked.ok) return checked;
      const row = checked.value;
      const nowMs = clock.nowMs();
      const sessionToken = randomBytes(32).toString('base64url');
      const expiresAt = isoUtc(nowMs + settings.sessionTtlMinutes * 60_000);
      await db.transaction(async (trx) => {
        await trx.insertInto('sessions').values({ token_hash: sha256(sessionToken), user_id: row.id, created_at: isoUtc(nowMs), expires_at: expiresAt }).execute();
        await trx.updateTable('users').set({ last_login_at: isoUtc(nowMs) }).where('id', '=', row.id).execute();
        await audit.record({ ...ctx, actor: { ...ctx.actor, id: row.id, username: row.username, kind: 'user' } }, { action: 'session:login', object: { type: 'user', id: row.id }, outcome: 'success' }, trx);
      });
      return ok({ sessionToken, expiresAt, user: toUser({ ...row, last_login_at: isoUtc(nowMs) }) });
    },

    /** Sign-in attempts refused by the throttle since start, by scheme and by the limit that refused them (for /metrics). */
    throttleCounts(): { scheme: string; scope: ThrottleScope; count: number }[] {
      return [...throttled].map(([key, count]) => {
        const [scheme, scope] = key.split('\n') as [string, ThrottleScope];
        return { scheme, scope, count };
      });
    },

    /** Ends a web session. */
    async logout(sessionToken: string): Promise<void> {
      await k.deleteFrom('sessions').where('token_hash', '=', sha256(sessionToken)).execute();
    },

    /** Resolves a session cookie to its actor, or undefined when unknown, expired or disabled. */
    async authenticateSession(sessionToken: string): Promise<{ actor: Actor; expiresAt: string } | undefined> {
      const s = (await k.selectFrom('sessions').selectAll().where('token_hash', '=', sha256(sessionToken)).executeTakeFirst()) as { user_id: string; expires_at: string } | undefined;
      if (s === undefined || Date.parse(s.expires_at) <= clock.nowMs()) return undefined;
      const row = await findUserById(k, s.user_id);
      if (row === undefined || row.disabled === 1) return undefined;
      const u = toUser(row);
      return { actor: await actorFor(u, 'user', u.roles), expiresAt: s.expires_at };
    },

    /** Resolves a bearer token (`mmr_<id>_<secret>`) to its actor, or undefined when invalid, expired or revoked. */
    async authenticateToken(bearer: string): Promise<Actor | undefined> {
      if (!bearer.startsWith(TOKEN_PREFIX)) return undefined;
      const t = (await k.selectFrom('api_tokens').selectAll().where('token_hash', '=', sha256(bearer)).executeTakeFirst()) as TokenRow | undefined;
      if (t === undefined || t.revoked_at !== null || Date.parse(t.expires_at) <= clock.nowMs()) return undefined;
      const row = await findUserById(k, t.user_id);
      if (row === undefined || row.disabled === 1) return undefined;
      // Last use is kept to the minute: writing it on every request would make each read a write.
      if (t.last_used_at === null || Date.parse(t.last_used_at) < clock.nowMs() - 60_000) {
        await k.updateTable('api_tokens').set({ last_used_at: isoUtc(clock.nowMs()) }).where('id', '=', t.id).execute();
      }
      return actorFor(toUser(row), 'token', JSON.parse(t.roles) as Role[], t.id);
    },

    /**
     * Checks HTTP Basic credentials (TAXII clients) under the same throttle as sign-in. Failures and
     * throttled attempts are audited; successes are not (the access they lead to is).
     */
    async authenticateBasic(username: string, password: string, client: { address: string; requestId: string }): Promise<Result<Actor, LoginFailure>> {
      const ctx: RequestContext = { actor: { kind: 'user', id: 'anonymous', username: 'anonymous', roles: [], orgId: null, sectors: [] }, requestId: client.requestId };
      const checked = await checkCredentials(ctx, username, password, { address: client.address, scheme: 'basic' });
      if (!checked.ok) return checked;
      const u = toUser(checked.value);
      return ok(await actorFor(u, 'user', u.roles));
    },

    /** Whether a user may still act (exists, not disabled): what a cached credential is rechecked against. */
    async userActive(userId: string): Promise<boolean> {
      const row = await findUserById(k, userId);
      return row !== undefined && row.disabled === 0;
    },

    /**
     * Creates an API token for `forUser` (default: the caller). Its roles are a subset of the owner's;
     * it expires within `tokenMaxDays`. The secret is returned once and stored only as a hash.
     */
    async createToken(ctx: RequestContext, input: TokenInput, forUser?: string): Promise<{ token: string; meta: ApiToken }> {
      const v = parseOrThrow(TokenInputSchema, input, 'token');
      const ownerRef = forUser ?? ctx.actor.userId ?? ctx.actor.id;
      const self = forUser === undefined && ctx.actor.kind !== 'system';
      policy.require(ctx, 'token:create', self ? SELF_RESOURCE : undefined);
      if (ctx.actor.kind === 'token') throw new AppError('FORBIDDEN', 'An API token cannot create further tokens; sign in as a person.');
      const owner = await findUserRef(k, ownerRef);
      if (owner === undefined) throw new AppError('NOT_FOUND', `No user "${ownerRef}".`);
      if (owner.disabled === 1) throw new AppError('CONFLICT', `User "${owner.username}" is disabled; tokens cannot be issued to it.`);
      const ownerRoles = JSON.parse(owner.roles) as Role[];
      const roles = v.roles ?? ownerRoles;
      const extra = roles.filter((r) => !ownerRoles.includes(r));
      if (extra.length > 0) throw new AppError('VALIDATION_FAILED', `roles: the user does not hold ${extra.join(', ')}; a token can only narrow the owner's roles.`, { details: [{ path: 'roles', message: 'not held by the owner' }] });
      if (v.expiresInDays > settings.tokenMaxDays) throw new AppError('VALIDATION_FAILED', `expiresInDays: at most ${settings.tokenMaxDays} days.`, { details: [{ path: 'expiresInDays', message: `at most ${settings.tokenMaxDays}` }] });
      const id = newId(clock.nowMs());
      const token = `${TOKEN_PREFIX}${id.replace(/-/g, '')}_${randomBytes(24).toString('base64url')}`;
      const row: TokenRow = { id, user_id: owner.id, name: v.name, token_hash: sha256(token), roles: JSON.stringify([...new Set(roles)]), created_at: isoUtc(clock.nowMs()), expires_at: isoUtc(clock.nowMs() + v.expiresInDays * 86_400_000), revoked_at: null, last_used_at: null };
      await db.transaction(async (trx) => {
        await trx.insertInto('api_tokens').values(row).execute();
        await audit.record(ctx, { action: 'token:create', object: { type: 'api_token', id }, outcome: 'success', details: { owner: owner.id, roles: row.roles, expiresAt: row.expires_at } }, trx);
      });
      return { token, meta: toToken(row) };
    },

    /** Lists tokens: the caller's own, or (for admins) a given user's or everyone's. */
    async listTokens(ctx: RequestContext, page: Partial<PageQuery> = {}, forUser?: string): Promise<Page<ApiToken>> {
      const self = forUser === undefined && ctx.actor.kind !== 'system' && !policy.authorize(ctx, 'token:list').allowed;
      policy.require(ctx, 'token:list', self ? SELF_RESOURCE : undefined);
      const owner = forUser === undefined ? undefined : await findUserRef(k, forUser);
      if (forUser !== undefined && owner === undefined) throw new AppError('NOT_FOUND', `No user "${forUser}".`);
      const { rows, nextCursor } = await keysetPage(pageQuery(page), { columns: ['created_at', 'id'], shape: ['string', 'string'], direction: 'asc' }, (r: TokenRow) => [r.created_at, r.id], async (after, take) => {
        let q = k.selectFrom('api_tokens').selectAll().orderBy('created_at').orderBy('id').limit(take);
        if (after !== undefined) q = q.where(after);
        if (self) q = q.where('user_id', '=', ctx.actor.userId ?? ctx.actor.id);
        else if (owner !== undefined) q = q.where('user_id', '=', owner.id);
        return (await q.execute()) as TokenRow[];
      });
      return { items: rows.map(toToken), nextCursor };
    },

    /** Revokes a token at once; owners revoke their own, administrators any. */
    async revokeToken(ctx: RequestContext, tokenId: string): Promise<ApiToken> {
      const t = (await k.selectFrom('api_tokens').selectAll().where('id', '=', tokenId).executeTakeFirst()) as TokenRow | undefined;
      if (t === undefined) throw new AppError('NOT_FOUND', `No token with id ${tokenId}; list tokens to find its id.`);
      const own = t.user_id === ctx.actor.id || t.user_id === ctx.actor.userId;
      policy.require(ctx, 'token:revoke', own ? SELF_RESOURCE : undefined);
      if (t.revoked_at !== null) return toToken(t);
      const at = isoUtc(clock.nowMs());
      await db.transaction(async (trx) => {
        await trx.updateTable('api_tokens').set({ revoked_at: at }).where('id', '=', t.id).execute();
        await audit.record(ctx, { action: 'token:revoke', object: { type: 'api_token', id: t.id }, outcome: 'success' }, trx);
      });
      return toToken({ ...t, revoked_at: at });
    },
  };
}

/** The identity service's interface. */
export type IdentityService = ReturnType<typeof createIdentityService>;
