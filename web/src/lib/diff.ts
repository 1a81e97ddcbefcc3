// A notified field's change shown in full: scalars before → after, lists as the items removed and added.

/** One field's change as the screen shows it. */
export type FieldChange =
  | { kind: 'list'; removed: string[]; added: string[]; kept: string[] }
  | { kind: 'value'; before: string | boolean | null; after: string | boolean | null };

const scalar = (v: unknown): string | boolean | null => (v === null || v === undefined || v === '' ? null : typeof v === 'boolean' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Compares a field's value before and after; lists (on either side) compare item by item, keeping their order. */
export function fieldChange(before: unknown, after: unknown): FieldChange {
  if (Array.isArray(before) || Array.isArray(after)) {
    const b = (Array.isArray(before) ? before : before == null ? [] : [before]).map(String);
    const a = (Array.isArray(after) ? after : after == null ? [] : [after]).map(String);
    return { kind: 'list', removed: b.filter((x) => !a.includes(x)), added: a.filter((x) => !b.includes(x)), kept: a.filter((x) => b.includes(x)) };
  }
  return { kind: 'value', before: scalar(before), after: scalar(after) };
}
