import { describe, expect, it } from 'vitest';
import { systemContext, type RequestContext, type Role } from '#platform/context/index.js';
import { isAppError } from '#platform/errors/index.js';
import { createPolicyEngine, SELF_RESOURCE } from './index.js';

function ctx(roles: Role[], orgId: string | null = null): RequestContext {
  return { actor: { kind: 'user', id: 'u1', username: 'u1', roles, orgId, sectors: [] }, requestId: 'r1' };
}

describe('policy engine', () => {
  const engine = createPolicyEngine();

  it('loads the shipped policy in strict mode and hashes it', () => {
    expect(engine.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(engine.actions).toContain('user:create');
  });

  it('denies by default: no role, unknown action', () => {
    expect(engine.authorize(ctx([]), 'user:list').allowed).toBe(false);
    expect(engine.authorize(ctx(['admin']), 'no-such:action').allowed).toBe(false);
  });

  it('lets admin manage users and nobody else', () => {
    expect(engine.authorize(ctx(['admin']), 'user:create').allowed).toBe(true);
    expect(engine.authorize(ctx(['analyst']), 'user:create').allowed).toBe(false);
    expect(engine.authorize(ctx(['commissioner']), 'user:list').allowed).toBe(false);
    expect(engine.authorize(systemContext('cli'), 'user:create').allowed).toBe(true);
  });

  it('lets every role manage its own tokens only', () => {
    expect(engine.authorize(ctx(['operator']), 'token:create', SELF_RESOURCE).allowed).toBe(true);
    expect(engine.authorize(ctx(['operator']), 'token:create').allowed).toBe(false);
  });

  it('require() throws FORBIDDEN naming the action', () => {
    try {
      engine.require(ctx(['operator']), 'user:list');
      expect.unreachable();
    } catch (e) {
      expect(isAppError(e) && e.code === 'FORBIDDEN' && e.message.includes('user:list')).toBe(true);
    }
  });

  it('refuses to start with a policy that fails strict validation', () => {
    const bad = `permit (principal in Role::"admin", action == Action::"user:list", resource) when { principal.nosuch == 1 };`;
    expect(() => createPolicyEngine({ schemaText: engine.schemaText, policyText: bad })).toThrow(/strict validation/);
    expect(() => createPolicyEngine({ schemaText: engine.schemaText, policyText: 'permit (' })).toThrow(/does not parse/);
  });
});

describe('decision memo', () => {
  it('answers a record by its attributes, and keeps ids in the key when a policy names a record', () => {
    const base = createPolicyEngine();
    const schemaText = `${base.schemaText}\nentity Thing = { "orgId": String };\naction "thing:read" appliesTo { principal: User, resource: Thing };\n`;
    const byAttr = createPolicyEngine({ schemaText, policyText: 'permit (principal, action == Action::"thing:read", resource) when { resource.orgId == principal.orgId };' });
    const c = ctx(['operator'], 'org-1');
    expect(byAttr.authorize(c, 'thing:read', { type: 'Thing', id: 'a', attrs: { orgId: 'org-1' } }).allowed).toBe(true);
    expect(byAttr.authorize(c, 'thing:read', { type: 'Thing', id: 'b', attrs: { orgId: 'org-2' } }).allowed).toBe(false);
    const byId = createPolicyEngine({ schemaText, policyText: 'permit (principal, action == Action::"thing:read", resource == Thing::"a");' });
    expect(byId.authorize(c, 'thing:read', { type: 'Thing', id: 'a', attrs: { orgId: 'x' } }).allowed).toBe(true);
    expect(byId.authorize(c, 'thing:read', { type: 'Thing', id: 'b', attrs: { orgId: 'x' } }).allowed).toBe(false);
  });
});
