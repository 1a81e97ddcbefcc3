// Links to entity pages: every address, prefix, pseudonym or domain on a screen leads to everything known about it.
import type { ReactNode } from 'react';
import { Link } from '../lib/router.js';

/** The kinds of entity page. */
export type EntityKind = 'address' | 'prefix' | 'pseudonym' | 'domain' | 'indicator';

/** The page of an entity; a finding's subject kinds map onto entity kinds (an address with a length is a prefix). */
export function entityPath(kind: EntityKind | string, value: string): string {
  const k = kind === 'address' && value.includes('/') ? 'prefix' : kind;
  return `/app/entities/${encodeURIComponent(k)}/${encodeURIComponent(value)}`;
}

/** The kind of a bare value: address, prefix, pseudonym (hex) or domain; anything else is an indicator. */
export function kindOf(value: string): EntityKind {
  if (/^[0-9.]+$/.test(value) || (/^[0-9a-f:]+$/i.test(value) && value.includes(':'))) return 'address';
  if (/^[0-9a-f.:]+\/\d+$/i.test(value)) return 'prefix';
  if (/^[0-9a-f]{16,64}$/i.test(value)) return 'pseudonym';
  if (/^([a-z0-9_-]+\.)+[a-z][a-z0-9-]*\.?$/i.test(value)) return 'domain';
  return 'indicator';
}

/** A value shown as code and linked to its entity page. */
export function EntityLink({ value, kind, children }: { value: string; kind?: EntityKind; children?: ReactNode }) {
  return <Link to={entityPath(kind ?? kindOf(value), value)} className="entity"><code>{children ?? value}</code></Link>;
}
