/** @module Robust statistics the detectors score with: quantiles, Bowley skew, median absolute deviation, interval modes. */

/** The q-quantile (0..1) of ascending-sorted values, by linear interpolation; NaN when empty. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * Bowley (quartile) skewness (Q1 + Q3 − 2·Q2)/(Q3 − Q1), in −1..1; 0 when Q3 = Q1.
 * @see Bowley, Elements of Statistics (1901); RITA beacon analysis
 */
export function bowleySkew(sorted: ArrayLike<number>): number {
  const q1 = quantile(sorted, 0.25);
  const q2 = quantile(sorted, 0.5);
  const q3 = quantile(sorted, 0.75);
  const den = q3 - q1;
  if (!(den > 0)) return 0;
  return (q1 + q3 - 2 * q2) / den;
}

/**
 * Median absolute deviation around the median of ascending-sorted values. `scratch` (at least as long
 * as `sorted`) saves an allocation per call: the beacon detector scores thousands of pairs a flush.
 */
export function medianAbsDev(sorted: ArrayLike<number>, scratch?: Float64Array): number {
  const n = sorted.length;
  const med = quantile(sorted, 0.5);
  const dev = scratch !== undefined && scratch.length >= n ? scratch.subarray(0, n) : new Float64Array(n);
  for (let i = 0; i < n; i++) dev[i] = Math.abs(sorted[i]! - med);
  return quantile(dev.sort(), 0.5);
}

/**
 * The share of values that fall in the `k` largest clusters, where a cluster holds values within
 * max(min(absTol, first/4), relTol·first) of its first member. A beacon with one sleep time, or a few (back-off
 * schedules, jitter modes), scores near 1; Poisson-like traffic spreads over many clusters.
 * @see docs/detection.md#beaconing
 */
export function modeShare(sorted: ArrayLike<number>, k = 3, relTol = 0.1, absTol = 0.5): number {
  const n = sorted.length;
  if (n === 0) return 0;
  // The k largest cluster sizes, kept in descending order as clusters close (no array per call).
  const top = k <= 3 ? TOP3 : new Float64Array(k);
  top.fill(0);
  let start = sorted[0]!;
  let size = 0;
  for (let i = 0; i < n; i++) {
    const v = sorted[i]!;
    // The absolute tolerance is at most a quarter of the cluster's value: sub-second intervals keep apart.
    if (v - start <= Math.max(Math.min(absTol, start / 4), relTol * start) * 2) size++;
    else { keepLargest(top, k, size); start = v; size = 1; }
  }
  keepLargest(top, k, size);
  let sum = 0;
  for (let j = 0; j < k; j++) sum += top[j]!;
  return sum / n;
}

const TOP3 = new Float64Array(3);

/** Inserts `c` into `top[0..k)`, kept in descending order, when it is among the k largest so far. */
function keepLargest(top: Float64Array, k: number, c: number): void {
  for (let j = 0; j < k; j++) {
    if (c > top[j]!) { for (let m = k - 1; m > j; m--) top[m] = top[m - 1]!; top[j] = c; return; }
  }
}

/** Clamps to 0..1. */
export function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : Number.isNaN(x) ? 0 : x;
}
