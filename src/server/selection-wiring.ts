/** @module Builds selection's locator from the configuration: RIR files, MaxMind databases and the bundled data as country sources, configured and registered domestic prefixes, special-range overrides. */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { errorSummary, openDuckDb, type DuckDb } from '#platform/duckdb/index.js';
import type { Config } from '#platform/config/index.js';
import { systemContext, type RequestContext } from '#platform/context/index.js';
import { AppError } from '#platform/errors/index.js';
import type { RangeGate, RegistryService } from '#modules/registry/index.js';
import type { DomesticRangeChange, FlowArchive, LiveLocator } from '#modules/selection/index.js';
import type { Logger } from '#platform/logger/index.js';
import type { MetricsRegistry } from '#platform/metrics/index.js';
import { openSpilling } from '#modules/selection/index.js';
import { createLocatorFactory, loadIpLocationDb, mmdbCountryRanges, openMmdb, parsePrefix, parseRirDelegated, withOverrides, type Locator, type LocatorFactory, type RangeSet, type SpecialRange } from '#modules/selection/index.js';

/** What the locator will be built from, checked at start so a bad path or prefix stops start-up rather than selection. */
export interface LocatorPlan {
  domesticCountry: string;
  rirDelegatedFiles: string[];
  mmdbFiles: string[];
  bundled: boolean;
  domesticPrefixes: string[];
  /** Registered operator ranges left out: not prefixes with their host bits zero, or inside a special range not treated as domestic. */
  skippedRegistryRanges: string[];
  specialRanges: SpecialRange[];
}

/**
 * Checks the selection configuration and merges the registry's operator ranges into the domestic
 * prefixes; files are read later, when the locator is first built.
 * @see DESIGN.md "Chosen parts" (country of an address: the loader takes all three; the deployment says which)
 */
export function planLocator(settings: Config['selection'], registryRanges: readonly string[] = []): LocatorPlan {
  for (const f of [...settings.rirDelegatedFiles, ...settings.mmdbFiles]) {
    if (!existsSync(f)) throw new AppError('CONFIG_INVALID', `selection: country data file ${f} does not exist; fix the path in selection.rirDelegatedFiles or selection.mmdbFiles.`);
  }
  if (!settings.bundledCountryData && settings.rirDelegatedFiles.length === 0 && settings.mmdbFiles.length === 0) {
    throw new AppError('CONFIG_INVALID', 'selection: no country data; list selection.rirDelegatedFiles or selection.mmdbFiles, or set selection.bundledCountryData: true.');
  }
  for (const p of settings.domesticPrefixes) {
    if (parsePrefix(p) === undefined) throw new AppError('CONFIG_INVALID', `selection.domesticPrefixes: "${p}" is not a prefix with its host bits zero (e.g. 133.0.0.0/8).`);
  }
  let specialRanges: SpecialRange[];
  try {
    specialRanges = withOverrides(settings.specialRangeOverrides);
  } catch (e) {
    throw new AppError('CONFIG_INVALID', `selection.specialRangeOverrides: ${(e as Error).message}`);
  }
  // A registered range is left out (and reported), never allowed to stop selection, when the locator cannot
  // take it or when it overlaps a special range whose configured treatment is not domestic: the explicit
  // table wins over registry data (e.g. documentation ranges registered by a demo or a test).
  const notDomestic = specialRanges.filter((r) => r.treatment !== 'domestic').map((r) => parsePrefix(r.prefix)).filter((p) => p !== undefined);
  const usable = (text: string): boolean => {
    const p = parsePrefix(text);
    return p !== undefined && !notDomestic.some((q) => q.family === p.family && q.start <= p.end && p.start <= q.end);
  };
  const skippedRegistryRanges = registryRanges.filter((p) => !usable(p));
  const domesticPrefixes = [...settings.domesticPrefixes, ...registryRanges.filter(usable)];
  return { domesticCountry: settings.domesticCountry, rirDelegatedFiles: settings.rirDelegatedFiles, mmdbFiles: settings.mmdbFiles, bundled: settings.bundledCountryData, domesticPrefixes: [...new Set(domesticPrefixes)], skippedRegistryRanges, specialRanges };
}

/** Folds the country data of a plan: RIR files first (most authoritative), then MaxMind databases, then the bundled data. */
export function locatorFactory(plan: LocatorPlan): LocatorFactory {
  const sources: RangeSet[] = [];
  for (const f of plan.rirDelegatedFiles) sources.push(parseRirDelegated(readFileSync(f, 'utf8')).ranges);
  for (const f of plan.mmdbFiles) sources.push(mmdbCountryRanges(openMmdb(readFileSync(f))));
  if (plan.bundled) sources.push(loadIpLocationDb());
  return createLocatorFactory({ domesticCountry: plan.domesticCountry, countrySources: sources, specialRanges: plan.specialRanges });
}

