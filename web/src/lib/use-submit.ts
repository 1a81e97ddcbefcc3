// The submit pattern of every form: busy while the call runs, the error in the reader's language, a success message.
import { useCallback, useState, type FormEvent } from 'react';
import { useErrorText } from '../components/ui.js';

export interface Submit {
  busy: boolean;
  error: string | undefined;
  success: string | undefined;
  /** Runs `fn` (preventing the form's default): busy until it settles; its error shown, or `success` when given. */
  run: (fn: () => Promise<unknown>, success?: string) => (e?: FormEvent) => Promise<void>;
  /** Shows a message of the form's own checks (before any call). */
  fail: (message: string) => void;
  reset: () => void;
}

/** One form's submit state; the error text frames the server's message with its request id. */
export function useSubmit(): Submit {
  const errorText = useErrorText();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [success, setSuccess] = useState<string>();
  const run = useCallback((fn: () => Promise<unknown>, ok?: string) => async (e?: FormEvent) => {
    e?.preventDefault();
    setBusy(true);
    setError(undefined);
    setSuccess(undefined);
    try {
      await fn();
      if (ok !== undefined) setSuccess(ok);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }, [errorText]);
  const fail = useCallback((message: string) => { setSuccess(undefined); setError(message); }, []);
  const reset = useCallback(() => { setError(undefined); setSuccess(undefined); }, []);
  return { busy, error, success, run, fail, reset };
}
