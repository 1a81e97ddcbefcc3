// The public transparency page: the latest signed checkpoint of the audit log, a consistency proof from an
// earlier checkpoint to it, and the Diet reports the commission has published — all checked in this browser.
import { useEffect, useState } from 'react';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { ApiError } from '../lib/api.js';
import { lastSeenCheckpoint, loadCheckpoint, proveConsistency, rememberCheckpoint, type CheckpointView, type ConsistencyResult } from '../lib/audit.js';
import { canonicalize } from '../lib/jcs.js';
import { parseCheckpointNote } from '../lib/merkle.js';
import { formatJst } from '../lib/time.js';
import { useApi } from '../lib/use-api.js';
import { useAllPages } from '../lib/pages.js';
import { useSubmit } from '../lib/use-submit.js';
import { Async, Badge, ErrorPanel, Facts, FormMessage, Loading, PageTitle, Time } from '../components/ui.js';
import { SignatureBadge } from './audit.js';

interface StoredCheckpoint { size: number; root: string; note: string; createdAt: string }

/** An earlier checkpoint chosen (the one this browser saw last, by default) proved consistent with the latest. */
function Consistency({ cp }: { cp: CheckpointView }) {
  const { t } = useI18n();
  const list = useApi<{ checkpoints: StoredCheckpoint[] }>(`/api/v1/audit/checkpoints?before=${cp.note.size}&limit=20`);
  const [lastSeen] = useState(() => {
    const seen = lastSeenCheckpoint();
    const parsed = seen === undefined ? undefined : parseCheckpointNote(seen);
    return seen !== undefined && parsed !== undefined && parsed.size < cp.note.size ? { size: parsed.size, note: seen } : undefined;
  });
  const [choice, setChoice] = useState<string>(lastSeen !== undefined ? 'seen' : '');
  const [result, setResult] = useState<ConsistencyResult>();
  const s = useSubmit();
  const verify = (note: string) => s.run(async () => {
    setResult(undefined);
    const r = await proveConsistency(note, cp);
    setResult(r);
    if (r.ok) rememberCheckpoint(cp.raw);
  });
  useEffect(() => {
    // Nothing to compare with yet: remember this checkpoint (its signature checked) for the next visit.
    if (lastSeen === undefined && cp.signature === 'valid') rememberCheckpoint(cp.raw);
  }, [cp, lastSeen]);
  return (
    <section aria-labelledby="consistency" className="panel">
      <h2 id="consistency">{t('transparency.consistencyTitle')}</h2>
      <p>{t('transparency.consistencyIntro')}</p>
      <Async value={list} isEmpty={(d) => d.checkpoints.length === 0 && lastSeen === undefined} empty={t('transparency.noEarlier')}>
        {(d) => {
          const selected = choice === 'seen' ? lastSeen?.note : (d.checkpoints.find((c) => String(c.size) === choice) ?? d.checkpoints[d.checkpoints.length - 1])?.note;
          return (
            <form className="form filters" onSubmit={(e) => { if (selected !== undefined) void verify(selected)(e); else e.preventDefault(); }}>
              <label htmlFor="earlier">{t('transparency.earlier')}</label>
              <select id="earlier" value={choice === '' ? String(d.checkpoints[d.checkpoints.length - 1]?.size ?? '') : choice} onChange={(e) => { setChoice(e.target.value); setResult(undefined); }}>
                {lastSeen !== undefined && <option value="seen">{t('transparency.lastSeen', { size: lastSeen.size })}</option>}
                {d.checkpoints.map((c) => <option key={c.size} value={String(c.size)}>{t('transparency.earlierOption', { size: c.size, at: formatJst(c.createdAt) })}</option>)}
              </select>
              <button type="submit" disabled={s.busy}>{s.busy ? t('state.working') : t('transparency.verifyConsistency')}</button>
              <FormMessage error={s.error} />
              <div aria-live="polite">
                {result?.ok === true && <p className="notice success" role="status"><Badge tone="ok">✓</Badge> {t('transparency.consistent', { size1: result.size1, size2: result.size2 })}</p>}
                {result?.ok === false && <p className="error" role="alert">{t(result.reason === 'earlier-signature' ? 'transparency.earlierSigBad' : 'transparency.inconsistent')}</p>}
              </div>
            </form>
          );
        }}
      </Async>
    </section>
  );
}

interface PublishedSummary { id: string; title: { ja: string; en: string }; window: { from: string; to: string }; publishedAt: string; checkpoint: { size: number; root: string }; figuresSha256: string }

async function sha256Hex(text: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return [...d].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The figures' SHA-256 as published, recomputed here from the report's figures (RFC 8785 canonical JSON). */
function FiguresCheck({ r }: { r: PublishedSummary }) {
  const { t } = useI18n();
  const full = useApi<{ report: { figures: unknown; figuresSha256: string } }>(`/api/v1/oversight/published-reports/${encodeURIComponent(r.id)}`);
  const [match, setMatch] = useState<boolean>();
  useEffect(() => {
    if (full.status !== 'ok') return;
    void sha256Hex(canonicalize(full.data.report.figures)).then((h) => setMatch(h === r.figuresSha256));
  }, [full, r.figuresSha256]);
  return (
    <>
      <code className="hash">{r.figuresSha256.slice(0, 16)}…</code>{' '}
      {match === undefined ? null : <Badge tone={match ? 'ok' : 'bad'}>{t(match ? 'transparency.dietShaOk' : 'transparency.dietShaBad')}</Badge>}
    </>
  );
}

function PublishedReports() {
  const { t, pick } = useI18n();
  const list = useAllPages<PublishedSummary>('/api/v1/oversight/published-reports');
  return (
    <section aria-labelledby="diet" className="panel">
      <h2 id="diet">{t('transparency.dietTitle')}</h2>
      <Async value={list} isEmpty={(d) => d.items.length === 0} empty={t('transparency.dietEmpty')}>
        {(d) => (
          <div className="table-wrap"><table>
            <caption className="sr-only">{t('transparency.dietTitle')}</caption>
            <thead><tr>
              {(['transparency.dietPeriod', 'transparency.dietPublishedAt', 'transparency.dietCheckpoint', 'transparency.dietSha', 'transparency.dietOpen'] as MessageKey[]).map((k) => <th key={k} scope="col">{t(k)}</th>)}
            </tr></thead>
            <tbody>{d.items.map((r) => (
              <tr key={r.id}>
                <td><Time value={r.window.from} /> – <Time value={r.window.to} /></td>
                <td><Time value={r.publishedAt} /></td>
                <td>{t('diet.checkpointSize', { n: r.checkpoint.size })} <code className="hash">{r.checkpoint.root.slice(0, 12)}…</code></td>
                <td><FiguresCheck r={r} /></td>
                <td><a href={`/api/v1/oversight/published-reports/${encodeURIComponent(r.id)}?format=html`} target="_blank" rel="noopener" aria-label={`${pick(r.title)} (HTML)`}>{t('transparency.dietOpen')}</a></td>
              </tr>
            ))}</tbody>
          </table></div>
        )}
      </Async>
    </section>
  );
}

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
        <>
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
            <p className="help">{t('transparency.howto').split('{doc}').map((part, i) => (i === 0 ? part : <span key={i}><code>docs/audit-formats.md</code>{part}</span>))}</p>
          </section>
          <Consistency cp={cp} />
        </>
      )}
      <PublishedReports />
    </>
  );
}
