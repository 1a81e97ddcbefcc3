// Artifacts defenders load: the RPZ zone and the block list, built by the server from authorized measures only.
import { useState } from 'react';
import { useI18n } from '../i18n/index.js';
import { useApi } from '../lib/use-api.js';
import { Async, PageTitle } from '../components/ui.js';

const ARTIFACTS = [
  { file: 'rpz.zone', label: 'artifacts.rpz' },
  { file: 'blocklist.txt', label: 'artifacts.blocklist' },
] as const;

export function Artifacts() {
  const { t } = useI18n();
  const [file, setFile] = useState<(typeof ARTIFACTS)[number]['file']>('rpz.zone');
  const body = useApi<string>(`/api/v1/response/artifacts/${file}`, { text: true });
  return (
    <>
      <PageTitle>{t('artifacts.title')}</PageTitle>
      <p>{t('artifacts.intro')}</p>
      <div role="tablist" aria-label={t('artifacts.title')} className="tabs">
        {ARTIFACTS.map((a) => (
          <button key={a.file} type="button" role="tab" aria-selected={file === a.file} onClick={() => setFile(a.file)}>{t(a.label)}</button>
        ))}
      </div>
      <div role="tabpanel" aria-label={file}>
        <p><a href={`/api/v1/response/artifacts/${file}`} download={file}>{t('artifacts.download', { file })}</a></p>
        <Async value={body} isEmpty={(s) => s.trim() === ''} empty={t('artifacts.empty')}>
          {(s) => <pre className="artifact" tabIndex={0} aria-label={file} data-testid="artifact-body">{s}</pre>}
        </Async>
      </div>
    </>
  );
}
