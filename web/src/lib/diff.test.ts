// The before/after of a change notification: list items removed and added, scalars side by side.
import { describe, expect, it } from 'vitest';
import { fieldChange } from './diff.js';

describe('fieldChange', () => {
  it('compares lists item by item, in order', () => {
    expect(fieldChange(['192.0.2.10', '192.0.2.11'], ['192.0.2.11', '192.0.2.12'])).toEqual({ kind: 'list', removed: ['192.0.2.10'], added: ['192.0.2.12'], kept: ['192.0.2.11'] });
    expect(fieldChange(undefined, ['a'])).toEqual({ kind: 'list', removed: [], added: ['a'], kept: [] });
    expect(fieldChange(['a'], null)).toEqual({ kind: 'list', removed: ['a'], added: [], kept: [] });
  });
  it('shows scalars before and after; empty is none', () => {
    expect(fieldChange('RHEL 8', 'RHEL 9')).toEqual({ kind: 'value', before: 'RHEL 8', after: 'RHEL 9' });
    expect(fieldChange(false, true)).toEqual({ kind: 'value', before: false, after: true });
    expect(fieldChange('', 'x')).toEqual({ kind: 'value', before: null, after: 'x' });
    expect(fieldChange(3, undefined)).toEqual({ kind: 'value', before: '3', after: null });
  });
});
