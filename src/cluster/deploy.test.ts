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

  it('the three NATS configs route to each other', () => {
    for (const i of [1, 2, 3]) {
      const text = readFileSync(join(dir, 'nats', `nats-${i}.conf`), 'utf8');
      expect(text).toContain(`server_name: mamori-nats-${i}`);
      for (const j of [1, 2, 3].filter((x) => x !== i)) expect(text).toContain(`nats-route://nats-${j}.centre.example:6222`);
    }
  });
});
