/** @module One error type for the whole system, and a typed result for expected outcomes (STYLE.md §5). */

/** Stable, UPPER_SNAKE error codes; clients may switch on them. */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'VALIDATION_FAILED'
  | 'UNAUTHENTICATED'
  | 'INVALID_CREDENTIALS'
  | 'ACCOUNT_LOCKED'
  | 'TOKEN_EXPIRED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'KEY_DESTROYED'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'NOT_ACCEPTABLE'
  | 'CONFIG_INVALID'
  | 'AUDIT_WRITE_FAILED'
  | 'AUDIT_VERIFY_FAILED'
  | 'DECODE_FAILED'
  | 'UNAVAILABLE'
  | 'INTERNAL';

const DEFAULT_STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  ACCOUNT_LOCKED: 429,
  TOKEN_EXPIRED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  KEY_DESTROYED: 410,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_ACCEPTABLE: 406,
  CONFIG_INVALID: 500,
  AUDIT_WRITE_FAILED: 500,
  AUDIT_VERIFY_FAILED: 500,
  DECODE_FAILED: 400,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/** One issue of a validation failure: where (`path`) and what to fix (`message`). */
export interface FieldIssue {
  path: string;
  message: string;
}

/**
 * A message the server makes, as a stable code with its parameters, for clients to say in their reader's language
 * (the dashboard's catalogues have `msg.<code>`). The English sentence stays beside it for API and CLI clients.
 * Parameters are plain values: times as UTC ISO strings, states and clock keys as their codes, ids as ids.
 */
export interface Message {
  code: string;
  params: Record<string, string | number | boolean | null>;
}

/**
 * The single error type. `message` is written for the caller and says what to fix; it never holds
 * a stack, SQL or parameter values. `details` carries structured field issues.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: readonly FieldIssue[] | undefined;
  /** The refusal as a code with parameters (sent as `reason`), where a client is expected to show it to people. */
  readonly reason: Message | undefined;

  constructor(code: ErrorCode, message: string, options: { status?: number; cause?: unknown; details?: readonly FieldIssue[]; reason?: Message | undefined } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = options.status ?? DEFAULT_STATUS[code];
    this.details = options.details;
    this.reason = options.reason;
  }
}

/** True when `e` is an AppError (also across module copies). */
export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError || (typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'AppError' && typeof (e as { code?: unknown }).code === 'string');
}

/** An expected outcome: success with a value, or a typed failure. */
export type Result<T, E = AppError> = { ok: true; value: T } | { ok: false; error: E };

/** Wraps a value as a successful result. */
export function ok<T>(value: T): Result<T, never> {
  return { ok: true, value };
}

/** Wraps an error as a failed result. */
export function err<E>(error: E): Result<never, E> {
  return { ok: false, error };
}

/** Turns zod issues into field issues with dotted paths, without echoing the input values. */
export function fieldIssuesFromZod(issues: readonly { path: readonly PropertyKey[]; message: string }[]): FieldIssue[] {
  return issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));
}

/** Parses `input` with a zod schema; on failure throws VALIDATION_FAILED naming every bad field. */
export function parseOrThrow<T>(schema: { safeParse(input: unknown): { success: true; data: T } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string; code?: string; keys?: readonly string[] }[] } } }, input: unknown, what = 'request'): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const details: FieldIssue[] = [];
  for (const issue of r.error.issues) {
    if (issue.code === 'unrecognized_keys' && issue.keys !== undefined) {
      const base = issue.path.map(String).join('.');
      for (const k of issue.keys) details.push({ path: base === '' ? k : `${base}.${k}`, message: 'unknown field; remove it' });
    } else {
      details.push(...fieldIssuesFromZod([issue]));
    }
  }
  throw new AppError('VALIDATION_FAILED', `Invalid ${what}: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, { details });
}
