// The commission's audit log: recent entries, each provable against the signed checkpoint in this browser.
import { useEffect, useState } from 'react';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { loadCheckpoint, proveEntry, type CheckpointView, type InclusionResult } from '../lib/audit.js';
import { useApi } from '../lib/use-api.js';
import { Async, Badge, ErrorPanel, Loading, PageTitle, Time } from '../components/ui.js';
import { ApiError } from '../lib/api.js';

interface Entry { index: number; time: string; action: string; outcome: string; actor: { username: string; roles: string[] }; object: { type: string; id: string } | null; legalBasis: string | null }

const PAGE = 40;

export function SignatureBadge({ cp }: { cp: CheckpointView }) {
  const { t } = useI18n();
  const tone = cp.signature === 'valid' ? 'ok' : cp.signature === 'unsupported' ? 'warn' : 'bad';
  return <Badge tone={tone}>{t(`signature.${cp.signature}` as MessageKey)}</Badge>;
}

function useCheckpoint(): { cp?: CheckpointView; error?: ApiError } {
  const [state, setState] = useState<{ cp?: CheckpointView; error?: ApiError }>({});
  useEffect(() => {
    loadCheckpoint().then((cp) => setState({ cp }), (e: unknown) => setState({ error: e instanceof ApiError ? e : new ApiError(0, 'CLIENT', String(e)) }));
  }, []);
  return state;
}

export function AuditLog() {
  const { t } = useI18n();
  const { cp, error } = useCheckpoint();
  const from = cp === undefined ? null : Math.max(0, cp.note.size - PAGE);
  const entries = useApi<{ entries: Entry[]; size: number }>(from === null ? null : `/api/v1/audit/entries?from=${from}&to=${from + PAGE * 2}`);
  const [results, setResults] = useState<Record<number, InclusionResult | 'checking'>>({});
  const [summary, setSummary] = useState<{ text: string; ok: boolean }>();

  const check = async (e: Entry) => {
    if (cp === undefined) return undefined;
    setResults((r) => ({ ...r, [e.index]: 'checking' }));
    const res = await proveEntry(e, cp.note).catch((): InclusionResult => ({ ok: false, reason: 'proof-failed' }));
    setResults((r) => ({ ...r, [e.index]: res }));
    return res;
  };
  const checkAll = async (list: Entry[]) => {
    setSummary(undefined);
    let ok = 0;
    let failed = 0;
    let pending = 0;
    for (const e of list) {
      const r = await check(e);
      if (r === undefined) continue;
      if (r.ok) ok++;
      else if (r.reason === 'not-in-checkpoint') pending++;
      else failed++;
    }
    setSummary(failed === 0 ? { ok: true, text: t('audit.allVerified', { ok, pending }) } : { ok: false, text: t('audit.someFailed', { failed, ok }) });
  };

  return (
    <>
      <PageTitle>{t('audit.title')}</PageTitle>
      <p>{t('audit.intro')}</p>
      {error !== undefined ? <ErrorPanel error={error} /> : cp === undefined ? <Loading /> : (
        <section aria-labelledby="cp-h" className="panel">
          <h2 id="cp-h">{t('audit.checkpoint')}</h2>
          <p>{t('audit.checkpointLine', { size: cp.note.size })} <SignatureBadge cp={cp} /> — <Time value={cp.createdAt} /></p>
          <p><span className="label">{t('audit.root')}</span> <code className="hash">{cp.note.root}</code></p>
        </section>
      )}
      <div aria-live="polite" className="form-message">{summary !== undefined && <p role="status" className={summary.ok ? 'success' : 'error'}>{summary.text}</p>}</div>
      <Async value={entries} isEmpty={(d) => d.entries.length === 0} empty={t('audit.empty')}>
        {(d) => (
          <>
            <button type="button" onClick={() => void checkAll(d.entries)}>{t('audit.verifyAll')}</button>
            <div className="table-wrap"><table>
              <caption className="sr-only">{t('audit.title')}</caption>
              <thead><tr><th scope="col">#</th><th scope="col">{t('audit.time')}</th><th scope="col">{t('audit.actor')}</th><th scope="col">{t('audit.action')}</th><th scope="col">{t('audit.object')}</th><th scope="col">{t('audit.outcome')}</th><th scope="col">{t('audit.proof')}</th></tr></thead>
              <tbody>{[...d.entries].reverse().map((e) => {
                const r = results[e.index];
                return (
                  <tr key={e.index} data-index={e.index}>
                    <td>{e.index}</td>
                    <td><Time value={e.time} /></td>
                    <td>{e.actor.username}</td>
                    <td><code>{e.action}</code></td>
                    <td>{e.object === null ? '—' : `${e.object.type} …${e.object.id.slice(-8)}`}</td>
                    <td>{e.outcome}</td>
                    <td className="proof-cell">
                      {r === undefined ? <button type="button" className="small" onClick={() => void check(e)} aria-label={t('audit.verifyEntry', { index: e.index })}>{t('audit.verify')}</button>
                        : r === 'checking' ? <span role="status">{t('state.working')}</span>
                        : r.ok ? <Badge tone="ok">{t('audit.verified')}</Badge>
                        : <Badge tone={r.reason === 'not-in-checkpoint' ? 'muted' : 'bad'}>{t(`audit.${r.reason}` as MessageKey)}</Badge>}
                    </td>
                  </tr>
                );
              })}</tbody>
            </table></div>
          </>
        )}
      </Async>
    </>
  );
}

