import { describe, expect, it } from 'vitest';
import { NAV, NAV_GROUPS, menuFor } from './nav.js';
import type { Actor, Role } from './lib/session.js';

const actor = (...roles: Role[]): Actor => ({ kind: 'user', id: 'u', username: 'u', roles, orgId: null, sectors: [] });

describe('the menu grouped by task', () => {
  it('puts every screen of the menu in a group, each once', () => {
    const grouped = NAV_GROUPS.flatMap((g) => g.items);
    expect(new Set(grouped).size).toBe(grouped.length);
    expect(NAV.filter((n) => n.to !== '/app' && !grouped.includes(n.to)).map((n) => n.to)).toEqual([]);
  });

  it('gives each role only its screens, grouped, with no empty group', () => {
    const analyst = menuFor(actor('analyst'));
    const all = analyst.groups.flatMap((g) => g.items.map((n) => n.to));
    expect(all).toContain('/app/findings');
    expect(all).not.toContain('/app/audit');
    expect(analyst.groups.every((g) => g.items.length > 0)).toBe(true);
    // The analyst's many screens fit in a handful of groups.
    expect(analyst.groups.length).toBeLessThanOrEqual(6);
    const chair = menuFor(actor('commissioner'));
    expect(chair.groups.find((g) => g.id === 'oversight')!.items.map((n) => n.to)).toEqual(expect.arrayContaining(['/app/inspection', '/app/audit', '/app/diet-report']));
  });
});
