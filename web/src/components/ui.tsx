// Shared pieces of every screen: page title, loading / empty / error / forbidden states, status badges.
import { useEffect, useRef, type ReactNode } from 'react';
import { ApiError } from '../lib/api.js';
import type { Loadable } from '../lib/use-api.js';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { formatJst } from '../lib/time.js';
import { useMessageText } from '../lib/messages.js';

/** The page heading; focused on navigation so screen readers announce the new page. */
export function PageTitle({ children, actions }: { children: ReactNode; actions?: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return (
    <div className="page-title">
      <h1 ref={ref} tabIndex={-1}>{children}</h1>
      {actions !== undefined && <div className="actions">{actions}</div>}
    </div>
  );
}

export function Loading() {
  const { t } = useI18n();
  return <p className="state loading" role="status" aria-live="polite"><span className="spinner" aria-hidden="true" />{t('state.loading')}</p>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="state empty" role="status">{children}</p>;
}

/** A forbidden page: the role may not see this. */
export function Forbidden() {
  const { t } = useI18n();
  return (
    <section className="state forbidden" aria-labelledby="forbidden-title">
      <h2 id="forbidden-title">{t('forbidden.title')}</h2>
      <p>{t('forbidden.body')}</p>
    </section>
  );
}

/** Separates an error's sentence from the server's own explanation (shown folded, in its language, by ErrorText). */
export const EXPLANATION = '\u2063';

/**
 * The text of an API error in the reader's language, with the request id to quote: the refusal's code worded from the
 * catalogue when the server gives one; else a sentence for the error code, the server's English explanation kept
 * after EXPLANATION (in Japanese folded away, in English said at once).
 */
export function useErrorText(): (e: unknown) => string {
  const { t, lang, code } = useI18n();
  const say = useMessageText();
  return (e: unknown) => {
    if (!(e instanceof ApiError)) return t('error.unexpected');
    if (e.status === 0) return t('error.network');
    const id = e.requestId !== undefined ? ` ${t('error.requestId', { id: e.requestId })}` : '';
    const worded = say(e.reason);
    if (worded !== '') return `${worded}${id}`;
    const known: Partial<Record<string, MessageKey>> = { FORBIDDEN: 'error.forbidden', NOT_FOUND: 'error.notFound', RATE_LIMITED: 'error.rateLimited', INTERNAL: 'error.unexpected' };
    const key = known[e.code];
    if (key !== undefined) return `${t(key)}${id}`;
    const sentence = code('error.code.', e.code);
    if (lang === 'en' || sentence === e.code) return `${t('error.server', { message: e.message })}${id}`;
    return `${sentence}${id}${EXPLANATION}${e.message}`;
  };
}

/** An error text: its sentence, and the server's English explanation folded under it when there is one. */
export function ErrorText({ text }: { text: string }) {
  const { t } = useI18n();
  const [sentence, explanation] = text.split(EXPLANATION) as [string, string | undefined];
  return (
    <>
      {sentence}
      {explanation !== undefined && <details className="server-explanation"><summary>{t('error.serverSaid')}</summary><span lang="en">{explanation}</span></details>}
    </>
  );
}

/** An error message for a failed load (403 becomes the forbidden page). */
export function ErrorPanel({ error, onRetry }: { error: ApiError; onRetry?: () => void }) {
  const { t } = useI18n();
  const text = useErrorText();
  if (error.status === 403) return <Forbidden />;
  return (
    <div className="state error" role="alert">
      <div><ErrorText text={text(error)} /></div>
      {onRetry !== undefined && <button type="button" onClick={onRetry}>{t('action.retry')}</button>}
    </div>
  );
}

/** Renders a loadable: loading, error, or the data (and `empty` when `isEmpty` says so). */
export function Async<T>({ value, children, isEmpty, empty }: { value: Loadable<T> & { reload?: () => void }; children: (data: T) => ReactNode; isEmpty?: (data: T) => boolean; empty?: ReactNode }) {
  if (value.status === 'loading') return <Loading />;
  if (value.status === 'error') return <ErrorPanel error={value.error} {...(value.reload !== undefined ? { onRetry: value.reload } : {})} />;
  if (isEmpty?.(value.data) === true) return <Empty>{empty}</Empty>;
  return <>{children(value.data)}</>;
}

/** A live region for a form's error or success message. */
export function FormMessage({ error, success }: { error?: string | undefined; success?: string | undefined }) {
  return (
    <div aria-live="assertive" className="form-message">
      {error !== undefined && <div className="error" role="alert"><ErrorText text={error} /></div>}
      {success !== undefined && <p className="success" role="status">{success}</p>}
    </div>
  );
}

export function Badge({ tone, children }: { tone: 'ok' | 'warn' | 'bad' | 'info' | 'muted'; children: ReactNode }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

export function Time({ value }: { value: string | number | null | undefined }) {
  if (value === null || value === undefined) return <>—</>;
  const iso = typeof value === 'number' ? new Date(value).toISOString() : value;
  return <time dateTime={iso}>{formatJst(value)}</time>;
}

/** A definition list of label → value rows. */
export function Facts({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <dl className="facts">
      {rows.map(([k, v]) => (
        <div key={k}><dt>{k}</dt><dd>{v}</dd></div>
      ))}
    </dl>
  );
}
