// Council: the intelligence of a sharing group (the caller's copy, as TLP 2.0 lets it through): searched, filtered by
// TLP and type, sorted and paged; selected objects exported as a STIX bundle marked for the reader; sightings and
// false positives reported, with each indicator's sighting history.
import { useMemo, useState, type FormEvent } from 'react';
import type { RowSelectionState } from '@tanstack/react-table';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { api } from '../lib/api.js';
import { useRouter } from '../lib/router.js';
import { hasRole, useActor } from '../lib/session.js';
import { useApi } from '../lib/use-api.js';
import { useAllPages } from '../lib/pages.js';
import { useSubmit } from '../lib/use-submit.js';
import { Async, Badge, Empty, FormMessage, PageTitle, Time } from '../components/ui.js';
import { DataTable, type Column } from '../components/data-table.js';

interface Group { id: string; name: string; description: string; createdAt: string; members: { orgId: string; canRead: boolean; canWrite: boolean }[] }
interface StixObject {
  type: string;
  id: string;
  name?: string;
  description?: string;
  pattern?: string;
  confidence?: number;
  valid_from?: string;
  valid_until?: string;
  published?: string;
  modified?: string;
  object_marking_refs?: string[];
  object_refs?: string[];
}

/** TLP 2.0 marking definitions (and the TLP 1.0 ones mamori may receive from feeds). */
const TLP_BY_MARKING: Record<string, Tlp> = {
  'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487': 'clear',
  'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb': 'green',
  'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421': 'amber',
  'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003': 'amber+strict',
  'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1': 'red',
  'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9': 'clear',
  'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da': 'green',
  'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82': 'amber',
  'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed': 'red',
};
const TLPS = ['clear', 'green', 'amber', 'amber+strict', 'red'] as const;
type Tlp = (typeof TLPS)[number];
const TLP_TONE: Record<Tlp, 'ok' | 'warn' | 'bad' | 'info' | 'muted'> = { clear: 'muted', green: 'ok', amber: 'warn', 'amber+strict': 'warn', red: 'bad' };

/** The TLP of an object; unmarked intelligence is treated as AMBER, as the server does. */
function tlpOf(o: StixObject): Tlp {
  for (const ref of o.object_marking_refs ?? []) {
    const t = TLP_BY_MARKING[ref];
    if (t !== undefined) return t;
  }
  return 'amber';
}

function TlpBadge({ tlp }: { tlp: Tlp }) {
  const { t } = useI18n();
  return <Badge tone={TLP_TONE[tlp]}>{t(`tlp.${tlp}` as MessageKey)}</Badge>;
}

interface Sighting { at: string; outcome: 'confirmed' | 'false_positive'; count: number; confidenceBefore: number; confidenceAfter: number; reporterOrg: string | null; ownOrg: boolean }

/** The sighting history of one indicator (other members' reports are counted, not named). */
function SightingHistory({ indicatorId, tick }: { indicatorId: string; tick: number }) {
  const { t } = useI18n();
  const history = useApi<{ sightings: Sighting[] }>(`/api/v1/sharing/indicators/${encodeURIComponent(indicatorId)}/sightings?v=${tick}`);
  return (
    <section aria-labelledby="history-h"><h3 id="history-h">{t('intel.history')}</h3>
      <Async value={history} isEmpty={(d) => d.sightings.length === 0} empty={t('intel.noHistory')}>
        {(d) => (
          <ul className="plain">{d.sightings.map((h, i) => (
            <li key={i}><Time value={h.at} /> — {t(`intel.outcome.${h.outcome}`)} ×{h.count}, {t('entity.confidenceChange', { before: h.confidenceBefore, after: h.confidenceAfter })}
              {' '}({h.ownOrg ? t('intel.byYou') : h.reporterOrg ?? t('intel.byMember')})</li>
          ))}</ul>
        )}
      </Async>
    </section>
  );
}

