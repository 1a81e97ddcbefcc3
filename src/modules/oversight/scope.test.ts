import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addMonths, isCidr, periodProblem, prefixWithin, selectorsProblem } from './scope.js';
import { countVotes } from './tally.js';

describe('scope rules', () => {
  it('checks prefixes and containment', () => {
    expect(isCidr('203.0.113.0/24')).toBe(true);
    expect(isCidr('2001:db8::/129')).toBe(false);
    expect(isCidr('203.0.113.0')).toBe(false);
    expect(prefixWithin('203.0.113.128/25', '203.0.113.0/24')).toBe(true);
    expect(prefixWithin('203.0.112.0/23', '203.0.113.0/24')).toBe(false);
    expect(prefixWithin('2001:db8:1::/48', '2001:db8::/32')).toBe(true);
    expect(prefixWithin('2001:db8::/32', '203.0.113.0/24')).toBe(false);
  });

  it('adds calendar months and enforces the legal maxima (transit 6, cross-border 3)', () => {
    expect(new Date(addMonths('2026-01-31T00:00:00.000Z', 1)).toISOString()).toBe('2026-02-28T00:00:00.000Z');
    const limits = { transitMaxMonths: 6, crossBorderMaxMonths: 3 };
    expect(periodProblem({ basisKind: 'transit_approval', periodStart: '2026-01-01T00:00:00Z', periodEnd: '2026-07-01T00:00:00Z' }, limits)).toBeUndefined();
    expect(periodProblem({ basisKind: 'transit_approval', periodStart: '2026-01-01T00:00:00Z', periodEnd: '2026-07-01T00:00:01Z' }, limits)).toMatch(/6 months/);
    expect(periodProblem({ basisKind: 'cross_border_approval', periodStart: '2026-01-01T00:00:00Z', periodEnd: '2026-04-02T00:00:00Z' }, limits)).toMatch(/3 months/);
    expect(periodProblem({ basisKind: 'cross_border_approval', periodStart: '2026-01-01T00:00:00Z', periodEnd: '2026-01-01T00:00:00Z' }, limits)).toMatch(/after/);
  });

  it('lets a narrowing add restrictions but never lift or widen one', () => {
    const asked = { foreignPrefixes: ['203.0.113.0/24'], ports: [443, 8443] };
    expect(selectorsProblem({ foreignPrefixes: ['203.0.113.0/25'], ports: [443], protocols: [6] }, asked)).toBeUndefined();
    expect(selectorsProblem({ foreignPrefixes: ['203.0.113.0/24'] }, asked)).toMatch(/ports/);
    expect(selectorsProblem({ foreignPrefixes: ['198.51.100.0/24'], ports: [443] }, asked)).toMatch(/foreignPrefixes/);
  });
});

describe('voting rule', () => {
  const rule = { commissionSize: 5, quorum: 3, majority: 'simple' as const };
  it('never approves without the quorum, and approves only with more approvals than denials', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom('approve', 'deny', 'abstain') as fc.Arbitrary<'approve' | 'deny' | 'abstain'>, { maxLength: 5 }), (votes) => {
      const out = countVotes(votes, rule);
      if (votes.length < 3) return !out.quorate;
      const a = votes.filter((v) => v === 'approve').length;
      const d = votes.filter((v) => v === 'deny').length;
      return out.quorate && out.result === (a > d ? 'approved' : 'denied');
    }));
  });
  it('supports absolute and two-thirds majorities', () => {
    expect(countVotes(['approve', 'approve', 'abstain', 'abstain'], { ...rule, majority: 'absolute' })).toMatchObject({ result: 'denied' });
    expect(countVotes(['approve', 'approve', 'approve', 'deny'], { ...rule, majority: 'absolute' })).toMatchObject({ result: 'approved' });
    expect(countVotes(['approve', 'approve', 'deny'], { ...rule, majority: 'two_thirds' })).toMatchObject({ result: 'approved' });
    expect(countVotes(['approve', 'deny', 'abstain'], { ...rule, majority: 'two_thirds' })).toMatchObject({ result: 'denied' });
  });
});
