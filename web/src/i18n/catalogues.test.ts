// Both catalogues have the same keys, no empty strings and the same placeholders, so no screen shows an untranslated string.
import { describe, expect, it } from 'vitest';
import { ja } from './ja.js';
import { en } from './en.js';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('string catalogues', () => {
  it('have identical keys', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(ja).sort());
  });
  it('have no empty strings', () => {
    for (const [lang, cat] of [['ja', ja], ['en', en]] as const) {
      const empty = Object.entries(cat).filter(([, v]) => v.trim() === '').map(([k]) => k);
      expect(empty, `${lang}: empty strings`).toEqual([]);
    }
  });
  it('use the same placeholders in both languages', () => {
    const diff = Object.keys(ja).filter((k) => placeholders(ja[k as keyof typeof ja]).join() !== placeholders(en[k as keyof typeof en]).join());
    expect(diff).toEqual([]);
  });
  it('translate: the Japanese text differs from the English one except for names', () => {
    const same = Object.keys(ja).filter((k) => ja[k as keyof typeof ja] === en[k as keyof typeof en]);
    expect(same).toEqual([]);
  });
});