function SightingForm({ indicators }: { indicators: StixObject[] }) {
  const { t, code } = useI18n();
  const submit = useSubmit();
  const [indicatorId, setIndicatorId] = useState(indicators[0]?.id ?? '');
  const [outcome, setOutcome] = useState<'confirmed' | 'false_positive'>('confirmed');
  const [count, setCount] = useState('1');
  const [countError, setCountError] = useState<string>();
  const [tick, setTick] = useState(0);
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const n = Number(count);
    if (!Number.isInteger(n) || n < 1 || n > 1_000_000) { setCountError(t('intel.countInvalid')); document.getElementById('sighting-count')?.focus(); return; }
    setCountError(undefined);
    void submit.run(async () => {
      await api('/api/v1/sharing/sightings', { method: 'POST', body: { indicatorId, outcome, count: n } });
      setTick((x) => x + 1);
    }, t('intel.sightingSent'))();
  };
  return (
    <section aria-labelledby="sighting-h" className="action-form">
      <h2 id="sighting-h">{t('intel.sighting')}</h2>
      <p>{t('intel.sightingHelp')}</p>
      <form onSubmit={onSubmit} className="form" noValidate>
        <label htmlFor="sighting-indicator">{t('intel.indicator')}</label>
        <select id="sighting-indicator" required value={indicatorId} onChange={(e) => setIndicatorId(e.target.value)}>
          {indicators.map((i) => <option key={i.id} value={i.id}>{objectName(i.name, code) ?? i.pattern ?? t('intel.unnamed')}</option>)}
        </select>
        <fieldset><legend>{t('intel.outcome')}</legend>
          {(['confirmed', 'false_positive'] as const).map((v) => (
            <label key={v}><input type="radio" name="sighting-outcome" value={v} checked={outcome === v} onChange={() => setOutcome(v)} /> {t(`intel.outcome.${v}`)}</label>
          ))}
        </fieldset>
        <label htmlFor="sighting-count">{t('intel.count')}</label>
        <input id="sighting-count" type="number" min={1} max={1000000} step={1} required value={count} onChange={(e) => setCount(e.target.value)} aria-invalid={countError !== undefined} aria-describedby={countError !== undefined ? 'sighting-count-error' : undefined} />
        {countError !== undefined && <p id="sighting-count-error" className="field-error" role="alert">{countError}</p>}
        <FormMessage error={submit.error} success={submit.success} />
        <button type="submit" disabled={submit.busy || indicatorId === ''}>{submit.busy ? t('state.working') : t('intel.sendSighting')}</button>
      </form>
      {indicatorId !== '' && <SightingHistory key={indicatorId} indicatorId={indicatorId} tick={tick} />}
    </section>
  );
}

