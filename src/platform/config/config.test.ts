import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAppError } from '#platform/errors/index.js';
import { loadConfig, nearestKey, parseConfig, redactConfig } from './index.js';

const examples = new URL('../../../config/examples/', import.meta.url).pathname;

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isAppError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected an error');
}

describe('configuration', () => {
  it('has working defaults with no file and no environment', () => {
    const { config, file } = loadConfig({ env: {}, cwd: mkdtempSync(join(tmpdir(), 'mamori-cfg-')) });
    expect(file).toBeUndefined();
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8080 });
    expect(config.dataDir).toBe('./data');
    expect(config.database.url).toBeUndefined();
  });

  it.each(['minimal', 'production'])('reference file %s parses to its expected configuration', (name) => {
    const { config } = loadConfig({ file: join(examples, `${name}.yaml`), env: {} });
    const expected = JSON.parse(readFileSync(join(examples, `${name}.expected.json`), 'utf8')) as unknown;
    expect(config).toEqual(expected);
  });

  it('rejects an unknown key in a file, naming it and the nearest valid key', () => {
    const e = errorOf(() => loadConfig({ file: join(examples, 'typo.yaml'), env: {} }));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toContain('server.prot');
    expect(e.message).toContain('did you mean "server.port"');
  });

  it('lets MAMORI_* variables override the file, coercing numbers and booleans', () => {
    const { config, envKeys } = loadConfig({
      file: join(examples, 'minimal.yaml'),
      env: { MAMORI_SERVER_PORT: '7000', MAMORI_AUTH_COOKIE_SECURE: 'false', MAMORI_DATABASE_URL: 'postgres://u:p@127.0.0.1/x', PATH: '/bin' },
    });
    expect(config.server.port).toBe(7000);
    expect(config.auth.cookieSecure).toBe(false);
    expect(config.database.url).toBe('postgres://u:p@127.0.0.1/x');
    expect(envKeys.sort()).toEqual(['MAMORI_AUTH_COOKIE_SECURE', 'MAMORI_DATABASE_URL', 'MAMORI_SERVER_PORT']);
  });

  it('takes analysis.detectorThreads as auto (the default) or a count of 0–4, from a variable too, and refuses anything else', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'mamori-cfg-'));
    expect(loadConfig({ env: {}, cwd }).config.analysis.detectorThreads).toBe('auto');
    expect(loadConfig({ env: { MAMORI_ANALYSIS_DETECTOR_THREADS: '2' }, cwd }).config.analysis.detectorThreads).toBe(2);
    expect(loadConfig({ env: { MAMORI_ANALYSIS_DETECTOR_THREADS: 'auto' }, cwd }).config.analysis.detectorThreads).toBe('auto');
    for (const bad of ['many', '5', '-1']) {
      const e = errorOf(() => loadConfig({ env: { MAMORI_ANALYSIS_DETECTOR_THREADS: bad }, cwd }));
      expect([bad, e.code]).toEqual([bad, 'CONFIG_INVALID']);
      expect(e.message).toContain('analysis.detectorThreads');
    }
  });

  it('takes collector.receiveRingBytes (128 MiB by default, 256 KiB to 1 GiB), from a variable too', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'mamori-cfg-'));
    expect(loadConfig({ env: {}, cwd }).config.collector.receiveRingBytes).toBe(128 * 1024 * 1024);
    expect(loadConfig({ env: { MAMORI_COLLECTOR_RECEIVE_RING_BYTES: '67108864' }, cwd }).config.collector.receiveRingBytes).toBe(64 * 1024 * 1024);
    for (const bad of ['1024', String(2 ** 31), 'big']) {
      const e = errorOf(() => loadConfig({ env: { MAMORI_COLLECTOR_RECEIVE_RING_BYTES: bad }, cwd }));
      expect([bad, e.code]).toEqual([bad, 'CONFIG_INVALID']);
      expect(e.message).toContain('collector.receiveRingBytes');
    }
  });

  it('takes archive.rollupMemoryBytes (512 MiB by default, at least 64 MiB), from a variable too', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'mamori-cfg-'));
    expect(loadConfig({ env: {}, cwd }).config.archive.rollupMemoryBytes).toBe(512 * 2 ** 20);
    expect(loadConfig({ env: { MAMORI_ARCHIVE_ROLLUP_MEMORY_BYTES: String(2 ** 30) }, cwd }).config.archive.rollupMemoryBytes).toBe(2 ** 30);
    for (const bad of [String(2 ** 20), '536870912.5', 'lots']) {
      const e = errorOf(() => loadConfig({ env: { MAMORI_ARCHIVE_ROLLUP_MEMORY_BYTES: bad }, cwd }));
      expect([bad, e.code]).toEqual([bad, 'CONFIG_INVALID']);
      expect(e.message).toContain('archive.rollupMemoryBytes');
    }
  });

  it('takes archive.writeMemoryBytes (512 MiB) and archive.queryMemoryBytes (1 GiB) by default, at least 64 MiB, from variables too', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'mamori-cfg-'));
    expect(loadConfig({ env: {}, cwd }).config.archive).toMatchObject({ writeMemoryBytes: 512 * 2 ** 20, queryMemoryBytes: 2 ** 30 });
    const env = { MAMORI_ARCHIVE_WRITE_MEMORY_BYTES: String(2 ** 28), MAMORI_ARCHIVE_QUERY_MEMORY_BYTES: String(2 ** 32) };
    expect(loadConfig({ env, cwd }).config.archive).toMatchObject({ writeMemoryBytes: 2 ** 28, queryMemoryBytes: 2 ** 32 });
    for (const key of ['write', 'query']) {
      for (const bad of [String(2 ** 20), '536870912.5', 'lots']) {
        const e = errorOf(() => loadConfig({ env: { [`MAMORI_ARCHIVE_${key.toUpperCase()}_MEMORY_BYTES`]: bad }, cwd }));
        expect([bad, e.code]).toEqual([bad, 'CONFIG_INVALID']);
        expect(e.message).toContain(`archive.${key}MemoryBytes`);
      }
    }
  });

  it('leaves the test suites\' MAMORI_TEST_* variables alone (servers they start inherit them)', () => {
    const { envKeys } = loadConfig({ env: { MAMORI_TEST_PORTS: '21000-21999', MAMORI_TEST_PG_ADMIN_URL: 'postgres://postgres@127.0.0.1/postgres', MAMORI_SERVER_PORT: '7000' }, cwd: mkdtempSync(join(tmpdir(), 'mamori-cfg-')) });
    expect(envKeys).toEqual(['MAMORI_SERVER_PORT']);
  });

  it('rejects an unknown MAMORI_ variable with a suggestion', () => {
    const e = errorOf(() => loadConfig({ env: { MAMORI_SERVER_PROT: '1' }, cwd: tmpdir() }));
    expect(e.message).toContain('MAMORI_SERVER_PROT');
    expect(e.message).toContain('MAMORI_SERVER_PORT');
  });

  it('rejects a wrong type with the key path and what is expected', () => {
    const e = errorOf(() => parseConfig({ server: { port: 'eighty' } }));
    expect(e.message).toMatch(/server\.port: .*number/);
    const range = errorOf(() => parseConfig({ server: { port: 70000 } }));
    expect(range.message).toContain('server.port');
  });

  it('reports a missing file and invalid YAML clearly', () => {
    expect(errorOf(() => loadConfig({ file: '/nonexistent/mamori.yaml', env: {} })).message).toContain('does not exist');
    const dir = mkdtempSync(join(tmpdir(), 'mamori-cfg-'));
    writeFileSync(join(dir, 'bad.yaml'), 'server: [unclosed');
    expect(errorOf(() => loadConfig({ file: join(dir, 'bad.yaml'), env: {} })).message).toContain('not valid YAML');
    writeFileSync(join(dir, 'list.yaml'), '- a\n- b\n');
    expect(errorOf(() => loadConfig({ file: join(dir, 'list.yaml'), env: {} })).message).toContain('mapping');
  });

  it('redacts secrets when printed, including a database password', () => {
    const config = parseConfig({ database: { url: 'postgres://mamori:hunter2@db/mamori' }, secrets: { sessionSecret: 'x'.repeat(40) } });
    const printed = JSON.stringify(redactConfig(config));
    expect(printed).not.toContain('hunter2');
    expect(printed).not.toContain('x'.repeat(40));
    expect(printed).toContain('db/mamori');
  });

  it('suggests the nearest key', () => {
    expect(nearestKey('server.hots')).toBe('server.host');
    expect(nearestKey('zzzzzzzzzzzzzz')).toBeUndefined();
  });
});
