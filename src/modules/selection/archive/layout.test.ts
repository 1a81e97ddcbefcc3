import { describe, expect, it } from 'vitest';
import { checkPurgeRequest } from './layout.js';

describe('checkPurgeRequest', () => {
  it('refuses a basis id that could name another folder or object, and an empty reason, saying what to fix', () => {
    for (const id of ['../b1', 'b1/hour=x', '', 'a'.repeat(101), 'b 1']) {
      expect(() => checkPurgeRequest(id, 'denied')).toThrow(/basisId: a legal basis id/);
    }
    expect(() => checkPurgeRequest('b1', '   ')).toThrow(/reason: say why the data is purged/);
  });

  it('gives the reason trimmed and at most 500 characters', () => {
    expect(checkPurgeRequest('b1_x-2', '  denied by the commission ')).toBe('denied by the commission');
    expect(checkPurgeRequest('b1', 'x'.repeat(600))).toHaveLength(500);
  });
});
