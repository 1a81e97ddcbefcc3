import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '#platform/clock/index.js';
import { systemContext, type RequestContext } from '#platform/context/index.js';
import { createTestCore } from '#server/test-support/harness.js';
import type { Core } from '#server/core.js';
import { addMonth, deadlinesFor, reminderAt } from './clocks.js';
import { createReportingScheduler } from './scheduler.js';
import { addUser, designate, incidentBody } from './test-support/world.js';

const H = 3_600_000;

describe('deadline arithmetic', () => {
  it('computes the JP, NIS2 and CIRCIA deadlines from awareness', () => {
    const aware = Date.parse('2026-01-31T10:00:00Z');
    const d = Object.fromEntries(deadlinesFor(aware, ['nis2', 'circia'], { initialReportHours: 6, writtenReportDays: 30 }).map((x) => [x.key, new Date(x.dueMs).toISOString()]));
    expect(d).toEqual({
      'jp.initial': '2026-01-31T16:00:00.000Z', 'jp.written': '2026-03-02T10:00:00.000Z',
      'nis2.early_warning': '2026-02-01T10:00:00.000Z', 'nis2.notification': '2026-02-03T10:00:00.000Z', 'nis2.final': '2026-03-03T10:00:00.000Z',
      'circia.report': '2026-02-03T10:00:00.000Z',
    });
    expect(new Date(addMonth(Date.parse('2026-01-31T00:00:00Z'))).toISOString()).toBe('2026-02-28T00:00:00.000Z');
    expect(reminderAt(0, 24 * H, 24)).toBe(12 * H); // never earlier than halfway
    expect(reminderAt(0, 30 * 24 * H, 24)).toBe(29 * 24 * H);
  });
});

