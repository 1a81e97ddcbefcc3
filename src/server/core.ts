/** @module The composition root: opens the database, runs migrations and wires every module's service (no HTTP here). */
import type { Clock } from '#platform/clock/index.js';
import { systemClock } from '#platform/clock/index.js';
import type { Config } from '#platform/config/index.js';
import { migrate, openDatabase, type Database, type NamedMigration } from '#platform/db/index.js';
import type { Logger } from '#platform/logger/index.js';
import { createPolicyEngine, type PolicyEngine } from '#platform/policy/index.js';
import { auditMigrations, createAuditLog, createCheckpointer, defaultLogKeyPath, defaultWitnessKeyPath, witnessStatePath, type AuditLog, type Checkpointer } from '#modules/audit/index.js';
import { createIdentityService, identityMigrations, type IdentityService, type PasswordCost } from '#modules/identity/index.js';
import { createRegistryService, registryMigrations, type RegistryService } from '#modules/registry/index.js';
import { createReportingScheduler, createReportingService, defaultReceiptKeyPath, loadForms, loadOrCreateReceiptSigner, reportingMigrations, type ReceiptSigner, type ReportingScheduler, type ReportingService } from '#modules/reporting/index.js';
import { packagePath } from '#platform/paths/index.js';
import { analysisMigrations, createAnalysisService, createFindingsPurger, type AnalysisService } from '#modules/analysis/index.js';
import { createFeedScheduler, createIntelPurger, createSharingService, loadOrCreateFingerprintKey, recallMigrations, sharingMigrations, type FeedScheduler, type IntelPurger, type SharingService } from '#modules/sharing/index.js';
import type { CacheEvent } from '#cluster/api/index.js';
import { createArchiveHub, type ArchiveHub } from '#cluster/archive-store/index.js';
import { createLifecycle, type Lifecycle } from './lifecycle.js';
import { SECTORS } from '#modules/identity/index.js';
import { systemContext } from '#platform/context/index.js';
import { join } from 'node:path';
import { createOversightScheduler, createOversightService, oversightMigrations, type OversightScheduler, type OversightService } from '#modules/oversight/index.js';
import { archiveInventory, lifecyclePurger, checkpointSource, reidentificationCheck, selectionBasisIssuer } from './oversight-wiring.js';
import { createResponseService, responseMigrations, type ResponseService } from '#modules/response/index.js';
import { dbFindingSource, oversightEmergencyRecorder, oversightMeasureAuthorizer, oversightMeasureSubmitter } from './response-wiring.js';
import { createFlowArchive, createLiveLocator, createSelectionService, derivedKeyStore, openKeystore, resolveKek, selectionMigrations, type PseudonymKeyStore, type FlowArchive, type LiveLocator, type LocatorFactory, type SelectionService } from '#modules/selection/index.js';
import { archiveEngines, locatorFactory, createRangeSync, planLocator, registeredRanges, type RangeSync } from './selection-wiring.js';

/** Every module's migrations, in the order they must run (names sort the same way). */
export const ALL_MIGRATIONS: readonly NamedMigration[] = [...auditMigrations, ...identityMigrations, ...registryMigrations, ...reportingMigrations, ...selectionMigrations, ...oversightMigrations, ...analysisMigrations, ...sharingMigrations, ...recallMigrations, ...responseMigrations].sort((a, b) => a.name.localeCompare(b.name));

