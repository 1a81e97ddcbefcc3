// The application shell: skip link, header with navigation, language toggle and sign-out, and the routed screen.
import { lazy, Suspense, useEffect, useRef, useState, type ComponentType, type ReactNode } from 'react';
import { useI18n, type MessageKey } from './i18n/index.js';
import { Link, match, useRouter } from './lib/router.js';
import { hasRole, useSession, type Actor } from './lib/session.js';
import { Forbidden, Loading, PageTitle } from './components/ui.js';
import { NAV, menuFor } from './nav.js';
import { installFormChecks } from './lib/form-check.js';
import { SignIn } from './screens/sign-in.js';

// Each screen's module is its own chunk, loaded when first shown: a role downloads only the screens it opens.
type Screens = Record<string, unknown>;
function lazyScreen<P extends object>(load: () => Promise<Screens>, name: string): ComponentType<P> {
  return lazy(async () => ({ default: (await load())[name] as ComponentType<P> }));
}
const incidents = () => import('./screens/incidents.js');
const findings = () => import('./screens/findings.js');
const oversight = () => import('./screens/oversight.js');
const Home = lazyScreen(() => import('./screens/home.js'), 'Home');
const IncidentList = lazyScreen(incidents, 'IncidentList');
const FileIncident = lazyScreen(incidents, 'FileIncident');
const IncidentDetail = lazyScreen<{ id: string }>(incidents, 'IncidentDetail');
const Inbox = lazyScreen(() => import('./screens/inbox.js'), 'Inbox');
const FindingList = lazyScreen(findings, 'FindingList');
const FindingDetail = lazyScreen<{ id: string }>(findings, 'FindingDetail');
const Counters = lazyScreen(findings, 'Counters');
const MeasureList = lazyScreen(() => import('./screens/measures.js'), 'MeasureList');
const MeasureDetail = lazyScreen<{ id: string }>(() => import('./screens/measures.js'), 'MeasureDetail');
const RequestList = lazyScreen(() => import('./screens/requests.js'), 'RequestList');
const RequestDetail = lazyScreen<{ id: string }>(() => import('./screens/requests.js'), 'RequestDetail');
const NewRequest = lazyScreen(() => import('./screens/request-draft.js'), 'NewRequest');
const EditRequest = lazyScreen<{ id: string }>(() => import('./screens/request-draft.js'), 'EditRequest');
const ApprovalList = lazyScreen(() => import('./screens/approvals.js'), 'ApprovalList');
const ApprovalDetail = lazyScreen<{ id: string }>(() => import('./screens/approvals.js'), 'ApprovalDetail');
const CaseList = lazyScreen(() => import('./screens/cases.js'), 'CaseList');
const CaseDetail = lazyScreen<{ id: string }>(() => import('./screens/cases.js'), 'CaseDetail');
const EmergencyList = lazyScreen(oversight, 'EmergencyList');
const Inspection = lazyScreen(oversight, 'Inspection');
const DietReportScreen = lazyScreen(oversight, 'DietReportScreen');
const IntelFeed = lazyScreen(() => import('./screens/intel.js'), 'IntelFeed');
const Recalls = lazyScreen(() => import('./screens/recalls.js'), 'Recalls');
const Flows = lazyScreen(() => import('./screens/flows.js'), 'Flows');
const DraftList = lazyScreen(() => import('./screens/drafts.js'), 'DraftList');
const Notifications = lazyScreen(() => import('./screens/notifications.js'), 'Notifications');
const NotificationDetail = lazyScreen<{ id: string }>(() => import('./screens/notifications.js'), 'NotificationDetail');
const AuditLog = lazyScreen(() => import('./screens/audit.js'), 'AuditLog');
const Artifacts = lazyScreen(() => import('./screens/artifacts.js'), 'Artifacts');
const EntityPage = lazyScreen<{ kind: string; value: string }>(() => import('./screens/entity.js'), 'EntityPage');
const Transparency = lazyScreen(() => import('./screens/transparency.js'), 'Transparency');

interface Route { pattern: string; nav: string; render: (p: Record<string, string>) => ReactNode }

