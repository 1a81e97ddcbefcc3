/** @module The example configurations under deploy/ parse (unknown keys would be refused) and describe a three-site R3 cluster. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '#platform/config/index.js';

const dir = join(import.meta.dirname, '..', '..', 'deploy');

describe('deploy/ examples', () => {
  it('every example config parses, and the three edges and the centre agree on the cluster', () => {
    const files = readdirSync(join(dir, 'config')).filter((f) => f.endsWith('.yaml')).sort();
    expect(files).toEqual(['centre.yaml', 'edge-okinawa.yaml', 'edge-osaka.yaml', 'edge-tokyo.yaml']);
    const configs = files.map((f) => loadConfig({ file: join(dir, 'config', f), env: {} }).config);
    const ids = configs.map((c) => c.cluster.edge.id).filter((x) => x !== undefined);
    expect(ids).toEqual(['okinawa-ix-1', 'osaka-ix-1', 'tokyo-ix-1']);
    for (const c of configs) {
      expect(c.cluster.servers).toHaveLength(3);
      expect(c.cluster.replicas).toBe(3);
      expect(c.cluster.partitions).toBe(configs[0]!.cluster.partitions);
    }
  });

  it('edges need no database credential: only the key-wrapping key, which the API replicas load too', () => {
    const edge = readFileSync(join(dir, 'systemd', 'mamori-edge.service'), 'utf8');
    expect(edge.match(/^LoadCredential=.*$/gm)).toEqual(['LoadCredential=edge-key-wrap:/etc/mamori/credentials/edge-key-wrap']);
    expect(edge).toContain('MAMORI_CLUSTER_KEY_WRAP_FILE="$CREDENTIALS_DIRECTORY/edge-key-wrap"');
    expect(edge).not.toContain('MAMORI_DATABASE_URL');
    const serve = readFileSync(join(dir, 'systemd', 'mamori-serve.service'), 'utf8');
    expect(serve).toContain('MAMORI_CLUSTER_KEY_WRAP_FILE="$CREDENTIALS_DIRECTORY/edge-key-wrap"');
    expect(serve).toContain('MAMORI_SELECTION_KEK_FILE="$CREDENTIALS_DIRECTORY/pseudonym-kek"');
    const centre = loadConfig({ file: join(dir, 'config', 'centre.yaml'), env: {} }).config;
    expect(centre.selection.keystoreDir).toBeDefined();
    for (const f of ['edge-okinawa.yaml', 'edge-osaka.yaml', 'edge-tokyo.yaml']) {
      expect(loadConfig({ file: join(dir, 'config', f), env: {} }).config.database.url).toBeUndefined();
    }
  });

  it('the three NATS configs route to each other', () => {
    for (const i of [1, 2, 3]) {
      const text = readFileSync(join(dir, 'nats', `nats-${i}.conf`), 'utf8');
      expect(text).toContain(`server_name: mamori-nats-${i}`);
      for (const j of [1, 2, 3].filter((x) => x !== i)) expect(text).toContain(`nats-route://nats-${j}.centre.example:6222`);
    }
  });
});
