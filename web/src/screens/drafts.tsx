// Analyst: drafting STIX intelligence from a finding, a case or an incident report (sanitized by the server);
// the drafts with what sanitization removed; an NCO director other than the author releases one to sharing groups.
import { useState, type FormEvent, type ReactNode } from 'react';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { api } from '../lib/api.js';
import { Link, useRouter } from '../lib/router.js';
import { hasRole, useActor } from '../lib/session.js';
import { useAllPages } from '../lib/pages.js';
import { useSubmit } from '../lib/use-submit.js';
import { Async, Badge, Facts, FormMessage, PageTitle, Time } from '../components/ui.js';

const TLPS = ['clear', 'green', 'amber', 'amber+strict', 'red'] as const;
type Source = 'finding' | 'case' | 'report';

interface Draft {
  id: string;
  title: string;
  tlp: string;
  status: 'draft' | 'released';
  sourceRef: { type: string; id: string };
  objects: Record<string, unknown>[];
  removed: { path: string; reason: string }[];
  redRecipients: string[];
  createdBy: string;
  createdAt: string;
  releasedBy: string | null;
  releasedAt: string | null;
  releasedTo: string[];
}
interface Group { id: string; name: string; description: string }

const SOURCE_PATH: Record<Source, string> = { finding: '/app/findings/', case: '/app/cases/', report: '/app/incidents/' };
const tlpTone = (tlp: string) => (tlp === 'red' ? 'bad' : tlp.startsWith('amber') ? 'warn' : tlp === 'green' ? 'ok' : 'info');

/** Drafts intelligence from a source; the server takes the indicators from it and sanitizes them. */
export function DraftIntelForm({ source, id, defaultTitle = '' }: { source: Source; id: string; defaultTitle?: string }) {
  const { t } = useI18n();
  const { navigate } = useRouter();
  const submit = useSubmit();
  const [title, setTitle] = useState(defaultTitle);
  const [tlp, setTlp] = useState<(typeof TLPS)[number]>('amber');
  const [red, setRed] = useState('');
  const run = submit.run(async () => {
    const body = { ...(title.trim() === '' ? {} : { title: title.trim() }), tlp, ...(tlp === 'red' ? { redRecipients: red.split(/[\s,]+/).filter((x) => x !== '') } : {}) };
    const res = await api<{ draft: { id: string } }>(`/api/v1/sharing/drafts/from-${source}/${encodeURIComponent(id)}`, { method: 'POST', body });
    navigate(`/app/drafts?drafted=${encodeURIComponent(res.draft.id)}`);
  });
  const p = `draft-${source}`;
  return (
    <section aria-labelledby={`${p}-title`} className="action-form">
      <h2 id={`${p}-title`}>{t('drafts.new')}</h2>
      <p>{t('drafts.newIntro')}</p>
      <form className="form" onSubmit={run}>
        <label htmlFor={`${p}-name`}>{t('drafts.name')}</label>
        <input id={`${p}-name`} maxLength={300} value={title} onChange={(e) => setTitle(e.target.value)} aria-describedby={`${p}-name-help`} />
        <p id={`${p}-name-help`} className="help">{t('drafts.nameHelp')}</p>
        <label htmlFor={`${p}-tlp`}>{t('drafts.tlp')}</label>
        <select id={`${p}-tlp`} value={tlp} onChange={(e) => setTlp(e.target.value as typeof tlp)} aria-describedby={`${p}-tlp-help`}>
          {TLPS.map((x) => <option key={x} value={x}>{t(`drafts.tlp.${x}` as MessageKey)}</option>)}
        </select>
        <p id={`${p}-tlp-help`} className="help">{t('drafts.tlpHelp')}</p>
        {tlp === 'red' && (
          <>
            <label htmlFor={`${p}-red`}>{t('drafts.red')}</label>
            <input id={`${p}-red`} required value={red} onChange={(e) => setRed(e.target.value)} aria-describedby={`${p}-red-help`} />
            <p id={`${p}-red-help`} className="help">{t('drafts.redHelp')}</p>
          </>
        )}
        <FormMessage error={submit.error} />
        <button type="submit" disabled={submit.busy}>{submit.busy ? t('state.working') : t('drafts.submit')}</button>
      </form>
    </section>
  );
}

/** The indicators of a draft (pattern and name), from its STIX objects. */
function Indicators({ d }: { d: Draft }) {
  const { t } = useI18n();
  const inds = d.objects.filter((o) => o['type'] === 'indicator');
  if (inds.length === 0) return <p>{t('drafts.noIndicators')}</p>;
  return <ul className="plain">{inds.map((o) => <li key={String(o['id'])}><code>{String(o['pattern'] ?? o['name'] ?? o['id'])}</code></li>)}</ul>;
}

