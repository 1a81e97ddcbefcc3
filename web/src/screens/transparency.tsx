// The public transparency page: the latest signed checkpoint of the audit log, checked in this browser.
import { useEffect, useState } from 'react';
import { useI18n } from '../i18n/index.js';
import { ApiError } from '../lib/api.js';
import { loadCheckpoint, type CheckpointView } from '../lib/audit.js';
import { ErrorPanel, Facts, Loading, PageTitle, Time } from '../components/ui.js';
import { SignatureBadge } from './audit.js';

export function Transparency() {
  const { t } = useI18n();
  const [state, setState] = useState<{ cp?: CheckpointView; error?: ApiError }>({});
  useEffect(() => {
    loadCheckpoint().then((cp) => setState({ cp }), (e: unknown) => setState({ error: e instanceof ApiError ? e : new ApiError(0, 'CLIENT', String(e)) }));
  }, []);
  const { cp, error } = state;
  return (
    <>
      <PageTitle>{t('transparency.title')}</PageTitle>
      <p>{t('transparency.intro')}</p>
      {error !== undefined ? <ErrorPanel error={error} /> : cp === undefined ? <Loading /> : (
        <section aria-labelledby="tcp" className="panel">
          <h2 id="tcp">{t('audit.checkpoint')}</h2>
          <Facts rows={[
            [t('transparency.origin'), <code>{cp.note.origin}</code>],
            [t('transparency.size'), String(cp.note.size)],
            [t('audit.root'), <code className="hash">{cp.note.root}</code>],
            [t('transparency.signedAt'), <Time value={cp.createdAt} />],
            [t('transparency.signature'), <SignatureBadge cp={cp} />],
            [t('transparency.logKey'), <code className="hash">{cp.logKey}</code>],
            [t('transparency.witnessKey'), cp.witnessKey === null ? t('transparency.noWitness') : <code className="hash">{cp.witnessKey}</code>],
          ]} />
          <h3>{t('transparency.note')}</h3>
          <pre className="artifact" tabIndex={0}>{`${cp.note.text}\n${cp.note.signatures.map((s) => `— ${s.name} …`).join('\n')}`}</pre>
          <p className="help">{t('transparency.howto')}</p>
        </section>
      )}
      <section aria-labelledby="diet" className="panel">
        <h2 id="diet">{t('transparency.dietTitle')}</h2>
        <p className="state empty">{t('transparency.dietNone')}</p>
      </section>
    </>
  );
}