describe('reporting clocks with a controlled clock', () => {
  const clock = new ManualClock('2026-04-01T00:00:00.000Z');
  let core: Core;
  let op: RequestContext;
  let euOp: RequestContext;
  const sys = systemContext('test-sweep');

  async function ctxOf(token: string): Promise<RequestContext> {
    return { actor: (await core.identity.authenticateToken(token))!, requestId: 'test' };
  }
  const inbox = async (recipient: string, reportId: string) => (await core.db.kysely.selectFrom('report_inbox').select(['kind', 'recipient', 'note']).where('report_id', '=', reportId).where('recipient', '=', recipient).where('kind', '!=', 'filing').execute()) as { kind: string; note: string }[];

  beforeAll(async () => {
    core = await createTestCore({ clock, config: { reporting: { initialReportHours: 24, writtenReportDays: 30, reminderLeadHours: 48 } } });
    const a = await addUser(core, { name: 'Kanto Electric', kind: 'operator', sectors: ['electricity'] }, 'operator', 'kanto');
    const b = await addUser(core, { name: 'EU Gas Trading', kind: 'operator', sectors: ['gas'] }, 'operator', 'eugas');
    await designate(core, a.orgId, 'electricity');
    await designate(core, b.orgId, 'gas', ['nis2', 'circia']);
    op = await ctxOf(a.token);
    euOp = await ctxOf(b.token);
  });
  afterAll(async () => { await core.close(); });

  it('marks a late initial report late, reminds before the written-report deadline, then escalates to ministry and NCO once', async () => {
    clock.set('2026-04-03T00:00:00.000Z');
    const { report } = await core.reporting.fileIncident(op, incidentBody('2026-04-01T00:00:00Z'));
    expect(report.deadlines.find((d) => d.key === 'jp.initial')!.state).toBe('late');
    expect(await core.reporting.sweep(sys)).toEqual({ reminded: 0, escalated: 0 });
    clock.set('2026-04-28T23:59:59.000Z'); // one second before the reminder (48 h before 2026-05-01)
    expect(await core.reporting.sweep(sys)).toEqual({ reminded: 0, escalated: 0 });
    clock.advance(1000);
    expect(await core.reporting.sweep(sys)).toEqual({ reminded: 1, escalated: 0 });
    expect(await core.reporting.sweep(sys)).toEqual({ reminded: 0, escalated: 0 });
    expect((await inbox('operator', report.id)).map((i) => i.kind)).toEqual(['reminder']);
    expect(await inbox('ministry', report.id)).toEqual([]);
    clock.set('2026-05-01T00:00:00.001Z');
    expect(await core.reporting.sweep(sys)).toEqual({ reminded: 0, escalated: 1 });
    expect(await core.reporting.sweep(sys)).toEqual({ reminded: 0, escalated: 0 });
    expect((await inbox('ministry', report.id)).map((i) => i.kind)).toEqual(['escalation']);
    expect((await inbox('nco', report.id)).map((i) => i.kind)).toEqual(['escalation']);
    expect((await inbox('operator', report.id)).map((i) => i.kind).sort()).toEqual(['overdue', 'reminder']);
    const listed = (await core.reporting.listIncidents(op, { limit: 100 })).items;
    expect(listed.find((r) => r.id === report.id)!.overdue).toEqual(['jp.written']);
    // Filing the written report late stops the clock and records it late.
    const { report: after } = await core.reporting.fileFollowUp(op, report.id, { stage: 'written', items: { response: 'Done' } });
    expect(after.status).toBe('written');
    expect(after.deadlines.find((d) => d.key === 'jp.written')!.state).toBe('late');
    expect(after.overdue).toEqual([]);
    const entries = await core.audit.entries({ from: 0, to: 100_000 });
    expect(entries.filter((e) => e.action === 'reporting:escalate' && e.object?.id === report.id)).toHaveLength(1);
  });

  it('meets the written report on time: no reminder, no escalation', async () => {
    clock.set('2026-06-01T00:00:00.000Z');
    const { report } = await core.reporting.fileIncident(op, incidentBody('2026-06-01T00:00:00Z'));
    clock.advance(10 * 24 * H);
    await core.reporting.fileFollowUp(op, report.id, { stage: 'written' });
    clock.advance(60 * 24 * H);
    await core.reporting.sweep(sys);
    expect(await inbox('operator', report.id)).toEqual([]);
    expect(await inbox('ministry', report.id)).toEqual([]);
  });

  it('drives NIS2 (24 h / 72 h / one month after notification) and CIRCIA (72 h, 24 h after a ransom payment)', async () => {
    clock.set('2026-07-01T00:00:00.000Z');
    const { report } = await core.reporting.fileIncident(euOp, incidentBody('2026-07-01T00:00:00Z', { items: { ...(incidentBody('x').items as object), category: 'ransomware' } }));
    const state = (r: typeof report) => Object.fromEntries(r.deadlines.map((d) => [d.key, d.state]));
    expect(state(report)).toEqual({ 'jp.initial': 'met', 'nis2.early_warning': 'met', 'circia.report': 'met', 'nis2.notification': 'open', 'jp.written': 'open', 'nis2.final': 'open' });
    clock.set('2026-07-03T00:00:00.000Z'); // 24 h before the 72 h notification: reminded
    expect(await core.reporting.sweep(sys)).toEqual({ reminded: 1, escalated: 0 });
    clock.set('2026-07-04T00:00:01.000Z'); // the NIS2 notification is overdue
    expect(await core.reporting.sweep(sys)).toEqual({ reminded: 0, escalated: 1 });
    expect((await inbox('ministry', report.id))[0]!.note).toContain('nis2.notification');
    // A ransom paid at 01:00 and reported at 03:00 meets CIRCIA's 24 h; the NIS2 notification is made (late).
    clock.set('2026-07-04T03:00:00.000Z');
    const { report: r2 } = await core.reporting.fileFollowUp(euOp, report.id, { stage: 'update', ransomPaidAt: '2026-07-04T01:00:00Z', meets: ['nis2.notification'] });
    expect(state(r2)).toMatchObject({ 'circia.ransom_payment': 'met', 'nis2.notification': 'late' });
    const fin = r2.deadlines.find((d) => d.key === 'nis2.final')!;
    expect(fin.dueAt).toBe('2026-08-04T03:00:00.000Z'); // one month after the notification actually made
    // A ransom payment reported 30 h after it was made is late.
    clock.set('2026-07-10T00:00:00.000Z');
    const { report: late } = await core.reporting.fileIncident(euOp, incidentBody('2026-07-09T00:00:00Z', { ransomPaidAt: '2026-07-08T18:00:00Z' }));
    expect(state(late)['circia.ransom_payment']).toBe('late');
    // The Japanese-only operator gets no foreign clocks, and may not claim them.
    const { report: jp } = await core.reporting.fileIncident(op, incidentBody('2026-07-09T00:00:00Z', { ransomPaidAt: '2026-07-08T18:00:00Z' }));
    expect(jp.deadlines.map((d) => d.key).sort()).toEqual(['jp.initial', 'jp.written']);
    await expect(core.reporting.fileFollowUp(op, jp.id, { stage: 'update', meets: ['nis2.final'] })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('runs the sweep from a scheduler with start and stop', async () => {
    vi.useFakeTimers();
    try {
      const sweep = vi.fn(async () => ({ reminded: 0, escalated: 0 }));
      const s = createReportingScheduler({ everySeconds: 60 }, { reporting: { sweep } as never });
      await s.start();
      await vi.advanceTimersByTimeAsync(60_000 * 3);
      expect(sweep).toHaveBeenCalledTimes(3);
      await s.stop();
      await vi.advanceTimersByTimeAsync(60_000 * 3);
      expect(sweep).toHaveBeenCalledTimes(3);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('two sweeps at once (two processes\' schedulers)', () => {
  const clock = new ManualClock('2026-04-01T00:00:00.000Z');
  let core: Core;
  afterAll(async () => { await core?.close(); });

  it('write each reminder and escalation once, with one audit entry', async () => {
    core = await createTestCore({ clock, config: { reporting: { initialReportHours: 24, writtenReportDays: 30, reminderLeadHours: 48 } } });
    const a = await addUser(core, { name: 'Tohoku Electric', kind: 'operator', sectors: ['electricity'] }, 'operator', 'tohoku');
    await designate(core, a.orgId, 'electricity');
    const op = { actor: (await core.identity.authenticateToken(a.token))!, requestId: 'test' };
    const { report } = await core.reporting.fileIncident(op, incidentBody('2026-04-01T00:00:00Z'));
    const notices = async () => ((await core.db.kysely.selectFrom('report_inbox').select(['recipient', 'kind']).where('report_id', '=', report.id).where('kind', '!=', 'filing').orderBy('recipient').orderBy('kind').execute()) as { recipient: string; kind: string }[]).map((n) => `${n.recipient}:${n.kind}`);
    const audits = async (action: string) => Number((await core.db.kysely.selectFrom('audit_entries').select((eb) => eb.fn.countAll().as('n')).where('action', '=', action).where('object_id', '=', report.id).executeTakeFirstOrThrow() as { n: number | string }).n);
    const sweeps = (n: number) => Promise.all(Array.from({ length: n }, (_, i) => core.reporting.sweep(systemContext(`sweeper-${i}`))));
    clock.set('2026-04-29T00:00:00.000Z');
    expect((await sweeps(3)).reduce((s, r) => s + r.reminded, 0)).toBe(1);
    expect(await notices()).toEqual(['operator:reminder']);
    expect(await audits('reporting:remind')).toBe(1);
    clock.set('2026-05-01T00:00:00.001Z');
    expect((await sweeps(3)).reduce((s, r) => s + r.escalated, 0)).toBe(1);
    expect(await notices()).toEqual(['ministry:escalation', 'nco:escalation', 'operator:overdue', 'operator:reminder']);
    expect(await audits('reporting:escalate')).toBe(1);
  });
});
