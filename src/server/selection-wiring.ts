/** @module Builds selection's locator from the configuration: RIR files, MaxMind databases and the bundled data as country sources, configured and registered domestic prefixes, special-range overrides. */
import { existsSync, readFileSync } from 'node:fs';
import type { Config } from '#platform/config/index.js';
import { systemContext } from '#platform/context/index.js';
import { AppError } from '#platform/errors/index.js';
import type { RegistryService } from '#modules/registry/index.js';
import type { FlowArchive } from '#modules/selection/index.js';
import type { Logger } from '#platform/logger/index.js';
import { createLocator, loadIpLocationDb, mmdbCountryRanges, openMmdb, parsePrefix, parseRirDelegated, withOverrides, type Locator, type RangeSet, type SpecialRange } from '#modules/selection/index.js';

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

/** Builds the locator of a plan: RIR files first (most authoritative), then MaxMind databases, then the bundled data. */
export function buildLocator(plan: LocatorPlan): Locator {
  const sources: RangeSet[] = [];
  for (const f of plan.rirDelegatedFiles) sources.push(parseRirDelegated(readFileSync(f, 'utf8')).ranges);
  for (const f of plan.mmdbFiles) sources.push(mmdbCountryRanges(openMmdb(readFileSync(f))));
  if (plan.bundled) sources.push(loadIpLocationDb());
  return createLocator({ domesticCountry: plan.domesticCountry, countrySources: sources, domesticPrefixes: plan.domesticPrefixes, specialRanges: plan.specialRanges });
}

/** The designated operators' registered address ranges (read as the system at start). */
export async function registeredRanges(registry: Pick<RegistryService, 'listOperators'>): Promise<string[]> {
  const ops = await registry.listOperators(systemContext('selection'));
  return ops.flatMap((o) => o.ranges.map((r) => r.cidr));
}

/**
 * The archive's retention job as a server component: at start and then every `everySeconds`, deletes
 * partitions past their basis's retention (each deletion audited as `retention:delete`).
 * @see DESIGN.md invariant 4
 */
export function retentionComponent(archive: Pick<FlowArchive, 'enforceRetention'>, everySeconds: number, logger?: Logger): { name: string; start(): Promise<void>; stop(): Promise<void> } {
  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const run = (): void => {
    running = archive.enforceRetention(systemContext('retention')).catch((e: unknown) => logger?.error({ err: e }, 'archive retention failed'));
  };
  return {
    name: 'archive-retention',
    async start() {
      run();
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