/** Builds the locator of a plan (country data folded, then its domestic prefixes). */
export function buildLocator(plan: LocatorPlan): Locator {
  return locatorFactory(plan).withDomestic(plan.domesticPrefixes);
}

/** The designated operators' registered address ranges (read as the system at start). */
export async function registeredRanges(registry: Pick<RegistryService, 'listOperators'>): Promise<string[]> {
  const ops = await registry.listOperators(systemContext('selection'));
  return ops.flatMap((o) => o.ranges.map((r) => r.cidr));
}

/** Keeps the live locator's domestic prefixes equal to the configured ones plus the registry's, at once and by polling. */
export interface RangeSync {
  /** The registry's gate: a change's prefixes are held while it is written, and applied before the call returns. */
  gate: RangeGate;
  /** Reads the registry and applies its ranges now; returns the change, if any. */
  refresh(): Promise<DomesticRangeChange | undefined>;
  /** Polls the registry every `everyMs`, so a change made by another process (`mamori registry import`) lands within that time. */
  component: { name: string; start(): Promise<void>; stop(): Promise<void> };
}

/**
 * Connects the registry to the live locator: changes made through this process's registry service take
 * effect before the call returns, with their prefixes held (flows dropped) meanwhile; others by polling.
 * @see DESIGN.md invariant 1
 */
export function createRangeSync(settings: Config['selection'], deps: { registry: Pick<RegistryService, 'listOperators'>; live: LiveLocator; logger?: Logger | undefined; everyMs?: number }): RangeSync {
  const { registry, live, logger } = deps;
  let seen = '';
  async function refresh(): Promise<DomesticRangeChange | undefined> {
    const ranges = await registeredRanges(registry);
    seen = [...ranges].sort().join(',');
    const plan = planLocator(settings, ranges);
    const change = live.apply(plan.domesticPrefixes);
    if (change !== undefined) logger?.info({ version: change.version, added: change.added.length, removed: change.removed.length, skipped: plan.skippedRegistryRanges.length }, 'domestic ranges changed');
    return change;
  }
  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const poll = (): void => {
    running = registeredRanges(registry)
      .then((r) => ([...r].sort().join(',') !== seen ? refresh() : undefined))
      .catch((e: unknown) => logger?.error({ err: e }, 'domestic range refresh failed'));
  };
  return {
    gate: {
      async around(prefixes, work) {
        const release = live.hold(prefixes);
        try {
          const result = await work();
          await refresh();
          return result;
        } finally {
          release();
        }
      },
    },
    refresh,
    component: {
      name: 'domestic-ranges',
      async start() {
        await refresh();
        timer = setInterval(poll, deps.everyMs ?? 1000);
        timer.unref();
      },
      async stop() {
        if (timer !== undefined) clearInterval(timer);
        timer = undefined;
        await running;
      },
    },
  };
}

/**
 * The retention job as a server component: at start and then every `everySeconds`, the lifecycle deletes
 * what is past its basis's retention everywhere (archive partitions audited as `retention:delete`, then a
 * deletion certificate per basis).
 * @see DESIGN.md invariant 4
 */
export function retentionComponent(archive: { enforceRetention(ctx: RequestContext): Promise<unknown> }, everySeconds: number, logger?: Logger): { name: string; start(): Promise<void>; stop(): Promise<void> } {
  return periodicComponent('archive-retention', everySeconds, true, () => archive.enforceRetention(systemContext('retention')).catch((e: unknown) => logger?.error({ err: errorSummary(e) }, 'archive retention failed')));
}

/**
 * The rollups of the hours compaction has not reached (the current one) as a server component: every `everySeconds`,
 * minute and port rollups for the files written since the last run. None when `everySeconds` is 0.
 * @see docs/decisions/0016-archive-port-rollups.md
 */
export function rollupComponents(archive: Pick<FlowArchive, 'rollupOpenHours'>, everySeconds: number, logger?: Logger): { name: string; start(): Promise<void>; stop(): Promise<void> }[] {
  if (everySeconds <= 0) return [];
  return [periodicComponent('archive-rollups', everySeconds, false, () => archive.rollupOpenHours().catch((e: unknown) => logger?.error({ err: errorSummary(e) }, 'flow archive rollups failed')))];
}