/** An NCO director other than the author releases the draft to one or more sharing groups. */
function ReleaseForm({ d, groups, onReleased }: { d: Draft; groups: Group[]; onReleased: () => void }) {
  const { t } = useI18n();
  const submit = useSubmit();
  const [chosen, setChosen] = useState<string[]>([]);
  const run = (e: FormEvent) => {
    e.preventDefault();
    if (chosen.length === 0) return submit.fail(t('drafts.chooseGroup'));
    return void submit.run(async () => {
      await api(`/api/v1/sharing/drafts/${encodeURIComponent(d.id)}/release`, { method: 'POST', body: { groupIds: chosen } });
      onReleased();
    })();
  };
  return (
    <form className="form inline-form" onSubmit={run}>
      <fieldset>
        <legend>{t('drafts.releaseTo', { title: d.title })}</legend>
        {groups.map((g) => (
          <label key={g.id} className="check"><input type="checkbox" checked={chosen.includes(g.id)} onChange={(e) => setChosen(e.target.checked ? [...chosen, g.id] : chosen.filter((x) => x !== g.id))} /> {g.name}</label>
        ))}
      </fieldset>
      <FormMessage error={submit.error} />
      <button type="submit" disabled={submit.busy}>{submit.busy ? t('state.working') : t('drafts.release', { title: d.title })}</button>
    </form>
  );
}

export function DraftList() {
  const { t } = useI18n();
  const actor = useActor();
  const { search } = useRouter();
  const drafts = useAllPages<Draft>('/api/v1/sharing/drafts');
  const director = hasRole(actor, 'nco_director');
  const groups = useAllPages<Group>('/api/v1/sharing/groups');
  const [released, setReleased] = useState<string>();
  const drafted = search.get('drafted');
  const groupName = (id: string) => (groups.status === 'ok' ? groups.data.items.find((g) => g.id === id)?.name : undefined) ?? id;
  return (
    <>
      <PageTitle>{t('drafts.title')}</PageTitle>
      <p>{t('drafts.intro')}</p>
      {drafted !== null && <p className="notice success" role="status">{t('drafts.drafted')}</p>}
      {released !== undefined && <p className="notice success" role="status">{t('drafts.released', { title: released })}</p>}
      <Async value={drafts} isEmpty={(d) => d.items.length === 0} empty={t('drafts.empty')}>
        {(d) => (
          <ul className="draft-list plain">
            {[...d.items].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map((x) => (
              <li key={x.id} className={`panel${x.id === drafted ? ' highlight' : ''}`}>
                <h2>{x.title}</h2>
                <Facts rows={[
                  [t('drafts.status'), x.status === 'released' ? <Badge tone="ok">{t('drafts.status.released')}</Badge> : <Badge tone="warn">{t('drafts.status.draft')}</Badge>],
                  [t('drafts.tlp'), <Badge tone={tlpTone(x.tlp)}>{`TLP:${x.tlp.toUpperCase()}`}</Badge>],
                  [t('drafts.source'), SOURCE_PATH[x.sourceRef.type as Source] !== undefined ? <Link to={`${SOURCE_PATH[x.sourceRef.type as Source]}${x.sourceRef.id}`}>{t(`drafts.source.${x.sourceRef.type}` as MessageKey)}</Link> : x.sourceRef.type],
                  [t('drafts.createdAt'), <><Time value={x.createdAt} />{x.createdBy === actor.id ? ` (${t('requests.you')})` : ''}</>],
                  [t('drafts.indicators'), <Indicators d={x} />],
                  [t('drafts.removed'), x.removed.length === 0 ? t('drafts.nothingRemoved') : <ul className="plain">{x.removed.map((r, i) => <li key={i}><code>{r.path}</code>: {r.reason}</li>)}</ul>],
                  ...(x.status === 'released' ? [[t('drafts.releasedAt'), <><Time value={x.releasedAt} /> → {x.releasedTo.map(groupName).join(', ')}</>] as [string, ReactNode]] : []),
                ]} />
                {director && x.status === 'draft' && (x.createdBy === actor.id
                  ? <p className="help">{t('drafts.notOwn')}</p>
                  : groups.status === 'ok' ? <ReleaseForm d={x} groups={groups.data.items} onReleased={() => { setReleased(x.title); drafts.reload(); }} /> : <Async value={groups}>{() => null}</Async>)}
              </li>
            ))}
          </ul>
        )}
      </Async>
    </>
  );
}
