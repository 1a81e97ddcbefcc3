import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '#platform/config/index.js';
import { systemContext } from '#platform/context/index.js';
import { seedReportRows } from '#modules/reporting/test-support/bulk.js';
import { createCore } from '#server/core.js';
import { main } from '../main.js';

describe('mamori report export', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mamori-export-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('streams every report to a private file in audited chunks, as valid JSON one report per line', async () => {
    writeFileSync(join(dir, 'm.yaml'), `dataDir: ${dir}\n`);
    const core = await createCore(parseConfig({ dataDir: dir, selection: { kekBesideData: true } }));
    let before: number;
    try {
      const org = await core.identity.createOrg(systemContext('test'), { name: 'Export Gas Co.', kind: 'operator', sectors: ['gas'] });
      await seedReportRows(core.db.kysely, { orgId: org.id, sector: 'gas', count: 250, startMs: Date.parse('2026-04-01T00:00:00Z') });
      before = (await core.audit.head()).size;
    } finally {
      await core.close();
    }
    const out = join(dir, 'reports.json');
    await main(['node', 'mamori', '--config', join(dir, 'm.yaml'), 'report', 'export', '--format', 'json', '--out', out]);
    expect(process.exitCode ?? 0).toBe(0);
    const text = readFileSync(out, 'utf8');
    const parsed = JSON.parse(text) as { reports: { id: string; createdAt: string }[] };
    expect(parsed.reports).toHaveLength(250);
    expect(text.split('\n{"id":"').length - 1).toBe(250);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const after = await createCore(parseConfig({ dataDir: dir, selection: { kekBesideData: true } }));
    try {
      const entries = await after.audit.entries({ from: before, to: (await after.audit.head()).size });
      const parts = entries.filter((e) => e.action === 'incident:read' && e.details['export'] === 'json');
      expect(parts.map((e) => e.details['count'])).toEqual([100, 100, 50]);
    } finally {
      await after.close();
    }
  });
});
