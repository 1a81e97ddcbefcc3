/** @module Tests that the detector thresholds configured under analysis.* reach the detectors, with the documented defaults. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '#platform/config/index.js';
import { ManualClock } from '#platform/clock/index.js';
import { DEFAULT_BEACON_CONFIG, DEFAULT_DDOS_CONFIG, DEFAULT_SCAN_CONFIG, HostTable, createDetectors } from '#modules/analysis/index.js';
import { createPipeline, detectorConfigOf } from './pipeline.js';
import { createTestCore } from './test-support/harness.js';

describe('detector thresholds in the configuration', () => {
  it('defaults to the detectors\' own defaults, key for key', () => {
    const config = parseConfig({});
    expect(config.analysis.beacon).toEqual(DEFAULT_BEACON_CONFIG);
    expect(config.analysis.scan).toEqual(DEFAULT_SCAN_CONFIG);
    expect(config.analysis.ddos).toEqual(DEFAULT_DDOS_CONFIG);
  });

  it('takes a threshold from a variable, and refuses a value out of range or a misspelt key, naming it', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'mamori-cfg-'));
    const { config } = loadConfig({ env: { MAMORI_ANALYSIS_DDOS_MIN_PPS: '1500', MAMORI_ANALYSIS_BEACON_ALERT_INTERVAL: '0.9' }, cwd });
    expect(config.analysis.ddos.minPps).toBe(1500);
    expect(config.analysis.beacon.alertInterval).toBe(0.9);
    const detectors = createDetectors(new HostTable(), detectorConfigOf(config));
    expect(detectors.ddos.config.minPps).toBe(1500);
    expect(detectors.beacon.config.alertInterval).toBe(0.9);
    expect(detectors.scan.config).toEqual(DEFAULT_SCAN_CONFIG);
    expect(() => loadConfig({ env: { MAMORI_ANALYSIS_BEACON_ALERT_SCORE: '2' }, cwd })).toThrow(/analysis\.beacon\.alertScore/);
    expect(() => parseConfig({ analysis: { ddos: { minPPS: 1 } } })).toThrow(/analysis\.ddos\.minPPS: unknown key; did you mean "analysis\.ddos\.minPps"/);
  });

  it('reaches the pipeline\'s detectors', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mamori-detcfg-'));
    const core = await createTestCore({ url: `sqlite:${join(dataDir, 'mamori.db')}`, clock: new ManualClock(Date.parse('2026-05-01T00:00:00Z')), config: { dataDir } });
    try {
      const config = parseConfig({ analysis: { ddos: { minBps: 5e7 }, beacon: { p2pPeers: 0 } } });
      const pipeline = createPipeline(core, { detectorConfig: detectorConfigOf(config) });
      expect(pipeline.detectors?.ddos.config.minBps).toBe(5e7);
      expect(pipeline.detectors?.beacon.config.p2pPeers).toBe(0);
    } finally {
      await core.close();
    }
  });
});
