// Sign-in: username and password; says why when the session expired.
import { useState, type FormEvent } from 'react';
import { useI18n } from '../i18n/index.js';
import { ApiError } from '../lib/api.js';
import { useSession } from '../lib/session.js';
import { FormMessage, PageTitle, useErrorText } from '../components/ui.js';

export function SignIn({ reason }: { reason?: 'expired' | 'signed-out' | undefined }) {
  const { t } = useI18n();
  const { signIn } = useSession();
  const errorText = useErrorText();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(username, password);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? t('signin.failed') : errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="signin">
      <PageTitle>{t('signin.title')}</PageTitle>
      {reason === 'expired' && <p className="notice" role="alert">{t('signin.expired')}</p>}
      {reason === 'signed-out' && <p className="notice" role="status">{t('signin.signedOut')}</p>}
      <form onSubmit={submit} aria-describedby="signin-help">
        <p id="signin-help">{t('signin.help')}</p>
        <label htmlFor="username">{t('signin.username')}</label>
        <input id="username" name="username" autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} />
        <label htmlFor="password">{t('signin.password')}</label>
        <input id="password" name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        <FormMessage error={error} />
        <button type="submit" disabled={busy}>{busy ? t('state.working') : t('signin.submit')}</button>
      </form>
    </div>
  );
}
