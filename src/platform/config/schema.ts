/** @module The configuration schema: every key mamori reads, its type and its default (STYLE.md §6). */
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);

/** Keys whose values are secrets: redacted whenever the configuration is printed or logged. */
export const SECRET_PATHS: readonly string[] = ['database.url', 'secrets.pseudonymKey', 'secrets.sessionSecret'];

/** The full configuration; `.strict()` everywhere so an unknown key is an error, never ignored. */
export const ConfigSchema = z
  .object({
    dataDir: z.string().min(1).default('./data'),
    server: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(8080),
        publicUrl: z.string().url().optional(),
        bodyLimitBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
        trustProxy: z.boolean().default(false),
        shutdownGraceMs: z.number().int().min(0).max(600_000).default(10_000),
      })
      .strict()
      .prefault({}),
    database: z
      .object({
        /** `sqlite:./data/mamori.db` (default: a file under dataDir) or `postgres://user:pass@host/db`. */
        url: z.string().min(1).optional(),
        busyTimeoutMs: z.number().int().min(0).max(600_000).default(5000),
        poolSize: z.number().int().min(1).max(200).default(10),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .prefault({}),
    auth: z
      .object({
        sessionTtlMinutes: z.number().int().min(1).max(24 * 60).default(480),
        cookieSecure: z.boolean().default(true),
        maxFailedLogins: z.number().int().min(1).max(100).default(5),
        lockoutMinutes: z.number().int().min(1).max(24 * 60).default(15),
        loginRateLimitPerMinute: z.number().int().min(1).max(10_000).default(20),
        tokenMaxDays: z.number().int().min(1).max(3650).default(365),
      })
      .strict()
      .prefault({}),
    audit: z
      .object({
        origin: z.string().min(1).default('mamori.go.jp/audit'),
        checkpointEveryEntries: z.number().int().min(1).default(1000),
        checkpointEverySeconds: z.number().int().min(1).default(300),
        keyFile: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    secrets: z
      .object({
        /** Optional override; by default keys live in files under `<dataDir>/keys` with mode 0600. */
        pseudonymKey: z.string().min(32).optional(),
        sessionSecret: z.string().min(32).optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** The validated, effective configuration. */
export type Config = z.infer<typeof ConfigSchema>;
/** What a file or the environment may supply before defaults fill in. */
export type ConfigInput = z.input<typeof ConfigSchema>;
