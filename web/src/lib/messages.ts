// Messages the server makes, as a code with parameters (`{ code, params }` beside its English text): worded here from
// the catalogue (`msg.<code>`) in the reader's language, times in JST, codes among the parameters by their names.
import { useCallback } from 'react';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { formatJst } from './time.js';

export interface ServerMessage { code: string; params: Record<string, string | number | boolean | null> }

/** Parameters that are codes, named through a catalogue prefix. */
const CODE_PARAMS: Record<string, string> = {
  deadline: 'deadlineKey.', state: 'measureState.', transition: 'transition.', agency: 'agency.', status: 'requestStatus.', kind: 'basisKind.',
};
/** Parameters that are times (UTC ISO), shown in JST. */
const isTime = (name: string) => /(?:At|Until|Deadline)$/.test(name) || name === 'endBy';


/**
 * Words a server message in the reader's language; `fallback` (the server's English text) when the catalogue has no
 * such code — a newer server's message — so nothing is lost.
 */
export function useMessageText(): (m: ServerMessage | null | undefined, fallback?: string) => string {
  const { t, code } = useI18n();
  return useCallback((m, fallback = '') => {
    if (m == null) return fallback;
    const key = `msg.${m.code}`;
    const text = code('msg.', m.code);
    if (text === m.code) return fallback;
    const vars: Record<string, string | number> = {};
    for (const [name, v] of Object.entries(m.params ?? {})) {
      if (v === null) vars[name] = '—';
      else if (typeof v === 'string' && isTime(name)) vars[name] = formatJst(v);
      else if (typeof v === 'string' && CODE_PARAMS[name] !== undefined) vars[name] = code(CODE_PARAMS[name]!, v);
      else vars[name] = typeof v === 'boolean' ? String(v) : v;
    }
    return t(key as MessageKey, vars);
  }, [t, code]);
}
