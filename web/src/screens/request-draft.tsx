// Drafting a request to the commission (analyst, NCO director): an acquisition or a re-identification, checked
// in the browser as the API checks it, the API's own refusals shown on the field they name.
import { useRef, useState, type FormEvent, type ReactNode } from 'react';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { api, ApiError } from '../lib/api.js';
import { useRouter } from '../lib/router.js';
import { useAllPages } from '../lib/pages.js';
import { useSubmit } from '../lib/use-submit.js';
import { useMessageText } from '../lib/messages.js';
import { SELECTORS, type SelectorKey } from '../lib/narrowing.js';
import {
  BASIS_KINDS, checkDraft, DRAFT_KINDS, emptyDraft, EVIDENCE_TYPES, FIELD_NAME, fieldOfApiPath, formOfDraft, MAX_MONTHS, type DraftField, type DraftForm, type FieldProblem,
  type StoredDraft,
} from '../lib/request-draft.js';
import { useApi } from '../lib/use-api.js';
import { Async, FormMessage, PageTitle } from '../components/ui.js';

/** One labelled control with its help and its problem, tied together for screen readers. */
function Field({ id, label, help, problem, children }: { id: string; label: string; help?: ReactNode; problem?: string | undefined; children: (aria: { id: string; 'aria-describedby'?: string; 'aria-invalid'?: true }) => ReactNode }) {
  const described = [help !== undefined ? `${id}-help` : '', problem !== undefined ? `${id}-error` : ''].filter((s) => s !== '').join(' ');
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({ id, ...(described !== '' ? { 'aria-describedby': described } : {}), ...(problem !== undefined ? { 'aria-invalid': true as const } : {}) })}
      {help !== undefined && <p className="help" id={`${id}-help`}>{help}</p>}
      {problem !== undefined && <p className="field-error" id={`${id}-error`}>{problem}</p>}
    </div>
  );
}

/** Editing a stored draft (`/app/requests/:id/edit`): the drafting form filled with it, saved in place. */
export function EditRequest({ id }: { id: string }) {
  const { t } = useI18n();
  const req = useApi<{ request: StoredDraft & { status: string } }>(`/api/v1/oversight/requests/${encodeURIComponent(id)}`);
  return (
    <Async value={req}>
      {({ request }) => (request.status === 'draft'
        ? <NewRequest editing={{ id, form: formOfDraft(request) }} />
        : <><PageTitle>{t('newRequest.editHeading')}</PageTitle><p className="notice" role="note">{t('newRequest.notDraft')}</p></>)}
    </Async>
  );
}

