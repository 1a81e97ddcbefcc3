// The role's home: what this person can do here, as links.
import { useI18n, type MessageKey } from '../i18n/index.js';
import { Link } from '../lib/router.js';
import { useActor } from '../lib/session.js';
import { PageTitle } from '../components/ui.js';
import { navFor } from '../nav.js';

export function Home() {
  const { t } = useI18n();
  const actor = useActor();
  const items = navFor(actor).filter((n) => n.to !== '/app');
  return (
    <>
      <PageTitle>{t('home.title', { name: actor.username })}</PageTitle>
      <p>{t('home.roles', { roles: actor.roles.map((r) => t(`role.${r}` as MessageKey)).join('、') })}</p>
      {items.length === 0 ? <p className="state empty">{t('home.nothing')}</p> : (
        <ul className="cards">
          {items.map((n) => (
            <li key={n.to}><Link to={n.to}><strong>{t(n.label)}</strong><span>{t(n.hint)}</span></Link></li>
          ))}
        </ul>
      )}
    </>
  );
}
