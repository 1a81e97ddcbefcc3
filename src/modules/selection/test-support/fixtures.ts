/** @module Test fixtures: a small synthetic country table, address pools by location, and basis builders. */
import { createLocator, packCountry, type Locator } from '../geo.js';
import { addPrefix, type RangeSet } from '../ranges.js';
import type { LegalBasis } from '../schema.js';

/** A small world: JP, US, CN, DE blocks; everything else unlisted (unknown). */
export function smallWorld(domesticPrefixes: string[] = ['192.168.0.0/16']): Locator {
  const set: RangeSet = { v4: [], v6: [] };
  const add = (p: string, cc: string): void => addPrefix(set, p, packCountry(cc));
  add('133.0.0.0/8', 'JP'); add('1.0.16.0/20', 'JP'); add('2400:2000::/20', 'JP');
  add('8.0.0.0/8', 'US'); add('2001:4860::/32', 'US'); add('36.0.0.0/8', 'CN'); add('5.0.0.0/8', 'DE'); add('2a00::/16', 'DE');
  return createLocator({ countrySources: [set], domesticPrefixes });
}

/** Addresses of each kind in the small world. */
export const POOLS = {
  domestic: ['133.1.2.3', '133.200.0.9', '1.0.16.77', '2400:2000::5', '2400:2fff::1', '10.9.8.7', 'fd12::34', '192.168.5.5'],
  foreign: ['8.8.8.8', '8.1.2.3', '36.1.1.1', '5.5.5.5', '2001:4860::8888', '2a00:1450::1'],
  special: ['127.0.0.1', '192.0.2.1', '224.0.0.9', 'fe80::1', '2001:db8::7'],
  unknown: ['45.1.2.3', '2c0f::1'],
} as const;

/** A basis with defaults filled in. */
export function basis(over: Partial<LegalBasis> & Pick<LegalBasis, 'id' | 'kind'>): LegalBasis {
  return {
    title: over.id,
    selectors: { exporters: [], foreignPrefixes: [], domesticPrefixes: [], ports: [], protocols: [] },
    validFrom: '2026-01-01T00:00:00.000Z',
    validUntil: '2026-06-01T00:00:00.000Z',
    allowedFields: ['start', 'end', 'srcAddr', 'dstAddr', 'srcPort', 'dstPort', 'proto', 'bytes', 'packets'],
    retentionDays: 30,
    createdBy: 'request-1',
    operatorOrgId: null,
    status: 'active',
    createdAt: '2026-01-01T00:00:00.000Z',
    createdByActor: 'test',
    revokedAt: null,
    revokedReason: null,
    ...over,
  };
}
