// The API client: same-origin fetch with the session cookie, one error type for the API's error shape.

/** An error answered by the API (`{code, message, requestId, details?}`), or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
    readonly details?: readonly { path: string; message: string }[],
    /** The refusal as a code with parameters, when the server gives one (worded by web/src/lib/messages.ts). */
    readonly reason?: { code: string; params: Record<string, string | number | boolean | null> },
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Listener = () => void;
const unauthenticatedListeners = new Set<Listener>();

/** Called when any call answers 401: the session is gone, the app goes back to sign-in. */
export function onUnauthenticated(fn: Listener): () => void {
  unauthenticatedListeners.add(fn);
  return () => unauthenticatedListeners.delete(fn);
}

export interface ApiOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  /** Read the body as text instead of JSON (artifacts). */
  text?: boolean;
  /** Do not treat a 401 as an expired session (sign-in and the first "who am I"). */
  quiet401?: boolean;
  signal?: AbortSignal;
}

/** Calls the API at `path` (starting with /api/ or /taxii2/). */
export async function api<T>(path: string, options: ApiOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: options.text === true ? 'text/plain, */*' : 'application/json' };
  const init: RequestInit = { method: options.method ?? 'GET', headers, credentials: 'same-origin' };
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  if (options.signal !== undefined) init.signal = options.signal;
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if ((e as { name?: string }).name === 'AbortError') throw e;
    throw new ApiError(0, 'NETWORK', 'network');
  }
  if (!res.ok) {
    let body: { code?: string; message?: string; requestId?: string; details?: { path: string; message: string }[]; reason?: { code: string; params: Record<string, string | number | boolean | null> } } = {};
    try {
      body = (await res.json()) as typeof body;
    } catch {
      // Not the API's JSON (a proxy's page): keep the status alone.
    }
    if (res.status === 401 && options.quiet401 !== true) for (const fn of unauthenticatedListeners) fn();
    throw new ApiError(res.status, body.code ?? `HTTP_${res.status}`, body.message ?? res.statusText, body.requestId ?? res.headers.get('x-request-id') ?? undefined, body.details, body.reason);
  }
  if (options.text === true) return (await res.text()) as T;
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}
