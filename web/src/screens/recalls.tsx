// Recall notices: released intelligence whose data was purged (a basis revoked, refused or past retention). A council
// member's organization deletes the objects and confirms it here (audited); the NCO and the commission track every notice.
import { useState } from 'react';
import { useI18n } from '../i18n/index.js';
import { api } from '../lib/api.js';
import { basisLabel, type BasisFacts } from '../lib/names.js';
import { useRouter } from '../lib/router.js';
import { formatJst } from '../lib/time.js';
import { useCursorList } from '../lib/use-cursor-list.js';
import { MoreRows } from '../components/data-table.js';
import { Async, Badge, FormMessage, PageTitle, Time, useErrorText } from '../components/ui.js';

interface RecallItem {
  id: string; stixIds: string[]; createdAt: string; acknowledgedAt: string | null;
  recipientName: string | null; ownOrg: boolean; basis: BasisFacts | null; acknowledgedByName: string | null; objectTypes: Record<string, number>;
}

export function Recalls() {
  const { t, code } = useI18n();
  const errorText = useErrorText();
  const { path, search, navigate } = useRouter();
  const all = search.get('state') === 'all';
  const list = useCursorList<RecallItem>(`/api/v1/intel/recalls?state=${all ? 'all' : 'pending'}`, 50);
  const [error, setError] = useState<string>();
  const [done, setDone] = useState<string>();
  const [busy, setBusy] = useState<string>();
  const acknowledge = async (id: string) => {
    setError(undefined);
    setDone(undefined);
    setBusy(id);
    try {
      await api(`/api/v1/intel/recalls/${encodeURIComponent(id)}/acknowledge`, { method: 'POST', body: {} });
      setDone(t('recalls.done'));
      list.reload();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(undefined);
    }
  };
  const show = (state: 'pending' | 'all') => navigate(`${path}${state === 'all' ? '?state=all' : ''}`, { replace: true });
  const basisName = (b: BasisFacts | null) => (b === null ? t('names.unknownBasis') : basisLabel(b, (k) => code('basisKind.', k), (from, to) => t('names.period', { from, to })));
  return (
    <>
      <PageTitle>{t('recalls.title')}</PageTitle>
      <p>{t('recalls.intro')}</p>
      <fieldset className="filters">
        <legend>{t('recalls.filter')}</legend>
        <label className="check"><input type="radio" name="recall-state" checked={!all} onChange={() => show('pending')} /> {t('recalls.filter.pending')}</label>
        <label className="check"><input type="radio" name="recall-state" checked={all} onChange={() => show('all')} /> {t('recalls.filter.all')}</label>
      </fieldset>
      <FormMessage error={error} success={done} />
      <Async value={list.state} isEmpty={(d) => d.items.length === 0} empty={t('recalls.none')}>
        {(d) => (
          <>
            <div className="table-wrap"><table>
              <caption className="sr-only">{t('recalls.caption')}</caption>
              <thead><tr>
                <th scope="col">{t('recalls.created')}</th><th scope="col">{t('recalls.recipient')}</th><th scope="col">{t('recalls.basis')}</th>
                <th scope="col">{t('recalls.objects')}</th><th scope="col">{t('recalls.state')}</th>
              </tr></thead>
              <tbody>{d.items.map((r) => (
                <tr key={r.id}>
                  <td><Time value={r.createdAt} /></td>
                  <td>{r.ownOrg ? t('recalls.yourOrg') : r.recipientName ?? t('recalls.otherOrg')}</td>
                  <td>{basisName(r.basis)}</td>
                  <td>
                    {Object.entries(r.objectTypes).map(([type, n]) => `${code('stixType.', type)} ×${n}`).join('、')}
                    <details><summary>{t('recalls.objectCount', { n: r.stixIds.length })}</summary>
                      <ul className="plain">{r.stixIds.map((id) => <li key={id}><code>{id}</code></li>)}</ul>
                    </details>
                  </td>
                  <td>{r.acknowledgedAt !== null
                    ? <Badge tone="ok">{t('recalls.acknowledged', { at: formatJst(r.acknowledgedAt) })}{r.acknowledgedByName !== null ? ` — ${r.acknowledgedByName}` : ''}</Badge>
                    : r.ownOrg
                      ? <><p className="help">{t('recalls.acknowledgeHelp')}</p>
                        <button type="button" className="small" disabled={busy === r.id} onClick={() => void acknowledge(r.id)}>{busy === r.id ? t('state.working') : t('recalls.acknowledge')}</button></>
                      : <Badge tone="warn">{t('recalls.pending')}</Badge>}</td>
                </tr>
              ))}</tbody>
            </table></div>
            <MoreRows list={list} />
          </>
        )}
      </Async>
    </>
  );
}
