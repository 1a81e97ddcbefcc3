/** @module Tests of the value syntax checks for cyber-observables. */
import { describe, expect, it } from 'vitest';
import { isDomainName, isEmailAddress, isMacAddress, isUrl, parseAddressBlock } from './values.js';

describe('parseAddressBlock', () => {
  it.each<[string, ReturnType<typeof parseAddressBlock>]>([
    ['198.51.100.7', { family: 4, address: '198.51.100.7', prefixLength: 32 }],
    ['112.64.0.0/15', { family: 4, address: '112.64.0.0', prefixLength: 15 }],
    ['2001:db8::1', { family: 6, address: '2001:db8::1', prefixLength: 128 }],
    ['2001:db8::/32', { family: 6, address: '2001:db8::', prefixLength: 32 }],
    ['10.0.0.0/33', undefined],
    ['10.0.0.0/08', undefined],
    ['10.0.0.0/', undefined],
    ['256.0.0.1', undefined],
    ['01.2.3.4', undefined],
    ['example.com', undefined],
    ['2001:db8::/129', undefined],
  ])('%s', (value, expected) => {
    expect(parseAddressBlock(value)).toEqual(expected);
  });
});

describe('names and locators', () => {
  it('checks domain names', () => {
    expect(['example.com', 'a.b-c.example.', '_dmarc.example.com', 'localhost'].every(isDomainName)).toBe(true);
    expect(['', 'domain autuo.xicp.net', '-a.com', 'a..b', `${'a'.repeat(64)}.com`].some(isDomainName)).toBe(false);
  });

  it('checks URLs, e-mail and MAC addresses', () => {
    expect(isUrl('https://example.com/a?b=1')).toBe(true);
    expect(isUrl('example.com/a')).toBe(false);
    expect(isUrl('http://exa mple.com')).toBe(false);
    expect(isEmailAddress('alice@example.co.jp')).toBe(true);
    expect(isEmailAddress('Alice <alice@example.co.jp>')).toBe(false);
    expect(isMacAddress('00:00:5e:00:53:01')).toBe(true);
    expect(isMacAddress('00:00:5E:00:53:01')).toBe(false);
  });
});
