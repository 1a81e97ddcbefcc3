// The inbox's notes and their codes: each note the module writes reads back as its code with the same parameters.
import { describe, expect, it } from 'vitest';
import { inboxMessage, overdueNote, reminderNote } from './messages.js';

describe('inbox messages', () => {
  const due = '2026-12-04T07:05:29.305Z';
  it('read an overdue note, an escalation by the ministry and a reminder as codes with their deadline and time', () => {
    expect(inboxMessage(overdueNote('nis2.final', due))).toEqual({ code: 'inbox.overdue', params: { deadline: 'nis2.final', dueAt: due } });
    expect(inboxMessage(overdueNote('jp.written', due, 'Please file (by Friday); see the call.'))).toEqual({
      code: 'inbox.escalatedByMinistry', params: { deadline: 'jp.written', dueAt: due, note: 'Please file (by Friday); see the call.' },
    });
    expect(inboxMessage(reminderNote('circia.ransom_payment', due))).toEqual({ code: 'inbox.dueSoon', params: { deadline: 'circia.ransom_payment', dueAt: due } });
  });
  it('keep the English note API and CLI clients have always read', () => {
    expect(overdueNote('nis2.final', due)).toBe(`nis2.final overdue since ${due} (NIS2 final report (1 month) / NIS2 最終報告（1か月）)`);
  });
  it('give no code for no note, or a note of another shape', () => {
    expect(inboxMessage(null)).toBeNull();
    expect(inboxMessage('something else')).toBeNull();
    expect(inboxMessage(`xx.unknown overdue since ${due} (a / b)`)).toBeNull();
  });
});
