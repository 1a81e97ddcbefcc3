/** @module Loads the configuration once: defaults, then a YAML file, then MAMORI_* variables, then validation. */
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AppError, type FieldIssue } from '#platform/errors/index.js';
import { ConfigSchema, SECRET_PATHS, type Config } from './schema.js';

export { ConfigSchema, SECRET_PATHS, type Config, type ConfigInput } from './schema.js';

/** Where the configuration came from, for `mamori config` and start-up logs. */
export interface LoadedConfig {
  config: Config;
  file: string | undefined;
  envKeys: string[];
}

/** Options of `loadConfig`: an explicit file and the environment to read (never `process.env` implicitly). */
export interface LoadConfigOptions {
  file?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  cwd?: string;
}

/** Every dotted key path of the schema, for suggestions. */
export function configKeyPaths(schema: z.ZodType = ConfigSchema, prefix = ''): string[] {
  const shape = objectShape(schema);
  if (shape === undefined) return prefix === '' ? [] : [prefix];
  const out: string[] = [];
  for (const [k, v] of Object.entries(shape)) {
    const path = prefix === '' ? k : `${prefix}.${k}`;
    const inner = objectShape(v);
    if (inner === undefined) out.push(path);
    else out.push(...configKeyPaths(v, path));
  }
  return out;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  // Defaults, prefaults and optionals wrap the object whose shape we want.
  for (let i = 0; i < 5; i++) {
    const def = (s as unknown as { def?: { innerType?: z.ZodType } }).def;
    if (def?.innerType === undefined) break;
    s = def.innerType;
  }
  return s;
}

function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  const s = unwrap(schema);
  return s instanceof z.ZodObject ? (s.shape as Record<string, z.ZodType>) : undefined;
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1;
      dp[i]![j] = Math.min(dp[i - 1]![j]! + 1, dp[i]![j - 1]! + 1, dp[i - 1]![j - 1]! + cost);
    }
  }
  return dp[a.length]![b.length]!;
}

/** The valid key closest to `key` (compared on the last segment within the same parent, then the whole path). */
export function nearestKey(key: string): string | undefined {
  const all = configKeyPaths();
  let best: string | undefined;
  let bestD = Infinity;
  const leaf = key.split('.').pop() ?? key;
  for (const candidate of all) {
    const d = Math.min(distance(key, candidate), distance(leaf, candidate.split('.').pop() ?? candidate) + (sameParent(key, candidate) ? 0 : 2));
    if (d < bestD) { bestD = d; best = candidate; }
  }
  return bestD <= Math.max(3, Math.floor(key.length / 3)) ? best : undefined;
}

function sameParent(a: string, b: string): boolean {
  return a.split('.').slice(0, -1).join('.') === b.split('.').slice(0, -1).join('.');
}

const ENV_PREFIX = 'MAMORI_';

/** Maps MAMORI_SERVER_PORT → server.port using the schema's own keys (case-insensitive, `_` between levels). */
function envToInput(env: Readonly<Record<string, string | undefined>>): { input: Record<string, unknown>; keys: string[]; issues: FieldIssue[] } {
  const paths = configKeyPaths();
  const byEnv = new Map(paths.map((p) => [ENV_PREFIX + p.replace(/\./g, '_').replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase(), p]));
  const input: Record<string, unknown> = {};
  const keys: string[] = [];
  const issues: FieldIssue[] = [];
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    // MAMORI_TEST_* belong to the test suites (ports, PostgreSQL, nats-server), which start `mamori` with their own environment.
    if (name === 'MAMORI_CONFIG' || name.startsWith('MAMORI_TEST_')) continue;
    const path = byEnv.get(name);
    if (path === undefined) {
      const near = [...byEnv.keys()].map((k) => [k, distance(name, k)] as const).sort((x, y) => x[1] - y[1])[0];
      issues.push({ path: name, message: `unknown environment variable${near !== undefined && near[1] <= 4 ? `; did you mean ${near[0]}?` : ''}` });
      continue;
    }
    setPath(input, path, coerce(raw));
    keys.push(name);
  }
  return { input, keys, issues };
}

function coerce(raw: string): unknown {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  return raw;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = target;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    if (typeof next !== 'object' || next === null) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates a configuration input and turns zod's issues into messages that name the key and the nearest valid one. */
export function parseConfig(input: unknown, source = 'configuration'): Config {
  const r = ConfigSchema.safeParse(input);
  if (r.success) return r.data;
  const details: FieldIssue[] = [];
  for (const issue of r.error.issues) {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) {
        const full = base === '' ? k : `${base}.${k}`;
        const near = nearestKey(full);
        details.push({ path: full, message: `unknown key${near !== undefined ? `; did you mean "${near}"?` : ''}` });
      }
    } else {
      details.push({ path: base || '(root)', message: issue.message });
    }
  }
  const summary = details.map((d) => `${d.path}: ${d.message}`).join('; ');
  throw new AppError('CONFIG_INVALID', `Invalid ${source}: ${summary}`, { details });
}

/** Loads the effective configuration from code defaults, an optional YAML file and MAMORI_* variables. */
export function loadConfig(options: LoadConfigOptions): LoadedConfig {
  const cwd = options.cwd ?? '.';
  const explicit = options.file ?? options.env['MAMORI_CONFIG'];
  const file = explicit ?? (existsSync(`${cwd}/mamori.yaml`) ? `${cwd}/mamori.yaml` : undefined);
  let fromFile: Record<string, unknown> = {};
  if (file !== undefined) {
    if (!existsSync(file)) throw new AppError('CONFIG_INVALID', `Configuration file ${file} does not exist; check --config or MAMORI_CONFIG.`);
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new AppError('CONFIG_INVALID', `Configuration file ${file} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
    }
    if (parsed !== null && parsed !== undefined && !isPlainObject(parsed)) throw new AppError('CONFIG_INVALID', `Configuration file ${file} must hold a mapping of keys at its top level.`);
    fromFile = (parsed as Record<string, unknown> | null) ?? {};
    parseConfig(fromFile, `configuration file ${file}`);
  }
  const env = envToInput(options.env);
  if (env.issues.length > 0) {
    throw new AppError('CONFIG_INVALID', `Invalid environment: ${env.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { details: env.issues });
  }
  const config = parseConfig(deepMerge(fromFile, env.input), 'configuration (file and MAMORI_* variables)');
  return { config, file, envKeys: env.keys };
}

/** A deep copy of the configuration with every secret replaced by "[redacted]" (passwords inside URLs too). */
export function redactConfig(config: Config): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
  for (const path of SECRET_PATHS) {
    const parts = path.split('.');
    let cur: Record<string, unknown> | undefined = copy;
    for (const p of parts.slice(0, -1)) cur = isPlainObject(cur?.[p]) ? (cur[p] as Record<string, unknown>) : undefined;
    const last = parts[parts.length - 1]!;
    if (cur === undefined || cur[last] === undefined) continue;
    const value = cur[last];
    cur[last] = typeof value === 'string' && path === 'database.url' ? redactUrl(value) : '[redacted]';
  }
  return copy;
}

/** Hides the password of a database URL, keeping scheme, user, host and database visible. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = 'redacted';
    return u.toString();
  } catch {
    return '[redacted]';
  }
}