/** The running system without its HTTP face. */
export interface Core {
  config: Config;
  db: Database;
  clock: Clock;
  policy: PolicyEngine;
  audit: AuditLog;
  /** Signs audit checkpoints (its timer runs while the server runs). */
  checkpointer: Checkpointer;
  identity: IdentityService;
  /** Sectors, designated operators, their ranges and exporters. */
  registry: RegistryService;
  /** Computer notifications and incident reports, inboxes, receipts. */
  reporting: ReportingService;
  /** Reminds and escalates reporting deadlines (its timer runs while the server runs). */
  reportingScheduler: ReportingScheduler;
  selection: SelectionService;
  /** The pseudonym keys (the cluster's edges receive the periods in use, wrapped: src/cluster/state). */
  keys: PseudonymKeyStore;
  /** Where addresses are; operator ranges changed at run time take effect at once (subscribe for each change). */
  locator: LiveLocator;
  /** Keeps the locator's domestic prefixes in step with the registry (its poll runs while the server runs). */
  ranges: RangeSync;
  /** The flow archive's files and queries (in a cluster: this replica's cache of the archive bucket). */
  archive: FlowArchive;
  /** In a cluster (isReplicated): the archive bucket, this replica's cache of it, retention and purge over it (decision 0010). */
  archiveHub?: ArchiveHub | undefined;
  /** The commission's docket, approvals, emergency path, inspection and Diet report. */
  oversight: OversightService;
  /** Expires approvals and enforces emergency review deadlines (its timer runs while the server runs). */
  oversightScheduler: OversightScheduler;
  /** Findings and cases. */
  analysis: AnalysisService;
  /** Council, sharing groups, intel store, TAXII, feeds, leak tracing. */
  sharing: SharingService;
  /** Pulls external TAXII feeds on a timer (runs while the server runs). */
  feedScheduler: FeedScheduler;
  /** Measures against attack servers, their routing and conditions, artifacts and effect. */
  response: ResponseService;
  /** Purges follow a basis's data everywhere, retention everywhere, deletion certificates (docs/oversight.md "Lifecycle"). */
  lifecycle: Lifecycle;
  /** Recall notices of released intelligence whose data was purged. */
  recalls: IntelPurger;
  /** Calls `listener` after this process dropped cached sharing data or signed a checkpoint (API replicas tell the others); returns the unsubscribe. */
  onCacheEvent(listener: (e: CacheEvent) => void): () => void;
  /** Applies what another API replica told (not passed on again). */
  applyCacheEvent(e: CacheEvent): void;
  /** Calls `listener` when a newer checkpoint was signed, here or (told over NATS) by another replica. */
  onCheckpointSigned(listener: () => void): void;
  /** Tells this process's and (API replicas) the other replicas' checkpoint readers that a stored note changed (a cosignature). */
  checkpointChanged(): void;
  close(): Promise<void>;
}

/**
 * Whether this process is one of several on one PostgreSQL (API replicas, cluster roles): NATS servers are
 * configured and the database is PostgreSQL. The embedded default (SQLite, no NATS) keeps everything in process.
 * @see docs/decisions/0009-api-replicas.md
 */
export function isReplicated(config: Config): boolean {
  return config.cluster.servers.length > 0 && /^postgres(ql)?:\/\//.test(config.database.url ?? '');
}

/** Options beyond the configuration: test seams. */
export interface CoreOptions {
  clock?: Clock;
  logger?: Logger;
  passwordCost?: PasswordCost;
  /** Skip migrations (for `mamori migrate --dry-run`-like flows); default false. */
  skipMigrations?: boolean;
  /** In a cluster: this process's archive cache directory, when not the server's `<dataDir>/archive` (a CLI beside a running replica). */
  archiveCacheDir?: string;
}

