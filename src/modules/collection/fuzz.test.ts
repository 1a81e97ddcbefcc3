import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runFuzz, syntheticCorpus } from './fuzz.js';
import { readUdpDatagrams } from './pcap.js';

// The 27 real datagrams (../shared/testdata/SOURCES.md) plus encoder output are the seeds.
const DIR = new URL('../../../../shared/testdata/exporters/', import.meta.url);
const real = readdirSync(DIR).filter((f) => f.endsWith('.pcap')).flatMap((f) => {
  const r = readUdpDatagrams(readFileSync(new URL(f, DIR)));
  if (!r.ok) throw r.error;
  return r.value.map((d) => d.payload);
});

describe('decoder under mutated input', () => {
  it('survives 50,000 mutations of real datagrams within its bounds', () => {
    expect(real).toHaveLength(27);
    const report = runFuzz(50_000, 20250401, [...real, ...syntheticCorpus()]);
    expect(report.thrown).toBe(0);
    expect(report.internal).toBe(0);
    expect(report.invariantViolations).toEqual([]);
    expect(report.inputs).toBe(50_000);
    // The mutations reach deep paths, not only the header checks.
    expect(report.flows).toBeGreaterThan(5_000);
    for (const code of ['TRUNCATED', 'BAD_VERSION', 'BAD_SET_LENGTH', 'BAD_TEMPLATE', 'BAD_RECORD', 'EXPORTER_LIMIT'] as const) expect(report.byReason[code]).toBeGreaterThan(0);
    // No timing assertion here (speed lives in bench/collector); a hang fails the test's own timeout and the CI fuzz run's time limit.
  }, 120_000);

  it('replays the same run from the same seed', () => {
    const a = runFuzz(2000, 7, real);
    const b = runFuzz(2000, 7, real);
    expect(b.byReason).toEqual(a.byReason);
    expect(b.flows).toBe(a.flows);
  });
});
