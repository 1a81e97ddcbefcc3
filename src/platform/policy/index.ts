/** @module Authorization decided in one place: Cedar policies, strictly validated, deny by default, any error denies. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { RequestContext } from '#platform/context/index.js';
import { AppError } from '#platform/errors/index.js';
import { packagePath } from '#platform/paths/index.js';

/** The entity an action is on; `System::"mamori"` for collection-level actions. */
export interface PolicyResource {
  type: string;
  id: string;
  attrs?: Record<string, string | number | boolean | string[]>;
}

/** The outcome of one authorization question. */
export interface PolicyDecision {
  allowed: boolean;
  /** Ids of the policies that decided (for allow: the permits; for an explicit deny: the forbids). */
  policies: string[];
  /** Evaluation errors; any error makes the decision a deny. */
  errors: string[];
}

/** A loaded, validated policy set. */
export interface PolicyEngine {
  /** SHA-256 (hex) of schema and policy text: goes into every audit entry. */
  readonly hash: string;
  readonly schemaText: string;
  readonly policyText: string;
  /** Every action the schema declares. */
  readonly actions: readonly string[];
  authorize(ctx: RequestContext, action: string, resource?: PolicyResource): PolicyDecision;
  /** Throws FORBIDDEN (with a message naming the action) unless allowed. */
  require(ctx: RequestContext, action: string, resource?: PolicyResource): void;
}

/** The resource of collection-level actions. */
export const SYSTEM_RESOURCE: PolicyResource = { type: 'System', id: 'mamori' };
/** The resource of actions a user takes on their own account (their tokens). */
export const SELF_RESOURCE: PolicyResource = { type: 'System', id: 'self' };

let counter = 0;

/** Loads and validates the policy; throws CONFIG_INVALID when it does not validate in strict mode. */
export function createPolicyEngine(texts?: { schemaText: string; policyText: string }): PolicyEngine {
  const schemaText = texts?.schemaText ?? readFileSync(packagePath('policy', 'mamori.cedarschema'), 'utf8');
  const policyText = texts?.policyText ?? readFileSync(packagePath('policy', 'mamori.cedar'), 'utf8');
  const validation = cedar.validate({ schema: schemaText, policies: { staticPolicies: policyText }, validationSettings: { mode: 'strict' } });
  if (validation.type === 'failure') {
    throw new AppError('CONFIG_INVALID', `Authorization policy does not parse: ${validation.errors.map((e) => e.message).join('; ')}`);
  }
  if (validation.validationErrors.length > 0) {
    throw new AppError('CONFIG_INVALID', `Authorization policy fails strict validation: ${validation.validationErrors.map((e) => `${e.policyId}: ${e.error.message}`).join('; ')}`);
  }
  const id = `mamori-${++counter}`;
  const prep = cedar.preparsePolicySet(id, { staticPolicies: policyText });
  if (prep.type === 'failure') throw new AppError('CONFIG_INVALID', `Authorization policy could not be loaded: ${prep.errors.map((e) => e.message).join('; ')}`);
  const schemaName = `${id}-schema`;
  const prepSchema = cedar.preparseSchema(schemaName, schemaText);
  if (prepSchema.type === 'failure') throw new AppError('CONFIG_INVALID', `Authorization schema could not be loaded: ${prepSchema.errors.map((e) => e.message).join('; ')}`);
  const actions = [...schemaText.matchAll(/^\s*action\s+"([^"]+)"/gm)].map((m) => m[1]!);
  const hash = createHash('sha256').update(schemaText).update('\n\0\n').update(policyText).digest('hex');

  // Decisions are memoized: the policy cannot change while the engine lives, and the key holds
  // everything a decision reads (the actor's attributes and roles, the action, the resource with its
  // attributes), so a remembered answer is the answer. Bounded; measured by bench/reporting.
  const memo = new Map<string, PolicyDecision>();
  // A resource's id is part of the key only when the policy could name one: it names no entity but
  // System, Role and Action literals today, so decisions on records read their attributes, not ids.
  const namesRecords = /\b(?!System::|Role::|Action::)[A-Z][A-Za-z0-9_]*::"/.test(policyText);
  const authorize = (ctx: RequestContext, action: string, resource: PolicyResource = SYSTEM_RESOURCE): PolicyDecision => {
    const a = ctx.actor;
    const id = resource.type === 'System' || namesRecords ? resource.id : '';
    const key = JSON.stringify([a.kind, a.id, a.userId ?? null, a.roles, a.orgId, a.sectors, action, resource.type, id, resource.attrs ?? null]);
    const known = memo.get(key);
    if (known !== undefined) return known;
    const decision = decide(ctx, action, resource);
    if (memo.size >= 20_000) memo.clear();
    memo.set(key, decision);
    return decision;
  };

  const decide = (ctx: RequestContext, action: string, resource: PolicyResource): PolicyDecision => {
    const actor = ctx.actor;
    const roles = actor.kind === 'system' ? ['system'] : [...actor.roles];
    const principal = { type: 'User', id: `${actor.kind}:${actor.id}` };
    const entities: cedar.EntityJson[] = [
      {
        uid: principal,
        // userId: the person behind a session or token, so policies can say "not on their own request".
        attrs: { orgId: actor.orgId ?? '', sectors: [...actor.sectors], userId: actor.userId ?? actor.id },
        parents: roles.map((r) => ({ type: 'Role', id: r })),
      },
      ...roles.map((r) => ({ uid: { type: 'Role', id: r }, attrs: {}, parents: [] })),
    ];
    if (resource.type !== 'System') entities.push({ uid: { type: resource.type, id: resource.id }, attrs: resource.attrs ?? {}, parents: [] });
    try {
      const answer = cedar.statefulIsAuthorized({
        principal,
        action: { type: 'Action', id: action },
        resource: { type: resource.type, id: resource.id },
        context: {},
        entities,
        preparsedPolicySetId: id,
        preparsedSchemaName: schemaName,
        validateRequest: true,
      });
      if (answer.type === 'failure') return { allowed: false, policies: [], errors: answer.errors.map((e) => e.message) };
      const errors = answer.response.diagnostics.errors.map((e) => `${e.policyId}: ${e.error.message}`);
      return { allowed: answer.response.decision === 'allow' && errors.length === 0, policies: answer.response.diagnostics.reason, errors };
    } catch (e) {
      return { allowed: false, policies: [], errors: [(e as Error).message] };
    }
  };

  return {
    hash,
    schemaText,
    policyText,
    actions,
    authorize,
    require(ctx, action, resource) {
      const d = authorize(ctx, action, resource);
      if (!d.allowed) throw new AppError('FORBIDDEN', `Your role may not perform ${action}${resource !== undefined && resource.type !== 'System' ? ` on this ${resource.type.toLowerCase()}` : ''}.`);
    },
  };
}
