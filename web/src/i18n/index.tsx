// Language: Japanese by default, English one click away; the choice is kept in localStorage.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { ja, type MessageKey } from './ja.js';
import { en } from './en.js';

export type Lang = 'ja' | 'en';
export type { MessageKey };
const CATALOGUES: Record<Lang, Record<MessageKey, string>> = { ja, en };
const STORAGE_KEY = 'mamori.lang';

/** Fills `{name}` placeholders. */
export function format(template: string, vars: Record<string, string | number> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, k: string) => (k in vars ? String(vars[k]) : whole));
}

interface I18n {
  lang: Lang;
  setLang: (l: Lang) => void;
  t: (key: MessageKey, vars?: Record<string, string | number>) => string;
  /** The label of a code under a key prefix (`findingKind.` + `beacon`); a code without one shows as itself rather than failing. */
  code: (prefix: string, code: string) => string;
  /** Picks the label of a server-provided `{ja, en}` pair. */
  pick: (label: { ja: string; en: string } | undefined | null) => string;
}

const Ctx = createContext<I18n | undefined>(undefined);

function initialLang(): Lang {
  try {
    return localStorage.getItem(STORAGE_KEY) === 'en' ? 'en' : 'ja';
  } catch {
    return 'ja';
  }
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const setLang = useCallback((l: Lang) => {
    setLangState(l);
    try {
      localStorage.setItem(STORAGE_KEY, l);
    } catch {
      // Private mode: the choice lasts for this page only.
    }
  }, []);
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const value = useMemo<I18n>(() => ({
    lang,
    setLang,
    t: (key, vars) => format(CATALOGUES[lang][key] ?? key, vars),
    code: (prefix, code) => {
      const text = (CATALOGUES[lang] as Record<string, string | undefined>)[`${prefix}${code}`];
      return text ?? code;
    },
    pick: (label) => (label == null ? '' : label[lang]),
  }), [lang, setLang]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useI18n(): I18n {
  const v = useContext(Ctx);
  if (v === undefined) throw new Error('useI18n outside I18nProvider');
  return v;
}
