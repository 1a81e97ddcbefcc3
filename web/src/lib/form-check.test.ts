import { describe, expect, it } from 'vitest';
import { messageFor } from './form-check.js';
import { format } from '../i18n/index.js';
import { ja } from '../i18n/ja.js';

const t = (k: keyof typeof ja, vars?: Record<string, string | number>) => format(ja[k], vars);
const valid = { valueMissing: false, typeMismatch: false, patternMismatch: false, tooLong: false, tooShort: false, rangeUnderflow: false, rangeOverflow: false, stepMismatch: false, badInput: false };

describe('in-app messages for fields\' own constraints', () => {
  it('names what is wrong in the reader\'s language, with the limits of the field', () => {
    expect(messageFor({ ...valid, valueMissing: true }, { type: 'text' }, t)).toBe(ja['fc.required']);
    expect(messageFor({ ...valid, typeMismatch: true }, { type: 'email' }, t)).toBe(ja['fc.email']);
    expect(messageFor({ ...valid, typeMismatch: true }, { type: 'url' }, t)).toBe(ja['fc.url']);
    expect(messageFor({ ...valid, tooLong: true }, { type: 'text', minLength: -1, maxLength: 200 }, t)).toBe('0〜200 文字で入力してください。');
    expect(messageFor({ ...valid, rangeOverflow: true }, { type: 'number', min: '1', max: '100' }, t)).toBe('1〜100 の範囲で入力してください。');
    expect(messageFor({ ...valid, patternMismatch: true }, { type: 'text' }, t)).toBe(ja['fc.format']);
  });
});
