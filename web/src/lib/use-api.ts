// Loads an API resource for a screen: loading, error (an ApiError) or data, and a reload.
import { useCallback, useEffect, useState } from 'react';
import { api, ApiError } from './api.js';

export type Loadable<T> = { status: 'loading' } | { status: 'error'; error: ApiError } | { status: 'ok'; data: T };

export function useApi<T>(path: string | null, options: { text?: boolean } = {}): Loadable<T> & { reload: () => void } {
  const [state, setState] = useState<Loadable<T>>({ status: 'loading' });
  const [tick, setTick] = useState(0);
  const text = options.text === true;
  useEffect(() => {
    if (path === null) return;
    const ctrl = new AbortController();
    setState({ status: 'loading' });
    api<T>(path, { signal: ctrl.signal, text }).then(
      (data) => setState({ status: 'ok', data }),
      (e: unknown) => {
        if (ctrl.signal.aborted) return;
        setState({ status: 'error', error: e instanceof ApiError ? e : new ApiError(0, 'CLIENT', String(e)) });
      },
    );
    return () => ctrl.abort();
  }, [path, tick, text]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { ...state, reload };
}
