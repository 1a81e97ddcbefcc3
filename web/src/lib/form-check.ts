// In-app checks for every form that relies on its fields' own constraints (required, type, pattern, lengths, ranges):
// instead of the browser's bubble, each invalid field gets a message under it in the reader's language, is marked
// `aria-invalid` and tied by `aria-describedby`, and the first takes focus. Forms with their own checks (`noValidate`)
// never fire `invalid`, so this covers exactly the others.
import type { MessageKey } from '../i18n/index.js';

type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;
type Control = HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;
const MARK = 'data-form-check';

/** The message for a control's failed constraint. */
export function messageFor(v: Pick<ValidityState, 'valueMissing' | 'typeMismatch' | 'patternMismatch' | 'tooLong' | 'tooShort' | 'rangeUnderflow' | 'rangeOverflow' | 'stepMismatch' | 'badInput'>,
  c: { type: string; min?: string; max?: string; minLength?: number; maxLength?: number }, t: Translate): string {
  if (v.valueMissing) return t('fc.required');
  if (v.typeMismatch) return t(c.type === 'email' ? 'fc.email' : c.type === 'url' ? 'fc.url' : 'fc.format');
  if (v.tooLong || v.tooShort) return t('fc.length', { min: c.minLength !== undefined && c.minLength >= 0 ? c.minLength : 0, max: c.maxLength !== undefined && c.maxLength >= 0 ? c.maxLength : '∞' });
  if (v.rangeUnderflow || v.rangeOverflow || v.stepMismatch || v.badInput) return t('fc.range', { min: c.min !== undefined && c.min !== '' ? c.min : '—', max: c.max !== undefined && c.max !== '' ? c.max : '—' });
  return t('fc.format');
}

function clear(c: Control): void {
  const id = `${c.id}-fc-error`;
  document.getElementById(id)?.remove();
  if (c.getAttribute(MARK) === '1') {
    c.removeAttribute(MARK);
    c.removeAttribute('aria-invalid');
    const described = (c.getAttribute('aria-describedby') ?? '').split(' ').filter((x) => x !== '' && x !== id).join(' ');
    if (described === '') c.removeAttribute('aria-describedby'); else c.setAttribute('aria-describedby', described);
  }
}

/** Listens on the document (capture) for `invalid` and `input`; returns the function that stops listening. */
export function installFormChecks(t: () => Translate): () => void {
  let firstOfSubmit = true;
  const onInvalid = (e: Event) => {
    const c = e.target as Control;
    if (!(c instanceof HTMLInputElement || c instanceof HTMLTextAreaElement || c instanceof HTMLSelectElement)) return;
    e.preventDefault();
    if (c.id === '') c.id = `fc-${Math.random().toString(36).slice(2, 10)}`;
    clear(c);
    const p = document.createElement('p');
    p.id = `${c.id}-fc-error`;
    p.className = 'field-error';
    p.textContent = messageFor(c.validity, { type: c.type, ...('min' in c ? { min: c.min, max: c.max } : {}), ...('maxLength' in c ? { minLength: c.minLength, maxLength: c.maxLength } : {}) }, t());
    // After the field's help text when it has one, so the message sits under what it is about.
    const after = c.nextElementSibling?.classList.contains('help') === true ? c.nextElementSibling : c;
    (c.type === 'radio' || c.type === 'checkbox' ? c.closest('fieldset') ?? c.parentElement ?? c : after).insertAdjacentElement(c.type === 'radio' || c.type === 'checkbox' ? 'beforeend' : 'afterend', p);
    c.setAttribute(MARK, '1');
    c.setAttribute('aria-invalid', 'true');
    c.setAttribute('aria-describedby', [c.getAttribute('aria-describedby') ?? '', p.id].filter((x) => x !== '').join(' '));
    if (firstOfSubmit) {
      firstOfSubmit = false;
      c.focus();
      // One submit fires `invalid` on every bad field within one task: only the first takes focus.
      setTimeout(() => { firstOfSubmit = true; }, 0);
    }
  };
  const onInput = (e: Event) => {
    const c = e.target as Control;
    if (c instanceof HTMLElement && c.getAttribute(MARK) === '1' && c.validity.valid) clear(c);
  };
  document.addEventListener('invalid', onInvalid, true);
  document.addEventListener('input', onInput, true);
  document.addEventListener('change', onInput, true);
  return () => {
    document.removeEventListener('invalid', onInvalid, true);
    document.removeEventListener('input', onInput, true);
    document.removeEventListener('change', onInput, true);
  };
}
