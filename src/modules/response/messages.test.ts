// A measure's history: the reasons the system writes carry codes; people's reasons do not.
import { describe, expect, it } from 'vitest';
import { eventMessage } from './messages.js';

describe('measure event messages', () => {
  it('name the approval the commission gave', () => {
    expect(eventMessage('approve', 'approved by the commission (approval 01ABC)', { approvalId: '01ABC' })).toEqual({ code: 'measureEvent.approved', params: { approvalId: '01ABC' } });
  });
  it('word the halts oversight orders (src/modules/oversight/service.ts writes these texts)', () => {
    expect(eventMessage('halt', 'approval revoked: the campaign ended', {})).toEqual({ code: 'measureEvent.approvalRevoked', params: { reason: 'the campaign ended' } });
    expect(eventMessage('halt', 'emergency action denied by the commission', {})?.code).toBe('measureEvent.emergencyDenied');
    expect(eventMessage('halt', 'emergency action not approved before its review deadline', {})?.code).toBe('measureEvent.emergencyLapsed');
    expect(eventMessage('halt', 'halted by oversight', {})?.code).toBe('measureEvent.halted');
  });
  it('leave people\'s reasons as they wrote them', () => {
    expect(eventMessage('execute', 'approved by the commission, executing now', {})).toBeNull();
    expect(eventMessage('halt', 'operator asked us to stop', {})).toBeNull();
  });
});
