/** @module The locator as configured: RIR files first, configured and registered domestic prefixes, special-range overrides, and clear errors for bad settings. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { loadConfig, parseConfig } from '#platform/config/index.js';
import { MetricsRegistry } from '#platform/metrics/index.js';
import { archiveEngines, archiveRollupMetrics, buildLocator, compactionComponent, planLocator, registeredRanges, retentionComponent, rollupComponents } from './selection-wiring.js';

const dir = mkdtempSync(join(tmpdir(), 'mamori-locator-'));
const rir = join(dir, 'delegated-test-extended');
writeFileSync(rir, [
  '2|test|20260401|3|19830101|20260401|+0000',
  'test|*|ipv4|*|2|summary',
  'test|JP|ipv4|8.8.8.0|256|20260101|allocated|A1',
  'test|US|ipv4|1.1.1.0|256|20260101|assigned|A2',
  '',
].join('\n'));

const settings = (over: Record<string, unknown> = {}) => parseConfig({ selection: over }).selection;

describe('selection configuration → locator', () => {
  it('uses the RIR file alone when the bundled data is off, with the configured country', () => {
    const jp = buildLocator(planLocator(settings({ rirDelegatedFiles: [rir], bundledCountryData: false })));
    expect(jp.describe('8.8.8.8')).toEqual({ location: 'domestic', country: 'JP' });
    expect(jp.describe('1.1.1.1')).toEqual({ location: 'foreign', country: 'US' });
    expect(jp.describe('9.9.9.9').location).toBe('unknown');
    const us = buildLocator(planLocator(settings({ rirDelegatedFiles: [rir], bundledCountryData: false, domesticCountry: 'US' })));
    expect(us.describe('1.1.1.1').location).toBe('domestic');
    expect(us.domesticCountry).toBe('US');
  });

  it('adds configured and registered domestic prefixes, and applies special-range overrides', () => {
    const plan = planLocator(settings({ rirDelegatedFiles: [rir], bundledCountryData: false, domesticPrefixes: ['1.1.1.0/28'], specialRangeOverrides: { '203.0.113.0/24': 'foreign' } }), ['9.9.9.0/24', '9.9.10.7/24', '203.0.113.0/25', '192.0.2.0/25', '10.1.0.0/16']);
    // Host bits set, or inside a special range the table treats as foreign or ignored: left out.
    expect(plan.skippedRegistryRanges).toEqual(['9.9.10.7/24', '203.0.113.0/25', '192.0.2.0/25']);
    expect(plan.domesticPrefixes).toEqual(['1.1.1.0/28', '9.9.9.0/24', '10.1.0.0/16']);
    const loc = buildLocator(plan);
    expect(loc.describe('1.1.1.5').location).toBe('domestic');
    expect(loc.describe('1.1.1.200').location).toBe('foreign');
    expect(loc.describe('9.9.9.9').location).toBe('domestic');
    expect(loc.describe('203.0.113.10').location).toBe('foreign');
    expect(loc.describe('192.0.2.10').location).toBe('ignore');
  });

  it('refuses a missing file, a bad prefix, an unknown special range, or no country data at all', () => {
    const code = (f: () => unknown) => { try { f(); return 'none'; } catch (e) { return (e as { code?: string }).code; } };
    expect(code(() => planLocator(settings({ rirDelegatedFiles: [join(dir, 'missing')] })))).toBe('CONFIG_INVALID');
    expect(code(() => planLocator(settings({ domesticPrefixes: ['133.0.0.1/8'] })))).toBe('CONFIG_INVALID');
    expect(code(() => planLocator(settings({ specialRangeOverrides: { '203.0.114.0/24': 'foreign' } })))).toBe('CONFIG_INVALID');
    expect(code(() => planLocator(settings({ bundledCountryData: false })))).toBe('CONFIG_INVALID');
    expect(code(() => parseConfig({ selection: { domesticPrefixes: ['not-a-prefix'] } }))).toBe('CONFIG_INVALID');
    expect(code(() => parseConfig({ selection: { pseudonymRotation: 'hourly' } }))).toBe('CONFIG_INVALID');
  });

  it('takes lists and overrides from MAMORI_* variables', () => {
    const { config } = loadConfig({ env: { MAMORI_SELECTION_DOMESTIC_PREFIXES: '133.0.0.0/8, 2001:240::/32', MAMORI_SELECTION_SPECIAL_RANGE_OVERRIDES: '203.0.113.0/24=foreign', MAMORI_SELECTION_PSEUDONYM_ROTATION: 'daily' } });
    expect(config.selection).toMatchObject({ domesticPrefixes: ['133.0.0.0/8', '2001:240::/32'], specialRangeOverrides: { '203.0.113.0/24': 'foreign' }, pseudonymRotation: 'daily', domesticCountry: 'JP' });
  });

  it('reads the registry\'s operator ranges', async () => {
    const ranges = await registeredRanges({ listOperators: async () => [{ ranges: [{ cidr: '133.87.0.0/16' }] }, { ranges: [] }] as never });
    expect(ranges).toEqual(['133.87.0.0/16']);
  });

  it('runs the archive retention job at start and on its timer, as the system, and waits for it at stop', async () => {
    const calls: string[] = [];
    let release: () => void = () => undefined;
    const c = retentionComponent({ enforceRetention: async (ctx) => { calls.push(ctx.actor.id); await new Promise<void>((r) => { release = r; }); return { deleted: [] }; } }, 3600);
    await c.start();
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatch(/retention/);
    let stopped = false;
    const stopping = c.stop().then(() => { stopped = true; });
    await new Promise((r) => setTimeout(r, 20));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(stopped).toBe(true);
  });

  it('runs the current hour\'s rollups on their timer (not at start), logs a failure without stopping, and none at 0 seconds', async () => {
    expect(rollupComponents({ rollupOpenHours: async () => 0 }, 0)).toEqual([]);
    // A fake clock: on a loaded machine a real 1-second interval fired late and the count at 2.3 s was 1, not 2.
    vi.useFakeTimers();
    try {
      let calls = 0;
      const errors: unknown[] = [];
      const logger = { error: (o: unknown) => { errors.push(o); } } as never;
      const [c] = rollupComponents({ rollupOpenHours: async () => { calls++; if (calls === 1) throw new Error('disk full'); return 1; } }, 1, logger);
      await c!.start();
      expect(calls).toBe(0);
      await vi.advanceTimersByTimeAsync(999);
      expect(calls).toBe(0);
      await vi.advanceTimersByTimeAsync(1);
      expect(calls).toBe(1);
      expect(errors).toHaveLength(1); // the first run failed and was logged
      await vi.advanceTimersByTimeAsync(1_300);
      expect(calls).toBe(2); // and the timer went on
      await c!.stop();
      await vi.advanceTimersByTimeAsync(5_000);
      expect(calls).toBe(2); // none after stop
      expect(errors).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('logs a failed compaction, rollup or retention run by its error\'s first line, without the values and paths DuckDB quotes', async () => {
    // DuckDB's message as it reads: the value it could not convert, the file it was reading, then the statement echoed.
    const err = new Error("Conversion Error: Could not convert string '203.0.113.9' to INT32 in '/var/lib/mamori/archive/cb-1/2026-12-06T10.parquet'\nLINE 1: COPY (SELECT src_addr ...");
    vi.useFakeTimers();
    try {
      const logged: unknown[] = [];
      const logger = { error: (o: unknown) => { logged.push(o); }, info: () => undefined } as never;
      const jobs = [
        compactionComponent({ compact: async () => { throw err; } }, 1, 100_000, logger),
        ...rollupComponents({ rollupOpenHours: async () => { throw err; } }, 1, logger),
        retentionComponent({ enforceRetention: async () => { throw err; } }, 1, logger),
      ];
      for (const j of jobs) await j.start();
      await vi.advanceTimersByTimeAsync(1_000);
      for (const j of jobs) await j.stop();
      expect(logged).toHaveLength(4); // retention runs at start too
      for (const o of logged) {
        expect(o).toEqual({ err: { type: 'Error', message: 'Conversion Error: Could not convert string … to INT32 in …' } });
        expect(JSON.stringify(o)).not.toMatch(/203\.0\.113\.9|\/var\/lib|SELECT/);
      }
    } finally {
      vi.useRealTimers();
    }
  });

  it('shows the archive\'s rollup failures by kind and its merge failures on /metrics, as they stand when scraped', () => {
    const metrics = new MetricsRegistry();
    const stats = { minuteFailures: 0, portFailures: 0, mergeFailures: 0, setAside: 0 };
    archiveRollupMetrics({ rollupStats: () => stats }, metrics);
    Object.assign(stats, { minuteFailures: 3, portFailures: 1, mergeFailures: 4, setAside: 2 });
    const text = metrics.render();
    expect(text).toContain('# TYPE mamori_archive_rollup_failures_total counter');
    expect(text).toContain('mamori_archive_rollup_failures_total{rollup="minute"} 3');
    expect(text).toContain('mamori_archive_rollup_failures_total{rollup="port"} 1');
    expect(text).toContain('# TYPE mamori_archive_merge_failures_total counter');
    expect(text).toContain('mamori_archive_merge_failures_total 4');
    expect(text).toContain('# TYPE mamori_archive_files_set_aside_total counter');
    expect(text).toContain('mamori_archive_files_set_aside_total 2');
  });

  it('bounds every DuckDB of the archive by its configured memory and spills each into a new, empty directory of its own, removed at close', async () => {
    const archive = join(dir, 'archive-engines');
    // Left by instances that are gone: one of a killed process whose pid this process now has (a restarted container's
    // first processes reuse the last one's pids), and one of a process that is gone.
    const reused = join(archive, '_spill', `write-${process.pid}`);
    mkdirSync(reused, { recursive: true });
    writeFileSync(join(reused, 'duckdb_temp_storage_S32K-0.tmp'), 'a killed instance\'s spill');
    mkdirSync(join(archive, '_spill', 'query-999999999'), { recursive: true });
    const limits = { writeMemoryBytes: 64 * 2 ** 20, queryMemoryBytes: 96 * 2 ** 20, rollupMemoryBytes: 80 * 2 ** 20 };
    const engines = archiveEngines(limits, archive);
    const expected: [keyof typeof engines, string, string][] = [
      ['engine', '64.0 MiB', 'write'], ['queryEngine', '96.0 MiB', 'query'], ['rollupEngine', '80.0 MiB', 'rollup'],
      ['bucketEngine', '64.0 MiB', 'bucket-compaction'], ['bucketQueryEngine', '96.0 MiB', 'bucket-query'], ['roundEngine', '64.0 MiB', 'rounds'],
    ];
    const spills = new Set<string>();
    for (const [name, memory, purpose] of expected) {
      const e = await engines[name]();
      const [r] = await e.all(`SELECT current_setting('memory_limit') AS memory, current_setting('temp_directory') AS spill`);
      const spill = String(r!['spill']);
      try {
        expect([name, r!['memory']]).toEqual([name, memory]);
        expect(spill).toMatch(new RegExp(`^${join(archive, '_spill')}/${purpose}-${process.pid}-[0-9a-f]{8}$`));
        expect(readdirSync(spill)).toEqual([]); // made for it, empty
        spills.add(spill);
        if (name === 'engine') {
          // A table larger than its memory is spilled there.
          await e.run('CREATE TABLE big AS SELECT md5(range::VARCHAR) AS k FROM range(3000000)');
          expect(readdirSync(spill).length).toBeGreaterThan(0);
          // Two instances of one purpose open at once: each its own.
          const again = await engines.engine();
          const [o] = await again.all(`SELECT current_setting('temp_directory') AS spill`);
          again.close();
          expect(o!['spill']).not.toBe(spill);
          expect(existsSync(spill)).toBe(true); // opening the second left the first's alone
        }
      } finally {
        e.close();
      }
      expect(existsSync(spill)).toBe(false); // removed at close
    }
    expect(spills.size).toBe(expected.length);
    expect(readdirSync(join(archive, '_spill'))).toEqual([]); // the leftovers too
  }, 60_000);
});
