// Loads an API resource for a screen: loading, error (an ApiError) or data, and a reload.
import { useCallback, useEffect, useState } from 'react';
import { api, ApiError } from './api.js';

export type Loadable<T> = { status: 'loading' } | { status: 'error'; error: ApiError } | { status: 'ok'; data: T };

/** Runs `load` whenever `key` (what it loads) changes, or on reload; `null` waits. */
export function useLoad<T>(key: string | null, load: (signal: AbortSignal) => Promise<T>): Loadable<T> & { reload: () => void } {
  const [state, setState] = useState<Loadable<T>>({ status: 'loading' });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (key === null) return;
    const ctrl = new AbortController();
    setState({ status: 'loading' });
    load(ctrl.signal).then(
      (data) => setState({ status: 'ok', data }),
      (e: unknown) => {
        if (ctrl.signal.aborted) return;
        setState({ status: 'error', error: e instanceof ApiError ? e : new ApiError(0, 'CLIENT', String(e)) });
      },
    );
    return () => ctrl.abort();
  }, [key, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { ...state, reload };
}

export function useApi<T>(path: string | null, options: { text?: boolean } = {}): Loadable<T> & { reload: () => void } {
  const text = options.text === true;
  return useLoad<T>(path === null ? null : `${text ? 'text:' : ''}${path}`, (signal) => api<T>(path!, { signal, text }));
}
