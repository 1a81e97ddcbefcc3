/** @module Pure rules on scopes: prefixes, the legal maximum of an acquisition period, and narrowing an approval to within what was asked. */
import { BlockList, isIP } from 'node:net';
import { isCidr } from './cidr.js';
import type { AcquisitionScope, Narrowing, ReidentificationScope, Selectors } from './schema.js';
import type { Message } from '#platform/errors/index.js';

function parts(cidr: string): { addr: string; len: number; type: 'ipv4' | 'ipv6' } {
  const [addr, len] = cidr.split('/') as [string, string];
  return { addr, len: Number(len), type: isIP(addr) === 4 ? 'ipv4' : 'ipv6' };
}

/** True when prefix `inner` lies wholly within prefix `outer`. */
export function prefixWithin(inner: string, outer: string): boolean {
  const i = parts(inner);
  const o = parts(outer);
  if (i.type !== o.type || i.len < o.len) return false;
  const list = new BlockList();
  list.addSubnet(o.addr, o.len, o.type);
  return list.check(i.addr, i.type);
}

/** `iso` plus `months` calendar months (UTC), clamped to the month's last day (31 Jan + 1 month = 28/29 Feb). */
export function addMonths(iso: string, months: number): number {
  const d = new Date(iso);
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d.getTime();
}

/** The legal maxima in months: transit 6, cross-border 3 (configuration may only shorten them). @see DPA Art. 17, 22 */
export interface PeriodLimits {
  transitMaxMonths: number;
  crossBorderMaxMonths: number;
}

/** Why an acquisition period is not allowed, or undefined when it is. @see DPA Art. 17, 22 */
export function periodProblem(a: Pick<AcquisitionScope, 'basisKind' | 'periodStart' | 'periodEnd'>, limits: PeriodLimits): string | undefined {
  const start = Date.parse(a.periodStart);
  const end = Date.parse(a.periodEnd);
  if (!(end > start)) return 'periodEnd must be after periodStart';
  const months = a.basisKind === 'transit_approval' ? limits.transitMaxMonths : limits.crossBorderMaxMonths;
  if (end > addMonths(a.periodStart, months)) {
    return `a ${a.basisKind === 'transit_approval' ? 'transit' : 'cross-border'} acquisition may last at most ${months} months; end it by ${new Date(addMonths(a.periodStart, months)).toISOString()}`;
  }
  return undefined;
}

/** periodProblem's finding as a code with parameters (`acquisition.periodOrder`, `acquisition.periodTooLong`), for clients to word. */
export function periodReason(a: Pick<AcquisitionScope, 'basisKind' | 'periodStart' | 'periodEnd'>, limits: PeriodLimits): Message | undefined {
  if (periodProblem(a, limits) === undefined) return undefined;
  if (!(Date.parse(a.periodEnd) > Date.parse(a.periodStart))) return { code: 'acquisition.periodOrder', params: {} };
  const months = a.basisKind === 'transit_approval' ? limits.transitMaxMonths : limits.crossBorderMaxMonths;
  return { code: 'acquisition.periodTooLong', params: { kind: a.basisKind, months, endBy: new Date(addMonths(a.periodStart, months)).toISOString() } };
}

function subset<T>(narrow: readonly T[] | undefined, asked: readonly T[] | undefined, within: (n: T, a: T) => boolean, name: string): string | undefined {
  if (asked === undefined) return undefined; // adding a restriction where none was asked only narrows
  if (narrow === undefined) return `selectors.${name}: the request restricts ${name}; an approval cannot lift that restriction`;
  const outside = narrow.filter((n) => !asked.some((a) => within(n, a)));
  return outside.length > 0 ? `selectors.${name}: ${outside.length} value(s) were not asked for; an approval may only narrow` : undefined;
}

/** Why `narrow` selects something `asked` does not, or undefined when it is within it. */
export function selectorsProblem(narrow: Selectors, asked: Selectors): string | undefined {
  const eq = <T>(x: T, y: T): boolean => x === y;
  return subset(narrow.exporters, asked.exporters, eq, 'exporters')
    ?? subset(narrow.foreignPrefixes, asked.foreignPrefixes, prefixWithin, 'foreignPrefixes')
    ?? subset(narrow.domesticPrefixes, asked.domesticPrefixes, prefixWithin, 'domesticPrefixes')
    ?? subset(narrow.ports, asked.ports, eq, 'ports')
    ?? subset(narrow.protocols, asked.protocols, eq, 'protocols')
    ?? ((narrow.foreignPrefixes?.length ?? 0) === 0 ? 'selectors: keep at least one foreign prefix' : undefined);
}

/** Applies a narrowing to an acquisition: the result is within the request, or a problem says why not. */
export function narrowAcquisition(asked: AcquisitionScope, n: Narrowing): { scope: AcquisitionScope; narrowed: boolean } | { problem: string } {
  if (n.pseudonyms !== undefined || n.validUntil !== undefined) return { problem: 'an acquisition is narrowed by selectors, periodStart and periodEnd only' };
  const scope: AcquisitionScope = {
    ...asked,
    selectors: n.selectors ?? asked.selectors,
    periodStart: n.periodStart ?? asked.periodStart,
    periodEnd: n.periodEnd ?? asked.periodEnd,
  };
  if (n.selectors !== undefined) {
    const p = selectorsProblem(n.selectors, asked.selectors);
    if (p !== undefined) return { problem: p };
  }
  if (Date.parse(scope.periodStart) < Date.parse(asked.periodStart) || Date.parse(scope.periodEnd) > Date.parse(asked.periodEnd)) return { problem: 'the approved period must lie within the requested period' };
  if (!(Date.parse(scope.periodEnd) > Date.parse(scope.periodStart))) return { problem: 'periodEnd must be after periodStart' };
  return { scope, narrowed: n.selectors !== undefined || n.periodStart !== undefined || n.periodEnd !== undefined };
}

/** Applies a narrowing to a re-identification: only fewer pseudonyms. */
export function narrowReidentification(asked: ReidentificationScope, n: Narrowing): { scope: ReidentificationScope; narrowed: boolean } | { problem: string } {
  if (n.selectors !== undefined || n.periodStart !== undefined || n.periodEnd !== undefined) return { problem: 'a re-identification is narrowed by pseudonyms and validUntil only' };
  if (n.pseudonyms === undefined) return { scope: asked, narrowed: false };
  const extra = n.pseudonyms.filter((p) => !asked.pseudonyms.includes(p));
  if (extra.length > 0) return { problem: `pseudonyms: ${extra.length} were not asked for; an approval may only narrow` };
  return { scope: { ...asked, pseudonyms: [...new Set(n.pseudonyms)] }, narrowed: true };
}

export { isCidr };
