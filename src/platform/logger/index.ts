/** @module Structured logs: pino JSON in UTC, with secrets and sensitive fields removed before they are written. */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/** Field paths never written to a log, whatever a caller passes (STYLE.md §9). */
export const REDACT_PATHS: readonly string[] = [
  'password', '*.password', 'token', '*.token', 'secret', '*.secret',
  'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
  'headers.authorization', 'headers.cookie', 'body', '*.body',
  'srcAddr', 'dstAddr', '*.srcAddr', '*.dstAddr', 'address', '*.address',
  // A database error echoes row data: PostgreSQL's `detail` ("Failing row contains (…)", "Key (…)=(…)"),
  // its `where`, and a driver's statement text and parameters. Its message and code say what to fix.
  'err.detail', 'err.where', 'err.parameters', 'err.sql', 'err.query', 'err.values',
  'err.cause.detail', 'err.cause.where', 'err.cause.parameters', 'err.cause.sql', 'err.cause.query', 'err.cause.values',
];

/** Creates the process logger; `destination` lets tests capture what would be written. */
export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'mamori' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}
