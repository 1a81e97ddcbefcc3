/**
 * @module The inbox's notices as codes with parameters. The English note is what the inbox has always stored (and API
 * and CLI clients read); its code and parameters are made from it on reading, so rows written before the codes carry
 * them too. Both directions live here, so the note's format and its reading cannot drift apart.
 */
import type { Message } from '#platform/errors/index.js';
import { DEADLINE_LABELS, type DeadlineKey } from './clocks.js';

const labels = (key: DeadlineKey) => `(${DEADLINE_LABELS[key].en} / ${DEADLINE_LABELS[key].ja})`;
const MINISTRY = '; escalated by the ministry: ';

/** The note of an overdue deadline (escalated by the clocks; `ministryNote` when the ministry escalated it). */
export function overdueNote(key: DeadlineKey, dueAt: string, ministryNote?: string): string {
  return `${key} overdue since ${dueAt} ${labels(key)}${ministryNote === undefined ? '' : `${MINISTRY}${ministryNote}`}`;
}

/** The note of a reminder of a deadline drawing near. */
export function reminderNote(key: DeadlineKey, dueAt: string): string {
  return `${key} due ${dueAt} ${labels(key)}`;
}

const NOTE = /^(\S+) (overdue since|due) (\S+) \((?:[^()]|\([^()]*\))*\)(?:; escalated by the ministry: ([\s\S]*))?$/;

/**
 * The code and parameters of a stored note: `inbox.overdue`, `inbox.escalatedByMinistry` (with the ministry's own
 * words as `note`) or `inbox.dueSoon`, each with `deadline` (the clock's key) and `dueAt` (UTC); null for no note
 * or one this module did not write.
 */
export function inboxMessage(note: string | null): Message | null {
  if (note === null) return null;
  const m = NOTE.exec(note);
  if (m === null || !(m[1]! in DEADLINE_LABELS)) return null;
  const params = { deadline: m[1]!, dueAt: m[3]! };
  if (m[2] === 'due') return { code: 'inbox.dueSoon', params };
  return m[4] === undefined ? { code: 'inbox.overdue', params } : { code: 'inbox.escalatedByMinistry', params: { ...params, note: m[4] } };
}
