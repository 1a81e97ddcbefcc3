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

/** Median absolute deviation around the median of ascending-sorted values. */
export function medianAbsDev(sorted: ArrayLike<number>): number {
  const med = quantile(sorted, 0.5);
  const dev = Float64Array.from(sorted as ArrayLike<number>, (v) => Math.abs(v - med)).sort();
  return quantile(dev, 0.5);
}

/**
 * The share of values that fall in the `k` largest clusters, where a cluster holds values within
 * max(absTol, relTol·center) of its first member. A beacon with one sleep time, or a few (back-off
 * schedules, jitter modes), scores near 1; Poisson-like traffic spreads over many clusters.
 * @see docs/detection.md#beaconing
 */
export function modeShare(sorted: ArrayLike<number>, k = 3, relTol = 0.1, absTol = 0.5): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const sizes: number[] = [];
  let start = sorted[0]!;
  let size = 0;
  for (let i = 0; i < n; i++) {
    const v = sorted[i]!;
    if (v - start <= Math.max(absTol, relTol * start) * 2) size++;
    else { sizes.push(size); start = v; size = 1; }
  }
  sizes.push(size);
  sizes.sort((a, b) => b - a);
  let top = 0;
  for (let i = 0; i < Math.min(k, sizes.length); i++) top += sizes[i]!;
  return top / n;
}

/** Clamps to 0..1. */
export function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : Number.isNaN(x) ? 0 : x;
}
