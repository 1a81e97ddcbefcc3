// Test projects: `unit` needs nothing beyond `npm install`; `pg`, `interop` and `e2e` need a server or a Debian tool.
import { defineConfig } from 'vitest/config';

// `source` makes package imports (#platform/…) resolve to the TypeScript sources instead of dist/.
const resolve = { conditions: ['source', 'module', 'node', 'development|production'] };
const ssr = { resolve: { conditions: ['source', 'module', 'node', 'development|production'], externalConditions: ['source'] } };
// Tests' data directories are temporary: commands and servers started from a test (with MAMORI_* variables) may keep
// the keystore's key-encryption key in them, which a deployment may not (selection.kekBesideData).
const env = { MAMORI_SELECTION_KEK_BESIDE_DATA: 'true' };

export default defineConfig({
  test: {
    projects: [
      {
        resolve,
        ssr,
        test: {
          name: 'unit',
          env,
          include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'web/src/**/*.test.ts'],
          exclude: ['**/*.pg.test.ts', '**/*.interop.test.ts', '**/*.e2e.test.ts', '**/*.cluster.test.ts', '**/*.load.test.ts', 'node_modules/**'],
          environment: 'node',
          testTimeout: 20_000,
          // Setting up a core (migrations, policy, users) takes seconds on a loaded 2-CPU machine.
          hookTimeout: 60_000,
          pool: 'forks',
        },
      },
      {
        resolve,
        ssr,
        test: { name: 'pg', env, include: ['src/**/*.pg.test.ts', 'test/**/*.pg.test.ts'], testTimeout: 60_000, hookTimeout: 120_000, fileParallelism: false },
      },
      {
        resolve,
        ssr,
        test: { name: 'interop', env, include: ['src/**/*.interop.test.ts', 'test/**/*.interop.test.ts'], testTimeout: 120_000, fileParallelism: false },
      },
      {
        resolve,
        ssr,
        // Own nats-server processes (three-node cluster on free ports) and a fresh PostgreSQL database.
        test: { name: 'cluster', env, include: ['src/**/*.cluster.test.ts', 'test/**/*.cluster.test.ts'], testTimeout: 180_000, hookTimeout: 120_000, fileParallelism: false },
      },
      {
        resolve,
        ssr,
        // ≥ 100,000 reports and 200 readers against a server in its own process (issue 22); one file at a time.
        test: { name: 'load', env, include: ['test/**/*.load.test.ts'], testTimeout: 600_000, hookTimeout: 600_000, fileParallelism: false },
      },
      {
        resolve,
        ssr,
        test: { name: 'e2e', env, include: ['test/**/*.e2e.test.ts'], testTimeout: 180_000, fileParallelism: false },
      },
    ],
  },
});
