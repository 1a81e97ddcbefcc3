import { describe, expect, it } from 'vitest';
import { parseConfig } from '#platform/config/index.js';
import { startServer } from '#server/run.js';
import { isReplicated } from '#server/core.js';
import { sharedKeysMissing } from './index.js';

const replica = { cluster: { servers: ['nats://127.0.0.1:1'] }, database: { url: 'postgres://mamori@127.0.0.1:1/none' } };

describe('API replica configuration', () => {
  it('is a replica only with NATS servers and PostgreSQL; the embedded default is not', () => {
    expect(isReplicated(parseConfig({}))).toBe(false);
    expect(isReplicated(parseConfig({ cluster: { servers: ['nats://n:4222'] } }))).toBe(false);
    expect(isReplicated(parseConfig({ database: { url: 'postgres://db/m' } }))).toBe(false);
    expect(isReplicated(parseConfig(replica))).toBe(true);
  });

  it('refuses to start a replica whose keys would be its own, naming every setting to give, before touching the database', async () => {
    expect(sharedKeysMissing(parseConfig(replica))).toEqual(['audit.keyFile', 'reporting.receiptKeyFile', 'sharing.fingerprintKeyFile', 'selection.keystoreDir (with selection.kekFile) or secrets.pseudonymKey']);
    await expect(startServer(parseConfig(replica))).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('audit.keyFile, reporting.receiptKeyFile, sharing.fingerprintKeyFile') });
    const shared = parseConfig({ ...replica, audit: { keyFile: '/k/a' }, reporting: { receiptKeyFile: '/k/r' }, sharing: { fingerprintKeyFile: '/k/f' }, secrets: { pseudonymKey: 'x'.repeat(40) } });
    expect(sharedKeysMissing(shared)).toEqual([]);
  });

  it('refuses a replica that would collect (its archive is a cache of the cluster\'s bucket), before touching the database', async () => {
    const keys = { audit: { keyFile: '/k/a' }, reporting: { receiptKeyFile: '/k/r' }, sharing: { fingerprintKeyFile: '/k/f' }, secrets: { pseudonymKey: 'x'.repeat(40) } };
    await expect(startServer(parseConfig({ ...replica, ...keys, collector: { enabled: true } }))).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('collector.enabled: false') });
  });
});
