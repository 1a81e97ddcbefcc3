// Narrowing an acquisition's selectors: only changes are sent, emptied fields are lifted, bad numbers are caught before sending.
import { describe, expect, it } from 'vitest';
import { narrowSelectors, type SelectorKey } from './narrowing.js';

const asked = { foreignPrefixes: ['198.51.100.0/24', '203.0.113.0/24'], ports: [443, 8443], exporters: ['edge-1', 'edge-2'] };
const text = (over: Partial<Record<SelectorKey, string>> = {}): Record<SelectorKey, string> => ({
  foreignPrefixes: '198.51.100.0/24\n203.0.113.0/24', domesticPrefixes: '', exporters: 'edge-1\nedge-2', ports: '443\n8443', protocols: '', ...over,
});

describe('narrowSelectors', () => {
  it('sends nothing when no selector changed (blank lines and spaces do not count)', () => {
    expect(narrowSelectors(asked, text({ ports: ' 443 \n\n8443\n' }))).toBeUndefined();
  });
  it('narrows each selector and keeps the others as asked', () => {
    expect(narrowSelectors(asked, text({ foreignPrefixes: '198.51.100.0/25', exporters: 'edge-1', ports: '443', protocols: '6', domesticPrefixes: '192.0.2.0/24' }))).toEqual({
      foreignPrefixes: ['198.51.100.0/25'], domesticPrefixes: ['192.0.2.0/24'], exporters: ['edge-1'], ports: [443], protocols: [6],
    });
  });
  it('leaves an emptied selector out (the server refuses lifting a limit the request set)', () => {
    expect(narrowSelectors(asked, text({ exporters: '' }))).toEqual({ foreignPrefixes: asked.foreignPrefixes, ports: asked.ports });
  });
  it('refuses ports and protocols that are not whole numbers in range', () => {
    for (const bad of [{ ports: '443\n70000' }, { ports: 'https' }, { protocols: '256' }, { protocols: '-1' }, { ports: '4.5' }]) {
      expect(narrowSelectors(asked, text(bad))).toBe('bad-number');
    }
  });
});

describe('narrowSelectors on prefixes', () => {
  it('refuses a prefix that is not CIDR before sending', () => {
    expect(narrowSelectors(asked, text({ foreignPrefixes: '198.51.100.0/33' }))).toBe('bad-prefix');
    expect(narrowSelectors(asked, text({ domesticPrefixes: '192.0.2.1' }))).toBe('bad-prefix');
  });
});
