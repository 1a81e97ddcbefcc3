/** @module STIX timestamps: RFC 3339 UTC text, checked field by field and compared to the nanosecond (STIX 2.1 §2.15). */

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z$/;

/** True when `text` is an RFC 3339 UTC timestamp whose fields name a real instant (leap second :60 allowed). @see STIX 2.1 §2.15; RFC 3339 §5.6 */
export function isValidTimestampText(text: string): boolean {
  const m = TIMESTAMP.exec(text);
  if (m === null) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 60) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day >= 1 && day <= daysInMonth;
}

/**
 * Compares two valid timestamp texts by the instant they name, to the nanosecond (Date keeps only
 * milliseconds, and STIX allows finer); negative when `a` is earlier.
 * @see STIX 2.1 §2.15
 */
export function compareTimestampText(a: string, b: string): number {
  const norm = (t: string): string => {
    const dot = t.indexOf('.');
    const whole = dot < 0 ? t.slice(0, -1) : t.slice(0, dot);
    const frac = dot < 0 ? '' : t.slice(dot + 1, -1);
    return `${whole}.${frac.padEnd(9, '0')}`;
  };
  const x = norm(a);
  const y = norm(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
