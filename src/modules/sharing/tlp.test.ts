/** @module Tests of the one TLP 2.0 decision: every level against every kind of recipient. */
import { describe, expect, it } from 'vitest';
import { mayReceive, type Audience, type Recipient } from './tlp.js';

const audience: Audience = { originOrgId: 'nco', memberOrgIds: new Set(['bank']), clientOrgIds: new Set(['client']), redRecipients: ['named-user'] };
const who = (userId: string, orgId: string | null, orgKind: string | null, councilMember = false): Recipient => ({ userId, orgId, orgKind, councilMember });

const MEMBER = who('u-bank', 'bank', 'council_member', true);
const CLIENT = who('u-client', 'client', 'operator');
const OUTSIDER = who('u-out', 'other', 'operator');
const COUNCIL_ELSEWHERE = who('u-c2', 'bank2', 'operator', true);
const MINISTRY = who('u-min', 'meti', 'ministry');
const NAMED = who('named-user', 'bank', 'council_member', true);
const NCO = who('u-nco', 'nco', 'nco');

describe('mayReceive (TLP 2.0)', () => {
  const table: [string, Recipient, Record<string, boolean>][] = [
    ['a member organization', MEMBER, { clear: true, green: true, amber: true, 'amber+strict': true, red: false }],
    ['a client of a member', CLIENT, { clear: true, green: false, amber: true, 'amber+strict': false, red: false }],
    ['an outsider', OUTSIDER, { clear: true, green: false, amber: false, 'amber+strict': false, red: false }],
    ['a council member outside the group', COUNCIL_ELSEWHERE, { clear: true, green: true, amber: false, 'amber+strict': false, red: false }],
    ['government outside the group', MINISTRY, { clear: true, green: true, amber: false, 'amber+strict': false, red: false }],
    ['a person named for RED', NAMED, { clear: true, green: true, amber: true, 'amber+strict': true, red: true }],
    ['the originator', NCO, { clear: true, green: true, amber: true, 'amber+strict': true, red: true }],
  ];
  it.each(table)('decides for %s', (_name, r, expected) => {
    for (const [level, allowed] of Object.entries(expected)) expect(mayReceive(r, level as never, audience).allowed, `${level}`).toBe(allowed);
  });

  it('treats an unmarked object as AMBER and refuses an unknown marking', () => {
    expect(mayReceive(CLIENT, undefined, audience).allowed).toBe(true);
    expect(mayReceive(OUTSIDER, undefined, audience).allowed).toBe(false);
    expect(mayReceive(MEMBER, 'purple' as never, audience)).toEqual({ allowed: false, reason: 'UNKNOWN_MARKING' });
  });

  it('never lets a person without an organization past GREEN', () => {
    const lone = who('u-lone', null, null);
    expect(mayReceive(lone, 'clear', audience).allowed).toBe(true);
    for (const l of ['green', 'amber', 'amber+strict', 'red'] as const) expect(mayReceive(lone, l, audience).allowed).toBe(false);
  });
});
