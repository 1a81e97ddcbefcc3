// Names for what the API sends as ids or codes: legal bases by kind and period, evidence keys and protocol numbers.
import { useMemo } from 'react';
import { useI18n } from '../i18n/index.js';
import { useAllPages } from './pages.js';

/** A UUID or ULID: never shown where a name exists (the id stays in the title attribute, for copying). */
export const ID_PATTERN = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b[0-9A-HJKMNP-TV-Z]{26}\b/i;

/** A legal basis as the API lists it. */
export interface BasisFacts { id: string; kind: string; title: string; validFrom: string; validUntil: string }

const IANA_PROTOCOLS: Record<number, string> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 47: 'GRE', 50: 'ESP', 58: 'ICMPv6', 132: 'SCTP' };

/** A protocol number with its IANA name: `TCP (6)`. */
export function protocolName(n: number): string {
  const name = IANA_PROTOCOLS[n];
  return name === undefined ? String(n) : `${name} (${n})`;
}

/** The day (JST) of a time, `2026/04/01`. */
const dayJst = (iso: string) => new Date(Date.parse(iso) + 9 * 3_600_000).toISOString().slice(0, 10).replace(/-/g, '/');

/**
 * A basis's name: its title when people wrote one, else (a title the server made from an id) its kind and period.
 */
export function basisLabel(b: BasisFacts, kindLabel: (kind: string) => string, t: (from: string, to: string) => string): string {
  if (!ID_PATTERN.test(b.title)) return b.title;
  return `${kindLabel(b.kind)}（${t(dayJst(b.validFrom), dayJst(b.validUntil))}）`;
}

/** Names legal bases by id for roles that may list them; an unknown id shows as "a legal basis" with the id on hover. */
export function useBasisNames(enabled = true): (id: string) => string {
  const { t, code } = useI18n();
  const list = useAllPages<BasisFacts>(enabled ? '/api/v1/legal-bases' : null);
  return useMemo(() => {
    const byId = new Map(list.status === 'ok' ? list.data.items.map((b) => [b.id, b]) : []);
    return (id: string) => {
      const b = byId.get(id);
      return b === undefined ? t('names.unknownBasis') : basisLabel(b, (k) => code('basisKind.', k), (from, to) => t('names.period', { from, to }));
    };
  }, [list, t, code]);
}

/** Who acted, in words: a user by user name; the system's own parts (`system:pipeline`) named. */
export function useActorLabel(): (username: string) => string {
  const { t, code } = useI18n();
  return (username: string) => {
    if (!username.startsWith('system:')) return username;
    const part = username.slice('system:'.length);
    const named = code('systemPart.', part);
    return t('names.system', { part: named === part ? t('names.systemPart') : named });
  };
}
