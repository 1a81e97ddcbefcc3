// The commission's inspection, grouped: who read what under each legal basis and under each request to the commission
// (through the approvals that issued the bases), with names, counts, people and times; a group opens its reads below.
import { useMemo } from 'react';
import { useI18n } from '../i18n/index.js';
import { Link, useRouter } from '../lib/router.js';
import { useAllPages } from '../lib/pages.js';
import { Time } from '../components/ui.js';

/** One read of the audit log as the inspection API gives it. */
export interface Read { index: number; time: string; actor: string; userId: string; roles: string[]; action: string; object: { type: string; id: string } | null; legalBasis: string | null; outcome: string }
interface ApprovalRef { id: string; requestId: string; basisId: string | null }
interface RequestRef { id: string; title: string }
/** The grouping in the URL: by legal basis (default), by request, or none. */
export type GroupBy = 'basis' | 'request' | 'none';
const NONE = '-';

/** The bases of a read (its `legalBasis` may name several, comma-separated). */
const basesOf = (r: Read): string[] => (r.legalBasis === null || r.legalBasis === '' ? [] : r.legalBasis.split(','));

/** Which requests a read falls under: through the approvals that issued its bases, or the request or approval it read. */
export function requestsOf(r: Read, byBasis: ReadonlyMap<string, string>, byApproval: ReadonlyMap<string, string>): string[] {
  const ids = new Set<string>();
  for (const b of basesOf(r)) { const q = byBasis.get(b); if (q !== undefined) ids.add(q); }
  if (r.object?.type === 'oversight_request') ids.add(r.object.id);
  if (r.object?.type === 'approval') { const q = byApproval.get(r.object.id); if (q !== undefined) ids.add(q); }
  return [...ids];
}

/** The key(s) a read is grouped under; reads with none fall in the "no basis" / "no request" group. */
export function useGroupKeys(groupBy: GroupBy): { keysOf: (r: Read) => string[]; requestTitle: (id: string) => string } {
  const { t } = useI18n();
  const approvals = useAllPages<ApprovalRef>(groupBy === 'request' ? '/api/v1/oversight/approvals' : null);
  const requests = useAllPages<RequestRef>(groupBy === 'request' ? '/api/v1/oversight/requests' : null);
  return useMemo(() => {
    const list = approvals.status === 'ok' ? approvals.data.items : [];
    const byBasis = new Map(list.flatMap((a) => (a.basisId === null ? [] : [[a.basisId, a.requestId] as const])));
    const byApproval = new Map(list.map((a) => [a.id, a.requestId] as const));
    const titles = new Map((requests.status === 'ok' ? requests.data.items : []).map((q) => [q.id, q.title] as const));
    const keysOf = (r: Read): string[] => {
      const keys = groupBy === 'basis' ? basesOf(r) : groupBy === 'request' ? requestsOf(r, byBasis, byApproval) : [];
      return keys.length === 0 ? [NONE] : keys;
    };
    return { keysOf, requestTitle: (id: string) => titles.get(id) ?? t('inspectq.unknownRequest') };
  }, [approvals, requests, groupBy, t]);
}

interface Group { key: string; reads: number; people: Set<string>; denied: number; first: string; last: string }

/** The groups of the loaded reads with counts, people and the time span; choosing one filters the reads table (URL `in=`). */
export function ReadGroups({ reads, groupBy, keysOf, name }: { reads: readonly Read[]; groupBy: Exclude<GroupBy, 'none'>; keysOf: (r: Read) => string[]; name: (key: string) => string }) {
  const { t } = useI18n();
  const { path, search } = useRouter();
  const groups = useMemo(() => {
    const m = new Map<string, Group>();
    for (const r of reads) {
      for (const k of keysOf(r)) {
        const g = m.get(k) ?? { key: k, reads: 0, people: new Set<string>(), denied: 0, first: r.time, last: r.time };
        g.reads++;
        g.people.add(r.actor);
        if (r.outcome !== 'success') g.denied++;
        if (r.time < g.first) g.first = r.time;
        if (r.time > g.last) g.last = r.time;
        m.set(k, g);
      }
    }
    return [...m.values()].sort((a, b) => b.reads - a.reads);
  }, [reads, keysOf]);
  const open = search.get('in');
  const link = (key: string) => {
    const p = new URLSearchParams(search);
    if (open === key) p.delete('in'); else p.set('in', key);
    return `${path}?${p.toString()}`;
  };
  const label = (key: string) => (key === NONE ? t(groupBy === 'basis' ? 'inspectq.noBasis' : 'inspectq.noRequest') : name(key));
  return (
    <div className="table-wrap"><table className="read-groups">
      <caption className="sr-only">{t(groupBy === 'basis' ? 'inspectq.byBasis' : 'inspectq.byRequest')}</caption>
      <thead><tr>
        <th scope="col">{t(groupBy === 'basis' ? 'inspection.basis' : 'inspectq.request')}</th><th scope="col">{t('inspectq.reads')}</th>
        <th scope="col">{t('inspectq.people')}</th><th scope="col">{t('inspectq.refused')}</th><th scope="col">{t('inspectq.span')}</th>
      </tr></thead>
      <tbody>{groups.map((g) => (
        <tr key={g.key} className={open === g.key ? 'selected' : undefined}>
          <td><Link to={link(g.key)} aria-current={open === g.key ? 'true' : undefined}>{label(g.key)}</Link>
            {groupBy === 'request' && g.key !== NONE && <> · <Link to={`/app/requests/${encodeURIComponent(g.key)}`}>{t('inspectq.openRequest')}</Link></>}</td>
          <td>{g.reads}</td>
          <td><span translate="no">{[...g.people].sort().join('、')}</span></td>
          <td>{g.denied}</td>
          <td><Time value={g.first} /> 〜 <Time value={g.last} /></td>
        </tr>
      ))}</tbody>
    </table></div>
  );
}
