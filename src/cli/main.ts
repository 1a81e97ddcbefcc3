/** @module The `mamori` command: serve, demo, migrate, config, user, token, version (and the subcommands later parts add). */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { redactConfig, parseConfig } from '#platform/config/index.js';
import { migrate, openDatabase } from '#platform/db/index.js';
import { createLogger } from '#platform/logger/index.js';
import { ALL_MIGRATIONS } from '#server/core.js';
import { startServer, stopOnSignals } from '#server/run.js';
import { seedDemo } from '../demo/seed.js';
import { DEMO_USERS } from '../demo/world.js';
import { loadCliConfig } from './context.js';
import { registerIdentityCommands } from './commands/identity.js';
import { collectorComponents, registerCollectionCommands } from './commands/collection.js';
import { registerAnalyzeCommand, registerArchiverCommand } from './commands/analyze.js';
import { createPipeline, detectorConfigOf, detectorThreadsFor, type Pipeline } from '#server/pipeline.js';
import type { UdpCollector } from '#modules/collection/index.js';
import { DEMO_SPECIAL_RANGE_OVERRIDES, demoTrafficBanner, sendDemoTraffic } from '../demo/traffic.js';
import type { Core } from '#server/core.js';
import type { Component } from '#server/run.js';
import type { Config } from '#platform/config/index.js';
import type { Logger } from '#platform/logger/index.js';
import type { MetricsRegistry } from '#platform/metrics/index.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerReportingCommands } from './commands/reporting.js';
import { registerSharingCommands } from './commands/sharing.js';
import { registerAnalysisCommands } from './commands/analysis.js';
import { registerOversightCommands } from './commands/oversight.js';
import { registerFlowQueryCommand } from './commands/flows-query.js';
import { registerKeysCommands } from './commands/keys.js';
import { registerResponseCommands } from './commands/response.js';
import { reportError } from './io.js';
import { stringify as toYaml } from 'yaml';

/** The collector feeding the legal pipeline (selection → archive and detectors); started in this order, stopped in reverse. */
function pipelineComponents(core: Core, config: Config, metrics: MetricsRegistry, logger: Logger): Component[] {
  const pipeline = createPipeline(core, { logger, metrics, analysisThreads: detectorThreadsFor(config.analysis.detectorThreads), detectorConfig: detectorConfigOf(config), analysisQueueRows: config.analysis.queueRows });
  return [pipeline.component, ...collectorComponents(config, metrics, pipeline.sink, logger)];
}

/** The version printed by `mamori version`. */
export const VERSION = '0.1.0';