/** Opens the database, migrates it and builds every service. */
export async function createCore(config: Config, options: CoreOptions = {}): Promise<Core> {
  const clock = options.clock ?? systemClock;
  const db = openDatabase({ url: config.database.url, dataDir: config.dataDir, busyTimeoutMs: config.database.busyTimeoutMs, poolSize: config.database.poolSize });
  try {
    if (options.skipMigrations !== true) await migrate(db, ALL_MIGRATIONS);
    // Several processes on one PostgreSQL (API replicas): what one process kept in memory goes to the database or NATS.
    const replicated = isReplicated(config);
    const policy = createPolicyEngine();
    // Cache events of this process (passed on to the other API replicas) and who serves the latest checkpoint.
    const cacheListeners = new Set<(e: CacheEvent) => void>();
    const tell = (e: CacheEvent): void => { for (const l of cacheListeners) l(e); };
    const signedListeners = new Set<() => void>();
    const checkpointSigned = (): void => { for (const l of signedListeners) l(); };
    const audit = createAuditLog({ db, clock, policyHash: policy.hash });
    const checkpointer = createCheckpointer(
      {
        origin: config.audit.origin, everyEntries: config.audit.checkpointEveryEntries, everySeconds: config.audit.checkpointEverySeconds, keyFile: config.audit.keyFile ?? defaultLogKeyPath(config.dataDir),
        witnessStateFile: witnessStatePath(config.audit.witnessKeyFile ?? defaultWitnessKeyPath(config.dataDir)),
      },
      { db, log: audit, clock, onError: (e) => options.logger?.error({ err: e }, 'audit checkpoint failed'), onSigned: () => { checkpointSigned(); tell({ scope: 'checkpoint' }); } },
    );
    const identity = createIdentityService({
      db, policy, audit, clock,
      settings: { ...config.auth, sharedThrottle: replicated, ...(options.passwordCost !== undefined ? { passwordCost: options.passwordCost } : {}) },
    });
    // Range changes go through the range sync (created below, before any request can arrive).
    const rangeRef: { sync?: RangeSync } = {};
    const registry = createRegistryService({ db, policy, audit, clock, rangeGate: { around: (p, work) => (rangeRef.sync === undefined ? work() : rangeRef.sync.gate.around(p, work)) } });
    // Forms are configuration read once at start; the receipt key is created on first filing.
    const forms = loadForms(config.reporting.formsDir ?? packagePath('forms'));
    let signer: ReceiptSigner | undefined;
    const reporting = createReportingService({
      db, policy, audit, clock, registry, forms, settings: config.reporting,
      signer: () => (signer ??= loadOrCreateReceiptSigner(config.reporting.receiptKeyFile ?? defaultReceiptKeyPath(config.dataDir))),
    });
    const reportingScheduler = createReportingScheduler({ everySeconds: config.reporting.sweepEverySeconds }, { reporting, onError: (e) => options.logger?.error({ err: e }, 'reporting sweep failed') });
    // Selection: country data from the configured RIR files, MaxMind databases and/or the bundled data, plus configured
    // and registered operator ranges as domestic (docs/selection.md). Checked now; built on first use (about a second),
    // one live locator for selection and for locating response's targets. Ranges changed later take effect at once.
    const locatorPlan = planLocator(config.selection, options.skipMigrations === true ? [] : await registeredRanges(registry));
    if (locatorPlan.skippedRegistryRanges.length > 0) options.logger?.warn({ ranges: locatorPlan.skippedRegistryRanges.length }, 'registered ranges not used as domestic prefixes (host bits set, or inside a special range not treated as domestic)');
    // Country data is folded once (on first use); each change of domestic prefixes is one linear pass over it.
    let factory: LocatorFactory | undefined;
    const live = createLiveLocator((domesticPrefixes) => (factory ??= locatorFactory(locatorPlan)).withDomestic(domesticPrefixes), locatorPlan.domesticPrefixes);
    const ranges = (rangeRef.sync = createRangeSync(config.selection, { registry, live, logger: options.logger }));
    const locator = live.current;
    // Pseudonym keys: an encrypted keystore apart from the data, its modes checked now (docs/selection.md "Keys").
    let keys: PseudonymKeyStore;
    if (config.secrets.pseudonymKey !== undefined) keys = derivedKeyStore(config.secrets.pseudonymKey);
    else {
      // Refused at start unless supplied apart from the data (selection.kekBesideData lets the demo and tests keep it there).
      const keystoreDir = config.selection.keystoreDir ?? join(config.dataDir, 'keys');
      const { kek, beside } = resolveKek({ secret: config.secrets.keyEncryptionKey, file: config.selection.kekFile, dataDir: config.dataDir, keystoreDir, besideData: config.selection.kekBesideData });
      if (beside) options.logger?.warn('selection.kekBesideData: the keystore\'s key-encryption key is kept beside the data (demo and tests only)');
      keys = openKeystore(keystoreDir, kek);
    }
    const selection = createSelectionService({
      db, policy, audit, clock,
      locator,
      keys,
      settings: { rotation: config.selection.pseudonymRotation },
      approvals: reidentificationCheck(() => oversight),
    });
    await selection.reload();
    // Every DuckDB of the archive in bounded memory, spilling inside the archive (never into the working directory).
    const archiveDir = join(config.dataDir, 'archive');
    const engines = archiveEngines(config.archive, archiveDir);
    const local = createFlowArchive({
      dir: archiveDir, engine: engines.engine, audit,
      // Queries get every core: a whole-hour question scans every row of the hour (bench/archive).
      queryEngine: engines.queryEngine, policy, clock, retentionOf: (ids) => selection.retentionOf(ids),
      rollupEngine: engines.rollupEngine,
      writer: {
        fileRows: config.archive.fileRows, maxAgeSeconds: config.archive.maxAgeSeconds, bufferRows: config.archive.bufferRows, walSyncMs: config.archive.walSyncMs,
        memoryBytes: config.archive.writeMemoryBytes,
      },
      ...(options.logger !== undefined ? { logger: options.logger } : {}),
    });
    // In a cluster the archive is the bucket: a query fetches what it reads into this process's bounded cache (in the
    // archive's directory), retention and purges delete from the bucket (connected on first use).
    const hubEngines = archiveEngines(config.archive, options.archiveCacheDir ?? local.dir);
    const archiveHub = replicated ? createArchiveHub({
      bucket: { servers: config.cluster.servers, bucket: config.cluster.archive.bucket, replicas: config.cluster.replicas, name: 'mamori-archive' },
      dir: options.archiveCacheDir ?? local.dir, audit, policy, clock, retentionOf: (ids) => selection.retentionOf(ids), engine: hubEngines.bucketEngine, logger: options.logger,
      queryEngine: hubEngines.bucketQueryEngine,
      cache: { maxBytes: config.cluster.archive.cacheMaxBytes, fetchConcurrency: config.cluster.archive.cacheFetchConcurrency, waitMs: config.cluster.archive.cacheWaitSeconds * 1000 },
    }) : undefined;
    // A replica answers queries and inspection's inventory over the whole bucket (decision 0015); it never writes locally.
    const archive: FlowArchive = archiveHub === undefined ? local : { ...local, queryFlows: archiveHub.queryFlows, inventory: archiveHub.archive.inventory, partitions: archiveHub.archive.partitions };
    // Oversight: approvals become selection's legal bases; a denied emergency acquisition purges its archived flows;
    // inspection reads the archive's holdings and the discard counters. Measure halting connects once response exists.
    const namesOf = async (ids: readonly string[]) => new Map((await identity.listUsers(systemContext('names'))).filter((u) => ids.includes(u.id)).map((u) => [u.id, u.displayName]));
    const oversight: OversightService = createOversightService({
      db, policy, audit, log: audit, clock, checkpoints: checkpointSource(checkpointer), settings: config.oversight, people: { namesOf },
      ports: { basisIssuer: selectionBasisIssuer(selection), purger: lifecyclePurger(() => lifecycle), inventory: archiveInventory(archive, selection) },
    });
    const oversightScheduler = createOversightScheduler({ everySeconds: config.oversight.sweepEverySeconds }, { oversight, onError: (e) => options.logger?.error({ err: e }, 'oversight sweep failed') });
    const peopleCtx = systemContext('analysis');
    const findingsPurger = createFindingsPurger({ db, policy, clock });
    const analysis = createAnalysisService({
      db, policy, audit, clock, refuses: findingsPurger.refuses,
      people: { namesOf: async (ids) => new Map((await identity.listUsers(peopleCtx)).filter((u) => ids.includes(u.id)).map((u) => [u.id, u.displayName])) },
    });
    const sharingCtx = systemContext('sharing');
    const sharing = createSharingService({
      db, policy, audit, clock, sectorNames: SECTORS,
      directory: { orgs: () => identity.listOrgs(sharingCtx), users: () => identity.listUsers(sharingCtx) },
      // Kept apart from the database; a throwaway in-memory database gets a throwaway key.
      cacheEvents: tell,
      fingerprintKey: loadOrCreateFingerprintKey(config.database.url === ':memory:' ? undefined : (config.sharing.fingerprintKeyFile ?? join(config.dataDir, 'keys', 'sharing-fingerprint.key'))),
      settings: {
        maxPageSize: config.sharing.maxPageSize, renderCacheEntries: config.sharing.renderCacheEntries,
        pageCacheBytes: config.sharing.pageCacheMiB * 1024 * 1024, statusRetentionMs: config.sharing.taxiiStatusRetentionHours * 3_600_000,
      },
    });
    const feedScheduler = createFeedScheduler({ tickMs: 60_000 }, { sharing, onError: (e) => options.logger?.error({ err: e }, 'feed pull failed') });
    // Response: oversight authorizes, receives submissions and emergency actions, and halts measures whose authority ends.
    const response = createResponseService({
      db, policy, audit, clock,
      ports: {
        authorizer: oversightMeasureAuthorizer(() => oversight), submitter: oversightMeasureSubmitter(() => oversight), emergency: oversightEmergencyRecorder(() => oversight),
        locator: { describe: (a) => locator().describe(a) }, findings: dbFindingSource(db),
      },
    });
    const namesCtx = systemContext('recalls');
    const recalls = createIntelPurger({
      db, policy, audit, clock, forgetCaches: () => sharing.forgetCaches(),
      names: {
        orgs: async (ids) => new Map((await identity.listOrgs(namesCtx)).filter((o) => ids.includes(o.id)).map((o) => [o.id, o.name])),
        people: async (ids) => new Map((await identity.listUsers(namesCtx)).filter((u) => ids.includes(u.id)).map((u) => [u.id, u.displayName])),
        basis: async (id) => {
          const b = await selection.getBasis(namesCtx, id).catch(() => undefined);
          return b === undefined ? null : { id: b.id, kind: b.kind, title: b.title, validFrom: b.validFrom, validUntil: b.validUntil };
        },
      },
    });
    const lifecycle: Lifecycle = createLifecycle({
      db, audit, clock, logger: options.logger, archive: archiveHub?.archive ?? archive, findings: findingsPurger, intel: recalls,
      retentionOf: (ids) => selection.retentionOf(ids), revokedBases: () => selection.revokedIds(),
      keys: { store: keys, forget: (period) => selection.forgetKeyPeriod(period) },
    });
    // A revocation purges the basis's data before it answers; a purge that fails is retried by the retention sweep.
    selection.subscribe(async (change) => {
      if (change.kind !== 'revoked') return;
      try {
        await lifecycle.purgeBasis(systemContext('lifecycle', change.ctx.requestId), change.basisId, 'revoked', change.reason ?? 'revoked');
      } catch (e) {
        options.logger?.error({ err: e, basisId: change.basisId }, 'purge after revocation failed; the retention sweep retries it');
      }
    });
    oversight.connect({ halter: { halt: async (ctx, id, reason) => { await response.haltMeasure(ctx, id, reason); } } });
    return { config, db, clock, policy, audit, checkpointer, identity, registry, reporting, reportingScheduler, selection, keys, locator: live, ranges, archive, archiveHub, oversight, oversightScheduler, analysis, sharing, feedScheduler, response, lifecycle, recalls,
      onCacheEvent: (listener) => { cacheListeners.add(listener); return () => { cacheListeners.delete(listener); }; },
      applyCacheEvent: (e) => { if (e.scope === 'checkpoint') checkpointSigned(); else sharing.applyCacheEvent(e); },
      onCheckpointSigned: (listener) => { signedListeners.add(listener); },
      checkpointChanged: () => { checkpointSigned(); tell({ scope: 'checkpoint' }); },
      close: async () => { await selection.stop(); await archive.close(); await archiveHub?.close(); await db.close(); } };
  } catch (e) {
    await db.close();
    throw e;
  }
}