export function NewRequest({ editing }: { editing?: { id: string; form: DraftForm } } = {}) {
  const { t } = useI18n();
  const { navigate, search } = useRouter();
  const s = useSubmit();
  const say = useMessageText();
  // Opened from a finding (or any page that names evidence), a new draft starts with that reference.
  const [form, setForm] = useState<DraftForm>(() => editing?.form ?? ({ ...emptyDraft(), evidence: search.get('evidence') ?? '' }));
  const [problems, setProblems] = useState<FieldProblem[]>([]);
  const formRef = useRef<HTMLFormElement>(null);
  // Re-identification names the basis the pseudonyms were collected under: offered from the list when it can be read.
  const bases = useAllPages<{ id: string; title: string; kind: string; status: string }>(form.kind === 'reidentification' ? '/api/v1/legal-bases' : null);
  /** Forgets the problems of the fields just edited (the period's end depends on its start and kind); the summary goes with the last. */
  const clear = (fields: readonly DraftField[]) => setProblems((ps) => {
    const left = ps.filter((p) => !fields.includes(p.field));
    if (left.length === 0 && ps.length > 0) s.reset();
    return left;
  });
  const set = <K extends keyof DraftForm>(key: K, value: DraftForm[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    clear(key === 'basisKind' || key === 'periodStart' ? [key, 'periodEnd'] : [key as DraftField]);
  };
  const setSelector = (key: SelectorKey, value: string) => {
    setForm((f) => ({ ...f, selectors: { ...f.selectors, [key]: value } }));
    clear([key]);
  };

  const sayProblem = (p: FieldProblem): string => {
    const field = t(p.field === 'purpose' && form.kind === 'reidentification' ? 'newRequest.reasons' : FIELD_NAME[p.field]);
    if (p.code === 'server') return t('newRequest.problem.server', { field, message: p.message ?? '' });
    const kind = t(`basisKind.${form.basisKind}` as MessageKey);
    return t(`newRequest.problem.${p.code}` as MessageKey, { field, value: p.value ?? '', months: p.months ?? MAX_MONTHS[form.basisKind], kind });
  };
  const problemOf = (field: DraftField): string | undefined => {
    const p = problems.find((x) => x.field === field);
    return p === undefined ? undefined : sayProblem(p);
  };
  const show = (found: FieldProblem[]) => {
    setProblems(found);
    s.fail(t('newRequest.fixFields', { n: found.length }));
    // Focus the first field named, so a keyboard or screen-reader user lands on it.
    requestAnimationFrame(() => formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const checked = checkDraft(form);
    if ('problems' in checked) { show(checked.problems); return; }
    setProblems([]);
    void s.run(async () => {
      try {
        const res = editing === undefined
          ? await api<{ request: { id: string } }>('/api/v1/oversight/requests', { method: 'POST', body: checked.body })
          : await api<{ request: { id: string } }>(`/api/v1/oversight/requests/${encodeURIComponent(editing.id)}`, { method: 'PUT', body: checked.body });
        navigate(`/app/requests/${res.request.id}?${editing === undefined ? 'drafted' : 'edited'}=1`);
      } catch (err) {
        // The server's field errors go beside their fields; the rest (and the request id) in the form's message.
        const named = err instanceof ApiError ? (err.details ?? []).flatMap((d) => {
          const field = fieldOfApiPath(d.path);
          // The refusal worded in the reader's language when the server gives its code; else the field's own note.
          return field === undefined ? [] : [{ field, code: 'server' as const, message: say(err.reason, d.message) }];
        }) : [];
        setProblems(named);
        throw err;
      }
    })();
  };

  const text = (field: DraftField, value: string, onChange: (v: string) => void, opts: { rows?: number; help?: ReactNode; label?: string } = {}) => (
    <Field id={`draft-${field}`} label={opts.label ?? t(FIELD_NAME[field])} problem={problemOf(field)} {...(opts.help !== undefined ? { help: opts.help } : {})}>
      {(aria) => opts.rows !== undefined
        ? <textarea {...aria} rows={opts.rows} value={value} onChange={(e) => onChange(e.target.value)} />
        : <input {...aria} type="text" value={value} onChange={(e) => onChange(e.target.value)} />}
    </Field>
  );

  return (
    <>
      <PageTitle>{t(editing === undefined ? 'newRequest.heading' : 'newRequest.editHeading')}</PageTitle>
      <p>{t(editing === undefined ? 'newRequest.intro' : 'newRequest.editIntro')}</p>
      <form ref={formRef} onSubmit={submit} className="form" aria-labelledby="draft-h" noValidate>
        <h2 id="draft-h" className="sr-only">{t(editing === undefined ? 'newRequest.heading' : 'newRequest.editHeading')}</h2>
        <fieldset><legend>{t('newRequest.kind')}</legend>
          {DRAFT_KINDS.map((k) => (
            <label key={k}><input type="radio" name="draft-kind" value={k} checked={form.kind === k} onChange={() => { set('kind', k); setProblems([]); s.reset(); }} /> {t(`requestKind.${k}` as MessageKey)}</label>
          ))}
        </fieldset>
        {text('title', form.title, (v) => set('title', v))}
        {form.kind === 'acquisition' ? <>
          <fieldset><legend>{t('newRequest.basisKind')}</legend>
            {BASIS_KINDS.map((k) => (
              <label key={k}><input type="radio" name="draft-basis-kind" value={k} checked={form.basisKind === k} onChange={() => set('basisKind', k)} /> {t('newRequest.basisKindOption', { kind: t(`basisKind.${k}` as MessageKey), months: MAX_MONTHS[k] })}</label>
            ))}
          </fieldset>
          <fieldset><legend>{t('newRequest.selectors')}</legend>
            <p className="help">{t('newRequest.selectorsHelp')}</p>
            {SELECTORS.map((f) => <div key={f.key}>{text(f.key, form.selectors[f.key], (v) => setSelector(f.key, v), { rows: f.key === 'foreignPrefixes' ? 3 : 2, label: t(f.label) })}</div>)}
          </fieldset>
          <Field id="draft-periodStart" label={t('newRequest.periodStart')} problem={problemOf('periodStart')}>
            {(aria) => <input {...aria} type="datetime-local" value={form.periodStart} onChange={(e) => set('periodStart', e.target.value)} />}
          </Field>
          <Field id="draft-periodEnd" label={t('newRequest.periodEnd')} problem={problemOf('periodEnd')} help={t('newRequest.periodHelp', { kind: t(`basisKind.${form.basisKind}` as MessageKey), months: MAX_MONTHS[form.basisKind] })}>
            {(aria) => <input {...aria} type="datetime-local" value={form.periodEnd} onChange={(e) => set('periodEnd', e.target.value)} />}
          </Field>
          <Field id="draft-retentionDays" label={t('newRequest.retentionDays')} problem={problemOf('retentionDays')} help={t('newRequest.retentionHelp')}>
            {(aria) => <input {...aria} type="number" min={1} max={3650} step={1} inputMode="numeric" value={form.retentionDays} onChange={(e) => set('retentionDays', e.target.value)} />}
          </Field>
          {text('purpose', form.purpose, (v) => set('purpose', v), { rows: 3 })}
        </> : <>
          {text('pseudonyms', form.pseudonyms, (v) => set('pseudonyms', v), { rows: 3, help: t('newRequest.pseudonymsHelp') })}
          <Field id="draft-basisId" label={t('newRequest.basisId')} problem={problemOf('basisId')} help={bases.status === 'ok' && bases.data.items.length > 0 ? t('newRequest.basisIdHelp') : bases.status === 'loading' ? t('state.loading') : t('newRequest.basisIdManual')}>
            {(aria) => bases.status === 'ok' && bases.data.items.length > 0
              ? <select {...aria} value={form.basisId} onChange={(e) => set('basisId', e.target.value)}>
                  <option value="">{t('newRequest.basisIdChoose')}</option>
                  {bases.data.items.map((b) => <option key={b.id} value={b.id}>{b.title} ({b.status})</option>)}
                </select>
              : <input {...aria} type="text" value={form.basisId} onChange={(e) => set('basisId', e.target.value)} />}
          </Field>
          {text('purpose', form.purpose, (v) => set('purpose', v), { rows: 3, label: t('newRequest.reasons'), help: t('newRequest.reasonsHelp') })}
        </>}
        {text('evidence', form.evidence, (v) => set('evidence', v), { rows: 2, help: <>{t('newRequest.evidenceHelp', { types: '' })}{EVIDENCE_TYPES.map((x, i) => <span key={x}>{i > 0 && ', '}<code>{x}</code></span>)}</> })}
        <FormMessage error={s.error} />
        <button type="submit" disabled={s.busy}>{s.busy ? t('state.working') : t(editing === undefined ? 'newRequest.create' : 'newRequest.save')}</button>
      </form>
    </>
  );
}
