// Council: the intelligence feed of a sharing group (the caller's copy, as TLP 2.0 lets it through), filtered
// by TLP, and reporting a sighting or a false positive of an indicator.
import { useState, type FormEvent } from 'react';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { ja } from '../i18n/ja.js';
import { api } from '../lib/api.js';
import { hasRole, useActor } from '../lib/session.js';
import { useApi } from '../lib/use-api.js';
import { Async, Badge, Empty, FormMessage, PageTitle, Time, useErrorText } from '../components/ui.js';

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

function SightingForm({ indicators }: { indicators: StixObject[] }) {
  const { t } = useI18n();
  const errorText = useErrorText();
  const [indicatorId, setIndicatorId] = useState(indicators[0]?.id ?? '');
  const [outcome, setOutcome] = useState<'confirmed' | 'false_positive'>('confirmed');
  const [count, setCount] = useState('1');
  const [error, setError] = useState<string>();
  const [success, setSuccess] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setSuccess(undefined);
    try {
      await api('/api/v1/sharing/sightings', { method: 'POST', body: { indicatorId, outcome, count: Number(count) } });
      setSuccess(t('intel.sightingSent'));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="sighting-h" className="action-form">
      <h2 id="sighting-h">{t('intel.sighting')}</h2>
      <p>{t('intel.sightingHelp')}</p>
      <form onSubmit={submit} className="form">
        <label htmlFor="sighting-indicator">{t('intel.indicator')}</label>
        <select id="sighting-indicator" required value={indicatorId} onChange={(e) => setIndicatorId(e.target.value)}>
          {indicators.map((i) => <option key={i.id} value={i.id}>{i.name ?? i.pattern ?? i.id}</option>)}
        </select>
        <fieldset><legend>{t('intel.outcome')}</legend>
          {(['confirmed', 'false_positive'] as const).map((v) => (
            <label key={v}><input type="radio" name="sighting-outcome" value={v} checked={outcome === v} onChange={() => setOutcome(v)} /> {t(`intel.outcome.${v}`)}</label>
          ))}
        </fieldset>
        <label htmlFor="sighting-count">{t('intel.count')}</label>
        <input id="sighting-count" type="number" min={1} max={1000000} step={1} required value={count} onChange={(e) => setCount(e.target.value)} />
        <FormMessage error={error} success={success} />
        <button type="submit" disabled={busy || indicatorId === ''}>{busy ? t('state.working') : t('intel.sendSighting')}</button>
      </form>
    </section>
  );
}

function Feed({ group }: { group: Group }) {
  const { t } = useI18n();
  const actor = useActor();
  const [tlp, setTlp] = useState<'' | Tlp>('');
  const bundle = useApi<{ objects?: StixObject[] }>(`/api/v1/sharing/groups/${encodeURIComponent(group.id)}/bundle`);
  return (
    <Async value={bundle}>
      {(b) => {
        const intel = (b.objects ?? []).filter((o) => o.type !== 'identity' && o.type !== 'marking-definition');
        const shown = intel.filter((o) => tlp === '' || tlpOf(o) === tlp);
        const indicators = intel.filter((o) => o.type === 'indicator');
        return (
          <>
            <div className="filters">
              <label htmlFor="tlp-filter">{t('intel.tlpFilter')}</label>
              <select id="tlp-filter" value={tlp} onChange={(e) => setTlp(e.target.value as '' | Tlp)}>
                <option value="">{t('requests.all')}</option>
                {TLPS.map((l) => <option key={l} value={l}>{t(`tlp.${l}` as MessageKey)}</option>)}
              </select>
            </div>
            {shown.length === 0 ? <Empty>{intel.length === 0 ? t('intel.empty') : t('intel.noneAtTlp')}</Empty> : (
              <div className="table-wrap"><table>
                <caption className="sr-only">{t('intel.feedOf', { group: group.name })}</caption>
                <thead><tr><th scope="col">{t('intel.name')}</th><th scope="col">{t('intel.type')}</th><th scope="col">TLP</th><th scope="col">{t('intel.confidence')}</th><th scope="col">{t('intel.validFrom')}</th><th scope="col">{t('intel.validUntil')}</th></tr></thead>
                <tbody>{shown.map((o) => (
                  <tr key={o.id}>
                    <td>{o.name ?? o.id}{o.pattern !== undefined && <><br /><code>{o.pattern}</code></>}{o.description !== undefined && <p className="help">{o.description}</p>}</td>
                    <td>{`stixType.${o.type}` in ja ? t(`stixType.${o.type}` as MessageKey) : <code>{o.type}</code>}</td>
                    <td><TlpBadge tlp={tlpOf(o)} /></td>
                    <td>{o.confidence ?? '—'}</td>
                    <td><Time value={o.valid_from ?? o.published ?? o.modified} /></td>
                    <td><Time value={o.valid_until} /></td>
                  </tr>
                ))}</tbody>
              </table></div>
            )}
            {hasRole(actor, 'operator', 'analyst', 'nco_director', 'council_member') && indicators.length > 0 && <SightingForm key={group.id} indicators={indicators} />}
          </>
        );
      }}
    </Async>
  );
}

export function IntelFeed() {
  const { t } = useI18n();
  const groups = useApi<{ groups: Group[] }>('/api/v1/sharing/groups');
  const [chosen, setChosen] = useState<string>();
  return (
    <>
      <PageTitle>{t('intel.title')}</PageTitle>
      <p>{t('intel.intro')}</p>
      <Async value={groups} isEmpty={(d) => d.groups.length === 0} empty={t('intel.noGroups')}>
        {(d) => {
          const group = d.groups.find((g) => g.id === chosen) ?? d.groups[0]!;
          return (
            <>
              <div className="filters">
                <label htmlFor="group-select">{t('intel.group')}</label>
                <select id="group-select" value={group.id} onChange={(e) => setChosen(e.target.value)} aria-describedby="group-desc">
                  {d.groups.map((g) => <option key={g.id} value={g.id}>{g.name}</option>)}
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
