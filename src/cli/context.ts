/** @module What every CLI command shares: loading the configuration once and opening the core. */
import type { Command } from 'commander';
import { loadConfig, type Config, type LoadedConfig } from '#platform/config/index.js';
import { createCore, type Core, type CoreOptions } from '#server/core.js';

/** Global options every command accepts. */
export interface GlobalOptions {
  config?: string;
}

/** Loads the configuration from the global `--config`, `mamori.yaml` and MAMORI_* variables. */
export function loadCliConfig(cmd: Command, overrides: (c: Config) => Config = (c) => c): LoadedConfig {
  const opts = cmd.optsWithGlobals<GlobalOptions>();
  const loaded = loadConfig({ file: opts.config, env: process.env });
  return { ...loaded, config: overrides(loaded.config) };
}

/** Opens the core for one command and closes it afterwards, whatever happens. */
export async function withCore<T>(cmd: Command, fn: (core: Core) => Promise<T>, options: (config: Config) => CoreOptions = () => ({})): Promise<T> {
  const { config } = loadCliConfig(cmd);
  const core = await createCore(config, options(config));
  try {
    return await fn(core);
  } finally {
    await core.close();
  }
}
