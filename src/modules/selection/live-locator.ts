/** @module The live locator: operator ranges changed at run time reach every selector at once, and their addresses are held (dropped as unknown) while a change is applied. */
import { LOC_UNKNOWN, type Locator } from './geo.js';
import { writeAddress } from '#modules/collection/index.js';
import { buildTable, lookupSlot, parsePrefix, type RangeSet } from './ranges.js';

/** One change of the domestic prefixes, as subscribers see it (the cluster's edges subscribe to apply the same change). */
export interface DomesticRangeChange {
  /** Increases by one with every applied change in this process. */
  version: number;
  /** The domestic prefixes now in force (configured and registered). */
  prefixes: readonly string[];
  added: readonly string[];
  removed: readonly string[];
}

/** The locator in force, rebuilt when the domestic prefixes change, with a fail-closed hold while a change is applied. */
export interface LiveLocator {
  /** The locator in force (built on first use: loading country data takes about a second). Read once per batch. */
  current(): Locator;
  /** The domestic prefixes in force. */
  prefixes(): readonly string[];
  /**
   * Holds `prefixes`: until the returned release is called, their addresses locate as `unknown`, so a flow touching
   * them is dropped (counted `unknown_location`) rather than classified by country data while a change is applied.
   */
  hold(prefixes: readonly string[]): () => void;
  /** Rebuilds the locator with `prefixes` as the domestic prefixes and tells subscribers; nothing happens when they are unchanged. */
  apply(prefixes: readonly string[]): DomesticRangeChange | undefined;
  /** Calls `listener` after every applied change; returns the unsubscribe function. */
  subscribe(listener: (change: DomesticRangeChange) => void): () => void;
}

/** Adds the network of each prefix (host bits cleared: a registry may hold `133.1.2.3/24`) to `set` as unknown. */
function holdCovering(set: RangeSet, ...prefixes: readonly string[]): void {
  for (const text of prefixes) {
    const [addr = '', lenText] = text.split('/');
    const host = parsePrefix(addr);
    // An IPv4-mapped prefix (::ffff:a.b.c.d/len) counts its length over 128 bits.
    const len = lenText === undefined ? undefined : Number(lenText) - (addr.includes(':') && parsePrefix(addr)?.family === 4 ? 96 : 0);
    if (host === undefined || (lenText !== undefined && !/^\d{1,3}$/.test(lenText))) throw new Error(`"${text}" is not a prefix: write a.b.c.d/len or x:y::/len`);
    if (host.family === 4) {
      const bits = 32 - Math.max(0, Math.min(32, len ?? 32));
      const start = bits === 32 ? 0 : Math.floor(host.start / 2 ** bits) * 2 ** bits;
      set.v4.push({ start, end: start + 2 ** bits - 1, value: LOC_UNKNOWN << 16 });
    } else {
      const bits = BigInt(128 - Math.min(128, len ?? 128));
      const mask = (1n << bits) - 1n;
      set.v6.push({ start: host.start & ~mask, end: host.start | mask, value: LOC_UNKNOWN << 16 });
    }
  }
}

const normalize = (prefixes: readonly string[]): string[] => [...new Set(prefixes)].sort();

/**
 * Creates a live locator over `build` (which folds country data, special ranges and the given domestic
 * prefixes into one table). The rebuild is synchronous, so no batch is selected between a change and its swap.
 * @see DESIGN.md invariant 1 (operators' ranges are domestic whatever the country data says)
 */
export function createLiveLocator(build: (domesticPrefixes: readonly string[]) => Locator, initial: readonly string[]): LiveLocator {
  let prefixes = normalize(initial);
  let base: Locator | undefined;
  let held: Locator | undefined;
  let version = 0;
  const holds = new Map<number, readonly string[]>();
  let nextHold = 1;
  const listeners = new Set<(change: DomesticRangeChange) => void>();

  // The locator with every held prefix over it as `unknown`: the small hold table is searched before the full one.
  function rehold(): void {
    if (holds.size === 0 || base === undefined) { held = undefined; return; }
    const set: RangeSet = { v4: [], v6: [] };
    for (const list of holds.values()) for (const p of list) holdCovering(set, p);
    const b = base;
    const hold = buildTable([set]);
    const lookupValue = (buf: Uint8Array, o: number): number => (lookupSlot(hold, buf, o, 0) !== 0 ? LOC_UNKNOWN << 16 : b.lookupValue(buf, o));
    held = {
      ...b, hold, lookupValue,
      locate: (buf, o) => lookupValue(buf, o) >>> 16,
      describe(address) {
        const slot = new Uint8Array(16);
        if (!writeAddress(slot, 0, address)) throw new Error(`"${address}" is not an IPv4 or IPv6 address`);
        return lookupSlot(hold, slot, 0, 0) !== 0 ? { location: 'unknown', country: undefined } : b.describe(address);
      },
    };
  }

  const baseLocator = (): Locator => {
    if (base === undefined) { base = build(prefixes); rehold(); }
    return base;
  };

  return {
    current: () => { const b = baseLocator(); return held ?? b; },
    prefixes: () => prefixes,
    hold(list) {
      holdCovering({ v4: [], v6: [] }, ...list);
      const id = nextHold++;
      holds.set(id, [...list]);
      rehold();
      return () => { if (holds.delete(id)) rehold(); };
    },
    apply(next) {
      const want = normalize(next);
      if (want.length === prefixes.length && want.every((p, i) => p === prefixes[i])) return undefined;
      const before = new Set(prefixes);
      const after = new Set(want);
      // Built before the swap: a build that throws leaves the locator (and the holds) as they were.
      if (base !== undefined) base = build(want);
      prefixes = want;
      rehold();
      version++;
      const change: DomesticRangeChange = { version, prefixes: want, added: want.filter((p) => !before.has(p)), removed: [...before].filter((p) => !after.has(p)) };
      for (const l of listeners) l(change);
      return change;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => { listeners.delete(listener); };
    },
  };
}
