// Audited things in words: an object's kind with a link to its page (the id on hover and copied with a button), an
// action as resource and verb. Shared by the commission's inspection and audit screens.
import { useI18n } from '../i18n/index.js';
import { Link } from '../lib/router.js';

/** An audited object: its kind in words, a link to its page where there is one; the id on hover (and copied with the button). */
export function ObjectRef({ o }: { o: { type: string; id: string } }) {
  const { t, code } = useI18n();
  const path = objectPath(o);
  const kind = code('objectType.', o.type);
  return (
    <span title={o.id}>
      {path !== undefined ? <Link to={path}>{kind}</Link> : kind}{' '}
      <button type="button" className="link" onClick={() => void navigator.clipboard?.writeText(o.id)} aria-label={`${t('inspection.copyId')}: ${kind}`}>{t('inspection.copy')}</button>
    </span>
  );
}

/** The page an audited object opens on, where the dashboard has one. */
export function objectPath(o: { type: string; id: string }): string | undefined {
  const paths: Record<string, string> = {
    finding: '/app/findings/', case: '/app/cases/', measure: '/app/measures/', oversight_request: '/app/requests/', approval: '/app/approvals/',
    incident_report: '/app/incidents/', incident: '/app/incidents/', notification: '/app/notifications/',
  };
  const base = paths[o.type];
  return base === undefined ? undefined : `${base}${encodeURIComponent(o.id)}`;
}

/** An audited action in words: the resource and the verb (`findings:read` → 検知結果の閲覧). */
export function useActionLabel(): (action: string) => string {
  const { code, lang } = useI18n();
  return (action: string) => {
    const [resource = '', verb = ''] = action.split(':');
    const r = code('auditResource.', resource);
    const v = code('auditVerb.', verb);
    return lang === 'ja' ? `${r}の${v}` : `${r}: ${v}`;
  };
}
