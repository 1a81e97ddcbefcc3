/** @module Categories of a flow by where its endpoints are: transit, inbound, outbound, or domestic (dropped at once). */
import { LOC_DOMESTIC, LOC_FOREIGN, LOC_IGNORE, LOC_UNKNOWN } from './geo.js';

/** The categories a flow can fall in; `unclassified` is for flows dropped before classification (special or unknown endpoints). */
export const CATEGORIES = ['transit', 'inbound', 'outbound', 'domestic', 'unclassified'] as const;

/** One category. */
export type Category = (typeof CATEGORIES)[number];

/** foreign → foreign. */
export const CAT_TRANSIT = 0;
/** foreign → domestic. */
export const CAT_INBOUND = 1;
/** domestic → foreign. */
export const CAT_OUTBOUND = 2;
/** domestic ↔ domestic: dropped at once, never stored, published or logged — only counted. */
export const CAT_DOMESTIC = 3;
/** An endpoint is special-purpose or of unknown location. */
export const CAT_UNCLASSIFIED = 4;

/**
 * The category of a flow from its endpoints' location codes, or CAT_UNCLASSIFIED when either is
 * ignored or unknown. Hot path: bench/selection.
 * @see DESIGN.md "The legal pipeline" (select)
 */
export function classifyPair(src: number, dst: number): number {
  if (src === LOC_FOREIGN) {
    if (dst === LOC_FOREIGN) return CAT_TRANSIT;
    if (dst === LOC_DOMESTIC) return CAT_INBOUND;
    return CAT_UNCLASSIFIED;
  }
  if (src === LOC_DOMESTIC) {
    if (dst === LOC_FOREIGN) return CAT_OUTBOUND;
    if (dst === LOC_DOMESTIC) return CAT_DOMESTIC;
  }
  return CAT_UNCLASSIFIED;
}

/** True when a location code makes a flow unclassifiable (ignored or unknown). */
export function isUnclassifiable(loc: number): boolean {
  return loc === LOC_IGNORE || loc === LOC_UNKNOWN;
}