const ROUTES: Route[] = [
  { pattern: '/app', nav: '/app', render: () => <Home /> },
  { pattern: '/app/incidents', nav: '/app/incidents', render: () => <IncidentList /> },
  { pattern: '/app/incidents/new', nav: '/app/incidents/new', render: () => <FileIncident /> },
  { pattern: '/app/incidents/:id', nav: '/app/incidents', render: (p) => <IncidentDetail key={p['id']} id={p['id']!} /> },
  { pattern: '/app/notifications', nav: '/app/notifications', render: () => <Notifications /> },
  { pattern: '/app/notifications/:id', nav: '/app/notifications', render: (p) => <NotificationDetail key={p['id']} id={p['id']!} /> },
  { pattern: '/app/inbox', nav: '/app/inbox', render: () => <Inbox /> },
  { pattern: '/app/findings', nav: '/app/findings', render: () => <FindingList /> },
  { pattern: '/app/findings/:id', nav: '/app/findings', render: (p) => <FindingDetail key={p['id']} id={p['id']!} /> },
  { pattern: '/app/entities/:kind/:value', nav: '/app/findings', render: (p) => <EntityPage key={`${p['kind']}/${p['value']}`} kind={p['kind']!} value={p['value']!} /> },
  { pattern: '/app/cases', nav: '/app/cases', render: () => <CaseList /> },
  { pattern: '/app/cases/:id', nav: '/app/cases', render: (p) => <CaseDetail key={p['id']} id={p['id']!} /> },
  { pattern: '/app/counters', nav: '/app/counters', render: () => <Counters /> },
  { pattern: '/app/flows', nav: '/app/flows', render: () => <Flows /> },
  { pattern: '/app/drafts', nav: '/app/drafts', render: () => <DraftList /> },
  { pattern: '/app/measures', nav: '/app/measures', render: () => <MeasureList /> },
  { pattern: '/app/measures/:id', nav: '/app/measures', render: (p) => <MeasureDetail key={p['id']} id={p['id']!} /> },
  { pattern: '/app/requests', nav: '/app/requests', render: () => <RequestList /> },
  { pattern: '/app/requests/new', nav: '/app/requests/new', render: () => <NewRequest /> },
  { pattern: '/app/requests/:id/edit', nav: '/app/requests', render: (p) => <EditRequest key={p['id']} id={p['id']!} /> },
  { pattern: '/app/requests/:id', nav: '/app/requests', render: (p) => <RequestDetail key={p['id']} id={p['id']!} /> },
  { pattern: '/app/approvals', nav: '/app/approvals', render: () => <ApprovalList /> },
  { pattern: '/app/approvals/:id', nav: '/app/approvals', render: (p) => <ApprovalDetail key={p['id']} id={p['id']!} /> },
  { pattern: '/app/emergency', nav: '/app/emergency', render: () => <EmergencyList /> },
  { pattern: '/app/inspection', nav: '/app/inspection', render: () => <Inspection /> },
  { pattern: '/app/diet-report', nav: '/app/diet-report', render: () => <DietReportScreen /> },
  { pattern: '/app/audit', nav: '/app/audit', render: () => <AuditLog /> },
  { pattern: '/app/intel', nav: '/app/intel', render: () => <IntelFeed /> },
  { pattern: '/app/recalls', nav: '/app/recalls', render: () => <Recalls /> },
  { pattern: '/app/artifacts', nav: '/app/artifacts', render: () => <Artifacts /> },
];

function LanguageToggle() {
  const { lang, setLang, t } = useI18n();
  const other = lang === 'ja' ? 'en' : 'ja';
  return (
    <button type="button" className="lang" onClick={() => setLang(other)} lang={other} aria-label={t('lang.switchLabel')}>
      {t('lang.switchTo')}
    </button>
  );
}

/**
 * The main menu grouped by task: each group a button that opens its screens (one open at a time; Escape, a click
 * elsewhere or a navigation closes it). The group holding the current screen is marked.
 */
