/** @module Versioning of STIX domain objects: new versions, revocation, expiry and picking the latest version (STIX 2.1 §3.6). */
import { AppError, err, ok, type Result } from '#platform/errors/index.js';
import { compareTimestampText, isValidTimestampText } from './timestamps.js';

/** What versioning reads of an object: the common properties that identify and date a version. @see STIX 2.1 §3.2, §3.6 */
export interface Versioned {
  type: string;
  id: string;
  created: string;
  modified: string;
  created_by_ref?: string | undefined;
  revoked?: boolean | undefined;
}

// Properties that name the object rather than the version; a new version keeps them (STIX 2.1 §3.6.1).
const FIXED = ['type', 'id', 'created', 'created_by_ref', 'spec_version'] as const;

/** A timestamp in the millisecond form STIX writes for `created` and `modified`. @see STIX 2.1 §3.2 */
export function stixTimestamp(at: Date): string {
  return at.toISOString();
}

/**
 * A new version of `object` with `changes` applied: same id, created and creator, and a `modified`
 * strictly later than the current one (`now`, or one millisecond past the old version if the clock
 * is not ahead). Revoked objects cannot get new versions.
 * @see STIX 2.1 §3.6.1
 */
export function newVersion<T extends Versioned>(object: T, changes: Partial<Omit<T, (typeof FIXED)[number] | 'modified'>>, now: Date): Result<T, AppError> {
  if (object.revoked === true) return err(new AppError('CONFLICT', 'The object is revoked; a revoked object gets no new versions.'));
  for (const key of FIXED) {
    if (key in changes && (changes as Record<string, unknown>)[key] !== (object as Record<string, unknown>)[key]) {
      return err(new AppError('BAD_REQUEST', `A new version keeps ${key}; create a new object to change it.`));
    }
  }
  if (!isValidTimestampText(object.modified)) return err(new AppError('BAD_REQUEST', 'The object has no valid modified timestamp.'));
  const parsed = Date.parse(object.modified);
  // A leap-second timestamp (…:60Z) does not parse; the clock alone then decides.
  const previous = Number.isNaN(parsed) ? now.getTime() - 1 : parsed;
  // Date keeps milliseconds; a finer old timestamp rounds down, so step past it explicitly.
  let modified = stixTimestamp(new Date(Math.max(now.getTime(), previous + 1)));
  if (compareTimestampText(modified, object.modified) <= 0) modified = stixTimestamp(new Date(previous + 1));
  return ok({ ...object, ...changes, modified });
}

/** A new, final version of `object` marked revoked; consumers should then ignore it. @see STIX 2.1 §3.6.2 */
export function revoke<T extends Versioned>(object: T, now: Date): Result<T, AppError> {
  return newVersion(object, { revoked: true } as Partial<Omit<T, (typeof FIXED)[number] | 'modified'>>, now);
}

/** True when an object with `valid_until` (an indicator) has reached it at `now`. @see STIX 2.1 §4.7 */
export function isExpired(object: { valid_until?: string | undefined }, now: Date): boolean {
  if (object.valid_until === undefined) return false;
  return compareTimestampText(stixTimestamp(now), object.valid_until) >= 0;
}

function later<T extends Versioned>(a: T, b: T): T {
  return compareTimestampText(b.modified, a.modified) > 0 ? b : a;
}

/**
 * The latest version (greatest `modified`) of one object among `versions`: the object `id`, by
 * default that of the first entry; ties keep the first seen.
 * @see STIX 2.1 §3.6
 */
export function latestVersion<T extends Versioned>(versions: readonly T[], id: string | undefined = versions[0]?.id): T | undefined {
  let best: T | undefined;
  for (const v of versions) if (v.id === id) best = best === undefined ? v : later(best, v);
  return best;
}

/** The latest version of every object in `list`, one per id, in order of first appearance. @see STIX 2.1 §3.6 */
export function latestVersions<T extends Versioned>(list: readonly T[]): T[] {
  const best = new Map<string, T>();
  for (const v of list) {
    const seen = best.get(v.id);
    best.set(v.id, seen === undefined ? v : later(seen, v));
  }
  return [...best.values()];
}
