/** @module Test helper: the bundled country data loaded once per test file. */
import { loadIpLocationDb } from '../geo.js';
import type { RangeSet } from '../ranges.js';

let cached: RangeSet | undefined;

/** The bundled country ranges, parsed once. */
export function bundledCountries(): RangeSet {
  cached ??= loadIpLocationDb();
  return cached;
}