function Menu({ actor }: { actor: Actor }) {
  const { t } = useI18n();
  const { path } = useRouter();
  const [open, setOpen] = useState<string>();
  const ref = useRef<HTMLElement>(null);
  const { home, groups } = menuFor(actor);
  useEffect(() => setOpen(undefined), [path]);
  useEffect(() => {
    if (open === undefined) return;
    const away = (e: MouseEvent) => { if (ref.current !== null && !ref.current.contains(e.target as Node)) setOpen(undefined); };
    const esc = (e: KeyboardEvent) => { if (e.key === 'Escape') setOpen(undefined); };
    document.addEventListener('mousedown', away);
    document.addEventListener('keydown', esc);
    return () => { document.removeEventListener('mousedown', away); document.removeEventListener('keydown', esc); };
  }, [open]);
  const current = (to: string) => path === to || (to !== '/app' && path.startsWith(`${to}/`) && !NAV.some((n) => n.to !== to && n.to.startsWith(to) && path.startsWith(n.to)));
  return (
    <nav aria-label={t('a11y.mainNav')} ref={ref} className="menu">
      <ul>
        <li><Link to={home.to} className={path === home.to ? 'active' : undefined}>{t(home.label)}</Link></li>
        {groups.map((g) => {
          if (g.items.length === 1) {
            const n = g.items[0]!;
            return <li key={g.id}><Link to={n.to} className={current(n.to) ? 'active' : undefined}>{t(n.label)}</Link></li>;
          }
          const here = g.items.some((n) => current(n.to));
          return (
            <li key={g.id} className="group">
              <button type="button" aria-expanded={open === g.id} aria-controls={`menu-${g.id}`} className={here ? 'active' : undefined}
                onClick={() => setOpen(open === g.id ? undefined : g.id)}>{t(g.label)}<span aria-hidden="true"> ▾</span></button>
              <ul id={`menu-${g.id}`} hidden={open !== g.id}>
                {g.items.map((n) => (
                  <li key={n.to}><Link to={n.to} className={current(n.to) ? 'active' : undefined} aria-describedby={`hint-${g.id}-${n.label}`}>
                    {t(n.label)}<span className="hint" id={`hint-${g.id}-${n.label}`} aria-hidden="true">{t(n.hint)}</span></Link></li>
                ))}
              </ul>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}

function Header({ actor }: { actor?: Actor | undefined }) {
  const { t } = useI18n();
  const { signOut } = useSession();
  const { path } = useRouter();
  return (
    <header className="top" role="banner">
      <a className="skip" href="#main">{t('a11y.skip')}</a>
      <div className="brand"><Link to={actor === undefined ? '/app/transparency' : '/app'}>mamori <span lang="ja">守り</span></Link></div>
      {actor !== undefined && <Menu actor={actor} />}
      <div className="who">
        <LanguageToggle />
        {actor !== undefined ? (
          <>
            <span className="user"><span translate="no">{actor.username}</span> ({actor.roles.map((r) => t(`role.${r}` as MessageKey)).join(', ')})</span>
            <button type="button" onClick={() => void signOut()}>{t('signout')}</button>
          </>
        ) : path !== '/app/signin' && <Link to="/app/signin">{t('signin.title')}</Link>}
      </div>
    </header>
  );
}

function NotFound() {
  const { t } = useI18n();
  return <><PageTitle>{t('notFound.title')}</PageTitle><p>{t('notFound.body')}</p><Link to="/app">{t('nav.home')}</Link></>;
}

function Screen({ actor }: { actor: Actor }) {
  const { path } = useRouter();
  for (const r of ROUTES) {
    const params = match(r.pattern, path);
    if (params === undefined) continue;
    const item = NAV.find((n) => n.to === r.nav);
    // Screens this role has no use for say so plainly instead of showing a page of errors.
    if (item !== undefined && item.roles !== 'all' && !hasRole(actor, ...item.roles)) return <Forbidden />;
    return <>{r.render(params)}</>;
  }
  return <NotFound />;
}

export function App() {
  const { state } = useSession();
  const { path, navigate, search } = useRouter();
  const { t } = useI18n();
  // `/` and the sign-in page lead to the role's home once signed in.
  useEffect(() => {
    if (path === '/' ) navigate('/app', { replace: true });
    else if (state.status === 'signed-in' && path === '/app/signin') navigate(search.get('next') ?? '/app', { replace: true });
  }, [path, state.status, navigate, search]);
  useEffect(() => {
    document.title = `mamori 守り — ${t('app.tagline')}`;
  }, [t]);
  // Every form's own field constraints answer in the page, in the reader's language (not the browser's bubble).
  const tRef = useRef(t);
  tRef.current = t;
  useEffect(() => installFormChecks(() => tRef.current), []);

  const actor = state.status === 'signed-in' ? state.actor : undefined;
  let body: ReactNode;
  if (path === '/app/transparency') body = <Transparency />;
  else if (state.status === 'loading') body = <Loading />;
  else if (state.status === 'anonymous') body = <SignIn reason={state.reason} />;
  else body = <Screen actor={state.actor} />;
  return (
    <>
      <Header actor={actor} />
      <main id="main" tabIndex={-1}><Suspense fallback={<Loading />}>{body}</Suspense></main>
      <footer role="contentinfo"><p>{t('footer.text')}</p><p><Link to="/app/transparency">{t('nav.transparency')}</Link></p></footer>
    </>
  );
}
