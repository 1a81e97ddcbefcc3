import { describe, expect, it } from 'vitest';
import { systemContext } from '#platform/context/index.js';
import { createTestCore } from '#server/test-support/harness.js';
import { seedDemo } from './seed.js';

describe('demo reporting seed', () => {
  it('files a notification and an incident, leaves one report overdue and escalated to its ministry', async () => {
    const core = await createTestCore();
    try {
      const s = await seedDemo(core);
      const sys = systemContext('test');
      const reports = (await core.reporting.listIncidents(sys, { limit: 100 })).items;
      expect(reports).toHaveLength(2);
      const overdue = reports.find((r) => r.id === s.reporting!.overdueIncidentId)!;
      expect(overdue.overdue).toEqual(expect.arrayContaining(['jp.written', 'nis2.notification', 'nis2.final']));
      const fresh = await core.reporting.getIncident(sys, s.reporting!.incidentId);
      expect(fresh.overdue).toEqual([]);
      expect(fresh.indicators.map((i) => i.value)).toEqual(expect.arrayContaining(['203.0.113.200', 'update-check.example']));
      const escalations = await core.db.kysely.selectFrom('report_inbox').select(['recipient', 'sector']).where('kind', '=', 'escalation').execute();
      expect(escalations).toEqual(expect.arrayContaining([{ recipient: 'ministry', sector: 'gas' }, { recipient: 'nco', sector: 'gas' }]));
      expect((await core.registry.listOperators(sys)).length).toBe(6);
    } finally {
      await core.close();
    }
  });
});
