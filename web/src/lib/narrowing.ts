// Narrowing an acquisition's selectors on the decision form: only what changed is sent, numbers are checked first.
import type { MessageKey } from '../i18n/index.js';

export type Scope = Record<string, unknown>;

/** Non-empty trimmed lines of a text area. */
export const lines = (text: string): string[] => text.split('\n').map((l) => l.trim()).filter((l) => l !== '');

/** An acquisition's selectors (oversight's SelectorsSchema); numbers have a range, the rest are text. */
export const SELECTORS = [
  { key: 'foreignPrefixes', label: 'requests.narrowPrefixes' },
  { key: 'domesticPrefixes', label: 'requests.narrowDomestic' },
  { key: 'exporters', label: 'requests.narrowExporters' },
  { key: 'ports', label: 'requests.narrowPorts', max: 65_535 },
  { key: 'protocols', label: 'requests.narrowProtocols', max: 255 },
] as const satisfies readonly { key: string; label: MessageKey; max?: number }[];
export type SelectorKey = (typeof SELECTORS)[number]['key'];
/** What the request asked for one selector, as text lines (none when it does not limit it). */
export const askedList = (sel: Scope, key: string): string[] => (Array.isArray(sel[key]) ? (sel[key] as unknown[]).map(String) : []);

/** The selectors after narrowing, only if any changed: an emptied field is left out (not limited); numbers are checked. */
export function narrowSelectors(sel: Scope, text: Record<SelectorKey, string>): Scope | undefined | 'bad-number' {
  let changed = false;
  const out: Scope = { ...sel };
  for (const f of SELECTORS) {
    const values = lines(text[f.key]);
    if (values.join('\n') === askedList(sel, f.key).join('\n')) continue;
    changed = true;
    if (values.length === 0) { delete out[f.key]; continue; }
    if ('max' in f) {
      if (values.some((v) => !/^\d{1,5}$/.test(v) || Number(v) > f.max)) return 'bad-number';
      const nums = values.map(Number);
      out[f.key] = nums;
    } else {
      out[f.key] = values;
    }
  }
  return changed ? out : undefined;
}