/** Builds the command tree (exported for tests of `--help`). */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('mamori')
    .description('mamori (守り): national active cyber defense — reporting, lawful flow selection, analysis, oversight, response, sharing.')
    .option('-c, --config <file>', 'configuration file (default: ./mamori.yaml if present; also MAMORI_CONFIG)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('serve')
    .description('Run the server (API, dashboard) on the configured database.')
    .option('--host <host>', 'listen address (overrides server.host)')
    .option('--port <port>', 'listen port (overrides server.port)')
    .action(async (opts: { host?: string; port?: string }, cmd: Command) => {
      const { config, file } = loadCliConfig(cmd, (c) => parseConfig({ ...c, server: { ...c.server, ...(opts.host !== undefined ? { host: opts.host } : {}), ...(opts.port !== undefined ? { port: Number(opts.port) } : {}) } }));
      const logger = createLogger({ level: config.log.level });
      const server = await startServer(config, { logger, components: (core, metrics) => pipelineComponents(core, config, metrics, logger) });
      stopOnSignals(server);
      server.logger.info({ address: server.address, database: server.core.db.description, configFile: file ?? null }, 'mamori listening');
      if ((await server.core.identity.countUsers()) === 0) {
        process.stderr.write('No users yet. Create the first administrator:\n  mamori user add --username admin --role admin --generate-password\n');
      }
    });

  program
    .command('demo')
    .description('Start a fresh demo: SQLite under ./data/demo, a seeded world, one login per role.')
    .option('--port <port>', 'listen port', '8080')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--data-dir <dir>', 'where the demo keeps its files (wiped at start unless --keep)', './data/demo')
    .option('--keep', 'keep the data of an earlier demo run instead of starting fresh')
    .option('--flow-port <port>', 'UDP port of the demo\'s flow collector (NetFlow/IPFIX), on the same address', '2055')
    .action(async (opts: { port: string; host: string; dataDir: string; keep?: boolean; flowPort: string }) => {
      const dataDir = resolve(opts.dataDir);
      const keep = opts.keep === true;
      if (!keep) rmSync(dataDir, { recursive: true, force: true });
      const config = parseConfig({
        dataDir,
        server: { host: opts.host, port: Number(opts.port) },
        database: { url: `sqlite:${join(dataDir, 'mamori.db')}` },
        log: { level: 'warn' },
        // The demo serves plain HTTP on loopback; browsers keep Secure cookies on localhost but not on other hosts.
        auth: { cookieSecure: false },
        // Its foreign actors live in documentation ranges (src/demo/traffic.ts); its throwaway keystore's key-encryption key
        // lives in its data directory (a real deployment supplies one apart from the data).
        selection: { specialRangeOverrides: DEMO_SPECIAL_RANGE_OVERRIDES, kekBesideData: true },
        collector: { listeners: [{ host: opts.host, port: Number(opts.flowPort) }] },
      });
      const logger = createLogger({ level: 'warn' });
      // The demo keeps the pipeline and the collector at hand to send its traffic and flush the findings.
      let pipeline: Pipeline | undefined;
      let collectors: Component[] = [];
      const server = await startServer(config, { logger, components: (core, metrics) => {
        pipeline = createPipeline(core, { logger, metrics, analysisThreads: detectorThreadsFor(config.analysis.detectorThreads), detectorConfig: detectorConfigOf(config), analysisQueueRows: config.analysis.queueRows });
        collectors = collectorComponents(config, metrics, pipeline.sink, logger);
        return [pipeline.component, ...collectors];
      } });
      stopOnSignals(server);
      let seeded: Awaited<ReturnType<typeof seedDemo>> | undefined;
      try {
        seeded = keep && (await server.core.identity.countUsers()) > 0 ? undefined : await seedDemo(server.core);
        // Publish a signed checkpoint of the seeded world at once, rather than after the first interval.
        await server.core.checkpointer.checkpointNow();
      } catch (e) {
        await server.stop();
        throw e;
      }
      const listener = (collectors[0] as UdpCollector | undefined)?.stats().listeners[0];
      const traffic = pipeline !== undefined && listener !== undefined ? await sendDemoTraffic(server.core, { host: listener.address === '0.0.0.0' ? '127.0.0.1' : listener.address === '::' ? '::1' : listener.address, port: listener.port, pipeline }).catch((e: unknown) => { logger.error({ err: e }, 'demo traffic failed'); return undefined; }) : undefined;
      const lines = [
        '',
        '  mamori demo (守り) is running',
        `  address:   ${server.address}`,
        `  API docs:  ${server.address}/api/docs`,
        `  database:  ${server.core.db.description}`,
        seeded !== undefined ? `  seeded:    ${seeded.orgs} organizations, ${seeded.users} users (every change in the audit log)` : '  seeded:    kept from the previous run',
        '',
        '  Demo logins (username / password):',
        ...DEMO_USERS.map((u) => `    ${u.role.padEnd(17)} ${u.username.padEnd(14)} ${u.password}`),
        '',
        `  Try: curl -s -c /tmp/mamori.jar -H 'content-type: application/json' -d '{"username":"analyst","password":"demo-analyst-pass"}' ${server.address}/api/v1/auth/login`,
        `       curl -s -b /tmp/mamori.jar ${server.address}/api/v1/auth/me`,
        `  Audit: curl -s ${server.address}/api/v1/audit/checkpoint ; MAMORI_DATA_DIR=${dataDir} MAMORI_SELECTION_KEK_BESIDE_DATA=true mamori audit verify   (docs/audit.md)`,
        '',
        ...(seeded?.sharing !== undefined ? [
          `  TAXII 2.1 (any client; HTTP Basic or Bearer): ${seeded.sharing.objects} objects in "${seeded.sharing.groupName}", as the council member:`,
          `       curl -s -u council:demo-council-pass -H 'Accept: application/taxii+json;version=2.1' ${server.address}/taxii2/`,
          `       curl -s -u council:demo-council-pass -H 'Accept: application/taxii+json;version=2.1' ${server.address}/taxii2/mamori/collections/`,
          `       curl -s -u council:demo-council-pass -H 'Accept: application/taxii+json;version=2.1' '${server.address}/taxii2/mamori/collections/${seeded.sharing.collectionId}/objects/?limit=10'`,
          '',
        ] : []),
        ...(traffic !== undefined ? demoTrafficBanner(server.address, traffic) : ['  Traffic:   none sent (collector disabled, or sending failed: see the log)', '']),
        '  Press Ctrl-C to stop.',
        '',
      ];
      process.stdout.write(lines.join('\n'));
    });

  program
    .command('migrate')
    .description('Apply pending database migrations (they also run at start).')
    .action(async (_opts: unknown, cmd: Command) => {
      const { config } = loadCliConfig(cmd);
      const db = openDatabase({ url: config.database.url, dataDir: config.dataDir, busyTimeoutMs: config.database.busyTimeoutMs });
      try {
        const applied = await migrate(db, ALL_MIGRATIONS);
        process.stdout.write(applied.length === 0 ? `${db.description}: up to date\n` : `${db.description}: applied ${applied.join(', ')}\n`);
      } finally {
        await db.close();
      }
    });

  program
    .command('config')
    .description('Print the effective configuration (defaults, file, MAMORI_* variables), secrets redacted.')
    .option('--json', 'print JSON instead of YAML')
    .action((opts: { json?: boolean }, cmd: Command) => {
      const { config, file, envKeys } = loadCliConfig(cmd);
      const red = redactConfig(config);
      process.stderr.write(`# from: defaults${file !== undefined ? `, ${file}` : ''}${envKeys.length > 0 ? `, ${envKeys.join(', ')}` : ''}\n`);
      process.stdout.write(opts.json === true ? `${JSON.stringify(red, null, 2)}\n` : toYaml(red));
    });

  program
    .command('version')
    .description('Print the version.')
    .action(() => {
      process.stdout.write(`mamori ${VERSION} (node ${process.versions.node})\n`);
    });

  registerIdentityCommands(program);
  registerCollectionCommands(program);
  registerAnalyzeCommand(program);
  registerArchiverCommand(program);
  registerFlowQueryCommand(program);
  registerKeysCommands(program);
  registerAuditCommands(program);
  registerReportingCommands(program);
  registerSharingCommands(program);
  registerAnalysisCommands(program);
  registerOversightCommands(program);
  registerResponseCommands(program);
  return program;
}

/** Runs the CLI with `argv`; exits non-zero with a message that says what to fix. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    process.exitCode = reportError(e, process.env);
  }
}

