// Links to findings, requests and approvals by name (kind and subject, title), the id on hover; roles that may not read
// the thing get its kind in words instead of a call the API would refuse.
import { useI18n } from '../i18n/index.js';
import { Link } from '../lib/router.js';
import { hasRole, useActor } from '../lib/session.js';
import { useApi } from '../lib/use-api.js';
import { useBasisNames } from '../lib/names.js';

/** A finding as its kind and subject (`ビーコン 203.0.113.66`). */
export function FindingRef({ id }: { id: string }) {
  const { t, code } = useI18n();
  const may = hasRole(useActor(), 'analyst', 'nco_director', 'commissioner');
  const f = useApi<{ kind: string; subject: { value: string } }>(may ? `/api/v1/findings/${encodeURIComponent(id)}` : null);
  const name = f.status === 'ok' ? `${code('findingKind.', f.data.kind)} ${f.data.subject.value}` : t('ref.finding');
  return may ? <Link to={`/app/findings/${encodeURIComponent(id)}`} title={id}>{name}</Link> : <span title={id}>{name}</span>;
}

/** A request to the commission by its title. */
export function RequestRef({ id }: { id: string }) {
  const { t } = useI18n();
  const may = hasRole(useActor(), 'analyst', 'nco_director', 'commissioner');
  const r = useApi<{ request: { title: string } }>(may ? `/api/v1/oversight/requests/${encodeURIComponent(id)}` : null);
  const name = r.status === 'ok' ? r.data.request.title : t('ref.request');
  return <Link to={`/app/requests/${encodeURIComponent(id)}`} title={id}>{name}</Link>;
}

/** An approval, named as such (its page says what it authorizes). */
export function ApprovalRef({ id }: { id: string }) {
  const { t } = useI18n();
  return <Link to={`/app/approvals/${encodeURIComponent(id)}`} title={id}>{t('ref.approval')}</Link>;
}

/** A legal basis by name for roles that may list them (the id on hover); others read that it is a legal basis. */
export function BasisRef({ id }: { id: string }) {
  const may = hasRole(useActor(), 'analyst', 'nco_director', 'commissioner');
  const name = useBasisNames(may);
  return <span title={id}>{name(id)}</span>;
}

/** The emergency action an after-the-fact review is about, linked to the emergency reviews. */
export function EmergencyRef({ id }: { id: string }) {
  const { t } = useI18n();
  return <Link to="/app/emergency" title={id}>{t('ref.emergency')}</Link>;
}
