// Analyst: archived flows over time by category or legal basis, in a zoomable chart; each query with its stated purpose.
import { useCallback } from 'react';
import { useI18n } from '../i18n/index.js';
import { useRouter } from '../lib/router.js';
import { useBasisNames } from '../lib/names.js';
import { PageTitle } from '../components/ui.js';
import { FlowsOverTime } from '../components/flows-over-time.js';

type By = 'category' | 'basis';

export function Flows() {
  const { t, code } = useI18n();
  const { path, search, navigate } = useRouter();
  const by: By = search.get('by') === 'basis' ? 'basis' : 'category';
  const basisName = useBasisNames();
  const label = useCallback((key: string) => (key === 'unknown' ? t('flows.unknown') : by === 'basis' ? basisName(key) : code('flowCategory.', key)), [t, code, by, basisName]);
  const setBy = (b: By) => {
    const p = new URLSearchParams(search);
    p.set('by', b);
    navigate(`${path}?${p.toString()}`, { replace: true });
  };
  return (
    <>
      <PageTitle>{t('flows.title')}</PageTitle>
      <p>{t('flows.intro')}</p>
      <fieldset className="inline">
        <legend>{t('flows.by')}</legend>
        {(['category', 'basis'] as const).map((b) => (
          <label key={b} className="check"><input type="radio" name="flows-by" value={b} checked={by === b} onChange={() => setBy(b)} /> {t(`flows.by.${b}`)}</label>
        ))}
      </fieldset>
      <FlowsOverTime filters={{}} by={by} label={label} idPrefix="flows" />
    </>
  );
}