/**
 * The archive's DuckDB instances, each opened on first use, bounded by its `archive.*MemoryBytes` and spilling into a
 * new directory of its own under `<dir>/_spill/`, removed when it closes (openSpilling; unbounded, each took up to 80 %
 * of the machine and spilled into the working directory): writes and compaction (`writeMemoryBytes`), queries
 * (`queryMemoryBytes`, with every core: a whole-hour question scans every row), rollups (`rollupMemoryBytes`); in a
 * cluster the bucket's compaction and queries, and the archiver's rounds. The writer's thread opens its own, given
 * `writeMemoryBytes` (core.ts).
 * @see docs/operations.md "DuckDB memory"
 */
export function archiveEngines(limits: Pick<Config['archive'], 'writeMemoryBytes' | 'queryMemoryBytes' | 'rollupMemoryBytes'>, dir: string) {
  const bounded = (purpose: string, memoryLimitBytes: number, threads = 1) => (): Promise<DuckDb> =>
    openSpilling(dir, purpose, (spillDir) => openDuckDb({ threads, memoryLimitBytes, spillDir }));
  return {
    engine: bounded('write', limits.writeMemoryBytes),
    queryEngine: bounded('query', limits.queryMemoryBytes, availableParallelism()),
    rollupEngine: bounded('rollup', limits.rollupMemoryBytes),
    bucketEngine: bounded('bucket-compaction', limits.writeMemoryBytes),
    bucketQueryEngine: bounded('bucket-query', limits.queryMemoryBytes, availableParallelism()),
    roundEngine: bounded('rounds', limits.writeMemoryBytes),
  };
}

/**
 * The archive's rollup failures on /metrics, by kind, its merges that failed or left out a file DuckDB cannot read, and the
 * files it set aside as damaged: the local archive's compaction (and current-hour rollups), or in a cluster the bucket
 * compaction's (the leader's).
 */
export function archiveRollupMetrics(
  archive: { rollupStats(): { minuteFailures: number; portFailures: number; mergeFailures: number; setAside?: number } }, metrics: Pick<MetricsRegistry, 'collect'>,
): void {
  metrics.collect('mamori_archive_rollup_failures_total', 'Archive rollups that could not be written, by kind (minute, port); each pass tries them again.', 'counter', () => {
    const s = archive.rollupStats();
    return [{ labels: { rollup: 'minute' }, value: s.minuteFailures }, { labels: { rollup: 'port' }, value: s.portFailures }];
  });
  metrics.collect('mamori_archive_merge_failures_total', 'Archive compaction merges that failed or left out a file DuckDB cannot read; each pass tries again.', 'counter',
    () => [{ labels: {}, value: archive.rollupStats().mergeFailures }]);
  // The local archive's (a cluster's bucket objects are checked by their digests instead).
  if (archive.rollupStats().setAside !== undefined) {
    const help = 'Archive files set aside as damaged (a broken Parquet frame) into their partition\'s damaged/ folder.';
    metrics.collect('mamori_archive_files_set_aside_total', help, 'counter', () => [{ labels: {}, value: archive.rollupStats().setAside ?? 0 }]);
  }
}

/** A component that runs `job` every `everySeconds` (and at start when `atStart`); stop waits for a run in progress. */
function periodicComponent(name: string, everySeconds: number, atStart: boolean, job: () => Promise<unknown>): { name: string; start(): Promise<void>; stop(): Promise<void> } {
  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const run = (): void => { running = job(); };
  return {
    name,
    async start() {
      if (atStart) run();
      timer = setInterval(run, everySeconds * 1000);
      timer.unref();
    },
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}

/**
 * The archive's compaction as a server component: every `everySeconds`, the small files (< `minRows` rows) of
 * each finished hour are merged into one, swapped so that a query never sees a row twice or misses one.
 * @see docs/selection.md#the-flow-archive
 */
export function compactionComponent(archive: Pick<FlowArchive, 'compact'>, everySeconds: number, minRows: number, logger?: Logger): { name: string; start(): Promise<void>; stop(): Promise<void> } {
  return periodicComponent('archive-compaction', everySeconds, false, () => archive.compact({ minRows }).then((r) => {
    if (r.filesMerged > 0 || ('rollups' in r && Number(r.rollups) > 0) || ('portRollups' in r && Number(r.portRollups) > 0)) logger?.info({ ...r }, 'flow archive compacted');
  }, (e: unknown) => logger?.error({ err: errorSummary(e) }, 'flow archive compaction failed')));
}