/** Saves text as a file in the browser. */
function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function Feed({ group }: { group: Group }) {
  const { t, code } = useI18n();
  const actor = useActor();
  const { path, search, navigate } = useRouter();
  const submit = useSubmit();
  const tlp = (search.get('tlp') ?? '') as '' | Tlp;
  const type = search.get('type') ?? '';
  const [selected, setSelected] = useState<RowSelectionState>({});
  const bundle = useApi<{ objects?: StixObject[] }>(`/api/v1/sharing/groups/${encodeURIComponent(group.id)}/bundle`);
  const setParam = (k: string, v: string) => {
    const p = new URLSearchParams(search);
    if (v === '') p.delete(k); else p.set(k, v);
    p.delete('page');
    navigate(`${path}${p.size > 0 ? `?${p.toString()}` : ''}`, { replace: true });
  };
  const columns = useMemo<Column<StixObject>[]>(() => [
    { id: 'name', header: t('intel.name'), value: (o) => `${o.name ?? ''} ${o.pattern ?? ''} ${o.description ?? ''}`.trim(), cell: (o) => (
      <>{objectName(o.name, code) ?? t('intel.unnamed')}{o.pattern !== undefined && <><br /><code>{o.pattern}</code></>}{o.description !== undefined && <p className="help">{o.description}</p>}</>
    ) },
    { id: 'type', header: t('intel.type'), value: (o) => code('stixType.', o.type) },
    { id: 'tlp', header: 'TLP', value: (o) => TLPS.indexOf(tlpOf(o)), numeric: true, cell: (o) => <TlpBadge tlp={tlpOf(o)} /> },
    { id: 'confidence', header: t('intel.confidence'), value: (o) => o.confidence ?? -1, numeric: true, cell: (o) => (o.confidence === undefined ? '—' : String(o.confidence)) },
    { id: 'validFrom', header: t('intel.validFrom'), value: (o) => Date.parse(o.valid_from ?? o.published ?? o.modified ?? '') || 0, numeric: true, cell: (o) => <Time value={o.valid_from ?? o.published ?? o.modified} /> },
    { id: 'validUntil', header: t('intel.validUntil'), value: (o) => Date.parse(o.valid_until ?? '') || 0, numeric: true, cell: (o) => <Time value={o.valid_until} /> },
  ], [t, code]);
  return (
    <Async value={bundle}>
      {(b) => {
        const intel = (b.objects ?? []).filter((o) => o.type !== 'identity' && o.type !== 'marking-definition');
        const shown = intel.filter((o) => (tlp === '' || tlpOf(o) === tlp) && (type === '' || o.type === type));
        const indicators = intel.filter((o) => o.type === 'indicator');
        const ids = Object.keys(selected).filter((id) => selected[id] === true && intel.some((o) => o.id === id));
        const types = [...new Set(intel.map((o) => o.type))].sort();
        const exportSelected = submit.run(async () => {
          // The server marks the copy for this reader (every exit is marked per recipient) and audits the export.
          const text = await api<string>(`/api/v1/sharing/groups/${encodeURIComponent(group.id)}/bundle?ids=${ids.map(encodeURIComponent).join(',')}`, { text: true });
          download(`${group.name.replace(/[^\w.-]+/g, '_')}-${ids.length}.stix.json`, text, 'application/stix+json');
        }, t('intel.exported', { n: ids.length }));
        const toolbar = (
          <>
            <span><label htmlFor="tlp-filter">{t('intel.tlpFilter')}</label>
              <select id="tlp-filter" value={tlp} onChange={(e) => setParam('tlp', e.target.value)}>
                <option value="">{t('requests.all')}</option>
                {TLPS.map((l) => <option key={l} value={l}>{t(`tlp.${l}` as MessageKey)}</option>)}
              </select></span>
            <span><label htmlFor="type-filter">{t('intel.type')}</label>
              <select id="type-filter" value={type} onChange={(e) => setParam('type', e.target.value)}>
                <option value="">{t('requests.all')}</option>
                {types.map((x) => <option key={x} value={x}>{code('stixType.', x)}</option>)}
              </select></span>
            <span><button type="button" onClick={() => void exportSelected()} disabled={ids.length === 0 || submit.busy}>{t('intel.export', { n: ids.length })}</button></span>
          </>
        );
        return (
          <>
            {intel.length === 0 ? <Empty>{t('intel.empty')}</Empty> : (
              <DataTable rows={shown} columns={columns} rowId={(o) => o.id} caption={t('intel.feedOf', { group: group.name })} defaultSort={[{ id: 'validFrom', desc: true }]}
                empty={t('intel.noneAtTlp')} toolbar={toolbar}
                selection={{ selected, onChange: setSelected, label: (o) => t('intel.selectOne', { name: objectName(o.name, code) ?? o.pattern ?? t('intel.unnamed') }) }} />
            )}
            <FormMessage error={submit.error} success={submit.success} />
            <p className="help">{t('intel.exportHelp')}</p>
            {hasRole(actor, 'operator', 'analyst', 'nco_director', 'council_member') && indicators.length > 0 && <SightingForm key={group.id} indicators={indicators} />}
          </>
        );
      }}
    </Async>
  );
}


/** An object's name; the names the server gives indicators it drafts (`ipv4 203.0.113.45`) with the kind in words. */
function objectName(name: string | undefined, code: (prefix: string, c: string) => string): string | undefined {
  const m = name === undefined ? null : /^(ipv4|ipv6|domain|md5|sha1|sha256) (\S+)$/.exec(name);
  return m === null ? name : `${code('indicatorKind.', m[1]!)} ${m[2]!}`;
}

export function IntelFeed() {
  const { t } = useI18n();
  const groups = useAllPages<Group>('/api/v1/sharing/groups');
  const [chosen, setChosen] = useState<string>();
  return (
    <>
      <PageTitle>{t('intel.title')}</PageTitle>
      <p>{t('intel.intro')}</p>
      <Async value={groups} isEmpty={(d) => d.items.length === 0} empty={t('intel.noGroups')}>
        {(d) => {
          const group = d.items.find((g) => g.id === chosen) ?? d.items[0]!;
          return (
            <>
              <div className="filters">
                <label htmlFor="group-select">{t('intel.group')}</label>
                <select id="group-select" value={group.id} onChange={(e) => setChosen(e.target.value)} aria-describedby="group-desc">
                  {d.items.map((g) => <option key={g.id} value={g.id}>{g.name}</option>)}
                </select>
              </div>
              <p id="group-desc" className="help">{group.description}</p>
              <Feed key={group.id} group={group} />
            </>
          );
        }}
      </Async>
    </>
  );
}
