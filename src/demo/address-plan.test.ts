import { describe, expect, it } from 'vitest';
import { createLocator, loadIpLocationDb, parsePrefix, withOverrides } from '#modules/selection/index.js';
import * as plan from './address-plan.js';

// The demo's seeds and traffic must agree on who is where: an operator's range inside the attackers'
// blocks would make its own hosts "foreign" and its consent agreement select attack traffic.
describe('the demo address plan', () => {
  const locator = createLocator({ countrySources: [loadIpLocationDb()], specialRanges: withOverrides(plan.DEMO_SPECIAL_RANGE_OVERRIDES) });
  const where = (a: string) => locator.describe(a).location;
  const v4Ends = (cidr: string): [string, string] => {
    const p = parsePrefix(cidr);
    if (p === undefined || p.family !== 4) throw new Error(cidr);
    const text = (n: number) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    return [text(p.start), text(p.end)];
  };

  it('puts every operator IPv4 range in domestic space, first and last address alike', () => {
    for (const [org, ranges] of Object.entries(plan.OPERATOR_RANGES)) {
      for (const cidr of ranges.filter((r) => !r.includes(':'))) {
        for (const a of v4Ends(cidr)) expect({ org, a, at: where(a) }).toEqual({ org, a, at: 'domestic' });
      }
    }
  });

  it('keeps the attackers foreign and outside every operator range', () => {
    const operatorV4 = Object.values(plan.OPERATOR_RANGES).flat().filter((r) => !r.includes(':')).map((r) => parsePrefix(r)!);
    for (const a of [plan.C2, plan.SCANNER, plan.REPORTED_C2, plan.INTEL_SERVER, plan.BLOCKED_HOST]) {
      expect({ a, at: where(a) }).toEqual({ a, at: 'foreign' });
      const n = parsePrefix(`${a}/32`)!.start as number;
      expect(operatorV4.some((p) => n >= (p.start as number) && n <= (p.end as number))).toBe(false);
    }
    for (const f of plan.FOREIGN_PREFIXES) {
      const fp = parsePrefix(f)!;
      for (const p of operatorV4) expect((p.end as number) < (fp.start as number) || (p.start as number) > (fp.end as number)).toBe(true);
    }
  });

  it('places Kanto Electric\'s hosts, servers and web server inside its own block', () => {
    const k = parsePrefix(plan.KANTO_PREFIX)!;
    for (const a of [...plan.KANTO_HOSTS, ...plan.KANTO_SERVERS, plan.DDOS_TARGET]) {
      const n = parsePrefix(`${a}/32`)!.start as number;
      expect(n >= (k.start as number) && n <= (k.end as number)).toBe(true);
    }
    for (const a of [...plan.OTHER_DOMESTIC, ...plan.DOMESTIC_PEERS]) expect({ a, at: where(a) }).toEqual({ a, at: 'domestic' });
  });
});
