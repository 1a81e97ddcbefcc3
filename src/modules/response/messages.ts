/**
 * @module A measure's history as codes with parameters, where the system wrote the reason: the commission's approval
 * carried over (its event names the approval) and the halts oversight orders. Oversight words those halts in English
 * (src/modules/oversight/approvals.ts: a revocation; enforcement.ts: an emergency action denied or not approved in time); the stored
 * text stays as it is for API and CLI clients, and its code is made from it on reading, so older events have one too.
 * A reason people wrote has no code: it is shown as they wrote it.
 */
import type { Message } from '#platform/errors/index.js';

const REVOKED = 'approval revoked: ';
const FIXED: Record<string, string> = {
  'emergency action denied by the commission': 'measureEvent.emergencyDenied',
  'emergency action not approved before its review deadline': 'measureEvent.emergencyLapsed',
  'halted by oversight': 'measureEvent.halted',
};

/** The code of an event's reason when the system wrote it, else null. */
export function eventMessage(transition: string, reason: string, details: Record<string, unknown>): Message | null {
  if (transition === 'approve' && typeof details['approvalId'] === 'string' && reason.startsWith('approved by the commission')) {
    return { code: 'measureEvent.approved', params: { approvalId: details['approvalId'] } };
  }
  if (transition !== 'halt') return null;
  if (reason.startsWith(REVOKED)) return { code: 'measureEvent.approvalRevoked', params: { reason: reason.slice(REVOKED.length) } };
  const code = FIXED[reason];
  return code === undefined ? null : { code, params: {} };
}
