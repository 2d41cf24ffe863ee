// Token sign-in: the API bearer token is checked against the query API before it is kept (in
// sessionStorage, so it ends with the tab).

import { useState } from 'preact/hooks';
import { api } from '../api/client';
import { settings } from '../api/settings';
import { ErrorMessage } from '../components/common';

export function LoginPage({ onLogin }: { onLogin: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    settings.setToken(token.trim());
    try {
      await api.builds({ limit: 1 });
      onLogin();
    } catch (err) {
      settings.setToken(null);
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="page login">
      <h1>kiln</h1>
      <form onSubmit={submit}>
        <label>
          API token
          <input name="token" type="password" autoComplete="current-password" value={token} required
            onInput={(e) => setToken(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy || !token.trim()}>Sign in</button>
      </form>
      <ErrorMessage error={error} />
      <p class="muted">The token is one of the query API's <code>api.tokens</code>; it is kept for this tab only.</p>
    </section>
  );
}
